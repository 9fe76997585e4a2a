"""The archival copy of a signed form (``consent archive``, :func:`archive_signed`): a PDF/A-3 that shows
the form as it came back and carries the signed original, byte for byte, as an associated file.

A signed form cannot itself be a PDF/A: its fields' date actions are JavaScript and its fields' font is
not embedded, and any change to it (even a conversion) would break its signatures. So the copy is made
beside it:

1. the signed form is read with :func:`consent.read_signed`: one that is not a consent form, or ALTERED,
   is refused (nothing is made); one with nothing filled in or signed at all is refused too (there is
   nothing to archive but the form, which ``consent render --pdf-variant`` makes). An INCOMPLETE form, or
   one whose seal the trust roots given do not vouch for (UNTRUSTED), is archived, and its pages say so;
2. its pages are the form's own text, from the form data embedded in it (as ``consent rerender`` reads
   it), laid out whole as the PDF/A variant by the form renderer (:mod:`consent.pdf.html`), with the
   screening boxes empty as the fillable form had them, and a last section, "About this archival copy";
3. over them, one layer per page that holds a value, laid out by the renderer from ``overlay.html`` (the
   template that prints a batch's strings at their places, :func:`consent.speedups.layers._layer`): each
   value read back, in the form's own (embedded) font, at the place of its field as the renderer marks
   it (``data-field``, :mod:`consent.pdf.places`): the text fields' values, a tick in the screening box
   answered, and at each signature field "Signed digitally by <signer> on <time>" with its validity; a
   required field left empty shows "(not filled in)" or "(not signed)". A printed name the form prints
   under its field is covered in white first, as the field's own white background covered it;
4. the signed original is attached as an associated file (catalog ``/AF``, ``/AFRelationship
   /Source``, ``application/pdf``, with its MD5 checksum, size and dates), beside the form's data
   (``consent-form.json`` and ``consent-manifest.json``, relationship Data), and the copy is stamped
   with its content hash like every PDF consent makes (:mod:`consent.pdf.stamp`).

The values printed are the ones :func:`~consent.read_signed` reads, which it guarantees are the ones the
signer saw (every field's appearance shows its value, and nothing was changed after a signature). The
copy is evidence for a reader; the proof is the attached original, whose signatures ``consent verify``
checks. The copy is deterministic: the same signed form gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._form_data import FormData, packs_given, read_form_data
from .._version import __version__
from ..document import Form, Paragraph, Section, unanswered
from ..errors import InputError, RenderError
from ..library.loader import get_library
from ..pdf.fields import answers, prefilled
from ..pdf.glyphs import font_coverage, missing_glyphs
from ..pdf.html import form_html, layout, write_document
from ..pdf.places import PT_PER_PX, FieldPlace, field_places
from ..speedups.layers import PageKind, Slot, Spot, page_boxes, layer_document, slot_name
from .read import SEAL_FIELD, Field, SignedForm, read_signed
from .signatures import Signature

VARIANTS = ("pdf/a-3u", "pdf/a-3b")
DEFAULT_VARIANT = "pdf/a-3u"
SUFFIX = ".archive.pdf"  #: ``consent archive SIGNED.pdf`` writes ``SIGNED.archive.pdf``
NOTE_ID = "archive-note"  #: the clause id (and CSS class kind-archive-note) of the copy's last section
VALUE_PT = 10.0  # a value, in the size a fillable form's fields write it (consent/pdf/fields.py FONT_SIZE)
SIGNATURE_PT = 8.0  # "Signed digitally by ... on ..." and its validity: two lines in a signature line
SMALLEST_PT = 5.0  # a value too wide for its place is made smaller, down to this, then wraps
INSET_PT = 2.0  # from the left of the place, as a viewer writes a field's value
FITS = 4  # layouts of the layer at most, each making the values that do not fit smaller


@attrs.frozen
class Archived:
    """The archival copy of a signed form, and the form as read (for the verdict)."""

    pdf: bytes
    signed: SignedForm
    original_name: str  #: the signed original's name inside the copy
    substituted: tuple[str, ...] = ()  #: values with characters the fonts cannot draw (shown as "?")


def archive_signed(pdf: bytes, *, variant: str = DEFAULT_VARIANT, trust_roots: Sequence[Any] | None = None,
                   packs: Sequence[str | Path] | None = None, original_name: str | None = None) -> bytes:
    """The archival copy of a filled-in, signed consent form ``pdf``: a PDF/A-3 (``variant``:
    ``"pdf/a-3u"`` or ``"pdf/a-3b"``) whose pages show the form as the signer saw and filled it, with
    ``pdf`` attached byte for byte as an associated file (relationship Source), so that its signatures
    can still be verified (``consent verify`` on the attachment).

    Refused (a ConsentError, nothing made): a file that is not a consent form
    (:class:`~consent.errors.NotAConsentForm`), a form ALTERED since it was made, or one with nothing
    filled in or signed (an InputError). An INCOMPLETE form, or one whose seal the ``trust_roots``
    (as for :func:`consent.read_signed`) do not vouch for, is archived, and the copy says so on its pages.
    ``packs``: the clinic pack folders for a form made with them (as for :func:`consent.rerender`).
    ``original_name``: the file name of the original inside the copy (default ``signed-<form id>.pdf``).
    """
    return make_archive(pdf, variant=variant, trust_roots=trust_roots, packs=packs,
                        original_name=original_name).pdf


def make_archive(pdf: bytes, *, variant: str = DEFAULT_VARIANT, trust_roots: Sequence[Any] | None = None,
                 packs: Sequence[str | Path] | None = None, original_name: str | None = None) -> Archived:
    """:func:`archive_signed`, with the form as read (``consent archive`` prints its verdict)."""
    if variant not in VARIANTS:
        raise InputError(f"the archival copy is a PDF/A-3: variant must be {' or '.join(VARIANTS)} "
                         f"(got {variant!r})")
    signed = read_signed(pdf, trust_roots=trust_roots)  # NotAConsentForm for anything but a consent form
    verdict = signed.verdict
    if verdict.status == "ALTERED":
        raise InputError(f"form {signed.form_id} is ALTERED: {'; '.join(verdict.reasons)}",
                         hint="an altered form is not archived: `consent verify` shows what changed")
    found, _ = read_form_data(pdf)  # intact: read_signed compared it with what was stamped
    if not signed.signatures and _as_made(signed, found):
        raise InputError(f"form {signed.form_id} has nothing filled in or signed to archive",
                         hint="the archival copy of a form as made is `consent render ... --pdf-variant "
                              "pdf/a-3u`; archive the form once it comes back filled in and signed")
    given = packs_given(found.document.packs, packs, by="the archival copy is laid out with", when="laid out")
    form = attrs.evolve(found.document, packs=given)
    name = _original_name(original_name, signed.form_id)
    library = get_library(form.packs)
    library.raise_problems()
    printed = _Printed(font_coverage(library.template_roots))
    for f in signed.fields:  # what each value prints as, first: the note names the ones shown with "?"
        if f.kind != "signature":  # a signature field's value is its signer's name
            printed(f.value, f.name)
    for s in signed.signatures:
        printed(s.signer, f"signature {s.field}")
    note = _note(signed, found, library.template_version, name, pdf, printed)
    noted = attrs.evolve(form, sections=(*_seen(form, found).sections, note))
    problems = missing_glyphs(noted)
    if problems:  # the form's own text: rendered before, so only a pack's fonts changed since
        raise RenderError("the archival copy cannot be made: its fonts cannot draw some characters of this "
                          "form", problems=problems)
    document = layout(form_html(noted), form.packs, large_print=form.large_print)
    places = field_places(document)
    base = write_document(document, form, variant, claim_ua=False)
    layers = _values(form, signed, places, document, printed)
    made = _assemble(base, layers, form, variant, pdf, name, signed)
    return Archived(made, signed, name, tuple(printed.substituted))


def archive_file_name(path: str | Path) -> str:
    """``SIGNED.pdf`` -> ``SIGNED.archive.pdf`` (the name ``consent archive`` writes)."""
    return Path(path).stem + SUFFIX


def _as_made(signed: SignedForm, found: FormData) -> bool:
    """Every field holds what consent made it with (the printed names, the screening answers given when
    the form was made; nothing else): nothing was filled in."""
    made = {**prefilled(found.document), **answers(found.document)} if found.render.get("fillable") else {}
    return all(f.value == made.get(f.name, "") for f in signed.fields)


def _original_name(name: str | None, form_id: str) -> str:
    """The attachment's name: the file's own (``SIGNED.pdf``) when it is a plain one, else
    ``signed-<form id>.pdf``."""
    if name:
        name = Path(name).name
        if name.lower().endswith(".pdf") and len(name) <= 120 and all(
                ch.isprintable() and ch not in '\\/:*?"<>|' for ch in name):
            return name
    return f"signed-{form_id}.pdf"


def _seen(form: Form, found: FormData) -> Form:
    """The form as the signer saw its pages: a fillable form's screening boxes are empty on the page
    (its radio buttons draw the answers, which the copy prints as read); a flat form as it was made."""
    return unanswered(form) if found.render.get("fillable") else form


class _Printed:
    """Text as the copy's fonts can print it: a character none of them has is shown as "?" (and the
    value named in the note), never as a missing glyph. Control characters are spaces."""

    def __init__(self, coverage: frozenset[int]) -> None:
        self.coverage = coverage
        self.substituted: list[str] = []

    def __call__(self, text: str, what: str) -> str:
        out = []
        for ch in text:
            category = unicodedata.category(ch)
            if ch.isspace() or category == "Cc":
                out.append(" ")
            elif category == "Cf":
                continue
            elif ord(ch) in self.coverage:
                out.append(ch)
            else:
                out.append("?")
                if what not in self.substituted:
                    self.substituted.append(what)
        return " ".join("".join(out).split())


# --------------------------------------------------------------------------- the values, at their places


@attrs.frozen
class _Layer:
    """What the copy draws over one page: the slots and ticks laid out by overlay.html, and the white
    covers under them (rectangles in points) over a name the form prints under its field."""

    page: int  # 0-based
    kind: PageKind
    values: dict[str, str]
    ticked: frozenset[int]
    covers: tuple[tuple[float, float, float, float], ...]


def _values(form: Form, signed: SignedForm, places: tuple[FieldPlace, ...], document: Any,
            printed: _Printed) -> list[_Layer]:
    """Every field's value (and each signature) at its place, grouped by page."""
    by_name: dict[str, list[FieldPlace]] = {}
    for place in places:
        by_name.setdefault(place.name, []).append(place)
    signatures = {s.field: s for s in signed.signatures}
    under = set(prefilled(form))  # the printed names a fillable form prints under their fields
    pages: dict[int, dict[str, Any]] = {}
    spots = 0
    for f in signed.fields:
        found = by_name.get(f.name)
        if not found:
            continue  # no place on the page (listed in the note, which lists every signature)
        if f.kind == "radio":
            place = next((p for p in found if p.value == f.value), None)
            if place is not None:
                page = pages.setdefault(place.page, {"slots": [], "spots": [], "covers": [], "values": {}})
                page["spots"].append(_spot(spots, place, document))
                spots += 1
            continue
        place = found[0]
        text, size, lines = _shown(f, signatures.get(f.name), signed.trust_checked, printed)
        if not text:
            continue
        page = pages.setdefault(place.page, {"slots": [], "spots": [], "covers": [], "values": {}})
        page["slots"].append((f.name, place, size, lines))
        page["values"][f.name] = text
        if f.name in under:
            page["covers"].append((place.x0, place.y0, place.x1, place.y1))
    out = []
    for number, page in sorted(pages.items()):
        box = document.pages[number]._page_box
        origin = (box.content_box_x(), box.content_box_y())
        slots = tuple(_slot(name, place, size, lines, box, origin)
                      for name, place, size, lines in page["slots"])
        kind = PageKind(round(box.height - 0.5, 3), slots, tuple(page["spots"]), origin)
        out.append(_Layer(number, kind, page["values"], frozenset(s.index for s in page["spots"]),
                          tuple(page["covers"])))
    return out


