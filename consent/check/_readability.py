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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from . import _english
from ._syllables_es import counts as spanish_counts

_END = re.compile(r"[.!?:;]\s*$")


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


@functools.lru_cache(maxsize=4096)  # a batch scores the same clause text for every patient: do it once
def scores(text: str, language: str) -> tuple[tuple[str, float], ...]:
    """(formula, value) pairs for ``language``: Flesch-Kincaid and Flesch for English;
    Szigriszt-Pazos and Fernandez-Huerta for Spanish."""
    if language == "es":
        return _spanish(text)  # pure functions of the text: no shared state, no lock
    return _english.scores(text)


def word_count(text: str) -> int:
    return len(text.split())
