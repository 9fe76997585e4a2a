"""CSV exports to patients, through a YAML mapping that names the column for each field.

A mapping file looks like::

    columns:                 # field -> column header in the CSV
      full_name: Name        # or given_name + family_name
      birth_date: DOB
      mrn: MRN               # optional
      preferred_language: Language   # optional: a code (es, es-MX) or a name (Spanish, español)
      deceased: Deceased     # optional: yes/no, or a date of death; blank = alive
      treatment: Procedure   # optional: the treatment id of each row's form (default: a column "treatment")
      large_print: Large     # optional: yes/no, the row's form in large print (default: a column "large_print")
    date_format: "%m/%d/%Y"  # optional; default ISO (1980-04-30)
    screening:               # optional: screening question id -> column (yes/no; blank = not answered)
      blood-thinners: On blood thinners?
      pregnant: Pregnant

A wrong mapping or a mapped column missing from a CSV header is an :class:`InputError` raised
before any record is read. A bad row is a record with problems and never stops the reading. A row whose
``deceased`` cell is yes (or a date of death) is refused like a FHIR Patient with ``deceasedBoolean``
true; a cell that is neither yes, no, a date nor blank refuses the row too, since it does not show
that the patient is alive. A ``large_print`` cell is yes/no, true/false or 1/0 (blank: no); anything else
refuses the row (no form is made for it), naming the row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from .._limits import MAX_EXPORT_BYTES, read_bounded
from .._yaml import DuplicateKeyError, Located, load_located
from ..errors import InputError, Problem
from ..inputs.loaders import Patient
from ._fhir import UNREAD_LANGUAGE, Outcome
from ._languages import language_code

FIELDS = ("full_name", "given_name", "family_name", "birth_date", "mrn", "preferred_language", "deceased",
          "treatment", "large_print")
"""Keys allowed under ``columns:`` in a mapping file."""
_TOP_KEYS = ("columns", "date_format", "screening")
_YES = frozenset({"yes", "y", "true", "1", "sí", "si"})
_NO = frozenset({"no", "n", "false", "0"})
_SAMPLE = dt.date(1980, 4, 30)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
TREATMENT_COLUMN = "treatment"
"""The column read as each row's treatment id when the mapping names none."""
LARGE_PRINT_COLUMN = "large_print"
"""The column read as whether each row's form is in large print when the mapping names none."""
_LARGE_YES = frozenset({"yes", "true", "1"})
_LARGE_NO = frozenset({"no", "false", "0"})
_DEFAULT_COLUMNS = {"treatment": TREATMENT_COLUMN, "large_print": LARGE_PRINT_COLUMN}  # read when present


@attrs.frozen
class CsvMapping:
    """Which CSV column holds each patient field, and how birth dates are written."""

    columns: Mapping[str, str]
    date_format: str | None = None
    screening: Mapping[str, str] = attrs.field(factory=dict)  # question id -> column header

    def date_hint(self) -> str:
        """An example date in this mapping's format, for messages: ``04/30/1980 (%m/%d/%Y)``."""
        if self.date_format is None:
            return _SAMPLE.isoformat()
        return f"{_SAMPLE.strftime(self.date_format)} ({self.date_format})"


def load_mapping(path: str | Path) -> CsvMapping:
    """Read and check a mapping file, raising one InputError that lists every problem in it."""
    path = Path(path)
    try:
        located = load_located(read_bounded(path).decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"{path}: mapping file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: mapping file cannot be read ({exc})") from None
    except (yaml.YAMLError, DuplicateKeyError) as exc:
        raise InputError(f"{path}: not a valid YAML mapping file: {exc}") from None
    data, where = located.data, str(path)
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: a mapping file must be a YAML mapping with a 'columns:' section, "
            "such as columns: {full_name: Name, birth_date: DOB}"
        )
    problems = [
        Problem(
            f"{key} is not a known key (expected one of: {', '.join(_TOP_KEYS)})", where, located.line(key)
        )
        for key in data
        if key not in _TOP_KEYS
    ]
    columns, column_problems = _columns(data.get("columns"), located, where)
    problems += column_problems
    date_format = data.get("date_format")
    if date_format is not None:
        problems += _format_problems(date_format, where, located.line("date_format"))
    screening, screening_problems = _screening(data.get("screening"), located, where)
    problems += screening_problems
    if problems:
        raise InputError(problems=problems)
    return CsvMapping(columns=columns, date_format=date_format, screening=screening)


