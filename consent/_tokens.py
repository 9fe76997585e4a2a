"""Patient-specific strings as tokens, so work shared by many forms is done once.

Every form of a batch differs only in a few strings: the patient's name, birth date and MRN, and the
form id. :func:`tokenise` replaces them (in one pass, longest first) with fixed tokens; the renderers
render the tokenised form once and put each form's own strings back into the finished output.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from .document import Form

TOKENS = {
    "name": "QxCONSENTxNAMExQ",
    "birth": "QxCONSENTxBIRTHxQ",
    "mrn": "QxCONSENTxMRNxQ",
    "id": "QxCONSENTxFORMIDxQ",
}
TOKEN_MARK = "QxCONSENTx"


T = TypeVar("T")


class SharedWork(Generic[T]):
    """What a renderer made once for a tokenised form, kept for the next forms with the same key
    (least recently used first out: a batch has a few groups, one process may see many)."""

    def __init__(self, make: Callable[[Form], T], size: int) -> None:
        self.make, self.size = make, size
        self.done: OrderedDict[str, T] = OrderedDict()

    def get(self, token_form: Form, key: str) -> T:
        if key in self.done:
            self.done.move_to_end(key)
            return self.done[key]
        value = self.done[key] = self.make(token_form)
        while len(self.done) > self.size:
            self.done.popitem(last=False)
        return value


def patient_values(form: Form) -> dict[str, str]:
    """The strings that differ between the forms of one batch, by token name (no MRN when there is none:
    the form then prints a dash, which is the same on every form)."""
    h = form.header
    values = {"name": h.patient_name, "birth": h.birth_date, "id": form.form_id}
    if h.mrn:
        values["mrn"] = h.mrn
    return values


def _as_json(form: Form) -> str:
    return json.dumps(attrs.asdict(form), default=str, sort_keys=True)


def _replace(value: Any, pattern: re.Pattern[str], to_token: dict[str, str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(lambda m: to_token[m.group(0)], value)
    if isinstance(value, tuple):
        return tuple(_replace(v, pattern, to_token) for v in value)
    if isinstance(value, dict):
        return {k: _replace(v, pattern, to_token) for k, v in value.items()}
    if attrs.has(type(value)):
        changes = {
            f.name: _replace(getattr(value, f.name), pattern, to_token)
            for f in attrs.fields(type(value))
            if f.init
        }
        return attrs.evolve(value, **changes)
    return value


def tokenise(form: Form) -> tuple[Form, str] | None:
    """The form with its patient strings replaced by tokens, and a key naming its content.

    None when a token already occurs in the real text: then nothing may be substituted.
    """
    if TOKEN_MARK in _as_json(form):
        return None
    values = patient_values(form)
    to_token = {values[k]: TOKENS[k] for k in sorted(values, key=lambda k: -len(values[k]))}
    pattern = re.compile("|".join(re.escape(v) for v in to_token))
    token_form = _replace(form, pattern, to_token)
    token_form = attrs.evolve(token_form, labels=dict(token_form.labels))
    return token_form, hashlib.sha256(_as_json(token_form).encode()).hexdigest()
