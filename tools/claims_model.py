"""Train the second reader of forbidden claims (consent/check/claims-model.json) from the labelled sentences.

    pip install scikit-learn==1.9.1        # in any environment with the project installed; not a
                                           # dependency of the package, which reads the model without it
    python tools/claims_model.py           # writes consent/check/claims-model.json
    python tools/claims_model.py --report  # and prints the cross-validated figures it chose from

Training data: tests/data/claims-corpus.yaml and every tools/data/claims-training/*.yaml, in the
corpus format ([expected, kind, sentence] per language; `honest` or a rule id), and every sentence of
the stock forms as honest (without them the model took half the stock library's short plain
sentences for claims). A batch added here is
no longer unseen: measure it with `python tools/claims_corpus.py --corpus PATH --model` first, and
keep a fresh one outside the repository for the next measurement.

Per language (en, es): TF-IDF of character n-grams (2-5, inside word boundaries) and word n-grams
(1-3) of the lower-cased sentence, sublinear tf, n-grams seen in at least two sentences, each block
scaled to unit length; a logistic regression (C=8, classes balanced) says claim or honest. The
threshold is the lowest score at which, in 5-fold cross-validation, the rules and the model together
flag at most 3% of the honest training sentences. The JSON keeps, per n-gram, its idf and
coefficient, and 40 sentences with the score scikit-learn gave them (tests/test_claim_model.py holds
the package's reader to them). The same data gives the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from consent.check._claims import load_rules, scan  # noqa: E402

OUT = REPO / "consent" / "check" / "claims-model.json"
SOURCES = [REPO / "tests" / "data" / "claims-corpus.yaml", *sorted((REPO / "tools" / "data" / "claims-training").glob("*.yaml"))]
RULES = REPO / "templates" / "rules" / "claims.yaml"
LANGUAGES = ("en", "es")
FP_TARGET = 0.03
SAMPLE_NAME = "Sample Clinic"  # consent/check/_library_checks.py sample_clinic()
CLINIC_NAMES = ("Renew Regenerative Institute", "Vital Cell Health", "Apex Orthopedic & Stem Cell Center",
                "Evergreen Hair Restoration", "Longevity IV Lounge", "Summit Regenerative Medicine",
                "Clínica Vida Nueva", "Centro de Medicina Regenerativa del Valle")
PARTS = (("char_wb", (2, 5)), ("word", (1, 3)))


def stock_sentences() -> dict[str, list[str]]:
    """Every sentence of the stock forms, per language, as `consent check` reads them (all treatments,
    adult and minor, with and without a study, and with each state's notices): honest by review.

    They teach the model that short plain-language sentences are not claims; the package does not
    apply the model to the built-in clauses themselves (consent/check/_form.py)."""
    import consent.check as check
    from consent.check import _form
    from consent.check._claims import split_sentences

    found: dict[str, dict[str, None]] = {}
    real = _form.claims

    def record(trace, rules, acknowledge, *, treatment=None, language=None, second_reader=False):  # type: ignore[no-untyped-def]
        for t in trace:
            for _, sentence in split_sentences(t.text):
                found.setdefault(language or "en", {})[sentence] = None
        return []

    _form.claims = check.claims = record  # type: ignore[attr-defined]
    try:
        for state in (None, "CA", "FL", "TX", "UT", "WA"):
            check.check(state=state)
    finally:
        _form.claims = check.claims = real  # type: ignore[attr-defined]
    # The sample clinic's name stands for any clinic's: the same sentences with other names, so that a
    # clinic called "... Regenerative ..." or "... Stem Cell ..." is not read as a claim.
    for language, sentences in found.items():
        for sentence in [s for s in sentences if SAMPLE_NAME in s]:
            for name in CLINIC_NAMES:
                sentences[sentence.replace(SAMPLE_NAME, name)] = None
    return {language: list(sentences) for language, sentences in found.items()}


def sentences(language: str, sources: Sequence[Path] = SOURCES,
              stock: Sequence[str] = ()) -> list[tuple[str, bool]]:
    """(sentence, is_claim) of every source and of ``stock`` (honest), each sentence once (its first label)."""
    seen: dict[str, bool] = {}
    for path in sources:
        for expected, _kind, text in yaml.safe_load(path.read_text(encoding="utf-8")).get(language, []):
            seen.setdefault(text, expected != "honest")
    for text in stock:
        seen.setdefault(text, False)
    return list(seen.items())


def pipeline():  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    return make_pipeline(
        make_union(*(TfidfVectorizer(analyzer=kind, ngram_range=span, sublinear_tf=True, min_df=2)
                     for kind, span in PARTS)),
        LogisticRegression(C=8.0, max_iter=5000, class_weight="balanced"),
    )


def train(language: str, stock: Sequence[str], report: bool = False) -> dict[str, object]:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = sentences(language, stock=stock)
    texts = [t for t, _ in rows]
    labels = np.array([c for _, c in rows])
    rules = load_rules(RULES.read_text(encoding="utf-8"), str(RULES))
    by_rules = np.array([bool(scan(t, rules, language)) for t in texts])
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    oof = cross_val_predict(pipeline(), texts, labels, cv=folds, method="predict_proba")[:, 1]
    honest = ~labels
    threshold = next(float(t) for t in sorted(set(np.round(oof, 4)))
                     if ((oof >= t) | by_rules)[honest].mean() <= FP_TARGET)
    if report:
        flagged = (oof >= threshold) | by_rules
        print(f"[{language}] {len(texts)} sentences ({labels.sum()} claims); threshold {threshold:.4f}; "
              f"cross-validated: rules recall {by_rules[labels].mean():.1%}, rules + model recall "
              f"{flagged[labels].mean():.1%}, false positives {flagged[honest].mean():.1%}")
    model = pipeline().fit(texts, labels)
    union, regression = model.steps[0][1], model.steps[1][1]
    coef = regression.coef_[0]
    parts, offset = [], 0
    for (kind, span), (_, vectorizer) in zip(PARTS, union.transformer_list):
        vocabulary = vectorizer.vocabulary_
        weights = {gram: [float(f"{vectorizer.idf_[i]:.9g}"), float(f"{coef[offset + i]:.9g}")]
                   for gram, i in sorted(vocabulary.items())}
        parts.append({"kind": kind, "ngram_range": list(span), "weights": weights})
        offset += len(vocabulary)
    picks = texts[:: max(1, len(texts) // 40)][:40]
    checks = [[t, float(f"{p:.9g}")] for t, p in zip(picks, model.predict_proba(picks)[:, 1])]
    return {"threshold": threshold, "intercept": float(f"{regression.intercept_[0]:.9g}"),
            "parts": parts, "checks": checks, "sentences": len(texts), "claims": int(labels.sum())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="print the cross-validated figures")
    args = parser.parse_args(argv)
    stock = stock_sentences()
    data = {
        "about": "Made by tools/claims_model.py from tests/data/claims-corpus.yaml and "
                 "tools/data/claims-training/; read by consent/check/_claim_model.py.",
        "languages": {language: train(language, stock.get(language, ()), args.report) for language in LANGUAGES},
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
                   encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
