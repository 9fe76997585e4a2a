"""The content hash of a consent PDF: what the patient reads, stamped into the file when it is made.

The hash covers, for each page, its size and rotation, its content streams (decoded) and, recursively, every
resource they draw: fonts, images and form XObjects (stream data decoded, the dictionary entries
canonically, whatever the objects' numbers or compression). It leaves out what filling the form changes:
the page's annotations (/Annots: field widgets and their appearances), the AcroForm, the document
information, the attachments and the XMP. A form filled in, signed and sealed keeps its hash; a word, a
pixel or a glyph changed on a page does not (see :mod:`consent.signed.stamped`, which recomputes it).

Where the hash goes: two keys of the document information dictionary, beside ``/consentformid`` and
``/consentmanifest`` that WeasyPrint already writes there from the form's ``<meta>`` tags, in every variant:

- ``/consentcontenthash``: ``sha256:<hex>``, the SHA-256 of the page hashes below, joined by spaces;
- ``/consentpagehashes``: the SHA-256 of each page, in page order, joined by spaces (so a reader can say
  which page changed);
- ``/consentfields``: the form's fields as made, one per line: name, kind, required or optional, page and
  widget rectangles (empty for a flat form), so that a field removed, added, moved or made optional is
  seen even though the hash leaves the fields out;
- ``/consentdatahash``: each embedded file (``consent-form.json``, the data ``consent record`` and
  ``rerender`` read; ``consent-manifest.json``), one per line: its name and the SHA-256 of its bytes, so
  that data edited after the form was made is seen even though the content hash leaves it out. Forms made
  before this key have none; their data is checked against the printed pages only (see
  :mod:`consent.signed.seen`).

Why there and not in the XMP: PDF/A-2 and -3 ask the document information entries that have an XMP
analogue (Title, Author, Subject, Keywords, the dates, Creator, Producer) to match the XMP; custom keys have
none, and a custom XMP property would need a PDF/A extension schema declared in the XMP for this one value.
The form's own custom keys already live in the document information, so the hash sits beside them, and
the XMP, dates and /ID conformance of a PDF/A variant are left as WeasyPrint wrote them.

The stamp is evidence, not protection: anyone can recompute and rewrite it. A clinic's seal
(:func:`consent.seal`, a PAdES signature over the whole file) is what makes a later change provable.
"""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal
from typing import Any

import pikepdf

from .._limits import LimitExceeded
from .._pdf_bounds import DecodeBudget
from ..errors import NotAConsentForm
from .acroform import read_fields

HASH_KEY = "/consentcontenthash"
PAGES_KEY = "/consentpagehashes"
FIELDS_KEY = "/consentfields"
FORM_ID_KEY = "/consentformid"
DATA_KEY = "/consentdatahash"
# Entries about how a stream is stored, not what it holds; /Parent points back up the page tree.
_STORAGE_KEYS = frozenset({"/Length", "/Filter", "/DecodeParms", "/DL", "/Parent"})


class _Canon:
    """Feeds pikepdf objects into a hash in a canonical form: sorted dictionary keys, decoded stream data,
    indirect objects by their content (each hashed once; a reference cycle hashes as a marker)."""

    def __init__(self) -> None:
        self.memo: dict[tuple[int, int], bytes] = {}
        self.open: set[tuple[int, int]] = set()
        self.budget = DecodeBudget(what="its pages hold")  # MAX_DECODED_BYTES decompressed, in all

    def digest(self, obj: Any) -> bytes:
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            key = obj.objgen
            if key in self.memo:
                return self.memo[key]
            if key in self.open:
                return b"cycle"
            self.open.add(key)
            try:
                value = self.memo[key] = self._direct(obj)
            finally:
                self.open.discard(key)
            return value
        return self._direct(obj)

    def _direct(self, obj: Any) -> bytes:
        h = hashlib.sha256()
        if isinstance(obj, pikepdf.Stream):
            h.update(b"S")
            h.update(self._dict(obj.stream_dict, stream=True))
            h.update(_stream_data(obj, self.budget))
        elif isinstance(obj, pikepdf.Dictionary):
            h.update(b"D")
            h.update(self._dict(obj, stream=False))
        elif isinstance(obj, pikepdf.Array):
            h.update(b"A")
            items: list[Any] = list(obj)  # numbers come out of pikepdf as int and Decimal
            if all(type(item) in (int, Decimal) for item in items):  # /Widths, a matrix: numbers only, fast
                h.update(b",".join(_number(item) for item in items))
            else:
                for item in items:
                    h.update(self.digest(item))
        else:
            h.update(_scalar(obj))
        return h.digest()

    def _dict(self, obj: Any, *, stream: bool) -> bytes:
        h = hashlib.sha256()
        for key in sorted(obj.keys()):
            if key in _STORAGE_KEYS and (stream or key == "/Parent"):
                continue
            h.update(key.encode("utf-8", "surrogateescape"))  # a damaged file's names need not be UTF-8
            h.update(self.digest(obj[key]))
        return h.digest()


