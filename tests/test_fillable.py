"""Fillable, signable PDFs (issue 9): AcroForm fields where the form asks for a signature, a name, a
date, initials or a screening answer; e-signature anchor tags; a template export's text fields."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path

import pikepdf
import pypdf
import pytest
from helpers import (
    DATE,
    EHR_SAMPLES,
    EXAMPLES,
    build_tree,
    docx_all_text,
    docx_document,
    make_clinic,
    pdf_pages,
)

import consent
from consent.cli import main

BUILTIN_TEMPLATES = Path(consent.__file__).parent / "templates"
ROLES = ("patient", "representative", "witness", "provider")
SCREENING = {"infection": True, "pregnant": False}
REQUIRED = 1 << 1


@pytest.fixture(scope="module")
def form() -> consent.Form:
    patient = consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1985, 12, 1), mrn="SRH-000101")
    return consent.build("knee-injection", patient=patient, clinic=make_clinic(), date=DATE,
                         screening=SCREENING, allow_check_errors=True)


@pytest.fixture(scope="module")
def fillable(form) -> bytes:
    return form.to_pdf(fillable=True)


def terminal_fields(pdf: bytes) -> dict[str, dict]:
    """Fully qualified name -> {"ft", "ff", "v", "pages", "rects", "states"} of every terminal field."""
    out: dict[str, dict] = {}
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        pages = {page.obj.objgen: n for n, page in enumerate(doc.pages)}

        def walk(node, prefix, inherited):
            name = f"{prefix}.{node.T}" if prefix else str(node.T)
            ft = node.get("/FT", inherited)
            kids = list(node.get("/Kids", []))
            if kids and all("/T" in k for k in kids):
                for kid in kids:
                    walk(kid, name, ft)
                return
            widgets = kids or [node]
            out[name] = {
                "ft": str(ft), "ff": int(node.get("/Ff", 0)), "v": str(node.get("/V", "")),
                "pages": [pages[w.P.objgen] for w in widgets],
                "rects": [[float(x) for x in w.Rect] for w in widgets],
                "states": sorted(str(s) for w in widgets for s in w.AP.N if s != "/Off")
                if ft == "/Btn" else [],
                "as": [str(w.get("/AS", "")) for w in widgets],
            }

        for root in doc.Root.AcroForm.Fields:
            walk(root, "", None)
    return out


def page_of(pdf: bytes, phrase: str) -> int:
    return next(n for n, text in enumerate(pdf_pages(pdf)) if phrase in text.replace("\n", " "))


def test_every_field_is_present_on_its_page_with_its_type_and_required_flag(form, fillable):
    """A fillable knee-injection form has, by the names of the README's table: per signer a signature
    field (/Sig), a printed name, date and time (/Tx), the representative's relationship; the patient's
    initials at each section that asks for them; a Yes/No radio group per screening question. Each is
    on the page that prints its place; required ones (patient and provider signature and date, patient
    name, initials, screening) have the /Ff required bit and the others do not."""
    fields = terminal_fields(fillable)
    initials = [s.clause_id for s in form.sections if s.initials]
    questions = [r.id for s in form.sections for b in s.blocks if b.kind == "checklist" for r in b.rows]
    expected = {f"{role}.{part}" for role in ROLES for part in ("name", "signature", "date", "time")}
    expected |= {"representative.relationship"} | {f"initials.{c}" for c in initials}
    expected |= {f"screening.{q}" for q in questions}
    assert set(fields) == expected and len(initials) >= 3 and len(questions) >= 10
    signatures = page_of(fillable, "Provider who explained this form")
    box_pages = []
    for role in ROLES:
        assert fields[f"{role}.signature"]["ft"] == "/Sig"
        assert fields[f"{role}.name"]["ft"] == fields[f"{role}.date"]["ft"] == "/Tx"
        # a signer's fields share the page of its box; the boxes may run over two pages, in order
        [page] = {tuple(fields[f"{role}.{part}"]["pages"]) for part in ("name", "signature", "date", "time")}
        box_pages.append(page[0])
    assert box_pages == sorted(box_pages) and box_pages[-1] == signatures
    assert box_pages[0] >= signatures - 1
    screening_page = page_of(fillable, "bleed or bruise easily")
    for q in questions:
        assert fields[f"screening.{q}"]["ft"] == "/Btn"
        assert fields[f"screening.{q}"]["states"] == ["/No", "/Yes"]
        assert fields[f"screening.{q}"]["pages"] == [screening_page, screening_page]
    for c in initials:
        title = next(s.title for s in form.sections if s.clause_id == c)
        assert fields[f"initials.{c}"]["pages"][0] >= page_of(fillable, title)
    required = {n for n, f in fields.items() if f["ff"] & REQUIRED}
    assert required == ({"patient.signature", "patient.name", "patient.date", "provider.signature",
                         "provider.date"}
                        | {f"initials.{c}" for c in initials} | {f"screening.{q}" for q in questions})


def test_screening_radios_are_preselected_from_the_answers_and_the_names_prefilled(fillable):
    """A question answered yes has /V /Yes and its Yes button's state on; no: /No; unanswered: /Off.
    The printed names the flat form prints (patient, provider) are the name fields' values."""
    fields = terminal_fields(fillable)
    states = {name: (fields[f"screening.{name}"]["v"], fields[f"screening.{name}"]["as"])
              for name in ("infection", "pregnant", "bleeding")}
    assert states == {"infection": ("/Yes", ["/Yes", "/Off"]), "pregnant": ("/No", ["/Off", "/No"]),
                      "bleeding": ("/Off", ["/Off", "/Off"])}
    assert fields["patient.name"]["v"] == "Ada O'Connor"
    assert fields["provider.name"]["v"].startswith("Sam Lee")
    assert fields["witness.name"]["v"] == ""


