"""Rendering: what a patient sees in the PDF and the DOCX, and that both say the same thing."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from docx.oxml.ns import qn
from helpers import (
    DATE,
    TREATMENTS,
    build_tree,
    docx_all_text,
    docx_body_lines,
    docx_document,
    make_clinic,
    make_study,
    pdf_body_words,
    pdf_pages,
    table_headers,
    words,
)

import consent
from consent.document import (
    BulletList,
    Checklist,
    FeeTable,
    Heading,
    Notice,
    Paragraph,
    ProductTable,
    Signatures,
)


def block_texts(form: consent.Form) -> list[str]:
    """Every piece of text the model asks both renderers to print."""
    out: list[str] = []
    for section in form.sections:
        out.append(section.title)
        for block in section.blocks:
            if isinstance(block, Paragraph | Heading):
                out.append(block.text)
            elif isinstance(block, Notice):
                out.append(block.text)
            elif isinstance(block, BulletList):
                out += block.items
            elif isinstance(block, Checklist):
                out += [r.question for r in block.rows]
            elif isinstance(block, FeeTable):
                out += [v for row in (*block.rows, block.total) for v in row]
            elif isinstance(block, ProductTable):
                out += [t for row in block.rows for t in (row.label, row.value, row.note) if t]
            elif isinstance(block, Signatures):
                out += [p.title for p in block.parties]
    return out


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[consent.Form, bytes, bytes]]:
    from helpers import EXAMPLES

    clinic = consent.load_clinic(EXAMPLES / "clinic.yaml")
    patient = consent.load_patient(EXAMPLES / "patient-jose.yaml")
    out = {}
    for treatment in TREATMENTS:
        form = consent.build(treatment, patient=patient, clinic=clinic, date=DATE)
        out[treatment] = (form, form.to_pdf(), form.to_docx())
    return out


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_every_treatment_renders_pdf_and_docx(rendered, treatment):
    """Each stock treatment gives a real PDF and a DOCX that python-docx can open."""
    form, pdf, docx_bytes = rendered[treatment]
    assert pdf.startswith(b"%PDF-")
    assert len(pdf_pages(pdf)) >= 4
    assert docx_document(docx_bytes).paragraphs
    assert form.sections[0].clause_id == "key-information"


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_every_clause_text_is_in_both_outputs(rendered, treatment):
    """Each section title, paragraph, list item, question and fee of the model is in the PDF and the DOCX."""
    form, pdf, docx_bytes = rendered[treatment]
    pdf_text = " ".join(pdf_body_words(form, pdf))
    docx_text = " ".join(words("\n".join(docx_body_lines(docx_bytes))))
    required = {"key-information", "treatment-description", "fda-status", "risks", "contraindications",
                "pregnancy", "evidence", "benefits", "alternatives", "costs", "voluntary", "aftercare",
                "privacy", "contacts-and-injury", "acknowledgement"}
    assert required <= {s.clause_id for s in form.sections}
    for text in block_texts(form):
        needle = " ".join(words(text))
        assert needle in pdf_text, f"missing from PDF: {text!r}"
        assert needle in docx_text, f"missing from DOCX: {text!r}"


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_pdf_and_docx_carry_the_same_words(rendered, treatment):
    """Body text extracted from both outputs has the same words, each as often (header, footer and
    repeated table header rows aside). Order is not compared: the PDF draws the patient's values in a
    layer over the shared page, so extraction reads them last."""
    form, pdf, docx_bytes = rendered[treatment]
    pdf_text = " ".join(pdf_body_words(form, pdf))
    docx_text = " ".join(words("\n".join(docx_body_lines(docx_bytes))))
    for head in table_headers(form):
        assert pdf_text.count(head) >= docx_text.count(head) >= 1
        pdf_text, docx_text = pdf_text.replace(head, " "), docx_text.replace(head, " ")
    assert Counter(pdf_text.split()) == Counter(docx_text.split())


def test_running_header_and_page_x_of_y_on_every_pdf_page(rendered):
    """Every page names the clinic, the patient and birth date, and says 'Page N of TOTAL' correctly."""
    form, pdf, _ = rendered["knee-injection"]
    pages = pdf_pages(pdf)
    for n, text in enumerate(pages, 1):
        flat = " ".join(words(text))
        assert "Sunrise Regenerative Health" in flat
        assert "José Núñez-Łukasiewicz · Date of birth March 14, 1958" in flat
        assert f"Page {n} of {len(pages)}" in flat
        assert f"Form {form.form_id} · version 2026.11.1" in flat


def test_docx_uses_real_styles_lists_tables_and_page_fields(rendered):
    """Word headings, list numbering (no typed bullets), fee and screening tables, PAGE/NUMPAGES fields."""
    _, _, docx_bytes = rendered["knee-injection"]
    document = docx_document(docx_bytes)
    styles = {p.style.name for p in document.paragraphs}
    assert {"Heading 1", "Heading 2", "Heading 3", "List Bullet"} <= styles  # title, sections, sub-headings
    bullets = [p for p in document.paragraphs if p.style.name == "List Bullet"]
    assert bullets and not any(p.text.lstrip().startswith(("•", "-", "*")) for p in bullets)
    list_style = document.styles["List Bullet"]
    assert list_style.element.pPr.numPr is not None, "List Bullet must use Word numbering"
    texts = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "$1,850.00" in texts and "$3,700.00" in texts
    assert any(t.startswith("Are you pregnant") for t in texts)
    footer_xml = document.sections[0].footer._element.xml
    assert 'w:instr="PAGE"' in footer_xml and 'w:instr="NUMPAGES"' in footer_xml
    header = document.sections[0].header.paragraphs[0].text
    assert header == "Sunrise Regenerative Health\tJosé Núñez-Łukasiewicz · Date of birth March 14, 1958"


def test_fee_figures_are_the_clinics_own(rendered):
    """The costs section prints the clinic's price, session count and total, formatted as money."""
    form, pdf, docx_bytes = rendered["knee-injection"]
    flat = " ".join(pdf_body_words(form, pdf))
    assert "Price per session $1,850.00" in flat
    assert "Planned number of sessions 2" in flat
    assert "Estimated total for the planned sessions $3,700.00" in flat
    for seed_price in ("$2,000", "$10,000", "$300", "$800", "$75", "$400"):
        assert seed_price not in flat
        assert seed_price not in docx_all_text(docx_bytes)


