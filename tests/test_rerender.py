"""`consent rerender` / consent.rerender(): a form made again from the data embedded in its PDF or DOCX
(issue 10, point 4)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pikepdf
import pypdf
import pytest
from helpers import DATE, EHR_SAMPLES, EXAMPLES, make_clinic, make_study, pdf_pages, words
from helpers import run_cli as run

import consent
from consent.batch.run import run_batch
from consent.ehr import read_records

CLINIC = str(EXAMPLES / "clinic.yaml")
JOSE = str(EXAMPLES / "patient-jose.yaml")
JOSE_SCREENING = str(EXAMPLES / "screening-jose.yaml")
PETER = EHR_SAMPLES / "hl7_r4_patient-example.json"


def _form(patient: consent.Patient, *, language: str = "en", study: bool = False,
          screening: dict[str, bool] | None = None) -> consent.Form:
    clinic = make_clinic(study=make_study()) if study else make_clinic()
    return consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE, language=language,
                         screening=screening)


def _rows(form: consent.Form) -> list:
    from consent.document import Checklist

    return [row for s in form.sections for b in s.blocks if isinstance(b, Checklist) for row in b.rows]


def _answers(patient: consent.Patient) -> dict[str, bool]:
    """An answer to every screening question of the form, yes and no in turn."""
    return {row.id: n % 2 == 0 for n, row in enumerate(_rows(_form(patient)))}


@pytest.mark.parametrize(("language", "study", "screened"),
                         [("en", False, False), ("es", False, False), ("en", True, False), ("es", False, True)])
def test_pdf_and_docx_rerender_byte_identical(patient, language, study, screened):
    """The data in a form's PDF (and in its DOCX) gives the same Form, the same PDF bytes and the same
    DOCX bytes again, in English and Spanish, with a study and with screening answers."""
    screening = _answers(patient) if screened else None
    form = _form(patient, language=language, study=study, screening=screening)
    pdf, docx_bytes = form.to_pdf(), form.to_docx()
    again = consent.rerender(pdf)
    assert again.form == form
    assert again.pdf == pdf and again.docx == docx_bytes and again.identical is True
    assert "byte-identical" in " ".join(again.report())
    from_docx = consent.rerender(docx_bytes)
    assert from_docx.source == "docx" and from_docx.identical is True
    assert from_docx.pdf == pdf and from_docx.docx == docx_bytes
    assert "Ada O'Connor" in " ".join(words(" ".join(pdf_pages(again.pdf))))


def test_screening_answers_come_back_ticked(patient):
    """A form made with screening answers re-renders with the same answers (the checklist rows of the
    embedded model carry them)."""
    answers = _answers(patient)
    assert len(answers) >= 2
    again = consent.rerender(_form(patient, screening=answers).to_pdf()).form
    assert {row.id: row.answer for row in _rows(again)} == answers


# WeasyPrint opens its sRGB profile for a PDF/A and leaves the file to the garbage collector.
@pytest.mark.filterwarnings("ignore:Exception ignored in.*sRGB2014:pytest.PytestUnraisableExceptionWarning")
def test_archival_pdf_a_rerenders_identical_with_its_variant(patient):
    """A PDF/A-3 form records its variant: it re-renders as the same PDF/A-3 bytes, and its form data is an
    associated file (relationship Data) as PDF/A-3 requires."""
    form = _form(patient)
    pdf = form.to_pdf(variant="pdf/a-3b")
    again = consent.rerender(pdf)
    assert again.data.render == {"pdf_variant": "pdf/a-3b", "fillable": False, "esign": None}
    assert again.pdf == pdf
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        associated = {str(spec.get("/UF") or spec.get("/F")): str(spec.get("/AFRelationship"))
                      for spec in doc.Root.AF}
    assert associated == {"consent-manifest.json": "/Data", "consent-form.json": "/Data"}


def test_cli_render_then_rerender_gives_the_same_files(capsys, tmp_path):
    """`consent render` then `consent rerender FORM.pdf --out DIR`: the same PDF and DOCX, byte for byte,
    under the same names; the report says so."""
    code, out, _ = run(capsys, "render", "knee-injection", "--patient", JOSE, "--clinic", CLINIC,
                       "--screening", JOSE_SCREENING, "--date", DATE.isoformat(), "--out", str(tmp_path / "a"))
    assert code == 0
    pdf = Path(out.splitlines()[0])
    code, out, err = run(capsys, "rerender", str(pdf), "--out", str(tmp_path / "b"))
    assert code == 0 and err == ""
    assert "The PDF made again is byte-identical to the input." in out
    assert "Every clause of the form has the same version in the installed library." in out
    made = sorted((tmp_path / "b").iterdir())
    assert [p.name for p in made] == sorted(p.name for p in (tmp_path / "a").iterdir())
    for path in made:
        assert path.read_bytes() == (tmp_path / "a" / path.name).read_bytes()
        assert str(path) in out


def test_a_batch_pdf_rerenders_byte_identical(tmp_path):
    """A form of a batch (the shared-layout path: its layer carries the attachments) re-renders to the
    same bytes, and its DOCX too."""
    result = run_batch("hair", read_records([PETER]), clinic=consent.load_clinic(CLINIC), out_dir=tmp_path,
                       date=DATE, formats=["pdf", "docx"], jobs=1)
    assert result.written == 1
    pdf = next((tmp_path / "forms").glob("*.pdf")).read_bytes()
    again = consent.rerender(pdf)
    assert again.pdf == pdf
    assert again.docx == next((tmp_path / "forms").glob("*.docx")).read_bytes()


def _edit_form_data(pdf: bytes, edit) -> bytes:
    """The PDF with its embedded consent-form.json changed by ``edit`` (as a newer library would see an
    older form)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        data = json.loads(doc.attachments["consent-form.json"].get_file().read_bytes())
        edit(data)
        doc.attachments["consent-form.json"] = pikepdf.AttachedFileSpec(
            doc, json.dumps(data).encode(), filename="consent-form.json")
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def test_a_form_from_an_older_library_names_the_clauses_that_differ(patient, capsys, tmp_path):
    """When the installed library has moved on (here: the form says an older consent, template and
    clause versions), the report names each clause whose version differs and warns that the layout may
    differ; the form is still made from its own text."""
    form = _form(patient)
    first = form.manifest.clauses[0].id

    def older(data):
        data["generator_version"] = "0.0.9"
        data["template_version"] = "2025.1.0"
        for manifest in (data["manifest"], data["document"]["manifest"]):
            manifest["clauses"][0]["version"] = "0.1"
        data["document"]["sections"][0]["version"] = "0.1"

    path = tmp_path / "old.pdf"
    path.write_bytes(_edit_form_data(form.to_pdf(), older))
    code, out, err = run(capsys, "rerender", str(path), "--out", str(tmp_path / "out"))
    assert code == 0, err
    installed = consent.get_library().clause(first).version
    assert f"{first} (en): the form has v0.1, installed v{installed}" in out
    assert "1 clause(s) of the form differ from the installed library" in out
    assert "made by consent 0.0.9, template 2025.1.0" in out
    assert "the layout may differ" in out
    assert "NOT byte-identical" in out and "made by consent 0.0.9, and consent" in out
    made = next((tmp_path / "out").glob("*.pdf"))
    assert "Ada O'Connor" in " ".join(words(" ".join(pdf_pages(made.read_bytes()))))


