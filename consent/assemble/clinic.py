"""Clinic data on one treatment's form: the product, its purpose and the fees, in the form's language.

A clinic names the product it gives for each treatment (maker, source tissue, donor screening, lot
number; a pack's own treatment may name it in its treatment file), may state its own purpose for it,
gives a fee schedule for every treatment (or one for all of them), and gives any text that prints
either as one string (English) or per language. :func:`clinic_terms` picks what one form prints and
reports everything missing at once, each problem with the ``consent check`` rule it breaks: no product
identity, no fee schedule, or no text in the form's language. A form in Spanish never prints the
clinic's English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs
from babel import Locale, UnknownLocaleError

from ..errors import InputError, Problem
from ..inputs.loaders import Clinic, FeeSchedule, Text
from ..library.loader import DEFAULT_LANGUAGE
from ..library.treatments import TreatmentSpec

RULE_PRODUCT = "coverage.product-identity"
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
class ProductTerms:
    """The product of one form. ``lot_number`` is None when it is written in at treatment."""

    maker: str
    source_tissue: str
    donor_screening: str
    lot_number: str | None


@attrs.frozen
class ClinicTerms:
    """What the clinic's data puts on one treatment's form, in one language."""

    product: ProductTerms
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
        return f"{Locale.parse(code, sep='-').get_display_name('en')} ({code})"  # zh-Hans: a BCP 47 tag
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
        refund_policy=None if schedule.refund_policy is None
        else pick(schedule.refund_policy, f"{at}.refund_policy"),
    )


def coverage_problems(clinic: Clinic, treatment: TreatmentSpec) -> list[ClinicProblem]:
    """What the clinic lacks for ``treatment`` in any language: the product's identity, a fee schedule."""
    out = []
    if treatment.id not in clinic.products and treatment.product_identity is None:
        given = f" (entries for: {', '.join(sorted(clinic.products))})" if clinic.products else ""
        where = (f"under clinic.products.{treatment.id} (maker, source_tissue, donor_screening, and lot_number "
                 "if known)")
        if treatment.source != "built-in":
            where += ", or as product_identity in the treatment file"
        out.append(ClinicProblem(RULE_PRODUCT, Problem(
            f"clinic.products has no entry for {treatment.id!r}{given}; the form must name the product's maker, "
            f"source tissue and donor screening: give them {where}", field="clinic.products")))
    if clinic.fee_schedule(treatment.id) is None:
        given = ", ".join(sorted(clinic.fees)) if isinstance(clinic.fees, Mapping) else ""
        out.append(ClinicProblem(RULE_FEES, Problem(
            f"clinic.fees has no fee schedule for {treatment.id!r} (schedules for: {given}); give one under "
            f"{treatment.id}, or give clinic.fees as one schedule for every treatment",
            field="clinic.fees")))
    return out


def clinic_terms(
    clinic: Clinic, treatment: TreatmentSpec, language: str
) -> tuple[ClinicTerms | None, list[ClinicProblem]]:
    """What ``clinic`` prints on the form of ``treatment`` (its spec in ``language``), or every problem."""
    problems = coverage_problems(clinic, treatment)
    pick = _Picker(language)
    entry, spec = clinic.products.get(treatment.id), treatment.product_identity
    product: ProductTerms | None = None
    purpose = treatment.purpose
    if entry is not None:
        at = f"clinic.products.{treatment.id}"
        product = ProductTerms(entry.maker, pick(entry.source_tissue, f"{at}.source_tissue"),
                               pick(entry.donor_screening, f"{at}.donor_screening"), entry.lot_number)
        if entry.purpose is not None:
            purpose = pick(entry.purpose, f"{at}.purpose")
    elif spec is not None:  # a pack's own treatment names its product (already in the form's language)
        product = ProductTerms(spec.maker, spec.source_tissue, spec.donor_screening, spec.lot_number)
    schedule = clinic.fee_schedule(treatment.id)
    fees = None
    if schedule is not None:
        at = "clinic.fees" if isinstance(clinic.fees, FeeSchedule) else f"clinic.fees.{treatment.id}"
        fees = _fees(schedule, at, pick)
    problems += pick.problems
    if problems or product is None or fees is None:
        return None, problems
    return ClinicTerms(product=product, purpose=purpose, fees=fees), []


def require_terms(clinic: Clinic, treatment: TreatmentSpec, language: str) -> ClinicTerms:
    """:func:`clinic_terms`, raising one InputError listing every problem."""
    terms, problems = clinic_terms(clinic, treatment, language)
    if terms is None:
        raise InputError(problems=[p.problem for p in problems])
    return terms
