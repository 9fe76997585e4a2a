"""Can the PDF's fonts draw every character of a form? Refuse the PDF when they cannot.

The PDF uses only the fonts in the template folders' ``fonts/`` (Noto Sans ships with the package:
Latin, Greek, Cyrillic, Vietnamese). Left alone, a character none of them has would be drawn as an
empty box (CJK, Thai, Devanagari, emoji), or taken from whatever font the machine happens to have
(Arabic, Hebrew from DejaVu), so the same form would differ from one machine to another. A consent form
that misprints the patient's name is wrong, so the PDF is refused with the field and the kind of
character; the DOCX, whose reader's own fonts draw it, is not affected. A clinic that needs another
script adds a font that has it to a pack's ``templates/fonts/`` and names it in the pack's ``form.css``.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..document import Form
from ..errors import Problem
from ..library.loader import template_folders

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".woff", ".woff2")
# Characters that are never drawn as a glyph of their own: joiners, direction marks, variation selectors.
_INVISIBLE = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))
_PATIENT_FIELDS = {
    "patient_name": "patient.full_name", "birth_date": "patient.birth_date", "mrn": "patient.mrn",
}


_KNOWN: dict[tuple[Path, ...], frozenset[int]] = {}  # handed over by consent render's own process


def use_font_coverage(roots: tuple[Path, ...], coverage: frozenset[int]) -> None:
    """:func:`font_coverage` of ``roots``, found by another process (consent/speedups/pdf_process.py)."""
    _KNOWN[roots] = coverage


@functools.lru_cache(maxsize=8)
def font_coverage(roots: tuple[Path, ...]) -> frozenset[int]:
    """Every code point some font in ``<root>/fonts/`` has a glyph for."""
    if roots in _KNOWN:
        return _KNOWN[roots]
    from fontTools.ttLib import TTCollection, TTFont

    points: set[int] = set()
    for root in roots:
        folder = root / "fonts"
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.suffix.lower() not in FONT_SUFFIXES:
                continue
            opened: Any = TTCollection(path) if path.suffix.lower() == ".ttc" else TTFont(path, lazy=True)
            with opened:
                for font in opened.fonts if isinstance(opened, TTCollection) else [opened]:
                    points.update(font.getBestCmap() or {})
    return frozenset(points)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _strings(item)
    elif attrs.has(type(value)):
        for f in attrs.fields(type(value)):
            yield from _strings(getattr(value, f.name))


def _missing(text: str, coverage: frozenset[int]) -> list[str]:
    return sorted({
        ch for ch in set(text)
        if ord(ch) not in coverage and not ch.isspace() and ord(ch) not in _INVISIBLE
        and unicodedata.category(ch) not in ("Cf", "Cc")
    })


def _kind(chars: list[str]) -> str:
    """The scripts of the characters, by the first word of their Unicode names (CJK, THAI, ARABIC)."""
    kinds = dict.fromkeys(
        "emoji or symbol" if unicodedata.category(ch).startswith("S")
        else unicodedata.name(ch, "unnamed").split()[0]
        for ch in chars
    )
    return ", ".join(kinds)


_CANNOT = "character(s) that the PDF fonts cannot draw"


def _points(chars: list[str]) -> str:
    return ", ".join(f"U+{ord(c):04X}" for c in chars[:5])


def missing_glyphs(form: Form) -> list[Problem]:
    """One Problem per field or clause holding characters that no PDF font can draw.

    Patient fields are described by script only (the characters are patient data); clinic and clause
    text by code point."""
    coverage = font_coverage(template_folders(form.packs).template_roots)
    problems: list[Problem] = []
    reported: set[str] = set()
    for name in attrs.fields_dict(type(form.header)):
        value = getattr(form.header, name)
        chars = _missing(value, coverage) if isinstance(value, str) else []
        if not chars:
            continue
        reported.update(chars)
        field = _PATIENT_FIELDS.get(name) or "clinic." + name.removeprefix("clinic_")
        shown = _kind(chars) if field.startswith("patient.") else _points(chars)
        problems.append(Problem(f"{field} has {len(chars)} {_CANNOT} ({shown})", field=field))
    rest = [("title", form.title)]
    rest += [(f"clause {s.clause_id}", "\n".join(_strings(s))) for s in form.sections]
    for where, text in rest:
        chars = [ch for ch in _missing(text, coverage) if ch not in reported]
        if chars:
            problems.append(Problem(f"{where} has {len(chars)} {_CANNOT} ({_points(chars)})"))
    return problems