def test_a_signed_form_rerenders_as_the_unsigned_original(patient, tmp_path, capsys):
    """A form with changes appended after it was made (an incremental update, as filling in or signing
    writes) gives the original form back, and the report says the input was changed after it was made.
    It is never written over the input."""
    form = _form(patient)
    pdf = form.to_pdf()
    writer = pypdf.PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.add_metadata({"/SignedBy": "Ada"})
    signed = io.BytesIO()
    writer.write(signed)
    assert signed.getvalue().startswith(pdf) and signed.getvalue() != pdf
    again = consent.rerender(signed.getvalue())
    assert again.pdf == pdf and again.appended and not again.identical
    assert "filled in or signed" in " ".join(again.report())
    target = tmp_path / again.write(tmp_path / "x")[0].name
    target.write_bytes(signed.getvalue())
    code, _, err = run(capsys, "rerender", str(target), "--out", str(tmp_path))
    assert code == 1 and "would replace the input" in err
    assert target.read_bytes() == signed.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["x", target.name])


def test_a_filled_fillable_form_rerenders_as_the_empty_fillable_form(patient):
    """A fillable form (with e-signature tags) records its options: filled in with pypdf, it re-renders
    as the same fillable form, fields empty, byte for byte what was first made, and the DOCX with the
    same e-signature tags."""
    form = _form(patient)
    pdf = form.to_pdf(fillable=True, esign="docusign")
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf))
    for page in writer.pages:
        writer.update_page_form_field_values(page, {"patient.date": "2026-11-21", "patient.name": "Ada"},
                                             auto_regenerate=False)
    filled = io.BytesIO()
    writer.write(filled)
    again = consent.rerender(filled.getvalue())
    assert again.data.render == {"pdf_variant": None, "fillable": True, "esign": "docusign"}
    assert again.pdf == pdf and again.identical is False
    assert again.docx == form.to_docx(esign="docusign")
    assert "changed after it was made (filled in, signed" in " ".join(again.report())
    fields = pypdf.PdfReader(io.BytesIO(again.pdf)).get_fields()
    assert "patient.signature" in fields and fields["patient.date"].get("/V") in (None, "")


