"""The stamp consent wrote into a form when it made it, read back, and the file checked against it.

:mod:`consent.pdf.stamp` writes into the document information the form id, a hash of each page's
content, the fields' layouts, the digests of the embedded files and a template's merge fields. This module
opens the file as ``consent verify`` needs it (one that is not a PDF, is encrypted or carries no stamp, a
scan or another program's PDF, is :class:`consent.errors.NotAConsentForm`), reads the stamp (also from the
file's first revision, which no later incremental update can rewrite) and the manifest, and says which
embedded files differ from the stamp, in which update a changed page was changed, and how the pages differ
from the original form when one is given. :mod:`consent.signed.read` holds the verdict they lead to.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import attrs
import pikepdf

from ..errors import NotAConsentForm
from ..pdf.acroform import text
from ..pdf.stamp import DATA_KEY, FIELDS_KEY, FORM_ID_KEY, HASH_KEY, PAGES_KEY, content_hash, page_hashes
from ..template.signers import MERGE_FIELDS_KEY

_MANIFESTS = ("consent-manifest.json", "consent-form.json")


@attrs.frozen
class Stamp:
    """What consent stamped into the form's document information when it made it."""

    form_id: str
    pages: tuple[str, ...]  # page hashes
    fields: tuple[str, ...] | None  # field layouts (None: not recorded)
    data: tuple[tuple[str, str], ...] | None = None  # embedded files and their digests (None: not recorded)
    merge: str | None = None  # a pdf-form template's merge fields (see consent.template.signers); None: not recorded


def open_pdf(pdf: bytes) -> pikepdf.Pdf:
    """The file opened with pikepdf; :class:`~consent.errors.NotAConsentForm` when it is not a PDF, cannot be
    read, or is encrypted."""
    if b"%PDF-" not in pdf[:1024]:  # readers accept a header anywhere in the first kilobyte
        raise NotAConsentForm("this file is not a PDF")
    try:
        doc = pikepdf.open(io.BytesIO(pdf))
    except pikepdf.PasswordError:
        raise NotAConsentForm("it is encrypted (password protected); consent never encrypts a form") from None
    except pikepdf.PdfError as exc:
        reason = re.sub(r"^.*?object at 0x[0-9a-f]+>\)?:?\s*", "", str(exc))  # qpdf names the buffer first
        raise NotAConsentForm(f"it is not a readable PDF ({reason})") from None
    if doc.is_encrypted:
        doc.close()
        raise NotAConsentForm("it is encrypted; consent never encrypts a form")
    return doc


def first_revision_stamp(pdf: bytes) -> Stamp | None:
    """The stamp as consent wrote it: read from the file's first revision (everything up to its first
    %%EOF), which later incremental updates cannot change. None when the file has one revision only, or
    the first one is not a stamped consent form."""
    end = pdf.find(b"%%EOF")
    if end < 0 or not pdf[end + 5 :].strip():
        return None
    try:
        with pikepdf.open(io.BytesIO(pdf[: end + 5])) as doc:
            return read_stamp(doc)
    except (pikepdf.PdfError, NotAConsentForm):
        return None


def read_stamp(doc: pikepdf.Pdf) -> Stamp:
    info = doc.docinfo
    form_id = str(info.get(FORM_ID_KEY, "")).strip()
    if not form_id:
        maker = " ".join(dict.fromkeys(_printable(info.get(k)) for k in ("/Creator", "/Producer"))).strip()
        raise NotAConsentForm(
            "it carries no consent form id: a scan, or a PDF another program made"
            + (f" ({maker})" if maker else ""),
            hint="only a PDF made by consent (and then filled in or signed) can be verified or recorded. A "
                 "Word document saved as PDF (a docx-merge template merged in Word or LibreOffice, then "
                 "exported) is such a PDF: it carries none of the form's stamp; for forms signed on screen "
                 "and recorded, use a pdf-form template (consent template --format pdf-form)",
        )
    stamped = str(info.get(PAGES_KEY, "")).split()
    if not stamped or content_hash(stamped) != str(info.get(HASH_KEY, "")):
        raise NotAConsentForm(
            f"form {form_id} carries no valid content hash, so what it showed cannot be proved",
            hint="forms made by an earlier version of consent carry no content hash; make the form again",
        )
    fields, data = info.get(FIELDS_KEY), info.get(DATA_KEY)
    files = None if data is None else tuple(
        (name, digest) for line in str(data).splitlines() for name, _, digest in [line.rpartition(" ")]
    )
    merge = info.get(MERGE_FIELDS_KEY)
    return Stamp(
        form_id, tuple(stamped), None if fields is None else tuple(str(fields).splitlines()), files,
        None if merge is None else str(merge),
    )


def _printable(value: Any) -> str:
    """A document information entry of another program's PDF, as a short line of printable text."""
    shown = "".join(c for c in text(value) if c.isprintable())
    return shown[:60]


def read_manifest(doc: pikepdf.Pdf) -> dict[str, Any]:
    """The manifest attached to the form (the archival attachment holds it under "manifest")."""
    for name in _MANIFESTS:
        if name in doc.attachments:
            try:
                data = json.loads(doc.attachments[name].get_file().read_bytes())
            except (ValueError, pikepdf.PdfError):
                continue
            if isinstance(data, dict):
                inner = data.get("manifest")
                return inner if isinstance(inner, dict) else data
    try:
        data = json.loads(str(doc.docinfo.get("/consentmanifest", "{}")))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def compare_with_original(form_id: str, now: list[str], original: bytes) -> tuple[tuple[int, ...], str]:
    """Pages that differ from the original form, or why the original is not this form at all."""
    try:
        with open_pdf(original) as doc:
            other_id = read_stamp(doc).form_id
            then = page_hashes(doc)
    except NotAConsentForm as exc:
        return (), f"the original given is not a consent form: {exc.summary}"
    if other_id != form_id:
        return (), f"the original given is form {other_id}, not {form_id}"
    if len(then) != len(now):
        return (), f"the original has {len(then)} pages, this file {len(now)}"
    return tuple(n for n, (a, b) in enumerate(zip(then, now, strict=True), 1) if a != b), ""


def changed_in(pdf: bytes, stamped: tuple[str, ...], changed: tuple[int, ...]) -> dict[int, int]:
    """For each changed page, the incremental update that changed it (1 = the first update after the form
    was made), from the file's history: each revision ends at a %%EOF. A page that differs already in the
    first revision (the file rewritten, or edited in place) has no such update and is left out."""
    ends = [m.end() for m in re.finditer(rb"%%EOF", pdf)]
    found: dict[int, int] = {}
    for update, end in enumerate(ends):
        try:
            with pikepdf.open(io.BytesIO(pdf[:end])) as doc:
                hashes = page_hashes(doc)
        except pikepdf.PdfError:
            continue
        for page in changed:
            if page not in found and page <= len(hashes) and hashes[page - 1] != stamped[page - 1]:
                found[page] = update
    return {page: update for page, update in found.items() if update}


def data_changes(made: dict[str, str], now: dict[str, str]) -> tuple[str, ...]:
    """The embedded files changed, removed or added since the form was made (``made``: their stamped
    digests; ``now``: as the file holds them)."""
    out = [f"{name} {'changed' if name in now else 'removed'}" for name, digest in made.items()
           if now.get(name) != digest]
    return tuple(out + [f"{name} added" for name in now if name not in made])
