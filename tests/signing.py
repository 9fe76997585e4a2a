"""Test helpers for the return path: a throwaway PKI, a fillable form, filling, signing and tampering.

Everything is made here, offline: a CA and certificates with ``cryptography``, PKCS#12 files, fields
filled with pypdf (an incremental update, as a PDF viewer saves) and signatures with pyHanko.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import io
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pikepdf
import pypdf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

import consent
from consent.signed.signatures import pyhanko_quietly

# pyHanko's imports warn under cryptography 51 ("DSA is deprecated"); consent's own calls silence exactly that
# warning, and so does this helper, which imports pyHanko as an outside tool would.
with pyhanko_quietly():
    import pyhanko.sign.signers
    import pyhanko.sign.timestamps  # noqa: F401

P12_PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway test certificate's

# What the patient and the provider write in a fillable form's text fields, by the last part of the name.
TEXT_VALUES = {"date": "2026-11-21", "time": "10:30"}
# When :func:`sign` signs, by default: the day and time the forms' date fields say (``consent record`` warns
# when a typed date is more than a day from the signature's own time).
SIGNED_AT = dt.datetime(2026, 11, 21, 10, 31, tzinfo=dt.UTC)
INITIALS = "AO"


def make_form(treatment: str = "knee-injection", name: str = "Ada O'Connor") -> consent.Form:
    """A form for the example clinic, dated 2026-11-21."""
    from helpers import DATE, EXAMPLES

    patient = consent.Patient(full_name=name, birth_date=DATE.replace(year=1985))
    return consent.build(
        treatment, patient=patient, clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), date=DATE
    )


@attrs.frozen
class Pki:
    folder: Path
    ca_pem: Path
    clinic_p12: Path
    patient_p12: Path
    other_ca_pem: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    usage = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())


@contextlib.contextmanager
def local_tsa(folder: Path) -> Iterator[str]:
    """A timestamp authority (RFC 3161) on 127.0.0.1, its certificate issued by the test CA of ``folder``
    (made by :func:`make_pki`): pyHanko's DummyTimeStamper behind http.server. Yields its URL."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps import DummyTimeStamper

    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((folder / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA signs with RSA
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Test TSA"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(der_key),
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = stamper.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def make_pki(folder: Path) -> Pki:
    """A throwaway CA, the clinic's and the patient's certificates (as .p12 with the chain), and an
    unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Test Clinic CA", ca_key, _name("Test Clinic CA"), ca_key, ca=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "ca-key.pem").write_bytes(
        ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _cert("Some Other CA", other_key, _name("Some Other CA"), other_key, ca=True)
    (folder / "other-ca.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM))
    for who, cn in (("clinic", "Sunrise Regenerative Health"), ("patient", "Ada O'Connor")):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, key, ca.subject, ca_key, ca=False)
        data = pkcs12.serialize_key_and_certificates(
            who.encode(), key, cert, [ca], serialization.BestAvailableEncryption(P12_PASSWORD.encode())
        )
        (folder / f"{who}.p12").write_bytes(data)
    return Pki(
        folder, folder / "ca.pem", folder / "clinic.p12", folder / "patient.p12", folder / "other-ca.pem"
    )


def fill(pdf: bytes, values: dict[str, str]) -> bytes:
    """The form with text fields and radio groups filled in, in an incremental update (as a viewer saves)."""
    writer = pypdf.PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class _SignerAt(pyhanko.sign.signers.PdfSigner):
    """pyHanko's PdfSigner, its clock set to ``at`` (the signing time it writes into the signature)."""

    def __init__(self, *args: Any, at: dt.datetime | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at = at

    def init_signing_session(self, *args: Any, **kwargs: Any) -> Any:
        session = super().init_signing_session(*args, **kwargs)
        if self.at is not None:
            session.system_time = self.at
        return session


def sign(pdf: bytes, field: str, p12: Path, *, at: dt.datetime | None = SIGNED_AT) -> bytes:
    """The form signed in an existing signature field (or a new one), with pyHanko, at the time ``at`` (the
    signing time the signature claims; None: now)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12_data(
        p12.read_bytes(), other_certs=[], passphrase=P12_PASSWORD.encode()
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    signing = _SignerAt(signers.PdfSignatureMetadata(field_name=field), signer=signer, at=at)
    return bytes(signing.sign_pdf(writer).getvalue())


def complete(pdf: bytes, pki: Pki, *, skip: tuple[str, ...] = ()) -> bytes:
    """A fillable form (``form.to_pdf(fillable=True)``) as the patient and the provider complete it: every
    required field filled (initials, dates, each screening question answered "No") in one incremental
    update, then signed by the patient and by the provider; but the fields named in ``skip``."""
    values: dict[str, str] = {}
    for field in consent.read_signed(pdf).fields:
        if not field.required or field.filled or field.name in skip or field.kind == "signature":
            continue
        last = field.name.rpartition(".")[2]
        values[field.name] = (
            "/No"
            if field.kind == "radio"
            else INITIALS
            if field.name.startswith("initials.")
            else TEXT_VALUES[last]
        )
    pdf = fill(pdf, values)
    for field, p12 in (("patient.signature", pki.patient_p12), ("provider.signature", pki.clinic_p12)):
        if field not in skip:
            pdf = sign(pdf, field, p12)
    return pdf


def gray_image(doc: pikepdf.Pdf, pixels: bytes, side: int) -> pikepdf.Stream:
    """A square 8-bit grey image XObject of ``side`` pixels a side."""
    return pikepdf.Stream(
        doc,
        pixels,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=side,
        Height=side,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=8,
    )


def body_stream(doc: pikepdf.Pdf, page: int) -> pikepdf.Stream:
    """The content stream that draws the text of a page (1-based) of a consent PDF: the page's own, or of
    a shared layout (its content streams: a "q", the shared body's page, the form's own strings) the
    longest."""
    contents = doc.pages[page - 1].obj.Contents
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    return max(streams, key=lambda s: len(s.read_bytes()))


def change_one_glyph(data: bytes) -> bytes:
    """A content stream with the first glyph of a shown word replaced by the glyph after it (WeasyPrint
    shows text as TJ arrays of two-byte glyph ids): one letter of one word changes, nothing else."""
    for match in re.finditer(rb"\[<([0-9a-fA-F]{4})>[-0-9.]*<([0-9a-fA-F]{4})>", data):
        if match.group(1) != match.group(2):
            return data[: match.start(1)] + match.group(2) + data[match.end(1) :]
    raise AssertionError("no shown text in the content stream")


def incremental(data: bytes, change: Callable[[Any], None]) -> bytes:
    """``data`` with an incremental update made by pyHanko's writer: ``change(writer)`` edits objects."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(data)  # appended: the earlier revisions are untouched
    return out.getvalue()


def glyph_changed_in_update(data: bytes, page: int) -> bytes:
    """``data`` with one letter of one word of ``page`` (1-based) changed, in an incremental update."""

    def edit(writer: Any) -> None:
        from pyhanko.pdf_utils import generic

        contents = writer.root["/Pages"]["/Kids"][page - 1].raw_get("/Contents")
        refs = list(contents.get_object()) if isinstance(contents.get_object(), generic.ArrayObject) else [contents]
        refs = [r if isinstance(r, generic.IndirectObject) else None for r in refs]
        ref = max((r for r in refs if r is not None), key=lambda r: len(r.get_object().data))
        stream = ref.get_object()
        stream._data, stream._encoded_data = change_one_glyph(stream.data), None
        stream.pop("/Filter", None)
        stream.pop("/DecodeParms", None)
        writer.mark_update(generic.Reference(ref.idnum, ref.generation, writer))

    return incremental(data, edit)


def _field(writer: Any, name: str) -> tuple[Any, Any]:
    """The reference and the dictionary of the field ``name`` (fully qualified) in a pyHanko writer."""
    from pyhanko.pdf_utils import generic

    array, found = writer.root["/AcroForm"]["/Fields"], None
    for part in name.split("."):
        for i in range(len(array)):
            ref = array.raw_get(i)
            if str(ref.get_object().get("/T")) == part:
                found = ref, ref.get_object()
                break
        else:
            raise KeyError(name)
        array = found[1].get("/Kids", generic.ArrayObject())
    assert found is not None
    return found


def value_changed_in_update(data: bytes, name: str, value: str) -> bytes:
    """``data`` with the stored value (/V) of field ``name`` set to ``value`` in an incremental update, and
    nothing else: its appearance (what the page shows) is left as it was. A value starting with "/" is a
    name (a radio button's state, "/Yes"), any other a text string."""

    def edit(writer: Any) -> None:
        from pyhanko.pdf_utils import generic

        ref, field = _field(writer, name)
        field["/V"] = generic.NameObject(value) if value.startswith("/") else generic.TextStringObject(value)
        writer.mark_update(ref)

    return incremental(data, edit)


def signature_field_over(data: bytes, page: int, rect: tuple[float, float, float, float],
                         name: str = "Signature2") -> bytes:
    """``data`` with a new, empty signature field ``name`` on ``page`` (1-based) whose widget paints a white
    box over ``rect`` (x0, y0, x1, y1 in points), in an incremental update: what pyHanko's difference
    analysis accepts as adding a signature field."""

    def edit(writer: Any) -> None:
        from pyhanko.pdf_utils import generic

        def number(v: float) -> Any:
            return generic.FloatObject(v)

        page_ref = writer.root["/Pages"]["/Kids"].raw_get(page - 1)
        x0, y0, x1, y1 = rect
        box = generic.StreamObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                generic.NameObject("/BBox"): generic.ArrayObject([number(0), number(0), number(x1 - x0),
                                                                  number(y1 - y0)]),
            },
            stream_data=b"1 g 0 0 %.2f %.2f re f" % (x1 - x0, y1 - y0),
        )
        widget = writer.add_object(generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
            generic.NameObject("/FT"): generic.NameObject("/Sig"),
            generic.NameObject("/T"): generic.TextStringObject(name),
            generic.NameObject("/F"): generic.NumberObject(4),
            generic.NameObject("/Rect"): generic.ArrayObject([number(v) for v in rect]),
            generic.NameObject("/P"): page_ref,
            generic.NameObject("/AP"): generic.DictionaryObject(
                {generic.NameObject("/N"): writer.add_object(box)}
            ),
        }))
        page_ref.get_object()["/Annots"].append(widget)
        writer.mark_update(page_ref)
        writer.root["/AcroForm"]["/Fields"].append(widget)
        writer.mark_update(writer.root.raw_get("/AcroForm"))

    return incremental(data, edit)


def attachment_edited_in_update(data: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """``data`` with the bytes of its embedded file ``name`` replaced by ``change(bytes)``, in an incremental
    update (the file's name, description and every page as they were)."""

    def edit(writer: Any) -> None:
        names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
        spec = next(names[i + 1] for i in range(0, len(names), 2) if str(names[i]) == name)
        ref = spec["/EF"].raw_get("/F")
        stream = ref.get_object()
        stream._data, stream._encoded_data = change(stream.data), None
        stream.pop("/Filter", None)
        stream.pop("/DecodeParms", None)
        writer.mark_update(ref)

    return incremental(data, edit)
