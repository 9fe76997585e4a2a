"""PDF layout shared by the forms of a batch: one body layout, one small per-form layer on top.

Every form of a batch is the same text but for the patient's name, birth date and MRN, the form id
and the ticks in the screening boxes. Laying out eleven pages of text is most of the cost of a PDF,
so it is done once:

1. the *body*: the form with those strings tokenised (:mod:`consent.speedups.tokens`), its screening boxes
   empty and its slots (the boxes of form.html that hold patient values, one or two lines high) left
   empty, with the clinic's name and the page numbers in the margins; laid out and written once, and
   cached;
2. the *layer*: ``overlay.html``, with the form's own metadata, a first page with the patient's line
   in the page header and the form id in the footer (the same on every page), then a page per kind of
   body page this form draws on (the page with the patient table, the signature page, a checklist
   page with a tick), each slot's value at the position the body gave it and the fill of each ticked
   box; a few small pages whatever the length of the form, laid out and written for every form;
3. with pikepdf (:mod:`consent.speedups.stack`), every page of the result draws its body page, the layer's
   first page and its kind's layer page, as form XObjects with fixed names (deterministic), and, under
   the built-in stylesheet, fills the form's ticked boxes itself (the layer then has no page for them);
   the layer's document (metadata, attachments, PDF/A identity) is the result.

A paragraph that prints a patient's string (a clinic's "I, {{ patient.full_name }}, agree ...") is a
*text slot*: the body holds as many empty lines as the paragraph takes, and the layer draws the
paragraph there, with the same width and style; forms whose paragraphs take the same number of lines
share a body.

It is refused (and the caller lays the form out whole) whenever it could differ from a whole layout:
a token anywhere else (a title, a list item: seen in the model, before anything is laid out), slots
other than the expected ones, a value needing more lines than its slot has, a paragraph split across
pages or drawn in another style or line height (a fallback font; a patient's string with a character
the shipped fonts lack, drawn with an installed Noto font), page-margin strings too long to sit
side by side on one line (a very long name: a whole layout wraps both), or differing page counts.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from .._jinja_data import template_data
from .._text import run_template
from ..document import Form, Paragraph
from ..library.loader import template_folders
from ..pdf.finish import finish
from ..pdf.glyphs import drawn_by_shipped_fonts
from ..pdf.html import (WEASYPRINT, form_html, html_context, layout, manifest_json, resources, weasyprint_module,
                        write_document)
from ..pdf.places import FieldPlace, decode_places, encode_places, field_places
from ..pdf.whole import without_signer
from .disk_cache import pdf_scope
from .stack import stack_pages, tick_fill
from .tokens import TOKEN_MARK, SharedWork, box_alts, box_marks, patient_values, tokenise

SLOTS = {"name": "name", "birth": "birth", "mrn": "mrn", "signer": "name"}  # slot -> patient value
TEXT = "text-"  # a text slot, "text-<section>.<block>": a paragraph that prints a patient's string
# What the text of a text slot is drawn with, compared between the body and the layer.
STYLE = ("font_family", "font_size", "font_weight", "font_style", "font_stretch", "font_variant_ligatures",
         "font_kerning", "font_feature_settings", "line_height", "letter_spacing", "word_spacing", "text_align_all",
         "text_align_last", "text_indent", "text_transform", "white_space", "hyphens", "overflow_wrap",
         "word_break", "color", "direction", "lang")


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
    section: str = ""  # a text slot: the classes of its section (for the stylesheet's rules)...
    strong: bool = False  # ...whether the paragraph is bold...
    style: tuple[str, ...] = ()  # ...and the style its text is drawn with (see STYLE)
    default_lines: int = 1  # a named slot: its height in form.html (a shared body may make it higher)

    @property
    def line_height(self) -> float:
        return self.height / self.lines


@attrs.frozen
class Spot:
    """Where a screening box is: the layer fills it when this form's answer ticks it."""

    index: int  # in document order: for each question, its "yes" box then its "no" box
    x: float
    y: float
    width: float
    height: float


