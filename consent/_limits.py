"""Every size limit on what consent reads, in one place, and the checks that enforce them.

Inputs come from EHR exports and clinic files that nobody at the clinic reads line by line, so each
is bounded: a limit is an :class:`~consent.errors.InputError` (or a :class:`~consent.errors.ContentError`
for a pack) that names the limit and the value found, never a hang, a crash or a half-made form.
The README's "Limits" list is this table.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import ContentError, InputError, Problem

MIB = 1024 * 1024

MAX_DATA_FILE_BYTES = 1 * MIB
"""A patient, clinic, screening or CSV mapping file, each YAML file of a pack, and a certificate file
(``verify --trust``, ``seal --cert``)."""
MAX_EXPORT_BYTES = 512 * MIB
"""One EHR export file (FHIR JSON or NDJSON, CSV)."""
MAX_RECORDS_PER_FILE = 100_000
"""Patients (and unreadable lines or rows) in one EHR export file."""
MAX_NESTING = 64
"""Depth of nested mappings and lists in a YAML or JSON file (the FHIR samples go 11 deep)."""
MAX_YAML_NODES = 200_000
"""Values in one YAML file, counting each use of an alias (``*name``) again ("billion laughs")."""
MAX_NAME_CHARS = 200
"""A person's name: ``patient.full_name``, ``clinic.provider.name``."""
MAX_CODE_CHARS = 64
"""A short code: ``patient.mrn``, ``patient.preferred_language``, ``clinic.state``, a currency."""
MAX_TEXT_CHARS = 2_000
"""Any other text field of the patient or the clinic (an address, a fee item, the refund policy)."""
MAX_TEMPLATE_CHARS = 100_000
"""One value made by a template expression of a pack (``'a' * n``, a format width, a filter's width)."""
MAX_PACK_FILES = 2_000
"""Files in one clinic pack folder."""
MAX_PACK_BYTES = 64 * MIB
"""Bytes of all files in one clinic pack folder (fonts included)."""
MAX_FORM_FILE_BYTES = 64 * MIB
"""A form read back: the file given to ``rerender``, ``verify`` (and ``--original``), ``seal``, ``record``."""
MAX_FORM_DATA_BYTES = 1 * MIB
"""The form data embedded in a PDF or DOCX, decompressed (a stock form's is under 45 KB). The DOCX part
that holds it (``docProps/custom.xml``) may be ``DOCX_PART_FACTOR`` times that, for XML escaping."""
MAX_FORM_BLOCKS = 2_000
"""Sections, paragraphs, headings, notices, list items and table rows in one form's embedded data (a stock
form has about 230), counted before the form is built: the time to render a form grows with them."""
MAX_DECODED_BYTES = 64 * MIB
"""Data decompressed from one form read back: all the streams of a PDF (page content, fonts, images,
attachments), all the files of a DOCX; measured before anything is decompressed, so a bomb stops there."""
MAX_DOCX_PARTS = 1_000
"""Files inside one DOCX read back (its zip directory is sized before it is read)."""
MAX_AGE_YEARS = 130
"""A patient's age on the form's date: a birth date further back is a typing mistake (year 1, 1826)."""

DOCX_PART_FACTOR = 8

_SHORT = {
    "patient.full_name": MAX_NAME_CHARS,
    "clinic.provider.name": MAX_NAME_CHARS,
    "patient.mrn": MAX_CODE_CHARS,
    "patient.preferred_language": MAX_CODE_CHARS,
    "clinic.state": MAX_CODE_CHARS,
    "clinic.fees.currency": MAX_CODE_CHARS,
}

LIMITS: Mapping[str, int] = {
    "MAX_DATA_FILE_BYTES": MAX_DATA_FILE_BYTES,
    "MAX_EXPORT_BYTES": MAX_EXPORT_BYTES,
    "MAX_RECORDS_PER_FILE": MAX_RECORDS_PER_FILE,
    "MAX_NESTING": MAX_NESTING,
    "MAX_YAML_NODES": MAX_YAML_NODES,
    "MAX_NAME_CHARS": MAX_NAME_CHARS,
    "MAX_CODE_CHARS": MAX_CODE_CHARS,
    "MAX_TEXT_CHARS": MAX_TEXT_CHARS,
    "MAX_TEMPLATE_CHARS": MAX_TEMPLATE_CHARS,
    "MAX_PACK_FILES": MAX_PACK_FILES,
    "MAX_PACK_BYTES": MAX_PACK_BYTES,
    "MAX_FORM_FILE_BYTES": MAX_FORM_FILE_BYTES,
    "MAX_FORM_DATA_BYTES": MAX_FORM_DATA_BYTES,
    "MAX_FORM_BLOCKS": MAX_FORM_BLOCKS,
    "MAX_DECODED_BYTES": MAX_DECODED_BYTES,
    "MAX_DOCX_PARTS": MAX_DOCX_PARTS,
    "MAX_AGE_YEARS": MAX_AGE_YEARS,
}


