"""The forbidden-claims rules on a held-out corpus: recall and false positives, per language.

The corpus (tests/data/claims-corpus.yaml) was written for measuring, not copied from the examples
in tests/test_claims.py; `python tools/claims_corpus.py --misses` lists what the rules get wrong.
The floors are what the rules meet today; README "Compliance checks" quotes the figures.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import test_claims

from consent.check._claims import ClaimRule, load_rules

TOOL = Path(__file__).resolve().parents[1] / "tools" / "claims_corpus.py"

RECALL_FLOOR = 0.99  # per language: share of violating sentences flagged by their expected rule
FALSE_POSITIVE_CEILING = 0.005  # per language: share of honest sentences flagged by any rule


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("claims_corpus", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _tool()


@pytest.fixture(scope="module")
def rules(tool: ModuleType) -> tuple[ClaimRule, ...]:
    return load_rules(tool.RULES.read_text(encoding="utf-8"), "templates/rules/claims.yaml")


def test_corpus_is_big_enough_labelled_and_held_out(tool: ModuleType, rules: tuple[ClaimRule, ...]) -> None:
    """300+ violating and 300+ honest sentences, 100+ of each per language; labels name real rules;
    no sentence repeats or comes from the rule examples of tests/test_claims.py."""
    corpus = tool.load_corpus()
    assert set(corpus) == {"en", "es"}
    ids = {rule.id for rule in rules}
    entries = [entry for language in corpus.values() for entry in language]
    assert all(expected in ids | {"honest"} for expected, _, _ in entries)
    kinds = {"plain", "paraphrase", "misspelling", "loophole", "near-miss"}
    assert all(kind in kinds for _, kind, _ in entries)
    for language, items in corpus.items():
        assert sum(e != "honest" for e, _, _ in items) >= 100, language
        assert sum(e == "honest" for e, _, _ in items) >= 100, language
    assert sum(e != "honest" for e, _, _ in entries) >= 300
    assert sum(e == "honest" for e, _, _ in entries) >= 300
    texts = [text for _, _, text in entries]
    assert len(set(texts)) == len(texts)
    tables = (test_claims.FLAGGED, test_claims.HONEST, test_claims.FLAGGED_ES, test_claims.HONEST_ES,
              test_claims.TWO_CLAIMS)
    examples = {sentence for table in tables for _, sentence in table}
    assert not set(texts) & examples


def test_recall_and_false_positive_rate_per_language(tool: ModuleType, rules: tuple[ClaimRule, ...]) -> None:
    """Per language: recall >= 99%, false positives < 0.5% (every miss is listed when it fails)."""
    sentences = tool.judge(tool.load_corpus(), rules)
    wrong = [f"[{s.language}] {s.expected}: {s.text} -> {list(s.found)}" for s in sentences if not s.ok]
    for figures in tool.figures(sentences):
        assert figures.recall >= RECALL_FLOOR, (str(figures), wrong)
        assert figures.false_positive_rate < FALSE_POSITIVE_CEILING, (str(figures), wrong)


def test_the_script_prints_the_figures(tool: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """tools/claims_corpus.py prints one line of figures per language."""
    assert tool.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["en", "es"]
    assert all("recall" in line and "false positives" in line for line in lines)


def test_the_script_reads_another_corpus(tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--corpus PATH measures a corpus kept elsewhere (an unseen batch), in the same format."""
    corpus = tmp_path / "unseen.yaml"
    corpus.write_text(
        "en:\n"
        '  - [claim.fda-approved, paraphrase, "Federal regulators have signed off on this therapy."]\n'
        '  - [claim.guarantee, paraphrase, "Unseen: this sentence claims nothing the rules know."]\n'
        '  - [honest, near-miss, "Registration with the FDA is not the same as approval."]\n',
        encoding="utf-8",
    )
    assert tool.main(["--corpus", str(corpus), "--misses"]) == 0
    out = capsys.readouterr().out
    assert "missed claim.guarantee (paraphrase): Unseen: this sentence claims nothing" in out
    assert out.splitlines()[-1] == "en: recall 1/2 = 50%, false positives 0/1 = 0.0%"
