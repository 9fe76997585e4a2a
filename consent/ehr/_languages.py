"""A patient's preferred language as an export writes it: a code (``es``, ``es-MX``, ``spa``) or a name.

EHRs often leave ``Patient.communication.language.coding`` out and write only ``text``, or keep a CSV
column of names: "Spanish", "español", "Espanol", "Spanish (Mexico)". :func:`language_code` turns a code or
a name into a code that :func:`consent.library.loader.resolve_language` understands, or None. Names are those
Babel (CLDR) gives every language in English and in Spanish (the stock forms' languages), compared without
case or accents and without a trailing "(region)"; nothing is guessed beyond them. Chinese is written in
two scripts, so its "(...)" is kept when it names a script or a place ("Chinese (Traditional)" ->
``zh-Hant``, "Chinese (Taiwan)" -> ``zh-TW``) and a Chinese name with any other "(...)" is not understood.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_REGION = re.compile(r"\s*\([^()]*\)\s*$")
NAME_LOCALES = ("en", "es", "zh_Hans")
"""The languages whose names for languages are understood: English ("Spanish"), Spanish ("español") and
Chinese (Simplified) ("中文", "繁体中文")."""


def _fold(text: str) -> str:
    """Lower case, no accents, single spaces: "Español " -> "espanol"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@functools.lru_cache(maxsize=1)
def _known() -> tuple[frozenset[str], dict[str, str], dict[str, str]]:
    """(language codes CLDR names, its three-letter aliases, folded name -> code)."""
    from babel import Locale  # noqa: PLC0415 - loaded when a language is first looked up
    from babel.core import get_global  # noqa: PLC0415

    english = Locale("en").languages
    codes = frozenset(code.lower() for code in english)
    aliases = {str(k).lower(): str(v) for k, v in get_global("language_aliases").items()}
    names: dict[str, str] = {}
    for locale in NAME_LOCALES:
        # Shorter codes first: "Chinese" is zh, not a longer variant that CLDR names the same.
        for code, name in sorted(Locale(locale).languages.items(), key=lambda kv: (len(kv[0]), kv[0])):
            names.setdefault(_fold(name), code.replace("_", "-"))
    return codes, aliases, names


def is_language_code(value: str) -> bool:
    """True for a BCP 47 / ISO 639 tag of a language CLDR knows: ``es``, ``es-MX``, ``spa``, ``zh_Hant``."""
    match = _TAG.fullmatch(value.strip())
    if match is None:
        return False
    codes, aliases, _ = _known()
    base = match[1].lower()
    return base in codes or base in aliases


@functools.lru_cache(maxsize=1)
def _script_and_place_names() -> dict[str, str]:
    """Folded names of the Chinese scripts and of places (English, Spanish, Chinese) -> subtag."""
    from babel import Locale  # noqa: PLC0415

    out: dict[str, str] = {}
    for locale in NAME_LOCALES:
        loc = Locale.parse(locale)
        for script in ("Hans", "Hant"):
            out.setdefault(_fold(loc.scripts[script]), script)
        for region, name in loc.territories.items():
            if len(region) == 2 and region.isalpha():
                out.setdefault(_fold(name), region)
    return out


def language_code(value: object) -> str | None:
    """The language code for ``value``, a code (returned as written, stripped) or a language's name in
    English, Spanish or Chinese ("Spanish", "español", "Espanol", "Spanish (Mexico)" -> ``es``; "Chinese
    (Traditional)" -> ``zh-Hant``); None otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if is_language_code(text):
        return text
    names = _known()[2]
    folded = _fold(text)
    if folded in names:
        return names[folded]
    bare = names.get(_fold(_REGION.sub("", text)))
    if bare == "zh":  # "Chinese (Taiwan)": the script matters, so the bracket must say which
        inside = _fold(text[text.rindex("(") + 1:].rstrip(" )"))
        subtag = _script_and_place_names().get(inside)
        return f"zh-{subtag}" if subtag else None
    return bare
