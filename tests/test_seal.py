"""`consent seal` and `consent.seal`: the clinic's PAdES signature over a signed form, and what verify
then detects. A throwaway CA and certificates are made per module (tests/signing.py); nothing goes to the
network (no timestamp authority)."""

from __future__ import annotations

import io
import socket
import zlib
from pathlib import Path

import pikepdf
import pytest
from helpers import pdf_pages
from signing import (
    P12_PASSWORD,
    body_stream,
    change_one_glyph,
    complete,
    fill,
    glyph_changed_in_update,
    gray_image,
    incremental,
    local_tsa,
    make_form,
    signature_field_over,
    value_changed_in_update,
)

import consent
from consent.cli import main
from consent.pdf.stamp import content_hash, page_hashes, stamp


def _with_logo(pdf: bytes) -> bytes:
    """The form with a 4x4 pixel image (a stand-in for a clinic logo; the stock form has no image) drawn
    on page 1, stamped again as consent would stamp a form that prints one."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        page.Resources.XObject["/Logo"] = gray_image(doc, bytes(range(0, 256, 16)), 4)
        page.contents_add(doc.make_stream(b"q 24 0 0 24 40 760 cm /Logo Do Q"), prepend=False)
        buf = io.BytesIO()
        doc.save(buf)
    return stamp(buf.getvalue())


@pytest.fixture(scope="module")
def signed(pki) -> bytes:  # type: ignore[no-untyped-def]
    """A form with a logo image, its fields filled in, signed by the patient and the provider."""
    return complete(_with_logo(make_form().to_pdf(fillable=True)), pki)


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


def test_sealed_form_verifies_intact_with_a_trusted_seal(tmp_path, capsys, sealed, pki) -> None:
    """A sealed form: INTACT and sealed, exit 0; with the clinic's CA as trust root the seal's signer is
    trusted; the seal covers the whole file and is a PAdES signature (ETSI.CAdES.detached)."""
    code, out = verify(tmp_path, capsys, sealed, "--trust", str(pki.ca_pem))
    assert code == 0
    assert out.splitlines()[0] == "INTACT: sealed"
    lines = out.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("  consent-seal:")))
    assert "valid, signed by Sunrise Regenerative Health" in lines[at] and "signer trusted" in lines[at]
    assert lines[at + 1].strip() == "covers the entire file; changes after it: none"
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
    assert (
        "consent-seal: valid" in out
        and "signer not checked against a trust root (give --trust CA.pem)" in out
    )


def test_seal_by_an_untrusted_ca_is_reported(tmp_path, capsys, sealed, pki) -> None:
    """With a trust root that did not issue the clinic's certificate: UNTRUSTED, exit 1; the other
    signatures' trust is shown on their lines."""
    code, out = verify(tmp_path, capsys, sealed, "--trust", str(pki.other_ca_pem))
    assert code == 1
    assert out.splitlines()[0] == (
        "UNTRUSTED: sealed by Sunrise Regenerative Health, whom the given trust roots do not vouch for"
    )
    assert "patient.signature: valid, signed by Ada O'Connor" in out
    assert "signer NOT trusted by the given roots" in out


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
    altered = glyph_changed_in_update(sealed, 3)
    assert pdf_pages(altered)[2] != pdf_pages(sealed)[2]
    code, out = verify(tmp_path, capsys, altered)
    assert code == 1
    first = out.splitlines()[0]
    # made, filled in (update 1), signed twice (2, 3), sealed (4), altered (5)
    assert first.startswith("ALTERED: page 3 content changed since it was made (in incremental update 5)")
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

    code, out = verify(tmp_path, capsys, incremental(sealed, edit))
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("ALTERED: page 1 content changed since it was made (in incremental update 5)")


def test_one_field_changed_after_sealing_is_detected(tmp_path, capsys, sealed) -> None:
    """The patient's date changed after the seal (an incremental update, as a viewer saves): the pages
    are intact, but the seal no longer covers the file: ALTERED, exit 1, and the new value is shown."""
    code, out = verify(tmp_path, capsys, fill(sealed, {"patient.date": "2026-11-22"}))
    assert code == 1
    assert out.splitlines()[0] == "ALTERED: changed after it was sealed (form filling and signing)"
    assert "Content: unchanged since it was made" in out
    assert "2026-11-22" in out


