"""Spanish readability: syllables, words and sentences counted by rule, and the two formulas built on them."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import pytest
import textstat

from consent.check._readability import scores
from consent.check._syllables_es import Counts, counts, number_words, syllables

WORDS = Path(__file__).parent / "data" / "syllables_es.tsv"


def word_list() -> list[tuple[str, int, str]]:
    rows = []
    for line in WORDS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            word, count, split, _note = line.split("\t")
            rows.append((word, int(count), split))
    return rows


def test_word_list_is_consistent():
    """The data file is big enough, has no duplicate, and every count matches its written syllable split."""
    rows = word_list()
    assert len(rows) >= 120
    assert len({w for w, _, _ in rows}) == len(rows)
    assert [(w, n, s) for w, n, s in rows if len(s.split("-")) != n] == []


def test_every_word_of_the_list_has_the_right_syllable_count():
    """100% on the list: hiatus, diphthongs, triphthongs, silent u, u with diaeresis, y, h, prefixes,
    medical words of the stock clauses, names, initialisms."""
    wrong = [(w, n, syllables(w)) for w, n, _ in word_list() if syllables(w) != n]
    assert wrong == []


@pytest.mark.parametrize(("number", "spoken"), [
    ("2", "dos"),
    ("15", "quince"),
    ("21", "veintiuno"),
    ("38", "treinta y ocho"),
    ("100", "cien"),
    ("101", "ciento uno"),
    ("911", "novecientos once"),
    ("2026", "dos mil veintiséis"),
    ("21000", "veintiún mil"),
    ("1000000", "un millón"),
    ("31000000", "treinta y un millones"),
    ("1,000.00", "mil"),  # US separators, zero cents not read
    ("1.000,00", "mil"),  # Spanish separators
    ("2,000", "dos mil"),
    ("100.4", "cien punto cuatro"),
    ("3,5", "tres punto cinco"),
    ("0100", "cero uno cero cero"),  # a leading zero: a code, read digit by digit
])
def test_numbers_are_read_aloud(number, spoken):
    """Numbers are counted as the Spanish words they are read as."""
    assert " ".join(number_words(number)) == spoken


@pytest.mark.parametrize(("text", "expected"), [
    ("Puede decir que no. Puede parar cuando quiera.", Counts(2, 8, 14)),
    # EE. UU. is read "Estados Unidos" and its periods end no sentence; a small letter after a period goes on.
    ("Lo decide la FDA (de EE. UU.) decide hoy.", Counts(1, 9, 20)),
    ("Es de EE. UU. Nada más.", Counts(2, 6, 11)),
    ("Llame a la Dra. Reyes. Fiebre, dolor, etc. Llame.", Counts(3, 9, 19)),
    # Question and exclamation marks close sentences; colons and semicolons do not.
    ("¿Está embarazada? ¡Dígalo! Puede tener: dolor; fiebre.", Counts(3, 7, 18)),
    # Hyphens part words, an apostrophe joins one; phone numbers are read digit by digit, amounts as numbers.
    ("José Núñez-Łukasiewicz y Ada O'Connor.", Counts(1, 6, 14)),
    ("Llame al (208) 555-0100.", Counts(1, 11, 22)),
    ("Cuesta $1,000.00. Baje a 38 °C.", Counts(2, 8, 12)),
    ("", Counts(0, 0, 0)),
])
def test_words_and_sentences(text, expected):
    assert counts(text) == expected


def test_spanish_scores_follow_the_published_formulas():
    """Szigriszt-Pazos 206.835 - 62.3 S/W - W/F; Fernandez-Huerta 206.84 - 0.60 P - 1.02 F with P the
    syllables per 100 words and F the words per sentence (2 sentences, 8 words, 14 syllables here)."""
    got = dict(scores("Puede decir que no. Puede parar cuando quiera.", "es"))
    assert got == {"szigriszt-pazos": round(206.835 - 62.3 * 14 / 8 - 8 / 2, 1),
                   "fernandez-huerta": round(206.84 - 0.60 * 100 * 14 / 8 - 1.02 * 8 / 2, 1)}
    assert got == {"szigriszt-pazos": 93.8, "fernandez-huerta": 97.8}


def test_shorter_sentences_read_easier_in_both_formulas():
    """The same words in more sentences score higher: Fernandez-Huerta's F is words per sentence (Law 2011),
    not the often-quoted sentences per 100 words, which would rank short sentences as harder."""
    long = dict(scores("Usted puede parar cuando quiera y nadie le pondrá una multa por eso.", "es"))
    short = dict(scores("Usted puede parar cuando quiera. Nadie le pondrá una multa por eso.", "es"))
    assert short["szigriszt-pazos"] > long["szigriszt-pazos"]
    assert short["fernandez-huerta"] > long["fernandez-huerta"]


def test_spanish_counts_more_syllables_than_pyphen():
    """The reason for the rule-based count: pyphen does not split a first single vowel or a hiatus."""
    textstat.set_lang("es")
    try:
        assert textstat.syllable_count("ahora día exosomas") == 5
    finally:
        textstat.set_lang("en")
    assert counts("ahora día exosomas").syllables == 9


def test_scores_are_the_same_from_many_threads():
    """Spanish scoring keeps no shared state, and English (textstat) is behind a lock: scoring both
    languages from many threads at once gives the answers of one thread."""
    texts = [(f"Frase número {i}. Puede decir que no, en cualquier momento.", "es") for i in range(40)]
    texts += [(f"Sentence number {i}. You may say no at any time.", "en") for i in range(40)]
    scores.cache_clear()
    with cf.ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda args: scores(*args), texts))
    scores.cache_clear()
    assert parallel == [scores(*args) for args in texts]