@attrs.frozen
class PageKind:
    """Body pages with the same slots and boxes share one layer page."""

    height: float
    slots: tuple[Slot, ...]
    boxes: tuple[Spot, ...] = ()
    origin: tuple[float, float] = (0.0, 0.0)  # the page's content box: where slots and boxes are measured from


@attrs.frozen
class Body:
    pdf: bytes
    kinds: tuple[PageKind, ...]
    page_kinds: tuple[int, ...]  # for each body page, its index in ``kinds``
    boxes: int  # screening boxes found, in all
    margins: dict[str, float]  # widest line of the body's page-margin strings (top-left, bottom-right)
    margin_width: float  # the width the margin boxes of one side share
    fixed: dict[str, float]  # the body's page-margin boxes with a width set in form.css: their outer width
    fields: tuple[FieldPlace, ...] = ()  # where a fillable PDF's form fields go (the same for every form)


def page_boxes() -> Any:
    from weasyprint.formatting_structure import boxes

    return boxes


def _classes(box: Any) -> list[str]:
    element = getattr(box, "element", None)
    if element is None or getattr(box, "pseudo_type", None):
        return []
    return (element.get("class") or "").split()


def slot_name(box: Any, css_class: str) -> str | None:
    if not isinstance(box, page_boxes().BlockBox) or css_class not in _classes(box):
        return None
    return box.element.get("data-slot")  # type: ignore[no-any-return]


def text_slots(token_form: Form) -> list[str] | None:
    """The paragraphs of the form that print a patient's string ("<section>.<block>"), or None when
    the tokens occur anywhere else but where form.html puts slots and page strings (the header's
    patient fields, the form id, the patient's printed name in the signatures): a title, a list item,
    a table. Then the text differs between forms in a way a shared body cannot hold."""
    found, sections = [], []
    for si, section in enumerate(token_form.sections):
        blocks = []
        for bi, block in enumerate(section.blocks):
            if isinstance(block, Paragraph) and TOKEN_MARK in block.text:
                found.append(f"{si}.{bi}")
                block = attrs.evolve(block, text="")
            blocks.append(block)
        sections.append(without_signer(attrs.evolve(section, blocks=tuple(blocks))))
    probe = attrs.evolve(
        token_form,
        header=attrs.evolve(token_form.header, patient_name="", birth_date="", mrn=None),
        form_id="",
        sections=tuple(sections),
    )
    return found if TOKEN_MARK not in json.dumps(attrs.asdict(probe), default=str) else None


def _style(box: Any) -> tuple[str, ...]:
    return tuple(f"{name}={box.style[name]!r}" for name in STYLE)


