"""An accessible DOCX (issue 27, point 3): Word heading styles with outline levels, tables with header cells
and captions, the document's language and the English notice's on a Spanish form, the title in the core
properties, alternative text for every image, no layout made of empty paragraphs or tabs; and the PDF
LibreOffice tags from it passes the PDF/UA check (`pdfua check`)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pytest
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph as DocxParagraph
from helpers import DATE, EXAMPLES, TREATMENTS, docx_document, make_clinic, pdf_pages, words

import consent
from consent.document import Heading, Notice

CASES = [(t, lang) for t in TREATMENTS for lang in ("en", "es")]
TAGS = {"en": "en-US", "es": "es-US"}
# The key and value tables' label cells are in this style: LibreOffice exports them as header cells (/TH).
TABLE_HEADING = "Table Heading"


@pytest.fixture(scope="module")
def made() -> dict[tuple[str, str], tuple[consent.Form, bytes]]:
    """Each treatment in English and Spanish for the example clinic (California: its notice's English
    words come first on a Spanish form), and a Spanish Utah form (the English notice on its own page)."""
    clinic = consent.load_clinic(EXAMPLES / "clinic.yaml")
    patient = consent.load_patient(EXAMPLES / "patient-jose.yaml")
    out = {}
    for treatment, language in CASES:
        form = consent.build(treatment, patient=patient, clinic=clinic, date=DATE, language=language)
        out[treatment, language] = (form, form.to_docx())
    utah = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="UT"), date=DATE,
                         language="es")
    out["utah", "es"] = (utah, utah.to_docx())
    return out


ALL = [*CASES, ("utah", "es")]


def body_items(document):
    """The body's paragraphs and tables, in order, as python-docx objects."""
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            yield DocxParagraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)


def outline_level(document, style_name: str) -> int | None:
    level = document.styles[style_name].element.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
    return None if level is None else int(level.get(qn("w:val")))


@pytest.mark.parametrize(("treatment", "language"), ALL)
def test_headings_are_word_heading_styles_with_outline_levels(made, treatment, language):
    """The form's title is Heading 1, each section's title Heading 2, a section's sub-heading Heading 3, with
    the outline levels Word's navigation and a screen reader go by; no other paragraph uses them."""
    form, data = made[treatment, language]
    document = docx_document(data)
    by_style: dict[str, list[str]] = {}
    for p in document.paragraphs:
        by_style.setdefault(p.style.name, []).append(p.text)
    assert by_style["Heading 1"] == [form.title]
    assert by_style["Heading 2"] == [s.title for s in form.sections]
    subheadings = [b.text for s in form.sections for b in s.blocks if isinstance(b, Heading)]
    assert subheadings and by_style["Heading 3"] == subheadings
    assert "Title" not in by_style
    assert [outline_level(document, f"Heading {n}") for n in (1, 2, 3)] == [0, 1, 2]
    assert all(text.strip() for n in (1, 2, 3) for text in by_style[f"Heading {n}"])


@pytest.mark.parametrize(("treatment", "language"), ALL)
def test_tables_have_header_cells_and_captions(made, treatment, language):
    """The screening checklist's and fee table's first row is their header row (repeated on each page,
    ``w:tblHeader``, and only that row); every other table pairs labels with values (the patient's
    details, the product, the signature and initials lines), each label cell in the Table Heading style;
    every table has a caption."""
    form, data = made[treatment, language]
    document = docx_document(data)
    tables = [t for t in body_items(document) if isinstance(t, Table)]
    header_rows = 0
    labels = form.labels
    for table in tables:
        caption = table._tbl.tblPr.find(qn("w:tblCaption"))
        assert caption is not None and caption.get(qn("w:val")).strip(), [c.text for c in table.rows[0].cells]
        repeats = [row._tr.trPr is not None and row._tr.trPr.find(qn("w:tblHeader")) is not None
                   for row in table.rows]
        if any(repeats):
            assert repeats == [True] + [False] * (len(table.rows) - 1)
            head = [c.text for c in table.rows[0].cells]
            assert head in ([labels["checklist_question"], labels["yes"], labels["no"]],
                            [labels["fee_item"], labels["fee_amount"]])
            header_rows += 1
        else:
            for row in table.rows:
                cells = row.cells
                label_cells = cells[::2]  # label, value (, label, value)
                assert all(c.paragraphs[0].style.name == TABLE_HEADING and c.text for c in label_cells), \
                    [c.text for c in cells]
                assert not any(c.paragraphs[0].style.name == TABLE_HEADING for c in cells[1::2])
    assert header_rows == 2  # the checklist and the fees
    patient_table = tables[0]
    assert [c.text for c in patient_table.rows[0].cells][::2] == [labels["patient"], labels["date_of_birth"]]
    captions = [t._tbl.tblPr.find(qn("w:tblCaption")).get(qn("w:val")) for t in tables]
    assert labels["patient"] in captions and labels["initials"] in captions


