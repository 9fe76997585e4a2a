"""The form fields of a PDF, read with pikepdf: names, kinds, values, required flags and where they are.

Shared by the content stamp (:mod:`consent.pdf.stamp` records which fields a form was made with, and
where) and by :mod:`consent.signed.read` (which reads them back, filled in). Names are fully qualified: the
partial names of a field's ancestors joined by "." (``patient.signature``), as pypdf's ``get_fields()``
and pyHanko name them. :func:`shown` says what a field's widgets show (its radio buttons' states, the text
its appearance writes), for :mod:`consent.signed.seen` to compare with the value it holds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pikepdf

_REQUIRED = 1 << 1
_RADIO = 1 << 15
_PUSHBUTTON = 1 << 16
_HIDDEN = 1 << 1  # annotation flags (/F): Hidden, NoView
_NO_VIEW = 1 << 5


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
    return [entry.field for entry in form_fields(doc)]


@attrs.frozen(eq=False)
class FormField:
    """A terminal field with the dictionaries it is made of: ``node`` (the field; for a one-widget field
    also its widget) and its widget annotations."""

    field: Field
    node: Any = attrs.field(repr=False)
    widgets: tuple[Any, ...] = attrs.field(repr=False)


def form_fields(doc: pikepdf.Pdf) -> list[FormField]:
    """:func:`read_fields`, with each field's dictionaries."""
    acroform = doc.Root.get("/AcroForm")
    if not isinstance(acroform, pikepdf.Dictionary):
        return []
    pages = {
        annot.objgen: n
        for n, page in enumerate(doc.pages, 1)
        for annot in dictionaries(page.obj.get("/Annots"))
    }
    out: list[FormField] = []
    seen: set[tuple[int, int]] = set()

    # Depth first, in document order, with a stack of its own: a hostile file's /Kids chain thousands deep
    # must not exhaust Python's recursion limit.
    stack: list[tuple[Any, str, dict[str, Any]]] = [
        (top, "", {}) for top in reversed(dictionaries(acroform.get("/Fields")))
    ]
    while stack:
        node, prefix, inherited = stack.pop()
        if not isinstance(node, pikepdf.Dictionary) or (node.is_indirect and node.objgen in seen):
            continue
        if node.is_indirect:
            seen.add(node.objgen)
        values = {**inherited, **{k: node[k] for k in ("/FT", "/Ff", "/V") if k in node}}
        name = prefix + text(node.get("/T"))
        kids = dictionaries(node.get("/Kids"))
        named_kids = [k for k in kids if "/T" in k]
        if named_kids:
            stack.extend((kid, name + ".", values) for kid in reversed(named_kids))
            continue
        widgets = kids or [node]
        page = next((pages[w.objgen] for w in widgets if w.is_indirect and w.objgen in pages), None)
        out.append(FormField(_field(name, values, page, _place(widgets)), node, tuple(widgets)))
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


# --------------------------------------------------------------------------- what a field shows

# What a text field's appearance may do besides writing its text: the marked-content and graphics-state
# operators viewers write, colours, and rectangles (a background, a border, a clip). Anything else (an
# image, a form XObject, a shading, an extended graphics state, curves and lines that can draw letters)
# could show what the field does not hold.
_TEXT_OPS = frozenset({"Tj", "TJ", "'", '"'})
_ALLOWED_OPS = _TEXT_OPS | frozenset({
    "q", "Q", "cm", "BT", "ET", "Tf", "Td", "TD", "Tm", "T*", "Tc", "Tw", "Tz", "TL", "Ts", "Tr",
    "BMC", "BDC", "EMC", "MP", "DP", "re", "W", "W*", "n", "f", "F", "f*", "S", "s", "B", "B*", "b", "b*",
    "g", "G", "rg", "RG", "k", "K", "cs", "CS", "sc", "SC", "scn", "SCN", "w", "J", "j", "M", "d", "ri", "i",
})
_MAX_RECTANGLES = 4
MIN_TEXT_SIZE = 4.0  #: points: smaller text is not taken as shown
_ENCODINGS = {"": "cp1252", "/WinAnsiEncoding": "cp1252", "/StandardEncoding": "cp1252",
              "/MacRomanEncoding": "mac_roman"}