@pytest.mark.parametrize(
    "name", ["José Núñez-Łukasiewicz", "Nguyễn Thị Minh Khai", "Zoë Ærøskøbing-Şahin"]
)
def test_non_ascii_names_come_out_right_in_both(name, clinic, render_both):
    """Names with accents, Polish and Vietnamese letters survive into both outputs exactly."""
    patient = consent.Patient(full_name=name, birth_date=dt.date(1970, 1, 2))
    form = consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    pdf, docx_bytes = render_both(form)
    assert all(name in " ".join(words(p)) for p in pdf_pages(pdf))
    assert name in docx_all_text(docx_bytes)


def test_pdf_embeds_the_shipped_fonts_only(rendered):
    """The PDF uses only the shipped font family (Noto Sans as "Consent Sans"), never a system fallback."""
    import pypdf

    _, pdf, _ = rendered["knee-injection"]
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts = set()

    def collect(resources):  # a page's fonts, and those of the form XObjects it draws
        resources = resources.get_object()
        for font in resources.get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
        for xobject in resources.get("/XObject", {}).values():
            if "/Resources" in xobject.get_object():
                collect(xobject.get_object()["/Resources"])

    for page in reader.pages:
        collect(page["/Resources"])
    assert fonts and all(f.startswith("Consent-Sans") for f in fonts), fonts


HOSTILE = "<b>x</b> A & B {{ 7*7 }} {% raw %} ]]> \"quoted\" 'single'"


