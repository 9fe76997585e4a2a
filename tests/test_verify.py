"""`consent verify` and `consent.read_signed`: a consent form read back after it was filled in and signed.

The forms are fillable PDFs (``form.to_pdf(fillable=True)``), filled in with pypdf and signed with pyHanko
(tests/signing.py).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from helpers import EXAMPLES, pdf_pages
from signing import (
    attachment_edited_in_update,
    body_stream,
    change_one_glyph,
    complete,
    fill,
    gray_image,
    make_form,
    sign,
    signature_field_over,
    value_changed_in_update,
)

import consent
from consent.cli import main
from consent.signed.read import Verdict, describe


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A fillable knee-injection form as consent makes it."""
    return make_form().to_pdf(fillable=True)


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
    assert (
        fields["patient.signature"].kind == "signature"
        and fields["patient.signature"].value == "Ada O'Connor"
    )
    assert fields["screening.pregnant"].value == "No"
    signature_page = pdf_pages(signed)[fields["patient.date"].page - 1]
    assert "Signature" in signature_page and "Ada O'Connor" in signature_page
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
    # A rewrite leaves no history to say which update changed the page.
    assert out.splitlines()[0].startswith("ALTERED: page 3 content changed since it was made; signature")
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
    other = make_form("hair", "Jose Diaz")
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
    image = gray_image(scan, b"\x80" * 64, 8)
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = scan.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    scan.save(buf)
    code, out, err = run(tmp_path, capsys, buf.getvalue())
    assert code == 1 and err == ""
    assert out.startswith(
        "NOT A CONSENT FORM: it carries no consent form id: a scan, or a PDF another program made"
    )


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


def test_a_required_field_removed_or_made_optional_is_altered(signed: bytes) -> None:
    """The fields themselves are recorded when the form is made: deleting a required field (so the form
    would look complete without it) or clearing its required flag is ALTERED, naming the field."""
    with pikepdf.open(io.BytesIO(signed)) as doc:
        initials = next(f for f in doc.Root.AcroForm.Fields if str(f.get("/T")) == "initials")
        risks = next(k for k in initials.Kids if str(k.get("/T")) == "risks")
        initials.Kids = pikepdf.Array([k for k in initials.Kids if k.objgen != risks.objgen])
        for page in doc.pages:
            page.obj.Annots = pikepdf.Array(
                [a for a in page.obj.get("/Annots", []) if a.objgen != risks.objgen]
            )
        patient = next(f for f in doc.Root.AcroForm.Fields if str(f.get("/T")) == "patient")
        date = next(k for k in patient.Kids if str(k.get("/T")) == "date")
        date.Ff = int(date.get("/Ff", 0)) & ~2
        buf = io.BytesIO()
        doc.save(buf)
    form = consent.read_signed(buf.getvalue())
    assert form.intact  # the pages themselves are unchanged
    assert form.verdict.status == "ALTERED"
    assert form.verdict.reasons[0] == (
        "fields changed since it was made: initials.risks removed; "
        "patient.date moved, or its kind or required flag changed"
    )


def test_an_annotation_drawn_over_a_page_is_altered(tmp_path, capsys, signed) -> None:
    """A note drawn over page 3 (a FreeText annotation, outside the page content and the fields): ALTERED."""
    with pikepdf.open(io.BytesIO(signed)) as doc:
        note = doc.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.FreeText,
                Rect=[72, 600, 400, 640],
                Contents=pikepdf.String("not applicable"),
                DA=pikepdf.String("/Helv 12 Tf 0 g"),
            )
        )
        doc.pages[2].obj.Annots.append(note)
        buf = io.BytesIO()
        doc.save(buf)
    code, out, _ = run(tmp_path, capsys, buf.getvalue())
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("ALTERED: drawn over the pages, not a form field: page 3: FreeText;")
    assert "fields changed" not in first  # the widgets on page 3 are where they were


