"""Can the PDF's fonts draw every character of a form? Refuse the PDF when they cannot.

The PDF draws with the fonts in the template folders' ``fonts/`` (Noto Sans ships with the package:
Latin, Greek, Cyrillic, Vietnamese) and with the installed fonts of the families that the stylesheets'
``font-family`` lists name (form.css: Noto Sans Arabic, Hebrew, Devanagari, Thai and Ethiopic, from
Debian's fonts-noto-core, and Noto Sans CJK SC, JP and KR, from fonts-noto-cjk), found the way
WeasyPrint finds them: through Fontconfig. Only a font that is there counts: a family the stylesheet
names but the machine lacks covers nothing. Left alone, a character none of them has would be drawn as
an empty box (emoji, Linear B, a private-use character), or taken from whatever font the machine
happens to have, so the same form would differ from one machine to another. A consent form that
misprints the patient's name is wrong, so the PDF is refused with the field and the script (its
Unicode block); the DOCX, whose reader's own fonts draw it, is not affected. A clinic that needs
another script installs the Noto family for it (and names it in a pack's ``form.css``), or adds a font
that has it to a pack's ``templates/fonts/`` and names it in the pack's ``form.css``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
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
    """Every code point some font in ``<root>/fonts/``, or some installed font of a family the
    stylesheets name (:func:`stylesheet_families`), has a glyph for."""
    if roots in _KNOWN:
        return _KNOWN[roots]
    return shipped_coverage(roots) | installed_coverage(stylesheet_families(roots))


def _shipped(roots: tuple[Path, ...]) -> list[Path]:
    return [path for root in roots if (root / "fonts").is_dir() for path in sorted((root / "fonts").iterdir())
            if path.suffix.lower() in FONT_SUFFIXES]


@functools.lru_cache(maxsize=8)
def shipped_coverage(roots: tuple[Path, ...]) -> frozenset[int]:
    """Every code point some font in ``<root>/fonts/`` (the fonts shipped with the templates) has."""
    from fontTools.ttLib import TTCollection, TTFont

    points: set[int] = set()
    for path in _shipped(roots):
        opened: Any = TTCollection(path) if path.suffix.lower() == ".ttc" else TTFont(path, lazy=True)
        with opened:
            for font in opened.fonts if isinstance(opened, TTCollection) else [opened]:
                points.update(font.getBestCmap() or {})
    return frozenset(points)


def drawn_by_shipped_fonts(texts: Iterable[str], roots: tuple[Path, ...]) -> bool:
    """Whether the shipped fonts alone draw every character of these texts (none is left to an
    installed font, whose line heights differ: consent/speedups/layers.py lays such a form out whole)."""
    coverage = shipped_coverage(roots)
    return not any(_missing(text, coverage) for text in texts)


_FONT_FAMILY = re.compile(r"font-family\s*:\s*([^;}]+)", re.IGNORECASE)
_FONT_FACE = re.compile(r"@font-face\s*{[^}]*}", re.IGNORECASE)
_GENERIC = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "inherit", "initial"}


def stylesheet_families(roots: tuple[Path, ...]) -> tuple[str, ...]:
    """The font families the stylesheet in use (the first ``form.css`` of the template folders: a pack's
    replaces the built-in one) names in ``font-family`` lists, but those its own ``@font-face`` rules
    make (the shipped fonts, read from ``fonts/``)."""
    named: dict[str, None] = {}
    own: set[str] = set()
    for css in [root / "form.css" for root in roots if (root / "form.css").is_file()][:1]:
        text = re.sub(r"/\*.*?\*/", "", css.read_text(encoding="utf-8"), flags=re.DOTALL)
        for face in _FONT_FACE.findall(text):
            own.update(_families(m) for m in _FONT_FAMILY.findall(face))
        for listed in _FONT_FAMILY.findall(_FONT_FACE.sub("", text)):
            for family in listed.split(","):
                name = family.strip().strip("'\"").strip()
                if name and name.lower() not in _GENERIC:
                    named[name] = None
    return tuple(name for name in named if name not in own)


def _families(value: str) -> str:
    return value.strip().strip("'\"").strip()


def installed_fonts(families: tuple[str, ...]) -> list[tuple[Path, int]]:
    """The font files (and their face in a collection) that Fontconfig, which WeasyPrint asks, has for
    these family names; none when Fontconfig cannot be loaded."""
    return _installed(families)[0]


def installed_coverage(families: tuple[str, ...]) -> frozenset[int]:
    """Every code point some installed font of these families has, as Fontconfig (and so Pango, which
    picks a font for each character with it) sees it: the union of the fonts' character sets, which
    Fontconfig reads from their cmaps and keeps in its cache (much faster than reading a CJK collection)."""
    return _installed(families)[1]


@functools.lru_cache(maxsize=8)
def _installed(families: tuple[str, ...]) -> tuple[list[tuple[Path, int]], frozenset[int]]:
    fc = _fontconfig()
    if fc is None or not families:
        return [], frozenset()
    found: list[tuple[Path, int]] = []
    union = fc.FcCharSetCreate()
    for family in families:
        pattern, objects = fc.FcPatternCreate(), fc.FcObjectSetCreate()
        fc.FcPatternAddString(pattern, b"family", family.encode())
        for name in (b"file", b"index", b"charset"):
            fc.FcObjectSetAdd(objects, name)
        fonts = fc.FcFontList(None, pattern, objects)
        fc.FcPatternDestroy(pattern)
        fc.FcObjectSetDestroy(objects)
        if not fonts:
            continue
        for i in range(fonts.contents.nfont):
            font = fonts.contents.fonts[i]
            file, index, charset = ctypes.c_char_p(), ctypes.c_int(0), ctypes.c_void_p()
            if fc.FcPatternGetString(font, b"file", 0, ctypes.byref(file)) != 0 or not file.value:
                continue
            fc.FcPatternGetInteger(font, b"index", 0, ctypes.byref(index))
            # The face of a collection (a variable font's named instance is in the bits above).
            found.append((Path(file.value.decode()), index.value & 0xFFFF))
            if fc.FcPatternGetCharSet(font, b"charset", 0, ctypes.byref(charset)) == 0 and charset.value:
                merged = fc.FcCharSetUnion(union, charset)
                fc.FcCharSetDestroy(union)
                union = merged
        fc.FcFontSetDestroy(fonts)
    points: set[int] = set()
    page = (ctypes.c_uint32 * 8)()
    after = ctypes.c_uint32(0)
    base = fc.FcCharSetFirstPage(union, page, ctypes.byref(after))
    while base != 0xFFFFFFFF:  # FC_CHARSET_DONE
        for word, bits in enumerate(page):
            while bits:
                low = bits & -bits
                points.add(base + word * 32 + low.bit_length() - 1)
                bits ^= low
        base = fc.FcCharSetNextPage(union, page, ctypes.byref(after))
    fc.FcCharSetDestroy(union)
    return sorted(set(found)), frozenset(points)


@functools.lru_cache(maxsize=1)
def _fontconfig() -> Any:
    """libfontconfig, through ctypes (the library Pango and WeasyPrint use), or None."""
    try:
        name = "libfontconfig.so.1" if sys.platform == "linux" else ctypes.util.find_library("fontconfig")
        fc = ctypes.CDLL(name)
    except (OSError, TypeError):
        return None
    p, s, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    page, u32 = ctypes.POINTER(ctypes.c_uint32 * 8), ctypes.POINTER(ctypes.c_uint32)
    for name, restype, argtypes in (
        ("FcInit", i, []), ("FcPatternCreate", p, []), ("FcObjectSetCreate", p, []),
        ("FcFontList", ctypes.POINTER(_FcFontSet), [p, p, p]), ("FcPatternAddString", i, [p, s, s]),
        ("FcObjectSetAdd", i, [p, s]), ("FcPatternGetString", i, [p, s, i, ctypes.POINTER(s)]),
        ("FcPatternGetInteger", i, [p, s, i, ctypes.POINTER(i)]),
        ("FcPatternGetCharSet", i, [p, s, i, ctypes.POINTER(p)]),
        ("FcPatternDestroy", None, [p]), ("FcObjectSetDestroy", None, [p]),
        ("FcFontSetDestroy", None, [ctypes.POINTER(_FcFontSet)]), ("FcCharSetCreate", p, []),
        ("FcCharSetUnion", p, [p, p]), ("FcCharSetDestroy", None, [p]),
        ("FcCharSetFirstPage", ctypes.c_uint32, [p, page, u32]),
        ("FcCharSetNextPage", ctypes.c_uint32, [p, page, u32]),
    ):
        function = getattr(fc, name)
        function.restype, function.argtypes = restype, argtypes
    return fc if fc.FcInit() else None


class _FcFontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.POINTER(ctypes.c_void_p))]


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
    """The scripts of the characters, by their Unicode blocks ("Linear B Syllabary", "Private Use
    Area"); a symbol is an emoji or symbol."""
    from fontTools import unicodedata as ucd

    kinds = dict.fromkeys(
        "emoji or symbol" if unicodedata.category(ch).startswith("S") else ucd.block(ch)
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
