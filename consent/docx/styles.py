"""A DOCX's document-wide styles: its default language, and large print.

Applied by :mod:`consent.docx.render` to the template's document before it is saved.
"""

from __future__ import annotations

from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from ..document import LARGE_PRINT_PT
from .scripts import run_property


def default_language(document: Any, tag: str) -> None:
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
    run_property(rpr, "lang").set(qn("w:val"), tag)


# A large-print form's styles (points): body text LARGE_PRINT_PT, headings larger; None keeps the style's size
# (raised to the body's if smaller). Lines 1.4 times the type size (Word's "multiple"), more space between.
_LARGE_STYLES = {"Normal": 18.0, "Title": 28.0, "Heading 1": 24.0, "Heading 2": 21.0, "Heading 3": 20.0,
                 "List Bullet": None, "Header": None, "Footer": None}
_HALF_POINTS = int(LARGE_PRINT_PT * 2)


def large_print(doc: Any) -> None:
    """Large print (:attr:`Form.large_print`): the template's styles scaled (body LARGE_PRINT_PT, headings
    larger, wider line spacing), and every type size written in the document, its headers, footers and
    styles raised to LARGE_PRINT_PT at least, but the e-signature tags' (white, the size the service
    reads: see ``_BodyWriter._tag`` in consent/docx/render.py). A state notice keeps its larger size (Utah's
    40 points). The page stays letter with the template's margins; the tables keep their widths."""
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
