"""FHIR R4 JSON to patients: a Patient file, a Bundle of any type, or an NDJSON bulk export.

The files are read as plain JSON and every element is type-checked before use, so an odd shape
(a name that is a string, an identifier without ``type``) becomes a problem or is skipped, never
a crash. ``fhir.resources`` is not used: it would reject a whole Bundle for one bad element, and
its validation messages quote the offending values, which may be patient data.

Only four things are taken from a Patient: the name, the birth date, the medical record number
(the identifier typed ``MR``) and the preferred language (a code, else a language's name in
``language.text``). Two more are looked at, to refuse the record: whether the patient is deceased
(``deceasedBoolean`` true, any ``deceasedDateTime``) and whether it is an animal (the R4 extension
``patient-animal``, or DSTU2/STU3 ``Patient.animal``). No other identifier (SSN, driver's licence,
passport, national ids such as the Dutch BSN) is ever read, and no problem or note quotes a value from
the record.

DSTU2 and STU3 exports are read, with a note on each of their records: the elements read here mean the
same in those versions (DSTU2's list of family names is joined). They are recognised by what R4 does not
have (:func:`version_markers`); an STU3 file that uses only what R4 kept cannot be told from R4, and
needs no note. A file that holds no Patient at all is refused before anything is made
(:func:`no_patient_problem`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._limits import MAX_EXPORT_BYTES, LimitExceeded, load_json, read_bounded
from ..errors import InputError, Problem
from ..inputs.loaders import Patient
from ._fhir_versions import version_markers, version_note
from ._languages import language_code

Outcome = tuple[Patient | None, tuple[Problem, ...], dict[str, Any] | None, tuple[str, ...]]
"""What a reader yields per record: the patient or None, its problems, a related Organization, notes.

Notes say what a person should know about a record that was read (an export of another FHIR version, a
preferred language that could not be read); they never quote the record's values.
"""
Where = tuple[str | None, str | None]
"""Where a Patient sits in its export: its resource ``id`` and its Bundle entry ``fullUrl``, or None.

