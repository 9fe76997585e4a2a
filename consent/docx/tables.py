"""Table and paragraph formatting of a DOCX body, in WordprocessingML: cell shading and text, borders,
rows that repeat or do not split, captions for assistive technology, fixed column widths. Used by
:mod:`consent.docx.render`.
"""

from __future__ import annotations

from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt


def shade(cell: Any, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def box(paragraph: Any) -> None:
    """A full border around one paragraph (state notices)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        for key, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "4"), ("w:color", "12263A")):
            edge.set(qn(key), value)
        borders.append(edge)
    ppr.append(borders)


def cant_split(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    trpr.append(el)


def header_row(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))


def caption(table: Any, caption: str, description: str | None = None) -> None:
    """The table's title (and description) for assistive technology: ``w:tblCaption`` and
    ``w:tblDescription``, last in the table's properties (put in after everything else is set)."""
    tblpr = table._tbl.tblPr
    for name, value in (("tblCaption", caption), ("tblDescription", description)):
        if value:
            el = OxmlElement(f"w:{name}")
            el.set(qn("w:val"), value)
            tblpr.append(el)


def cell_text(cell: Any, text: str, *, bold: bool = False, align: Any = None, size: float = 10.5,
               style: str | None = None) -> None:
    p = cell.paragraphs[0]
    if style is not None:  # a style id (see _BodyWriter._style_id in consent/docx/render.py)
        p._p.style = style
    run = p.add_run(text)
    run.bold = bold
    run.font.size = Pt(size)
    if align is not None:
        p.alignment = align


def column_widths(table: Any, widths: tuple[Any, ...]) -> None:
    """Fixed column widths (grid and every cell), so Word and LibreOffice lay the table out alike."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def bottom_rule(cell: Any) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:color", "1D1D1F")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    tcpr.append(borders)