def test_a_full_rewrite_keeps_the_content_intact_and_breaks_only_the_signatures(signed: bytes) -> None:
    """A viewer's "Save As" rewrites the file (streams decompressed, objects renumbered, no history): the
    pages show the same, so the content is intact; only the signatures, whose bytes are gone, break."""
    with pikepdf.open(io.BytesIO(signed)) as doc:
        buf = io.BytesIO()
        doc.save(
            buf,
            compress_streams=False,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            stream_decode_level=pikepdf.StreamDecodeLevel.generalized,
        )
    assert len(buf.getvalue()) > len(signed)  # really rewritten, uncompressed
    form = consent.read_signed(buf.getvalue())
    assert form.intact and form.revisions == 1
    assert (form.changed_pages, form.field_changes, form.overlays) == ((), (), ())
    # The signatures cannot survive a rewrite (the bytes they signed are gone); the content does.
    assert form.verdict.status == "ALTERED"
    assert form.verdict.reasons == (
        "signature patient.signature is broken: what it signed was changed",
        "signature provider.signature is broken: what it signed was changed",
    )


def test_a_flat_form_is_incomplete(tmp_path, capsys) -> None:
    """A form made without fields (`consent render` without --fillable) is recognised and intact, but
    nothing can have been filled in or signed on it: INCOMPLETE, exit 3."""
    out_dir = tmp_path / "out"
    assert (
        main(
            [
                "render",
                "hair",
                "--patient",
                str(EXAMPLES / "patient-ada.yaml"),
                "--clinic",
                str(EXAMPLES / "clinic.yaml"),
                "--date",
                "2026-11-21",
                "--format",
                "pdf",
                "--out",
                str(out_dir),
            ]
        )
        == 0
    )
    capsys.readouterr()
    (pdf,) = out_dir.glob("*.pdf")
    assert main(["verify", str(pdf)]) == 3
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "INCOMPLETE: nothing filled in or signed: a flat form, without fields "
        "(make it with --fillable to sign it on screen)"
    )
    assert "Content: unchanged since it was made" in out


# WeasyPrint opens its sRGB profile for a PDF/A output intent and leaves the file for the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_archival_pdfa_copy_is_stamped_and_keeps_its_manifest() -> None:
    """A PDF/A-3 copy carries the stamp too, and the manifest is read from its consent-form.json."""
    form = make_form("hair")
    data = form.to_pdf(variant="pdf/a-3b")
    signed = consent.read_signed(data)
    assert signed.intact and signed.form_id == form.form_id
    assert signed.manifest["form_id"] == form.form_id and signed.manifest["treatment"]["id"] == "hair"
    with pikepdf.open(io.BytesIO(data)) as doc:
        assert "consent-form.json" in doc.attachments
        assert str(doc.docinfo["/consentcontenthash"]).startswith("sha256:")
        with doc.open_metadata() as xmp:
            assert xmp["pdfaid:part"] == "3"  # the PDF/A identity is left as WeasyPrint wrote it


def test_a_signature_field_with_a_bogus_signature_is_altered(made: bytes) -> None:
    """A signature field given a value that is no signature (no signed bytes, no certificate), so the form
    would look signed: ALTERED, never counted as signed."""
    with pikepdf.open(io.BytesIO(made)) as doc:
        patient = next(f for f in doc.Root.AcroForm.Fields if str(f.get("/T")) == "patient")
        signature = next(k for k in patient.Kids if str(k.get("/T")) == "signature")
        signature.V = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Sig, Name=pikepdf.String("Ada")))
        buf = io.BytesIO()
        doc.save(buf)
    verdict = consent.read_signed(buf.getvalue()).verdict
    assert verdict.status == "ALTERED"
    assert any(r.startswith("signature patient.signature") for r in verdict.reasons), verdict.reasons


