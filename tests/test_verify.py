"""`consent verify` and `consent.read_signed`: a consent form read back after it was filled in and signed.

Until `form.to_pdf(fillable=True)` lands (branch `fillable`), the fields are added to a flat form with
pikepdf by `signing.add_fields`, as that helper adds them (widgets only; the page content untouched).
"""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from helpers import DATE, pdf_pages
from signing import add_fields, body_stream, change_one_glyph, complete, make_pki

import consent
from consent.cli import main


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A knee-injection form as consent makes it, with the fields of a fillable form."""
    from conftest import EXAMPLES

    form = consent.build("knee-injection", patient=consent.Patient(full_name="Ada O'Connor", birth_date=DATE.replace(year=1985)),
                         clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), date=DATE)
    return add_fields(form.to_pdf())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def signed(made: bytes, pki) -> bytes:  # type: ignore[no-untyped-def]
    """Every field filled in (incremental updates), then signed by the patient and the provider."""
    return complete(made, pki)


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, *args: str) -> tuple[int, str, str]:
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    code = main(["verify", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_made_form_carries_its_id_manifest_and_content_hash(made: bytes) -> None:
    """A PDF consent makes is recognised: form id, manifest (from the attachment) and an intact content
    hash; its required fields are all empty, so the verdict is INCOMPLETE."""
    form = consent.read_signed(made)
    assert form.form_id.startswith("CF-")
    assert form.manifest["form_id"] == form.form_id
    assert form.manifest["treatment"]["id"] == "knee-injection"
    assert form.intact and form.changed_pages == () and form.page_count == len(pdf_pages(made))
    assert form.verdict.status == "INCOMPLETE"
    assert form.verdict.exit_code == 3


def test_filled_and_signed_form_is_intact_and_lists_its_fields(tmp_path, capsys, signed) -> None:
    """Filling fields and signing them (incremental updates) leaves the content intact; verify lists the
    filled fields with their values and signers and exits 0."""
    code, out, err = run(tmp_path, capsys, signed)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "INTACT: not sealed"
    assert "Content: unchanged since it was made" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "2026-11-21" in lines["patient.date"]
    assert "AO" in lines["initials.risks"]
    assert lines["screening.pregnant"].split()[1:3] == ["radio", "No"]
    assert "Ada O'Connor" in lines["patient.signature"]
    assert "Sunrise Regenerative Health" in lines["provider.signature"]
    assert "(empty)" in lines["witness.name"] and "required" not in lines["witness.name"]
    assert "patient.signature: valid, signed by Ada O'Connor" in out
    assert "not checked against a trust root" in out


def test_read_signed_gives_the_fields_as_data(signed: bytes) -> None:
    """The library API: each field with its kind, value, required flag and page."""
    form = consent.read_signed(signed)
    fields = {f.name: f for f in form.fields}
    assert fields["patient.date"].value == "2026-11-21"
    assert fields["patient.date"].kind == "text" and fields["patient.date"].required
    assert fields["patient.signature"].kind == "signature" and fields["patient.signature"].value == "Ada O'Connor"
    assert fields["screening.pregnant"].value == "No"
    assert fields["patient.date"].page == form.page_count
    assert form.revisions == 4 and form.missing == ()
    assert [s.field for s in form.signatures] == ["patient.signature", "provider.signature"]


def test_missing_required_fields_give_incomplete_and_exit_3(tmp_path, capsys, made, pki) -> None:
    """A form with a required field left empty and no provider signature is INCOMPLETE (exit 3), and the
    verdict names the fields."""
    data = complete(made, pki, skip=("initials.risks", "provider.signature"))
    code, out, _ = run(tmp_path, capsys, data)
    assert code == 3
    assert out.splitlines()[0] == "INCOMPLETE: required fields not filled: initials.risks, provider.signature"


def test_one_word_changed_in_a_rewrite_is_altered(tmp_path, capsys, signed) -> None:
    """One letter of one word changed in page 3's text (the file rewritten by pikepdf, as an editor
    saves): the text a reader sees differs, and verify says ALTERED on page 3, exit 1."""
    with pikepdf.open(io.BytesIO(signed)) as doc:
        stream = body_stream(doc, 3)
        stream.write(change_one_glyph(stream.read_bytes()))
        buf = io.BytesIO()
        doc.save(buf)
    altered = buf.getvalue()
    assert pdf_pages(altered)[2] != pdf_pages(signed)[2]
    assert pdf_pages(altered)[3] == pdf_pages(signed)[3]
    code, out, err = run(tmp_path, capsys, altered)
    assert code == 1 and err == ""
    assert out.splitlines()[0].startswith("ALTERED: page 3 content changed since it was made")
    assert "Content: CHANGED since it was made" in out


def test_a_page_removed_is_altered(signed: bytes) -> None:
    """A page deleted from the form: ALTERED, one page removed."""
    with pikepdf.open(io.BytesIO(signed)) as doc:
        del doc.pages[5]
        buf = io.BytesIO()
        doc.save(buf)
    verdict = consent.read_signed(buf.getvalue()).verdict
    assert verdict.status == "ALTERED"
    assert "1 page removed since it was made" in verdict.reasons


def test_original_is_compared_page_by_page(tmp_path, capsys, made, signed) -> None:
    """--original: the form as made matches the signed one page by page; another form is named as such."""
    original = tmp_path / "form.pdf"
    original.write_bytes(made)
    code, out, _ = run(tmp_path, capsys, signed, "--original", str(original))
    assert code == 0 and "Original: same pages" in out
    from conftest import EXAMPLES

    other = consent.build("hair", patient=consent.Patient(full_name="Jose Diaz", birth_date=DATE.replace(year=1970)),
                          clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), date=DATE)
    original.write_bytes(other.to_pdf())
    code, out, _ = run(tmp_path, capsys, signed, "--original", str(original))
    assert code == 1
    assert f"ALTERED: the original given is form {other.form_id}, not " in out.splitlines()[0]


def test_garbage_bytes_are_not_a_consent_form(tmp_path, capsys) -> None:
    """Bytes that are not a PDF: a one-line verdict, exit 1, no traceback."""
    code, out, err = run(tmp_path, capsys, b"GIF89a\x00\x01 this is not a pdf")
    assert code == 1 and err == ""
    assert out.splitlines()[0] == "NOT A CONSENT FORM: this file is not a PDF"


def test_truncated_pdf_is_a_clear_verdict(tmp_path, capsys, signed) -> None:
    """A PDF cut in half (a failed upload) still gets a verdict, never a traceback."""
    code, out, err = run(tmp_path, capsys, signed[: len(signed) // 2])
    assert code == 1 and "Traceback" not in out + err
    assert out.split(":")[0] in {"NOT A CONSENT FORM", "ALTERED"}


def test_scanned_pdf_is_not_a_consent_form(tmp_path, capsys) -> None:
    """An image-only PDF (what a scanner makes) carries no form id: NOT A CONSENT FORM, exit 1."""
    scan = pikepdf.new()
    page = scan.add_blank_page(page_size=(612, 792))
    image = pikepdf.Stream(scan, b"\x80" * 64, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=8,
                           Height=8, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = scan.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    scan.save(buf)
    code, out, err = run(tmp_path, capsys, buf.getvalue())
    assert code == 1 and err == ""
    assert out.startswith("NOT A CONSENT FORM: it carries no consent form id: a scan, or a PDF another program made")


def test_encrypted_pdf_is_not_a_consent_form(tmp_path, capsys, made) -> None:
    """A password-protected copy: NOT A CONSENT FORM (consent never encrypts), exit 1."""
    with pikepdf.open(io.BytesIO(made)) as doc:
        buf = io.BytesIO()
        doc.save(buf, encryption=pikepdf.Encryption(owner="o", user="secret"))
    code, out, _ = run(tmp_path, capsys, buf.getvalue())
    assert code == 1
    assert out.startswith("NOT A CONSENT FORM: it is encrypted")


def test_library_raises_not_a_consent_form() -> None:
    """read_signed raises consent.NotAConsentForm (a ConsentError) for a file that is not ours."""
    with pytest.raises(consent.NotAConsentForm, match="not a PDF"):
        consent.read_signed(b"hello")


def test_verify_help_documents_the_exit_codes(capsys) -> None:
    """`consent verify --help` says what each exit status means."""
    assert main(["verify", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "0 intact and every required field filled" in out
    assert "3 intact but required fields" in out
    assert "1 altered, not a consent form" in out
