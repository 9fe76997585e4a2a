"""Build templates/form.docx, the Word template the DOCX renderer fills with docxtpl.

Run it after changing the layout: ``python tools/make_docx_template.py``. The output is committed;
a clinic may instead open templates/form.docx in Word, restyle it (letterhead, fonts, colours) and put
its copy in a pack's templates/ folder. Keep the Jinja tags ({{ ... }}, {{p body }}) as they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor

NAVY = RGBColor(0x1F, 0x4E, 0x79)
GREY = RGBColor(0x4A, 0x4F, 0x57)
DARK = RGBColor(0x12, 0x26, 0x3A)
FONT = "Arial"


def field(paragraph, instruction: str, half_points: int = 17) -> None:  # type: ignore[no-untyped-def]
    """Append a Word field (PAGE, NUMPAGES) whose result Word computes when it opens the file."""
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    for tag in ("w:sz", "w:szCs"):
        size = OxmlElement(tag)
        size.set(qn("w:val"), str(half_points))
        rpr.append(size)
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "4A4F57")
    rpr.append(color)
    run.append(rpr)
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def clear_style_tabs(paragraph) -> None:  # type: ignore[no-untyped-def]
    """Header and Footer styles bring centre and right tab stops; clear them so one tab reaches the margin."""
    style = paragraph.style
    while style is not None:
        for stop in style.paragraph_format.tab_stops:
            paragraph.paragraph_format.tab_stops.add_tab_stop(stop.position, WD_TAB_ALIGNMENT.CLEAR)
        style = style.base_style


def bottom_border(paragraph, size: int = 6, color: str = "9AA3AD") -> None:  # type: ignore[no-untyped-def]
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", "1"), ("w:color", color)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)


def caption(table, text: str) -> None:  # type: ignore[no-untyped-def]
    """The table's title for assistive technology (``w:tblCaption``; Word: Table Properties, Alt Text)."""
    el = OxmlElement("w:tblCaption")
    el.set(qn("w:val"), text)
    table._tbl.tblPr.append(el)


def style_document(doc) -> None:  # type: ignore[no-untyped-def]
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    # Real Word headings, with their outline levels (screen readers, the navigation pane and a tagged PDF
    # find them): the form's title is Heading 1 (in the look of a title), each section's title Heading 2,
    # a sub-heading in a section Heading 3. Title keeps its look for a clinic's copy that still uses it.
    for name, size, color in (("Title", 18, DARK), ("Heading 1", 18, DARK), ("Heading 2", 14, NAVY),
                              ("Heading 3", 12, NAVY)):
        st = styles[name]
        st.font.name = FONT
        st.font.size = Pt(size)
        st.font.bold = True
        st.font.color.rgb = color
        st.element.rPr.rFonts.set(qn("w:asciiTheme"), "")  # use the explicit font, not the theme's
        st.paragraph_format.keep_with_next = True
        st.paragraph_format.space_before = Pt(14 if size < 18 else 0)
        st.paragraph_format.space_after = Pt(6)
    styles["Heading 1"].paragraph_format.line_spacing = 1.0  # as Title's
    title = styles["Title"]
    ppr = title.element.get_or_add_pPr()
    for old in ppr.findall(qn("w:pBdr")):
        ppr.remove(old)
    # The label cells of the tables that pair a label with a value (the patient's details, the product, the
    # signature and initials lines): LibreOffice exports a cell in this style as a header cell (/TH) of a
    # tagged PDF. It looks like Normal.
    table_heading = styles.add_style("Table Heading", WD_STYLE_TYPE.PARAGRAPH)
    table_heading.base_style = normal
    table_heading.quick_style = False
    for name in ("List Bullet", "List Bullet 2"):
        styles[name].font.name = FONT
        styles[name].paragraph_format.space_after = Pt(3)


def build(out: Path) -> None:
    doc = Document()
    style_document(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.left_margin = section.right_margin = Inches(0.8)
    section.top_margin, section.bottom_margin = Inches(0.95), Inches(0.85)
    section.header_distance = section.footer_distance = Inches(0.4)

    usable = section.page_width - section.left_margin - section.right_margin
    header = section.header.paragraphs[0]
    clear_style_tabs(header)
    header.paragraph_format.tab_stops.add_tab_stop(usable, WD_TAB_ALIGNMENT.RIGHT)
    run = header.add_run("{{ clinic_name }}")
    run.bold = True
    # The page header's short birth-date label: the header is one line for all but very long names.
    header.add_run("\t{{ patient_name }} · {{ L.header_date_of_birth }} {{ birth_date }}")
    for r in header.runs:
        r.font.size = Pt(8.5)
        r.font.color.rgb = GREY
    bottom_border(header)

    footer = section.footer.paragraphs[0]
    clear_style_tabs(footer)
    footer.paragraph_format.tab_stops.add_tab_stop(usable, WD_TAB_ALIGNMENT.RIGHT)
    footer.add_run("{{ L.form_id }} {{ form_id }} · {{ L.version }} {{ template_version }}\t{{ L.page }} ")
    field(footer, "PAGE")
    footer.add_run(" {{ L.page_of }} ")
    field(footer, "NUMPAGES")
    for r in footer.runs:
        r.font.size = Pt(8.5)
        r.font.color.rgb = GREY

    # Letterhead: a clinic replaces these two lines (or adds a logo) in Word.
    name = doc.add_paragraph()
    name_run = name.add_run("{{ clinic_name }}")
    name_run.bold = True
    name_run.font.size = Pt(15)
    name_run.font.color.rgb = NAVY
    name.paragraph_format.space_after = Pt(0)
    contact = doc.add_paragraph()
    contact_run = contact.add_run("{{ clinic_address }} · {{ clinic_phone }}")
    contact_run.font.size = Pt(9.5)
    contact_run.font.color.rgb = GREY
    bottom_border(contact, size=16, color="1F4E79")

    doc.add_paragraph("{{ title }}", style="Heading 1")

    # The patient's details: label and value pairs, the labels in the Table Heading style (header cells).
    table = doc.add_table(rows=2, cols=4)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table_heading_style = doc.styles["Table Heading"]
    cells = [
        ("{{ L.patient }}", "{{ patient_name }}", "{{ L.date_of_birth }}", "{{ birth_date }}"),
        ("{{ L.form_date }}", "{{ form_date }}", "{{ L.mrn }}", "{{ mrn }}"),
    ]
    for row, values in zip(table.rows, cells, strict=True):
        for i, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            p = cell.paragraphs[0]
            if i % 2 == 0:
                p.style = table_heading_style
            r = p.add_run(value)
            r.font.size = Pt(10.5)
            r.bold = i % 2 == 0
            if i % 2 == 0:
                r.font.color.rgb = GREY

    table.autofit = False
    for column, width in zip(table.columns, (1.35, 2.2, 1.35, 2.0), strict=True):
        column.width = Inches(width)
        for cell in column.cells:
            cell.width = Inches(width)
    caption(table, "{{ L.patient }}")

    intro = doc.add_paragraph()
    intro.paragraph_format.space_before = Pt(8)
    intro.add_run("{{ L.intro }}").italic = True
    doc.add_paragraph("{{p body }}")

    core = doc.core_properties
    core.title = "consent form template"
    core.author = "consent"
    core.comments = "Template for consent forms. Keep the Jinja tags in the body, header and footer."
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "templates" / "form.docx"
    build(target)
    print(target)
