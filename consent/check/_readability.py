"""Readability scores of rendered text: English with textstat's formulas and syllable counts from a
table made from its CMU dictionary (:mod:`._english`, without loading the dictionary); Spanish with
textstat (offline: it counts Spanish syllables with pyphen)."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence

from . import _english

_LOCK = threading.Lock()  # textstat keeps its language in module state
_END = re.compile(r"[.!?:;]\s*$")


def as_prose(pieces: Sequence[str]) -> str:
    """Join headings, paragraphs and list items into prose, ending each piece as a sentence."""
    return " ".join(p if _END.search(p) else p + "." for p in pieces if p.strip())


@functools.lru_cache(maxsize=4096)  # a batch scores the same clause text for every patient: do it once
def scores(text: str, language: str) -> tuple[tuple[str, float], ...]:
    """(formula, value) pairs for ``language``: Flesch-Kincaid and Flesch for English;
    Szigriszt-Pazos and Fernandez-Huerta for Spanish."""
    if language != "es":
        return _english.scores(text)
    import textstat  # only Spanish text needs it here (importing it is slow)

    with _LOCK:
        textstat.set_lang("es")
        return (
            ("szigriszt-pazos", round(float(textstat.szigriszt_pazos(text)), 1)),
            ("fernandez-huerta", round(float(textstat.fernandez_huerta(text)), 1)),
        )


def word_count(text: str) -> int:
    return len(text.split())
