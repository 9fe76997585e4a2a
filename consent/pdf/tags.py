"""The structure tree of a tagged PDF (PDF/UA-1): what WeasyPrint's tagging leaves to us.

WeasyPrint (``pdf_variant="pdf/ua-1"``, or ``pdf_tags=True`` for a PDF/A) writes the structure tree in
reading order: headings, paragraphs, lists, tables with their header cells, and the document's language,
title and PDF/UA identification. Three things it does not do, done here while it builds the tree
(:func:`install` wraps its ``_build_box_tree``, whose one call per box sees both the HTML element and
the structure element made for it) and just before it writes the file (:func:`finish_tags`, from the
``finisher`` of :mod:`consent.pdf.finish`):

- **Each element's language.** An element with a ``lang`` attribute (the English
  statutory notice on a Spanish form, a line of the language-assistance page, a Japanese name) gets
  ``/Lang``, so a screen reader switches voice.
- **Table header ids.** WeasyPrint names each ``<th>`` (``/ID``, which the data cells' ``/Headers`` list) by
  object numbers; here ``th1``, ``th2`` ... in document order, the same in every layout of a form.
- **Table header scope.** A ``<th>`` gets ``/Scope``: ``/Row`` when form.html says ``scope="row"`` (the
  label cells of the patient and signature tables), else ``/Column``.
- **Page furniture as artifacts.** The page header and footer (the clinic, the patient's line, the form
  id, the page numbers) are CSS margin boxes; WeasyPrint marks their text with structure ids that point
  at elements outside the tree. Here their marked content becomes ``/Artifact`` (``/Pagination``,
  ``/Header`` or ``/Footer``) and their entries of the parent tree are emptied: read once at the top of
  the document, not again on every page.
- **Hidden elements left out.** An element with ``aria-hidden="true"`` (the strings of the page header,
  which form.html holds for CSS and never draws) is not in the tree.
- **PDF/UA in a PDF/A.** A tagged archival PDF/A says in its XMP that it is PDF/UA-1 too, with the
  extension schema PDF/A asks for (:func:`identify_ua_in_pdf_a`).
- **Names for elements without text.** ``aria-label`` becomes ``/Alt`` (a screening box says whether it
  is ticked, in the form's language).

Two private keys are left on elements for the steps after WeasyPrint, and removed by :func:`tidy` before
the file is finished: ``/ConsentField`` (the ``data-field`` place of a form field, with its ``data-value``:
consent/pdf/fields.py hangs the field's widget there) and ``/ConsentSlot`` (a slot of a shared layout's
body: consent/speedups/stack.py puts the form's own value there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

FIELD_KEY = "ConsentField"
SLOT_KEY = "ConsentSlot"
_ARTIFACTS = "_consent_artifacts"  # on WeasyPrint's pydyf.PDF: {page index: {mcid: "Header"|"Footer"}}
_INSTALLED: list[bool] = []


def install(wp: Any) -> None:
    """Wrap WeasyPrint's tree builder, once per process (see the module's docstring)."""
    if _INSTALLED:
        return
    from weasyprint.pdf import tags

    original = tags._build_box_tree
    boxes = wp.formatting_structure.boxes

    def build(box: Any, parent: Any, pdf: Any, page_number: int, nums: Any, annotations: Any,
              stream_tags: Any) -> Iterator[Any]:
        if isinstance(box, boxes.MarginBox):
            _furniture(box, pdf, page_number, stream_tags, boxes)
        html = getattr(box, "element", None)
        if html is not None and html.get("aria-hidden") == "true" and not getattr(box, "pseudo_type", None):
            # Hidden from assistive technology (the page strings of form.html, drawn nowhere): its
            # elements are made, as WeasyPrint must, but left out of the tree.
            for _ in original(box, parent, pdf, page_number, nums, annotations, stream_tags):
                pass
            return
        for element in original(box, parent, pdf, page_number, nums, annotations, stream_tags):
            _annotate(box, element)
            yield element

    tags._build_box_tree = build
    _INSTALLED.append(True)


def _furniture(box: Any, pdf: Any, page_number: int, stream_tags: Any, boxes: Any) -> None:
    """Remember the structure ids of a page-margin box's text, to be made artifacts."""
    kind = "Header" if box.at_keyword.startswith("@top") else "Footer"
    found = getattr(pdf, _ARTIFACTS, None)
    if found is None:
        found = {}
        setattr(pdf, _ARTIFACTS, found)
    page = found.setdefault(page_number, {})
    for child in box.descendants():
        tag = stream_tags.get(child)
        if tag is not None:
            page[tag["mcid"]] = kind