def _shown(f: Field, signature: Signature | None, trust_checked: bool, printed: _Printed
           ) -> tuple[str, float, int]:
    """What the copy prints at a text or signature field's place, its size (points) and lines."""
    if f.kind == "signature":
        if signature is not None and not signature.problem:
            return printed(_signed_line(signature, trust_checked), f"signature {f.name}"), SIGNATURE_PT, 2
        return ("(not signed)" if f.required else ""), VALUE_PT, 1
    if f.filled:
        return printed(f.value, f.name), VALUE_PT, 1
    return ("(not filled in)" if f.required else ""), VALUE_PT, 1


def _signed_line(s: Signature, trust_checked: bool) -> str:
    when = f" on {s.signed_at:%Y-%m-%d %H:%M %Z}".rstrip() if s.signed_at else " (no signing time given)"
    return f"Signed digitally by {s.signer}{when} ({_validity(s, trust_checked)})"


def _validity(s: Signature, trust_checked: bool) -> str:
    """As ``consent verify`` says it: valid or broken, and the signer's trust."""
    state = "valid signature" if s.intact and s.valid else "BROKEN signature"
    if not trust_checked:
        trust = "signer not checked against a trust root"
    else:
        trust = "signer trusted" if s.trusted else "signer NOT trusted by the given roots"
    stamp = ", timestamped" if s.timestamped else ""
    return f"{state}{stamp}; {trust}"


