"""Test helpers for the return path: a throwaway PKI, a fillable form, filling, signing and tampering.

Everything is made here, offline: a CA and certificates with ``cryptography``, PKCS#12 files, fields
filled with pypdf (an incremental update, as a PDF viewer saves) and signatures with pyHanko.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import attrs
import pikepdf
import pypdf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

P12_PASSWORD = "correct horse battery staple"

# The fields of a fillable form (see field-names.md): name -> (kind, required).
FIELDS = {
    "patient.signature": ("sig", True),
    "patient.name": ("text", True),
    "patient.date": ("text", True),
    "initials.risks": ("text", True),
    "screening.pregnant": ("radio", True),
    "witness.name": ("text", False),
    "provider.signature": ("sig", True),
    "provider.date": ("text", True),
}
TEXT_VALUES = {"patient.name": "Ada O'Connor", "patient.date": "2026-11-21", "initials.risks": "AO",
               "provider.date": "2026-11-21"}


@attrs.frozen
class Pki:
    folder: Path
    ca_pem: Path
    clinic_p12: Path
    patient_p12: Path
    other_ca_pem: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
          *, ca: bool) -> x509.Certificate:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    usage = x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                          encipher_only=False, decipher_only=False)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(usage, critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path) -> Pki:
    """A throwaway CA, the clinic's and the patient's certificates (as .p12 with the chain), and an
    unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Test Clinic CA", ca_key, _name("Test Clinic CA"), ca_key, ca=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _cert("Some Other CA", other_key, _name("Some Other CA"), other_key, ca=True)
    (folder / "other-ca.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM))
    for who, cn in (("clinic", "Sunrise Regenerative Health"), ("patient", "Ada O'Connor")):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, key, ca.subject, ca_key, ca=False)
        data = pkcs12.serialize_key_and_certificates(
            who.encode(), key, cert, [ca], serialization.BestAvailableEncryption(P12_PASSWORD.encode()))
        (folder / f"{who}.p12").write_bytes(data)
    return Pki(folder, folder / "ca.pem", folder / "clinic.p12", folder / "patient.p12", folder / "other-ca.pem")


def add_fields(pdf: bytes) -> bytes:
    """A flat consent PDF with the fields of a fillable form (field-names.md) on its last page, added with
    pikepdf the way `form.to_pdf(fillable=True)` adds them: a field tree ("patient" with kids "signature",
    "name", ...), widgets in the page's /Annots, the page content untouched."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[-1]
        font = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                    BaseFont=pikepdf.Name.Helvetica))
        parents: dict[str, pikepdf.Dictionary] = {}
        annots = pikepdf.Array()
        for n, (name, (kind, required)) in enumerate(FIELDS.items()):
            group, _, leaf = name.partition(".")
            if group not in parents:
                parents[group] = doc.make_indirect(pikepdf.Dictionary(T=pikepdf.String(group), Kids=pikepdf.Array()))
            parent = parents[group]
            y = 700 - 40 * n
            flags = 2 if required else 0
            widget = {"Type": pikepdf.Name.Annot, "Subtype": pikepdf.Name.Widget, "P": page.obj, "F": 4}
            if kind == "radio":
                field = doc.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Btn, T=pikepdf.String(leaf), Parent=parent,
                                                             Ff=flags | (1 << 15) | (1 << 14), Kids=pikepdf.Array()))
                for i, option in enumerate(("Yes", "No")):
                    states = pikepdf.Dictionary({f"/{option}": doc.make_stream(b"0 g 2 2 8 8 re f"),
                                                 "/Off": doc.make_stream(b"")})
                    kid = doc.make_indirect(pikepdf.Dictionary(
                        **widget, Parent=field, Rect=[300 + 30 * i, y, 312 + 30 * i, y + 12], AS=pikepdf.Name.Off,
                        AP=pikepdf.Dictionary(N=states)))
                    field.Kids.append(kid)
                    annots.append(kid)
            else:
                field = doc.make_indirect(pikepdf.Dictionary(
                    **widget, T=pikepdf.String(leaf), Parent=parent, Ff=flags, Rect=[300, y, 500, y + 20],
                    FT=pikepdf.Name.Sig if kind == "sig" else pikepdf.Name.Tx, DA=pikepdf.String("/Helv 10 Tf 0 g")))
                annots.append(field)
            parent.Kids.append(field)
        page.obj.Annots = annots
        doc.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(list(parents.values())),
                                               DA=pikepdf.String("/Helv 10 Tf 0 g"),
                                               DR=pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=font)))
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def fill(pdf: bytes, values: dict[str, str]) -> bytes:
    """The form with text fields and radio groups filled in, in an incremental update (as a viewer saves)."""
    writer = pypdf.PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sign(pdf: bytes, field: str, p12: Path) -> bytes:
    """The form signed in an existing signature field (or a new one), with pyHanko."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12_data(p12.read_bytes(), other_certs=[],
                                                   passphrase=P12_PASSWORD.encode())
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return bytes(signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name=field), signer=signer).getvalue())


def complete(pdf: bytes, pki: Pki, *, skip: tuple[str, ...] = ()) -> bytes:
    """Every field filled and both signatures made (but the fields named in ``skip``)."""
    values = {k: v for k, v in TEXT_VALUES.items() if k not in skip}
    if "screening.pregnant" not in skip:
        values["screening.pregnant"] = "/No"
    pdf = fill(pdf, values)
    for field, p12 in (("patient.signature", pki.patient_p12), ("provider.signature", pki.clinic_p12)):
        if field not in skip:
            pdf = sign(pdf, field, p12)
    return pdf


def body_stream(doc: pikepdf.Pdf, page: int) -> pikepdf.Stream:
    """The form XObject that draws the text of a page (1-based) of a consent PDF."""
    xobjects = doc.pages[page - 1].Resources.XObject
    return xobjects[f"/ConsentBody{page}"]


def change_one_glyph(data: bytes) -> bytes:
    """A content stream with the first glyph of a shown word replaced by the glyph after it (WeasyPrint
    shows text as TJ arrays of two-byte glyph ids): one letter of one word changes, nothing else."""
    for match in re.finditer(rb"\[<([0-9a-fA-F]{4})>[-0-9.]*<([0-9a-fA-F]{4})>", data):
        if match.group(1) != match.group(2):
            return data[: match.start(1)] + match.group(2) + data[match.end(1):]
    raise AssertionError("no shown text in the content stream")
