"""What a clinic supplies for one form: the patient, the clinic, its products and fees, screening answers.

Build them in Python (``Patient(full_name=..., birth_date=date(...))``) or load them from JSON/YAML
with :func:`load_patient` / :func:`load_clinic`. Either way :func:`validate_inputs` runs before a
form is built and reports every problem at once.

Clinic text that prints on the form (fee items, refund policy, the product's source tissue and donor
screening, a purpose) is a :data:`Text`: one string, which is English, or text per language
(``{"en": "The product", "es": "El producto"}``). Names, addresses, phone numbers and lot numbers are
plain strings and are never translated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeAlias, TypeVar, get_args

import attrs
import cattrs
import yaml
from babel.numbers import UnknownCurrencyError, get_currency_name

from . import _limits
from .errors import InputError, Problem

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)


@attrs.frozen
class Patient:
    """The person who will sign. ``mrn`` and ``preferred_language`` (ISO code such as ``es-MX``) are optional."""

    full_name: str
    birth_date: dt.date
    mrn: str | None = None
    preferred_language: str | None = None


@attrs.frozen
class Provider:
    """The treating provider, printed in the contacts clause and the provider signature block."""

    name: str
    credentials: str


Text: TypeAlias = str | Mapping[str, str]
"""Clinic text that prints on the form: a string (English), or language code -> text."""

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
TREATMENT_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@attrs.frozen
class FeeSchedule:
    """The clinic's own prices for one treatment (or for all of them). The form prints these figures
    and never a price from elsewhere. ``included``, ``excluded`` and ``refund_policy`` are :data:`Text`."""

    price_per_session: Decimal
    planned_sessions: int
    included: tuple[Text, ...] = ()
    excluded: tuple[Text, ...] = ()
    currency: str = "USD"
    refund_policy: Text | None = None

    @property
    def total(self) -> Decimal:
        return self.price_per_session * self.planned_sessions


FUTURE_USE = ("none", "deidentified")
"""``Study.future_use``: the two statements of 45 CFR 46.116(b)(9) about future research."""

NCT_ID = re.compile(r"NCT\d{8}")

LocalText = Text
"""Text the clinic writes for the form: a plain text is English; ``{en: ..., es: ...}`` gives one text per
form language. A form in a language the text lacks is an InputError, never English words in a Spanish form."""


@attrs.frozen
class Study:
    """Set when the treatment is given under an FDA IND (drugs and biologics), an FDA IDE (devices) or
    an IRB-approved study. It needs at least one of ``ind_number``, ``ide_number`` and ``irb_name``.

    The form then carries the research elements of 21 CFR 50.25 and 45 CFR 46.116, so these are
    required too (an InputError lists each one missing):

    - ``purpose``: why the study is done, in one or two plain sentences;
    - ``duration``: how long each patient takes part, such as ``"about 12 months"``;
    - ``subjects``: about how many people take part (a whole number);
    - ``irb_contact``: the phone number or email of the IRB, for questions about the patient's rights;
    - ``clinicaltrials_gov``: ``true`` for an applicable clinical trial (21 CFR 50.25(c)), or its NCT
      number (``"NCT01234567"``), or ``false``;
    - ``future_use``: ``"none"`` (data and samples are never used for future research) or
      ``"deidentified"`` (identifiers may be removed and they may be used or shared for future research
      without asking again), 45 CFR 46.116(b)(9).

    ``purpose`` and ``duration`` are :data:`LocalText`: English text, or one text per form language.
    """

    ind_number: str | None = None
    ide_number: str | None = None
    irb_name: str | None = None
    protocol: str | None = None
    purpose: LocalText | None = None
    duration: LocalText | None = None
    subjects: int | None = None
    irb_contact: str | None = None
    clinicaltrials_gov: bool | str | None = None
    future_use: str | None = None

    @property
    def nct_id(self) -> str | None:
        """The ClinicalTrials.gov number, when ``clinicaltrials_gov`` gives one."""
        return self.clinicaltrials_gov if isinstance(self.clinicaltrials_gov, str) else None


@attrs.frozen
class Product:
    """The product a clinic gives for one treatment, as the form names it: who made it (``maker``), the
    tissue it comes from, what the donor was tested for, and the lot number when it is known as the
    form is made (otherwise the form has a blank to fill in at treatment). ``purpose`` optionally
    replaces the treatment's stock purpose: what the clinic hopes it does, never a promise.
    ``source_tissue``, ``donor_screening`` and ``purpose`` are :data:`Text`; the maker and the lot
    number are names, printed as given in every language."""

    maker: str
    source_tissue: Text
    donor_screening: Text
    lot_number: str | None = None
    purpose: Text | None = None


FeeSchedules: TypeAlias = FeeSchedule | Mapping[str, FeeSchedule]
"""One schedule for every treatment, or treatment id -> schedule."""


@attrs.frozen
class Clinic:
    """The clinic giving the treatment. ``state`` is the two-letter US state code.

    ``fees`` is one :class:`FeeSchedule` for every treatment, or a mapping of treatment id to schedule;
    ``products`` maps each treatment id to the :class:`Product` the clinic gives for it.
    """

    name: str
    address: str
    phone: str
    state: str
    provider: Provider
    fees: FeeSchedules
    email: str | None = None
    after_hours_phone: str | None = None
    study: Study | None = None
    products: Mapping[str, Product] = attrs.field(factory=dict)

    def fee_schedule(self, treatment: str) -> FeeSchedule | None:
        """The schedule for ``treatment``: the one schedule, or its entry in the mapping (None if none)."""
        if isinstance(self.fees, FeeSchedule):
            return self.fees
        return self.fees.get(treatment) if isinstance(self.fees, Mapping) else None


@attrs.frozen
class Screening:
    """Screening answers: question id -> True (yes) / False (no). Unanswered questions print blank."""

    answers: Mapping[str, bool] = attrs.field(factory=dict)


# --------------------------------------------------------------------------- structuring

_converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


def _structure_date(value: Any, _: type) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"must be a date like 1980-04-30 (got {value!r})")


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"must be an amount like 1500 or 1500.00 (got {value!r})")
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"must be an amount like 1500 or 1500.00 (got {value!r})") from None
    if not amount.is_finite():
        raise ValueError(f"must be an amount like 1500 or 1500.00 (got {value!r})")
    return amount


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text (got {type(value).__name__} {value!r})")
    return value


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number (got {value!r})")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false (got {value!r})")
    return value


def _is_text(type_: Any) -> bool:
    return set(get_args(type_)) - {type(None)} == {str, Mapping[str, str]}


def _structure_text(value: Any, type_: Any) -> Text | None:
    if value is None and type(None) in get_args(type_):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return dict(value)
    raise ValueError(f"must be text, or text per language such as {{en: ..., es: ...}} (got {value!r})")


_FEE_FIELDS = frozenset(f.name for f in attrs.fields(FeeSchedule))


def _structure_fees(value: Any, _: Any) -> FeeSchedules:
    if isinstance(value, Mapping) and any(key in _FEE_FIELDS for key in value):
        return _converter.structure(value, FeeSchedule)  # one schedule for every treatment
    if isinstance(value, Mapping):
        return _converter.structure(value, dict[str, FeeSchedule])  # treatment id -> schedule
    raise ValueError(f"must be a fee schedule, or a mapping of treatment id to fee schedule (got {value!r})")


_converter.register_structure_hook_func(_is_text, _structure_text)
_converter.register_structure_hook_func(lambda t: t == FeeSchedules, _structure_fees)
_converter.register_structure_hook(dt.date, _structure_date)
_converter.register_structure_hook(Decimal, _structure_decimal)
_converter.register_structure_hook(str, _structure_str)
_converter.register_structure_hook(int, _structure_int)
_converter.register_structure_hook(bool, _structure_bool)


def _structure_flag_or_text(value: Any, _: type) -> bool | str | None:
    if value is None or isinstance(value, bool | str):
        return value
    raise ValueError(f"must be true, false or text (got {value!r})")


_converter.register_structure_hook(bool | str | None, _structure_flag_or_text)


_converter.register_structure_hook(
    Screening, lambda v, _: Screening(answers=_converter.structure(v, dict[str, bool]))
)  # a screening file is the answers mapping itself: question id -> true/false

T = TypeVar("T")


def _format_cattrs_error(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, KeyError):
        return "is required but missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"has unknown key(s): {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, ValueError | TypeError):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def structure_problems(exc: BaseException, root: str, source: str | None) -> list[Problem]:
    """Turn a cattrs exception group into one Problem per failure, e.g. ``patient.birth_date: ...``."""
    problems = []
    for line in cattrs.transform_error(exc, path=root, format_exception=_format_cattrs_error):
        message, _, where = line.rpartition(" @ ")
        field = where.replace("$.", "").replace("$", root) if where else root
        field = re.sub(r"\['([^']+)'\]", r".\1", field)
        problems.append(Problem(f"{field} {message}", path=source, field=field))
    return problems


def structure(data: Any, cls: type[T], root: str, source: str | None = None) -> T:
    """Build ``cls`` from plain data, raising one InputError listing every problem."""
    if not isinstance(data, Mapping):
        raise InputError(
            problems=[Problem(f"{root} must be a mapping of fields (got {type(data).__name__})", path=source)]
        )
    try:
        return _converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise InputError(problems=structure_problems(exc, root, source)) from None


def read_data_file(path: str | Path) -> Any:
    """Read a JSON or YAML file (by extension; YAML is the default)."""
    path = Path(path)
    try:
        text = _limits.read_bounded(path).decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    try:
        if path.suffix.lower() == ".json":
            return _limits.load_json(text)
        return _limits.load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = path.suffix.lstrip(".").upper() or "YAML"
        raise InputError(f"{path}: not valid {kind}: {_syntax(exc)}") from None
    except _limits.LimitExceeded as exc:
        raise InputError(f"{path}: {exc}") from None


def _syntax(exc: Exception) -> str:
    """Where and what the syntax error is, without quoting the file (a YAML error would show the line,
    which may hold a patient's identifiers)."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.YAMLError) and mark is not None:
        problem = getattr(exc, "problem", None) or "syntax error"
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return "syntax error" if isinstance(exc, yaml.YAMLError) else str(exc)


def load_patient(path: str | Path) -> Patient:
    """Load and check a patient file (JSON or YAML)."""
    patient = structure(read_data_file(path), Patient, "patient", str(path))
    _raise_if(patient_problems(patient, source=str(path)))
    return patient


def load_clinic(path: str | Path) -> Clinic:
    """Load and check a clinic file (JSON or YAML)."""
    clinic = structure(read_data_file(path), Clinic, "clinic", str(path))
    _raise_if(clinic_problems(clinic, source=str(path)))
    return clinic


def load_screening(path: str | Path) -> Screening:
    """Load screening answers: a mapping of question id to true/false."""
    return structure(read_data_file(path), Screening, "screening", str(path))


# --------------------------------------------------------------------------- semantic checks


def _text(value: object, field: str, source: str | None, *, required: bool = True) -> Iterator[Problem]:
    if value is None and not required:
        return
    if not isinstance(value, str):
        yield Problem(f"{field} must be text (got {value!r})", path=source, field=field)
    elif not value.strip():
        yield Problem(f"{field} must not be empty", path=source, field=field)


def patient_problems(patient: object, source: str | None = None) -> list[Problem]:
    if not isinstance(patient, Patient):
        return [Problem(f"patient must be a consent.Patient (got {type(patient).__name__})", path=source)]
    out = list(_text(patient.full_name, "patient.full_name", source))
    if not isinstance(patient.birth_date, dt.date) or isinstance(patient.birth_date, dt.datetime):
        out.append(
            Problem(
                f"patient.birth_date must be a date like 1980-04-30 (got {patient.birth_date!r})",
                path=source,
                field="patient.birth_date",
            )
        )
    elif patient.birth_date > dt.date.today():
        out.append(Problem("patient.birth_date is in the future", path=source, field="patient.birth_date"))
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
    out += fees_problems(clinic.fees, source)
    out += products_problems(clinic.products, source)
    out += _limits.text_problems(clinic, "clinic", source)  # every text field, however many
    return out


def products_problems(products: object, source: str | None = None) -> list[Problem]:
    """``clinic.products``: treatment id -> the product's maker, source tissue, donor screening, lot number."""
    if not isinstance(products, Mapping):
        return [Problem(f"clinic.products must map treatment ids to products (got {products!r})", path=source,
                        field="clinic.products")]
    out: list[Problem] = []
    for treatment, product in products.items():
        at = f"clinic.products.{treatment}"
        if not isinstance(treatment, str) or not TREATMENT_ID.match(treatment):
            out.append(Problem(f"clinic.products: {treatment!r} is not a treatment id such as knee-injection",
                               path=source, field="clinic.products"))
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
        if not isinstance(treatment, str) or not TREATMENT_ID.match(treatment):
            out.append(Problem(f"clinic.fees: {treatment!r} is not a treatment id such as knee-injection",
                               path=source, field="clinic.fees"))
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
    for name in ("ind_number", "ide_number", "irb_name", "protocol"):
        out += _text(getattr(study, name), f"{field}.{name}", source, required=False)
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
        elif name == "subjects" and not _study_value_ok(name, value):
            out.append(Problem(f"{where} must be a whole number above zero (got {value!r})",
                               path=source, field=where))
        elif not _study_value_ok(name, value):
            out.append(Problem(f"{where} must be {expected} (got {value!r})", path=source, field=where))
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
    for name in ("purpose", "duration"):
        value = getattr(study, name)
        if value is not None and local_text(value, language) is None:
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
    problems = patient_problems(patient) + clinic_problems(clinic)
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        problems.append(Problem(f"date must be a date like 2026-11-21 (got {date!r})", field="date"))
    _raise_if(problems)