class LimitExceeded(ValueError):
    """A file's content is over a limit (raised while parsing; callers add the file and record)."""


# --------------------------------------------------------------------------- files


def file_size_problem(path: Path, limit: int, what: str) -> Problem | None:
    """A Problem when ``path`` is larger than ``limit`` bytes (None if it is not, or cannot be sized)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None  # the reader reports a missing or unreadable file in its own words
    if size > limit:
        return Problem(f"{what} is {size:,} bytes; the limit is {limit:,} bytes", path=str(path))
    return None


def check_file_size(path: Path, limit: int = MAX_DATA_FILE_BYTES, what: str = "the file") -> None:
    problem = file_size_problem(path, limit, what)
    if problem is not None:
        raise InputError(problems=[problem])


def read_bounded(path: Path, limit: int = MAX_DATA_FILE_BYTES, what: str = "the file") -> bytes:
    """The bytes of ``path``, reading at most ``limit`` + 1 of them: a device or a pipe that never ends
    (``/dev/zero``, ``/dev/stdin``) or a file that grew since it was sized is an InputError, not a hang.
    OSError (a missing or unreadable file) is left to the caller."""
    check_file_size(path, limit, what)
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{path}: {what} is more than {limit:,} bytes; the limit is {limit:,} bytes")
    return data


def inflated_size(raw: bytes, limit: int) -> int:
    """How long zlib data decompresses to, counted a chunk at a time without keeping the chunks, and only
    up to ``limit`` + 1 bytes: a compression bomb is measured in its first ``limit`` bytes, never
    decompressed whole. Damaged data counts up to the damage (what a reader gets out of it); like qpdf, the
    count stops at the end of the first zlib stream."""
    inflater = zlib.decompressobj()
    size, pending = 0, raw
    try:
        while size <= limit and not inflater.eof:
            out = inflater.decompress(pending, 1 << 20)
            size += len(out)
            pending = inflater.unconsumed_tail
            if not out and not pending:
                break
    except zlib.error:
        pass
    return size


# --------------------------------------------------------------------------- parsed data


def check_shape(data: Any, *, max_nodes: int | None = None) -> None:
    """Raise LimitExceeded when ``data`` nests deeper than MAX_NESTING or (YAML) has too many values.

    Walks without recursion, counting every visit, so a value reached through many aliases counts
    as many times as a reader of the data would see it.
    """
    stack: list[tuple[Any, int]] = [(data, 0)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if max_nodes is not None and nodes > max_nodes:
            raise LimitExceeded(f"more than {max_nodes:,} values (aliases counted each time they are used); "
                                f"the limit is {max_nodes:,}")
        if isinstance(value, Mapping | list | tuple):
            if depth >= MAX_NESTING:
                raise LimitExceeded(f"nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}")
            children = value.values() if isinstance(value, Mapping) else value
            stack.extend((child, depth + 1) for child in children)


def nesting_error() -> LimitExceeded:
    """For a parser that ran out of stack: the data nests far deeper than the limit."""
    return LimitExceeded(f"nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}")


def load_json(text: str | bytes) -> Any:
    """``json.loads`` within the limits: raises json.JSONDecodeError for bad JSON, LimitExceeded for
    nesting deeper than MAX_NESTING or an integer longer than Python reads (4,300 digits)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise nesting_error() from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # Python's limit on the digits of an integer
        raise LimitExceeded(f"a number is too long to read ({exc})") from None
    check_shape(data)
    return data


# --------------------------------------------------------------------------- text fields


def _bad_pattern(single_line: bool) -> re.Pattern[str]:
    """Every character :func:`bad_character` refuses, as one character class (a fast first look)."""
    ranges = [(0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), (0xD800, 0xDFFF), (0xFDD0, 0xFDEF)]
    ranges += [(plane << 16 | 0xFFFE, plane << 16 | 0xFFFF) for plane in range(17)]
    ranges += [(ord(ch), ord(ch)) for ch in "\t\n\r" if single_line]
    return re.compile("[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]")


_BAD = {single_line: _bad_pattern(single_line) for single_line in (False, True)}


