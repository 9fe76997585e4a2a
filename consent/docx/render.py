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
import zipfile
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Emu, Inches, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph
from docxcompose.properties import CustomProperties
from docxtpl import DocxTemplate

from .._esign import check_esign, tag
from .._form_data import DOCX_PROPERTY, form_data_json
from .._jinja_data import markup, template_data
from .._text import NoFiles, Sandbox, TemplateUndefined, long_date, run_template
from .._version import __version__
from ..document import (
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
from .scripts import language_run, run_property, with_scripts
from .styles import default_language, large_print
from .tables import bottom_rule, box, cant_split, caption, cell_text, column_widths, header_row, shade
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


def language_tag(language: str) -> str:
    """The tag Word gives a language (``w:lang``): the form's language in the United States (en-US,
    es-US), where the forms are used; a tag with a region stays as it is."""
    return language if "-" in language else f"{language}-US"


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
        cant_split(row)
        label_cell, value_cell = row.cells
        cell_text(label_cell, self.labels["initials"], size=10, align=WD_ALIGN_PARAGRAPH.RIGHT,
                   style=self._style_id(TABLE_HEADING))
        self._tag(value_cell.paragraphs[0], f"initials.{section.clause_id}")  # else a blank to write in
        for cell in (label_cell, value_cell):
            cell.vertical_alignment = 3  # bottom
        bottom_rule(value_cell)
        column_widths(table, (Inches(1.6), Inches(1.1)))
        caption(table, self.labels["initials"])

    def _paragraph(self, block: Paragraph) -> None:
        p = self.doc.add_paragraph()
        run = p.add_run(block.text)
        run.bold = block.style == "strong"
        if block.lang:
            language_run(p, run, block.lang, block.text)

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
            run_property(run._r.get_or_add_rPr(), "lang").set(qn("w:val"), language_tag(block.language))
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
        box(p)
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
        header_row(head)
        for cell, text in zip(head.cells, (block.header, block.yes, block.no), strict=True):
            cell_text(cell, text, bold=True, align=None if text == block.header else WD_ALIGN_PARAGRAPH.CENTER)
            shade(cell, "E3E8EE")
        for row in block.rows:
            cells = table.add_row().cells
            cell_text(cells[0], row.question)
            cell_text(cells[1], BOX_CHECKED if row.answer is True else BOX_EMPTY, align=WD_ALIGN_PARAGRAPH.CENTER)
            cell_text(cells[2], BOX_CHECKED if row.answer is False else BOX_EMPTY, align=WD_ALIGN_PARAGRAPH.CENTER)
        for row in table.rows:
            cant_split(row)
        column_widths(table, (Inches(5.5), Inches(0.7), Inches(0.7)))
        caption(table, self.section_title, block.header)
        self.space_next = True

    def _fees(self, block: FeeTable) -> None:
        table = self.doc.add_table(rows=1, cols=2)
        table._tbl.tblStyle_val = self._style_id("Table Grid")
        head = table.rows[0]
        header_row(head)
        cell_text(head.cells[0], block.item_header, bold=True)
        cell_text(head.cells[1], block.amount_header, bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT)
        for cell in head.cells:
            shade(cell, "E3E8EE")
        for label, value in (*block.rows, block.total):
            cells = table.add_row().cells
            bold = (label, value) == block.total
            cell_text(cells[0], label, bold=bold)
            cell_text(cells[1], value, bold=bold, align=WD_ALIGN_PARAGRAPH.RIGHT)
        for row in table.rows:
            cant_split(row)
        column_widths(table, (Inches(4.6), Inches(2.3)))
        caption(table, self.section_title)
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
            cell_text(cells[0], row.label, bold=True, style=self._style_id(TABLE_HEADING))
            shade(cells[0], "E3E8EE")
            if row.note:
                note = cells[0].add_paragraph().add_run(row.note)
                note.font.size = Pt(9.5)
                note.font.color.rgb = GREY
            cell_text(cells[1], row.value)  # empty: the box is written in by hand
        for row in table.rows:
            cant_split(row)
        column_widths(table, (Inches(2.5), Inches(4.4)))
        caption(table, self.section_title)
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
                cant_split(row)
                row.height = Inches(0.38)
                label_cell, value_cell = row.cells
                cell_text(label_cell, label, size=10, style=self._style_id(TABLE_HEADING))
                cell_text(value_cell, value, size=11)
                if label in tagged:
                    self._tag(value_cell.paragraphs[0], f"{party.role}.{tagged[label]}")
                for cell in (label_cell, value_cell):
                    cell.vertical_alignment = 3  # bottom
                    if i < len(party.fields) - 1 or n == len(block.parties) - 1:
                        cell.paragraphs[0].paragraph_format.keep_with_next = True
                bottom_rule(value_cell)
            column_widths(table, (Inches(1.9), Inches(5.0)))
            caption(table, party.title, party.note)


_KEPT_WITH_LEAD_IN = ("fees", "checklist", "signatures")  # blocks the paragraph before them stays with
# The label cells of the tables of labels and values (the product, the signature and initials lines; the
# patient's details in form.docx): LibreOffice exports a cell in this paragraph style as a header cell
# (/TH) of a tagged PDF; in the built-in form.docx it looks like Normal.
TABLE_HEADING = "Table Heading"
_TABLE_SPACE = Pt(12)  # between a table and what follows it


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
    default_language(tpl.docx, language_tag(form.language))
    custom = CustomProperties(tpl.docx)
    custom["consent.form_id"] = form.form_id
    custom["consent.manifest"] = json.dumps(form.manifest_dict(), ensure_ascii=False, sort_keys=True)
    custom[DOCX_PROPERTY] = _FORM_DATA_SLOT.decode()  # this form's own data goes in after (see with_form_data)
    _without_thumbnail(tpl.docx.part.package)
    if form.large_print:
        large_print(tpl.docx)
    buffer = io.BytesIO()
    tpl.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        return {info.filename: package.read(info.filename) for info in package.infolist()}


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
