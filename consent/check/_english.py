"""English readability (Flesch-Kincaid grade, Flesch Reading Ease) without loading the CMU dictionary.

The figures are textstat 0.7.8's, computed the same way: the same word and sentence rules, and the
same syllable count per word (the stressed vowels of the word's first CMU pronunciation, else
pyphen's hyphenation points + 1). Loading the CMU dictionary takes about half a second and 70 MB in
every process that checks a form; the counts come instead from ``syllables-en.txt`` beside this
module, made from it by ``tools/make_syllables.py``: every word of the CMU dictionary, plus the words
of the stock clauses it lacks (counted with pyphen). pyphen is loaded only for a word in neither (a
clinic's own word); a word of digits has no hyphenation point, so it counts one syllable without it.
A test proves the table current and the figures equal to textstat's on every stock form.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from typing import Any

TABLE = "syllables-en.txt"

# textstat's rules (textstat/backend/utils/constants.py, transformations, counts).
_CONTRACTION_ENDINGS = r"[tsd]|ve|ll|re"
_NON_CONTRACTION_APOSTROPHE = re.compile(r"\'(?!" + _CONTRACTION_ENDINGS + ")")
_PUNCTUATION = re.compile(r"[^\w\s\']")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of a text: punctuation removed (apostrophes kept in contractions), split on spaces."""
    return _PUNCTUATION.sub("", _NON_CONTRACTION_APOSTROPHE.sub("", text)).split()


def sentence_count(text: str) -> int:
    """Sentences, not counting fragments of two words or fewer (but at least one for any text)."""
    if not text:
        return 0
    found = _SENTENCE.findall(text)
    return max(1, len(found) - sum(1 for s in found if len(words(s)) <= 2))


def parse_table(text: str) -> dict[str, int]:
    """A table file: comment lines (#), then one line per count: the count, then its words."""
    table: dict[str, int] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            count, _, listed = line.partition(" ")
            table.update(dict.fromkeys(listed.split(), int(count)))
    return table


@functools.cache
def syllable_table() -> dict[str, int]:
    return parse_table(importlib.resources.files(__package__).joinpath(TABLE).read_text(encoding="utf-8"))


@functools.cache
def _pyphen() -> Any:
    import pyphen  # only for words the table lacks

    return pyphen.Pyphen(lang="en")


def syllables(word: str) -> int:
    """The syllables of one lowercase word, as textstat counts them."""
    count = syllable_table().get(word)
    if count is not None:
        return count
    if word.isdigit():
        return 1  # hyphenation patterns are letters only: no point in a number
    return len(_pyphen().positions(word)) + 1


@functools.lru_cache(maxsize=4096)
def scores(text: str) -> tuple[tuple[str, float], ...]:
    """("fk-grade", value) and ("reading-ease", value), rounded to one decimal as the report prints them."""
    found = words(text)
    per_sentence = len(found) / sentence_count(text) if found else 0.0
    per_word = sum(syllables(w.lower()) for w in found) / len(found) if found else 0.0
    if per_sentence == 0 or per_word == 0:
        grade = ease = 0.0
    else:
        grade = 0.39 * per_sentence + 11.8 * per_word - 15.59
        ease = 206.835 - 1.015 * per_sentence - 84.6 * per_word
    return (("fk-grade", round(grade, 1)), ("reading-ease", round(ease, 1)))
