"""Clinic data on one treatment's form: its fees, in the form's language.

A clinic gives a fee schedule for every treatment (or one for all of them), and any text that prints
either as one string (English) or per language. :func:`clinic_terms` picks what one form prints and
reports everything missing at once, each problem with the ``consent check`` rule it breaks: no fee
schedule for the treatment, or no text in the form's language. A form in Spanish never prints the
clinic's English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs
from babel import Locale, UnknownLocaleError

from ._library import DEFAULT_LANGUAGE
from .content import TreatmentSpec
from .errors import InputError, Problem
from .inputs import Clinic, FeeSchedule, Text

RULE_FEES = "coverage.fee-schedule"
RULE_LANGUAGE = "coverage.clinic-language"


@attrs.frozen
class FeeTerms:
    """The fee schedule of one form, its texts in the form's language."""

    price_per_session: Decimal
    planned_sessions: int
    currency: str
    included: tuple[str, ...]
    excluded: tuple[str, ...]
    refund_policy: str | None

    @property
    def total(self) -> Decimal:
        return self.price_per_session * self.planned_sessions


@attrs.frozen
class ClinicTerms:
    """What the clinic's data puts on one treatment's form, in one language."""

    purpose: str
    fees: FeeTerms


@attrs.frozen
class ClinicProblem:
    """A problem with the clinic's data for one form, and the check rule it breaks."""

    rule: str
    problem: Problem


def language_name(code: str) -> str:
    """``Spanish (es)``; ``language 'xx'`` for a language Babel does not know."""
    try:
        return f"{Locale.parse(code).get_display_name('en')} ({code})"
    except (UnknownLocaleError, ValueError, TypeError):
        return f"language {code!r}"


class _Picker:
    """Picks clinic text in one language, recording a problem for each text not given in it."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.problems: list[ClinicProblem] = []

    def __call__(self, value: Text, field: str) -> str:
        name = language_name(self.language)
        if isinstance(value, Mapping):
            if self.language in value:
                return value[self.language]
            message = (f"{field} has no {name} text (given: {', '.join(sorted(value))}); a form in {name} must "
                       f"not print clinic text in another language: add {self.language}: ... to it")
        elif self.language == DEFAULT_LANGUAGE:
            return value
        else:
            english = language_name(DEFAULT_LANGUAGE).split(" (")[0]
            message = (f"{field} is {english} only (a plain string is {english}); a form in {name} must "
                       f"not print clinic text in another language: give it as "
                       f"{{{DEFAULT_LANGUAGE}: ..., {self.language}: ...}}")
        self.problems.append(ClinicProblem(RULE_LANGUAGE, Problem(message, field=field)))
        return ""


def _fees(schedule: FeeSchedule, at: str, pick: _Picker) -> FeeTerms:
    return FeeTerms(
        price_per_session=schedule.price_per_session,
        planned_sessions=schedule.planned_sessions,
        currency=schedule.currency,
        included=tuple(pick(t, f"{at}.included[{i}]") for i, t in enumerate(schedule.included)),
        excluded=tuple(pick(t, f"{at}.excluded[{i}]") for i, t in enumerate(schedule.excluded)),
        refund_policy=None if schedule.refund_policy is None else pick(schedule.refund_policy, f"{at}.refund_policy"),
    )


def clinic_terms(clinic: Clinic, treatment: TreatmentSpec, language: str) -> tuple[ClinicTerms | None, list[ClinicProblem]]:
    """What ``clinic`` prints on the form of ``treatment`` (its spec in ``language``), or every problem."""
    pick = _Picker(language)
    problems: list[ClinicProblem] = []
    schedule = clinic.fee_schedule(treatment.id)
    fees: FeeTerms | None = None
    if schedule is None:
        given = ", ".join(sorted(clinic.fees)) if isinstance(clinic.fees, Mapping) else ""
        problems.append(ClinicProblem(RULE_FEES, Problem(
            f"clinic.fees has no fee schedule for {treatment.id!r} (schedules for: {given}); give one under "
            f"{treatment.id}, or give clinic.fees as one schedule for every treatment",
            field="clinic.fees")))
    else:
        at = "clinic.fees" if isinstance(clinic.fees, FeeSchedule) else f"clinic.fees.{treatment.id}"
        fees = _fees(schedule, at, pick)
    problems += pick.problems
    if problems or fees is None:
        return None, problems
    return ClinicTerms(purpose=treatment.purpose, fees=fees), []


def require_terms(clinic: Clinic, treatment: TreatmentSpec, language: str) -> ClinicTerms:
    """:func:`clinic_terms`, raising one InputError listing every problem."""
    terms, problems = clinic_terms(clinic, treatment, language)
    if terms is None:
        raise InputError(problems=[p.problem for p in problems])
    return terms
