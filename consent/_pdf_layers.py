"""PDF layout shared by the forms of a batch: one body layout, one small per-form layer on top.

Every form of a batch is the same text but for the patient's name, birth date and MRN and the form id.
Laying out eleven pages of text is most of the cost of a PDF, so it is done once:

1. the *body*: the form with those strings tokenised (:mod:`consent._tokens`) and its slots (the
   boxes of form.html that hold patient values, one or two lines high) left empty, with the clinic's
   name and the page numbers in the margins; laid out and written once, and cached;
2. the *layer*: ``overlay.html``, with the form's own metadata, the patient's line in the page header,
   the form id in the footer, and each slot's value at the position the body gave it. It has one page
   per kind of body page (the page with the patient table, the signature page, all the others), so it
   is a few small pages whatever the length of the form; laid out and written for every form;
3. with pikepdf, every page of the result draws its body page, then its kind of layer page, both as
   form XObjects with fixed names (deterministic); the layer's document (metadata, attachments, PDF/A
   identity) is the result.

It is refused (and the caller lays the form out whole) whenever it could differ from a whole layout:
a token shows up anywhere outside a slot (a clause that prints the patient's name), the slots are not
exactly the four expected ones, a value needs more lines than its slot has, or the page counts differ.
"""

from __future__ import annotations

import io
from typing import Any

import attrs

from ._render_pdf import _context, _resources, form_html, layout, write_document
from ._tokens import TOKEN_MARK, SharedWork, patient_values, tokenise
from .document import Form

SLOTS = {"name": "name", "birth": "birth", "mrn": "mrn", "signer": "name"}  # slot -> patient value


@attrs.frozen
class Slot:
    name: str
    x: float
    y: float
    width: float
    height: float
    font_size: float
    font_weight: int
    lines: int = 1

    @property
    def line_height(self) -> float:
        return self.height / self.lines


@attrs.frozen
class PageKind:
    """Body pages with the same slots share one layer page."""

    height: float
    slots: tuple[Slot, ...]


@attrs.frozen
class Body:
    pdf: bytes
    kinds: tuple[PageKind, ...]
    page_kinds: tuple[int, ...]  # for each body page, its index in ``kinds``




def _boxes() -> Any:
    from weasyprint.formatting_structure import boxes

    return boxes


def _slot_name(box: Any, css_class: str) -> str | None:
    element = getattr(box, "element", None)
    if element is None or not isinstance(box, _boxes().BlockBox):
        return None
    if css_class not in (element.get("class") or "").split():
        return None
    return element.get("data-slot")


def _body(token_form: Form) -> Body | None:
    document = layout(form_html(token_form, skeleton=True), token_form.packs, hide=("top-right", "bottom-left"))
    kinds: list[PageKind] = []
    page_kinds: list[int] = []
    found: list[str] = []
    for page in document.pages:
        page_box = page._page_box
        origin_x, origin_y = page_box.content_box_x(), page_box.content_box_y()
        slots = []
        for box in page_box.descendants(placeholders=True):
            if TOKEN_MARK in (getattr(box, "text", None) or ""):
                return None  # patient data outside a slot: this form cannot share a layout
            name = _slot_name(box, "slot")
            if name is not None:
                found.append(name)
                style = box.style
                # Full float precision: a rounded position moves the glyphs by a fraction of a pixel.
                slots.append(Slot(name, box.content_box_x() - origin_x, box.content_box_y() - origin_y,
                                  box.width, box.height, style["font_size"], int(style["font_weight"]),
                                  int(box.element.get("data-lines") or 1)))
        kind = PageKind(round(page_box.height - 0.5, 3), tuple(slots))
        if kind not in kinds:
            kinds.append(kind)
        page_kinds.append(kinds.index(kind))
    if sorted(found) != sorted(SLOTS):
        return None  # a clinic template without the four slots: lay each form out whole
    return Body(bytes(document.write_pdf()), tuple(kinds), tuple(page_kinds))


_BODIES: SharedWork[Body | None] = SharedWork(_body, size=4)


def _values_fit(document: Any, body: Body) -> bool:
    """Every value fits in the lines its slot has (one line, or two for the name and MRN)."""
    boxes = _boxes()
    allowed = {s.name: s.lines for kind in body.kinds for s in kind.slots}
    for page in document.pages:
        for box in page._page_box.descendants(placeholders=True):
            name = _slot_name(box, "slot-abs")
            if name is not None:
                lines = len([c for c in box.children if isinstance(c, boxes.LineBox)])
                if not 1 <= lines <= allowed[name]:
                    return False
    return True


def _stack(body: Body, layer_pdf: bytes) -> bytes:
    """Every page: its body page, then its kind of layer page, each drawn as a form XObject. The
    layer's document (metadata, attachments, PDF/A identity) is the result. Deterministic: fixed
    names, and qpdf's deterministic /ID."""
    import pikepdf

    with pikepdf.open(io.BytesIO(body.pdf)) as shared, pikepdf.open(io.BytesIO(layer_pdf)) as layer:
        layers = [page.as_form_xobject() for page in layer.pages]
        box = layer.pages[0].mediabox
        del layer.pages[:]
        for number, (under, kind) in enumerate(zip(shared.pages, body.page_kinds, strict=True), 1):
            page = layer.add_blank_page(page_size=(float(box[2]), float(box[3])))
            body_name, layer_name = pikepdf.Name(f"/ConsentBody{number}"), pikepdf.Name(f"/ConsentLayer{kind}")
            page.obj["/Resources"] = pikepdf.Dictionary(XObject=pikepdf.Dictionary({
                str(body_name): layer.copy_foreign(under.as_form_xobject()),
                str(layer_name): layers[kind],
            }))
            page.obj["/Contents"] = layer.make_stream(
                b"q " + body_name.unparse() + b" Do Q q " + layer_name.unparse() + b" Do Q\n"
            )
        out = io.BytesIO()
        layer.save(out, deterministic_id=True)
    return out.getvalue()


def render_layered(form: Form, *, variant: str | None = None) -> bytes | None:
    """The form's PDF from the shared body and its own layer, or None when it must be laid out whole."""
    tokenised = tokenise(form)
    if tokenised is None:
        return None
    token_form, key = tokenised
    body = _BODIES.get(token_form, key)
    if body is None:
        return None
    res = _resources(form.packs)
    values = {"mrn": "—", **patient_values(form)}
    html = res.overlay.render(
        **_context(form), part="layer", kinds=body.kinds,
        values={slot: values[key] for slot, key in SLOTS.items()},
    )
    layer = layout(html, form.packs, hide=("page", "top-left", "bottom-right"))
    if len(layer.pages) != len(body.kinds) or not _values_fit(layer, body):
        return None
    return _stack(body, write_document(layer, form, variant))