def _screening(raw: object, located: Located, where: str) -> tuple[dict[str, str], list[Problem]]:
    """The optional ``screening:`` section as question id -> header, and its problems. Question ids
    are checked against the form when each record is built (they differ between treatments)."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        message = "screening must map each question id to a CSV column header, e.g. {pregnant: Pregnant}"
        return {}, [Problem(message, where, located.line("screening"))]
    out: dict[str, str] = {}
    problems = []
    for key, header in raw.items():
        if not isinstance(header, str) or not header.strip():
            problems.append(Problem(f"screening.{key} must be a column header (text)", where,
                                    located.line(f"screening.{key}")))
        else:
            out[str(key)] = header.strip()
    return out, problems


def _columns(raw: object, located: Located, where: str) -> tuple[dict[str, str], list[Problem]]:
    """The ``columns:`` section as field -> header, and its problems."""
    if not isinstance(raw, dict):
        message = (
            "columns must map each field to a CSV column header, e.g. {full_name: Name, birth_date: DOB}"
        )
        return {}, [Problem(message, where, located.line("columns"))]
    columns: dict[str, str] = {}
    problems = []
    for key, header in raw.items():
        at = f"columns.{key}"
        if key not in FIELDS:
            message = f"{at} is not a known key (expected one of: {', '.join(FIELDS)})"
            problems.append(Problem(message, where, located.line(at)))
        elif not isinstance(header, str) or not header.strip():
            problems.append(Problem(f"{at} must be a column header (text)", where, located.line(at)))
        else:
            columns[key] = header.strip()
    problems += _name_problems(raw, where, located.line("columns"))
    if "birth_date" not in raw:
        problems.append(Problem("columns.birth_date is required", where, located.line("columns")))
    return columns, problems


def _name_problems(columns: Mapping[str, Any], where: str, line: int | None) -> list[Problem]:
    split = [key for key in ("given_name", "family_name") if key in columns]
    if "full_name" in columns and split:
        return [Problem("columns: use either full_name or given_name + family_name, not both", where, line)]
    if "full_name" not in columns and len(split) != 2:
        return [Problem("columns: full_name (or both given_name and family_name) is required", where, line)]
    return []


def _format_problems(date_format: object, where: str, line: int | None) -> list[Problem]:
    if not isinstance(date_format, str):
        return [Problem('date_format must be text such as "%m/%d/%Y"', where, line)]
    if "%y" in date_format:
        return [Problem("date_format must use a four-digit year (%Y), not %y", where, line)]
    try:
        readable = dt.datetime.strptime(_SAMPLE.strftime(date_format), date_format).date() == _SAMPLE
    except ValueError:
        readable = False
    if not readable:
        return [Problem('date_format must give day, month and year, such as "%m/%d/%Y"', where, line)]
    return []


# --------------------------------------------------------------------------- CSV files


def _read_text(path: Path) -> str:
    try:
        return read_bounded(path, MAX_EXPORT_BYTES, "the export").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: is not UTF-8 text; save the export as 'CSV UTF-8' (Excel) or UTF-8"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None


def _rows(text: str, where: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped cells) for each row that is not entirely blank; header first."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv.field_size_limit() (131,072 characters), a NUL byte...
            raise InputError(f"{where}: line {reader.line_num + 1} cannot be read as CSV ({exc})") from None
        stripped = [cell.strip() for cell in cells]
        if any(stripped):
            yield reader.line_num, stripped


def check_header(path: Path, mapping: CsvMapping) -> list[Problem]:
    """Problems with the header of one CSV file: mapped columns that are missing or repeated."""
    header = next(_rows(_read_text(path), str(path)), (0, []))[1]
    if not header:
        return [Problem("the file is empty (no header row)", str(path))]
    problems = []
    mapped = [*mapping.columns.items(), *((f"screening.{q}", c) for q, c in mapping.screening.items())]
    for field, column in _DEFAULT_COLUMNS.items():
        if field not in mapping.columns and column in header:
            mapped.append((field, column))  # read by default: it must not be repeated either
    for field, column in mapped:
        count = header.count(column)
        if count == 0:
            found = ", ".join(repr(h) for h in header)
            problems.append(
                Problem(
                    f"column {column!r} (mapped to {field}) is not in the header; found {found}", str(path)
                )
            )
        elif count > 1:
            problems.append(Problem(f"column {column!r} appears {count} times in the header", str(path)))
    return problems


def _default_position(header: list[str], mapping: CsvMapping, field: str) -> int | None:
    """Where each row's treatment id (or large-print wish) is: the mapped column, else a column named
    "treatment" ("large_print"), else nowhere."""
    column = mapping.columns.get(field, _DEFAULT_COLUMNS[field])
    return header.index(column) if column in header else None


Answers = dict[str, bool]
"""Screening answers read from a row: question id -> yes (True) / no (False); blank cells are left out."""


def read_csv(path: Path, source: str,
             mapping: CsvMapping) -> Iterator[tuple[Outcome, Answers, str | None, bool | None]]:
    """One record per non-blank data row, with its screening answers, its treatment id (None when the
    export has no treatment column or the cell is blank) and whether its form is in large print (None:
    no column, or a blank cell); call :func:`check_header` first."""
    rows = _rows(_read_text(path), str(path))
    header = next(rows, (0, []))[1]
    positions = {field: header.index(column) for field, column in mapping.columns.items()
                 if column in header and field not in _DEFAULT_COLUMNS}
    at = _default_position(header, mapping, "treatment")
    large_at = _default_position(header, mapping, "large_print")
    questions = {q: header.index(column) for q, column in mapping.screening.items() if column in header}
    for number, (line, cells) in enumerate(rows, start=1):
        values = {field: cells[i] if i < len(cells) else "" for field, i in positions.items()}
        label = f"record {number} of {source} (line {line})"
        patient, problems, organization, notes = _row_outcome(values, mapping, label, line)
        answers: Answers = {}
        for question, i in questions.items():
            cell = (cells[i] if i < len(cells) else "").lower()
            if cell in _YES or cell in _NO:
                answers[question] = cell in _YES
            elif cell:  # the value is an answer, not patient data, but it is still not quoted
                problems += (Problem(f"screening answer for {question!r} must be yes or no (or blank)",
                                     field=f"screening.{question}", line=line, record=label),)
        large_cell = (cells[large_at] if large_at is not None and large_at < len(cells) else "").lower()
        large_print = True if large_cell in _LARGE_YES else False if large_cell in _LARGE_NO else None
        if large_cell and large_print is None:
            column = header[large_at] if large_at is not None else LARGE_PRINT_COLUMN
            problems += (Problem(f"large print (column {column!r}) must be yes/no, true/false or 1/0 (or blank)",
                                 field="large_print", line=line, record=label),)
        if problems:
            patient, notes = None, ()
        treatment = (cells[at] if at is not None and at < len(cells) else "") or None
        yield (patient, problems, organization, notes), answers, treatment, large_print


def _row_outcome(values: Mapping[str, str], mapping: CsvMapping, label: str, line: int) -> Outcome:
    if "full_name" in mapping.columns:
        name = " ".join(values.get("full_name", "").split())
    else:
        name = " ".join(f"{values.get('given_name', '')} {values.get('family_name', '')}".split())
    problems = []
    if not name:
        problems.append(Problem("name is missing", field="patient.full_name", line=line, record=label))
    born, message = _birth_date(values.get("birth_date", ""), mapping)
    if message:
        problems.append(Problem(message, field="patient.birth_date", line=line, record=label))
    refusal = _deceased(values.get("deceased", ""), mapping)
    if refusal:
        problems.append(Problem(refusal, field="patient.deceased", line=line, record=label))
    if born is None or problems:
        return None, tuple(problems), None, ()
    written = values.get("preferred_language") or None
    language = language_code(written)
    patient = Patient(
        full_name=name,
        birth_date=born,
        mrn=values.get("mrn") or None,
        preferred_language=language,
    )
    unread = UNREAD_LANGUAGE.replace("(Patient.communication)", "(its column)")
    notes = (unread,) if written and not language else ()
    return patient, (), None, notes


def _deceased(value: str, mapping: CsvMapping) -> str | None:
    """Why the row gets no form (its ``deceased`` cell is yes or a date of death, or unreadable), or None
    (blank or no). The cell's value is never quoted."""
    cell = value.strip()
    if not cell or cell.lower() in _NO:
        return None
    if cell.lower() in _YES:
        return "the patient is recorded as deceased (the deceased column): no consent form is made for them"
    if _is_date(cell, mapping):
        return "the patient is recorded as deceased (a date of death): no consent form is made for them"
    return ("the deceased column must be yes, no, a date of death or blank; the row does not show that the "
            "patient is alive")


def _is_date(cell: str, mapping: CsvMapping) -> bool:
    """True for an ISO date (or date and time) or a date in the mapping's ``date_format``."""
    candidates = [(cell[:10], "%Y-%m-%d")] + ([(cell, mapping.date_format)] if mapping.date_format else [])
    for text, date_format in candidates:
        try:
            dt.datetime.strptime(text, date_format)
        except ValueError:
            continue
        return True
    return False


def _birth_date(value: str, mapping: CsvMapping) -> tuple[dt.date | None, str | None]:
    """(date, problem); the problem shows the expected format, never the value found."""
    if not value:
        return None, "birth date is missing"
    try:
        if mapping.date_format is None:
            if not _ISO.fullmatch(value):
                raise ValueError(value)
            born = dt.date.fromisoformat(value)
        else:
            born = dt.datetime.strptime(value, mapping.date_format).date()
    except ValueError:
        return None, f"birth date must be a date like {mapping.date_hint()}"
    if born > dt.date.today():
        return None, "birth date is in the future"
    return born, None