def test_widgets_have_appearances_tab_order_and_date_actions(fillable):
    """Every widget has an appearance stream; each page lists its widgets from the top down, then left
    to right, and the tab order follows the structure tree (/Tabs /S, tests/test_tagged_pdf.py: the
    tree is in reading order); text fields have /DA and the AcroForm /DR; date and time fields carry
    the AFDate/AFTime format actions."""
    with pikepdf.open(io.BytesIO(fillable)) as doc:
        acroform = doc.Root.AcroForm
        assert "/Helv" in acroform.DR.Font and "/NeedAppearances" not in acroform
        widgets = 0
        for page in doc.pages:
            annots = [a for a in page.obj.get("/Annots", []) if a.Subtype == "/Widget"]
            if not annots:
                continue
            assert page.obj.Tabs == "/S"
            keys = [(-round(float(a.Rect[3])), float(a.Rect[0])) for a in annots]
            assert keys == sorted(keys)
            for a in annots:
                assert "/N" in a.AP and a.F == 4
                widgets += 1
        assert widgets > 40
        date = next(f for f in acroform.Fields if f.T == "patient").Kids
        by_name = {str(k.T): k for k in date}
        assert "AFDate_FormatEx(\"yyyy-mm-dd\")" in str(by_name["date"].AA.F.JS)
        assert "AFTime_KeystrokeEx(\"HH:MM\")" in str(by_name["time"].AA.K.JS)
        assert "/DA" in by_name["name"]


