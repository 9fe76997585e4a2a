"""What a clinic supplies for one form: the patient, the clinic and its fees, screening answers.

Build them in Python (``Patient(full_name=..., birth_date=date(...))``) or load them from JSON/YAML
with :func:`load_patient` / :func:`load_clinic`. Either way :func:`validate_inputs` runs before a
form is built and reports every problem at once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

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


@attrs.frozen
class FeeSchedule:
    """The clinic's own prices. The form prints these figures and never a price from elsewhere."""

    price_per_session: Decimal
    planned_sessions: int
    included: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    currency: str = "USD"
    refund_policy: str | None = None

    @property
    def total(self) -> Decimal:
        return self.price_per_session * self.planned_sessions


@attrs.frozen
class Study:
    """Set when the treatment is given under an FDA IND (drugs and biologics), an FDA IDE (devices) or
    an IRB-approved study."""

    ind_number: str | None = None
    ide_number: str | None = None
    irb_name: str | None = None
    protocol: str | None = None


@attrs.frozen
class Clinic:
    """The clinic giving the treatment. ``state`` is the two-letter US state code."""

    name: str
    address: str
    phone: str
    state: str
    provider: Provider
    fees: FeeSchedule
    email: str | None = None
    after_hours_phone: str | None = None
    study: Study | None = None


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


_converter.register_structure_hook(dt.date, _structure_date)
_converter.register_structure_hook(Decimal, _structure_decimal)
_converter.register_structure_hook(str, _structure_str)
_converter.register_structure_hook(int, _structure_int)
_converter.register_structure_hook(bool, _structure_bool)
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
    study = clinic.study
    if study is not None and not (study.ind_number or study.ide_number or study.irb_name):
        out.append(
            Problem(
                "clinic.study needs an FDA IND number (ind_number), an FDA IDE number (ide_number) "
                "or the approving IRB (irb_name)",
                path=source,
                field="clinic.study",
            )
        )
    fees = clinic.fees
    if not isinstance(fees, FeeSchedule):
        out.append(Problem("clinic.fees must be a fee schedule", path=source, field="clinic.fees"))
        return out
    if not isinstance(fees.price_per_session, Decimal) or fees.price_per_session <= 0:
        out.append(
            Problem(
                f"clinic.fees.price_per_session must be an amount above zero (got {fees.price_per_session!r})",
                path=source,
                field="clinic.fees.price_per_session",
            )
        )
    if not isinstance(fees.planned_sessions, int) or not 1 <= fees.planned_sessions <= 50:
        out.append(
            Problem(
                f"clinic.fees.planned_sessions must be a whole number from 1 to 50 "
                f"(got {fees.planned_sessions!r})",
                path=source,
                field="clinic.fees.planned_sessions",
            )
        )
    try:
        get_currency_name(fees.currency)
        if not re.fullmatch(r"[A-Z]{3}", fees.currency):
            raise UnknownCurrencyError(fees.currency)
    except (UnknownCurrencyError, TypeError):
        out.append(
            Problem(
                f"clinic.fees.currency must be an ISO 4217 code such as USD (got {fees.currency!r})",
                path=source,
                field="clinic.fees.currency",
            )
        )
    for i, item in enumerate(fees.included):
        out += _text(item, f"clinic.fees.included[{i}]", source)
    for i, item in enumerate(fees.excluded):
        out += _text(item, f"clinic.fees.excluded[{i}]", source)
    out += _limits.text_problems(clinic, "clinic", source)  # every text field, however many
    return out


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems=problems)


def validate_inputs(patient: object, clinic: object, date: object) -> None:
    """Raise one InputError listing every problem in the patient, clinic and form date."""
    problems = patient_problems(patient) + clinic_problems(clinic)
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        problems.append(Problem(f"date must be a date like 2026-11-21 (got {date!r})", field="date"))
    _raise_if(problems)
