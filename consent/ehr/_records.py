"""Read EHR export files into numbered records, one per patient, each a patient or its problems.

:func:`read_records` checks every file (and the CSV mapping) before it reads any record and
raises one :class:`InputError` listing every problem found, so a batch does not fail half-way on
a typo. After that, a patient that cannot be mapped is an :class:`ImportedRecord` with problems
and never stops the reading. What it returns, :class:`Records`, reads the files again each time it
is iterated, so one result can be given to several batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._limits import MAX_EXPORT_BYTES, MAX_RECORDS_PER_FILE, file_size_problem
from ..errors import InputError, Problem
from ..inputs.loaders import Patient
from . import _csv, _fhir

SUFFIXES = (".json", ".ndjson", ".csv")
"""File types read by :func:`read_records`: FHIR JSON, FHIR bulk-export NDJSON, CSV with a mapping."""


def _as_tuple(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(problems)


@attrs.frozen
class ImportedRecord:
    """One patient read from an export, or the problems that kept it from being read.

    ``number`` counts records from 1 across all the input files in order and is stable for the same
    inputs; ``source`` is the file's base name. Exactly one of ``patient`` and ``problems`` is set.
    Problem messages never quote the patient's name, birth date or any identifier; their
    ``record`` says where the record is, counted within its own file (``record 2 of export.csv
    (line 3)``). ``organization`` is the raw FHIR Organization (or Practitioner) the Patient points
    to in the same Bundle, else the Bundle's only Organization, else None.

    ``screening`` holds the answers to screening questions (question id -> yes/no) when the export
    has them (CSV columns listed under ``screening:`` in the mapping); they are checked against the
    questions of the form when it is built.

    ``treatment`` is the treatment id the export names for this record (a CSV column: ``treatment``, or
    the column mapped to ``treatment``), as written; None when the export does not say (FHIR, a CSV
    without the column, a blank cell). A batch checks it (:func:`consent.run_batch`).

    ``large_print`` is whether the export asks for this record's form in large print (a CSV column:
    ``large_print``, or the column mapped to ``large_print``; yes/no, true/false, 1/0); None when it does
    not say (FHIR, a CSV without the column, a blank cell).

    ``resource_id`` (the Patient's ``id``) and ``full_url`` (its Bundle entry ``fullUrl``) say where a
    FHIR Patient was found, for references back to it (:func:`consent.ehr.patient_reference`); None
    for CSV rows and when absent. They locate the record rather than describe the patient, so they
    take no part in equality: the same patient read from a Bundle or a bare Patient file compares equal.

    A deceased patient (FHIR ``deceasedBoolean`` true or any ``deceasedDateTime``; a CSV ``deceased``
    column) and an animal (the R4 extension ``patient-animal``, DSTU2/STU3 ``Patient.animal``) are
    records with problems (field ``patient.deceased``, ``patient.animal``): no form is made for them.

    ``notes`` tell what a person should know about a record that was read: that it came from a FHIR
    DSTU2 or STU3 export, or that its preferred language was written but is not a language consent
    knows (the form is then in English). They never quote the record's values.
    """

    number: int = attrs.field(validator=attrs.validators.ge(1))
    source: str
    patient: Patient | None
    problems: tuple[Problem, ...] = attrs.field(converter=_as_tuple)
    # A raw resource: left out of hash() (a dict is unhashable) and of repr() (it is long).
    organization: dict[str, Any] | None = attrs.field(default=None, hash=False, repr=False)
    resource_id: str | None = attrs.field(default=None, eq=False)
    full_url: str | None = attrs.field(default=None, eq=False)
    # Screening answers from the export (CSV columns named in the mapping's ``screening:``), or none.
    screening: Mapping[str, bool] = attrs.field(factory=dict, hash=False)
    # The treatment id the export names for this record's form (a CSV column), or None.
    treatment: str | None = None
    notes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    # Whether the export asks for this record's form in large print (a CSV column), or None: it does not say.
    large_print: bool | None = None

    @problems.validator
    def _patient_or_problems(
        self, _: attrs.Attribute[tuple[Problem, ...]], value: tuple[Problem, ...]
    ) -> None:
        if (self.patient is None) != bool(value):
            raise ValueError("an ImportedRecord has either a patient or problems")

    @property
    def ok(self) -> bool:
        """True when the record holds a patient."""
        return self.patient is not None


@attrs.frozen
class Records:
    """The records of EHR export files, as :func:`read_records` returns them: an iterable, not an iterator.

    Each iteration reads the files again, from the first record, and yields one :class:`ImportedRecord`
    per patient (and per unreadable file, line or row), in input order, without holding them all in
    memory; so the same ``Records`` can be counted, then given to :func:`consent.run_batch`, or given to
    two batches. The files and the mapping were checked when :func:`read_records` made it; a file
    changed since is read as it now is, and one that can no longer be read, or holds more than
    ``MAX_RECORDS_PER_FILE`` records, raises :class:`InputError` while it is read.
    """

    files: tuple[Path, ...]
    mapping: _csv.CsvMapping | None = None

    def __iter__(self) -> Iterator[ImportedRecord]:
        return _records(self.files, self.mapping)


def read_records(paths: Sequence[str | Path], *, mapping: str | Path | None = None) -> Records:
    """Read patients from EHR exports: ``.json`` (FHIR Patient or Bundle), ``.ndjson``, ``.csv``.

    ``paths`` is a list of files (a single path is taken as a list of one). A CSV file needs
    ``mapping``, a YAML file naming its columns (see :mod:`consent.ehr`).
    Raises :class:`InputError` at once, listing every problem, when a file is missing, unreadable
    or of an unknown type, a FHIR file holds no Patient (the message names the resource types it
    holds), or the mapping or a CSV header is wrong; then returns :class:`Records`,
    whose every iteration reads the files and yields one record per patient (and per unreadable file,
    line or row), in input order.
    """
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    problems: list[Problem] = []
    csv_mapping = None
    if mapping is not None:
        try:
            csv_mapping = _csv.load_mapping(mapping)
        except InputError as exc:
            problems += exc.problems or [Problem(exc.summary)]
    for path in files:
        problems += _file_problems(path, mapping_given=mapping is not None)
        if csv_mapping is not None and path.suffix.lower() == ".csv" and path.is_file():
            try:
                problems += _csv.check_header(path, csv_mapping)
            except InputError as exc:
                problems += exc.problems or [Problem(exc.summary)]
    if problems:
        raise InputError(problems=problems)
    return Records(tuple(files), csv_mapping)


def _file_problems(path: Path, *, mapping_given: bool) -> list[Problem]:
    """What keeps one file from being read: its type, size, a CSV without a mapping, a FHIR file with no
    Patient in it (an Organization NDJSON given for the Patient one)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        found = f"'{suffix}'" if suffix else "no extension"
        return [Problem(f"unsupported file type ({found}); expected {', '.join(SUFFIXES)}", str(path))]
    if not path.is_file():
        return [Problem("file not found", str(path))]
    too_big = file_size_problem(path, MAX_EXPORT_BYTES, "the export")
    if too_big is not None:
        return [too_big]
    if suffix == ".csv" and not mapping_given:
        return [Problem("a CSV export needs a column mapping file (mapping=...)", str(path))]
    if suffix in (".json", ".ndjson"):
        no_patient = _fhir.no_patient_problem(path)
        return [no_patient] if no_patient else []
    return []


def _records(files: Sequence[Path], mapping: _csv.CsvMapping | None) -> Iterator[ImportedRecord]:
    number = 0
    for path in files:
        suffix, source = path.suffix.lower(), path.name
        located: Iterable[tuple[_fhir.Outcome, _fhir.Where, _csv.Answers, str | None, bool | None]]
        if suffix == ".json":
            located = ((outcome, where, {}, None, None) for outcome, where in _fhir.read_json(path, source))
        elif suffix == ".ndjson":
            located = ((outcome, where, {}, None, None) for outcome, where in _fhir.read_ndjson(path, source))
        else:
            assert mapping is not None  # read_records checked this
            located = ((outcome, _fhir.NOWHERE, answers, treatment, large)
                       for outcome, answers, treatment, large in _csv.read_csv(path, source, mapping))
        for count, (outcome, (resource_id, full_url), answers, treatment, large) in enumerate(located, 1):
            patient, problems, organization, notes = outcome
            if count > MAX_RECORDS_PER_FILE:
                raise InputError(f"{path}: the export has more than {MAX_RECORDS_PER_FILE:,} records; the limit "
                                 f"is {MAX_RECORDS_PER_FILE:,}", hint="split it into several files")
            number += 1
            yield ImportedRecord(number, source, patient, problems, organization, resource_id, full_url, answers,
                                 treatment, notes, large)
