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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .tree import build_tree, read_tree, slots

if TYPE_CHECKING:
    from .layers import Body, PageKind


def stack_pages(body: Body, layer_pdf: bytes, drawn: list[int], manifest: str, *, stamp: bool = False,
                ticked: set[int] | frozenset[int] = frozenset(), fill: bytes | None = None,
                alts: Sequence[str | None] = ()) -> bytes:
    """Every page: its body page's content, then the content of the layer page of its kind if this form
    draws anything on that kind (its resources renamed ``/C<name>``, its marked-content ids after the
    body page's), then the layer's first page (the page header and footer, artifacts only) as a form
    XObject. Content in the page itself, not in form XObjects: the structure tree points at it as a
    whole layout's does, and a checker that reads page content sees all of it. The layer's document
    (metadata, attachments, PDF/A or PDF/UA identity) is the result, with the form's manifest in its
    document information (``/consentmanifest``, as a whole layout has it from form.html's ``<meta>``:
    the layer leaves it out of its HTML, where parsing it cost more than laying out a slot).
    ``ticked``: the boxes (by index) this function fills itself, with ``fill`` (:func:`tick_fill`),
    drawn last. Deterministic: fixed names, and qpdf's deterministic /ID. ``stamp``: with the content
    hash (consent/pdf/stamp.py), when nothing is added to the PDF after this. The structure tree is the
    body's with the layer's slots in it (:mod:`consent.speedups.tree`); ``alts``: the screening boxes'
    ``/Alt``, in document order."""
    import pikepdf

    from ..pdf.stamp import stamp_open

    kept = _open_body(body)
    with pikepdf.open(io.BytesIO(layer_pdf)) as layer:
        own_slots = slots(read_tree(layer))
        box = layer.pages[0].mediabox
        furniture = layer.pages[0].as_form_xobject()
        at = {}  # layer page -> the body page it is drawn on (the first, for the tree)
        for number, kind in enumerate(body.page_kinds):
            if kind in drawn:
                at.setdefault(drawn.index(kind) + 1, number)
        inlined = {index: _inline(layer.pages[index], kept.mcids[number]) for index, number in at.items()}
        del layer.pages[:]
        known: dict[tuple[int, int], bytes] = {}  # the body's fonts and images, hashed once per body
        start = layer.make_stream(b"q\n")
        for number, kind in enumerate(body.page_kinds):
            page = layer.add_blank_page(page_size=(float(box[2]), float(box[3])))
            resources: dict[str, pikepdf.Dictionary] = {}
            for category, entries in kept.resources[number].items():
                copies = resources.setdefault(category, pikepdf.Dictionary())
                for name, obj in entries:
                    copied = copies[name] = layer.copy_foreign(obj)
                    if stamp:
                        known[copied.objgen] = kept.digest(obj)
            tail = b"\nQ\n"
            if kind in drawn:
                index = drawn.index(kind) + 1
                # A kind with slots is on one page (each slot is once in the form); a kind drawn on more
                # (ticks of a clinic's own stylesheet) draws artifacts only: the same content on each.
                content, own = inlined[index]
                for category, entries in own.items():
                    resources.setdefault(category, pikepdf.Dictionary()).update(entries)
                tail += b"q\n" + content + b"\nQ\n"
            resources.setdefault("/XObject", pikepdf.Dictionary())["/ConsentPage"] = furniture
            # The page header and footer: artifacts (consent/pdf/tags.py), drawn over the page.
            tail += b"/Artifact BMC q /ConsentPage Do Q EMC\n"
            if ticked:
                tail += _tick_ops(body.kinds[kind], ticked, fill, float(box[3]))
            page.obj["/Resources"] = pikepdf.Dictionary(resources)
            page.obj["/Contents"] = pikepdf.Array([start, *(layer.copy_foreign(c) for c in kept.contents[number]),
                                                   layer.make_stream(tail)])
            page.obj["/StructParents"] = number
        build_tree(layer, kept.tree, own_slots, at, {i: kept.mcids[n] for i, n in at.items()}, alts)
        layer.docinfo[pikepdf.Name("/consentmanifest")] = manifest
        if stamp:
            stamp_open(layer, known=known)
        out = io.BytesIO()
        # Object streams, as WeasyPrint writes them: the structure tree is a thousand small objects.
        layer.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


