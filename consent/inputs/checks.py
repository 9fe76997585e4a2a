"""Checks of the inputs that types alone cannot make: required text, dates, currencies, fee schedules, a
study's required facts, text in the form's language. Each returns every problem it finds (a list of
:class:`~consent.errors.Problem`); ``validate_*`` raise one :class:`~consent.errors.InputError` with all."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal

from babel.numbers import UnknownCurrencyError, get_currency_name

from .. import _limits
from ..content import FACILITY_KINDS
from ..errors import InputError, Problem
from .types import (
    FUTURE_USE,
    LANGUAGE_CODE,
    NCT_ID,
    TREATMENT_ID,
    US_STATES,
    Clinic,
    FeeSchedule,
    LanguageAssistance,
    LocalText,
    Minors,
    Patient,
    Procedure,
    Product,
    Provider,
    Study,
)


def _text(value: object, field: str, source: str | None, *, required: bool = True) -> Iterator[Problem]:
    if value is None and not required:
        return
    if not isinstance(value, str):
        yield Problem(f"{field} must be text (got {value!r})", path=source, field=field)
    elif not value.strip():
        yield Problem(f"{field} must not be empty", path=source, field=field)


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years from ``born`` to ``day`` (a birthday on 29 February is had on 1 March in other years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birth_date_problem(born: dt.date, form_date: dt.date | None = None) -> str | None:
    """What is wrong with a birth date, or None: after today; and, once the form's date is known, after it
    or more than MAX_AGE_YEARS before it. The message gives the age or the number of days, never the birth
    date itself (it identifies the patient)."""
    if born > dt.date.today():
        return "is in the future"
    if form_date is None:
        return None
    if born > form_date:
        days = (born - form_date).days
        return (f"must be on or before the form's date, {form_date.isoformat()} "
                f"(got a date {days:,} day{'s' if days != 1 else ''} after it)")
    age = age_on(born, form_date)
    if age > _limits.MAX_AGE_YEARS:
        return (f"gives an age of {age:,} years on the form's date, {form_date.isoformat()}; "
                f"the limit is {_limits.MAX_AGE_YEARS} years")
    return None


def patient_problems(patient: object, source: str | None = None, *, date: object = None) -> list[Problem]:
    """Every problem of ``patient``; ``date``: the form's date, which the birth date may not be after, nor
    more than MAX_AGE_YEARS before (checked when the form is built: :func:`validate_inputs`)."""
    if not isinstance(patient, Patient):
        return [Problem(f"patient must be a consent.Patient (got {type(patient).__name__})", path=source)]
    out = list(_text(patient.full_name, "patient.full_name", source))
    if not _is_date(patient.birth_date):
        out.append(
            Problem(
                f"patient.birth_date must be a date like 1980-04-30 (got {patient.birth_date!r})",
                path=source,
                field="patient.birth_date",
            )
        )
    elif (wrong := birth_date_problem(patient.birth_date, date if _is_date(date) else None)) is not None:
        out.append(Problem(f"patient.birth_date {wrong}", path=source, field="patient.birth_date"))
    out += _text(patient.mrn, "patient.mrn", source, required=False)
    out += _text(patient.preferred_language, "patient.preferred_language", source, required=False)
    out += _limits.text_problems(patient, "patient", source)  # lengths, control characters
    return out


def clinic_problems(clinic: object, source: str | None = None) -> list[Problem]:
    if not isinstance(clinic, Clinic):
        return [Problem(f"clinic must be a consent.Clinic (got {type(clinic).__name__})", path=source)]
    out: list[Problem] = []
    for name in ("name", "address", "phone"):
        out += _text(getattr(clinic, name), f"clinic.{name}", source)
    if not isinstance(clinic.state, str) or clinic.state.upper() not in US_STATES:
        out.append(
            Problem(
                f"clinic.state must be a two-letter US state code such as CA or TX (got {clinic.state!r})",
                path=source,
                field="clinic.state",
            )
        )
    if not isinstance(clinic.provider, Provider):
        out.append(Problem("clinic.provider must have a name and credentials", path=source))
    else:
        out += _text(clinic.provider.name, "clinic.provider.name", source)
        out += _text(clinic.provider.credentials, "clinic.provider.credentials", source)
    if clinic.study is not None:
        out += study_problems(clinic.study, source)
    if clinic.facility is not None and clinic.facility not in FACILITY_KINDS:
        out.append(Problem(f"clinic.facility must be one of {', '.join(FACILITY_KINDS)} (got {clinic.facility!r})",
                           path=source, field="clinic.facility"))
    out += _text(clinic.accredited_institution, "clinic.accredited_institution", source, required=False)
    out += fees_problems(clinic.fees, source)
    out += products_problems(clinic.products, source)
    out += minors_problems(clinic.minors, source)
    out += language_assistance_problems(clinic.language_assistance, source)
    if type(clinic.federal_financial_assistance) is not bool:
        out.append(Problem(f"clinic.federal_financial_assistance must be true or false "
                           f"(got {clinic.federal_financial_assistance!r})", path=source,
                           field="clinic.federal_financial_assistance"))
    out += _limits.text_problems(clinic, "clinic", source)  # every text field, however many
    return out


MAX_ASSENT_FROM_AGE = 21  # no state's age of majority is higher (templates/rules/majority.yaml)


def minors_problems(minors: object, source: str | None = None) -> list[Problem]:
    """``clinic.minors``: ``assent_from_age`` is a whole number of years from 0 to 21, or None (no assent
    line)."""
    field = "clinic.minors"
    if not isinstance(minors, Minors):
        return [Problem(f"{field} must be a consent.Minors, such as {{assent_from_age: 7}} (got {minors!r})",
                        path=source, field=field)]
    age = minors.assent_from_age
    if age is not None and (isinstance(age, bool) or not isinstance(age, int)
                            or not 0 <= age <= MAX_ASSENT_FROM_AGE):
        return [Problem(f"{field}.assent_from_age must be a whole number of years from 0 to "
                        f"{MAX_ASSENT_FROM_AGE}, or null for no assent line (got {age!r})", path=source,
                        field=f"{field}.assent_from_age")]
    return []


def language_assistance_problems(value: object, source: str | None = None) -> list[Problem]:
    """``clinic.language_assistance``: none, or the phone and TTY printed on the page of taglines (both
    required: a page that says "call us" without a number is no help) and an optional state code."""
    field = "clinic.language_assistance"
    if value is None:
        return []
    if not isinstance(value, LanguageAssistance):
        return [Problem(f"{field} must be a consent.LanguageAssistance, such as {{phone: 555-0100, tty: 711}} "
                        f"(got {value!r})", path=source, field=field)]
    out = list(_text(value.phone, f"{field}.phone", source))
    out += _text(value.tty, f"{field}.tty", source)
    if value.state is not None and (not isinstance(value.state, str) or value.state.upper() not in US_STATES):
        out.append(Problem(f"{field}.state must be a two-letter US state code such as CA (got {value.state!r})",
                           path=source, field=f"{field}.state"))
    return out


def _treatment_key_problems(treatment: object, field: str, source: str | None) -> list[Problem]:
    """A key of a per-treatment table (products, fees) that is not a treatment id."""
    if isinstance(treatment, str) and TREATMENT_ID.match(treatment):
        return []
    return [Problem(f"{field}: {treatment!r} is not a treatment id such as knee-injection", path=source, field=field)]


def products_problems(products: object, source: str | None = None) -> list[Problem]:
    """``clinic.products``: treatment id -> the product's maker, source tissue, donor screening, lot number."""
    if not isinstance(products, Mapping):
        return [Problem(f"clinic.products must map treatment ids to products (got {products!r})", path=source,
                        field="clinic.products")]
    out: list[Problem] = []
    for treatment, product in products.items():
        at = f"clinic.products.{treatment}"
        out += _treatment_key_problems(treatment, "clinic.products", source)
        if not isinstance(product, Product):
            out.append(Problem(f"{at} must give maker, source_tissue and donor_screening (got {product!r})",
                               path=source, field=at))
            continue
        out += _text(product.maker, f"{at}.maker", source)
        out += text_problems(product.source_tissue, f"{at}.source_tissue", source)
        out += text_problems(product.donor_screening, f"{at}.donor_screening", source)
        out += _text(product.lot_number, f"{at}.lot_number", source, required=False)
        out += text_problems(product.purpose, f"{at}.purpose", source, required=False)
    return out