These locate the record for FHIR output (``Patient/<id>``, ``urn:uuid:...``); they are not identifiers
of the person and are read only when they are strings.
"""
NOWHERE: Where = (None, None)

MR_SYSTEMS = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/v2-0203",  # R4
        "http://hl7.org/fhir/v2/0203",  # DSTU2 / STU3 exports
        None,  # a coding with code MR and no system
    }
)
_FHIR_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_NOT_CURRENT_NAMES = frozenset({"old", "maiden"})
ANIMAL_EXTENSION = "http://hl7.org/fhir/StructureDefinition/patient-animal"
"""The R4 extension that says a Patient is an animal (DSTU2 and STU3 had the element ``Patient.animal``)."""



def _label(number: int, source: str, line: int | None = None) -> str:
    return f"record {number} of {source}" + (f" (line {line})" if line else "")


def _failed(message: str, label: str, *, field: str | None = None, line: int | None = None) -> Outcome:
    return None, (Problem(message, field=field, line=line, record=label),), None, ()


def _with_notes(outcome: Outcome, notes: tuple[str, ...]) -> Outcome:
    patient, problems, organization, own = outcome
    return patient, problems, organization, (*notes, *own)


def _read_bytes(path: Path) -> bytes:
    try:
        return read_bounded(path, MAX_EXPORT_BYTES, "the export")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None


# --------------------------------------------------------------------------- files


def _where(resource: dict[str, Any], full_url: object = None) -> Where:
    resource_id = resource.get("id")
    return (
        resource_id if isinstance(resource_id, str) else None,
        full_url if isinstance(full_url, str) else None,
    )


def read_json(path: Path, source: str) -> Iterator[tuple[Outcome, Where]]:
    """Records from a ``.json`` file holding one Patient or one Bundle; other resources are skipped."""
    try:
        data = load_json(_read_bytes(path).decode("utf-8-sig"))
    except UnicodeDecodeError:
        yield _failed("the file is not UTF-8 text", _label(1, source)), NOWHERE
        return
    except json.JSONDecodeError as exc:
        message = f"the file is not valid JSON (line {exc.lineno}: {exc.msg})"
        yield _failed(message, _label(1, source)), NOWHERE
        return
    except LimitExceeded as exc:
        yield _failed(f"the file has {exc}", _label(1, source)), NOWHERE
        return
    kind = data.get("resourceType") if isinstance(data, dict) else None
    if kind == "Patient":
        outcome = patient_outcome(data, _label(1, source))
        yield _with_notes(outcome, version_note(version_markers(data))), _where(data)
    elif kind == "Bundle":
        yield from _bundle(data, source)
    else:
        found = repr(kind) if isinstance(kind, str) else "no resourceType"
        yield _failed(f"expected a FHIR Patient or Bundle, found {found}", _label(1, source)), NOWHERE


def read_ndjson(path: Path, source: str) -> Iterator[tuple[Outcome, Where]]:
    """Records from a bulk-export ``.ndjson`` file: one per Patient line or per unreadable line.

    Blank lines and resources other than Patient are skipped.
    """
    number = 0
    for line_no, raw in enumerate(_read_bytes(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = load_json(raw.decode("utf-8-sig" if line_no == 1 else "utf-8"))
        except LimitExceeded as exc:
            number += 1
            label = _label(number, source, line_no)
            yield _failed(f"line {line_no} has {exc}", label, line=line_no), NOWHERE
            continue
        except UnicodeDecodeError:
            number += 1
            label = _label(number, source, line_no)
            yield _failed(f"line {line_no} is not UTF-8 text", label, line=line_no), NOWHERE
            continue
        except json.JSONDecodeError:
            number += 1
            label = _label(number, source, line_no)
            yield _failed(f"line {line_no} is not valid JSON", label, line=line_no), NOWHERE
            continue
        kind = data.get("resourceType") if isinstance(data, dict) else None
        if not isinstance(kind, str):
            number += 1
            message = f"line {line_no} is not a FHIR resource (a JSON object with a resourceType)"
            yield _failed(message, _label(number, source, line_no), line=line_no), NOWHERE
        elif kind == "Patient":
            number += 1
            outcome = patient_outcome(data, _label(number, source, line_no), line_no)
            yield _with_notes(outcome, version_note(version_markers(data))), _where(data)


def _bundle(bundle: dict[str, Any], source: str) -> Iterator[tuple[Outcome, Where]]:
    entries = bundle.get("entry")
    if entries is not None and not isinstance(entries, list):
        yield _failed("Bundle.entry must be a list of entries", _label(1, source)), NOWHERE
        return
    resources: list[tuple[Any, dict[str, Any]]] = [
        (entry.get("fullUrl"), entry["resource"])
        for entry in entries or []
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]
    parties: dict[str, dict[str, Any]] = {}
    organizations = []
    for full_url, resource in resources:
        kind = resource.get("resourceType")
        if kind not in ("Organization", "Practitioner"):
            continue
        if kind == "Organization":
            organizations.append(resource)
        if isinstance(full_url, str):
            parties[full_url] = resource
        if isinstance(resource.get("id"), str):
            parties[f"{kind}/{resource['id']}"] = resource
    sole = organizations[0] if len(organizations) == 1 else None
    patients = [(u, r) for u, r in resources if r.get("resourceType") == "Patient"]
    bundle_markers = version_markers(*(r for _, r in resources if r.get("resourceType") != "Patient"))
    for number, (full_url, resource) in enumerate(patients, start=1):
        patient, problems, _, notes = patient_outcome(resource, _label(number, source))
        note = version_note({**bundle_markers, **version_markers(resource)})
        outcome = (patient, problems, _party(resource, parties) or sole, (*note, *notes))
        yield outcome, _where(resource, full_url)


def _party(patient: dict[str, Any], parties: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The Organization or Practitioner the Patient points to, when it is in the same Bundle."""
    practitioners = patient.get("generalPractitioner")
    refs = [patient.get("managingOrganization")]
    refs += practitioners if isinstance(practitioners, list) else []
    for ref in refs:
        target = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(target, str) and target in parties:
            return parties[target]
    return None


# --------------------------------------------------------------------------- one Patient

UNREAD_LANGUAGE = ("the preferred language (Patient.communication) has neither a language code nor a "
                   "language name consent knows (in English or Spanish); the form is in English")
"""The note on a record whose preferred language was written but could not be read as a language."""


