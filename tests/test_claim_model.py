"""The second reader of forbidden claims (consent/check/_claim_model.py): a model made by
tools/claims_model.py with scikit-learn, read by the package without it, off unless a pack's
settings turn it on, and a warning (never a block) when it is on."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import attrs
import pytest
from helpers import DATE, PRODUCT, REPO, make_clinic

import consent
from consent.check import check
from consent.check._claim_model import MODEL_FILE, RULE_ID, load_model

# A paraphrase no claim rule knows (a set result by a date, in a metaphor), which the model flags.
PARAPHRASE = "Our serum wakes sleepy roots so your ponytail is twice as thick by spring."
HONEST = "We hope it may slow hair loss for some people."
ADA = consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1985, 12, 1), mrn="SRH-000101")


def _pack(tmp_path: Path, value: str) -> Path:
    rules = tmp_path / "pack" / "templates" / "rules"
    rules.mkdir(parents=True)
    (rules / "settings.yaml").write_text(f"second_reader: {value}\n", encoding="utf-8")
    return tmp_path / "pack"


def _clinic(purpose: str) -> consent.Clinic:
    """A clinic whose hair product states ``purpose`` (clinic prose, printed in the treatment section)."""
    return make_clinic(products={"hair": attrs.evolve(PRODUCT, purpose=purpose)})


def _resembling(report: consent.check.Report) -> list[consent.check.Finding]:
    return [f for f in report.findings if f.rule == RULE_ID]


def test_the_reader_gives_the_scores_scikit_learn_gave() -> None:
    """The file keeps sentences with the probability scikit-learn gave them when it was made; the
    package's own reader (no scikit-learn) must give the same, in both languages."""
    models = load_model()
    assert set(models) == {"en", "es"}
    for language, model in models.items():
        assert len(model.checks) >= 20, language
        assert 0.0 < model.threshold < 1.0
        assert {round(score) for _, score in model.checks} == {0, 1}, language  # claims and honest ones
        for sentence, expected in model.checks:
            assert model.score(sentence) == pytest.approx(expected, abs=1e-6), (language, sentence)


def test_the_model_file_is_the_tools_output_and_ships_in_the_package() -> None:
    """Made by tools/claims_model.py from the corpus and the training batches in the repository."""
    data = json.loads((REPO / "consent" / "check" / MODEL_FILE).read_text(encoding="utf-8"))
    assert "tools/claims_model.py" in data["about"]
    assert sorted(data["languages"]) == ["en", "es"]
    batches = sorted((REPO / "tools" / "data" / "claims-training").glob("*.yaml"))
    assert len(batches) >= 9
    for language, d in data["languages"].items():
        assert d["sentences"] > d["claims"] > 300, language
        assert [p["kind"] for p in d["parts"]] == ["char_wb", "word"]


def test_the_second_reader_is_off_by_default() -> None:
    """Without the setting, a paraphrase the rules miss passes: `consent check` is unchanged."""
    assert _resembling(check(["hair"], languages=["en"], clinic=_clinic(PARAPHRASE))) == []


def test_with_the_second_reader_a_paraphrase_the_rules_miss_is_a_warning(tmp_path: Path) -> None:
    """Turned on in a pack, the clinic's own words are read by the model too: the paraphrase in its
    purpose is a warning naming the sentence and its score, and the form still renders (warnings never
    block)."""
    pack = _pack(tmp_path, "true")
    report = check(["hair"], languages=["en"], clinic=_clinic(PARAPHRASE), packs=[pack])
    found = _resembling(report)
    assert found and {f.text for f in found} == {PARAPHRASE}
    assert {f.severity for f in found} == {"warning"}
    scored = re.search(r"score (\d\.\d\d), flags from (\d\.\d\d)", found[0].message)
    assert scored and float(scored[1]) >= float(scored[2]) > 0.0
    assert not [f for f in report.findings if f.severity == "error"]
    form = consent.build("hair", patient=ADA, clinic=_clinic(PARAPHRASE), date=DATE, packs=[pack])
    assert PARAPHRASE in repr(form.sections)


def test_the_second_reader_leaves_honest_text_and_the_stock_forms_alone(tmp_path: Path) -> None:
    """On: an honest purpose and the stock clauses of every treatment, in English and Spanish, give no
    warning (the stock sentences are among its honest training sentences)."""
    pack = _pack(tmp_path, "true")
    assert _resembling(check(languages=["en", "es"], clinic=_clinic(HONEST), packs=[pack])) == []


def test_a_rule_hit_is_not_read_again_by_the_model(tmp_path: Path) -> None:
    """A sentence a rule flags is reported by that rule only (an error), not also by the model."""
    pack = _pack(tmp_path, "true")
    claim = "We hope it helps, and the product is 100% safe."
    report = check(["hair"], languages=["en"], clinic=_clinic(claim), packs=[pack])
    assert {f.rule for f in report.findings if f.text == claim} == {"claim.absolutely-safe"}


def test_the_setting_must_be_true_or_false(tmp_path: Path) -> None:
    pack = _pack(tmp_path, '"yes"')
    report = check(["hair"], languages=["en"], packs=[pack])
    assert any(f.rule == "structure.settings" and "second_reader must be true or false" in f.message
               for f in report.findings)


def _corpus_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("claims_corpus", REPO / "tools" / "claims_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_corpus_tool_measures_the_rules_with_the_second_reader(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`tools/claims_corpus.py --model`: a sentence no rule flags counts as caught when the model flags it."""
    corpus = tmp_path / "unseen.yaml"
    corpus.write_text(f'en:\n  - [claim.guarantee, paraphrase, "{PARAPHRASE}"]\n  - [honest, plain, "{HONEST}"]\n',
                      encoding="utf-8")
    tool = _corpus_tool()
    assert tool.main(["--corpus", str(corpus)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "en: recall 0/1 = 0%, false positives 0/1 = 0.0%"
    assert tool.main(["--corpus", str(corpus), "--model"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "en: recall 1/1 = 100%, false positives 0/1 = 0.0%"