def _slot(name: str, place: FieldPlace, size: float, lines: int, box: Any,
          origin: tuple[float, float]) -> Slot:
    """A slot of overlay.html at a field's place (points from the page's lower left) in CSS pixels from
    the page's content box, as the shared layout measures its slots; inset as a viewer writes a value."""
    inset = INSET_PT / PT_PER_PX
    x = place.x0 / PT_PER_PX - origin[0] + inset
    y = box.margin_height() - place.y1 / PT_PER_PX - origin[1]
    width, height = place.width / PT_PER_PX - 2 * inset, place.height / PT_PER_PX
    return Slot(name, x, y, width, height, size / PT_PER_PX, 400, lines)


def _spot(index: int, place: FieldPlace, document: Any) -> Spot:
    box = document.pages[place.page]._page_box
    return Spot(index, place.x0 / PT_PER_PX - box.content_box_x(),
                box.margin_height() - place.y1 / PT_PER_PX - box.content_box_y(),
                place.width / PT_PER_PX, place.height / PT_PER_PX)


def _laid_out_layer(form: Form, layers: list[_Layer]) -> Any:
    """overlay.html laid out: a first page (the page strings, not used), then a page per layer. A value
    that takes more lines than its slot has is made smaller and laid out again (down to SMALLEST_PT;
    then it wraps, all of it printed)."""
    values = {name: text for layer in layers for name, text in layer.values.items()}
    ticked = {index for layer in layers for index in layer.ticked}
    kinds = [layer.kind for layer in layers]
    for _ in range(FITS):
        document = layer_document(form, kinds, values, ticked)
        wide = _too_wide(document, {s.name: s for kind in kinds for s in kind.slots})
        if not wide:
            return document
        smaller = {s.name: max(s.font_size * 0.85, SMALLEST_PT / PT_PER_PX)
                   for kind in kinds for s in kind.slots if s.name in wide}
        kinds = [attrs.evolve(kind, slots=tuple(
            attrs.evolve(s, font_size=smaller[s.name]) if s.name in smaller else s for s in kind.slots))
            for kind in kinds]
    return document