def text_problems(value: object, field: str, source: str | None, *, required: bool = True) -> list[Problem]:
    """A :data:`Text`: non-empty text, or a mapping of language codes (en, es ...) to non-empty text."""
    if value is None and not required:
        return []
    if not isinstance(value, Mapping):
        return list(_text(value, field, source))
    if not value:
        return [Problem(f"{field} must be text, or text per language such as {{en: ..., es: ...}} (got {{}})",
                        path=source, field=field)]
    out: list[Problem] = []
    for language, text in value.items():
        if not isinstance(language, str) or not LANGUAGE_CODE.match(language):
            out.append(Problem(f"{field} has text for {language!r}: languages are given by their code, "
                               "such as en or es", path=source, field=field))
        else:
            out += _text(text, f"{field}.{language}", source)
    return out


def _schedule_problems(fees: FeeSchedule, at: str, source: str | None) -> list[Problem]:
    out: list[Problem] = []
    if not isinstance(fees.price_per_session, Decimal) or fees.price_per_session <= 0:
        out.append(
            Problem(
                f"{at}.price_per_session must be an amount above zero (got {fees.price_per_session!r})",
                path=source,
                field=f"{at}.price_per_session",
            )
        )
    if not isinstance(fees.planned_sessions, int) or not 1 <= fees.planned_sessions <= 50:
        out.append(
            Problem(
                f"{at}.planned_sessions must be a whole number from 1 to 50 (got {fees.planned_sessions!r})",
                path=source,
                field=f"{at}.planned_sessions",
            )
        )
    try:
        get_currency_name(fees.currency)
        if not re.fullmatch(r"[A-Z]{3}", fees.currency):
            raise UnknownCurrencyError(fees.currency)
    except (UnknownCurrencyError, TypeError):
        out.append(
            Problem(
                f"{at}.currency must be an ISO 4217 code such as USD (got {fees.currency!r})",
                path=source,
                field=f"{at}.currency",
            )
        )
    for i, item in enumerate(fees.included):
        out += text_problems(item, f"{at}.included[{i}]", source)
    for i, item in enumerate(fees.excluded):
        out += text_problems(item, f"{at}.excluded[{i}]", source)
    out += text_problems(fees.refund_policy, f"{at}.refund_policy", source, required=False)
    return out