def test_fields_filled_with_pypdf_read_back_and_the_filled_form_renders(fillable, tmp_path):
    """Filling the text fields and a radio group with pypdf and reading the file back gives the values;
    the filled PDF still reads with pypdf (text unchanged) and renders with pdftoppm."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(fillable))
    values = {"patient.date": "2026-11-21", "patient.time": "09:30", "initials.risks": "AO",
              "witness.name": "Jo Witness", "screening.bleeding": "/No"}
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    filled = out.getvalue()
    reader = pypdf.PdfReader(io.BytesIO(filled))
    got = {name: field.get("/V") for name, field in reader.get_fields().items()}
    assert {k: got[k] for k in values} == values
    assert got["screening.infection"] == "/Yes"
    assert pdf_pages(filled) == pdf_pages(fillable)
    (tmp_path / "filled.pdf").write_bytes(filled)
    page = page_of(filled, "Provider who explained this form") + 1
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page),
                    str(tmp_path / "filled.pdf"), str(tmp_path / "page")], check=True, timeout=60)
    assert list(tmp_path.glob("page*.png"))


def test_shared_and_whole_layouts_give_the_same_fields(form, fillable):
    """The shared-layout path (batch, render) and a whole layout give the same fields at the same
    places (to a hundredth of a point) and the same words."""
    from consent.speedups.layers import layered_pdf
    from consent.speedups.render import laid_out_pdf

    pdf, how = laid_out_pdf(form, fillable=True)
    assert how == "shared" and pdf == fillable
    import consent.speedups.layers as module

    original = module.layered_pdf
    module.layered_pdf = lambda *a, **k: None
    try:
        whole, how = laid_out_pdf(form, fillable=True)
    finally:
        module.layered_pdf = original
    assert how == "whole" and layered_pdf is original
    a, b = terminal_fields(fillable), terminal_fields(whole)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name]["pages"] == b[name]["pages"], name
        for ra, rb in zip(a[name]["rects"], b[name]["rects"], strict=True):
            assert max(abs(x - y) for x, y in zip(ra, rb, strict=True)) < 0.01, name
    assert sorted(" ".join(pdf_pages(fillable)).split()) == sorted(" ".join(pdf_pages(whole)).split())


def test_the_same_form_gives_the_same_bytes_and_a_plain_pdf_has_no_fields(form, fillable):
    """A fillable PDF is deterministic; without --fillable the PDF has no AcroForm and its screening
    answers are printed ticks."""
    assert form.to_pdf(fillable=True) == fillable
    plain = form.to_pdf()
    with pikepdf.open(io.BytesIO(plain)) as doc:
        assert "/AcroForm" not in doc.Root


def test_a_template_without_field_places_fails_loudly(tmp_path):
    """A clinic's form.html without the data-field marks: a fillable PDF is a RenderError naming the
    missing fields, never a PDF without them; the plain PDF is still made."""
    html = re.sub(r' data-field="[^"]*"', "", (BUILTIN_TEMPLATES / "form.html").read_text())
    pack = build_tree(tmp_path / "pack", {"templates/form.html": html})
    patient = consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1985, 12, 1), mrn="1")
    form = consent.build("hair", patient=patient, clinic=make_clinic(), date=DATE, packs=[pack],
                         allow_check_errors=True)
    with pytest.raises(consent.RenderError, match=r"no place for these form fields: .*patient\.signature"):
        form.to_pdf(fillable=True)
    assert form.to_pdf()


def test_a_fillable_pdf_a_is_refused_clearly(form):
    """A fillable PDF cannot be PDF/A (its date actions are JavaScript, its fields' font is not
    embedded), nor can a PDF with e-signature tags (their font is not embedded): refused with a
    RenderError."""
    with pytest.raises(consent.RenderError, match="cannot be an archival PDF/A"):
        form.to_pdf(fillable=True, variant="pdf/a-3b")
    with pytest.raises(consent.RenderError, match="e-signature tags cannot be an archival PDF/A"):
        form.to_pdf(esign="adobe", variant="pdf/a-3u")
    with pytest.raises(consent.RenderError, match="unknown e-signature service"):
        form.to_pdf(esign="hellosign")


@pytest.mark.parametrize("service", ["docusign", "adobe"])
def test_esign_tags_are_printed_only_when_asked(form, service):
    """With --esign, each signature, initials and date place carries the service's tag in the text
    (white: a patient does not see it); without it, no tag is in the text."""
    tagged = pdf_pages(form.to_pdf(esign=service))
    text = " ".join(tagged)
    if service == "docusign":
        for tag in ("\\s1\\", "\\d1\\", "\\i1\\", "\\s2\\", "\\d2\\", "\\s3\\", "\\s4\\"):
            assert tag in text, tag
    else:
        for tag in ("{{Sig1_es_:signer1:signature}}", "{{Dte1_es_:signer1:date}}",
                    "{{Sig2_es_:signer2:signature}}"):
            assert tag in text, tag
        assert len(re.findall(r"\{\{Int1_\d+_es_:signer1:initials\}\}", text)) >= 3
    plain = " ".join(pdf_pages(form.to_pdf()))
    assert "\\s1\\" not in plain and "_es_" not in plain


TEXT_SHOWING = {"Tj", "TJ", "'", '"'}


def fonts_that_draw(pdf: bytes) -> dict[str, bool]:
    """Every font that shows text anywhere in ``pdf`` (page content, form XObjects, annotation
    appearances), by /BaseFont -> whether its program is embedded (for a Type 0 font, its CIDFont's)."""
    found: dict[str, bool] = {}
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        seen: set[tuple[int, int]] = set()

        def walk(stream, resources) -> None:
            if stream.is_indirect:
                if stream.objgen in seen:
                    return
                seen.add(stream.objgen)
            fonts = resources.get("/Font", {}) if resources is not None else {}
            xobjects = resources.get("/XObject", {}) if resources is not None else {}
            current = None
            for operands, operator in pikepdf.parse_content_stream(stream):
                op = str(operator)
                if op == "Tf":
                    current = fonts[str(operands[0])]
                elif op in TEXT_SHOWING:
                    font = current.DescendantFonts[0] if current.Subtype == "/Type0" else current
                    descriptor = font.get("/FontDescriptor")
                    found[str(current.BaseFont)] = descriptor is not None and any(
                        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
                elif op == "Do":
                    xobject = xobjects[str(operands[0])]
                    if xobject.Subtype == "/Form":
                        walk(xobject, xobject.get("/Resources", resources))

        for page in doc.pages:
            walk(page.obj, page.obj.get("/Resources"))
            for annot in page.obj.get("/Annots", []):
                for appearance in annot.get("/AP", {}).values():
                    states = [appearance] if isinstance(appearance, pikepdf.Stream) else appearance.values()
                    for state in states:
                        walk(state, state.get("/Resources"))
    return found


@pytest.mark.parametrize("options", [{"esign": "docusign"}, {"esign": "adobe"}, {"fillable": True}],
                         ids=["docusign", "adobe", "fillable"])
def test_every_font_that_draws_text_is_embedded(form, options):
    """PDF/UA-1 (7.21.4.1) and PDF/A: the font of all text drawn is in the file, the white e-signature
    tags' too (they were drawn in the standard Helvetica, named, not held); the form's fields draw no
    text until a viewer fills them in. The tags' font is one subset of the shipped Noto Sans."""
    fonts = fonts_that_draw(form.to_pdf(**options))
    assert fonts and all(fonts.values()), fonts
    tag_fonts = [name for name in fonts if name.endswith("+NotoSans-Regular")]
    assert len(tag_fonts) == (1 if "esign" in options else 0), fonts
    assert "/Helvetica" not in fonts and "/ZapfDingbats" not in fonts


def test_merge_fields_are_text_fields_named_by_the_profile(form):
    """A template export's text fields sit over the patient's name, birth date, MRN and the form date
    on page 1, named as given, and the name and birth date in every page's header too; an unknown key
    is refused."""
    from consent.speedups.render import render_pdf

    names = {"patient.full_name": "PatientName", "patient.birth_date": "DOB", "patient.mrn": "MRN",
             "form.date": "Date", "patient.first_name": "First"}
    pdf = render_pdf(form, merge_fields=names)
    fields = terminal_fields(pdf)
    every_page = [0, *range(len(pdf_pages(pdf)))]  # page 1's table, then each page's header
    assert set(fields) == {"PatientName", "DOB", "MRN", "Date"}
    assert all(f["ft"] == "/Tx" and f["v"] == "" for f in fields.values())
    assert {name: sorted(f["pages"]) for name, f in fields.items()} == {
        "PatientName": every_page, "DOB": every_page, "MRN": [0], "Date": [0]}
    with pytest.raises(consent.RenderError, match="no place on the PDF form for patient.sex"):
        render_pdf(form, merge_fields={"patient.sex": "Sex"})


def test_cli_render_fillable_writes_a_pdf_with_fields(capsys, tmp_path):
    """`consent render --fillable --esign docusign` exits 0; its PDF has the fields and the tags, its
    DOCX the tags."""
    code = main(["render", "hair", "--patient", str(EXAMPLES / "patient-jose.yaml"), "--clinic",
                 str(EXAMPLES / "clinic.yaml"), "--date", "2026-11-21", "--format", "pdf,docx", "--out",
                 str(tmp_path), "--fillable", "--esign", "docusign"])
    out, err = capsys.readouterr()
    assert code == 0, err
    paths = {Path(line).suffix: Path(line) for line in out.split()}
    pdf = paths[".pdf"].read_bytes()
    assert "patient.signature" in pypdf.PdfReader(io.BytesIO(pdf)).get_fields()
    assert "\\s1\\" in " ".join(pdf_pages(pdf))
    assert "\\s1\\" in docx_all_text(paths[".docx"].read_bytes())


def test_fields_and_tags_do_not_change_what_the_page_shows(form, fillable, tmp_path):
    """The fillable PDF and the DocuSign-tagged PDF look the same as the plain PDF, pixel for pixel at
    40 dpi (the pre-selected radio buttons draw the printed ticks; the tags are white, under the page);
    Acrobat Sign's larger tags change at most a few anti-aliased pixels of a page."""
    def pages(name: str, pdf: bytes) -> list[bytes]:
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-gray", "-r", "40", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                       check=True, timeout=120)
        return [p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.pgm"))]

    plain = pages("plain", form.to_pdf())
    assert pages("fillable", fillable) == plain
    assert pages("docusign", form.to_pdf(esign="docusign")) == plain
    adobe = pages("adobe", form.to_pdf(esign="adobe"))
    assert len(adobe) == len(plain)
    for a, b in zip(adobe, plain, strict=True):
        assert sum(x != y for x, y in zip(a, b, strict=True)) <= 12


@pytest.mark.slow
def test_render_and_batch_give_the_same_fillable_bytes(tmp_path, capsys):
    """`consent render --fillable --esign adobe` of one patient and `consent batch --fillable --esign adobe`
    of the same patient's FHIR export give byte-identical PDFs, with the fields (the batch's forms get
    their fields from the shared body); the batch's manifest records the PDF options."""
    patient = tmp_path / "peter.yaml"
    patient.write_text("full_name: Peter James Chalmers\nbirth_date: 1974-12-25\nmrn: '12345'\n")
    options = ["--clinic", str(EXAMPLES / "clinic.yaml"), "--date", "2026-11-21", "--format", "pdf",
               "--fillable", "--esign", "adobe"]
    single_out, batch_out = str(tmp_path / "single"), str(tmp_path / "out")
    assert main(["render", "hair", "--patient", str(patient), "--out", single_out, *options]) == 0
    fhir = EHR_SAMPLES / "hl7_r4_patient-example.json"
    assert main(["batch", "hair", "--from", str(fhir), "--out", batch_out, "--jobs", "1", *options]) == 0
    capsys.readouterr()
    single = next((tmp_path / "single").glob("*.pdf")).read_bytes()
    batch = next((tmp_path / "out" / "forms").glob("rec-000001_*.pdf")).read_bytes()
    assert single == batch
    assert "patient.signature" in pypdf.PdfReader(io.BytesIO(batch)).get_fields()
    entry = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[0])
    assert entry["pdf_options"] == {"fillable": True, "esign": "adobe"}


def test_batch_refuses_fillable_pdf_a_before_any_work(tmp_path, capsys):
    """`consent batch --fillable` (or `--esign`) with `--pdf-variant` is a usage error (exit 2), no folder
    made."""
    fhir = EHR_SAMPLES / "hl7_r4_patient-example.json"
    code = main(["batch", "hair", "--from", str(fhir), "--clinic", str(EXAMPLES / "clinic.yaml"), "--out",
                 str(tmp_path / "out"), "--fillable", "--pdf-variant", "pdf/a-3b"])
    _, err = capsys.readouterr()
    assert code == 2 and "cannot be an archival PDF/A" in err
    assert not (tmp_path / "out").exists()
    code = main(["batch", "hair", "--from", str(fhir), "--clinic", str(EXAMPLES / "clinic.yaml"), "--out",
                 str(tmp_path / "out"), "--esign", "docusign", "--pdf-variant", "pdf/a-3u"])
    assert code == 2 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("treatment", ["iv-infusion", "hair"])
def test_every_treatment_and_language_gets_its_fields(treatment, language):
    """Each stock treatment, in English and Spanish, gets every field its form asks for (the signature
    lines are found by their labels in the form's language)."""
    from consent.pdf.fields import expected_fields

    patient = consent.Patient(full_name="José Núñez", birth_date=dt.date(1958, 3, 14), mrn="SRH-4")
    form = consent.build(treatment, patient=patient, clinic=make_clinic(), date=DATE, language=language,
                         allow_check_errors=True)
    fields = terminal_fields(form.to_pdf(fillable=True))
    assert set(fields) == set(expected_fields(form))
    assert {"patient.signature", "patient.date", "provider.signature"} <= set(fields)
    assert fields["patient.name"]["v"] == "José Núñez"


def test_the_shared_body_keeps_its_field_places_on_disk(fillable):
    """The workers of a batch share the body through a file: its field places survive the round trip
    (so every worker's forms get their fields)."""
    from consent.speedups.layers import _BODIES, _decode, _encode

    bodies = [body for body in _BODIES.done.values() if body is not None]
    assert bodies and all(body.fields for body in bodies)
    for body in bodies:
        assert _decode(_encode(body)) == body


@pytest.mark.parametrize("service", ["docusign", "adobe"])
def test_docx_esign_tags_are_white_runs_at_the_same_places(form, service):
    """`--esign` puts the same tags in the DOCX as in the PDF (same names, same numbering), as white
    runs; without it the DOCX has none, and its other text is unchanged."""
    tagged = form.to_docx(esign=service)
    plain_text, tagged_text = docx_all_text(form.to_docx()), docx_all_text(tagged)
    pattern = r"\\[sdi]\d\\" if service == "docusign" else r"\{\{[A-Za-z0-9_]+_es_:signer\d:[a-z]+\}\}"
    docx_tags = re.findall(pattern, tagged_text)
    pdf_tags = re.findall(pattern, " ".join(pdf_pages(form.to_pdf(esign=service))))
    assert sorted(docx_tags) == sorted(pdf_tags) and len(docx_tags) >= 11
    assert not re.findall(pattern, plain_text)
    assert re.sub(pattern, "", tagged_text).split() == plain_text.split()
    document = docx_document(tagged)
    paragraphs = [*document.paragraphs,
                  *(p for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs)]
    runs = [r for p in paragraphs for r in p.runs if re.fullmatch(pattern, r.text)]
    assert runs and all(str(r.font.color.rgb) == "FFFFFF" for r in runs)
    with pytest.raises(consent.RenderError, match="unknown e-signature service"):
        form.to_docx(esign="hellosign")


def test_a_batch_run_again_with_fillable_remakes_its_pdfs(tmp_path, capsys):
    """A batch run again into the same folder with --fillable does not skip the plain forms it made
    before: their PDFs are made again, with fields (and again without, when --fillable is dropped)."""
    fhir = EHR_SAMPLES / "hl7_r4_patient-example.json"
    argv = ["batch", "hair", "--from", str(fhir), "--clinic", str(EXAMPLES / "clinic.yaml"), "--out",
            str(tmp_path / "out"), "--date", "2026-11-21", "--format", "pdf", "--jobs", "1"]

    def has_fields() -> bool:
        pdf = next((tmp_path / "out" / "forms").glob("rec-000001_*.pdf")).read_bytes()
        return bool(pypdf.PdfReader(io.BytesIO(pdf)).get_fields())

    assert main(argv) == 0 and not has_fields()
    assert main([*argv, "--fillable"]) == 0 and has_fields()
    assert main(argv) == 0 and not has_fields()
    capsys.readouterr()
