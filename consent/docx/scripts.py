"""Text in other scripts and languages in a DOCX: each run's fonts, language and direction.

A patient's name in Chinese, Arabic or Thai, a language-assistance tagline, the English notice of a
Spanish form: Word and LibreOffice draw and read such text by the run's East Asian or complex-script
font and its ``w:lang``, which the template leaves to Arial and the form's language. Used by
:mod:`consent.docx.render` as it writes the body (:func:`language_run`) and as the last step of both DOCX
paths (:func:`with_scripts`), so the fast path's DOCX stays byte-identical to the plain path's.
"""

from __future__ import annotations

import re
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from .._scripts import (
    EAST_ASIAN,
    LATIN_SLOT_FAMILIES,
    any_other_script,
    cjk_family,
    complex_script,
    east_asian,
    script_lang,
    text_direction,
)

_TEXT_PARTS = re.compile(r"word/(document|header\d*|footer\d*)\.xml")
# The order of a run's properties (ECMA-376 Part 1, CT_RPr): Word refuses a file with them out of order.
_RPR_ORDER = ("rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
              "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing",
              "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText",
              "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath")


def with_scripts(parts: dict[str, bytes]) -> dict[str, bytes]:
    """The parts with each run of text in an East Asian or complex script (a patient's name in
    Chinese, Arabic, Thai ...) given a Noto font that has it and its language (``w:rFonts``
    ``w:eastAsia`` / ``w:cs``, ``w:lang``), its complex-script size and weight as the run's own, and
    ``w:rtl`` when the run is right-to-left words only. Word and LibreOffice draw such characters with
    the run's East Asian or complex-script font, which the template leaves to Arial. Parts with no such
    text keep their bytes; the same parts give the same bytes (the DOCX of a batch's twin and of a form
    on its own agree)."""
    from lxml import etree

    out = dict(parts)
    for name, data in parts.items():
        if not _TEXT_PARTS.fullmatch(name) or not any_other_script(data.decode("utf-8")):
            continue
        root = etree.fromstring(data)
        for run in root.iter(qn("w:r")):
            text = "".join(t.text or "" for t in run.iter(qn("w:t")))
            if any_other_script(text):
                script_run(run, text)
        out[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return out


def script_run(run: Any, text: str) -> None:
    from lxml import etree

    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        rpr = etree.SubElement(run, qn("w:rPr"))
        run.insert(0, rpr)
    fonts, langs = run_property(rpr, "rFonts"), run_property(rpr, "lang")
    if east_asian(text):
        family, tag = EAST_ASIAN[script_lang(text)]
        given = langs.get(qn("w:eastAsia"))  # a paragraph whose language is given keeps it (and its font)
        fonts.set(qn("w:eastAsia"), family if given is None else cjk_family(given))
        langs.set(qn("w:eastAsia"), tag if given is None else given)
    script = complex_script(text)
    if script is not None:
        _, family, tag, rtl = script
        fonts.set(qn("w:cs"), family)
        if langs.get(qn("w:bidi")) is None:
            langs.set(qn("w:bidi"), tag)
        for latin, cs in (("sz", "szCs"), ("b", "bCs"), ("i", "iCs")):
            own = rpr.find(qn(f"w:{latin}"))
            if own is not None and rpr.find(qn(f"w:{cs}")) is None:
                run_property(rpr, cs).attrib.update(own.attrib)
        if rtl and not any(ch.isalpha() and complex_script(ch) is None for ch in text):
            run_property(rpr, "rtl")


def language_run(paragraph: Any, run: Any, tag: str, text: str) -> None:
    """A paragraph in another language than the form's (a language-assistance tagline): its run's
    ``w:lang`` names it (``w:val``; ``w:eastAsia`` for Han, kana or hangul; ``w:bidi`` for a complex or
    right-to-left script, with the paragraph's ``w:bidi`` for the latter), so a reader reads it in its
    language; :func:`with_scripts` then names the font of its script (and keeps this language)."""
    rpr = run._r.get_or_add_rPr()
    langs = run_property(rpr, "lang")
    langs.set(qn("w:val"), tag)
    if east_asian(text):
        langs.set(qn("w:eastAsia"), tag)
    if complex_script(text) is not None or text_direction(tag) == "rtl":
        langs.set(qn("w:bidi"), tag)
    if text_direction(tag) == "rtl":
        paragraph._p.get_or_add_pPr().insert_element_before(
            OxmlElement("w:bidi"), *_PPR_AFTER_BIDI)
    family = LATIN_SLOT_FAMILIES.get(tag.split("-")[0])
    if family is not None:
        fonts = run_property(rpr, "rFonts")
        fonts.set(qn("w:ascii"), family)
        fonts.set(qn("w:hAnsi"), family)


# What follows w:bidi in a paragraph's properties (ECMA-376 Part 1, CT_PPrBase), where it must go before.
_PPR_AFTER_BIDI = ("w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                   "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                   "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
                   "w:pPrChange")


def run_property(rpr: Any, name: str) -> Any:
    """The run property ``w:<name>``, made in its place when the run has none."""
    from lxml import etree

    found = rpr.find(qn(f"w:{name}"))
    if found is not None:
        return found
    made = etree.SubElement(rpr, qn(f"w:{name}"))
    rank = _RPR_ORDER.index(name)
    for i, child in enumerate(rpr):
        tag = etree.QName(child).localname
        if child is not made and tag in _RPR_ORDER and _RPR_ORDER.index(tag) > rank:
            rpr.insert(i, made)
            break
    return made