def test_markup_and_template_syntax_in_inputs_print_literally(clinic, render_both):
    """HTML, XML and Jinja syntax in patient and clinic data is printed as typed, never interpreted."""
    patient = consent.Patient(full_name=HOSTILE, birth_date=dt.date(1970, 1, 2), mrn="<i>M&M</i>")
    hostile_clinic = make_clinic(name="Clinic {{ 7*7 }} & <script>alert(1)</script>", phone="{% raw %}")
    for c in (clinic, hostile_clinic):
        form = consent.build("knee-injection", patient=patient, clinic=c, date=DATE)
        pdf, docx_bytes = render_both(form)
        pdf_text = " ".join(words(" ".join(pdf_pages(pdf))))
        docx_text = " ".join(words(docx_all_text(docx_bytes)))
        for text in (HOSTILE, "<i>M&M</i>", c.name, c.phone):
            assert " ".join(words(text)) in pdf_text
            assert " ".join(words(text)) in docx_text
        assert "49" not in docx_text.replace(form.form_id, "")


def test_same_inputs_give_byte_identical_files(clinic, patient, tmp_path):
    """Two builds of the same form give the same bytes, the same form id and the same file names."""
    a = consent.build("iv-infusion", patient=patient, clinic=clinic, date=DATE)
    b = consent.build("iv-infusion", patient=patient, clinic=clinic, date=DATE)
    assert a.form_id == b.form_id
    assert a.to_pdf() == b.to_pdf()
    assert a.to_docx() == b.to_docx()
    first = a.write(tmp_path / "1")
    second = b.write(tmp_path / "2")
    assert [p.name for p in first] == [p.name for p in second]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    with zipfile.ZipFile(first[1]) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_form_id_changes_with_content(clinic, patient):
    """A different patient, date or treatment gives a different form id."""
    base = consent.build("hair", patient=patient, clinic=clinic, date=DATE).form_id
    other_date = consent.build("hair", patient=patient, clinic=clinic, date=DATE + dt.timedelta(days=1))
    other_treatment = consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)
    assert re.fullmatch(r"CF-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", base)
    assert len({base, other_date.form_id, other_treatment.form_id}) == 3


