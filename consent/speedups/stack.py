"""A shared-layout PDF put together (see :mod:`consent.speedups.layers`): in one pikepdf pass, each page
draws its shared body page, the form's layer and, under the built-in stylesheet, the fill of the
form's ticked screening boxes; the form's manifest goes into the document information and the
content hash is stamped. The body's PDF is opened once per group and thread, and its pages hashed once.
"""

from __future__ import annotations

import functools
import io
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layers import Body, PageKind


def stack_pages(body: Body, layer_pdf: bytes, drawn: list[int], manifest: str, *, stamp: bool = False,
                ticked: set[int] | frozenset[int] = frozenset(), fill: bytes | None = None) -> bytes:
    """Every page: its body page, the layer's first page (the page header and footer), and the layer
    page of its kind if this form draws anything on that kind, each as a form XObject. The layer's
    document (metadata, attachments, PDF/A identity) is the result, with the form's manifest in its
    document information (``/consentmanifest``, as a whole layout has it from form.html's ``<meta>``:
    the layer leaves it out of its HTML, where parsing it cost more than laying out a slot).
    ``ticked``: the boxes (by index) this function fills itself, with ``fill`` (:func:`tick_fill`),
    drawn last. Deterministic: fixed names, and qpdf's deterministic /ID. ``stamp``: with the content
    hash (consent/pdf/stamp.py), when nothing is added to the PDF after this."""
    import pikepdf

    from ..pdf.stamp import stamp_open

    kept = _open_body(body)
    with pikepdf.open(io.BytesIO(layer_pdf)) as layer:
        furniture, *own = (page.as_form_xobject() for page in layer.pages)
        box = layer.pages[0].mediabox
        del layer.pages[:]
        known: dict[tuple[int, int], bytes] = {}  # the body's pages, hashed once per body (see _OpenBody)
        for number, (under, kind) in enumerate(zip(kept.pages, body.page_kinds, strict=True), 1):
            page = layer.add_blank_page(page_size=(float(box[2]), float(box[3])))
            copied = layer.copy_foreign(under)
            if stamp:
                known[copied.objgen] = kept.digest(number - 1)
            names = {pikepdf.Name(f"/ConsentBody{number}"): copied, pikepdf.Name("/ConsentPage"): furniture}
            if kind in drawn:
                names[pikepdf.Name(f"/ConsentLayer{kind}")] = own[drawn.index(kind)]
            page.obj["/Resources"] = pikepdf.Dictionary(XObject=pikepdf.Dictionary(
                {str(name): xobject for name, xobject in names.items()}))
            content = b"".join(b"q " + n.unparse() + b" Do Q " for n in names)
            if ticked:
                content += _tick_ops(body.kinds[kind], ticked, fill, float(box[3]))
            page.obj["/Contents"] = layer.make_stream(content + b"\n")
        layer.docinfo[pikepdf.Name("/consentmanifest")] = manifest
        if stamp:
            stamp_open(layer, known=known)
        out = io.BytesIO()
        layer.save(out, deterministic_id=True)
    return out.getvalue()


_OPEN = threading.local()  # per thread: qpdf's objects are not to be shared between threads
_OPEN_BODIES = 8  # bodies kept open per thread: a batch of several treatments and languages mixes groups


class _OpenBody:
    """A body's PDF, opened once and kept open for the next forms of its group: its pages as form
    XObjects, and each page's canonical digest for the content hash (made once, not for every form:
    a form's copy of a page hashes the same, as the digest is of content, not of object numbers)."""

    def __init__(self, data: bytes) -> None:
        import pikepdf

        self.pdf = pikepdf.open(io.BytesIO(data))
        self.pages = [page.as_form_xobject() for page in self.pdf.pages]
        self._digests: list[bytes] | None = None

    def digest(self, index: int) -> bytes:
        if self._digests is None:
            from ..pdf.stamp import object_digests

            self._digests = object_digests(self.pages)
        return self._digests[index]


def _open_body(body: Body) -> _OpenBody:
    """The body's :class:`_OpenBody` in this thread (the last few bodies used stay open)."""
    kept: OrderedDict[int, tuple[bytes, _OpenBody]] | None = getattr(_OPEN, "bodies", None)
    if kept is None:
        kept = _OPEN.bodies = OrderedDict()
    entry = kept.get(id(body.pdf))
    if entry is not None and entry[0] is body.pdf:
        kept.move_to_end(id(body.pdf))
        return entry[1]
    opened = _OpenBody(body.pdf)
    kept[id(body.pdf)] = (body.pdf, opened)  # the bytes are held: their id is not reused while kept
    while len(kept) > _OPEN_BODIES:
        kept.popitem(last=False)[1][1].pdf.close()
    return opened


# A ticked box of the built-in form.css: its background fills its border box (".box.checked"; the
# border is drawn by the shared body). test_render checks the rule and the pixels against a whole layout.
TICK_RULE = re.compile(r"\.box\.checked\s*\{\s*background:\s*#([0-9a-f]{6})\s*;\s*\}")


@functools.lru_cache(maxsize=8)
def tick_fill(packs: tuple[str, ...]) -> bytes | None:
    """The fill colour operator of a ticked box (``r g b rg``) when the form's stylesheet is the
    built-in one: :func:`stack_pages` then fills the boxes itself, as WeasyPrint would, which saves
    the layer a page (about a quarter of a form's PDF time) for each page of screening questions. A
    clinic's own form.css may draw a tick otherwise: None, and the layer lays the ticks out."""
    from ..library.loader import template_folders

    css = template_folders(packs).template("form.css")
    if css != template_folders(()).template("form.css"):
        return None
    found = TICK_RULE.search(css.read_text(encoding="utf-8"))
    if found is None:
        return None
    rgb = bytes.fromhex(found.group(1))
    return b" ".join(_pdf_number(c / 255) for c in rgb) + b" rg"


def _tick_ops(kind: PageKind, ticked: set[int] | frozenset[int], fill: bytes | None,
              page_height: float) -> bytes:
    """The content that fills the boxes of this kind of page that the form ticks (none: empty), in CSS
    pixels from the page's top left, as WeasyPrint paints a background: the same operators, so that the
    page looks the same, pixel for pixel, as a whole layout."""
    spots = [b for b in kind.boxes if b.index in ticked]
    if not spots:
        return b""
    assert fill is not None, "ticks are drawn here only under the built-in stylesheet"
    x0, y0 = kind.origin
    ops = []
    for b in spots:
        rect = b" ".join(_pdf_number(v) for v in (x0 + b.x, y0 + b.y, b.width, b.height)) + b" re"
        # Clipped to the box, then filled, twice over as WeasyPrint does: a renderer's anti-aliasing
        # of the box's edges follows the clip, and the pixels must be the same.
        ops.append(b"q " + rect + b" W n q " + fill + b" " + rect + b" W n " + rect + b" f Q Q")
    return (b"q 1 0 0 -1 0 " + _pdf_number(page_height) + b" cm 0.75 0 0 0.75 0 0 cm " + b" ".join(ops)
            + b" Q ")


def _pdf_number(value: float) -> bytes:
    """A number as WeasyPrint (pydyf) writes one: at most six decimals."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode()