def draws_nothing(widget: Any) -> bool:
    """The widget cannot show anything: hidden (/F Hidden or NoView), or no area (an invisible signature)."""
    flags = widget.get("/F", 0)
    if type(flags) is int and flags & (_HIDDEN | _NO_VIEW):
        return True
    rect = widget.get("/Rect")
    numbers = list(rect) if isinstance(rect, pikepdf.Array) else []
    if len(numbers) == 4 and all(isinstance(v, int | Decimal) for v in numbers):
        x0, y0, x1, y1 = (float(v) for v in numbers)
        return x0 == x1 or y0 == y1
    return False


def shown(entry: FormField) -> tuple[str, str]:
    """What a field's widgets show, as the field's value would read ("Yes", "2026-11-21", "" for
    nothing), and why that cannot be told ("" when it can). Radio buttons and check boxes show the
    states their widgets are in (/AS, when the widget has an appearance for it); a text field shows the
    text its normal appearance stream writes (see :func:`drawn_text`). A hidden widget shows nothing."""
    kind = entry.field.kind
    visible = [w for w in entry.widgets if not draws_nothing(w)]
    if kind in ("radio", "checkbox"):
        states = []
        for widget in visible:
            state = text(widget.get("/AS"))
            normal = _normal(widget)
            if state not in ("", "/Off") and isinstance(normal, pikepdf.Dictionary) and state in normal:
                states.append(state.removeprefix("/"))
        return ", ".join(dict.fromkeys(states)), ""
    if kind != "text":
        return entry.field.value, ""
    texts = []
    for widget in visible:
        normal = _normal(widget)
        if isinstance(normal, pikepdf.Dictionary) and not isinstance(normal, pikepdf.Stream):
            normal = normal.get(text(widget.get("/AS")) or "/Off")  # a text field with appearance states
        if not isinstance(normal, pikepdf.Stream):
            texts.append("")
            continue
        drawn, problem = drawn_text(normal, _fit_scale(widget, normal))
        if problem:
            return "", problem
        texts.append(drawn)
    distinct = list(dict.fromkeys(texts))
    return (distinct[0] if len(distinct) == 1 else " / ".join(distinct)) if distinct else "", ""


def same_text(a: str, b: str) -> bool:
    """The same text, whatever the spaces and line breaks (a viewer wraps a long value over lines)."""
    return "".join(a.split()) == "".join(b.split())


def _normal(widget: Any) -> Any:
    ap = widget.get("/AP")
    return ap.get("/N") if isinstance(ap, pikepdf.Dictionary) else None


def _fit_scale(widget: Any, stream: pikepdf.Stream) -> float:
    """How much the appearance is scaled to fit the widget (its /BBox mapped onto the /Rect)."""
    def size(array: Any) -> tuple[float, float] | None:
        numbers = list(array) if isinstance(array, pikepdf.Array) else []
        if len(numbers) != 4 or not all(isinstance(v, int | Decimal) for v in numbers):
            return None
        x0, y0, x1, y1 = (float(v) for v in numbers)
        return abs(x1 - x0), abs(y1 - y0)

    rect, box = size(widget.get("/Rect")), size(stream.get("/BBox"))
    if not rect or not box or not box[0] or not box[1]:
        return 1.0
    return float((rect[0] / box[0] * rect[1] / box[1]) ** 0.5) * _matrix_scale(stream.get("/Matrix"))


def _matrix_scale(matrix: Any) -> float:
    numbers = list(matrix) if isinstance(matrix, pikepdf.Array) else []
    if len(numbers) != 6 or not all(isinstance(v, int | Decimal) for v in numbers):
        return 1.0
    a, b, c, d = (float(v) for v in numbers[:4])
    return float(abs(a * d - b * c) ** 0.5)