@pytest.mark.parametrize(("treatment", "language"), ALL)
def test_the_language_is_set_and_the_english_notice_is_marked_english(made, treatment, language):
    """styles.xml's defaults and the core properties give the form's language (en-US, es-US); on a Spanish
    form the runs of the law's English words (the notice before its courtesy translation) are marked
    en-US, and no other run names a language of its own."""
    form, data = made[treatment, language]
    document = docx_document(data)
    default = document.styles.element.find(
        f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    assert default.get(qn("w:val")) == TAGS[language]
    assert document.core_properties.language == TAGS[language]
    english = {b.text for s in form.sections for b in s.blocks
               if isinstance(b, Notice) and b.language == "en"}
    assert bool(english) == (language == "es")  # the example clinic is in California; Utah's too
    marked = []
    for p in document.element.body.iter(qn("w:p")):
        for run in p.iter(qn("w:r")):
            lang = run.find(f"{qn('w:rPr')}/{qn('w:lang')}")
            if lang is not None and lang.get(qn("w:val")) is not None:
                marked.append((DocxParagraph(p, document).text, lang.get(qn("w:val"))))
    assert sorted(marked) == sorted((text, "en-US") for text in english)


@pytest.mark.parametrize(("treatment", "language"), ALL)
def test_core_properties_give_the_title_and_no_more_of_the_patient(made, treatment, language):
    """The title is the form's title (what a screen reader and a PDF made from the file announce), with
    its language and subject; the properties hold nothing of the patient (the form's data, in its own
    custom property, is what it always was)."""
    form, data = made[treatment, language]
    core = docx_document(data).core_properties
    assert core.title == form.title
    assert core.subject == form.manifest.treatment_id
    assert core.language == TAGS[language]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        props = z.read("docProps/core.xml").decode() + z.read("docProps/app.xml").decode()
    for value in (form.header.patient_name, form.header.birth_date, form.header.mrn, "Núñez", "1958"):
        assert value and value not in props


@pytest.mark.parametrize(("treatment", "language"), ALL)
def test_every_image_has_alternative_text(made, treatment, language):
    """Every drawing (a clinic's logo) has alternative text (``wp:docPr/@descr``); the built-in form has no
    picture at all, and no preview picture."""
    _, data = made[treatment, language]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        xml = "".join(z.read(n).decode() for n in names if n.startswith("word/") and n.endswith(".xml"))
    assert not any(n.startswith(("word/media/", "docProps/thumbnail")) for n in names)
    document = docx_document(data)
    parts = [document.element, *(s.header._element for s in document.sections),
             *(s.footer._element for s in document.sections)]
    for part in parts:
        for pr in part.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"):
            assert (pr.get("descr") or "").strip(), pr.get("name")
    assert "<w:drawing" not in xml and "<w:pict" not in xml


@pytest.mark.parametrize(("treatment", "language"), ALL)
def test_no_layout_with_empty_paragraphs_or_tabs(made, treatment, language):
    """The body has no empty paragraph (spacing does the spacing) and no tab (the initials line is a ruled
    cell, as a signature's); the blank cells of the lines written on by hand are the only empty ones."""
    form, data = made[treatment, language]
    document = docx_document(data)
    for item in body_items(document):
        if isinstance(item, DocxParagraph):
            assert item.text.strip(), f"an empty paragraph after {item._p.getprevious()!r}"
    body = document.element.body
    assert next(body.iter(qn("w:tab")), None) is None and next(body.iter(qn("w:ptab")), None) is None
    initials = [p for p in document.paragraphs + [c.paragraphs[0] for t in document.tables
                                                   for r in t.rows for c in r.cells]
                if p.text == form.labels["initials"]]
    assert len(initials) == sum(s.initials for s in form.sections) >= 3


# ---- LibreOffice's tagged PDF, checked with the PDF/UA checker -------------------------------------------

EXPORT = ('pdf:writer_pdf_Export:{"UseTaggedPDF":{"type":"boolean","value":"true"},'
          '"PDFUACompliance":{"type":"boolean","value":"true"}}')


@pytest.fixture(scope="module")
def tagged(made, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every form's DOCX converted by LibreOffice (one run for all) to a tagged PDF."""
    if shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice is installed by ./dev test")
    folder = tmp_path_factory.mktemp("tagged")
    sources = []
    for (treatment, language), (_, data) in made.items():
        source = folder / f"{treatment}-{language}.docx"
        source.write_bytes(data)
        sources.append(str(source))
    subprocess.run(["libreoffice", "--headless", f"-env:UserInstallation={(folder / 'lo').as_uri()}",
                    "--convert-to", EXPORT, "--outdir", str(folder / "pdf"), *sources],
                   check=True, capture_output=True, timeout=600)
    return {key: folder / "pdf" / f"{key[0]}-{key[1]}.pdf" for key in made}


def struct_elements(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    return [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/StructElem"]


@pytest.mark.slow
@pytest.mark.parametrize(("treatment", "language"), ALL)
def test_libreoffice_tagged_pdf_passes_the_pdf_ua_check(made, tagged, treatment, language):
    """`pdfua check` finds nothing in the PDF LibreOffice tags from the DOCX (exit 0); its structure has the
    headings (one H1, an H2 per section, an H3 per sub-heading), header cells in every table, the form's
    language and title, and the English notice's words marked English on a Spanish form."""
    pytest.importorskip("pdfua")
    form, _ = made[treatment, language]
    pdf_path = tagged[treatment, language]
    checker = Path(sys.executable).parent / "pdfua"
    result = subprocess.run([str(checker), "check", str(pdf_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS (no findings)" in result.stdout
    with pikepdf.open(pdf_path) as pdf:
        assert str(pdf.Root.Lang) == TAGS[language]
        assert pdf.docinfo["/Title"] == form.title
        elements = struct_elements(pdf)
        roles = [str(e.S) for e in elements]
        subheadings = sum(isinstance(b, Heading) for s in form.sections for b in s.blocks)
        headings = (roles.count("/H1"), roles.count("/H2"), roles.count("/H3"))
        assert headings == (1, len(form.sections), subheadings)
        tables = [e for e in elements if e.S == "/Table"]
        assert tables and roles.count("/TH") >= len(tables)
        english = [e for e in elements if str(e.get("/Lang", "")) == "en-US"]
        assert bool(english) == (language == "es")
    text = " ".join(words(" ".join(pdf_pages(pdf_path.read_bytes()))))
    assert form.title in text and form.header.patient_name in text


def styles_pack(root: Path, drop: str) -> Path:
    """A pack whose form.docx is the stock one without the style named ``drop`` (a clinic's older copy)."""
    import re

    from consent.library.loader import builtin_root

    src = zipfile.ZipFile(builtin_root() / "templates" / "form.docx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/styles.xml":
                name = re.escape(drop.encode())
                style = re.compile(rb'<w:style [^>]*>(?:(?!</w:style>).)*<w:name w:val="' + name
                                   + rb'"/>.*?</w:style>', re.S)
                data, n = style.subn(b"", data)
                assert n == 1
            dst.writestr(info, data)
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "form.docx").write_bytes(out.getvalue())
    return root


def test_a_clinic_template_without_table_heading_is_given_it(clinic, patient, tmp_path):
    """A clinic's form.docx copied from an older one has no Table Heading style: the DOCX adds it, so the
    label cells are still header cells."""
    pack = styles_pack(tmp_path / "pack", "Table Heading")
    form = consent.build("hair", patient=patient, clinic=clinic, date=DATE, packs=[pack])
    document = docx_document(form.to_docx())
    assert document.styles["Table Heading"].base_style.name == "Normal"
    labels = [row.cells[0].paragraphs[0] for t in document.tables[1:] for row in t.rows
              if t._tbl.find(f".//{qn('w:tblHeader')}") is None]
    assert labels and all(p.style.name == TABLE_HEADING for p in labels)


def test_a_clinic_template_without_a_heading_style_is_an_error_naming_it(clinic, patient, tmp_path):
    pack = styles_pack(tmp_path / "pack", "heading 3")
    form = consent.build("hair", patient=patient, clinic=clinic, date=DATE, packs=[pack])
    with pytest.raises(consent.RenderError, match="form.docx: the template has no style 'Heading 3'"):
        form.to_docx()


def test_the_notice_language_goes_round_the_form_data(made):
    """The English notice's language is in the form's data of a Spanish form (so a form made again marks it
    too), left out when a notice has none (an English form's data is as it was), and checked when read."""
    import json

    from consent._form_data import form_data_dict, parse_form_data, read_form_data

    form, data = made["knee-injection", "es"]
    back, _ = read_form_data(data)
    assert back.document == form
    assert [b.language for s in back.document.sections for b in s.blocks if isinstance(b, Notice)][0] == "en"
    english, _ = made["knee-injection", "en"]
    notices = [b for s in form_data_dict(english, "x", {})["document"]["sections"] for b in s["blocks"]
               if b["kind"] == "notice"]
    assert notices and not any("language" in b for b in notices)
    raw = form_data_dict(form, consent.__version__, {})
    notice = next(b for s in raw["document"]["sections"] for b in s["blocks"] if b.get("language"))
    notice["language"] = "English!"
    with pytest.raises(consent.InputError) as caught:
        parse_form_data(json.dumps(raw))
    assert any("language" in str(p) and "English!" in str(p) for p in caught.value.problems)