def _too_wide(document: Any, slots: dict[str, Slot]) -> set[str]:
    """The slots whose value takes more lines than the slot has (and can still be made smaller)."""
    boxes = page_boxes()
    out = set()
    for page in document.pages:
        for box in page._page_box.descendants(placeholders=True):
            name = slot_name(box, "slot-abs")
            slot = slots.get(name) if name is not None else None
            if slot is None:
                continue
            lines = len([c for c in box.children if isinstance(c, boxes.LineBox)])
            if lines > slot.lines and slot.font_size > SMALLEST_PT / PT_PER_PX + 1e-6:
                out.add(name)
    return out


# --------------------------------------------------------------------------- the note


def _note(signed: SignedForm, found: FormData, template_version: str, name: str, pdf: bytes,
          printed: _Printed) -> Section:
    """The copy's last section: what it is, the verdict when it was made, each signature, and how to
    verify the signed original attached to it."""
    verdict = signed.verdict
    status = verdict.status
    paragraphs = [
        Paragraph("This is an archival copy (PDF/A-3) of the consent form above, made by consent "
                  f"{__version__}. The pages before this section show the form as it came back: the form's "
                  "own text, and every value filled in and every signature as they were read from the signed "
                  "form.")
    ]
    if status == "INTACT":
        paragraphs.append(Paragraph(
            f"When this copy was made, the signed form was INTACT ({verdict.reasons[0]}): unchanged since it "
            "was made, and every required field filled in and signed.", style="strong"))
    else:
        reasons = printed("; ".join(verdict.reasons), "the verdict")
        what = ("INCOMPLETE: this is a copy of a form that was not completed" if status == "INCOMPLETE"
                else f"{status}: this is a copy of a form that did not pass verification")
        paragraphs.append(Paragraph(f"When this copy was made, the signed form was {what} ({reasons}).",
                                    style="strong"))
    for s in signed.signatures:
        who = "Sealed by the clinic" if s.field == SEAL_FIELD else f"Signature {s.field}: signed digitally"
        when = f" on {s.signed_at:%Y-%m-%d %H:%M %Z}".rstrip() if s.signed_at else ""
        line = (f"{who} by {s.signer}{when}: {_validity(s, signed.trust_checked)}; it covers {s.coverage}; "
                f"changes after it: {s.changes_after}.")
        if s.problem:
            line = f"Signature {s.field}: {s.problem}."
        paragraphs.append(Paragraph(printed(line, f"signature {s.field}")))
    if not signed.signatures:
        paragraphs.append(Paragraph("The form carries no digital signature."))
    if printed.substituted:
        paragraphs.append(Paragraph(
            "Characters that the fonts of this copy cannot draw are shown as \"?\" in: "
            f"{', '.join(printed.substituted)}. The signed form attached holds them as they were filled in."))
    d = found
    if d.generator_version != __version__ or d.template_version != template_version:
        paragraphs.append(Paragraph(
            f"The form was made by consent {d.generator_version} (template {d.template_version}); this copy "
            f"was laid out by consent {__version__} (template {template_version}): its text is the form's "
            "own, its layout may differ slightly."))
    digest = hashlib.sha256(pdf).hexdigest()
    paragraphs.append(Paragraph(printed(
        f"The signed form is attached to this file, byte for byte, as {name} ({len(pdf):,} bytes, SHA-256 "
        f"{digest}). Its signatures are verified on it, not on this copy: save the attachment (a PDF "
        f"reader's attachments panel, or: qpdf --show-attachment={name} THIS.pdf > {name}) and run: "
        f"consent verify {name} --trust CLINIC-CA.pem", "the file name")))
    return Section(NOTE_ID, __version__, "About this archival copy", tuple(paragraphs), kind=NOTE_ID)