def bad_character(text: str, *, single_line: bool) -> tuple[int, str] | None:
    """(position, description) of the first character that is not text: control characters other
    than tab and line breaks, unpaired surrogates and Unicode noncharacters. Such characters cannot
    be written into a DOCX (XML) or a PDF, and never belong in a name or an address. ``single_line``
    (the patient's fields: a name, a record number) refuses tabs and line breaks too."""
    found = _BAD[single_line].search(text)
    if found is None:
        return None
    for i, ch in enumerate(text[found.start():], found.start()):
        code = ord(ch)
        if ch in "\t\n\r":
            if single_line:
                return i, f"a line break or tab (U+{code:04X})"
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            return i, f"a control character (U+{code:04X})"
        if category == "Cs":
            return i, f"an unpaired surrogate (U+{code:04X})"
        if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
            return i, f"a Unicode noncharacter (U+{code:04X})"
    return None


def text_problem(value: str, field: str, source: str | None = None) -> Problem | None:
    """A Problem when a text field is too long or holds a character that is not text.

    The message names the field, the limit and the length or the character's code point, never the
    text itself (it may be patient data)."""
    limit = _SHORT.get(re.sub(r"\[\d+\]", "", field), MAX_TEXT_CHARS)
    if len(value) > limit:
        return Problem(f"{field} is {len(value):,} characters long; the limit is {limit:,}",
                       path=source, field=field)
    bad = bad_character(value, single_line=field.startswith("patient."))
    if bad is not None:
        position, what = bad
        return Problem(f"{field} contains {what} at position {position + 1}; remove it",
                       path=source, field=field)
    return None


def strings(value: Any, where: str, *, key_chars: int | None = None) -> Iterator[tuple[str, str]]:
    """(field, text) of every string in ``value`` (attrs objects, mappings, lists), keys of mappings
    included, each named by its path from ``where``. ``key_chars``: a mapping key longer than this is left
    out of the paths of its values (untrusted data: a key may be as long as its file)."""
    if isinstance(value, str):
        yield where, value
    elif attrs.has(type(value)):
        for f in attrs.fields(type(value)):
            yield from strings(getattr(value, f.name), f"{where}.{f.name}", key_chars=key_chars)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(key, f"{where} key", key_chars=key_chars)
            named = isinstance(key, str) and (key_chars is None or len(key) < key_chars)
            yield from strings(item, f"{where}.{key}" if named else where, key_chars=key_chars)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from strings(item, f"{where}[{i}]", key_chars=key_chars)


def text_problems(obj: Any, root: str, source: str | None = None) -> list[Problem]:
    """Length and character problems of every text field of an input object (a Patient, a Clinic,
    any attrs class a clinic fills in), however many fields it has."""
    found = (text_problem(value, field, source) for field, value in strings(obj, root))
    return [p for p in found if p is not None]


# --------------------------------------------------------------------------- packs


def check_pack(root: Path, allowed_roots: tuple[Path, ...] = ()) -> None:
    """Refuse a pack folder over MAX_PACK_FILES files or MAX_PACK_BYTES bytes, or with a symbolic link
    that leads outside the pack (and outside ``allowed_roots``, e.g. the built-in library)."""
    base = root.resolve()
    roots = (base, *(r.resolve() for r in allowed_roots))
    files = size = 0
    problems: list[Problem] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in [*dirs, *names]:
            path = Path(folder) / name
            if path.is_symlink():
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):  # a loop of links
                    problems.append(Problem("is a symbolic link that cannot be followed (a loop)", path=str(path)))
                    continue
                if not any(target.is_relative_to(r) for r in roots):
                    problems.append(Problem("is a symbolic link to a place outside the pack; "
                                            "copy the file into the pack instead", path=str(path)))
                    continue
                if name in dirs:  # a linked folder inside the allowed roots: count what it holds
                    for sub in target.rglob("*"):
                        if sub.is_file():
                            files += 1
                            size += sub.stat().st_size
            if name in names:
                if not path.is_symlink() and not path.is_file():
                    problems.append(Problem("is not a regular file (a pipe or a device)", path=str(path)))
                    continue
                files += 1
                try:
                    size += path.stat().st_size
                except OSError:
                    continue  # a dangling link: the loader reports it if it is used
        if files > MAX_PACK_FILES:
            problems.append(Problem(f"the pack has more than {MAX_PACK_FILES:,} files; "
                                    f"the limit is {MAX_PACK_FILES:,}", path=str(root)))
            break
    if size > MAX_PACK_BYTES:
        problems.append(Problem(f"the pack holds {size:,} bytes; the limit is {MAX_PACK_BYTES:,} bytes",
                                path=str(root)))
    if problems:
        raise ContentError(f"{root}: clinic pack refused", problems=problems)
