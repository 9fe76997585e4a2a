"""Recall and false-positive rate of the forbidden-claims rules on the held-out corpus, per language.

    python tools/claims_corpus.py            # the figures (the README quotes them)
    python tools/claims_corpus.py --misses   # and every missed claim and every false positive
    python tools/claims_corpus.py --corpus PATH   # another corpus in the same format (e.g. one kept
                                                  # outside the repository, never seen by the rules)
    python tools/claims_corpus.py --model         # the rules and the second reader together (the
                                                  # `second_reader` setting; consent/check/_claim_model.py)
    python tools/claims_corpus.py --rules PATH    # other rules (e.g. `git show REV:templates/rules/claims.yaml`,
                                                  # to measure a new batch against the rules before a change)

The corpus is tests/data/claims-corpus.yaml (its header says how it is labelled); the rules are
templates/rules/claims.yaml, read the way `consent check` reads a form in each language.
tests/test_claims_corpus.py holds the figures to floors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from consent.check._claim_model import RULE_ID as RESEMBLES
from consent.check._claim_model import load_model
from consent.check._claims import ClaimRule, load_rules, scan

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "claims-corpus.yaml"
RULES = REPO / "templates" / "rules" / "claims.yaml"
HONEST = "honest"


@attrs.frozen
class Sentence:
    language: str
    expected: str  # a rule id, or "honest"
    kind: str
    text: str
    found: tuple[str, ...]  # rule ids that flagged it (and "claim.resembles": the model, read where no rule hit)

    @property
    def ok(self) -> bool:
        if self.expected == HONEST:
            return not self.found
        return self.expected in self.found or self.found == (RESEMBLES,)


@attrs.frozen
class Figures:
    language: str
    violating: int
    caught: int
    honest: int
    flagged: int

    @property
    def recall(self) -> float:
        return self.caught / self.violating if self.violating else float("nan")

    @property
    def false_positive_rate(self) -> float:
        return self.flagged / self.honest if self.honest else float("nan")

    def __str__(self) -> str:
        return (f"{self.language}: recall {self.caught}/{self.violating} = {self.recall:.0%}, "
                f"false positives {self.flagged}/{self.honest} = {self.false_positive_rate:.1%}")


def load_corpus(path: Path = CORPUS) -> dict[str, list[tuple[str, str, str]]]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {language: [tuple(entry) for entry in entries] for language, entries in data.items()}


def judge(corpus: dict[str, list[tuple[str, str, str]]], rules: Sequence[ClaimRule],
          model: bool = False) -> list[Sentence]:
    """Scan every sentence as text of a form in its language; with ``model``, a sentence no rule flagged
    is also read by the claims model of its language, as `consent check` does with the second reader."""
    models = load_model() if model else {}
    out = []
    for language, entries in corpus.items():
        for expected, kind, text in entries:
            found = tuple(hit.rule.id for hit in scan(text, rules, language))
            if not found and language in models and models[language].flags(text):
                found = (RESEMBLES,)
            out.append(Sentence(language, expected, kind, text, found))
    return out


def figures(sentences: Sequence[Sentence]) -> list[Figures]:
    out = []
    for language in dict.fromkeys(s.language for s in sentences):
        mine = [s for s in sentences if s.language == language]
        violating = [s for s in mine if s.expected != HONEST]
        honest = [s for s in mine if s.expected == HONEST]
        out.append(Figures(language, len(violating), sum(s.ok for s in violating), len(honest),
                           sum(not s.ok for s in honest)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list missed claims and false positives")
    parser.add_argument("--corpus", type=Path, default=CORPUS, metavar="PATH",
                        help="a corpus in the format of tests/data/claims-corpus.yaml (default: that file)")
    parser.add_argument("--model", action="store_true",
                        help="read sentences no rule flagged with the claims model too (the second reader)")
    parser.add_argument("--rules", type=Path, default=RULES, metavar="PATH",
                        help="a rules file in the format of templates/rules/claims.yaml (default: that file)")
    args = parser.parse_args(argv)
    rules = load_rules(args.rules.read_text(encoding="utf-8"), str(args.rules))
    sentences = judge(load_corpus(args.corpus), rules, model=args.model)
    if args.misses:
        for s in sentences:
            if not s.ok:
                what = "false positive" if s.expected == HONEST else f"missed {s.expected} ({s.kind})"
                print(f"[{s.language}] {what}: {s.text}  -> {list(s.found)}")
        print()
    for f in figures(sentences):
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
