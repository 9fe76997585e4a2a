"""Deliver stage: file names that are safe on every OS, and atomic writes (temporary name, then rename)."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, RenderError

if TYPE_CHECKING:
    from .document import Form

FORMATS = ("pdf", "docx")
_UNSAFE = re.compile(r"[^a-z0-9]+")


# Letters that Unicode decomposition does not reduce to ASCII.
_TRANSLITERATE = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae",
                                "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th", "ð": "d", "ı": "i"})


def safe_slug(text: str, limit: int = 40) -> str:
    """ASCII lowercase words joined by '-': no separators, dots, reserved names or control characters."""
    text = text.translate(_TRANSLITERATE)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _UNSAFE.sub("-", ascii_text.lower()).strip("-")[:limit].strip("-")
    return slug or "form"


_NAME_PART = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*")


def _name_part(text: str) -> str:
    """An id as a part of a file name: as it is when it is letters, digits and single hyphens (every id
    consent makes), else its slug (an id from a file anyone can make: ``x/../../escaped``)."""
    return text if _NAME_PART.fullmatch(text) and len(text) <= 64 else safe_slug(text, 64)


def default_stem(form: Form) -> str:
    """``<date>_<treatment>_<patient>_<form id>``: no part holds a separator, a dot or a control character."""
    treatment, form_id = _name_part(form.manifest.treatment_id), _name_part(form.form_id)
    return f"{form.date.isoformat()}_{treatment}_{safe_slug(form.header.patient_name)}_{form_id}"


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise InputError(f"format must be pdf, docx or both (got {', '.join(formats) or 'nothing'})")
    return chosen


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a temporary file in the same folder, then rename it over ``path``: a reader never sees a
    partial file. ``durable`` also flushes it to disk first (a batch instead checks every file against the
    SHA-256 in its manifest when it runs again, so it can skip the cost)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_rendered(out_dir: Path, stem: str, make: Mapping[str, Callable[[], bytes]]) -> list[Path]:
    """Make every file in memory first (``make``: format -> a function that makes its bytes; the PDF
    last), then write each atomically as ``stem.<format>``: a failure leaves no file at all behind."""
    blobs = {fmt: make[fmt]() for fmt in sorted(make, key=lambda fmt: fmt == "pdf")}
    return write_files(out_dir, {f"{stem}.{fmt}": blobs[fmt] for fmt in make})


def write_files(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write each file (name -> bytes) into ``out_dir`` atomically; on a failure, remove the ones written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    written: list[Path] = []
    for name, data in files.items():
        path = out_dir / name
        try:
            atomic_write(path, data)
        except OSError as exc:  # disk full, folder not writable: all or nothing
            for done in written:
                done.unlink(missing_ok=True)
            reason = exc.strerror or exc
            raise RenderError(f"{path}: cannot be written ({reason}); nothing was written") from None
        written.append(path)
    return written


def write_bytes(out_dir: Path, name: str, data: bytes) -> Path:
    """Write one file atomically into ``out_dir`` (made if needed); RenderError, and no file, on failure."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    path = out_dir / name
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise RenderError(f"{path}: cannot be written ({exc.strerror or exc}); nothing was written") from None
    return path
