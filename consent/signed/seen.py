"""What the signer saw is what the file holds: the values, the facts and nothing drawn over the pages.

A form filled in and signed on screen is read by the EHR from its field values and its embedded data, but
the signer read its pages; an attacker who changes what the file holds without changing what it shows, or
the other way round (issue 13: pdf-insecurity.org's shadow attacks), makes the two disagree. So every text,
radio and checkbox field's appearance must show the value it holds (:func:`unshown`), the facts of the
embedded consent-form.json that ``consent record`` sends must be printed on the pages (:func:`unprinted`,
reading the pages' text with pypdf), and nothing but the form's own fields may be drawn over the pages
(:func:`overlays`: another annotation, a widget of no field, an XFA form). :mod:`consent.signed.read` turns
what they find into the verdict.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pikepdf

from ..pdf.acroform import FormField, dictionaries, draws_nothing, same_text, shown, text
from .changes import FieldState, quoted

if TYPE_CHECKING:
    from ..document import Form

# Annotations that are the form's fields, or draw nothing of their own over the page.
_NOT_DRAWN = ("/Widget", "/Link", "/Popup")


def overlays(doc: pikepdf.Pdf, entries: list[FormField]) -> tuple[str, ...]:
    """Annotations drawn over the pages that are not the form's fields: any but a link or a popup, and a
    widget that belongs to no field (a viewer shows it all the same); an XFA form, which some viewers
    show instead of the fields."""
    widgets = {w.objgen for e in entries for w in e.widgets if w.is_indirect}
    out = []
    for n, page in enumerate(doc.pages, 1):
        for a in dictionaries(page.obj.get("/Annots")):
            subtype = text(a.get("/Subtype"))
            orphan = subtype == "/Widget" and not (a.is_indirect and a.objgen in widgets)
            if subtype not in _NOT_DRAWN:
                out.append(f"page {n}: {subtype.removeprefix('/') or '?'}")
            elif orphan and not draws_nothing(a):
                out.append(f"page {n}: a widget of no form field")
    acroform = doc.Root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary) and "/XFA" in acroform:
        out.append("an XFA form, which some viewers show instead of the form's fields")
    return tuple(out)


def unshown(
    entries: list[FormField], states: dict[str, FieldState], made: dict[str, FieldState]
) -> tuple[str, ...]:
    """Fields whose appearance does not show the value they hold (what the signer saw is not what is
    recorded). A text field shows the text its appearance writes; one that writes nothing may hold the
    value consent gave it when it made the form (a pre-filled name, printed on the page under it). A radio
    button shows the states its widgets are in, drawn with the appearances consent made for them."""
    out = []
    for entry in entries:
        f = entry.field
        if f.kind not in ("text", "radio", "checkbox"):
            continue
        if any("/OC" in w for w in entry.widgets):
            out.append(f"{f.name} (its widget is in an optional-content layer, which a viewer may hide)")
            continue
        showing, problem = shown(entry)
        if problem:
            out.append(f"{f.name} ({problem})")
            continue
        as_made = made.get(f.name)
        if f.kind == "text":
            ok = same_text(showing, f.value) or (
                not showing.strip() and as_made is not None and as_made.look == states[f.name].look
            )
        else:
            if as_made is not None and as_made.buttons != states[f.name].buttons:
                out.append(f"{f.name} (the appearance of its buttons was changed since the form was made)")
                continue
            ok = showing == f.value
        if not ok:
            out.append(f"{f.name} (holds {quoted(f.value)}, shows {quoted(showing)})")
    return tuple(out)


def unprinted(
    pdf: bytes, doc: pikepdf.Pdf, entries: list[FormField], *, merged: set[str]
) -> tuple[str, ...]:
    """The facts of the embedded form data (consent-form.json: the data ``consent record`` sends) that no
    page prints: the form id, the patient's name, birth date and MRN, the form's date, title and clinic,
    and each screening question. Nothing when the form carries no such data (made before it was embedded:
    ``record`` refuses it) or it cannot be read (its stamped digest then says it changed)."""
    from .._form_data import MAX_FORM_DATA_BYTES, PDF_ATTACHMENT, parse_form_data

    try:
        data = doc.attachments[PDF_ATTACHMENT].get_file().read_bytes()
        if len(data) > MAX_FORM_DATA_BYTES:  # refused by record as it reads it
            return ()
        form = parse_form_data(data).document
    except (KeyError, ValueError, pikepdf.PdfError):
        return ()
    facts = _facts(form, merged)
    wanted = [(what, value, _printed(value)) for what, value in facts if value and value.strip()]
    # Page 1 prints the form's facts, and the screening questions are where their fields are: those first.
    at = {e.field.page for e in entries if e.field.name.startswith("screening.") and e.field.page}
    try:
        wanted = _not_printed(pdf, wanted, first=at)
    except Exception:  # noqa: BLE001 - pypdf meets a damaged page with many kinds of error
        return ("facts (the pages' text cannot be read)",)
    return tuple(f"{what} {value!r}" for what, value, _ in wanted)


def _facts(form: Form, merged: set[str]) -> list[tuple[str, str | None]]:
    """The facts of the form data that its pages print, each with what it is ("MRN", "SRH-0042"): those of
    :func:`unprinted`, but the form's date when a template's merge field holds it (``merged``)."""
    from .._text import long_date
    from ..document import Checklist

    h = form.header
    try:
        when = long_date(form.date, form.locale)
    except Exception:  # noqa: BLE001 - a locale Babel does not know (the data's, perhaps edited)
        when = form.date.isoformat()
    facts = [("form id", form.form_id), ("patient name", h.patient_name), ("birth date", h.birth_date),
             ("MRN", h.mrn), ("form date", when), ("title", form.title), ("clinic", h.clinic_name)]
    # A template's merge fields hold those facts instead: its data has the date it was made, which its pages
    # leave to the form-date field (whose appearance shows what it holds: see unshown).
    facts = [(what, value) for what, value in facts if not (what == "form date" and "form.date" in merged)]
    facts += [("screening question", row.question) for section in form.sections for block in section.blocks
              if isinstance(block, Checklist) for row in block.rows]
    return facts


def _not_printed(
    pdf: bytes, wanted: list[tuple[str, str, re.Pattern[str]]], *, first: set[int]
) -> list[tuple[str, str, re.Pattern[str]]]:
    """The facts of ``wanted`` that no page's text shows, read page by page with pypdf until all are found:
    page 1, then the pages ``first``, then the rest. Raises whatever pypdf meets in a damaged page."""
    with _pypdf_quietly():
        import pypdf

        reader = pypdf.PdfReader(io.BytesIO(pdf))
        order = [1, *sorted(first - {1}), *(n for n in range(2, len(reader.pages) + 1) if n not in first)]
        for number in order:
            page = reader.pages[number - 1].extract_text() or ""
            # Also as if hyphenated words and numbers were not broken at the end of a line.
            seen = "\n".join(_normal(page.replace("-\n", joint)) for joint in ("-\n", "", "-"))
            wanted = [w for w in wanted if not w[2].search(seen)]
            if not wanted:
                break
    return wanted


@contextlib.contextmanager
def _pypdf_quietly() -> Iterator[None]:
    """pypdf logs what it finds wrong in a damaged file as warnings (and may warn): the verdict says what
    matters, so they do not reach the user, for the call in hand only."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="pypdf")
            yield
    finally:
        logger.setLevel(level)


def _normal(text: str) -> str:
    """Text as compared with the pages: NFKC, case folded, each run of spaces and line breaks one space."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _printed(value: str) -> re.Pattern[str]:
    """A fact as the pages print it: its words in order, with a line break or one space between them (or
    none: a text extractor may drop it), and whole: after a space, a line break, "(" or "·", and before
    one of those or ".,;:)", so that "SRH-0042" is not found in "SRH-004211", nor "SRH" in it."""
    words = _normal(value).split()
    return re.compile(r"(?<![^\s(·])" + r" ?".join(re.escape(w) for w in words) + r"(?![^\s.,;:)·])")
