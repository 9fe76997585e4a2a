"""Loading and validating the inputs: JSON/YAML files to the types of :mod:`consent.inputs.types`,
checked by :mod:`consent.inputs.checks`; the names are re-exported by :mod:`consent.inputs`."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, get_args

import attrs
import cattrs
import yaml

from .. import _limits, _yaml
from .._yaml import DuplicateKeyError
from ..errors import InputError, Problem
from .checks import (
    _raise_if,
    clinic_problems,
    fees_problems,
    language_assistance_problems,
    local_text,
    minors_problems,
    patient_problems,
    products_problems,
    study_language_problems,
    study_problems,
    text_problems,
    validate_clinic,
    validate_inputs,
)
from .types import (
    FUTURE_USE,
    LANGUAGE_CODE,
    NCT_ID,
    TREATMENT_ID,
    US_STATES,
    Clinic,
    FeeSchedule,
    FeeSchedules,
    LanguageAssistance,
    LocalText,
    Minors,
    Patient,
    Procedure,
    Product,
    Provider,
    Screening,
    Study,
    Text,
)

__all__ = [
    "FUTURE_USE", "LANGUAGE_CODE", "NCT_ID", "TREATMENT_ID", "US_STATES", "Clinic", "FeeSchedule",
    "FeeSchedules", "LanguageAssistance", "LocalText", "Minors", "Patient", "Procedure", "Product", "Provider", "Screening", "Study", "Text", "clinic_problems",
    "fees_problems", "language_assistance_problems", "load_clinic", "load_patient", "load_screening", "local_text", "minors_problems",
    "patient_problems", "products_problems",
    "read_data_file", "structure", "structure_problems", "study_language_problems", "study_problems",
    "text_problems", "validate_clinic", "validate_inputs",
]


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
        return _yaml.load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = path.suffix.lstrip(".").upper() or "YAML"
        raise InputError(f"{path}: not valid {kind}: {_syntax(exc)}") from None
    except _limits.LimitExceeded as exc:
        raise InputError(f"{path}: {exc}") from None


def _syntax(exc: Exception) -> str:
    """Where and what the syntax error is, without quoting the file (a YAML error would show the line,
    which may hold a patient's identifiers)."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, DuplicateKeyError) and exc.first_line is not None:  # both places, so either can go
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        return f"{where}: {exc.problem}, given first on line {exc.first_line}"
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