# The operators that name a resource, and which operand does.
_NAMED = {"Tf": ("/Font", 0), "Do": ("/XObject", 0), "gs": ("/ExtGState", 0), "sh": ("/Shading", 0),
          "cs": ("/ColorSpace", 0), "CS": ("/ColorSpace", 0), "scn": ("/Pattern", -1), "SCN": ("/Pattern", -1),
          "BDC": ("/Properties", 1), "DP": ("/Properties", 1)}


def _inline(page: Any, offset: int) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """A layer page's content to draw after a body page's: every resource name ``/C<name>`` (the body's
    names are WeasyPrint's, which never start with C... and are kept apart anyway), every marked-content
    id moved past the body page's (``offset``); and its resources under their new names."""
    import pikepdf

    found = page.obj.get("/Resources", pikepdf.Dictionary())
    resources: dict[str, dict[str, Any]] = {}
    for category, entries in found.items():
        if isinstance(entries, pikepdf.Dictionary):
            resources[str(category)] = {"/C" + str(name)[1:]: obj for name, obj in entries.items()}
    out = []
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        named = _NAMED.get(op)
        operands = list(operands)
        if named is not None and len(operands) > max(named[1], 0):
            category, at = named
            name = operands[at]
            if isinstance(name, pikepdf.Name) and str(name) in found.get(category, {}):
                operands[at] = pikepdf.Name("/C" + str(name)[1:])
        if op == "BDC" and len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary) \
                and "/MCID" in operands[1]:
            properties = pikepdf.Dictionary(operands[1])
            properties.MCID = int(properties.MCID) + offset
            operands[1] = properties
        out.append((operands, operator))
    return pikepdf.unparse_content_stream(out), resources


_OPEN = threading.local()  # per thread: qpdf's objects are not to be shared between threads
_OPEN_BODIES = 8  # bodies kept open per thread: a batch of several treatments and languages mixes groups


class _OpenBody:
    """A body's PDF, opened once and kept open for the next forms of its group: each page's content
    streams, resources (by category: name and object) and the number of its marked-content ids, its
    structure tree, and the canonical digest of each resource object for the content hash (made once,
    not for every form: a form's copy of an object hashes the same, as the digest is of content, not of
    object numbers)."""

    def __init__(self, data: bytes) -> None:
        import pikepdf

        self.pdf = pikepdf.open(io.BytesIO(data))
        self.contents: list[list[Any]] = []
        self.resources: list[dict[str, list[tuple[str, Any]]]] = []
        self.mcids: list[int] = []
        for page in self.pdf.pages:
            contents = page.obj.get("/Contents")
            streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
            self.contents.append(streams)
            found = page.obj.get("/Resources", pikepdf.Dictionary())
            # Each resource made indirect here (once) if it is not: a form copies it from this document.
            self.resources.append({str(category): [(str(n), o if o.is_indirect else self.pdf.make_indirect(o))
                                                   for n, o in entries.items()]
                                   for category, entries in found.items()
                                   if isinstance(entries, pikepdf.Dictionary)})
            ids = [int(m) for s in streams for m in _MCID.findall(s.read_bytes())]
            self.mcids.append(max(ids, default=-1) + 1)
        self.tree = read_tree(self.pdf)
        self._digests: dict[tuple[int, int], bytes] | None = None

    def digest(self, obj: Any) -> bytes:
        if self._digests is None:
            from ..pdf.stamp import object_digests

            objects = {o.objgen: o for entries in self.resources for found in entries.values()
                       for _, o in found if o.is_indirect}
            self._digests = dict(zip(objects, object_digests(list(objects.values())), strict=True))
        return self._digests[obj.objgen]


_MCID = re.compile(rb"/MCID\s+(\d+)")


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
    # An artifact: what a tick says is the box's /Alt in the structure tree (consent/speedups/tree.py).
    return (b"/Artifact BMC q 1 0 0 -1 0 " + _pdf_number(page_height) + b" cm 0.75 0 0 0.75 0 0 cm "
            + b" ".join(ops) + b" Q EMC ")


def _pdf_number(value: float) -> bytes:
    """A number as WeasyPrint (pydyf) writes one: at most six decimals."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode()
