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
)
EAST_ASIAN = {"ja": ("Noto Sans CJK JP", "ja-JP"), "ko": ("Noto Sans CJK KR", "ko-KR"),
              "": ("Noto Sans CJK SC", "zh-CN")}


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
    """The first complex script of the text: (name, Noto family, language tag, right to left)."""
    points = [ord(ch) for ch in text]
    for name, ranges, family, lang, rtl in COMPLEX:
        if _has(points, ranges):
            return name, family, lang, rtl
    return None


def any_other_script(text: str) -> bool:
    """Has the text characters of a complex or East Asian script (a quick test before parsing XML)?"""
    return any(ord(ch) >= 0x0590 for ch in text) and (east_asian(text) or complex_script(text) is not None)