def test_json_output_for_scripts(tmp_path, capsys, signed) -> None:
    """--format json: the same verdict and exit status, with the fields and signatures as data."""
    import json

    code, out, _ = run(tmp_path, capsys, signed, "--format", "json")
    data = json.loads(out)
    assert (code, data["verdict"], data["exit_code"]) == (0, "INTACT", 0)
    assert data["content_intact"] is True and data["missing"] == []
    fields = {f["name"]: f for f in data["fields"]}
    assert fields["patient.date"]["value"] == "2026-11-21" and fields["patient.date"]["required"] is True
    assert [s["field"] for s in data["signatures"]] == ["patient.signature", "provider.signature"]
    assert data["signatures"][0]["signer"] == "Ada O'Connor" and data["signatures"][0]["seal"] is False
    code, out, _ = run(tmp_path, capsys, b"not a pdf", "--format", "json")
    assert code == 1
    assert json.loads(out) == {
        "verdict": "NOT A CONSENT FORM",
        "reasons": ["this file is not a PDF"],
        "exit_code": 1,
    }


def test_original_with_another_page_is_named(tmp_path, capsys, made, signed) -> None:
    """--original with the same form id but a page that differs (an edited copy, stamped again): verify
    names the page that differs from the original given."""
    from consent.pdf.stamp import stamp

    with pikepdf.open(io.BytesIO(made)) as doc:
        stream = body_stream(doc, 2)
        stream.write(change_one_glyph(stream.read_bytes()))
        buf = io.BytesIO()
        doc.save(buf)
    original = tmp_path / "form.pdf"
    original.write_bytes(stamp(buf.getvalue()))
    code, out, _ = run(tmp_path, capsys, signed, "--original", str(original))
    assert code == 1
    assert out.splitlines()[0] == "ALTERED: differs from the original on page 2"
    assert "Original: differs on page 2" in out


def test_jpeg_image_data_is_hashed_as_stored() -> None:
    """An image qpdf cannot decode (a JPEG) is hashed as stored, with its filter: one byte changed in it
    changes the page's hash."""
    from consent.pdf.stamp import page_hashes

    def page_hash(jpeg: bytes) -> str:
        doc = pikepdf.new()
        page = doc.add_blank_page()
        image = pikepdf.Stream(doc, jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=1,
                               Height=1, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                               Filter=pikepdf.Name.DCTDecode)
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.obj.Contents = doc.make_stream(b"/Im0 Do")
        return page_hashes(doc)[0]

    assert page_hash(b"\xff\xd8 jpeg data 1") == page_hash(b"\xff\xd8 jpeg data 1")
    assert page_hash(b"\xff\xd8 jpeg data 1") != page_hash(b"\xff\xd8 jpeg data 2")


def test_damaged_files_get_a_verdict_never_a_traceback(signed: bytes) -> None:
    """Thirty copies of a signed form with bytes overwritten at random (seeded) or cut short: each is read
    as a verdict or refused as NotAConsentForm; no other exception escapes (pyHanko's and qpdf's errors
    on damaged data included)."""
    import random

    rng = random.Random(10)
    outcomes = set()
    for _ in range(30):
        data = bytearray(signed)
        for _ in range(rng.choice((1, 3, 10))):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        try:
            outcomes.add(consent.read_signed(bytes(data)).verdict.status)
        except consent.NotAConsentForm:
            outcomes.add("NOT A CONSENT FORM")
    assert outcomes <= {"ALTERED", "NOT A CONSENT FORM", "INTACT", "INCOMPLETE"}
    assert "ALTERED" in outcomes