def _body(token_form: Form, lines: dict[str, int]) -> Body | None:
    """The shared body; ``lines``: the text slots' line counts ("<section>.<block>") and the named slots
    made higher than form.html has them (a long name)."""
    text_lines, slot_lines = _split(lines)
    html = form_html(token_form, skeleton=True, text_slots=text_lines, slot_lines=slot_lines)
    document = layout(html, token_form.packs, hide=("top-right", "bottom-left"),
                      large_print=token_form.large_print)
    boxes = page_boxes()
    kinds: list[PageKind] = []
    page_kinds: list[int] = []
    found: list[str] = []
    count = 0
    margins: dict[str, float] = {}
    fixed: dict[str, float] = {}
    for page in document.pages:
        page_box = page._page_box
        for keyword, (wrapped, width, outer) in _margin_lines(page_box).items():
            if outer is None and wrapped > 1:
                return None  # a clinic name or page label that wraps in a box as wide as its string
            margins[keyword] = max(margins.get(keyword, 0.0), width)
            if outer is not None:
                fixed[keyword] = outer
        origin_x, origin_y = page_box.content_box_x(), page_box.content_box_y()
        slots, spots = [], []
        for box in page_box.descendants(placeholders=True):
            if TOKEN_MARK in (getattr(box, "text", None) or ""):
                return None  # patient data outside a slot: this form cannot share a layout
            name = slot_name(box, "textslot")
            if name is not None:  # a paragraph's lines, left empty (one zero-width space each)
                if name in found or len([c for c in box.children if isinstance(c, boxes.LineBox)]) != int(
                        box.element.get("data-lines")):
                    return None  # split across pages: the layer draws a paragraph in one piece
                found.append(name)
                slots.append(Slot(name, box.content_box_x() - origin_x, box.content_box_y() - origin_y,
                                  box.width, box.height, box.style["font_size"], int(box.style["font_weight"]),
                                  int(box.element.get("data-lines")), box.element.get("data-section") or "",
                                  "strong" in _classes(box), _style(box)))
                continue
            name = slot_name(box, "slot")
            if name is not None:
                found.append(name)
                style = box.style
                # Full float precision: a rounded position moves the glyphs by a fraction of a pixel.
                lines = int(box.element.get("data-lines") or 1)
                slots.append(Slot(name, box.content_box_x() - origin_x, box.content_box_y() - origin_y,
                                  box.width, box.height, style["font_size"], int(style["font_weight"]), lines,
                                  default_lines=int(box.element.get("data-default-lines") or lines)))
            elif "box" in _classes(box) and isinstance(box, boxes.InlineBlockBox | boxes.BlockBox):
                spots.append(Spot(count, box.border_box_x() - origin_x, box.border_box_y() - origin_y,
                                  box.border_width(), box.border_height()))
                count += 1
        kind = PageKind(round(page_box.height - 0.5, 3), tuple(slots), tuple(spots), (origin_x, origin_y))
        if kind not in kinds:
            kinds.append(kind)
        page_kinds.append(kinds.index(kind))
    if sorted(found) != sorted([*SLOTS, *(TEXT + t for t in text_lines)]):
        return None  # a clinic template without the four slots (or text slots): lay each form out whole
    first = document.pages[0]._page_box
    with WEASYPRINT:
        written = bytes(document.write_pdf(finisher=finish, pdf_tags=True))
    return Body(written, tuple(kinds), tuple(page_kinds), count, margins,
                first.margin_width() - first.margin_left - first.margin_right, fixed, field_places(document))