def _plain_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _manifest_only(pdf: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        del doc.attachments["consent-form.json"]
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("make", "message"), [
    (lambda form: _plain_pdf(), "this PDF has no consent form data"),
    (lambda form: form.to_pdf()[:5000], "the PDF cannot be read"),
    (lambda form: b"hello", "this is not a PDF or a DOCX"),
    (lambda form: _manifest_only(form.to_pdf()), "made by an older version that did not embed"),
    (lambda form: _edit_form_data(form.to_pdf(), lambda d: d["document"].update(extra=1)), "damaged"),
    (lambda form: _edit_form_data(form.to_pdf(), lambda d: d["document"]["manifest"]["clauses"].clear()), "damaged"),
])
def test_not_a_consent_form_is_a_clean_error(patient, capsys, tmp_path, make, message):
    """A PDF that is not ours, a damaged one, one without form data, or with data that does not
    structure back (an unknown key, a manifest that does not match): exit 1, a clear message, no
    traceback, and nothing written."""
    path = tmp_path / "in.pdf"
    path.write_bytes(make(_form(patient)))
    code, out, err = run(capsys, "rerender", str(path), "--out", str(tmp_path / "out"))
    assert code == 1 and out == ""
    assert err.startswith("Error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_form_made_with_a_pack_is_made_again_only_with_the_packs_given(patient, tmp_path, capsys):
    """A form made with a clinic pack names its folder, but rerender never loads a pack on the form's word
    (its data is untrusted input): without --pack it stops (exit 1, nothing written) naming the folder and
    --pack; given the same folder the files are byte-identical; given the folder's new place the form is
    made, and the report names both (not byte-identical: the data it carries names the new folder). A
    --pack folder that is not there is an error too."""
    pack = tmp_path / "pack"
    (pack / "clauses").mkdir(parents=True)
    form = consent.build("hair", patient=patient, clinic=make_clinic(), date=DATE, packs=[pack])
    path = tmp_path / "form.pdf"
    path.write_bytes(form.to_pdf())
    with pytest.raises(consent.InputError, match="the form names clinic pack folders: " + str(pack)):
        consent.rerender(path.read_bytes())
    assert consent.rerender(path.read_bytes(), packs=[pack]).identical is True
    code, out, err = run(capsys, "rerender", str(path), "--out", str(tmp_path / "out"))
    assert code == 1 and out == ""
    assert err.startswith(f"Error: the form names clinic pack folders: {pack}; rerender loads only the packs")
    assert "--pack" in err
    code, out, err = run(capsys, "rerender", str(path), "--out", str(tmp_path / "out"), "--pack",
                         str(tmp_path / "not-here"))
    assert code == 1 and out == "" and f"the pack folder given is not here: {tmp_path / 'not-here'}" in err
    assert not (tmp_path / "out").exists()
    pack.rename(tmp_path / "moved")
    code, out, err = run(capsys, "rerender", str(path), "--out", str(tmp_path / "out"), "--pack",
                         str(tmp_path / "moved"))
    assert code == 0, err
    assert "made with the packs given, not the folders recorded" in out
    assert f"Clinic packs: the form names {pack}; made with the packs given: {tmp_path / 'moved'}." in out