def test_verify_seal_and_record_print_no_warning_of_a_dependency(tmp_path, signed, pki) -> None:
    """A user's ``consent verify``, ``seal`` and ``record`` print their result and nothing else: no
    "Warning: DSA is deprecated" from cryptography 51 through pyHanko (each command run in a fresh process,
    with Python's default warning filters, as a user runs it)."""
    form = tmp_path / "signed.pdf"
    form.write_bytes(signed)
    consent_exe = str(Path(sys.executable).with_name("consent"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"} | {"PW": "correct horse battery staple"}
    commands = [
        ["verify", str(form)],
        ["seal", str(form), "--cert", str(pki.clinic_p12), "--password-env", "PW", "--out", str(tmp_path / "s.pdf")],
        ["record", str(form), "--out", str(tmp_path / "fhir"), "--patient", "Patient/123"],
    ]
    for command in commands:
        result = subprocess.run([consent_exe, *command], capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, (command, result.stderr)
        assert "Warning" not in result.stderr and "warn" not in result.stderr.lower(), (command, result.stderr)


# --- issue 13: what a signature covers (pdf-insecurity.org's incremental-save and shadow attacks) ---------

AFTER_BOTH = "changed after patient.signature and provider.signature were signed (in incremental update 4)"


def _sign_both(data: bytes, pki) -> bytes:  # type: ignore[no-untyped-def]
    return sign(sign(data, "patient.signature", pki.patient_p12), "provider.signature", pki.clinic_p12)


@pytest.fixture(scope="module")
def filled(made: bytes, pki) -> bytes:  # type: ignore[no-untyped-def]
    """Every required field filled in (screening answers all "No"), not signed yet."""
    return complete(made, pki, skip=("patient.signature", "provider.signature"))


def test_a_screening_answer_changed_after_both_signatures_is_altered(tmp_path, capsys, signed) -> None:
    """Issue 13, point 3: a screening answer's stored value (/V) changed to "Yes" in an incremental update
    after the patient and the provider signed, the page still showing "No" (pyHanko calls it form filling,
    which a signature allows): ALTERED, exit 1, the update, the field and both values named, and the
    disagreement with what the page shows."""
    code, out, _ = run(tmp_path, capsys, value_changed_in_update(signed, "screening.pregnant", "/Yes"))
    assert code == 1
    assert out.splitlines()[0] == (
        f"ALTERED: {AFTER_BOTH}: screening.pregnant from 'No' to 'Yes'; "
        "fields whose appearance does not show their value: screening.pregnant (holds 'Yes', shows 'No')"
    )


def test_the_date_or_a_representative_filled_in_after_both_signatures_is_altered(signed: bytes) -> None:
    """Issue 13, point 3: the patient's date changed after both signatures (a viewer's incremental save,
    value and appearance together), and a representative filled in who never signed: each is ALTERED,
    naming the fields, their values before and after, and the signature that does not cover them."""
    dated = consent.read_signed(fill(signed, {"patient.date": "2026-11-22"}))
    assert dated.verdict == Verdict("ALTERED", (
        f"{AFTER_BOTH}: patient.date from '2026-11-21' to '2026-11-22'",
    ))
    represented = fill(signed, {"representative.name": "Mallory Doe", "representative.relationship": "Son"})
    assert consent.read_signed(represented).verdict == Verdict("ALTERED", (
        f"{AFTER_BOTH}: representative.name from nothing to 'Mallory Doe', which representative.signature "
        "does not sign; representative.relationship from nothing to 'Son', which representative.signature "
        "does not sign",
    ))


def test_a_value_its_appearance_does_not_show_is_altered_though_signed_after(filled: bytes, pki) -> None:
    """Issue 13, point 3: a field whose stored value and appearance disagree before anyone signs (the
    signer sees "No" and "2026-11-21"; /V holds "Yes" and "2026-11-22"), then signed by both: the
    signatures are valid, but the form is ALTERED, naming each field, what it holds and what it shows."""
    answer = _sign_both(value_changed_in_update(filled, "screening.pregnant", "/Yes"), pki)
    date = _sign_both(value_changed_in_update(filled, "patient.date", "2026-11-22"), pki)
    assert consent.read_signed(answer).verdict == Verdict("ALTERED", (
        "fields whose appearance does not show their value: screening.pregnant (holds 'Yes', shows 'No')",
    ))
    assert consent.read_signed(date).verdict == Verdict("ALTERED", (
        "fields whose appearance does not show their value: patient.date (holds '2026-11-22', shows "
        "'2026-11-21')",
    ))


def test_the_provider_may_date_and_sign_after_the_patient_signed(made: bytes, pki) -> None:
    """What may follow a signature: the provider's own date, left empty when the patient signed, filled in
    and then covered by the provider's signature, is INTACT. Filled in but not (yet) signed by the provider,
    it is named as not covered; a field of the patient's changed before the provider signs is ALTERED even
    though the provider's signature then covers it."""
    not_dated = complete(made, pki, skip=("provider.date", "patient.signature", "provider.signature"))
    patient_signed = sign(not_dated, "patient.signature", pki.patient_p12)
    dated = fill(patient_signed, {"provider.date": "2026-11-22"})
    countersigned = sign(dated, "provider.signature", pki.clinic_p12)
    assert consent.read_signed(countersigned).verdict == Verdict("INTACT", ("not sealed",))
    assert consent.read_signed(dated).verdict == Verdict("ALTERED", (
        "changed after patient.signature was signed (in incremental update 3): provider.date from nothing "
        "to '2026-11-22', which provider.signature does not sign",
    ))
    meddled = sign(fill(dated, {"initials.risks": "XX"}), "provider.signature", pki.clinic_p12)
    assert consent.read_signed(meddled).verdict == Verdict("ALTERED", (
        "changed after patient.signature was signed (in incremental update 4): initials.risks from 'AO' to "
        "'XX'",
    ))


def test_a_signature_field_painted_over_the_answers_is_altered(filled: bytes, signed: bytes, pki) -> None:
    """Issue 13, point 4: a new, empty signature field whose widget paints a white box over the screening
    table of page 5 (pyHanko allows adding signature fields after a signature): ALTERED, naming the field
    and the page, whether it was added after both signatures or before them."""
    after = consent.read_signed(signature_field_over(signed, 5, (60, 120, 560, 700)))
    drawn = "fields changed since it was made: Signature2 added, a signature field drawn over page 5"
    assert after.verdict == Verdict("ALTERED", (
        drawn, f"{AFTER_BOTH}: Signature2 added (signature, drawn over page 5)",
    ))
    before = consent.read_signed(_sign_both(signature_field_over(filled, 5, (60, 120, 560, 700)), pki))
    assert before.verdict == Verdict("ALTERED", (drawn,))


def test_a_widget_of_no_field_is_drawn_over_the_page(filled: bytes, pki) -> None:
    """A widget annotation added to page 5 that belongs to no form field (a viewer draws it all the same),
    in an incremental update before the patient and the provider sign (so no signature's difference
    analysis sees it): ALTERED, as any other annotation drawn over a page."""
    from signing import incremental

    def edit(writer) -> None:  # type: ignore[no-untyped-def]
        from pyhanko.pdf_utils import generic

        page = writer.root["/Pages"]["/Kids"].raw_get(4)
        widget = writer.add_object(generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.NumberObject(v) for v in (60, 120, 560, 700)]
            ),
        }))
        page.get_object()["/Annots"].append(widget)
        writer.mark_update(page)

    assert consent.read_signed(_sign_both(incremental(filled, edit), pki)).verdict == Verdict("ALTERED", (
        "drawn over the pages, not a form field: page 5: a widget of no form field",
    ))


