"""The form fields of a PDF, read with pikepdf: names, kinds, values, required flags and where they are.

Shared by the content stamp (:mod:`consent._pdf_stamp` records which fields a form was made with, and
where) and by :mod:`consent._signed` (which reads them back, filled in). Names are fully qualified: the
partial names of a field's ancestors joined by "." (``patient.signature``), as pypdf's ``get_fields()``
and pyHanko name them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pikepdf

_REQUIRED = 1 << 1
_RADIO = 1 << 15
_PUSHBUTTON = 1 << 16


@attrs.frozen
class Field:
    """A form field as filled in."""

    name: str  #: fully qualified, e.g. ``patient.signature``, ``initials.risks``, ``screening.pregnant``
    kind: str  #: "text", "signature", "radio", "checkbox", "button" or "choice"
    value: str  #: the text, the chosen option ("Yes"/"No"), or "(signed)" / the signer's name; "" when empty
    required: bool
    page: int | None  #: 1-based page of its first widget (None: not on any page)
    place: str = attrs.field(default="", repr=False)  #: its widgets' rectangles, as stamped (see ``layout``)

    @property
    def filled(self) -> bool:
        return bool(self.value.strip())

    @property
    def layout(self) -> str:
        """What filling the form in never changes: name, kind, required or not, page and rectangles."""
        return (
            f"{self.name} {self.kind} {'required' if self.required else 'optional'} p{self.page} {self.place}"
        )


def read_fields(doc: pikepdf.Pdf) -> list[Field]:
    """Every terminal field of the document's AcroForm, in the order of the field tree."""
    acroform = doc.Root.get("/AcroForm")
    if not isinstance(acroform, pikepdf.Dictionary):
        return []
    pages = {
        annot.objgen: n
        for n, page in enumerate(doc.pages, 1)
        for annot in dictionaries(page.obj.get("/Annots"))
    }
    out: list[Field] = []
    seen: set[tuple[int, int]] = set()

    def walk(node: Any, prefix: str, inherited: dict[str, Any]) -> None:
        if not isinstance(node, pikepdf.Dictionary) or (node.is_indirect and node.objgen in seen):
            return
        if node.is_indirect:
            seen.add(node.objgen)
        values = {**inherited, **{k: node[k] for k in ("/FT", "/Ff", "/V") if k in node}}
        name = prefix + text(node.get("/T"))
        kids = dictionaries(node.get("/Kids"))
        named_kids = [k for k in kids if "/T" in k]
        if named_kids:
            for kid in named_kids:
                walk(kid, name + ".", values)
            return
        widgets = kids or [node]
        page = next((pages[w.objgen] for w in widgets if w.is_indirect and w.objgen in pages), None)
        out.append(_field(name, values, page, _place(widgets)))

    for top in dictionaries(acroform.get("/Fields")):
        walk(top, "", {})
    return out


def dictionaries(array: Any) -> list[pikepdf.Dictionary]:
    """The dictionaries in an array (/Annots, /Kids, /Fields): nothing when it is not an array at all."""
    if not isinstance(array, pikepdf.Array):
        return []
    return [item for item in array if isinstance(item, pikepdf.Dictionary)]


def text(obj: Any) -> str:
    """A name or string of a PDF as text, whatever bytes a damaged or hostile file holds in it."""
    if isinstance(obj, pikepdf.Name):
        return obj.unparse().decode("latin-1")
    if isinstance(obj, pikepdf.String):
        try:
            return str(obj)
        except UnicodeError:
            return bytes(obj).decode("latin-1")
    return "" if obj is None else str(obj)


def _place(widgets: list[Any]) -> str:
    rects = []
    for widget in widgets:
        rect = widget.get("/Rect")
        numbers = list(rect) if isinstance(rect, pikepdf.Array) else []
        if len(numbers) == 4 and all(isinstance(v, int | Decimal) for v in numbers):
            x0, y0, x1, y1 = (float(v) for v in numbers)
            rects.append(f"{min(x0, x1):.1f},{min(y0, y1):.1f},{max(x0, x1):.1f},{max(y0, y1):.1f}")
    return ";".join(rects)


def _field(name: str, a: dict[str, Any], page: int | None, place: str) -> Field:
    flags = a.get("/Ff", 0)
    ft, flags, value = text(a.get("/FT")), flags if type(flags) is int else 0, a.get("/V")
    required = bool(flags & _REQUIRED)
    if ft == "/Sig":
        signed = "(signed)" if isinstance(value, pikepdf.Dictionary) else ""
        return Field(name, "signature", signed, required, page, place)
    if ft == "/Btn":
        # A Name, as the standard says; some writers (pypdf) store the name as a string "/No".
        chosen = text(value).removeprefix("/")
        kind = "button" if flags & _PUSHBUTTON else "radio" if flags & _RADIO else "checkbox"
        return Field(name, kind, "" if chosen == "Off" else chosen, required, page, place)
    if isinstance(value, pikepdf.Array):
        shown = ", ".join(text(v) for v in value)
    else:
        shown = text(value) if isinstance(value, pikepdf.String | pikepdf.Name) else ""
    return Field(name, "choice" if ft == "/Ch" else "text", shown, required, page, place)