def patient_outcome(resource: dict[str, Any], label: str, line: int | None = None) -> Outcome:
    """Map one Patient resource; ``label`` (``record 3 of bundle.json``) goes into each problem."""
    problems: list[Problem] = []
    name, name_problem = full_name(resource.get("name"))
    if name_problem:
        problems.append(Problem(name_problem, line=line, field="patient.full_name", record=label))
    birth, birth_problem = birth_date(resource.get("birthDate"))
    if birth_problem:
        problems.append(Problem(birth_problem, line=line, field="patient.birth_date", record=label))
    for field, refusal in (("patient.deceased", deceased(resource)), ("patient.animal", animal(resource))):
        if refusal:
            problems.append(Problem(refusal, line=line, field=field, record=label))
    if name is None or birth is None or problems:
        return None, tuple(problems), None, ()
    language, unread = _preferred(resource.get("communication"))
    patient = Patient(
        full_name=name,
        birth_date=birth,
        mrn=medical_record_number(resource.get("identifier")),
        preferred_language=language,
    )
    return patient, (), None, (UNREAD_LANGUAGE,) if unread else ()


def deceased(resource: dict[str, Any]) -> str | None:
    """Why no form is made for a deceased patient (``deceasedBoolean`` true, any ``deceasedDateTime``),
    or None. A ``deceasedBoolean`` that is neither true nor false refuses the record too: it does not show
    the patient is alive. The date of death is never quoted."""
    if resource.get("deceasedDateTime") is not None:
        return "the patient is recorded as deceased (deceasedDateTime): no consent form is made for them"
    flag = resource.get("deceasedBoolean")
    if flag is True:
        return "the patient is recorded as deceased (deceasedBoolean): no consent form is made for them"
    if flag is not None and flag is not False:
        return "deceasedBoolean must be true or false; the record does not show that the patient is alive"
    return None


def animal(resource: dict[str, Any]) -> str | None:
    """Why no form is made for an animal (the R4 extension ``patient-animal``, or DSTU2/STU3
    ``Patient.animal``), or None."""
    extensions = resource.get("extension")
    if isinstance(extensions, list) and any(
            isinstance(e, dict) and e.get("url") == ANIMAL_EXTENSION for e in extensions):
        return "the record is an animal (extension patient-animal): consent forms are for people"
    if resource.get("animal") is not None:
        return "the record is an animal (Patient.animal): consent forms are for people"
    return None


def _human_name(entry: dict[str, Any]) -> str | None:
    given = entry.get("given")
    given = [given] if isinstance(given, str) else given if isinstance(given, list) else []
    family = entry.get("family")
    family = family if isinstance(family, list) else [family]  # DSTU2 had a list of family names
    parts = [p for p in [*given, *family] if isinstance(p, str)]
    joined = " ".join(" ".join(parts).split())
    if not joined and isinstance(entry.get("text"), str):
        joined = " ".join(entry["text"].split())
    return joined or None


def full_name(names: object) -> tuple[str | None, str | None]:
    """(full name, problem): official name, else usual, else the first current one, else the first.

    A name is the given names and the family name joined by spaces; ``text`` only when an entry has
    neither. Entries marked ``old`` or ``maiden`` are used only if nothing else has a name.
    """
    if names is None or names == []:
        return None, "name is missing"
    if not isinstance(names, list):
        return None, "name must be a list of FHIR HumanName entries"
    usable = [
        (entry.get("use"), text)
        for entry in names
        if isinstance(entry, dict) and (text := _human_name(entry)) is not None
    ]
    if not usable:
        return None, "name is missing (no given, family or text part)"
    for wanted in ("official", "usual"):
        for use, text in usable:
            if use == wanted:
                return text, None
    current = [text for use, text in usable if use not in _NOT_CURRENT_NAMES]
    return (current or [usable[0][1]])[0], None


def birth_date(value: object) -> tuple[dt.date | None, str | None]:
    """(date, problem) from a FHIR ``date``; year-only and year-month dates are problems."""
    if value is None or value == "":
        return None, "birth date is missing"
    match = _FHIR_DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None, "birth date must be a date like 1980-04-30"
    if match[3] is None:
        return None, "birth date is incomplete (year or month only)"
    try:
        born = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None, "birth date must be a real calendar date like 1980-04-30"
    if born > dt.date.today():
        return None, "birth date is in the future"
    return born, None


def _is_mr(type_: object) -> bool:
    codings = type_.get("coding") if isinstance(type_, dict) else None
    return isinstance(codings, list) and any(
        isinstance(c, dict) and c.get("code") == "MR" and c.get("system") in MR_SYSTEMS for c in codings
    )


def medical_record_number(identifiers: object) -> str | None:
    """The value of the identifier whose ``type.coding`` has code ``MR`` (v2-0203); None if absent.

    Identifiers of any other type are never read. Among several MR identifiers the first one not
    marked ``old`` wins.
    """
    if not isinstance(identifiers, list):
        return None
    found: list[tuple[object, str]] = [
        (ident.get("use"), ident["value"].strip())
        for ident in identifiers
        if isinstance(ident, dict)
        and _is_mr(ident.get("type"))
        and isinstance(ident.get("value"), str)
        and ident["value"].strip()
    ]
    current = [value for use, value in found if use != "old"] or [value for _, value in found]
    return current[0] if current else None


