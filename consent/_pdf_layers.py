"""PDF layout shared by the forms of a batch: one body layout, one small per-form layer on top.

Every form of a batch is the same text but for the patient's name, birth date and MRN and the form id.
Laying out eleven pages of text is most of the cost of a PDF, so it is done once:

1. the *body*: the form with those strings tokenised (:mod:`consent._tokens`), its slots (the
   one-line boxes of form.html that hold patient values) left empty and no page header or footer;
   laid out and written once, and cached;
2. the *layer*: ``overlay.html``, with the form's own metadata, page header and footer, and each slot's
   value at the position the body gave it; laid out and written for every form (it holds a few lines);
3. each page of the layer gets the matching body page drawn underneath it (a form XObject), with pikepdf.

It is refused (and the caller lays the form out whole) whenever it could differ from a whole layout:
a token shows up anywhere outside a slot (a clause that prints the patient's name), the slots are not
exactly the four expected ones, a value does not fit on one line, or the page counts differ.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from typing import Any

import attrs

from ._render_pdf import _context, _resources, form_html, layout, write_document
from ._tokens import TOKEN_MARK, patient_values, tokenise
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


@attrs.frozen
class PageGeometry:
    height: float
    slots: tuple[Slot, ...]


@attrs.frozen
class Body:
    pdf: bytes
    pages: tuple[PageGeometry, ...]


_BODIES: OrderedDict[str, Body | None] = OrderedDict()


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
    document = layout(form_html(token_form, skeleton=True), token_form.packs, furniture=False)
    pages = []
    found: list[str] = []
    for page in document.pages:
        page_box = page._page_box  # noqa: SLF001 - WeasyPrint's laid-out page; read only
        origin_x, origin_y = page_box.content_box_x(), page_box.content_box_y()
        slots = []
        for box in page_box.descendants(placeholders=True):
            if TOKEN_MARK in (getattr(box, "text", None) or ""):
                return None  # patient data outside a slot: this form cannot share a layout
            name = _slot_name(box, "slot")
            if name is not None:
                found.append(name)
                style = box.style
                slots.append(Slot(name, round(box.content_box_x() - origin_x, 3),
                                  round(box.content_box_y() - origin_y, 3), round(box.width, 3),
                                  round(box.height, 3), round(style["font_size"], 3), int(style["font_weight"])))
        pages.append(PageGeometry(round(page_box.height - 0.5, 3), tuple(slots)))
    if sorted(found) != sorted(SLOTS):
        return None  # a clinic template without the four slots: lay each form out whole
    return Body(bytes(document.write_pdf()), tuple(pages))


def _cached_body(token_form: Form, key: str) -> Body | None:
    if key in _BODIES:
        _BODIES.move_to_end(key)
        return _BODIES[key]
    body = _body(token_form)
    _BODIES[key] = body
    while len(_BODIES) > 4:
        _BODIES.popitem(last=False)
    return body


def _single_lines(document: Any) -> bool:
    boxes = _boxes()
    for page in document.pages:
        for box in page._page_box.descendants(placeholders=True):  # noqa: SLF001
            if _slot_name(box, "slot-abs") is not None:
                if len([c for c in box.children if isinstance(c, boxes.LineBox)]) != 1:
                    return False
    return True


def _stack(body_pdf: bytes, layer_pdf: bytes) -> bytes:
    """Draw each body page under the matching layer page; the layer's document (metadata,
    attachments, PDF/A identity) is the result. Deterministic: fixed names, deterministic /ID."""
    import pikepdf

    with pikepdf.open(io.BytesIO(body_pdf)) as body, pikepdf.open(io.BytesIO(layer_pdf)) as layer:
        for number, (page, under) in enumerate(zip(layer.pages, body.pages, strict=True), 1):
            name = pikepdf.Name(f"/ConsentBody{number}")
            resources = page.obj.get("/Resources")
            if resources is None:
                resources = page.obj["/Resources"] = pikepdf.Dictionary()
            if "/XObject" not in resources:
                resources["/XObject"] = pikepdf.Dictionary()
            resources["/XObject"][name] = layer.copy_foreign(under.as_form_xobject())
            page.contents_add(layer.make_stream(b"q " + name.unparse() + b" Do Q\n"), prepend=True)
        out = io.BytesIO()
        layer.save(out, deterministic_id=True)
    return out.getvalue()


def render_layered(form: Form, *, variant: str | None = None) -> bytes | None:
    """The form's PDF from the shared body and its own layer, or None when it must be laid out whole."""
    tokenised = tokenise(form)
    if tokenised is None:
        return None
    body = _cached_body(*tokenised)
    if body is None:
        return None
    res = _resources(form.packs)
    values = patient_values(form)
    html = res.overlay.render(
        **_context(form), pages=body.pages, values={slot: values[key] for slot, key in SLOTS.items()}
    )
    layer = layout(html, form.packs)
    if len(layer.pages) != len(body.pages) or not _single_lines(layer):
        return None
    return _stack(body.pdf, write_document(layer, form, variant))
