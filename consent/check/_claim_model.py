"""A second reader for forbidden claims: a linear model that scores how much a sentence reads like one.

The rules of ``templates/rules/claims.yaml`` catch the wordings someone has written down; new
paraphrases get past them ("federal regulators have put their seal of approval on this injection").
This model, trained on every labelled sentence we have (the held-out corpus and the later batches,
``tools/data/claims-training/``), scores a sentence between 0 and 1; a sentence at or above its
language's threshold that no rule flagged is reported as ``claim.resembles``, a **warning**: the
model gives no reason, so it never blocks a form, it asks a person to read the sentence.

The model is data (``consent/check/claims-model.json``), made by ``tools/claims_model.py`` with
scikit-learn and read here without it: per language, the TF-IDF weights of character n-grams (2 to 5,
inside word boundaries) and word n-grams (1 to 3) of the lower-cased sentence, sublinear term
frequency, each part scaled to unit length, and a logistic regression over both. The file carries
sentences with the scores scikit-learn gave them, and the tests hold this reader to them.

This module uses nothing from ``consent``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs

__all__ = ["RULE_ID", "ClaimModel", "load_model"]

RULE_ID = "claim.resembles"
MODEL_FILE = "claims-model.json"
MIN_WORDS = 4

_WHITE_SPACES = re.compile(r"\s\s+")
_WORD = re.compile(r"(?u)\b\w\w+\b")


@attrs.frozen
class _Part:
    """One TF-IDF block: n-gram -> (idf, coefficient)."""

    kind: str  # "char_wb" or "word"
    low: int
    high: int
    weights: Mapping[str, tuple[float, float]]

    def grams(self, text: str) -> list[str]:
        if self.kind == "word":
            tokens = _WORD.findall(text)
            out = list(tokens) if self.low == 1 else []
            for n in range(max(self.low, 2), min(self.high, len(tokens)) + 1):
                out += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
            return out
        out = []
        for word in _WHITE_SPACES.sub(" ", text).split():
            w = f" {word} "
            for n in range(self.low, self.high + 1):
                offset = 0
                out.append(w[offset:offset + n])
                while offset + n < len(w):
                    offset += 1
                    out.append(w[offset:offset + n])
                if offset == 0:  # a word shorter than n is counted once
                    break
        return out

    def dot(self, text: str) -> float:
        """The coefficients times the unit-length sublinear TF-IDF vector of ``text``."""
        counts = Counter(g for g in self.grams(text) if g in self.weights)
        values = {g: (1.0 + math.log(c)) * self.weights[g][0] for g, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values()))
        if not norm:
            return 0.0
        return sum(v * self.weights[g][1] for g, v in values.items()) / norm


@attrs.frozen
class ClaimModel:
    """The scorer of one language: ``score(sentence)`` in [0, 1]; ``threshold`` flags."""

    language: str
    threshold: float
    intercept: float
    parts: tuple[_Part, ...]
    checks: tuple[tuple[str, float], ...]  # sentences with the score scikit-learn gave them

    def score(self, sentence: str) -> float:
        text = sentence.lower()
        decision = self.intercept + sum(part.dot(text) for part in self.parts)
        return 1.0 / (1.0 + math.exp(-decision))

    def flags(self, sentence: str) -> bool:
        """At or above the threshold, and at least :data:`MIN_WORDS` words long: a fragment ("The
        FDA.", a list item) says too little for the model to read, and the rules read it anyway."""
        return len(_WORD.findall(sentence)) >= MIN_WORDS and self.score(sentence) >= self.threshold


def _model(language: str, data: Mapping[str, Any]) -> ClaimModel:
    parts = tuple(
        _Part(p["kind"], p["ngram_range"][0], p["ngram_range"][1],
              {g: (float(w[0]), float(w[1])) for g, w in p["weights"].items()})
        for p in data["parts"]
    )
    return ClaimModel(language, float(data["threshold"]), float(data["intercept"]), parts,
                      tuple((str(t), float(s)) for t, s in data["checks"]))


@functools.lru_cache(maxsize=1)
def load_model() -> Mapping[str, ClaimModel]:
    """The shipped models by language (``en``, ``es``), read once."""
    data = json.loads(resources.files(__package__).joinpath(MODEL_FILE).read_text(encoding="utf-8"))
    return {language: _model(language, d) for language, d in data["languages"].items()}