def fees_problems(fees: object, source: str | None = None) -> list[Problem]:
    """``clinic.fees``: one schedule, or a non-empty mapping of treatment id to schedule."""
    if isinstance(fees, FeeSchedule):
        return _schedule_problems(fees, "clinic.fees", source)
    if not isinstance(fees, Mapping) or not fees:
        return [Problem("clinic.fees must be a fee schedule, or a mapping of treatment id to fee schedule "
                        f"(got {fees!r})", path=source, field="clinic.fees")]
    out: list[Problem] = []
    for treatment, schedule in fees.items():
        at = f"clinic.fees.{treatment}"
        out += _treatment_key_problems(treatment, "clinic.fees", source)
        if not isinstance(schedule, FeeSchedule):
            out.append(Problem(f"{at} must be a fee schedule (got {schedule!r})", path=source, field=at))
        else:
            out += _schedule_problems(schedule, at, source)
    return out


_STUDY_REQUIRED = {
    "purpose": "why the study is done, in one or two plain sentences",
    "duration": "how long each patient takes part, such as 'about 12 months'",
    "subjects": "about how many people take part, a whole number such as 40",
    "irb_contact": "the phone number or email of the IRB, for questions about the patient's rights",
    "clinicaltrials_gov": "true for an applicable clinical trial (21 CFR 50.25(c)), its NCT number "
    "such as NCT01234567, or false",
    "future_use": "'none' or 'deidentified' (45 CFR 46.116(b)(9))",
    "procedures": "what the patient will be asked to do (visits, tests, questionnaires, samples), each "
    "with experimental: true or false (21 CFR 50.25(a)(1))",
    "samples": "the samples collected (such as blood or tissue), or [] when none are",
}


def _study_value_ok(name: str, value: object) -> bool:
    """Whether a value given for one of the required study fields (not a text field) is valid."""
    if name == "subjects":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if name == "clinicaltrials_gov":
        return isinstance(value, bool) or (isinstance(value, str) and NCT_ID.fullmatch(value) is not None)
    return value in FUTURE_USE  # future_use


