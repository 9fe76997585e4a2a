"""Which writing system a string is in, for the fonts that draw it: the PDF's stylesheet (form.css)
marks a name with kana as Japanese and one with hangul as Korean, so its Han characters take those
forms; the DOCX names, for each run of text in another script, a Noto font that has it (Word and
LibreOffice pick the font of a run by the kind of its characters: East Asian, complex or Latin).
"""

from __future__ import annotations

_KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF))
_HAN = ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
        (0xFF00, 0xFF65), (0x20000, 0x3134F))

# Complex scripts (Word's "cs" fonts): name, ranges, Noto family, language tag, right to left.
COMPLEX = (
    ("Arabic", ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
     "Noto Sans Arabic", "ar-SA", True),
    ("Hebrew", ((0x0590, 0x05FF), (0xFB1D, 0xFB4F)), "Noto Sans Hebrew", "he-IL", True),
    ("Devanagari", ((0x0900, 0x097F), (0xA8E0, 0xA8FF)), "Noto Sans Devanagari", "hi-IN", False),
    ("Thai", ((0x0E00, 0x0E7F),), "Noto Sans Thai", "th-TH", False),
    ("Lao", ((0x0E80, 0x0EFF),), "Noto Sans Lao", "lo-LA", False),
    ("Khmer", ((0x1780, 0x17FF), (0x19E0, 0x19FF)), "Noto Sans Khmer", "km-KH", False),
    ("Bengali", ((0x0980, 0x09FF),), "Noto Sans Bengali", "bn-IN", False),
    ("Gurmukhi", ((0x0A00, 0x0A7F),), "Noto Sans Gurmukhi", "pa-IN", False),
    ("Gujarati", ((0x0A80, 0x0AFF),), "Noto Sans Gujarati", "gu-IN", False),
    ("Tamil", ((0x0B80, 0x0BFF),), "Noto Sans Tamil", "ta-IN", False),
    ("Telugu", ((0x0C00, 0x0C7F),), "Noto Sans Telugu", "te-IN", False),
    ("Kannada", ((0x0C80, 0x0CFF),), "Noto Sans Kannada", "kn-IN", False),
    ("Malayalam", ((0x0D00, 0x0D7F),), "Noto Sans Malayalam", "ml-IN", False),
)
# Scripts Word draws with a run's Latin fonts (w:ascii, w:hAnsi), which the template leaves to Arial: the
# Noto family a paragraph in that language is given (a language-assistance tagline).
LATIN_SLOT_FAMILIES = {"hy": "Noto Sans Armenian", "am": "Noto Sans Ethiopic"}
EAST_ASIAN = {"ja": ("Noto Sans CJK JP", "ja-JP"), "ko": ("Noto Sans CJK KR", "ko-KR"),
              "": ("Noto Sans CJK SC", "zh-CN")}
# The languages written right to left (their BCP 47 primary tags), for a paragraph whose language is given.
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ps", "ur", "yi", "ckb", "dv", "sd", "ug"})
# The Noto CJK family for Han characters of a paragraph whose language is given (a tag's language and script).
CJK_FAMILIES = {"ja": "Noto Sans CJK JP", "ko": "Noto Sans CJK KR", "zh-Hant": "Noto Sans CJK TC",
                "zh-TW": "Noto Sans CJK TC", "zh-HK": "Noto Sans CJK HK", "zh": "Noto Sans CJK SC"}


def text_direction(tag: str) -> str:
    """"rtl" for a language tag (es, zh-Hant, fa) of a language written right to left, else "ltr"."""
    return "rtl" if tag.split("-")[0] in RTL_LANGUAGES else "ltr"


def cjk_family(tag: str) -> str:
    """The Noto CJK family that draws the Han characters of a paragraph in language ``tag``."""
    parts = tag.split("-")
    for key in ("-".join(parts[:2]), parts[0]):
        if key in CJK_FAMILIES:
            return CJK_FAMILIES[key]
    return CJK_FAMILIES["zh"]


def _has(points: list[int], ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= p <= hi for p in points for lo, hi in ranges)


def script_lang(text: object) -> str:
    """The language a string's Han characters are drawn for: "ja" when it has kana, "ko" when it has
    hangul, else "" (Han alone: the Simplified Chinese forms, the stylesheet's first CJK font)."""
    points = [ord(ch) for ch in str(text)]
    if _has(points, _KANA):
        return "ja"
    if _has(points, _HANGUL):
        return "ko"
    return ""


def east_asian(text: str) -> bool:
    """Has the text characters Word draws with its East Asian font (Han, kana, hangul)?"""
    points = [ord(ch) for ch in text]
    return _has(points, _HAN) or _has(points, _KANA) or _has(points, _HANGUL)


def complex_script(text: str) -> tuple[str, str, str, bool] | None:
    """The complex script most of the text's complex-script characters are in (the first listed, on a
    tie): (name, Noto family, language tag, right to left). Counted, not the first met: Gurmukhi and
    Bengali text ends its sentences with the Devanagari danda (U+0964)."""
    points = [p for p in map(ord, text) if p >= 0x0590]  # no complex script comes before Hebrew
    best, most = None, 0
    for name, ranges, family, lang, rtl in COMPLEX:
        count = sum(1 for p in points if any(lo <= p <= hi for lo, hi in ranges))
        if count > most:
            best, most = (name, family, lang, rtl), count
    return best


def any_other_script(text: str) -> bool:
    """Has the text characters of a complex or East Asian script (a quick test before parsing XML)?"""
    if not any(ord(ch) >= 0x0590 for ch in text):
        return False
    points = [p for p in map(ord, text) if p >= 0x0590]
    return east_asian(text) or any(_has(points, ranges) for _, ranges, *_ in COMPLEX)
