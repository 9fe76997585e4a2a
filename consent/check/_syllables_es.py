"""Spanish text counted for readability formulas: syllables, words and sentences, by rule (no dictionary).

Syllables are counted as vowel nuclei, following the RAE's orthographic rules (Ortografia 2010, 4.1):

- a, e, o are strong vowels; i, u (and u with diaeresis) are weak. An accented weak vowel (i, u with an
  acute accent) is a nucleus of its own. One syllable holds at most one strong or accented vowel:
  strong + strong is a hiatus (le-er, a-e-ro), accented weak + vowel too (di-a, pa-is, re-u-ne), while weak +
  strong, strong + weak and two different weak vowels are diphthongs (cie-lo, ai-re, rui-do, cui-da-do) and
  weak + strong + weak a triphthong (buey, a-ve-ri-guais). The same weak vowel twice is a hiatus (chi-i-ta).
  A prefix changes nothing: re-em-pla-zo, but con-train-di-ca-cion as the RAE divides it (often spoken with
  a hiatus, one syllable more).
- u is silent in que, qui, gue, gui (and with an accented e or i); u with diaeresis is spoken (pin-gui-no).
- h is silent and does not part vowels (pro-hi-be with the accent, a-ho-ra, ahu-ma-do).
- y is a vowel (i) unless a vowel follows it: hoy, muy, ley, buey, the word y; but ya, a-yer.

Words are runs of letters (an apostrophe inside a word joins it: O'Connor is one word; a hyphen parts two),
plus numbers and the sign %, which are counted as they are read aloud, every spoken word a word:

- a number is read as a Spanish cardinal: 2,000 is "dos mil", 100.4 is "cien punto cuatro". A separator
  followed by three digits groups thousands (1,000 and 1.000); the last one followed by any other number of
  digits, or after the other kind of separator, is the decimal point; a decimal part of zeros is not read
  ($1,000.00 is "mil"). Currency signs are not read.
- digit groups joined by hyphens (555-0100), numbers with a leading zero and numbers of more than twelve
  digits are read digit by digit, as phone numbers and codes are.
- a word in capitals that Spanish cannot pronounce as a word is an initialism read letter by letter, as one
  word: FDA is "efe-de-a" (4 syllables), IND "i-ene-de", MD "eme-de"; ONU, SIDA, NO are read as words.
  A word with no vowel at all (ml, B) is read letter by letter too.
- a few abbreviations are read in full: EE. UU. is "Estados Unidos", Dr. "doctor", Sra. "senora", Ud. "usted".

A sentence ends at . ! ? or an ellipsis (with any closing brackets or quotes), unless the next word starts
with a small letter, or the period belongs to an abbreviation (Dr., EE.; after etc., Ud. and UU. only when
a capital follows). Colons and semicolons do not end sentences. Every sentence with a word in it counts,
however short (a list item is a sentence).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator

import attrs

_STRONG = frozenset("aeo")
_WEAK = frozenset("iu")
_ACCENTED_WEAK = frozenset("íúìùîûï")  # a nucleus of its own
_BASE = str.maketrans("áàâäéèêëóòôöíìîïúùûüý", "aaaaeeeeooooiiiiuuuuy")
_VOWELS = frozenset("aeiouáàâäéèêëóòôöíìîïúùûü")
_SILENT_U = re.compile(r"(?<=[qg])u(?=[eiéí])")  # que, qui, gue, gui (but gue/gui with diaeresis are spoken)

# Letter names (RAE), for initialisms and words with no vowel; a letter with no Spanish name counts as one.
_LETTER = {
    "a": "a", "b": "be", "c": "ce", "d": "de", "e": "e", "f": "efe", "g": "ge", "h": "hache", "i": "i",
    "j": "jota", "k": "ka", "l": "ele", "m": "eme", "n": "ene", "ñ": "eñe", "o": "o", "p": "pe", "q": "cu",
    "r": "erre", "s": "ese", "t": "te", "u": "u", "v": "uve", "w": "uve doble", "x": "equis", "y": "ye",
    "z": "zeta",
}
# Abbreviations read in full. "prefix" ones stand before a name and never end a sentence.
_ABBREVIATIONS = {
    "dr": "doctor", "dra": "doctora", "sr": "señor", "sra": "señora", "srta": "señorita", "ee": "estados",
    "ud": "usted", "uds": "ustedes", "vd": "usted", "vds": "ustedes", "uu": "unidos", "etc": "etcétera",
}
_PREFIX_ABBREVIATIONS = frozenset({"dr", "dra", "sr", "sra", "srta", "ee"})
# What may start and end a Spanish word (initialisms that break these are spelled out).
_ONSETS = frozenset({"pr", "br", "fr", "tr", "dr", "cr", "gr", "pl", "bl", "fl", "cl", "gl", "ch", "ll"})
_CODAS = frozenset("dlnrszxjy")

_TOKEN = re.compile(
    r"(?P<code>\d+(?:-\d+)+)"  # 555-0100: digit by digit
    r"|(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<percent>%)"
    r"|(?P<word>[^\W\d_]+(?:['\u2019][^\W\d_]+)*)"  # O'Connor, with a straight or a typographic apostrophe
)
_ENDS = ".!?…"
_CLOSERS = ")]}»\"'\u201d\u2019"
_OPENERS = "([{«\"'¿¡\u201c\u2018"


# ------------------------------------------------------------------ syllables of one word


def _nuclei(letters: str) -> int:
    """Vowel nuclei in a lower-case word whose silent u and h are already removed."""
    count = 0
    peak = False  # the current syllable already holds a strong or accented vowel
    prev = ""  # the previous vowel's base letter, "" after a consonant
    for i, letter in enumerate(letters):
        ch = letter
        if ch == "y":
            if i + 1 < len(letters) and letters[i + 1] in _VOWELS:
                prev = ""  # a consonant: ya, a-yer
                continue
            ch = "i"
        if ch not in _VOWELS:
            prev = ""
            continue
        base = ch.translate(_BASE)
        is_peak = base in _STRONG or ch in _ACCENTED_WEAK
        if not prev or (is_peak and peak) or (base == prev and base in _WEAK):
            count += 1  # a new syllable: after a consonant, a second peak, or ii / uu
            peak = is_peak
        else:
            peak = peak or is_peak
        prev = base
    return count


def _spelled(word: str) -> int:
    """Syllables of a word read letter by letter."""
    return sum(syllables(_LETTER[ch]) if ch in _LETTER else 1 for ch in word.lower().translate(_BASE))


def _pronounceable(word: str) -> bool:
    """Could a word in capitals be read as a Spanish word (ONU, SIDA), or is it an initialism (FDA, IND)?"""
    low = word.lower()
    parts = re.split(r"[aeiouáéíóúü]+", low)
    if len(parts) < 2:
        return False  # no vowel
    onset, coda, inner = parts[0], parts[-1], parts[1:-1]
    return (len(onset) <= 1 or onset in _ONSETS) and (not coda or coda in _CODAS) and all(
        len(c) <= 2 or c[-2:] in _ONSETS for c in inner)


@functools.lru_cache(maxsize=65536)
def syllables(word: str) -> int:
    """Syllables of one Spanish word as read aloud (letters only; see the module docstring for the rules)."""
    low = unicodedata.normalize("NFC", word).lower().replace("'", "").replace("\u2019", "")
    if len(word) > 1 and word.isupper() and not _pronounceable(word):
        return _spelled(word)
    count = _nuclei(_SILENT_U.sub("", low).replace("h", ""))
    return count if count else _spelled(low)


# ------------------------------------------------------------------ numbers read aloud

_UNITS = (
    "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce",
    "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve", "veinte", "veintiuno",
    "veintidós", "veintitrés", "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho",
    "veintinueve",
)
_TENS = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa")
_HUNDREDS = ("", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos", "seiscientos",
             "setecientos", "ochocientos", "novecientos")


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append("cien" if n == 100 else _HUNDREDS[hundreds])
    if rest >= 30:
        words.append(_TENS[rest // 10])
        if rest % 10:
            words += ["y", _UNITS[rest % 10]]
    elif rest:
        words.append(_UNITS[rest])
    return words


def _apocope(words: list[str]) -> list[str]:
    """Uno before mil / millones: veintiún mil, treinta y un millones."""
    if words and words[-1] == "uno":
        return [*words[:-1], "un"]
    if words and words[-1] == "veintiuno":
        return [*words[:-1], "veintiún"]
    return words


def cardinal(n: int) -> list[str]:
    """The words of a whole number below a billion (10**12) in Spanish: 2026 -> dos mil veintiséis."""
    if n == 0:
        return ["cero"]
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words: list[str] = []
    if millions:
        words += ["un", "millón"] if millions == 1 else [*_apocope(cardinal(millions)), "millones"]
    if thousands:
        words += ["mil"] if thousands == 1 else [*_apocope(_below_thousand(thousands)), "mil"]
    return words + _below_thousand(units)


def _digits(text: str) -> list[str]:
    return [_UNITS[int(d)] for d in text if d.isdigit()]


def number_words(token: str) -> list[str]:
    """A number as read aloud (see the module docstring): 1,000.00 -> mil; 100.4 -> cien punto cuatro."""
    parts = re.split(r"([.,])", token)
    groups, seps = parts[0::2], parts[1::2]
    decimals = ""
    if seps and (len(groups[-1]) != 3 or len(set(seps)) > 1):
        groups, decimals = groups[:-1], groups[-1]
    thousands_ok = len(set(seps[: len(groups) - 1])) <= 1 and all(len(g) == 3 for g in groups[1:])
    integer = "".join(groups)
    if not thousands_ok or len(integer) > 12 or (len(integer) > 1 and integer.startswith("0")):
        return _digits(token)
    words = cardinal(int(integer))
    if decimals.strip("0"):
        words += ["punto", *(_digits(decimals) if decimals.startswith("0") else cardinal(int(decimals)))]
    return words


# ------------------------------------------------------------------ words and sentences of a text


@attrs.frozen
class Counts:
    """What readability formulas need from a text."""

    sentences: int
    words: int
    syllables: int


def _spoken(token: re.Match[str]) -> Iterator[tuple[str, int]]:
    """(word, syllables) for each spoken word of one token."""
    kind, text = token.lastgroup, token.group()
    if kind == "code":
        spoken = _digits(text)
    elif kind == "number":
        spoken = number_words(text)
    elif kind == "percent":
        spoken = ["por", "ciento"]
    else:
        spoken = [_ABBREVIATIONS.get(text.lower(), text)]
    for w in spoken:
        yield w, syllables(w)


def _ends_sentence(token: str, following: str | None) -> bool:
    """Does a whitespace-separated token close its sentence, given the next one?"""
    tail = token.rstrip(_CLOSERS)
    if not tail or tail[-1] not in _ENDS:
        return False
    first = following.lstrip(_OPENERS)[:1] if following is not None else ""
    if first.islower():
        return False  # p. ej. dolor; (de EE. UU.) decide
    core = token.rstrip(_CLOSERS + _ENDS)
    word = re.split(r"\W", core)[-1].lower()
    if word in _ABBREVIATIONS and token[len(core):] == ".":  # the period is the abbreviation's own
        return first.isupper() and word not in _PREFIX_ABBREVIATIONS
    return True


def counts(text: str) -> Counts:
    """Sentences, words and syllables of a Spanish text, counted by the rules in the module docstring."""
    text = unicodedata.normalize("NFC", text).replace("º", "").replace("ª", "")
    tokens = text.split()
    sentences = words = total = 0
    in_sentence = False
    for i, tok in enumerate(tokens):
        for match in _TOKEN.finditer(tok):
            for _, n in _spoken(match):
                words += 1
                total += n
                in_sentence = True
        if in_sentence and _ends_sentence(tok, tokens[i + 1] if i + 1 < len(tokens) else None):
            sentences += 1
            in_sentence = False
    if in_sentence:
        sentences += 1
    return Counts(sentences, words, total)