def test_seal_cli_writes_beside_the_input_and_never_prints_the_password(
    tmp_path, capsys, signed, pki, monkeypatch
) -> None:
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


def test_wrong_password_is_a_clear_error_and_writes_nothing(
    tmp_path, capsys, signed, pki, monkeypatch
) -> None:
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


def test_a_trust_file_without_a_certificate_is_an_error(tmp_path, capsys, sealed) -> None:
    """--trust naming a file that holds no certificate: `Error: ...`, exit 1 (not every signer untrusted)."""
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    assert main(["verify", str(path), "--trust", str(bogus)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"Error: {bogus}: ")


def test_seal_cli_on_a_scan_is_an_error_and_writes_nothing(tmp_path, capsys, pki, monkeypatch) -> None:
    """`consent seal` on a PDF consent did not make: `Error: ...`, exit 1, no output file."""
    scan = tmp_path / "scan.pdf"
    with pikepdf.new() as doc:
        doc.add_blank_page()
        doc.save(scan)
    monkeypatch.setenv("PW", P12_PASSWORD)
    assert main(["seal", str(scan), "--cert", str(pki.clinic_p12), "--password-env", "PW"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: it carries no consent form id: a scan, or a PDF another program made")
    assert [p.name for p in tmp_path.iterdir()] == ["scan.pdf"]


def test_seal_with_a_timestamp_authority(tmp_path, capsys, signed, pki) -> None:
    """--tsa URL: the seal carries a timestamp token (PAdES B-T) from the authority, and verify says so.
    The authority is a local test server (127.0.0.1), not the network."""
    with local_tsa(pki.folder) as url:
        sealed = consent.seal(signed, pki.clinic_p12, P12_PASSWORD, tsa_url=url)
    code, out = verify(tmp_path, capsys, sealed, "--trust", str(pki.ca_pem))
    assert code == 0
    seal_line = next(line for line in out.splitlines() if line.startswith("  consent-seal:"))
    assert ", timestamped; signer trusted" in seal_line


def test_an_unreachable_timestamp_authority_is_an_error(tmp_path, capsys, signed, pki, monkeypatch) -> None:
    """--tsa pointing at nothing: `Error: ... could not be sealed`, exit 1, no file written."""
    source = tmp_path / "signed.pdf"
    source.write_bytes(signed)
    monkeypatch.setenv("PW", P12_PASSWORD)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["seal", str(source), "--cert", str(pki.clinic_p12), "--password-env", "PW"]
    assert main([*args, "--tsa", f"http://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: form CF-") and "could not be sealed" in err
    assert [p.name for p in tmp_path.iterdir()] == ["signed.pdf"]


def test_a_stamp_rewritten_in_an_update_is_caught(tmp_path, capsys, signed) -> None:
    """An update that changes page 3 and then writes a fresh stamp over the old one (so the last revision
    agrees with itself): the stamp is read from the first revision, as consent wrote it, so page 3 is still
    ALTERED and the rewritten stamp is named."""
    altered = glyph_changed_in_update(signed, 3)
    with pikepdf.open(io.BytesIO(altered)) as doc:
        hashes = page_hashes(doc)

    def restamp(writer) -> None:  # type: ignore[no-untyped-def]
        from pyhanko.pdf_utils import generic

        info = writer.trailer["/Info"]
        info["/consentpagehashes"] = generic.TextStringObject(" ".join(hashes))
        info["/consentcontenthash"] = generic.TextStringObject(content_hash(hashes))
        writer.update_container(info)

    code, out = verify(tmp_path, capsys, incremental(altered, restamp))
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("ALTERED: page 3 content changed since it was made (in incremental update 4)")
    assert "the form id or content hash written when it was made was replaced in a later update" in first


def test_seal_into_a_missing_folder_is_a_clear_error(tmp_path, capsys, signed, pki, monkeypatch) -> None:
    """--out in a folder that does not exist: `Error: ... cannot be written`, exit 1, no traceback."""
    source = tmp_path / "signed.pdf"
    source.write_bytes(signed)
    monkeypatch.setenv("PW", P12_PASSWORD)
    target = tmp_path / "no-such-folder" / "sealed.pdf"
    args = ["seal", str(source), "--cert", str(pki.clinic_p12), "--password-env", "PW", "--out", str(target)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {target}: cannot be written (No such file or directory)")
    assert not target.parent.exists()


def test_seal_password_variable_not_set_is_an_error(tmp_path, capsys, signed, pki, monkeypatch) -> None:
    """--password-env naming an unset variable: `Error: ...`, exit 1, nothing written."""
    source = tmp_path / "signed.pdf"
    source.write_bytes(signed)
    monkeypatch.delenv("CONSENT_NO_SUCH_VAR", raising=False)
    args = ["seal", str(source), "--cert", str(pki.clinic_p12), "--password-env", "CONSENT_NO_SUCH_VAR"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the environment variable CONSENT_NO_SUCH_VAR is not set")
    assert [p.name for p in tmp_path.iterdir()] == ["signed.pdf"]


def test_a_page_edited_in_place_is_not_blamed_on_a_later_update(tmp_path, capsys, signed) -> None:
    """One glyph changed inside the first revision's bytes (the stream recompressed into the same space,
    no update appended): ALTERED on page 3, and no incremental update is named (none made the change)."""
    with pikepdf.open(io.BytesIO(signed)) as doc:
        stored = body_stream(doc, 3).read_raw_bytes()  # not replaced by a later update: the first revision's
    at = signed.find(stored)
    assert at > 0
    packed = zlib.compress(change_one_glyph(zlib.decompress(stored)), 9)
    assert len(packed) <= len(stored)
    patched = signed[:at] + packed.ljust(len(stored), b"\n") + signed[at + len(stored) :]
    code, out = verify(tmp_path, capsys, patched)
    assert code == 1
    assert out.splitlines()[0].startswith("ALTERED: page 3 content changed since it was made;")


def test_a_form_changed_between_signing_and_sealing_is_not_sealed(signed, pki) -> None:  # type: ignore[no-untyped-def]
    """Issue 13, points 3 and 4: the gap between the signatures and the seal. A screening answer's stored
    value changed after both signatures, or a signature field painted over page 5 (a white box), is not
    sealed: SealError, naming the change; the clinic's seal would otherwise vouch for it."""
    after = "changed after patient.signature and provider.signature were signed (in incremental update 4)"
    with pytest.raises(consent.SealError) as answered:
        answered_later = value_changed_in_update(signed, "screening.pregnant", "/Yes")
        consent.seal(answered_later, pki.clinic_p12, P12_PASSWORD)
    assert answered.value.summary.endswith(
        f"is not sealed: it is ALTERED: {after}: screening.pregnant from 'No' to 'Yes'; "
        "fields whose appearance does not show their value: screening.pregnant (holds 'Yes', shows 'No')"
    )
    with pytest.raises(consent.SealError) as covered:
        consent.seal(signature_field_over(signed, 5, (60, 120, 560, 700)), pki.clinic_p12, P12_PASSWORD)
    assert covered.value.summary.endswith(
        "is not sealed: it is ALTERED: fields changed since it was made: Signature2 added, a signature field "
        f"drawn over page 5; {after}: Signature2 added (signature, drawn over page 5)"
    )


def test_a_field_changed_after_sealing_is_reported_by_the_seal_alone(tmp_path, capsys, sealed) -> None:
    """After the seal every change is the seal's to report: a screening answer's value changed after it is
    ALTERED by the seal (changed after it was sealed) and by what the page shows; the updates after the
    seal are not listed again field by field."""
    code, out = verify(tmp_path, capsys, value_changed_in_update(sealed, "screening.pregnant", "/Yes"))
    assert code == 1
    assert out.splitlines()[0] == (
        "ALTERED: fields whose appearance does not show their value: screening.pregnant (holds 'Yes', shows "
        "'No'); changed after it was sealed (form filling and signing)"
    )