def _language_code(language: dict[str, Any]) -> tuple[str | None, bool]:
    """(the language's code, whether something was written that is not a language)."""
    codings = language.get("coding")
    written = [coding.get("code") if isinstance(coding, dict) else None
               for coding in (codings if isinstance(codings, list) else [])]
    written.append(language.get("text"))
    written = [value for value in written if isinstance(value, str) and value.strip()]
    for value in written:
        code = language_code(value)
        if code:
            return code, False
    return None, bool(written)


def _preferred(communication: object) -> tuple[str | None, bool]:
    """(the preferred language's code, whether a language was written that could not be read)."""
    if not isinstance(communication, list):
        return None, False
    entries = [c for c in communication if isinstance(c, dict) and isinstance(c.get("language"), dict)]
    entries.sort(key=lambda c: c.get("preferred") is not True)  # stable: preferred first, then file order
    unread = False
    for entry in entries:
        code, not_a_language = _language_code(entry["language"])
        if code:
            return code, False
        unread = unread or not_a_language
    return None, unread


def preferred_language(communication: object) -> str | None:
    """The language code (``es``, ``en-US``) of the entry with ``preferred: true``, else the first.

    An entry's code is its ``coding`` code, else ``language.text`` when that is a code or a language's
    name in English or Spanish ("Spanish", "español", "Espanol" -> ``es``); an entry with neither is
    skipped. None when no entry names a language.
    """
    return _preferred(communication)[0]


# --------------------------------------------------------------------------- files without a Patient


def _found(kinds: Counter[str]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def _ndjson_kinds(raw: bytes) -> Counter[str] | None:
    """The resource types of an NDJSON file's lines; None as soon as a line is a Patient or is not a FHIR
    resource (its record will say so)."""
    kinds: Counter[str] = Counter()
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            data = load_json(line.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, LimitExceeded):
            return None
        kind = data.get("resourceType") if isinstance(data, dict) else None
        if not isinstance(kind, str) or kind == "Patient":
            return None
        kinds[kind] += 1
    return kinds


def _bundle_kinds(bundle: dict[str, Any]) -> Counter[str] | None:
    """The resource types of a Bundle's entries; None when one is a Patient, or entry is not a list."""
    entries = bundle.get("entry")
    if entries is not None and not isinstance(entries, list):
        return None  # Bundle.entry must be a list: the record says so
    kinds: Counter[str] = Counter()
    for entry in entries or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind == "Patient":
            return None
        kinds[kind if isinstance(kind, str) else "entries without a resource"] += 1
    return kinds


_NO_PATIENT_HINT = ("give the export's Patient resources (a bulk export's Patient.ndjson, or a Bundle with "
                    "Patients)")


def _json_problem(raw: bytes, where: str) -> Problem | None:
    """:func:`no_patient_problem` for a ``.json`` file (one resource)."""
    try:
        data = load_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, LimitExceeded):
        return None
    kind = data.get("resourceType") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind == "Patient":
        return None
    if kind != "Bundle":
        return Problem(f"holds a FHIR {kind}, not a Patient or a Bundle of Patients: {_NO_PATIENT_HINT}",
                       where)
    kinds = _bundle_kinds(data)
    if kinds is None:
        return None
    found = f"a Bundle of {_found(kinds)}" if kinds else "an empty Bundle"
    return Problem(f"holds no FHIR Patient (found {found}): {_NO_PATIENT_HINT}", where)


def no_patient_problem(path: Path) -> Problem | None:
    """A problem when a FHIR ``.json`` or ``.ndjson`` file can be read but holds no Patient, naming the
    resource types it holds; None when it holds one (or cannot be read as FHIR: its records say so). An
    NDJSON file is read up to its first Patient (or first line that is not a FHIR resource)."""
    try:
        raw = _read_bytes(path)
    except InputError:
        return None
    if path.suffix.lower() != ".ndjson":
        return _json_problem(raw, str(path))
    kinds = _ndjson_kinds(raw)
    if kinds is None:
        return None
    found = f"found {_found(kinds)}" if kinds else "the file is empty"
    return Problem(f"holds no FHIR Patient ({found}): {_NO_PATIENT_HINT}", str(path))
