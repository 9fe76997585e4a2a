"""Render stage, DOCX: the document model -> Word, through docxtpl and the template templates/form.docx.

The template holds the letterhead, header and footer (with PAGE / NUMPAGES fields) and the title
block; the body is built from the same document model as the PDF with python-docx, using the
template's real heading and list styles. The result is byte-for-byte reproducible: fixed document
dates and fixed zip entry times.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
import zipfile
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Inches, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph
from docxcompose.properties import CustomProperties
from docxtpl import DocxTemplate

from .._esign import check_esign, tag
from .._form_data import DOCX_PROPERTY, form_data_json
from .._jinja_data import markup, template_data
from .._scripts import (
    EAST_ASIAN,
    LATIN_SLOT_FAMILIES,
    any_other_script,
    cjk_family,
    complex_script,
    east_asian,
    script_lang,
    text_direction,
)
from .._text import NoFiles, Sandbox, TemplateUndefined, long_date, run_template
from .._version import __version__
from ..document import (
    LARGE_PRINT_PT,
    BulletList,
    Checklist,
    FeeTable,
    Form,
    Heading,
    Notice,
    Paragraph,
    ProductTable,
    Section,
    Signatures,
    printed,
)
from ..errors import RenderError
from ..library.loader import template_folders
from .package import zip_parts
from .template_check import check_template

BOX_EMPTY, BOX_CHECKED = "☐", "☒"
GREY = RGBColor(0x4A, 0x4F, 0x57)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)


@functools.lru_cache(maxsize=8)
def template_bytes(packs: tuple[str, ...]) -> bytes:
    path = template_folders(packs).template("form.docx")
    data = path.read_bytes()
    check_template(data, path)  # no external links or file-reading fields in a clinic's template
    return data


def _env() -> Sandbox:
    return Sandbox(undefined=TemplateUndefined, autoescape=True, loader=NoFiles("a Word template"))


def _shade(cell: Any, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _box(paragraph: Any) -> None:
    """A full border around one paragraph (state notices)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        for key, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "4"), ("w:color", "12263A")):
            edge.set(qn(key), value)
        borders.append(edge)
    ppr.append(borders)


def _cant_split(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    trpr.append(el)


def _header_row(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))


def _caption(table: Any, caption: str, description: str | None = None) -> None:
    """The table's title (and description) for assistive technology: ``w:tblCaption`` and
    ``w:tblDescription``, last in the table's properties (put in after everything else is set)."""
    tblpr = table._tbl.tblPr
    for name, value in (("tblCaption", caption), ("tblDescription", description)):
        if value:
            el = OxmlElement(f"w:{name}")
            el.set(qn("w:val"), value)
            tblpr.append(el)


def language_tag(language: str) -> str:
    """The tag Word gives a language (``w:lang``): the form's language in the United States (en-US,
    es-US), where the forms are used; a tag with a region stays as it is."""
    return language if "-" in language else f"{language}-US"


def _cell_text(cell: Any, text: str, *, bold: bool = False, align: Any = None, size: float = 10.5,
               style: str | None = None) -> None:
    p = cell.paragraphs[0]
    if style is not None:  # a style id (see _BodyWriter._style_id)
        p._p.style = style
    run = p.add_run(text)
    run.bold = bold
    run.font.size = Pt(size)
    if align is not None:
        p.alignment = align