def test_the_sealed_form_stays_intact_and_the_seal_needs_nothing_else(signed: bytes, pki) -> None:
    """The seal adds a field of its own after both signatures: invisible and signed in its update, it is
    no change; the form verifies INTACT and sealed."""
    from signing import P12_PASSWORD

    sealed = consent.seal(signed, pki.clinic_p12, P12_PASSWORD)
    form = consent.read_signed(sealed)
    assert form.verdict == Verdict("INTACT", ("sealed",))
    assert (form.after_signing, form.unshown, form.data_changes, form.data_unprinted) == ((), (), (), ())


@pytest.fixture(scope="module")
def made_for_mrn() -> bytes:
    """A fillable form for the patient with MRN SRH-004211, which page 1 prints."""
    from helpers import DATE

    patient = consent.Patient(full_name="Ada O'Connor", birth_date=DATE.replace(year=1985), mrn="SRH-004211")
    clinic = consent.load_clinic(EXAMPLES / "clinic.yaml")
    return consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE).to_pdf(fillable=True)


def _other_mrn(data: bytes) -> bytes:
    changed = data.replace(b"SRH-004211", b"SRH-999999")
    assert changed != data
    return changed


def test_a_made_form_stamps_its_embedded_files(made_for_mrn: bytes) -> None:
    """The stamp covers the embedded data: /consentdatahash names each embedded file with the SHA-256 of
    its bytes, and verify says the data is unchanged."""
    import hashlib

    with pikepdf.open(io.BytesIO(made_for_mrn)) as doc:
        files = {name: spec.get_file().read_bytes() for name, spec in doc.attachments.items()}
        stamped = str(doc.docinfo["/consentdatahash"])
    assert stamped.splitlines() == [
        f"{name} sha256:{hashlib.sha256(files[name]).hexdigest()}"
        for name in ("consent-form.json", "consent-manifest.json")
    ]
    form = consent.read_signed(made_for_mrn)
    assert (form.data_changes, form.data_unprinted) == ((), ())
    assert "Embedded data: unchanged since it was made" in describe(form).splitlines()