# --------------------------------------------------------------------------- putting it together


def _assemble(base: bytes, layers: list[_Layer], form: Form, variant: str, original: bytes, name: str,
              signed: SignedForm) -> bytes:
    """The copy: ``base`` (the form's pages as a PDF/A) with each layer drawn over its page, the signed
    original attached (relationship Source), and the content hash stamped."""
    import pikepdf

    from ..pdf.stamp import stamp_open

    layer_pdf = (write_document(_laid_out_layer(form, layers), form, variant, claim_ua=False) if layers
                 else None)
    with pikepdf.open(io.BytesIO(base)) as doc:
        if layer_pdf is not None:
            with pikepdf.open(io.BytesIO(layer_pdf)) as drawn:
                for k, layer in enumerate(layers):
                    _draw_over(doc, doc.pages[layer.page], drawn.pages[k + 1], layer.covers)
        _attach(doc, original, name, form, signed)
        stamp_open(doc)
        out = io.BytesIO()
        doc.save(out, deterministic_id=True)
    return out.getvalue()


def _draw_over(doc: Any, page: Any, layer_page: Any,
               covers: tuple[tuple[float, float, float, float], ...]) -> None:
    """The layer's page over ``page``, as a form XObject (its fonts and resources with it: the layer's
    font subsets have tags of their own, see consent/pdf/finish.py), after white covers; the page's own
    content wrapped in q/Q so that its graphics state does not reach the layer."""
    import pikepdf

    xobject = doc.copy_foreign(layer_page.as_form_xobject())
    # The page's own resources (WeasyPrint's pages share one), with the layer under a fixed name.
    resources = pikepdf.Dictionary(dict(page.obj.get("/Resources", pikepdf.Dictionary()).items()))
    xobjects = pikepdf.Dictionary(dict(resources.get("/XObject", pikepdf.Dictionary()).items()))
    name = pikepdf.Name("/ConsentArchive")
    while name in xobjects:  # never with WeasyPrint's names; a fixed name all the same (deterministic)
        name = pikepdf.Name(str(name) + "X")
    xobjects[name] = xobject
    resources.XObject = xobjects
    page.obj.Resources = resources
    fill = b"".join(b"%.3f %.3f %.3f %.3f re " % (x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in covers)
    ops = b"Q " + (b"q 1 g " + fill + b"f Q " if covers else b"") + b"q " + name.unparse() + b" Do Q\n"
    page.contents_add(doc.make_stream(b"q\n"), prepend=True)
    page.contents_add(doc.make_stream(ops), prepend=False)


def _attach(doc: Any, original: bytes, name: str, form: Form, signed: SignedForm) -> None:
    """The signed original, as an associated file of the document (catalog /AF, relationship Source)."""
    import pikepdf

    made = dt.datetime.combine(form.date, dt.time(0, 0), tzinfo=dt.UTC)  # as the form's own attachments
    times = [_utc(s.signed_at) for s in signed.signatures if s.signed_at is not None]
    changed = max(times) if times else made
    spec = pikepdf.AttachedFileSpec(
        doc, original, description="The signed consent form, byte for byte as it came back: verify it with "
                                   "consent verify", filename=name, mime_type="application/pdf",
        creation_date=_pdf_date(made), mod_date=_pdf_date(max(changed, made)),
        relationship=pikepdf.Name.Source)
    doc.attachments[name] = spec
    files = doc.Root.get("/AF")  # pikepdf lists a file with a relationship there itself; else it is added
    if not isinstance(files, pikepdf.Array):
        files = doc.Root.AF = pikepdf.Array()
    if not any(f.is_indirect and f.objgen == spec.obj.objgen for f in files):
        files.append(spec.obj)


def _utc(when: dt.datetime) -> dt.datetime:
    """A time in UTC; one without a zone is taken as UTC (never this machine's zone: same bytes anywhere)."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _pdf_date(when: dt.datetime) -> str:
    return _utc(when).strftime("D:%Y%m%d%H%M%SZ")
