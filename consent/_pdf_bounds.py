"""How much a PDF read back decompresses to, measured before qpdf decompresses it (MAX_DECODED_BYTES).

A PDF's streams are compressed: 1 MB of Flate data can stand for 1 GB, and qpdf decompresses a stream whole,
in memory, when it is read (``read_bytes``) or when an object inside an object stream is looked up. So a
form read back (``verify``, ``seal``, ``record``, ``rerender``) is first measured: every stream of the file,
object and cross-reference streams included, counted without being kept, to at most the limit, while qpdf's
own decoding limits stand guard (:func:`qpdf_guard`). Then each stream consent decompresses is read through
a :class:`DecodeBudget`.

A stream whose first filter is Flate (every stream consent, WeasyPrint, pikepdf and the signing tools write)
is measured exactly; any other filter counts as its largest possible growth (``_GROWTH``), so an old
LZW-compressed file may be refused though it would fit.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ._limits import MAX_DECODED_BYTES, LimitExceeded, inflated_size

_FLATE = frozenset({"/FlateDecode", "/Fl"})
# How many times larger a filter's output can be than its input. ASCIIHex halves; a predictor (DecodeParms)
# never grows; the image filters (DCT, JPX, CCITT, JBIG2) are not decoded for read_bytes (it raises, and the
# caller reads the bytes as stored), so they count 1.
_GROWTH = {
    "/FlateDecode": 1032, "/Fl": 1032,  # zlib's largest ratio
    "/LZWDecode": 2600, "/LZW": 2600,  # a 12-bit code for a 3,800-byte string
    "/RunLengthDecode": 64, "/RL": 64,  # two bytes for a run of 128
    "/ASCII85Decode": 4, "/A85": 4,  # "z" for four zero bytes
}
# qpdf's own limits (pikepdf.settings.set_qpdf_limits, in recent pikepdf), in force while a file is read back:
# a bomb in an object stream, which qpdf decompresses to find the objects in it, stops there instead of
# filling the memory.
_QPDF_LIMITS = ("flate_max_memory", "run_length_max_memory", "png_max_memory", "tiff_max_memory")


def _filters(stream: Any) -> list[str]:
    import pikepdf

    found = stream.stream_dict.get("/Filter")
    if isinstance(found, pikepdf.Name):
        return [_name(found)]
    if isinstance(found, pikepdf.Array):
        return [_name(item) if isinstance(item, pikepdf.Name) else "?" for item in found]
    return []


def _name(name: Any) -> str:
    """A name as written, whatever its bytes (a damaged file's name need not be UTF-8)."""
    return bytes(name.unparse()).decode("latin-1")


def size_bound(stream: Any, limit: int) -> int:
    """At most how many bytes ``stream.read_bytes()`` gives (counted exactly, up to ``limit`` + 1, when the
    first filter is Flate)."""
    names = _filters(stream)
    raw = stream.read_raw_bytes()
    if names and names[0] in _FLATE:
        size, rest = inflated_size(raw, limit), names[1:]
    else:
        size, rest = len(raw), names
    for name in rest:
        size *= _GROWTH.get(name, 1)
    return size


def _too_much(what: str, limit: int, bomb: str = "") -> LimitExceeded:
    return LimitExceeded(f"{what} more than {limit:,} bytes once decompressed{bomb}; "
                         f"the limit is {limit:,} bytes")


class DecodeBudget:
    """Bytes still to be decompressed from one PDF. :meth:`read` is ``stream.read_bytes()`` that first
    makes sure the stream fits, and raises LimitExceeded (``what`` ... ``more than N bytes``) if not."""

    def __init__(self, limit: int = MAX_DECODED_BYTES, what: str = "the PDF's streams hold") -> None:
        self.limit = self.left = limit
        self.what = what

    def read(self, stream: Any) -> bytes:
        if size_bound(stream, self.left) > self.left:
            raise _too_much(self.what, self.limit)
        data: bytes = stream.read_bytes()
        self.left -= len(data)
        return data


def stream_bytes(stream: Any, limit: int, what: str) -> bytes:
    """One stream's decoded bytes, if they are at most ``limit``; LimitExceeded (naming ``what``) if not."""
    return DecodeBudget(limit, what).read(stream)


@contextlib.contextmanager
def qpdf_guard(limit: int = MAX_DECODED_BYTES) -> Iterator[None]:
    """qpdf's decoding limits at ``limit`` (where they are not already lower) for the block, then as they
    were. They are process-wide: set here only while consent reads a file it did not make."""
    from pikepdf import settings

    if not hasattr(settings, "set_qpdf_limits"):  # an older pikepdf: the measuring still stands
        yield
        return
    current = settings.get_qpdf_limits()
    lower = {name: limit for name in _QPDF_LIMITS if current.get(name) in (0, None) or current[name] > limit}
    previous = settings.set_qpdf_limits(**lower) if lower else {}
    try:
        yield
    finally:
        if previous:
            settings.set_qpdf_limits(**previous)


def check_pdf(data: bytes, limit: int = MAX_DECODED_BYTES) -> None:
    """Raise LimitExceeded when the streams of the PDF ``data`` together decompress to more than ``limit``
    bytes, each measured without being kept. A file qpdf cannot open is left to the reader to report."""
    import pikepdf

    budget = 0
    with qpdf_guard(limit):
        try:
            pdf = pikepdf.open(io.BytesIO(data))
        except (pikepdf.PdfError, pikepdf.PasswordError, RuntimeError, ValueError):
            return
        with pdf:
            try:
                streams = [obj for obj in pdf.objects if isinstance(obj, pikepdf.Stream)]
            except (pikepdf.PdfError, RuntimeError, ValueError):
                return  # damage qpdf cannot get past: the reader says so
            for stream in streams:
                try:
                    budget += size_bound(stream, limit - budget)
                except (pikepdf.PdfError, RuntimeError, ValueError):
                    continue  # a stream qpdf cannot read at all: nothing to decompress
                if budget > limit:
                    raise _too_much("the PDF's streams hold", limit, " (a compression bomb?)")


F = TypeVar("F", bound=Callable[..., Any])


def measured_first(error: Callable[[str], Exception]) -> Callable[[F], F]:
    """For a function whose first argument is a PDF read back (bytes): the file is measured before the
    function sees it (:func:`check_pdf`; beyond the limit, ``error`` with the reason is raised), and qpdf's
    limits stand while it runs (:func:`qpdf_guard`), for what it opens besides (an earlier revision, an
    original to compare with)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(pdf: bytes, *args: Any, **kwargs: Any) -> Any:
            try:
                check_pdf(pdf)
            except LimitExceeded as exc:
                raise error(str(exc)) from None
            with qpdf_guard():
                return func(pdf, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
