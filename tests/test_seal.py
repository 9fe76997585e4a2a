"""`consent seal` and `consent.seal`: the clinic's PAdES signature over a signed form, and what verify
then detects. A throwaway CA and certificates are made per module (tests/signing.py); nothing goes to the
network (no timestamp authority)."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from helpers import DATE, pdf_pages
from signing import P12_PASSWORD, add_fields, body_stream, change_one_glyph, complete, fill, make_pki

import consent
from consent._pdf_stamp import stamp
from consent.cli import main


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path_factory.mktemp("pki"))


def _with_logo(pdf: bytes) -> bytes:
    """The form with a 4x4 pixel image (a stand-in for a clinic logo; the stock form has no image) drawn
    on page 1, stamped again as consent would stamp a form that prints one."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        logo = pikepdf.Stream(doc, bytes(range(0, 256, 16)), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                              Width=4, Height=4, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
        page.Resources.XObject["/Logo"] = logo
        page.contents_add(doc.make_stream(b"q 24 0 0 24 40 760 cm /Logo Do Q"), prepend=False)
        buf = io.BytesIO()
        doc.save(buf)
    return stamp(buf.getvalue())


@pytest.fixture(scope="module")
def signed(pki) -> bytes:  # type: ignore[no-untyped-def]
    """A form with a logo image, its fields filled in, signed by the patient and the provider."""
    from helpers import EXAMPLES

    form = consent.build("knee-injection", patient=consent.Patient(full_name="Ada O'Connor", birth_date=DATE.replace(year=1985)),
                         clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), date=DATE)
    return complete(add_fields(_with_logo(form.to_pdf())), pki)


@pytest.fixture(scope="module")
def sealed(signed: bytes, pki) -> bytes:  # type: ignore[no-untyped-def]
    return consent.seal(signed, pki.clinic_p12, P12_PASSWORD)


def verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, *args: str) -> tuple[int, str]:
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    code = main(["verify", str(path), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out


def _incremental(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """``data`` with an incremental update made by pyHanko's writer: ``change(writer)`` edits objects."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return data + out.getvalue()[len(data):] if out.getvalue().startswith(data) else out.getvalue()


def test_sealed_form_verifies_intact_with_a_trusted_seal(tmp_path, capsys, sealed, pki) -> None:
    """A sealed form: INTACT and sealed, exit 0; with the clinic's CA as trust root the seal's signer is
    trusted; the seal covers the whole file and is a PAdES signature (ETSI.CAdES.detached)."""
    code, out = verify(tmp_path, capsys, sealed, "--trust", str(pki.ca_pem))
    assert code == 0
    assert out.splitlines()[0] == "INTACT: sealed"
    seal_line = next(line for line in out.splitlines() if line.startswith("  consent-seal:"))
    assert "valid, signed by Sunrise Regenerative Health" in seal_line
    assert "signer trusted" in seal_line and "covers the entire file" in seal_line
    with pikepdf.open(io.BytesIO(sealed)) as doc:
        sig = next(f for f in doc.Root.AcroForm.Fields if str(f.get("/T")) == "consent-seal")
        assert sig.V.SubFilter == "/ETSI.CAdES.detached"
    form = consent.read_signed(sealed)
    assert "consent-seal" not in {f.name for f in form.fields}  # the seal is not one of the patient's fields
    assert form.seal is not None and form.seal.covers_whole_file


def test_seal_without_trust_root_is_intact_but_says_signer_unchecked(tmp_path, capsys, sealed) -> None:
    """Without --trust the seal is reported valid, and the signer clearly as not checked; exit 0."""
    code, out = verify(tmp_path, capsys, sealed)
    assert code == 0
    assert "consent-seal: valid" in out and "signer not checked against a trust root (give --trust CA.pem)" in out


def test_seal_by_an_untrusted_ca_is_reported(tmp_path, capsys, sealed, pki) -> None:
    """With a trust root that did not issue the clinic's certificate: UNTRUSTED, exit 1."""
    code, out = verify(tmp_path, capsys, sealed, "--trust", str(pki.other_ca_pem))
    assert code == 1
    assert out.splitlines()[0].startswith("UNTRUSTED: signed by a certificate the given trust roots do not vouch for")


def test_earlier_signatures_stay_valid_after_sealing(sealed: bytes) -> None:
    """The seal is an incremental update: the patient's and provider's signatures still validate and
    only form filling and signing came after them."""
    form = consent.read_signed(sealed)
    patient = next(s for s in form.signatures if s.field == "patient.signature")
    assert patient.intact and patient.valid and patient.changes_allowed
    assert form.revisions == 5  # made, filled, signed twice, sealed


def test_one_word_changed_after_sealing_is_detected(tmp_path, capsys, sealed) -> None:
    """One letter of one word of page 3 changed in an incremental update after the seal: ALTERED, both
    by the content hash (page 3) and by the seal (it no longer covers the file); exit 1."""

    def edit(writer) -> None:  # type: ignore[no-untyped-def]
        from pyhanko.pdf_utils import generic

        page = writer.root["/Pages"]["/Kids"][2]
        ref = page["/Resources"]["/XObject"].raw_get("/ConsentBody3")
        stream = ref.get_object()
        stream._data, stream._encoded_data = change_one_glyph(stream.data), None
        stream.pop("/Filter", None)
        stream.pop("/DecodeParms", None)
        writer.mark_update(generic.Reference(ref.idnum, ref.generation, writer))

    altered = _incremental(sealed, edit)
    assert pdf_pages(altered)[2] != pdf_pages(sealed)[2]
    code, out = verify(tmp_path, capsys, altered)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("ALTERED: page 3 content changed since it was made")
    assert "changed after it was sealed" in first


def test_one_word_changed_in_a_rewrite_after_sealing_breaks_the_seal(tmp_path, capsys, sealed) -> None:
    """The same change saved by rewriting the whole file: the page and every signature are reported."""
    with pikepdf.open(io.BytesIO(sealed)) as doc:
        stream = body_stream(doc, 3)
        stream.write(change_one_glyph(stream.read_bytes()))
        buf = io.BytesIO()
        doc.save(buf)
    code, out = verify(tmp_path, capsys, buf.getvalue())
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("ALTERED: page 3 content changed since it was made")
    assert "consent-seal" in first


def test_one_pixel_changed_after_sealing_is_detected(tmp_path, capsys, sealed) -> None:
    """One pixel of the logo image on page 1 changed in an incremental update: ALTERED, page 1."""

    def edit(writer) -> None:  # type: ignore[no-untyped-def]
        from pyhanko.pdf_utils import generic

        page = writer.root["/Pages"]["/Kids"][0]
        ref = page["/Resources"]["/XObject"].raw_get("/Logo")
        image = ref.get_object()
        pixels = bytearray(image.data)
        pixels[5] ^= 0x01
        image._data, image._encoded_data = bytes(pixels), None
        image.pop("/Filter", None)
        writer.mark_update(generic.Reference(ref.idnum, ref.generation, writer))

    code, out = verify(tmp_path, capsys, _incremental(sealed, edit))
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("ALTERED: page 1 content changed since it was made")


def test_one_field_changed_after_sealing_is_detected(tmp_path, capsys, sealed) -> None:
    """The patient's date changed after the seal (an incremental update, as a viewer saves): the pages
    are intact, but the seal no longer covers the file: ALTERED, exit 1, and the new value is shown."""
    code, out = verify(tmp_path, capsys, fill(sealed, {"patient.date": "2026-11-22"}))
    assert code == 1
    assert out.splitlines()[0] == "ALTERED: changed after it was sealed (form filling and signing)"
    assert "Content: unchanged since it was made" in out
    assert "2026-11-22" in out


def test_seal_cli_writes_beside_the_input_and_never_prints_the_password(tmp_path, capsys, signed, pki, monkeypatch) -> None:
    """`consent seal` writes SIGNED-sealed.pdf (the input untouched), prints its path and never the password;
    the result verifies INTACT and sealed."""
    source = tmp_path / "signed.pdf"
    source.write_bytes(signed)
    monkeypatch.setenv("CLINIC_P12_PASSWORD", P12_PASSWORD)
    code = main(["seal", str(source), "--cert", str(pki.clinic_p12), "--password-env", "CLINIC_P12_PASSWORD"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    target = tmp_path / "signed-sealed.pdf"
    assert out.strip() == str(target)
    assert P12_PASSWORD not in out + err
    assert source.read_bytes() == signed
    assert consent.read_signed(target.read_bytes()).verdict.status == "INTACT"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signed-sealed.pdf", "signed.pdf"]


def test_seal_refuses_to_overwrite_the_input_unless_asked(tmp_path, capsys, signed, pki, monkeypatch) -> None:
    """--out naming the input is refused (exit 1, input unchanged); --in-place replaces it."""
    source = tmp_path / "signed.pdf"
    source.write_bytes(signed)
    monkeypatch.setenv("PW", P12_PASSWORD)
    args = ["seal", str(source), "--cert", str(pki.clinic_p12), "--password-env", "PW"]
    assert main([*args, "--out", str(source)]) == 1
    assert "give --in-place to replace it" in capsys.readouterr().err
    assert source.read_bytes() == signed
    assert main([*args, "--in-place"]) == 0
    assert consent.read_signed(source.read_bytes()).seal is not None


def test_wrong_password_is_a_clear_error_and_writes_nothing(tmp_path, capsys, signed, pki, monkeypatch) -> None:
    """A wrong .p12 password: `Error: ...` naming the file (not the password), exit 1, no file written."""
    source = tmp_path / "signed.pdf"
    source.write_bytes(signed)
    monkeypatch.setenv("PW", "not the password")
    code = main(["seal", str(source), "--cert", str(pki.clinic_p12), "--password-env", "PW"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"Error: {pki.clinic_p12}: cannot open the clinic's key and certificate")
    assert "not the password" not in out + err
    assert [p.name for p in tmp_path.iterdir()] == ["signed.pdf"]


def test_seal_refuses_an_altered_or_foreign_pdf(tmp_path, capsys, signed, pki) -> None:
    """An altered form is not sealed (SealError); bytes that are not a consent form neither."""
    with pikepdf.open(io.BytesIO(signed)) as doc:
        stream = body_stream(doc, 2)
        stream.write(change_one_glyph(stream.read_bytes()))
        buf = io.BytesIO()
        doc.save(buf)
    with pytest.raises(consent.SealError, match="is not sealed: it is ALTERED: page 2 content changed"):
        consent.seal(buf.getvalue(), pki.clinic_p12, P12_PASSWORD)
    with pytest.raises(consent.NotAConsentForm):
        consent.seal(b"%PDF-1.7 garbage", pki.clinic_p12, P12_PASSWORD)


def test_sealing_twice_is_refused(sealed: bytes, pki) -> None:  # type: ignore[no-untyped-def]
    """A sealed form is not sealed again."""
    with pytest.raises(consent.SealError, match="already sealed"):
        consent.seal(sealed, pki.clinic_p12, P12_PASSWORD)