def test_embedded_data_edited_before_signing_is_altered(tmp_path, capsys, made_for_mrn, pki) -> None:
    """Issue 13, point 5: the embedded consent-form.json edited (MRN SRH-004211 -> SRH-999999) in an
    incremental update before both signed: ALTERED, the file named, and the MRN every page does not print.
    The same edit saved by rewriting the whole file with a fresh data stamp (so no stamp disagrees) is
    still ALTERED: the data's MRN is printed on no page."""
    edited = complete(attachment_edited_in_update(made_for_mrn, "consent-form.json", _other_mrn), pki)
    code, out, _ = run(tmp_path, capsys, edited)
    assert code == 1
    unprinted = ("the embedded form data (consent-form.json) is not the printed form: no page prints its MRN "
                 "'SRH-999999'")
    assert out.splitlines()[0] == (
        f"ALTERED: embedded data changed since it was made: consent-form.json changed; {unprinted}"
    )
    assert "Embedded data: CHANGED since it was made" in out.splitlines()

    from consent.pdf.stamp import stamp_open

    with pikepdf.open(io.BytesIO(made_for_mrn)) as doc:
        data = _other_mrn(doc.attachments["consent-form.json"].get_file().read_bytes())
        spec = pikepdf.AttachedFileSpec(doc, data, mime_type="application/json")
        doc.attachments["consent-form.json"] = spec
        stamp_open(doc)
        buf = io.BytesIO()
        doc.save(buf)
    assert consent.read_signed(complete(buf.getvalue(), pki)).verdict == Verdict("ALTERED", (unprinted,))


def test_a_form_made_before_the_data_stamp_says_so(made_for_mrn: bytes) -> None:
    """A form made before consent stamped its embedded data (no /consentdatahash) is read as before: its
    verdict is not ALTERED for that, and verify says its data was not stamped and is compared with the
    printed pages only."""
    with pikepdf.open(io.BytesIO(made_for_mrn)) as doc:
        del doc.docinfo["/consentdatahash"]
        buf = io.BytesIO()
        doc.save(buf)
    form = consent.read_signed(buf.getvalue())
    assert form.verdict.status == "INCOMPLETE" and form.data_changes is None and form.data_unprinted == ()
    assert (
        "Embedded data: not stamped when it was made (an earlier version of consent); compared with the "
        "printed pages"
    ) in describe(form).splitlines()