class _BodyWriter:
    def __init__(self, doc: Any, labels: Any, esign: str | None = None, initials_by: str = "patient",
                 language: str = "en") -> None:
        self.doc = doc
        self.language = language  # the form's: a notice in another language has its runs marked
        self.section_title = ""
        self.space_next = False  # set by a table: the next paragraph keeps a space from it
        self.initials_by = initials_by  # whose the initials are (a minor's form: the parent's or guardian's)
        self.style_ids: dict[str, str | None] = {}
        self.labels = labels
        self.page_break_next = False  # set by a notice that must have its page to itself
        self.esign = esign  # e-signature tags at the signature, date and initials lines, if asked for
        self.tags = 0

    def _tag(self, paragraph: Any, name: str, *, underline: bool = False) -> None:
        """The e-signature tag of field ``name``, as a white run (1 pt for a DocuSign anchor; for
        Acrobat Sign, whose field is the tag's size, 7 pt), numbered as in the PDF."""
        text = tag(name, self.esign, self.tags + 1, initials_by=self.initials_by) if self.esign else None
        if text is None:
            return
        self.tags += 1
        run = paragraph.add_run(text)
        run.font.color.rgb = WHITE
        run.font.size = Pt(1 if self.esign == "docusign" else 7)
        if underline:  # the line written on, in the line's colour (a white run would underline in white)
            run.underline = True
            run._r.get_or_add_rPr().find(qn("w:u")).set(qn("w:color"), "000000")

    def _style_id(self, name: str) -> str | None:
        """The id of the template's style ``name``, looked up once per document: python-docx's own
        ``paragraph.style = name`` reads every style of styles.xml on each call (to compare with the
        default style, which none of these is), a third of the time of a DOCX."""
        if name not in self.style_ids:
            try:
                style = self.doc.styles[name]
            except KeyError:
                if name != TABLE_HEADING:
                    raise RenderError(f"form.docx: the template has no style {name!r}, which the form's DOCX "
                                      "uses; add it in Word (or start from the built-in form.docx)") from None
                style = self.doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)  # a clinic's older copy
                style.base_style = self.doc.styles.default(WD_STYLE_TYPE.PARAGRAPH)
            # python-docx names no style for the default one (a clinic's form.docx may make it so)
            self.style_ids[name] = None if style == self.doc.styles.default(style.type) else style.style_id
        return self.style_ids[name]

    def _styled_paragraph(self, text: str, style: str) -> Any:
        """``doc.add_paragraph(text, style=style)``, giving the same XML."""
        paragraph = self.doc.add_paragraph(text)
        paragraph._p.style = self._style_id(style)
        return paragraph

    def _then(self, write: Any, *args: Any) -> None:
        """Write something; if the last thing written must end its page, start this on a new page; if it
        follows a table that keeps a space after it, give its first paragraph that space (never an
        empty paragraph, which a screen reader reads out as "blank")."""
        pending, self.page_break_next = self.page_break_next, False
        spaced, self.space_next = self.space_next, False
        body = self.doc.element.body
        before = list(body.iterchildren())
        write(*args)
        first = next((el for el in body.iterchildren() if el not in before), None)
        if first is None:
            self.page_break_next, self.space_next = pending, spaced  # nothing written: still to come
            return
        if spaced:
            if first.tag == qn("w:p"):
                self._space_before(DocxParagraph(first, self.doc), _TABLE_SPACE)
            else:  # a table right after a table: Word joins two tables with nothing between them
                first.addprevious(self.doc.add_paragraph()._p)
        if pending:
            p = first if first.tag == qn("w:p") else next(first.iter(qn("w:p")), None)
            if p is not None:
                DocxParagraph(p, self.doc).paragraph_format.page_break_before = True

    def _space_before(self, paragraph: Any, extra: Any) -> None:
        """``extra`` more space before ``paragraph`` than it has (its own, or its style's)."""
        own = paragraph.paragraph_format.space_before
        if own is None:
            style = self.doc.styles.get_by_id(paragraph._p.style, WD_STYLE_TYPE.PARAGRAPH) \
                if paragraph._p.style else None
            while style is not None and own is None:
                own = style.paragraph_format.space_before
                style = style.base_style
        paragraph.paragraph_format.space_before = Emu((own or 0) + extra)

    def section(self, section: Section) -> None:
        self.section_title = section.title
        self._then(self._styled_paragraph, section.title, "Heading 2")
        if section.kind == "language-assistance":  # the page of taglines has a page of its own, as in the PDF
            self.doc.paragraphs[-1].paragraph_format.page_break_before = True
        for block, after in zip(section.blocks, (*section.blocks[1:], None)):
            self._then(getattr(self, f"_{block.kind}"), block)
            if block.kind == "paragraph" and after is not None and after.kind in _KEPT_WITH_LEAD_IN:
                # It introduces the table ("Here are our fees ...") or the signatures: on their page, as in
                # the PDF.
                self.doc.paragraphs[-1].paragraph_format.keep_with_next = True
        if section.initials:  # on the page of what it follows, even a notice that ends its page
            pending, self.page_break_next = self.page_break_next, False
            self._then(self._initials, section)
            self.page_break_next = pending

    def _initials(self, section: Section) -> None:
        """The initials line at the right: a label and a ruled cell to write in, as a signature's line
        (a table, not a tab drawn as a line)."""
        table = self.doc.add_table(rows=1, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.RIGHT
        row = table.rows[0]
        _cant_split(row)
        label_cell, value_cell = row.cells
        _cell_text(label_cell, self.labels["initials"], size=10, align=WD_ALIGN_PARAGRAPH.RIGHT,
                   style=self._style_id(TABLE_HEADING))
        self._tag(value_cell.paragraphs[0], f"initials.{section.clause_id}")  # else a blank to write in
        for cell in (label_cell, value_cell):
            cell.vertical_alignment = 3  # bottom
        _bottom_rule(value_cell)
        _column_widths(table, (Inches(1.6), Inches(1.1)))
        _caption(table, self.labels["initials"])

    def _paragraph(self, block: Paragraph) -> None:
        p = self.doc.add_paragraph()
        run = p.add_run(block.text)
        run.bold = block.style == "strong"
        if block.lang:
            _language_run(p, run, block.lang, block.text)

    def _heading(self, block: Heading) -> None:
        self._styled_paragraph(block.text, "Heading 3")

    def _list(self, block: BulletList) -> None:
        for item in block.items:
            self._styled_paragraph(item, "List Bullet")

    def _notice(self, block: Notice) -> None:
        """A boxed notice. A state notice names its law after it ("Law:" for the law's own words, a
        summary label for a paraphrase), in the type size of the document model (as the PDF). One that
        must stand on its own page is preceded by its law and a note, and has the page to itself."""
        law = self.labels["notice_paraphrase" if block.wording == "paraphrase" else "notice_citation"]
        if block.own_page:
            if block.citation:
                self._citation(f"{law} {block.citation}")
            self.doc.add_paragraph().add_run(self.labels["notice_own_page"]).italic = True
        p = self.doc.add_paragraph()
        run = p.add_run(block.text)
        if block.language is not None and block.language != self.language:
            # The law's English words on a form in another language: read out as English.
            _property(run._r.get_or_add_rPr(), "lang").set(qn("w:val"), language_tag(block.language))
        if block.type_pt:
            run.font.size = Pt(block.type_pt)
        p.paragraph_format.keep_together = True
        if block.own_page:  # the page is the notice: no box, plain weight, lines 1.08 times the type size
            p.paragraph_format.page_break_before = True
            p.paragraph_format.line_spacing = Pt(round((block.type_pt or 11) * 1.08, 1))
            p.paragraph_format.space_after = Pt(0)
            self.page_break_next = True
            return
        run.bold = True
        _box(p)
        if block.citation:
            self._citation(f"{law} {block.citation}")

    def _citation(self, text: str) -> None:
        c = self.doc.add_paragraph()
        r = c.add_run(text)
        r.font.size = Pt(9.5)
        r.font.color.rgb = GREY

    def _checklist(self, block: Checklist) -> None:
        table = self.doc.add_table(rows=1, cols=3)
        table._tbl.tblStyle_val = self._style_id("Table Grid")
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        head = table.rows[0]
        _header_row(head)
        for cell, text in zip(head.cells, (block.header, block.yes, block.no), strict=True):
            _cell_text(cell, text, bold=True, align=None if text == block.header else WD_ALIGN_PARAGRAPH.CENTER)
            _shade(cell, "E3E8EE")
        for row in block.rows:
            cells = table.add_row().cells
            _cell_text(cells[0], row.question)
            _cell_text(cells[1], BOX_CHECKED if row.answer is True else BOX_EMPTY, align=WD_ALIGN_PARAGRAPH.CENTER)
            _cell_text(cells[2], BOX_CHECKED if row.answer is False else BOX_EMPTY, align=WD_ALIGN_PARAGRAPH.CENTER)
        for row in table.rows:
            _cant_split(row)
        _column_widths(table, (Inches(5.5), Inches(0.7), Inches(0.7)))
        _caption(table, self.section_title, block.header)
        self.space_next = True

    def _fees(self, block: FeeTable) -> None:
        table = self.doc.add_table(rows=1, cols=2)
        table._tbl.tblStyle_val = self._style_id("Table Grid")
        head = table.rows[0]
        _header_row(head)
        _cell_text(head.cells[0], block.item_header, bold=True)
        _cell_text(head.cells[1], block.amount_header, bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT)
        for cell in head.cells:
            _shade(cell, "E3E8EE")
        for label, value in (*block.rows, block.total):
            cells = table.add_row().cells
            bold = (label, value) == block.total
            _cell_text(cells[0], label, bold=bold)
            _cell_text(cells[1], value, bold=bold, align=WD_ALIGN_PARAGRAPH.RIGHT)
        for row in table.rows:
            _cant_split(row)
        _column_widths(table, (Inches(4.6), Inches(2.3)))
        _caption(table, self.section_title)
        for label, items in ((block.included_label, block.included), (block.excluded_label, block.excluded)):
            p = self.doc.add_paragraph()
            p.paragraph_format.space_before = Pt(6)
            p.paragraph_format.keep_with_next = True
            p.add_run(label).bold = True
            if items:
                for item in items:
                    self._styled_paragraph(item, "List Bullet")
            else:
                self.doc.add_paragraph(self.labels["fee_none"])

    def _product(self, block: ProductTable) -> None:
        table = self.doc.add_table(rows=0, cols=2)
        table._tbl.tblStyle_val = self._style_id("Table Grid")
        for row in block.rows:
            cells = table.add_row().cells
            _cell_text(cells[0], row.label, bold=True, style=self._style_id(TABLE_HEADING))
            _shade(cells[0], "E3E8EE")
            if row.note:
                note = cells[0].add_paragraph().add_run(row.note)
                note.font.size = Pt(9.5)
                note.font.color.rgb = GREY
            _cell_text(cells[1], row.value)  # empty: the box is written in by hand
        for row in table.rows:
            _cant_split(row)
        _column_widths(table, (Inches(2.5), Inches(4.4)))
        _caption(table, self.section_title)
        self.space_next = True

    def _signatures(self, block: Signatures) -> None:
        """Each party's box: a title, an optional note and a table of lines, kept on one page. The last box
        keeps with the one before it: never a box alone on the last page (the DOCX's boxes are taller
        than the PDF's, and all of them with the paragraph before them may not fit one page)."""
        for n, party in enumerate(block.parties, 1):
            title = self.doc.add_paragraph()
            title.paragraph_format.space_before = Pt(12)
            title.paragraph_format.keep_with_next = True
            title.add_run(party.title).bold = True
            if party.note:
                note = self.doc.add_paragraph()
                note.paragraph_format.keep_with_next = True
                r = note.add_run(party.note)
                r.italic = True
                r.font.size = Pt(9.5)
            table = self.doc.add_table(rows=0, cols=2)
            tagged = {self.labels.get("sig_signature"): "signature", self.labels.get("sig_date"): "date"}
            for i, (label, value) in enumerate(party.fields):
                row = table.add_row()
                _cant_split(row)
                row.height = Inches(0.38)
                label_cell, value_cell = row.cells
                _cell_text(label_cell, label, size=10, style=self._style_id(TABLE_HEADING))
                _cell_text(value_cell, value, size=11)
                if label in tagged:
                    self._tag(value_cell.paragraphs[0], f"{party.role}.{tagged[label]}")
                for cell in (label_cell, value_cell):
                    cell.vertical_alignment = 3  # bottom
                    if i < len(party.fields) - 1 or n == len(block.parties) - 1:
                        cell.paragraphs[0].paragraph_format.keep_with_next = True
                _bottom_rule(value_cell)
            _column_widths(table, (Inches(1.9), Inches(5.0)))
            _caption(table, party.title, party.note)


_KEPT_WITH_LEAD_IN = ("fees", "checklist", "signatures")  # blocks the paragraph before them stays with
# The label cells of the tables of labels and values (the product, the signature and initials lines; the
# patient's details in form.docx): LibreOffice exports a cell in this paragraph style as a header cell
# (/TH) of a tagged PDF; in the built-in form.docx it looks like Normal.
TABLE_HEADING = "Table Heading"
_TABLE_SPACE = Pt(12)  # between a table and what follows it


def _column_widths(table: Any, widths: tuple[Any, ...]) -> None:
    """Fixed column widths (grid and every cell), so Word and LibreOffice lay the table out alike."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def _bottom_rule(cell: Any) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:color", "1D1D1F")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    tcpr.append(borders)


_CUSTOM = "docProps/custom.xml"
_FORM_DATA_SLOT = b"consent-form-data-goes-here"


def with_form_data(parts: dict[str, bytes], form: Form, esign: str | None) -> dict[str, bytes]:
    """The parts with this form's data (see consent._form_data) in the custom property ``consent.form``,
    and the fonts of text in other scripts named (:func:`with_scripts`): put in last, as the twin
    rendered for a batch holds only tokens."""
    if _FORM_DATA_SLOT not in parts[_CUSTOM]:
        raise RenderError("form.docx: no place for the form's data in docProps/custom.xml")
    data = xml_escape(form_data_json(form, __version__, {"esign": esign})).encode()
    return with_scripts({**parts, _CUSTOM: parts[_CUSTOM].replace(_FORM_DATA_SLOT, data, 1)})


_TEXT_PARTS = re.compile(r"word/(document|header\d*|footer\d*)\.xml")
# The order of a run's properties (ECMA-376 Part 1, CT_RPr): Word refuses a file with them out of order.
_RPR_ORDER = ("rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
              "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing",
              "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText",
              "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath")


def with_scripts(parts: dict[str, bytes]) -> dict[str, bytes]:
    """The parts with each run of text in an East Asian or complex script (a patient's name in
    Chinese, Arabic, Thai ...) given a Noto font that has it and its language (``w:rFonts``
    ``w:eastAsia`` / ``w:cs``, ``w:lang``), its complex-script size and weight as the run's own, and
    ``w:rtl`` when the run is right-to-left words only. Word and LibreOffice draw such characters with
    the run's East Asian or complex-script font, which the template leaves to Arial. Parts with no such
    text keep their bytes; the same parts give the same bytes (the DOCX of a batch's twin and of a form
    on its own agree)."""
    from lxml import etree

    out = dict(parts)
    for name, data in parts.items():
        if not _TEXT_PARTS.fullmatch(name) or not any_other_script(data.decode("utf-8")):
            continue
        root = etree.fromstring(data)
        for run in root.iter(qn("w:r")):
            text = "".join(t.text or "" for t in run.iter(qn("w:t")))
            if any_other_script(text):
                _script_run(run, text)
        out[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return out


def _script_run(run: Any, text: str) -> None:
    from lxml import etree

    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        rpr = etree.SubElement(run, qn("w:rPr"))
        run.insert(0, rpr)
    fonts, langs = _property(rpr, "rFonts"), _property(rpr, "lang")
    if east_asian(text):
        family, tag = EAST_ASIAN[script_lang(text)]
        given = langs.get(qn("w:eastAsia"))  # a paragraph whose language is given keeps it (and its font)
        fonts.set(qn("w:eastAsia"), family if given is None else cjk_family(given))
        langs.set(qn("w:eastAsia"), tag if given is None else given)
    script = complex_script(text)
    if script is not None:
        _, family, tag, rtl = script
        fonts.set(qn("w:cs"), family)
        if langs.get(qn("w:bidi")) is None:
            langs.set(qn("w:bidi"), tag)
        for latin, cs in (("sz", "szCs"), ("b", "bCs"), ("i", "iCs")):
            own = rpr.find(qn(f"w:{latin}"))
            if own is not None and rpr.find(qn(f"w:{cs}")) is None:
                _property(rpr, cs).attrib.update(own.attrib)
        if rtl and not any(ch.isalpha() and complex_script(ch) is None for ch in text):
            _property(rpr, "rtl")


def _language_run(paragraph: Any, run: Any, tag: str, text: str) -> None:
    """A paragraph in another language than the form's (a language-assistance tagline): its run's
    ``w:lang`` names it (``w:val``; ``w:eastAsia`` for Han, kana or hangul; ``w:bidi`` for a complex or
    right-to-left script, with the paragraph's ``w:bidi`` for the latter), so a reader reads it in its
    language; :func:`with_scripts` then names the font of its script (and keeps this language)."""
    rpr = run._r.get_or_add_rPr()
    langs = _property(rpr, "lang")
    langs.set(qn("w:val"), tag)
    if east_asian(text):
        langs.set(qn("w:eastAsia"), tag)
    if complex_script(text) is not None or text_direction(tag) == "rtl":
        langs.set(qn("w:bidi"), tag)
    if text_direction(tag) == "rtl":
        paragraph._p.get_or_add_pPr().insert_element_before(
            OxmlElement("w:bidi"), *_PPR_AFTER_BIDI)
    family = LATIN_SLOT_FAMILIES.get(tag.split("-")[0])
    if family is not None:
        fonts = _property(rpr, "rFonts")
        fonts.set(qn("w:ascii"), family)
        fonts.set(qn("w:hAnsi"), family)


# What follows w:bidi in a paragraph's properties (ECMA-376 Part 1, CT_PPrBase), where it must go before.
_PPR_AFTER_BIDI = ("w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                   "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                   "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
                   "w:pPrChange")


def _property(rpr: Any, name: str) -> Any:
    """The run property ``w:<name>``, made in its place when the run has none."""
    from lxml import etree

    found = rpr.find(qn(f"w:{name}"))
    if found is not None:
        return found
    made = etree.SubElement(rpr, qn(f"w:{name}"))
    rank = _RPR_ORDER.index(name)
    for i, child in enumerate(rpr):
        tag = etree.QName(child).localname
        if child is not made and tag in _RPR_ORDER and _RPR_ORDER.index(tag) > rank:
            rpr.insert(i, made)
            break
    return made


def render_parts(form: Form, esign: str | None = None) -> dict[str, bytes]:
    """The parts of the form's DOCX package, by name, in package order, rendered on their own."""
    return with_form_data(template_parts(form, esign), form, esign)


def template_parts(form: Form, esign: str | None = None) -> dict[str, bytes]:
    """Render the form with docxtpl: the parts of the DOCX package, by name, in package order, with a
    slot for the form's data (see with_form_data)."""
    tpl = DocxTemplate(io.BytesIO(template_bytes(form.packs)))
    body = tpl.new_subdoc()
    initials_by = "patient" if form.manifest.minor is None else "representative"
    writer = _BodyWriter(body, form.labels, esign, initials_by, form.language)
    for section in printed(form).sections:  # in large print, the notices' type sizes
        writer.section(section)
    h = form.header
    # Data only: the body goes in as its finished XML, never as docxtpl's Subdoc, whose document a
    # template could save anywhere (``body.subdocx.save(...)``; see consent/_jinja_data.py).
    context = {
        "L": template_data(form.labels),
        "title": form.title,
        "clinic_name": h.clinic_name,
        "clinic_address": h.clinic_address,
        "clinic_phone": h.clinic_phone,
        "patient_name": h.patient_name,
        "birth_date": h.birth_date,
        "mrn": h.mrn or "—",
        "form_date": long_date(form.date, form.locale),
        "form_id": form.form_id,
        "template_version": form.manifest.template_version,
        "body": markup(str(body)),  # the subdocument's XML, as docxtpl would print the Subdoc
    }
    run_template(lambda: tpl.render(context, jinja_env=_env(), autoescape=True), "form.docx")
    stamp = dt.datetime.combine(form.date, dt.time(0, 0))
    core = tpl.docx.core_properties
    core.title = form.title
    core.author = h.clinic_name
    core.last_modified_by = h.clinic_name
    core.subject = form.manifest.treatment_id
    core.identifier = form.form_id
    core.version = form.manifest.template_version
    core.keywords = f"consent; {form.form_id}; {form.manifest.treatment_id}"
    core.comments = "Informed consent form. Clause manifest: custom property consent.manifest."
    core.language = language_tag(form.language)
    core.category = "Informed consent"
    core.created = core.modified = stamp
    core.revision = 1
    _default_language(tpl.docx, language_tag(form.language))
    custom = CustomProperties(tpl.docx)
    custom["consent.form_id"] = form.form_id
    custom["consent.manifest"] = json.dumps(form.manifest_dict(), ensure_ascii=False, sort_keys=True)
    custom[DOCX_PROPERTY] = _FORM_DATA_SLOT.decode()  # this form's own data goes in after (see with_form_data)
    _without_thumbnail(tpl.docx.part.package)
    if form.large_print:
        _large_print(tpl.docx)
    buffer = io.BytesIO()
    tpl.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        return {info.filename: package.read(info.filename) for info in package.infolist()}


def _default_language(document: Any, tag: str) -> None:
    """The document's language (``w:lang`` of the defaults in styles.xml): what Word's proofing and a
    screen reader take the text to be, and the language of the PDF LibreOffice makes from it. The
    defaults' East Asian and complex-script languages stay as the template has them."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    _property(rpr, "lang").set(qn("w:val"), tag)


# A large-print form's styles (points): body text LARGE_PRINT_PT, headings larger; None keeps the style's size
# (raised to the body's if smaller). Lines 1.4 times the type size (Word's "multiple"), more space between.
_LARGE_STYLES = {"Normal": 18.0, "Title": 28.0, "Heading 1": 24.0, "Heading 2": 21.0, "Heading 3": 20.0,
                 "List Bullet": None, "Header": None, "Footer": None}
_HALF_POINTS = int(LARGE_PRINT_PT * 2)


def _large_print(doc: Any) -> None:
    """Large print (:attr:`Form.large_print`): the template's styles scaled (body LARGE_PRINT_PT, headings
    larger, wider line spacing), and every type size written in the document, its headers, footers and
    styles raised to LARGE_PRINT_PT at least, but the e-signature tags' (white, the size the service reads:
    see :meth:`_BodyWriter._tag`). A state notice keeps its larger size (Utah's 40 points). The page stays
    letter with the template's margins; the tables keep their widths."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    for name, size in _LARGE_STYLES.items():
        try:
            style = doc.styles[name]
        except KeyError:  # a clinic's form.docx without it
            continue
        if size is not None:
            style.font.size = Pt(size)
        style.paragraph_format.line_spacing = 1.4 if name != "Title" else 1.15
        if name in ("Normal", "List Bullet"):
            style.paragraph_format.space_after = Pt(10)
    roots = [doc.element, doc.styles.element]
    roots += [rel.target_part.element for rel in doc.part.rels.values()
              if rel.reltype in (RT.HEADER, RT.FOOTER) and not rel.is_external]
    for root in roots:
        for size in (*root.iter(qn("w:sz")), *root.iter(qn("w:szCs"))):
            color = size.getparent().find(qn("w:color"))
            if color is not None and color.get(qn("w:val"), "").upper() == "FFFFFF":
                continue  # an e-signature tag
            if int(size.get(qn("w:val"), "0")) < _HALF_POINTS:
                size.set(qn("w:val"), str(_HALF_POINTS))


def _without_thumbnail(package: Any) -> None:
    """No preview picture (``docProps/thumbnail.*``). The one in the built-in form.docx is the empty page
    of python-docx's default document, and a clinic's form.docx, saved by Word, carries a picture of its
    letterhead at best: never this form. A true preview would mean laying out each DOCX as Word would
    (LibreOffice, seconds a form) and printing the patient's name once more, in a picture. Without the
    part, Windows Explorer, macOS Quick Look and the document systems draw their own preview from the
    document. Its package relationship goes; python-docx then writes neither the part nor its content
    type (it writes the parts that are related, and a content type for each of those)."""
    from docx.opc.constants import RELATIONSHIP_TYPE

    for rid, rel in list(package.rels.items()):
        if rel.reltype == RELATIONSHIP_TYPE.THUMBNAIL:
            del package.rels[rid]


def docx_bytes(form: Form, *, esign: str | None = None) -> bytes:
    """The DOCX of ``form``, rendered on its own: the plain path (consent/speedups/render.py gives the same
    bytes, faster, for the forms of a batch). ``esign`` ("docusign" or "adobe") adds that service's tags,
    in white, at the signature, date and initials lines (see consent/_esign.py)."""
    check_esign(esign)
    return zip_parts(render_parts(form, esign))
