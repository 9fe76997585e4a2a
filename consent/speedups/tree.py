"""The structure tree of a shared-layout PDF (see :mod:`consent.speedups.layers`): one tree, in reading
order, as a whole layout has it.

A shared-layout page draws form XObjects: the body's page (every word but the patient's), the layer's
first page (the page header and footer: artifacts only, consent/pdf/tags.py) and the layer's page of its
kind (the patient's values in the slots), their content in the page's own (consent/speedups/stack.py).
Each of the two WeasyPrint documents has its own tree. The
form's tree is the body's, with the layer's content of each slot put inside the body's element of that
slot (``/ConsentSlot``): the patient's name in its table cell, the signer's name on the signature line,
a paragraph that prints the name in its place among the paragraphs. The layer's marked-content ids
follow the body page's on each page (ISO 32000-1, 14.7.4.3 and 14.7.4.4).

A screening box's ``/Alt`` (ticked or not, in the form's language) is the form's own: the body's boxes
are all empty.

The body's tree is read once per open body (:class:`BodyTree`); for each form, only the slots' content
is read from the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..pdf.tags import FIELD_KEY, SLOT_KEY

_SKIP = {"/Type", "/K", "/P", "/Pg"}


class Node:
    """A structure element, read: its type, its other keys (as Python values), the index of its page
    and its kids (``Node`` or ``(page index, MCID)``)."""

    __slots__ = ("s", "keys", "page", "kids")

    def __init__(self, s: str, keys: dict[str, Any], page: int | None, kids: list[Any]) -> None:
        self.s, self.keys, self.page, self.kids = s, keys, page, kids


def _python(obj: Any) -> Any:
    """A direct PDF object as Python values, to be made again in another document (:func:`_pdf`)."""
    import pikepdf

    if isinstance(obj, pikepdf.Name):
        return ("name", str(obj))
    if isinstance(obj, pikepdf.String):
        return ("string", bytes(obj))
    if isinstance(obj, pikepdf.Array):
        return [_python(o) for o in obj]
    if isinstance(obj, pikepdf.Dictionary):
        return {str(k): _python(v) for k, v in obj.items()}
    if isinstance(obj, bool | int | float):
        return obj
    if isinstance(obj, pikepdf.Object) and obj.is_null:
        return None
    return float(obj) if hasattr(obj, "__float__") else None


def _pdf(value: Any) -> Any:
    import pikepdf

    if isinstance(value, tuple):
        kind, data = value
        return pikepdf.Name(data) if kind == "name" else pikepdf.String(data)
    if isinstance(value, list):
        return pikepdf.Array([_pdf(v) for v in value])
    if isinstance(value, dict):
        return pikepdf.Dictionary({k: _pdf(v) for k, v in value.items()})
    return value


def read_tree(pdf: Any) -> list[Node]:
    """The kids of the document's ``/Document`` element (or of the tree's root), read."""
    import pikepdf

    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return []
    pages = {page.objgen: i for i, page in enumerate(pdf.pages)}

    def kids_of(k: Any) -> list[Any]:
        return list(k) if isinstance(k, pikepdf.Array) else [] if k is None else [k]

    def read(element: Any, page: int | None) -> Node:
        pg = element.get("/Pg")
        here = pages.get(pg.objgen, page) if pg is not None else page
        kids: list[Any] = []
        for kid in kids_of(element.get("/K")):
            if isinstance(kid, int):
                kids.append((here, int(kid)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == pikepdf.Name.MCR:
                kpg = kid.get("/Pg")
                kids.append((pages.get(kpg.objgen, here) if kpg is not None else here, int(kid.MCID)))
            elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                kids.append(read(kid, here))
        keys = {str(k): _python(v) for k, v in element.items() if str(k) not in _SKIP}
        return Node(str(element.S), keys, here, kids)

    top = [k for k in kids_of(root.get("/K")) if isinstance(k, pikepdf.Dictionary)]
    if len(top) == 1 and top[0].get("/S") == pikepdf.Name.Document:
        top = [k for k in kids_of(top[0].get("/K")) if isinstance(k, pikepdf.Dictionary)]
    return [read(k, None) for k in top]


def slots(nodes: Sequence[Node]) -> dict[str, Node]:
    """The layer's elements of the slots, by slot name."""
    out: dict[str, Node] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        name = node.keys.get("/" + SLOT_KEY)
        if name is not None and name[1].decode() not in out:
            out[name[1].decode()] = node
        stack.extend(k for k in node.kids if isinstance(k, Node))
    return out


def build_tree(doc: Any, body: list[Node], layer: dict[str, Node], at: dict[int, int], offsets: dict[int, int],
               alts: Sequence[str | None]) -> None:
    """The form's tree, made in ``doc`` (the stacked result, its pages in the body's order, each page's
    ``/StructParents`` its index) in place of the layer's. ``at``: the page each layer page is drawn on;
    ``offsets``: by how much its marked-content ids were moved; ``alts``: each screening box's ``/Alt``,
    in document order (None: none)."""
    import pikepdf

    pages = [p.obj for p in doc.pages]
    parents: dict[int, dict[int, Any]] = {}  # page -> MCID -> element
    boxes = iter(alts)
    root = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
    document = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document,
                                                    P=root, K=pikepdf.Array()))
    root.K = pikepdf.Array([document])

    def content(page: int, mcid: int, element: Any, own_page: int | None) -> Any:
        parents.setdefault(page, {})[mcid] = element
        if page == own_page:
            return mcid
        return pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=pages[page], MCID=mcid)

    def place(kid: tuple[int, int], from_layer: bool) -> tuple[int, int]:
        page, mcid = kid
        return (at[page], mcid + offsets[page]) if from_layer else (page, mcid)

    def make(node: Node, parent: Any, from_layer: bool) -> Any:
        element = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name(node.s),
                                                       P=parent))
        for key, value in node.keys.items():
            element[key] = _pdf(value)
        field = node.keys.get("/" + FIELD_KEY)
        if field is not None and field[1].decode().startswith("screening.") and "=" in field[1].decode():
            alt = next(boxes, None)
            if alt:
                element.Alt = pikepdf.String(alt)
        own_page = at.get(node.page) if from_layer else node.page
        if own_page is not None:
            element.Pg = pages[own_page]
        kids = pikepdf.Array()
        extra: list[tuple[Any, bool]] = [(k, from_layer) for k in node.kids]
        name = node.keys.get("/" + SLOT_KEY)
        if not from_layer and name is not None and name[1].decode() in layer:
            own = layer[name[1].decode()]
            while len(own.kids) == 1 and isinstance(own.kids[0], Node) and own.kids[0].s == node.s:
                own = own.kids[0]  # the layer's wrapper around a paragraph: the paragraph's lines
            extra += [(k, True) for k in own.kids]
        for kid, layered in extra:
            if isinstance(kid, Node):
                kids.append(make(kid, element, layered))
            else:
                page, mcid = place(kid, layered)
                kids.append(content(page, mcid, element, own_page))
        element.K = kids
        return element

    for node in body:
        document.K.append(make(node, document, False))
    nums = pikepdf.Array()
    for page in range(len(pages)):
        found = parents.get(page, {})
        nums.append(page)
        nums.append(pikepdf.Array([found.get(m) for m in range(max(found, default=-1) + 1)]))
    root.ParentTree = doc.make_indirect(pikepdf.Dictionary(Nums=nums))
    root.ParentTreeNextKey = len(pages)
    doc.Root.StructTreeRoot = root