def _split(lines: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """A body's line counts, apart: the text slots' ("<section>.<block>") and the named slots'."""
    return ({name: n for name, n in lines.items() if name not in SLOTS},
            {name: n for name, n in lines.items() if name in SLOTS})


def _encode(body: Body | None) -> bytes:
    if body is None:
        return b""
    head = attrs.asdict(body, filter=lambda a, _: a.name not in ("pdf", "fields"))
    head["fields"] = encode_places(body.fields)
    return json.dumps(head).encode() + b"\n" + body.pdf


def _decode(data: bytes) -> Body | None:
    if not data:
        return None
    head, _, pdf = data.partition(b"\n")
    d = json.loads(head)
    kinds = tuple(PageKind(k["height"], tuple(Slot(**{**s, "style": tuple(s["style"])}) for s in k["slots"]),
                           tuple(Spot(**b) for b in k["boxes"]), tuple(k["origin"]))
                  for k in d["kinds"])
    return Body(pdf, kinds, tuple(d["page_kinds"]), d["boxes"], d["margins"], d["margin_width"], d["fixed"],
                decode_places(d["fields"]))


_BODIES: SharedWork[Body | None] = SharedWork(
    "pdf-body", _body, 32, _encode, _decode, lambda token_form, _: pdf_scope(weasyprint_module(), token_form.packs))


def _margin_lines(page_box: Any) -> dict[str, tuple[int, float, float | None]]:
    """For each filled page-margin box: how many lines its string takes, the widest line, and the box's
    outer width when form.css sets its width (None when the width follows the strings: auto)."""
    boxes = page_boxes()
    out = {}
    for child in page_box.children:
        keyword = getattr(child, "at_keyword", None)
        if keyword is None:
            continue
        lines = [b for b in child.descendants() if isinstance(b, boxes.LineBox) and b.children]
        if lines:
            out[keyword] = (len(lines), max(max(c.position_x + c.margin_width() for c in line.children)
                                            - min(c.position_x for c in line.children) for line in lines),
                            None if child.style["width"] == "auto" else child.margin_width())
    return out


def _margins_fit(body: Body, layer: Any) -> bool:
    """The layer's page-margin strings (the patient's line, the form id) sit beside the body's (the
    clinic, the page numbers) as a whole layout would put them:
    - both boxes of a side have widths set in form.css that fit the page together: each string wraps
      in its own box, whatever the other's (a long name takes two lines, the clinic stays put);
    - or the strings fit side by side on one line each: then a whole layout gives each box at least the
      width of its string (CSS Paged Media margin box widths), as the body and the layer did apart.
    Otherwise a whole layout would share out the width by the strings' lengths (a clinic template with
    auto widths and a very long name), and the form is laid out whole."""
    found = _margin_lines(layer.pages[0]._page_box)
    pairs = (("@top-right", "@top-left"), ("@bottom-left", "@bottom-right"))
    for own, shared in pairs:
        lines, width, outer = found.get(own, (0, 0.0, None))
        partner = body.fixed.get(shared)
        if outer is not None and partner is not None and outer + partner <= body.margin_width + 0.5:
            continue
        if lines > 1 or width + body.margins.get(shared, 0.0) >= body.margin_width - 0.5:
            return False
    return True


MAX_SLOT_LINES = 4  # form.css has .slot.lines-1 to lines-4


def _slot_lines(document: Any, body: Body) -> dict[str, int] | None:
    """The named slots whose values take more lines than form.html gives them (a long name): how many,
    as a whole layout would make them grow; None when a value is empty or takes more than
    MAX_SLOT_LINES lines."""
    boxes = page_boxes()
    slots = {s.name: s for kind in body.kinds for s in kind.slots if not s.name.startswith(TEXT)}
    out: dict[str, int] = {}
    for page in document.pages:
        for box in page._page_box.descendants(placeholders=True):
            name = slot_name(box, "slot-abs")
            if name is not None:
                lines = len([c for c in box.children if isinstance(c, boxes.LineBox)])
                if not 1 <= lines <= MAX_SLOT_LINES:
                    return None
                if lines > slots[name].default_lines:
                    out[name] = lines
    return out


def _text_lines(document: Any, body: Body) -> dict[str, int] | None:
    """How many lines each text slot's paragraph takes in the layer; None when it is not drawn as the
    body's (empty) paragraph would be: another style, or lines of another height (a fallback font)."""
    boxes = page_boxes()
    slots = {s.name: s for kind in body.kinds for s in kind.slots if s.name.startswith(TEXT)}
    out: dict[str, int] = {}
    for page in document.pages:
        for box in page._page_box.descendants(placeholders=True):
            name = slot_name(box, "textslot-abs")
            if name is None:
                continue
            paragraph = next((c for c in box.children if isinstance(c, boxes.BlockBox)), None)
            slot = slots.get(name)
            if paragraph is None or slot is None or _style(paragraph) != slot.style:
                return None
            lines = [c for c in paragraph.children if isinstance(c, boxes.LineBox)]
            if abs(paragraph.height - len(lines) * slot.line_height) > 1e-6:
                return None
            out[name.removeprefix(TEXT)] = len(lines)
    return out if len(out) == len(slots) else None


_TEXT_LINES: dict[str, dict[str, int]] = {}  # per group: the line counts of the last form's text slots


def render_layered(form: Form, *, variant: str | None = None) -> bytes | None:
    """The form's PDF from the shared body and its own layer, or None when it must be laid out whole."""
    layered = layered_pdf(form, variant=variant)
    return None if layered is None else layered[0]


def layered_pdf(form: Form, *, variant: str | None = None, ticks: bool = True, stamp: bool = False,
                **options: Any) -> tuple[bytes, tuple[FieldPlace, ...]] | None:
    """:func:`render_layered`, with the places of the form fields of a fillable PDF (read from the
    shared body). ``ticks=False`` leaves the screening boxes empty (a fillable PDF's radio buttons draw
    the answers); ``stamp``: with the content hash; ``options`` go to ``write_document``."""
    tokenised = tokenise(form)
    if tokenised is None:
        return None
    if not drawn_by_shipped_fonts(patient_values(form).values(), template_folders(form.packs).template_roots):
        # A name in another script is drawn with an installed Noto font, whose line heights are not the
        # shipped font's: the body's empty slots would not be as high as the form's own.
        return None
    token_form, key = tokenised
    texts = text_slots(token_form)
    if texts is None:
        return None  # seen before laying anything out: the text differs from form to form
    marks = box_marks(form)
    ticked = {n for n, mark in enumerate(marks) if mark and ticks}
    fill = tick_fill(form.packs) if ticked else None  # ticks drawn by stack_pages, not laid out in the layer
    values = {slot: patient_values(form)[value] for slot, value in SLOTS.items()}
    values.update({TEXT + t: _paragraph(form, t).text for t in texts})
    # A paragraph that prints the patient's name takes as many lines as the name needs: the body holds
    # that many empty lines. Start from the last form's count; a form that needs another takes (or
    # makes) the body with that count.
    # A slot whose value wraps (a long name) is made as high as the value needs, as in a whole layout.
    lines = dict(_TEXT_LINES.get(key) or dict.fromkeys(texts, 1))
    for _ in range(4):
        body = _BODIES.get(f"{key}-{sorted(lines.items())}" if lines else key, token_form, lines)
        if body is None or (any(marks) and body.boxes != len(marks)):
            return None
        drawn = [k for k, kind in enumerate(body.kinds)
                 if kind.slots or (fill is None and any(b.index in ticked for b in kind.boxes))]
        layer = layer_document(form, [body.kinds[k] for k in drawn], values, set() if fill else ticked)
        if len(layer.pages) != 1 + len(drawn) or not _margins_fit(body, layer):
            return None
        needed = _text_lines(layer, body) if texts else {}
        grown = _slot_lines(layer, body)
        if grown is None:
            return None
        text_lines, slot_lines = _split(lines)
        if grown != slot_lines:
            # Slots of other heights move the text below them: this layer, drawn over a body that is not
            # this form's, says nothing sure about the text slots (a paragraph may straddle a page).
            lines = {**text_lines, **(needed or {}), **grown}
            continue
        if needed is None:
            return None
        needed.update(grown)
        if needed == lines:
            if texts:
                _TEXT_LINES[key] = text_lines
            pdf = write_document(layer, form, variant, **options)
            return (stack_pages(body, pdf, drawn, manifest_json(form), stamp=stamp,
                                ticked=ticked if fill else set(), fill=fill,
                                alts=box_alts(form) if ticks else ()), body.fields)
        lines = needed
    return None


def _paragraph(form: Form, at: str) -> Paragraph:
    si, bi = (int(n) for n in at.split("."))
    block = form.sections[si].blocks[bi]
    assert isinstance(block, Paragraph)
    return block


def layer_document(form: Form, kinds: list[PageKind], values: dict[str, str], ticked: set[int]) -> Any:
    """The form's own layer: a first page with only the page header and footer (drawn on every page),
    then a page for each kind of page this form draws on (slot values, ticks), without them."""
    res = resources(form.packs)
    context = {**html_context(form, manifest=False), "part": "layer", "kinds": template_data(kinds),
               "values": template_data(values), "ticked": template_data(ticked)}
    html = run_template(lambda: res.overlay.render(context), "overlay.html")
    return layout(html, form.packs, hide=("page", "top-left", "bottom-right"), large_print=form.large_print)