def test_what_a_text_fields_appearance_is_taken_to_show() -> None:
    """The text a field's appearance writes is what it shows only when nothing else could be shown instead:
    the strings of its text operators, decoded with a standard font (Helvetica, WinAnsi); refused, with the
    reason, when it also paints an image, writes invisibly or too small, or uses an embedded, composite or
    re-encoded font (whose glyphs may look like anything)."""
    from consent.pdf.acroform import drawn_text

    doc = pikepdf.new()
    helv = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                              BaseFont=pikepdf.Name.Helvetica, Encoding=pikepdf.Name.WinAnsiEncoding)
    embedded = pikepdf.Dictionary(helv)
    embedded.FontDescriptor = pikepdf.Dictionary(FontFile2=doc.make_stream(b"a font program"))
    reencoded = pikepdf.Dictionary(helv)
    reencoded.Encoding = pikepdf.Dictionary(Differences=[78, pikepdf.Name.Y])  # "N" draws a "Y"
    fonts = {
        "/Helv": helv,
        "/Emb": embedded,
        "/Cid": pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0),
        "/Diff": reencoded,
    }

    def shows(content: bytes) -> tuple[str, str]:
        stream = doc.make_stream(content)
        stream.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(fonts))
        return drawn_text(stream)

    assert shows(b"/Tx BMC q 1 g 0 0 80 16 re f BT /Helv 10 Tf 2 4 Td (Caf\xe9 No) Tj ET Q EMC") == ("Café No", "")
    assert shows(b"BT /Helv 10 Tf [(N) 20 (o)] TJ ET") == ("No", "")
    invisible = ("", "its appearance writes invisible text (text render mode 3)")
    assert shows(b"BT /Helv 10 Tf 3 Tr (No) Tj ET") == invisible
    too_small = ("", "its appearance writes text too small to read (under 4 points)")
    assert shows(b"BT /Helv 1 Tf (No) Tj ET") == too_small
    assert shows(b"q 0.1 0 0 0.1 0 0 cm BT /Helv 10 Tf (No) Tj ET Q") == too_small
    assert shows(b"BT /Helv 10 Tf (No) Tj ET /Im0 Do") == ("", "its appearance paints more than text (an image)")
    assert shows(b"BT /Helv 10 Tf (No) Tj ET 0 0 m 5 5 l S") == (
        "", "its appearance paints more than text (the operator m)")
    assert shows(b"BT /Emb 10 Tf (No) Tj ET") == (
        "", "its appearance writes with an embedded font (/Emb), whose glyphs may show anything")
    assert shows(b"BT /Cid 10 Tf (No) Tj ET") == ("", "its appearance writes with a Type0 font (/Cid)")
    assert shows(b"BT /Diff 10 Tf (No) Tj ET") == (
        "", "its appearance writes with a font of its own encoding (/Diff)")
    assert shows(b"/Tx BMC EMC") == ("", "")


# --- issue 24, point 2: the patient, or a representative for them, signs -----------------------------------

REPRESENTATIVE = {"representative.name": "Bea O'Connor", "representative.relationship": "Daughter",
                  "representative.date": "2026-11-21"}
NOT_SIGNED = ("patient.signature", "patient.date", "provider.signature")


def test_a_form_signed_by_a_representative_instead_of_the_patient_is_intact(made: bytes, pki, tmp_path,
                                                                          capsys) -> None:
    """The representative fills in their name, relationship and date and signs; the patient's own signature
    and date stay empty: INTACT (exit 0), nothing missing."""
    filled = fill(complete(made, pki, skip=NOT_SIGNED), REPRESENTATIVE)
    data = sign(sign(filled, "representative.signature", pki.patient_p12), "provider.signature", pki.clinic_p12)
    code, out, _ = run(tmp_path, capsys, data)
    assert (code, out.splitlines()[0]) == (0, "INTACT: not sealed")
    assert consent.read_signed(data).missing == ()


