"""Minors: the age of majority of each state (data: ``templates/rules/majority.yaml``), and whether a form's
patient is a minor on the form's date.

A patient younger than the age of majority of the clinic's state, in whole years on the form's date, is a
minor: the form's signature section asks a parent or legal guardian to sign for them, with a line for the
patient's own assent where the clinic wants one (``clinic.minors.assent_from_age``). What is decided is
recorded in the form's manifest (:class:`~consent.document.Minor`), so a form re-rendered from its own data
is signed the same way.

The file is read by the library (:class:`~consent.library.loader.Library`), built-in first, then each pack's copy,
which replaces the states it lists. Every problem names the file: an unknown key, a state code that is not
one, an age that is not a whole number from ``MIN_AGE`` to ``MAX_AGE``, a missing name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from .._yaml import Located
from ..document import Minor
from ..errors import InputError, Problem
from .checks import age_on
from .types import state_entries

MAJORITY_FILE = ("rules", "majority.yaml")  # under a source's templates/
MIN_AGE, MAX_AGE = 18, 21  # every US state's age of majority lies here
_STATE_KEYS = frozenset({"age", "name"})


@attrs.frozen
class Majority:
    """One state's age of majority and its name, as the form prints it (``names``: per language, where the
    name differs from ``name``)."""

    age: int
    name: str
    names: Mapping[str, str] = attrs.field(factory=dict)
    path: str = ""

    def name_in(self, language: str) -> str:
        return self.names.get(language, self.name)


def parse_majority(doc: Located, path: str) -> tuple[dict[str, Majority], list[Problem]]:
    """The states of one majority file, and every problem in it (each naming the file and line)."""
    problems: list[Problem] = []

    def problem(message: str, at: str) -> None:
        problems.append(Problem(message, path=path, line=doc.line(at)))

    data = doc.data
    if not isinstance(data, Mapping):
        problem(f"must be a mapping with the key 'states' (got {type(data).__name__})", "")
        return {}, problems
    unknown = sorted(map(str, set(data) - {"states"}))
    if unknown:
        problem(f"unknown key(s) {', '.join(unknown)} (known: states)", unknown[0])
    states = data.get("states")
    if not isinstance(states, Mapping):
        problem(f"states must map each state code (such as TX) to its age and name (got {states!r})",
                "states")
        return {}, problems
    out: dict[str, Majority] = {}
    for code, at, entry in state_entries(states, _STATE_KEYS, "TX", "age and name, such as {age: 18, name: Texas}",
                                         problem):
        age = entry.get("age")
        if isinstance(age, bool) or not isinstance(age, int) or not MIN_AGE <= age <= MAX_AGE:
            problem(f"{at}.age must be a whole number of years from {MIN_AGE} to {MAX_AGE} (got {age!r})",
                    f"{at}.age")
            continue
        name, names = _name(entry.get("name"))
        if name is None:
            problem(f"{at}.name must be the state's name, or one per language with an English one such as "
                    f"{{en: New York, es: Nueva York}} (got {entry.get('name')!r})", f"{at}.name")
            continue
        out[code] = Majority(age, name, names, path)
    return out, problems


def _name(value: Any) -> tuple[str | None, dict[str, str]]:
    if isinstance(value, str) and value.strip():
        return value, {}
    if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                          for k, v in value.items()) and "en" in value:
        return value["en"], {k: v for k, v in value.items() if k != "en"}
    return None, {}


def minor_on(born: dt.date, date: dt.date, state: str, table: Mapping[str, Majority],
             assent_from_age: int | None) -> Minor | None:
    """The form's :class:`Minor` record when a patient born on ``born`` is under the age of majority of
    ``state`` on ``date`` (None for an adult). ``assent_from_age``: the clinic's setting (None: no assent
    line). A state the table does not list decides only for a patient of ``MAX_AGE`` or more (an adult in
    every state); for a younger one it is an InputError, since the form cannot say who signs."""
    age = age_on(born, date)
    state = state.upper()
    majority = table.get(state)
    if majority is None:
        if age >= MAX_AGE:
            return None
        raise InputError(
            problems=[Problem(
                f"clinic.state {state}: no age of majority is known for it, so the form cannot tell whether "
                f"this patient (aged {age} on the form's date) signs or a parent or guardian does",
                field="clinic.state")],
            hint="give the state's age in a pack's templates/rules/majority.yaml, such as "
                 f"states: {{{state}: {{age: 18, name: ...}}}}",
        )
    if age >= majority.age:
        return None
    assent = assent_from_age is not None and age >= assent_from_age
    return Minor(age_of_majority=majority.age, state=state, assent=assent)