def _annotate(box: Any, element: Any) -> None:
    import pydyf

    html = getattr(box, "element", None)
    if html is None or getattr(box, "pseudo_type", None) or html.tag in ("html", "body"):
        return
    lang = html.get("lang")
    if lang:
        element["Lang"] = pydyf.String(lang)
    if element["S"] == "/TH":
        attributes = element.get("A") or pydyf.Dictionary({"O": "/Table"})
        attributes["Scope"] = "/Row" if html.get("scope") == "row" else "/Column"
        element["A"] = attributes
    label = html.get("aria-label")
    if label and element["S"] != "/NonStruct":
        element["Alt"] = pydyf.String(label)
    field = html.get("data-field")
    if field and element["S"] != "/NonStruct" and FIELD_KEY not in element:
        value = html.get("data-value")
        element[FIELD_KEY] = pydyf.String(f"{field}={value}" if value else field)
    slot = html.get("data-slot")
    if slot and element["S"] != "/NonStruct" and SLOT_KEY not in element:
        element[SLOT_KEY] = pydyf.String(slot)


def finish_tags(pdf: Any) -> None:
    """WeasyPrint's PDF, tagged, just before it is written: the header cells' ids renumbered, the page
    furniture made artifacts."""
    if "StructTreeRoot" not in pdf.catalog:
        return
    _header_ids(pdf.objects)
    found = getattr(pdf, _ARTIFACTS, None)
    if not found:
        return
    import pydyf

    objects = pdf.objects
    root = objects[_number(pdf.catalog["StructTreeRoot"])]
    parent_tree = objects[_number(root["ParentTree"])]
    nums = parent_tree["Nums"]
    by_page = {nums[i]: nums[i + 1] for i in range(0, len(nums), 2) if isinstance(nums[i + 1], pydyf.Array)}
    for page_number, mcids in found.items():
        page = objects[_number(pdf.page_references[page_number])]
        stream = objects[_number(page["Contents"])]
        ops = stream.stream
        for i, op in enumerate(ops):
            if isinstance(op, pydyf.Dictionary) and op.get("MCID") in mcids and i and ops[i + 1] == b"BDC":
                ops[i - 1] = "/Artifact"
                ops[i] = pydyf.Dictionary({"Type": "/Pagination", "Subtype": f"/{mcids[op['MCID']]}"})
        refs = by_page.get(page_number)
        if refs is not None:
            for mcid in mcids:
                if mcid < len(refs):
                    refs[mcid] = "null"


# The PDF/UA identification in a PDF/A's XMP, with the extension schema PDF/A asks for a property outside
# its predefined schemas (ISO 19005-3, 6.6.2.3; ISO 14289-1, 5).
_UA_IN_PDF_A = (
    '<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
    'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
    '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
    '<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>'
    '<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>'
    '<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>'
    '<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">'
    '<pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType>'
    '<pdfaProperty:category>internal</pdfaProperty:category>'
    '<pdfaProperty:description>Part of ISO 14289 to which the file conforms</pdfaProperty:description>'
    '</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>'
    '<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/" pdfuaid:part="1"/>'
).encode()


def identify_ua_in_pdf_a(pdf: Any) -> None:
    """A tagged PDF/A (WeasyPrint writes its PDF/A identification only) also says it is PDF/UA-1."""
    metadata = pdf.catalog.get("Metadata")
    if metadata is None or "StructTreeRoot" not in pdf.catalog:
        return
    stream = pdf.objects[_number(metadata)]
    data = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in stream.stream)
    if b"pdfaid:part" not in data or b"pdfuaid:part" in data:
        return
    stream.stream = [data.replace(b"</rdf:RDF>", _UA_IN_PDF_A + b"</rdf:RDF>", 1)]


def _header_ids(objects: list[Any]) -> None:
    """Each header cell's /ID, and the data cells' /Headers that name it, as ``th<n>`` in document order:
    WeasyPrint makes them of object numbers, which differ between a whole layout and a shared one (and
    could spell any number, a patient's birth year among them)."""
    import pydyf

    renamed: dict[Any, Any] = {}
    for obj in objects:
        if isinstance(obj, dict) and obj.get("S") == "/TH" and isinstance(obj.get("ID"), pydyf.String):
            new = renamed[obj["ID"].string] = pydyf.String(f"th{len(renamed) + 1}")
            obj["ID"] = new
    for obj in objects:
        if isinstance(obj, dict) and obj.get("S") == "/TD" and isinstance(obj.get("A"), dict):
            headers = obj["A"].get("Headers")
            if headers:
                obj["A"]["Headers"] = pydyf.Array(renamed.get(h.string, h) for h in headers)


def _number(reference: Any) -> int:
    text = reference.decode() if isinstance(reference, bytes) else str(reference)
    return int(text.split()[0])


def tidy(doc: Any) -> None:
    """The private keys taken off every structure element of an open pikepdf document."""
    root = doc.Root.get("/StructTreeRoot")
    if root is None:
        return
    for element in elements(root):
        for key in (FIELD_KEY, SLOT_KEY):
            if "/" + key in element:
                del element["/" + key]


def elements(root: Any) -> Iterator[Any]:
    """Every structure element under ``root``, in document (reading) order."""
    import pikepdf

    stack = [root.get("/K")]
    while stack:
        kid = stack.pop()
        if isinstance(kid, pikepdf.Array):
            stack.extend(reversed(list(kid)))
        elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            stack.append(kid.get("/K"))
