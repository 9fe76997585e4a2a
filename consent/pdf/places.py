"""Where a fillable PDF's form fields go: the places form.html marks with ``data-field``, read from a
WeasyPrint layout (a whole form's, or the body a batch shares: the places are the same for every form
sharing it). Below both PDF paths (:mod:`consent.pdf.html` and :mod:`consent.speedups.layers`) and
:mod:`consent.pdf.fields`, which draws the fields.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import RenderError

PT_PER_PX = 0.75  # WeasyPrint lays out in CSS pixels (96 per inch); PDF user space is in points (72)
HEADER_FIELD_PT = 84.0  # a template's page header: the birth-date field's width ("September 30, 1950")
HEADER_GAP_PT = 2.0  # between a header field and the label (the field's text is inset 2 pt more)
MIN_HEADER_NAME_PT = 72.0  # the least room for the patient's name in the header


@attrs.frozen
class FieldPlace:
    """One place marked ``data-field`` in form.html, in PDF points (origin at the page's lower left)."""

    name: str  # "patient.signature", "initials.<clause id>", "screening.<question id>", "form.date", ...
    page: int  # index of the page, from 0
    x0: float
    y0: float
    x1: float
    y1: float
    value: str = ""  # a screening box's export value: "Yes" or "No"
    header: bool = False  # in the page header (a template export's patient name and birth date)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def field_places(document: Any) -> tuple[FieldPlace, ...]:
    """Every ``data-field`` place of a laid-out WeasyPrint document, in document order.

    A table cell's place is a line of text (at least) standing on its bottom rule, within its padding
    box; an inline line (a section's initials line: a bottom border and no height) is given a line's
    height above the rule; a screening box is its border box."""
    out: list[FieldPlace] = []
    for index, page in enumerate(document.pages):
        page_box = page._page_box
        height = page_box.margin_height()
        seen: set[tuple[str, str]] = set()
        for box in page_box.descendants(placeholders=True):
            element = getattr(box, "element", None)
            if element is None or getattr(box, "pseudo_type", None):
                continue
            name = element.get("data-field")
            value = element.get("data-value") or ""
            if not name or (name, value) in seen or not hasattr(box, "padding_box_x"):
                continue
            seen.add((name, value))
            if element.tag == "td":  # the cell's line of text, down to its rule (not the space above it)
                bottom = box.padding_box_y() + box.padding_height()
                h = min(box.padding_height(), max(bottom - box.content_box_y(), box.style["font_size"] * 1.6))
                x, y, w = box.padding_box_x(), bottom - h, box.padding_width()
            else:
                x, y, w, h = box.border_box_x(), box.border_box_y(), box.border_width(), box.border_height()
                line = box.style["font_size"] * 1.6
                if h < line / 2:  # a rule to write on: the field stands on it
                    y, h = y + h - line, line
            x0, y0 = round(x * PT_PER_PX, 3), round((height - y - h) * PT_PER_PX, 3)
            x1, y1 = round((x + w) * PT_PER_PX, 3), round((height - y) * PT_PER_PX, 3)
            out.append(FieldPlace(name, index, x0, y0, x1, y1, value))
    return tuple(out)


def header_places(document: Any, label: str) -> tuple[FieldPlace, ...]:
    """A template export's page header, on every page that prints its patient line (templates/
    _page_strings.html prints the birth-date ``label`` alone there; the rendered form prints "name · label
    date"): a place for the patient's name left of the label, in the rest of its page-margin box, and one
    for the birth date right of it, in the room the template's stylesheet leaves at the box's right
    (``HEADER_FIELD_PT``, see consent/pdf/html.py). As high as the label's line of text. A header
    with too little room for a name is a RenderError (a clinic's form.css)."""
    out: list[FieldPlace] = []
    wanted = " ".join(label.split())
    for index, page in enumerate(document.pages):
        page_box = page._page_box
        height = page_box.margin_height()
        for margin in page_box.children:
            if getattr(margin, "at_keyword", None) is None:
                continue
            text = next((b for b in margin.descendants()
                         if " ".join((getattr(b, "text", None) or "").split()) == wanted), None)
            if text is None:
                continue
            y0 = round((height - text.position_y - text.margin_height()) * PT_PER_PX, 3)
            y1 = round((height - text.position_y) * PT_PER_PX, 3)
            left = margin.content_box_x() * PT_PER_PX
            start = text.position_x * PT_PER_PX
            end = (text.position_x + text.margin_width()) * PT_PER_PX
            right = (margin.padding_box_x() + margin.padding_width()) * PT_PER_PX
            if start - HEADER_GAP_PT - left < MIN_HEADER_NAME_PT or right - end < HEADER_FIELD_PT / 2:
                raise RenderError(
                    f"the page header of page {index + 1} has no room for the patient's name and birth date "
                    f"fields around {label!r}",
                    hint="a template's page header needs the patient's line (string(patient)) in a right-"
                         "aligned page-margin box, as the built-in templates/form.css has it in @top-right",
                )
            out.append(FieldPlace("patient.full_name", index, round(left, 3), y0,
                                  round(start - HEADER_GAP_PT, 3), y1, header=True))
            out.append(FieldPlace("patient.birth_date", index, round(end + HEADER_GAP_PT, 3), y0,
                                  round(right, 3), y1, header=True))
            break
    return tuple(out)


def encode_places(places: tuple[FieldPlace, ...]) -> list[dict[str, Any]]:
    return [attrs.asdict(p) for p in places]


def decode_places(data: list[dict[str, Any]]) -> tuple[FieldPlace, ...]:
    return tuple(FieldPlace(**d) for d in data)