def _stream_data(stream: pikepdf.Stream, budget: DecodeBudget) -> bytes:
    """The decoded data; a stream qpdf cannot decode (a JPEG image) as stored, with its filters. Beyond the
    ``budget`` (a compression bomb), NotAConsentForm: what the pages show cannot be told."""
    try:
        return b"decoded" + budget.read(stream)
    except LimitExceeded as exc:
        raise NotAConsentForm(str(exc)) from None
    except pikepdf.PdfError:
        filters = [stream.stream_dict.get(key) for key in ("/Filter", "/DecodeParms")]
        stored = b" ".join(f.unparse() if isinstance(f, pikepdf.Object) else b"null" for f in filters)
        return b"raw" + stored + stream.read_raw_bytes()


def _number(value: int | Decimal | float) -> bytes:
    """A number written the same way whoever wrote the file (500, 500.0 and 500.00 are one number)."""
    if type(value) is int:
        return str(value).encode()
    return format(Decimal(str(value)).normalize(), "f").encode()


def _scalar(obj: Any) -> bytes:  # noqa: PLR0911 - one return per kind of PDF object
    if isinstance(obj, pikepdf.Name):
        return b"N" + obj.unparse()
    if isinstance(obj, pikepdf.String):
        return b"T" + bytes(obj)
    if isinstance(obj, bool):
        return b"B1" if obj else b"B0"
    if isinstance(obj, int | Decimal | float):
        return b"R" + _number(obj)
    if obj is None:
        return b"null"
    if isinstance(obj, pikepdf.Object):
        return b"O" + obj.unparse()
    return b"?" + repr(obj).encode()


def page_hashes(pdf: pikepdf.Pdf, known: dict[tuple[int, int], bytes] | None = None) -> list[str]:
    """The SHA-256 (hex) of what each page shows, in page order (see the module docstring). ``known``:
    digests (from :func:`object_digests`) of indirect objects of ``pdf`` already hashed, by object id."""
    canon = _Canon()
    canon.memo.update(known or {})
    out = []
    for page in pdf.pages:
        h = hashlib.sha256()
        for box in (page.mediabox, page.cropbox):
            h.update(canon.digest(box))
        h.update(_scalar(page.obj.get("/Rotate", 0)))
        contents = page.obj.get("/Contents")
        streams = (
            [contents] if isinstance(contents, pikepdf.Stream)
            else list(contents) if isinstance(contents, pikepdf.Array)
            else [contents]  # none, or something that is not content at all: hashed as it is
        )
        h.update(b"contents")
        for stream in streams:
            is_stream = isinstance(stream, pikepdf.Stream)
            h.update(_stream_data(stream, canon.budget) if is_stream else _scalar(stream))
            h.update(b"\n")
        h.update(b"resources")
        h.update(canon.digest(page.obj.get("/Resources", pikepdf.Dictionary())))
        out.append(h.hexdigest())
    return out


def object_digests(objects: list[Any]) -> list[bytes]:
    """The canonical digest of each object, for :func:`page_hashes` ``known`` in a PDF they are copied to."""
    canon = _Canon()
    return [canon.digest(obj) for obj in objects]


def digests_without(objects: list[tuple[Any, frozenset[str]]]) -> list[bytes]:
    """The canonical digest of each object, a dictionary without the keys given with it (at its top
    level: a widget without its page link, say); anything else as :func:`object_digests` has it."""
    canon = _Canon()
    out = []
    for obj, skip in objects:
        if isinstance(obj, pikepdf.Dictionary):
            h = hashlib.sha256(b"D")
            for key in sorted(obj.keys()):
                if key not in skip:
                    h.update(key.encode("utf-8", "surrogateescape"))
                    h.update(canon.digest(obj[key]))
            out.append(h.digest())
        else:
            out.append(canon.digest(obj))
    return out


def content_hash(hashes: list[str]) -> str:
    """The document's content hash, from its page hashes: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(" ".join(hashes).encode()).hexdigest()


def stamp(pdf_bytes: bytes) -> bytes:
    """``pdf_bytes`` with its content hash in the document information (deterministic: same input, same
    bytes out)."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        stamp_open(pdf)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


def stamp_open(pdf: pikepdf.Pdf, *, known: dict[tuple[int, int], bytes] | None = None) -> None:
    """:func:`stamp` on an open PDF about to be saved (the batch path saves its pages once); ``known`` as
    for :func:`page_hashes`. The structure tree's private keys are taken off first (consent/pdf/tags.py):
    this is the last step of every PDF."""
    from .tags import tidy

    tidy(pdf)
    hashes = page_hashes(pdf, known)
    pdf.docinfo[PAGES_KEY] = " ".join(hashes)
    pdf.docinfo[HASH_KEY] = content_hash(hashes)
    pdf.docinfo[FIELDS_KEY] = "\n".join(field.layout for field in read_fields(pdf))
    pdf.docinfo[DATA_KEY] = "\n".join(f"{name} {digest}" for name, digest in embedded_files(pdf).items())


def embedded_files(pdf: pikepdf.Pdf) -> dict[str, str]:
    """Each embedded file of the document (its /EmbeddedFiles name tree), by name: ``sha256:<hex>`` of its
    bytes, or ``unreadable`` when qpdf cannot read it. Sorted by name."""
    out = {}
    for name, spec in pdf.attachments.items():
        try:
            out[name] = "sha256:" + hashlib.sha256(spec.get_file().read_bytes()).hexdigest()
        except (pikepdf.PdfError, ValueError, KeyError):
            out[name] = "unreadable"
    return dict(sorted(out.items()))