def test_incomplete_says_what_the_patient_or_a_representative_has_left(made: bytes, pki, tmp_path,
                                                                     capsys) -> None:
    """Signed by no one for the patient: INCOMPLETE (exit 3) naming the patient's missing signature and date
    and, as the other way to complete it, what a representative has left empty; a representative who
    signed without a date is named too."""
    nobody = sign(complete(made, pki, skip=NOT_SIGNED), "provider.signature", pki.clinic_p12)
    code, out, _ = run(tmp_path, capsys, nobody)
    assert code == 3
    assert out.splitlines()[0] == (
        "INCOMPLETE: required fields not filled: patient.signature, patient.date; or a representative signs "
        "for the patient: representative.name, representative.relationship, representative.signature, "
        "representative.date not filled"
    )
    undated = fill(complete(made, pki, skip=NOT_SIGNED), {**REPRESENTATIVE, "representative.date": ""})
    undated = sign(sign(undated, "representative.signature", pki.patient_p12), "provider.signature",
                   pki.clinic_p12)
    assert consent.read_signed(undated).verdict == Verdict("INCOMPLETE", (
        "required fields not filled: patient.signature, patient.date",
        "or a representative signs for the patient: representative.date not filled",
    ))


def _minors_form(made: bytes) -> bytes:
    """``made`` as a minor's form is made (issue 24: another change marks them so): the representative's
    (the parent's or guardian's) name, relationship, signature and date required, the patient's signature
    and date not (the minor's optional assent); stamped afresh, as consent stamps a form it makes."""
    from consent.pdf.acroform import form_fields
    from consent.pdf.stamp import stamp

    parent = {"representative.name", "representative.relationship", "representative.signature",
              "representative.date"}
    with pikepdf.open(io.BytesIO(made)) as doc:
        for entry in form_fields(doc):
            flags = int(entry.node.get("/Ff", 0))
            if entry.field.name in parent:
                entry.node.Ff = flags | 2
            elif entry.field.name in ("patient.signature", "patient.date"):
                entry.node.Ff = flags & ~2
        out = io.BytesIO()
        doc.save(out)
    return stamp(out.getvalue())


def test_a_minors_form_needs_the_parent_and_not_the_patient(made: bytes, pki, tmp_path, capsys) -> None:
    """On a minor's form (the representative's fields marked required, the patient's signature and date
    not): unsigned by the parent it is INCOMPLETE naming the parent's fields, with no other way offered;
    signed by the parent alone it is INTACT and recorded with the parent (RelatedPerson) as performer; the
    minor's assent beside the parent's signature makes the patient a performer too."""
    minors = _minors_form(made)
    required = {f.name for f in consent.read_signed(minors).fields if f.required}
    assert {"representative.signature", "representative.date"} <= required
    assert not {"patient.signature", "patient.date"} & required
    filled = complete(minors, pki, skip=NOT_SIGNED + tuple(REPRESENTATIVE) + ("representative.signature",))
    unsigned = sign(filled, "provider.signature", pki.clinic_p12)
    assert consent.read_signed(unsigned).verdict == Verdict("INCOMPLETE", (
        "required fields not filled: representative.name, representative.relationship, "
        "representative.signature, representative.date",
    ))
    parent = sign(sign(fill(filled, REPRESENTATIVE), "representative.signature", pki.patient_p12),
                  "provider.signature", pki.clinic_p12)
    code, out, _ = run(tmp_path, capsys, parent)
    assert (code, out.splitlines()[0]) == (0, "INTACT: not sealed")
    assert [p.get("type") for p in _consent(parent)["performer"]] == ["RelatedPerson", "Practitioner"]
    assent = fill(filled, {**REPRESENTATIVE, "patient.date": "2026-11-21"})
    assent = sign(sign(assent, "patient.signature", pki.patient_p12), "representative.signature", pki.patient_p12)
    assent = sign(assent, "provider.signature", pki.clinic_p12)
    assert [p.get("type") for p in _consent(assent)["performer"]] == [None, "RelatedPerson", "Practitioner"]


def _consent(data: bytes) -> dict:  # type: ignore[type-arg]
    """The Consent ``consent record`` makes of ``data`` (the form has no MRN: the patient is given)."""
    bundle = consent.record_signed(data, patient="Patient/123")
    (c,) = (e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent")
    return c
