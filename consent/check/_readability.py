"""Readability scores of rendered text.

English: Flesch-Kincaid grade and Flesch Reading Ease, textstat's formulas with syllable counts from a table
made from its CMU dictionary (:mod:`._english`, so the 70 MB dictionary is not loaded).

Spanish: Szigriszt-Pazos (the INFLESZ scale's formula) and Fernandez-Huerta, on sentences, words and
syllables counted by ``_syllables_es`` (rules, no dictionary; textstat's pyphen hyphenation undercounts
Spanish syllables and scored texts 5 to 9 points too easy). Both formulas use the same three counts:

- Szigriszt-Pazos (1993): 206.835 - 62.3 * syllables / words - words / sentences.
- Fernandez-Huerta (1959): 206.84 - 0.60 * P - 1.02 * F, P the syllables per 100 words and F the average
  words per sentence. F is often quoted as "sentences per 100 words", which makes shorter sentences score
  harder; Fernandez-Huerta adapted Flesch's formula, whose second term is words per sentence, and the
  corrected form is the one used by legible.es and textstat (G. Law, "Error in the Fernandez Huerta
  Readability Formula", LINGUIST List 22.2332, 2011).

Chinese (Simplified, ``zh-Hans``): no grade-level or reading-ease measure is established for Chinese
patient text the way Flesch-Kincaid is for English (published Chinese formulas, such as Yang's of 1971
or Jing's of 1995, were fitted to school texts, need a graded word list and are not used for health
writing), so none is computed. The check says so (``readability.sentence-length-only``) and measures
sentence length only, in characters: each Han character counts one, each run of Latin letters or digits
("FDA", "911") one, punctuation and spaces none. Sentences end at 。！？；, or at . ! ? ; before a space.
The limits and why they are what they are: templates/rules/settings.yaml.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from . import _english
from ._syllables_es import counts as spanish_counts

_END = re.compile(r"[.!?:;。！？：；]\s*$")
# A Chinese sentence ends at a full-width stop, or at an ASCII one before a space or the end (not "1.5").
_ZH_SENTENCE_END = re.compile(r"[。！？；]+|[.!?;]+(?=\s|$)")
_ZH_UNIT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]|[A-Za-z0-9]+")
CHINESE = frozenset({"zh-Hans"})
"""Form languages scored by sentence length only (no established grade-level measure)."""


def as_prose(pieces: Sequence[str]) -> str:
    """Join headings, paragraphs and list items into prose, ending each piece as a sentence."""
    return " ".join(p if _END.search(p) else p + "." for p in pieces if p.strip())


def _spanish(text: str) -> tuple[tuple[str, float], ...]:
    c = spanish_counts(text)
    if not c.words:
        return (("szigriszt-pazos", 0.0), ("fernandez-huerta", 0.0))
    per_word = c.syllables / c.words
    per_sentence = c.words / c.sentences
    return (
        ("szigriszt-pazos", round(206.835 - 62.3 * per_word - per_sentence, 1)),
        ("fernandez-huerta", round(206.84 - 0.60 * (100 * per_word) - 1.02 * per_sentence, 1)),
    )


def chinese_sentences(text: str) -> list[int]:
    """The length in characters (Han characters, and runs of Latin letters or digits) of each sentence."""
    lengths = [len(_ZH_UNIT.findall(part)) for part in _ZH_SENTENCE_END.split(text)]
    return [n for n in lengths if n]


def _chinese(text: str) -> tuple[tuple[str, float], ...]:
    lengths = chinese_sentences(text)
    if not lengths:
        return (("sentence-chars-mean", 0.0), ("sentence-chars-max", 0.0))
    return (("sentence-chars-mean", round(sum(lengths) / len(lengths), 1)),
            ("sentence-chars-max", float(max(lengths))))


@functools.lru_cache(maxsize=4096)  # a batch scores the same clause text for every patient: do it once
def scores(text: str, language: str) -> tuple[tuple[str, float], ...]:
    """(formula, value) pairs for ``language``: Flesch-Kincaid and Flesch for English;
    Szigriszt-Pazos and Fernandez-Huerta for Spanish; for Chinese the mean and longest sentence, in
    characters (no grade-level measure is established for it)."""
    if language in CHINESE:
        return _chinese(text)
    if language == "es":
        return _spanish(text)  # pure functions of the text: no shared state, no lock
    return _english.scores(text)


def word_count(text: str, language: str = "en") -> int:
    """Words; for Chinese (no spaces between words), characters as :func:`chinese_sentences` counts them."""
    if language in CHINESE:
        return len(_ZH_UNIT.findall(text))
    return len(text.split())