def study_problems(study: object, source: str | None = None) -> list[Problem]:
    """What a study needs: an IND, IDE or IRB, and every field the research section prints."""
    field = "clinic.study"
    if not isinstance(study, Study):
        return [Problem(f"{field} must be a consent.Study (got {type(study).__name__})", path=source,
                        field=field)]
    out: list[Problem] = []
    if not (study.ind_number or study.ide_number or study.irb_name):
        out.append(
            Problem(
                "clinic.study needs an FDA IND number (ind_number), an FDA IDE number (ide_number) "
                "or the approving IRB (irb_name)",
                path=source,
                field=field,
            )
        )
    for name in ("ind_number", "ide_number", "irb_name", "protocol", "charging_authorization"):
        out += _text(getattr(study, name), f"{field}.{name}", source, required=False)
    for flag, number, what in (("ind_holder", "ind_number", "IND"), ("ide_holder", "ide_number", "IDE")):
        value = getattr(study, flag)
        if not isinstance(value, bool):
            out.append(Problem(f"{field}.{flag} must be true or false (got {value!r})", path=source,
                               field=f"{field}.{flag}"))
        elif value and not getattr(study, number):
            out.append(Problem(f"{field}.{flag} says the clinic's provider holds the study's FDA {what}: give "
                               f"its number too ({field}.{number})", path=source, field=f"{field}.{flag}"))
    for name, expected in _STUDY_REQUIRED.items():
        value = getattr(study, name)
        where = f"{field}.{name}"
        if value is None:
            out.append(Problem(f"{where} is required when the clinic lists a study: {expected} (got nothing)",
                               path=source, field=where))
        elif name in ("purpose", "duration") and isinstance(value, Mapping):
            if not value:
                out.append(Problem(f"{where} must give the text for at least one language (got {{}})",
                                   path=source, field=where))
            for language, text in value.items():
                out += _text(text, f"{where}.{language}", source)
        elif name in ("purpose", "duration", "irb_contact"):
            out += _text(value, where, source)
        elif name in ("procedures", "samples"):
            out += _study_list_problems(name, value, where, expected, source)
        elif name == "subjects" and not _study_value_ok(name, value):
            out.append(Problem(f"{where} must be a whole number above zero (got {value!r})",
                               path=source, field=where))
        elif not _study_value_ok(name, value):
            out.append(Problem(f"{where} must be {expected} (got {value!r})", path=source, field=where))
    return out


def _local_text_problems(value: object, where: str, source: str | None) -> list[Problem]:
    """One :data:`LocalText`: a text, or a non-empty mapping of language to text."""
    if isinstance(value, Mapping):
        if not value:
            return [Problem(f"{where} must give the text for at least one language (got {{}})",
                            path=source, field=where)]
        return [p for language, text in value.items() for p in _text(text, f"{where}.{language}", source)]
    return list(_text(value, where, source))


def _study_list_problems(name: str, value: object, where: str, expected: str,
                         source: str | None) -> list[Problem]:
    """``procedures`` (at least one, each a Procedure) and ``samples`` (texts; empty: none collected)."""
    if not isinstance(value, tuple | list):
        return [Problem(f"{where} must be a list: {expected} (got {value!r})", path=source, field=where)]
    if name == "procedures" and not value:
        return [Problem(f"{where} must list at least one thing: {expected} (got [])", path=source, field=where)]
    out: list[Problem] = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if name == "samples":
            out += _local_text_problems(item, at, source)
        elif not isinstance(item, Procedure):
            out.append(Problem(f"{at} must be a consent.Procedure (got {type(item).__name__})", path=source,
                               field=at))
        else:
            out += _local_text_problems(item.what, f"{at}.what", source)
            if not isinstance(item.experimental, bool):
                out.append(Problem(f"{at}.experimental must be true or false (got {item.experimental!r})",
                                   path=source, field=f"{at}.experimental"))
    return out


def local_text(value: LocalText | None, language: str) -> str | None:
    """The text for one form language: a plain text is English."""
    if isinstance(value, Mapping):
        return value.get(language)
    return value if language == "en" else None


def study_language_problems(study: Study | None, language: str) -> list[Problem]:
    """The study's texts exist in the form's language (checked once the language is known)."""
    out: list[Problem] = []
    if study is None:
        return out
    texts: list[tuple[str, object]] = [(name, getattr(study, name)) for name in ("purpose", "duration")]
    texts += [(f"procedures[{i}].what", p.what) for i, p in enumerate(study.procedures or ())
              if isinstance(p, Procedure)]
    texts += [(f"samples[{i}]", s) for i, s in enumerate(study.samples or ())]
    for name, value in texts:
        if value is not None and local_text(value, language) is None:  # type: ignore[arg-type]
            field = f"clinic.study.{name}"
            given = ", ".join(sorted(value)) if isinstance(value, Mapping) else "en (a plain text is English)"
            out.append(Problem(
                f"{field} has no {language!r} text for this {language!r} form (it has: {given}); "
                f"give one text per language, such as {{en: ..., {language}: ...}}",
                field=field,
            ))
    return out


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems=problems)


def validate_clinic(clinic: object) -> None:
    """Raise one InputError listing every problem in the clinic."""
    _raise_if(clinic_problems(clinic))


def validate_inputs(patient: object, clinic: object, date: object) -> None:
    """Raise one InputError listing every problem in the patient, clinic and form date."""
    problems = patient_problems(patient, date=date) + clinic_problems(clinic)
    if not _is_date(date):
        problems.append(Problem(f"date must be a date like 2026-11-21 (got {date!r})", field="date"))
    _raise_if(problems)