def drawn_text(  # noqa: PLR0911, PLR0912 - one branch per kind of operator
    stream: pikepdf.Stream, scale: float = 1.0
) -> tuple[str, str]:
    """The text an appearance stream writes (its text-showing operators' strings, decoded with their
    font), and why it cannot be taken as what the field shows ("" when it can): an operator that paints
    more than text and a few rectangles, a font whose glyphs are not the standard ones of its encoding
    (embedded, composite, Type 3, symbolic or with its own /Differences), invisible text (render mode
    3 or a clipping mode), or text smaller than :data:`MIN_TEXT_SIZE` points. ``scale``: how much the
    stream is scaled onto the page. Colours and where the text is placed are not judged."""
    try:
        instructions = pikepdf.parse_content_stream(stream)
    except pikepdf.PdfError:
        return "", "its appearance cannot be read"
    resources = stream.get("/Resources")
    fonts = resources.get("/Font") if isinstance(resources, pikepdf.Dictionary) else None
    codec, problem = "", "its appearance writes text before choosing a font"
    size, mode, horizontal = 0.0, 0, 100.0  # the text state: font size, render mode, horizontal scaling
    ctm, tm = scale, 1.0  # how much the graphics state and the text matrix scale what is written
    stack: list[float] = []
    rectangles, out = 0, []
    for instruction in instructions:
        op = str(instruction.operator)
        operands = list(instruction.operands)
        if op not in _ALLOWED_OPS:
            what = "an image" if op in ("Do", "INLINE IMAGE", "BI") else f"the operator {op}"
            return "", f"its appearance paints more than text ({what})"
        numbers = [float(v) for v in operands if isinstance(v, int | Decimal)]
        if op == "q":
            stack.append(ctm)
        elif op == "Q" and stack:
            ctm = stack.pop()
        elif op == "cm" and len(numbers) == 6:
            ctm *= abs(numbers[0] * numbers[3] - numbers[1] * numbers[2]) ** 0.5
        elif op == "Tm" and len(numbers) == 6:
            tm = abs(numbers[0] * numbers[3] - numbers[1] * numbers[2]) ** 0.5
        elif op == "BT":
            tm = 1.0
        elif op == "Tf" and len(operands) == 2:
            size = numbers[0] if numbers else 0.0
            font = fonts.get(str(operands[0])) if isinstance(fonts, pikepdf.Dictionary) else None
            codec, problem = _codec(font, str(operands[0]))
        elif op == "Tr" and numbers:
            mode = int(numbers[0])
        elif op == "Tz" and numbers:
            horizontal = numbers[0]
        elif op == "re":
            rectangles += 1
            if rectangles > _MAX_RECTANGLES:
                return "", f"its appearance paints more than text (over {_MAX_RECTANGLES} rectangles)"
        elif op in _TEXT_OPS:
            strings = [operands[-1]] if op != "TJ" else list(operands[0]) if operands else []
            raw = b"".join(bytes(s) for s in strings if isinstance(s, pikepdf.String))
            if not raw.strip():
                continue
            if problem:
                return "", problem
            if mode not in (0, 1, 2):
                return "", f"its appearance writes invisible text (text render mode {mode})"
            if abs(size) * tm * ctm < MIN_TEXT_SIZE or horizontal < 50:
                return "", f"its appearance writes text too small to read (under {MIN_TEXT_SIZE:g} points)"
            out.append(raw.decode(codec, errors="replace"))
            if op in ("'", '"'):
                out.append(" ")  # a new line
    return "".join(out), ""


def _codec(font: Any, name: str) -> tuple[str, str]:
    """The codec that reads a font's strings as the characters its glyphs show, or why there is none."""
    if not isinstance(font, pikepdf.Dictionary):
        return "", f"its appearance writes with a font it does not define ({name})"
    subtype, base = text(font.get("/Subtype")), text(font.get("/BaseFont"))
    descriptor = font.get("/FontDescriptor")
    if subtype not in ("/Type1", "/TrueType", "/MMType1"):
        return "", f"its appearance writes with a {subtype.removeprefix('/') or 'untyped'} font ({name})"
    if isinstance(descriptor, pikepdf.Dictionary) and any(
        k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
    ):
        return "", f"its appearance writes with an embedded font ({name}), whose glyphs may show anything"
    if base in ("/Symbol", "/ZapfDingbats"):
        return "", f"its appearance writes with a symbol font ({name})"
    encoding = font.get("/Encoding")
    key = "" if encoding is None else text(encoding) if isinstance(encoding, pikepdf.Name) else "?"
    if key not in _ENCODINGS:
        return "", f"its appearance writes with a font of its own encoding ({name})"
    return _ENCODINGS[key], ""
