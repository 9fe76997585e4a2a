"""Where a fillable PDF's form fields go: the places form.html marks with ``data-field``, read from a
WeasyPrint layout (a whole form's, or the body a batch shares: the places are the same for every form
sharing it). Below both PDF paths (:mod:`consent._render_pdf` and :mod:`consent._pdf_layers`) and
:mod:`consent._pdf_fields`, which draws the fields.
"""

from __future__ import annotations

from typing import Any

import attrs

PT_PER_PX = 0.75  # WeasyPrint lays out in CSS pixels (96 per inch); PDF user space is in points (72)


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


def encode_places(places: tuple[FieldPlace, ...]) -> list[dict[str, Any]]:
    return [attrs.asdict(p) for p in places]


def decode_places(data: list[dict[str, Any]]) -> tuple[FieldPlace, ...]:
    return tuple(FieldPlace(**d) for d in data)