def test_manifest_is_in_the_api_and_both_files(rendered):
    """The clause ids and versions used are available from the API, the PDF metadata and the DOCX properties."""
    import json

    import pypdf

    form, pdf, docx_bytes = rendered["knee-injection"]
    manifest = form.manifest_dict()
    assert manifest["form_id"] == form.form_id
    version = consent.get_library().treatments["knee-injection"].version
    assert manifest["treatment"] == {"id": "knee-injection", "version": version}
    assert [c["id"] for c in manifest["clauses"]][:2] == ["key-information", "state-notice-ca"]
    assert all(c["version"] for c in manifest["clauses"])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert json.loads(reader.metadata["/consentmanifest"]) == manifest
    assert json.loads(reader.attachments["consent-manifest.json"][0]) == manifest
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as z:
        custom = z.read("docProps/custom.xml").decode()
    assert form.form_id in custom and "key-information" in custom
    assert docx_document(docx_bytes).core_properties.identifier == form.form_id


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is installed by ./dev test")
def test_docx_opens_in_libreoffice(rendered, tmp_path):
    """LibreOffice converts the DOCX to PDF: the XML is Word-compatible, and the text survives."""
    form, _, docx_bytes = rendered["iv-infusion"]
    src = tmp_path / "form.docx"
    src.write_bytes(docx_bytes)
    subprocess.run(
        ["libreoffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=180,
    )
    pages = pdf_pages((tmp_path / "form.pdf").read_bytes())
    assert len(pages) >= 4
    assert "José Núñez-Łukasiewicz" in " ".join(words(pages[0]))
    assert f"Page 1 of {len(pages)}" in " ".join(words(pages[0]))


def test_write_renders_everything_before_writing_anything(clinic, patient, tmp_path, monkeypatch):
    """If the second format fails to render, not even the first file is written."""
    form = consent.build("hair", patient=patient, clinic=clinic, date=DATE)

    def broken(*args, **kwargs):
        raise consent.RenderError("simulated failure")

    monkeypatch.setattr("consent.speedups.render.render_docx", broken)
    with pytest.raises(consent.RenderError, match="simulated failure"):
        form.write(tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_installed_package_is_used(tmp_path):
    """The tests run against the installed wheel: its clauses and templates come from site-packages."""
    from consent.library.loader import builtin_root

    root = builtin_root()
    assert "site-packages" in str(root)
    assert (root / "clauses" / "key-information.yaml").is_file()
    assert (root / "templates" / "form.docx").is_file()
    assert Path(consent.__file__).resolve().parent == root.resolve()


def _gray_pages(pdf: bytes, tmp_path: Path, name: str) -> list[bytes]:
    (tmp_path / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                   check=True, timeout=120)
    return [p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.pgm"))]


NAMED_PACK = {"clauses/benefits.yaml": """
    id: benefits
    version: "1.1-named"
    title: Possible benefits
    elements: [benefits]
    body:
      - p: We hope this treatment helps your knee feel better over the coming months, {{ patient.full_name }}.
      - strong: "{{ patient.full_name }}: we cannot promise that it will."
      - p: It may do nothing for you. Some people feel better and some do not.
"""}


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is installed by ./dev test")
@pytest.mark.parametrize(
    ("name", "mrn", "screening", "named"),
    [
        ("Ada O'Connor", "SRH-000101", None, False),
        ("Bo Li", None, {"pregnant": True, "bleeding": False, "knee-surgery": True, "allergy": False}, False),
        ("Chidinma Adaeze Okafor-Nwachukwu", "SRH-7", {"knee-skin": True}, False),  # two lines in the patient table
        ("Bo Li", "M-1", None, True),  # a clinic's clause prints the name: one line...
        ("Chidinma Adaeze Okafor-Nwachukwu", "M-2", {"allergy": True}, True),  # ...two lines
        # Long names: two lines in the page header (its boxes have set widths), four in the patient
        # table, two where the patient signs (slots made higher for this form's body)...
        ("María de los Ángeles Fernández-Gutiérrez y Rodríguez-Montenegro de la Vega", "SRH-1", None, False),
        # ...and with a clause that prints the name.
        ("Alexandrina Konstantinopoulou-Vasilakopoulou Papadimitriou", None, {"allergy": True}, True),
        # Long names in other scripts (issue 27, point 5; tests/test_scripts.py), drawn with the installed
        # Noto fonts: right-to-left, East Asian (the Japanese and Korean forms by kana and hangul), complex.
        ("عبد الرحمن بن محمد بن عبد الله الهاشمي القرشي", "SRH-21", None, False),
        ("יוסף בן אברהם הכהן רוזנבלום-שטרנברג", "SRH-22", None, True),
        ("欧阳明华 司马相如 诸葛孔明", "SRH-23", {"allergy": True}, False),
        ("山田 はなこ 佐藤 たろう", "SRH-24", None, True),
        ("남궁민수 황보영희 선우재덕", "SRH-25", None, False),
        ("राजेन्द्र प्रसाद श्रीवास्तव", "SRH-26", None, False),
        ("สมชาย ใจดี ศรีสุวรรณ", "SRH-27", None, True),
        ("Nguyễn Thị Minh Khai Trần Hưng Đạo", "SRH-28", None, False),
        ("ኃይለ ሥላሴ ተፈሪ መኮንን", "SRH-29", None, False),
    ],
)
def test_shared_layout_looks_the_same_as_a_whole_layout(name, mrn, screening, named, tmp_path):
    """The batch path (shared body + per-form layer: the patient's strings, a dash for no MRN, the
    ticked screening boxes, paragraphs that print the name) gives the same pages, pixel for pixel at
    40 dpi, as laying the form out whole; for a name in another script (drawn with an installed Noto font)
    the door lays the form out whole, and its pages are those too."""
    from consent.library.loader import template_folders
    from consent.pdf.glyphs import drawn_by_shipped_fonts
    from consent.pdf.html import form_html, layout, write_document
    from consent.speedups.layers import render_layered
    from consent.speedups.render import laid_out_pdf

    packs = [build_tree(tmp_path / "pack", NAMED_PACK)] if named else []
    patient = consent.Patient(full_name=name, birth_date=dt.date(1985, 12, 1), mrn=mrn)
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="CA"), date=DATE,
                         screening=screening, packs=packs, allow_check_errors=True)
    layered = render_layered(form)
    if drawn_by_shipped_fonts([name], template_folders(form.packs).template_roots):
        assert layered is not None
    else:  # drawn with an installed Noto font: the door lays it out whole, and so gives the same pages
        assert layered is None
        layered, how = laid_out_pdf(form)
        assert how == "whole"
    whole = write_document(layout(form_html(form), form.packs), form, None)
    a, b = _gray_pages(layered, tmp_path, "layered"), _gray_pages(whole, tmp_path, "whole")
    assert len(a) == len(b) >= 10
    for number, (page_a, page_b) in enumerate(zip(a, b, strict=True), 1):
        differing = sum(x != y for x, y in zip(page_a, page_b, strict=True))
        assert differing == 0, f"page {number}: {differing} pixels differ"


def test_forms_differing_in_mrn_and_screening_answers_share_one_layout(clinic):
    """Patient strings, a missing MRN and the screening answers do not change the shared work: one
    tokenised twin (one PDF body, one DOCX), and each form's DOCX is byte for byte what rendering it on
    its own gives (ticks in the right boxes, a dash for no MRN)."""
    from consent.docx.package import zip_parts
    from consent.docx.render import render_parts
    from consent.speedups.render import render_docx
    from consent.speedups.tokens import tokenise

    forms = [
        consent.build("knee-injection", clinic=clinic, date=DATE, screening=answers,
                      patient=consent.Patient(full_name=name, birth_date=dt.date(1980, 1, 1), mrn=mrn))
        for name, mrn, answers in (("Ada One", "M-1", {"pregnant": True}),
                                   ("Bo Two", None, {"allergy": False, "knee-skin": True}),
                                   ("Cy & <Three>", None, None))
    ]
    keys = {tokenise(form)[1] for form in forms}  # type: ignore[index]
    assert len(keys) == 1
    for form in forms:
        assert render_docx(form) == zip_parts(render_parts(form))


def test_long_names_share_the_layout(clinic):
    """Long names (wrapping in the page header, the patient table and the signature block) take the
    shared layout, in English and Spanish (whose header label is longer), in Latin and other scripts
    (Arabic, Chinese, Devanagari, Ethiopic: the installed Noto fonts): the page header's boxes have
    set widths, and a slot is made as high as the name needs. (Pixel equality with a whole layout:
    test_shared_layout_looks_the_same_as_a_whole_layout.)"""
    from consent.speedups.render import laid_out_pdf

    for name in ("María de los Ángeles Fernández-Gutiérrez y Rodríguez-Montenegro de la Vega",
                 "Alexandrina Konstantinopoulou-Vasilakopoulou Papadimitriou",
                 "Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Senior",
                 "Nguyễn Thị Minh Khai Trần Hưng Đạo Lê Thánh Tông",
                 "عبد الرحمن بن محمد بن عبد الله الهاشمي القرشي", "欧阳明华 司马相如 诸葛孔明",
                 "राजेन्द्र प्रसाद श्रीवास्तव", "ኃይለ ሥላሴ ተፈሪ መኮንን"):
        for language in ("en", "es"):
            patient = consent.Patient(full_name=name, birth_date=dt.date(1970, 1, 1), mrn="MRN-0012345")
            pdf, how = laid_out_pdf(consent.build("hair", patient=patient, clinic=clinic, date=DATE, language=language))
            # A name the shipped Noto Sans cannot draw is drawn with an installed Noto font, whose line
            # heights differ: such a form is laid out whole (consent/speedups/layers.py).
            other_script = name[0] in "ع欧रኃ"
            assert how == ("whole" if other_script else "shared"), (name, language)
            text = pdf_pages(pdf)[0]
            assert name in " ".join(words(text)) if "राजेन्द्र" not in name else "राजेन्द्र" in text


def test_forms_that_cannot_share_a_layout_are_laid_out_whole(clinic, tmp_path):
    """A name too long for any slot height the shared layout offers, or a list item that prints the
    patient's name, is laid out whole, and the name is printed in full."""
    from consent.speedups.layers import render_layered

    long_name = "María de los Ángeles Fernández Gutiérrez y Rodríguez Montenegro de la Vega " * 2
    patient = consent.Patient(full_name=long_name.strip(), birth_date=dt.date(1970, 1, 1))
    form = consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    assert render_layered(form) is None  # more than four lines in the patient table
    assert long_name.strip() in " ".join(words(pdf_pages(form.to_pdf())[0]))
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": """
        id: benefits
        version: "1.1-named"
        title: Possible benefits
        elements: [benefits]
        body:
          - ul: ["It may help you, {{ patient.full_name }}.", "We cannot promise that it will."]
    """})
    named = consent.build("hair", patient=consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1980, 1, 1)),
                          clinic=clinic, date=DATE, packs=[pack])
    assert render_layered(named) is None  # a list item is not a text slot (a paragraph is)
    assert "It may help you, Ada Lovelace." in " ".join(words(" ".join(pdf_pages(named.to_pdf()))))


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_signature_blocks_never_split_across_pages(rendered, treatment):
    """Each signature block (printed name ... time) is whole on one page: every page has as many
    'Printed name' lines as 'Time' lines, and all four parties are there."""
    form, pdf, _ = rendered[treatment]
    total = 0
    for page in pdf_pages(pdf):
        flat = " ".join(words(page))
        names, times = flat.count("Printed name"), len(re.findall(r"\bTime\b", flat))
        assert names == times, flat[-400:]
        total += names
    assert total == 4


def test_ticks_are_drawn_by_the_stacker_only_under_the_built_in_stylesheet(tmp_path):
    """A ticked box is filled by stack_pages (no layer page for a page of screening questions) only when the
    stylesheet is the built-in one, whose tick is a plain fill (the pixels are checked against a whole
    layout above); a clinic's own form.css may draw a tick otherwise, and its layer lays ticks out."""
    from consent.library.loader import get_library
    from consent.speedups.stack import tick_fill

    assert tick_fill(()) == b"0.113725 0.113725 0.121569 rg"  # #1d1d1f, the built-in rule
    css = get_library(()).template("form.css").read_text(encoding="utf-8")
    pack = build_tree(tmp_path / "pack", {"templates/form.css": css + "\n.box.checked::after { content: '✓'; }\n"})
    assert tick_fill((str(pack),)) is None


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_a_paragraph_that_introduces_a_table_is_on_its_page(rendered, treatment):
    """ "Here are our fees for your treatment plan." is never the last line of a page with its table on
    the next (PDF: on the page of the table's total; DOCX: keep with next), nor is the paragraph before
    the screening questions."""
    form, pdf, docx_bytes = rendered[treatment]
    leads = [(block, after) for section in form.sections
             for block, after in zip(section.blocks, section.blocks[1:])
             if isinstance(block, Paragraph) and isinstance(after, FeeTable | Checklist)]
    assert any(isinstance(after, FeeTable) for _, after in leads)
    pages = [" ".join(words(page)) for page in pdf_pages(pdf)]
    for block, after in leads:
        first_of_table = after.total[0] if isinstance(after, FeeTable) else after.rows[0].question
        on = [n for n, page in enumerate(pages) if " ".join(words(first_of_table)) in page]
        assert on and " ".join(words(block.text)) in pages[on[0]], (block.text, on)
    kept = {p.text: p.paragraph_format.keep_with_next for p in docx_document(docx_bytes).paragraphs}
    assert all(kept[block.text] for block, _ in leads)


# ------------------------------------------------------------------ the signature boxes (issue 26)


def _signature_block(form: consent.Form) -> tuple[str, Signatures]:
    """The paragraph just before the signature boxes, and the boxes."""
    for section in form.sections:
        for before, block in zip(section.blocks, section.blocks[1:]):
            if isinstance(block, Signatures):
                assert isinstance(before, Paragraph)
                return before.text, block
    raise AssertionError("no signatures")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("treatment", TREATMENTS)
def test_no_page_holds_a_signature_box_alone(treatment, language):
    """The Spanish IV form's last page held only the provider's box. For every treatment in English and
    Spanish, an adult and a minor (a guardian's box and the patient's assent), with and without a study
    clinic, in the PDF and the DOCX alike: the last box (the provider's) is on the page of the box before
    it, and the first box on the page of the paragraph before the boxes ("If you still have questions,
    do not sign yet ..."). The DOCX says so with keep-with-next (Word and LibreOffice lay it out)."""
    for study, born in ((None, dt.date(1970, 1, 1)), (make_study(), dt.date(1970, 1, 1)),
                        (None, dt.date(2016, 1, 1)), (make_study(), dt.date(2016, 1, 1))):
        clinic = make_clinic(study=study) if study else make_clinic()
        patient = consent.Patient(full_name="María Guadalupe Hernández", birth_date=born, mrn="MRN-1")
        form = consent.build(treatment, patient=patient, clinic=clinic, date=DATE, language=language)
        lead, block = _signature_block(form)
        lead = " ".join(words(lead))
        titles = [" ".join(words(p.title)) for p in block.parties]
        assert len(titles) >= 3 and (form.manifest.minor is not None) is (born.year == 2016)
        pages = [" ".join(words(p)) for p in pdf_pages(form.to_pdf())]
        [last] = [p for p in pages if titles[-1] in p]
        assert titles[-2] in last.split(titles[-1])[0], (study, born)  # the box before, above it
        [first] = [p for p in pages if lead in p]
        assert first.split(lead)[1].startswith(f" {titles[0]} "), (study, born)  # the first box, below it
        body = docx_document(form.to_docx()).element.body
        paragraphs = [(p, " ".join(words("".join(t.text or "" for t in p.iter(qn("w:t"))))))
                      for p in body.iter(qn("w:p"))]
        last_title = next(p for p, text in paragraphs if text == titles[-1])
        table = last_title.getprevious()
        assert table.tag == qn("w:tbl")
        last_row = table.findall(qn("w:tr"))[-1]
        assert all(p.find(f"{qn('w:pPr')}/{qn('w:keepNext')}") is not None for p in last_row.iter(qn("w:p")))
        lead_p = next(p for p, text in paragraphs if text == lead)
        assert lead_p.find(f"{qn('w:pPr')}/{qn('w:keepNext')}") is not None


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is installed by ./dev test")
def test_spanish_iv_docx_last_page_holds_more_than_the_provider_box_in_libreoffice(clinic, tmp_path):
    """The form of the report (Spanish IV infusion, the example clinic), opened in LibreOffice: its last
    page holds the witness's box as well as the provider's."""
    patient = consent.Patient(full_name="José Núñez-Łukasiewicz", birth_date=dt.date(1958, 3, 14))
    form = consent.build("iv-infusion", patient=patient, clinic=clinic, date=DATE, language="es")
    (tmp_path / "form.docx").write_bytes(form.to_docx())
    subprocess.run(["libreoffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(tmp_path / "form.docx")],
                   check=True, capture_output=True, timeout=180)
    last = " ".join(words(pdf_pages((tmp_path / "form.pdf").read_bytes())[-1]))
    assert "Proveedor que explicó este formulario" in last
    assert "Testigo" in last
