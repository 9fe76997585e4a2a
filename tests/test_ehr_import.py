"""Reading EHR exports (FHIR R4 JSON / NDJSON, CSV with a mapping) into numbered patient records."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import EHR_SAMPLES

import consent.ehr
from consent.ehr import ImportedRecord, read_records
from consent.errors import InputError, Problem
from consent.inputs import Patient

SAMPLES = EHR_SAMPLES
PETER = SAMPLES / "hl7_r4_patient-example.json"
ROEL = SAMPLES / "hl7_r4_patient-example-f201-roel.json"
GUSTAVO = SAMPLES / "synthea_r4_bundle_Gustavo_Mejia_es.json"
CLEMENTE = SAMPLES / "synthea_r4_bundle_Clemente_Kreiger.json"


def _one(path: Path) -> ImportedRecord:
    [record] = read_records([path])
    return record


def _synthea_patient() -> dict[str, Any]:
    bundle = json.loads(GUSTAVO.read_text(encoding="utf-8"))
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def _named(given: str, family: str) -> dict[str, Any]:
    patient = copy.deepcopy(_synthea_patient())
    patient["name"] = [{"use": "official", "family": family, "given": [given]}]
    return patient


# --------------------------------------------------------------------------- real samples


def test_hl7_example_uses_official_name_and_mr_identifier() -> None:
    """Peter Chalmers has official, usual ("Jim") and maiden names: the official one is printed."""
    assert _one(PETER) == ImportedRecord(
        number=1,
        source="hl7_r4_patient-example.json",
        patient=Patient("Peter James Chalmers", date(1974, 12, 25), mrn="12345", preferred_language=None),
        problems=(),
    )


def test_f201_roel_uses_given_and_family_and_never_the_bsn() -> None:
    """Roel has name text "Roel" plus given/family: given + family wins, without prefix or suffix.
    His only identifiers are Dutch BSNs (national ids, typed by text, not MR): no MRN, BSN not read."""
    record = _one(ROEL)
    assert record.patient == Patient(
        "Roelof Olaf Bor", date(1960, 3, 13), mrn=None, preferred_language="nl-NL"
    )
    assert "123456789" not in repr(record)


def test_synthea_gustavo_reads_mr_and_language_and_never_ssn_dl_passport() -> None:
    """From a 78-entry transaction Bundle: one record; MRN is the MR identifier; SSN, driver's licence
    and passport numbers appear nowhere in the record; the Bundle's Organization rides along."""
    record = _one(GUSTAVO)
    assert record.number == 1
    assert record.source == "synthea_r4_bundle_Gustavo_Mejia_es.json"
    assert record.patient == Patient(
        "Gustavo Mejía",
        date(1986, 11, 27),
        mrn="59a8543c-e24f-4a01-b28b-47ccde6bc11d",
        preferred_language="es",
    )
    assert record.problems == ()
    for secret in ("999-68-8566", "S99973062", "X19986051X"):
        assert secret not in repr(record)
        assert secret not in repr(record.organization)
    assert record.organization is not None
    assert record.organization["resourceType"] == "Organization"


def test_synthea_clemente_language_zh_without_preferred_flag() -> None:
    """Clemente's only communication entry has no ``preferred`` flag: the first entry is used."""
    record = _one(CLEMENTE)
    assert record.patient == Patient(
        "Clemente Kreiger",
        date(1984, 7, 2),
        mrn="1484a42d-0eaf-4654-9cbf-6b050a5cd73b",
        preferred_language="zh",
    )
    assert "999-48-8934" not in repr(record)


def test_numbers_run_across_all_inputs_in_order() -> None:
    """Record numbers count from 1 across every file, in the order the files were given."""
    records = list(read_records([GUSTAVO, str(PETER), CLEMENTE]))
    assert [(r.number, r.source, r.ok) for r in records] == [
        (1, GUSTAVO.name, True),
        (2, PETER.name, True),
        (3, CLEMENTE.name, True),
    ]


def test_records_read_the_files_again_each_time_they_are_iterated(tmp_path: Path) -> None:
    """read_records returns a Records, not a one-shot iterator: every iteration reads the files again from
    the first record, so a second pass (a count, then a batch) gives the same records, and a file changed
    in between is read as it now is."""
    export = tmp_path / "Patient.ndjson"
    export.write_text(PETER.read_text(encoding="utf-8").replace("\n", " ") + "\n", encoding="utf-8")
    records = read_records([GUSTAVO, export])
    assert isinstance(records, consent.ehr.Records)
    first = list(records)
    assert [(r.number, r.source, r.ok) for r in first] == [(1, GUSTAVO.name, True), (2, export.name, True)]
    assert list(records) == first
    export.write_text("", encoding="utf-8")
    assert list(records) == first[:1]


# --------------------------------------------------------------------------- bundles and NDJSON


@pytest.mark.parametrize("bundle_type", ["transaction", "collection", "searchset", "batch", "document"])
def test_bundle_with_one_broken_patient(tmp_path: Path, bundle_type: str) -> None:
    """Three Patients among other resources, the second without birthDate: two patients, one error
    record, numbered 1..3, and the error names neither the patient nor an identifier."""
    original = json.loads(GUSTAVO.read_text(encoding="utf-8"))
    others = [e for e in original["entry"] if e["resource"]["resourceType"] != "Patient"]
    broken = _named("Berta", "Zapata")
    del broken["birthDate"]
    patients = [_named("Ana", "Uno"), broken, _named("Carla", "Tres")]
    entries = [others[0], {"resource": patients[0]}, *others[1:5], {"resource": patients[1]}]
    entries += [{"resource": patients[2]}, *others[5:]]
    (tmp_path / "bundle.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": bundle_type, "entry": entries}), encoding="utf-8"
    )

    records = list(read_records([tmp_path / "bundle.json"]))

    assert [r.number for r in records] == [1, 2, 3]
    assert [r.patient.full_name if r.patient else None for r in records] == ["Ana Uno", None, "Carla Tres"]
    assert records[1].problems == (
        Problem("birth date is missing", field="patient.birth_date", record="record 2 of bundle.json"),
    )
    text = str(records[1].problems[0])
    assert text == "patient.birth_date: birth date is missing [record 2 of bundle.json]"
    for value in ("Berta", "Zapata", broken["identifier"][1]["value"], "999-68-8566"):
        assert value not in repr(records[1])


def test_ndjson_bulk_export(tmp_path: Path) -> None:
    """Only Patient lines are records; blank lines and other resources are skipped; a line that is
    not JSON is one error record that says which line."""
    lines = [
        json.dumps(_named("Ana", "Uno")),
        json.dumps({"resourceType": "Organization", "id": "o1", "name": "Clinic"}),
        "",
        '{"resourceType": "Patient", "name": [{"family": "Broken"',
        json.dumps(_named("Carla", "Tres")),
        "   ",
    ]
    (tmp_path / "Patient.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")

    records = list(read_records([tmp_path / "Patient.ndjson"]))

    assert [(r.number, r.source) for r in records] == [
        (1, "Patient.ndjson"),
        (2, "Patient.ndjson"),
        (3, "Patient.ndjson"),
    ]
    assert [r.patient.full_name if r.patient else None for r in records] == ["Ana Uno", None, "Carla Tres"]
    assert records[1].problems == (
        Problem("line 4 is not valid JSON", line=4, record="record 2 of Patient.ndjson (line 4)"),
    )
    assert "Broken" not in repr(records[1])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": "Jane Doe"}, [("patient.full_name", "name must be a list of FHIR HumanName entries")]),
        (
            {"name": [{"use": "official"}, "x"]},
            [("patient.full_name", "name is missing (no given, family or text part)")],
        ),
        ({"name": None}, [("patient.full_name", "name is missing")]),
        ({"birthDate": "1974"}, [("patient.birth_date", "birth date is incomplete (year or month only)")]),
        ({"birthDate": "1974-12"}, [("patient.birth_date", "birth date is incomplete (year or month only)")]),
        ({"birthDate": 1974}, [("patient.birth_date", "birth date must be a date like 1980-04-30")]),
        (
            {"birthDate": "1974-02-30"},
            [("patient.birth_date", "birth date must be a real calendar date like 1980-04-30")],
        ),
        ({"birthDate": "2999-01-01"}, [("patient.birth_date", "birth date is in the future")]),
        (
            {"name": {"family": "Doe"}, "birthDate": ""},
            [
                ("patient.full_name", "name must be a list of FHIR HumanName entries"),
                ("patient.birth_date", "birth date is missing"),
            ],
        ),
    ],
)
def test_odd_patient_shapes_become_problems(
    tmp_path: Path, change: dict[str, Any], expected: list[Any]
) -> None:
    """Malformed names and birth dates are problems on the record (all of them), never a crash."""
    resource = {**_named("Ana", "Uno"), **change}
    (tmp_path / "p.json").write_text(json.dumps(resource), encoding="utf-8")
    record = _one(tmp_path / "p.json")
    assert record.patient is None
    assert [(p.field, p.message) for p in record.problems] == expected
    assert {p.record for p in record.problems} == {"record 1 of p.json"}


def test_odd_identifier_and_communication_shapes_are_skipped(tmp_path: Path) -> None:
    """Identifiers without ``type``, a string ``type``, non-MR types and junk entries are skipped; an MR
    coding without a system counts; the ``preferred`` language wins over the first; text is a fallback,
    read as a language's name (Tagalog is ``tl``)."""
    resource = _named("Ana", "Uno")
    resource["identifier"] = [
        "junk",
        {"value": "no-type"},
        {"type": "MR", "value": "string-type"},
        {"type": {"coding": [{"code": "SS"}]}, "value": "123-45-6789"},
        {"type": {"coding": [{"code": "MR"}]}, "value": " MRN-7 "},
    ]
    resource["communication"] = [
        {"language": {"coding": [{"code": "en"}]}},
        {"language": {"text": "Tagalog"}, "preferred": True},
    ]
    (tmp_path / "p.json").write_text(json.dumps(resource), encoding="utf-8")
    patient = _one(tmp_path / "p.json").patient
    assert patient is not None
    assert (patient.mrn, patient.preferred_language) == ("MRN-7", "tl")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{not json",
            "the file is not valid JSON (line 1: Expecting property name enclosed in double quotes)",
        ),
        ("[1, 2]", "expected a FHIR Patient or Bundle, found no resourceType"),
    ],
)
def test_unusable_json_file_is_one_error_record(tmp_path: Path, text: str, message: str) -> None:
    """A .json file that holds no Patient or Bundle is one error record; the next file is still read."""
    (tmp_path / "bad.json").write_text(text, encoding="utf-8")
    records = list(read_records([tmp_path / "bad.json", PETER]))
    assert records[0] == ImportedRecord(
        1, "bad.json", None, (Problem(message, record="record 1 of bad.json"),)
    )
    assert records[1].number == 2
    assert records[1].ok


def test_missing_and_unsupported_files_fail_before_reading(tmp_path: Path) -> None:
    """Every bad path is listed in one InputError, raised by the call itself (before any record)."""
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "a.csv").write_text("Name,DOB\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_records([tmp_path / "notes.txt", tmp_path / "gone.json", tmp_path / "a.csv"])
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'notes.txt'}: unsupported file type ('.txt'); expected .json, .ndjson, .csv",
        f"{tmp_path / 'gone.json'}: file not found",
        f"{tmp_path / 'a.csv'}: a CSV export needs a column mapping file (mapping=...)",
    ]


# --------------------------------------------------------------------------- CSV


MAPPING = """\
columns:
  full_name: Name
  birth_date: DOB
  mrn: MRN
  preferred_language: Language
date_format: "%m/%d/%Y"
"""


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_csv_with_bom_semicolons_blank_lines_and_custom_dates(tmp_path: Path) -> None:
    """A BOM, ``;`` delimiter, padded cells and trailing blank rows are tolerated; a row with a bad
    date is a record with a problem that shows the expected format, not the value; others are fine."""
    csv_file = _write(
        tmp_path / "clinic.csv",
        "\ufeffName ; DOB ;MRN;Language\r\n"
        "  Ana  Pérez ; 04/30/1980 ;A-1; es \r\n"
        "Bo Li;1980-04-30;A-2;\r\n"
        "Cy Doe;12/01/1975;;en-US\r\n"
        "\r\n;;;\r\n  \r\n",
    )
    mapping = _write(tmp_path / "mapping.yaml", MAPPING)

    records = list(read_records([csv_file], mapping=mapping))

    assert records == [
        ImportedRecord(1, "clinic.csv", Patient("Ana Pérez", date(1980, 4, 30), "A-1", "es"), ()),
        ImportedRecord(
            2,
            "clinic.csv",
            None,
            (
                Problem(
                    "birth date must be a date like 04/30/1980 (%m/%d/%Y)",
                    line=3,
                    field="patient.birth_date",
                    record="record 2 of clinic.csv (line 3)",
                ),
            ),
        ),
        ImportedRecord(3, "clinic.csv", Patient("Cy Doe", date(1975, 12, 1), None, "en-US"), ()),
    ]
    assert "Bo Li" not in repr(records[1])
    assert "A-2" not in repr(records[1])


def test_csv_given_and_family_columns_iso_dates_and_missing_name(tmp_path: Path) -> None:
    """given_name + family_name are joined; ISO dates are the default; an empty name is a problem."""
    csv_file = _write(
        tmp_path / "e.csv", "First,Last,Born\nAna,Uno,1980-04-30\n,,1981-01-02\nBo,Dos,30/04/1980\n"
    )
    mapping = _write(
        tmp_path / "m.yaml", "columns:\n  given_name: First\n  family_name: Last\n  birth_date: Born\n"
    )
    records = list(read_records([csv_file], mapping=mapping))
    assert records[0].patient == Patient("Ana Uno", date(1980, 4, 30))
    assert [(p.field, p.message) for p in records[1].problems] == [("patient.full_name", "name is missing")]
    assert [(p.field, p.message) for p in records[2].problems] == [
        ("patient.birth_date", "birth date must be a date like 1980-04-30")
    ]


def test_csv_screening_columns_give_each_record_its_answers(tmp_path: Path) -> None:
    """Columns named under ``screening:`` become each record's answers (yes/no in several spellings,
    blank = not answered); any other value is a problem naming the question, never quoting the cell."""
    csv_file = _write(
        tmp_path / "e.csv",
        "Name,DOB,Pregnant,Thinner\nAna,1980-04-30,No,yes\nBo,1981-01-02,,N\nCy,1982-03-04,maybe,Sí\n",
    )
    mapping = _write(tmp_path / "m.yaml", "columns:\n  full_name: Name\n  birth_date: DOB\n"
                     "screening:\n  pregnant: Pregnant\n  blood-thinners: Thinner\n")
    records = list(read_records([csv_file], mapping=mapping))
    assert [r.screening for r in records[:2]] == [{"pregnant": False, "blood-thinners": True},
                                                  {"blood-thinners": False}]
    assert records[2].patient is None
    assert [(p.field, p.message) for p in records[2].problems] == [
        ("screening.pregnant", "screening answer for 'pregnant' must be yes or no (or blank)")]
    missing = _write(tmp_path / "f.csv", "Name,DOB\nAna,1980-04-30\n")
    with pytest.raises(InputError) as caught:
        read_records([missing], mapping=mapping)
    assert [p.message for p in caught.value.problems] == [
        "column 'Pregnant' (mapped to screening.pregnant) is not in the header; found 'Name', 'DOB'",
        "column 'Thinner' (mapped to screening.blood-thinners) is not in the header; found 'Name', 'DOB'",
    ]


def test_mapping_with_unknown_keys_is_rejected(tmp_path: Path) -> None:
    """Misspelt keys, at the top or under columns, are all listed with their lines; nothing is read."""
    csv_file = _write(tmp_path / "e.csv", "Name,DOB\nAna,1980-04-30\n")
    mapping = _write(
        tmp_path / "m.yaml",
        "columns:\n  full_name: Name\n  birth_date: DOB\n  fullname: Name\n  language: Lang\n"
        "dateformat: '%d'\n",
    )
    with pytest.raises(InputError) as caught:
        read_records([csv_file], mapping=mapping)
    known = ("full_name, given_name, family_name, birth_date, mrn, preferred_language, deceased, treatment, "
             "large_print")
    assert [str(p) for p in caught.value.problems] == [
        f"{mapping}:6: dateformat is not a known key (expected one of: columns, date_format, screening)",
        f"{mapping}:4: columns.fullname is not a known key (expected one of: {known})",
        f"{mapping}:5: columns.language is not a known key (expected one of: {known})",
    ]


def test_mapping_with_bad_date_format_or_no_name_column(tmp_path: Path) -> None:
    """A date format that cannot read back a full date, or a two-digit year, is refused; so is a
    mapping with no name column."""
    mapping = _write(tmp_path / "m.yaml", "columns:\n  birth_date: DOB\ndate_format: '%m/%y'\n")
    with pytest.raises(InputError) as caught:
        read_records([], mapping=mapping)
    assert [p.message for p in caught.value.problems] == [
        "columns: full_name (or both given_name and family_name) is required",
        "date_format must use a four-digit year (%Y), not %y",
    ]


def test_mapped_column_missing_from_header(tmp_path: Path) -> None:
    """A mapped column absent from the CSV header is an InputError naming it and the columns found."""
    csv_file = _write(tmp_path / "e.csv", "Name;Birth;MRN\nAna;04/30/1980;1\n")
    mapping = _write(tmp_path / "m.yaml", MAPPING)
    with pytest.raises(InputError) as caught:
        read_records([csv_file], mapping=mapping)
    assert [str(p) for p in caught.value.problems] == [
        f"{csv_file}: column 'DOB' (mapped to birth_date) is not in the header; found 'Name', 'Birth', 'MRN'",
        f"{csv_file}: column 'Language' (mapped to preferred_language) is not in the header; "
        "found 'Name', 'Birth', 'MRN'",
    ]


def test_exports() -> None:
    """consent.ehr exports exactly its public names, sorted (the last four for the package's other stages:
    the FHIR Bundle of a signed form, and the --base-url check)."""
    assert consent.ehr.__all__ == sorted(consent.ehr.__all__)
    assert consent.ehr.__all__ == [
        "CsvMapping", "FORM_ID_SYSTEM", "FormDocument", "ImportedRecord", "Records", "base_url_problem",
        "bundle_entry", "consent_resource", "document_reference", "load_mapping", "mdm_t02", "patient_reference",
        "read_records", "transaction_bundle", "url_in",
    ]


def test_csv_not_utf8_and_repeated_header_are_listed_together(tmp_path: Path) -> None:
    """A CSV saved as Latin-1 and a header naming a mapped column twice are both reported up front."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Name,DOB\nJosé,1980-04-30\n".encode("latin-1"))
    twice = _write(tmp_path / "twice.csv", "Name,DOB,Name\nAna,1980-04-30,Ana\n")
    mapping = _write(tmp_path / "m.yaml", "columns:\n  full_name: Name\n  birth_date: DOB\n")
    with pytest.raises(InputError) as caught:
        read_records([latin, twice], mapping=mapping)
    assert [str(p) for p in caught.value.problems] == [
        f"{latin}: is not UTF-8 text; save the export as 'CSV UTF-8' (Excel) or UTF-8",
        f"{twice}: column 'Name' appears 2 times in the header",
    ]


def test_mapping_with_duplicate_key_is_rejected(tmp_path: Path) -> None:
    """A key given twice in the mapping (the second would silently win) is an error with its line."""
    mapping = _write(tmp_path / "m.yaml", "columns:\n  full_name: Name\n  full_name: X\n  birth_date: DOB\n")
    with pytest.raises(InputError, match="line 3: duplicate key 'full_name'"):
        read_records([], mapping=mapping)


def test_csv_treatment_column_default_or_mapped(tmp_path: Path) -> None:
    """A column named "treatment" gives each record its treatment id; a blank cell, a CSV without the
    column (a "Treatment" column is not it) and a FHIR record give None; the mapping may name another
    column instead."""
    plain = _write(tmp_path / "m.yaml", "columns:\n  full_name: Name\n  birth_date: DOB\n")
    mixed = _write(tmp_path / "a.csv", "Name,DOB,treatment\nAna,1980-04-30,hair\nBo,1981-01-02,\n")
    assert [r.treatment for r in read_records([mixed, PETER], mapping=plain)] == ["hair", None, None]
    without = _write(tmp_path / "b.csv", "Name,DOB,Treatment\nAna,1980-04-30,Knee injection (left)\n")
    assert [r.treatment for r in read_records([without], mapping=plain)] == [None]
    mapped = _write(tmp_path / "p.yaml", "columns:\n  full_name: Name\n  birth_date: DOB\n  treatment: Proc\n")
    other = _write(tmp_path / "c.csv", "Name,DOB,Proc,treatment\nAna,1980-04-30, iv-infusion ,hair\n")
    assert [r.treatment for r in read_records([other], mapping=mapped)] == ["iv-infusion"]


def test_csv_treatment_column_missing_or_repeated_is_a_header_problem(tmp_path: Path) -> None:
    """A mapped treatment column missing from the header, or two columns named "treatment", fail before
    any record is read."""
    mapped = _write(tmp_path / "p.yaml", "columns:\n  full_name: Name\n  birth_date: DOB\n  treatment: Proc\n")
    csv_file = _write(tmp_path / "a.csv", "Name,DOB\nAna,1980-04-30\n")
    with pytest.raises(InputError) as caught:
        read_records([csv_file], mapping=mapped)
    assert [p.message for p in caught.value.problems] == [
        "column 'Proc' (mapped to treatment) is not in the header; found 'Name', 'DOB'"]
    plain = _write(tmp_path / "m.yaml", "columns:\n  full_name: Name\n  birth_date: DOB\n")
    twice = _write(tmp_path / "b.csv", "Name,DOB,treatment,treatment\nAna,1980-04-30,hair,hair\n")
    with pytest.raises(InputError) as caught:
        read_records([twice], mapping=plain)
    assert [p.message for p in caught.value.problems] == ["column 'treatment' appears 2 times in the header"]


# --------------------------------------------------------------------------- issue 24: records to refuse

BULK = SAMPLES / "synthea_r4_bulk_Patient.00.ndjson"  # 13 Patients, records 1, 2 and 5 deceased
DOG = SAMPLES / "dstu2" / "hl7_dstu2_patient-example-animal.json"  # HL7's DSTU2 animal example
DECEASED = ("the patient is recorded as deceased (deceasedDateTime): no consent form is made for them")


def _bulk_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in BULK.read_text(encoding="utf-8").splitlines()]


def test_deceased_patients_of_a_synthea_bulk_export_are_refused() -> None:
    """The 3 Patients of the Synthea bulk export with a deceasedDateTime are records with one problem,
    field patient.deceased, that names neither the patient nor the date of death; the 10 others are read."""
    records = list(read_records([BULK]))
    assert [r.number for r in records] == list(range(1, 14))
    assert [r.number for r in records if not r.ok] == [1, 2, 5]
    for record in records[0], records[1], records[4]:
        line = record.number
        assert record.problems == (Problem(DECEASED, line=line, field="patient.deceased",
                                           record=f"record {line} of {BULK.name} (line {line})"),)
    died = [p["deceasedDateTime"] for p in _bulk_lines() if "deceasedDateTime" in p]
    text = repr(records)
    for patient in (p for p in _bulk_lines() if "deceasedDateTime" in p):
        for value in (patient["deceasedDateTime"], patient["deceasedDateTime"][:10], patient["name"][0]["family"]):
            assert value not in text
    assert len(died) == 3
    assert all(r.notes == () for r in records)  # R4: no note


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deceasedBoolean": True},
         "the patient is recorded as deceased (deceasedBoolean): no consent form is made for them"),
        ({"deceasedDateTime": "2020"}, DECEASED),
        ({"deceasedBoolean": "true"},
         "deceasedBoolean must be true or false; the record does not show that the patient is alive"),
        ({"deceasedBoolean": False}, None),
        ({"deceasedBoolean": None}, None),
    ],
)
def test_deceased_boolean_and_date_time(tmp_path: Path, change: dict[str, Any], message: str | None) -> None:
    """deceasedBoolean true or any deceasedDateTime refuses the record (so does a deceasedBoolean that is
    not a boolean); false or absent does not."""
    _write(tmp_path / "p.json", json.dumps({**_synthea_patient(), **change}))
    record = _one(tmp_path / "p.json")
    if message is None:
        assert record.ok
    else:
        assert [(p.field, p.message) for p in record.problems] == [("patient.deceased", message)]


def test_animals_are_refused_r4_extension_and_dstu2_element(tmp_path: Path) -> None:
    """HL7's animal example (DSTU2: Patient.animal) and the R4 form of it (the extension patient-animal on
    a Patient that is otherwise complete) are records with one problem, field patient.animal; the dog's
    name is not in it."""
    dog = _one(DOG)
    assert [(p.field, p.message) for p in dog.problems] == [
        ("patient.animal", "the record is an animal (Patient.animal): consent forms are for people")]
    r4 = json.loads(PETER.read_text(encoding="utf-8"))
    r4["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/patient-animal", "extension": [
        {"url": "species", "valueCodeableConcept": {"coding": [
            {"system": "http://hl7.org/fhir/animal-species", "code": "canislf", "display": "Dog"}]}}]}]
    _write(tmp_path / "r4-dog.json", json.dumps(r4))
    record = _one(tmp_path / "r4-dog.json")
    assert [(p.field, p.message) for p in record.problems] == [
        ("patient.animal", "the record is an animal (extension patient-animal): consent forms are for people")]
    assert "Kenzi" not in repr(dog) and "Chalmers" not in repr(record)


def test_dstu2_and_stu3_exports_are_read_with_a_note(tmp_path: Path) -> None:
    """An export of an older FHIR version is read (its name, birth date, MRN and language mean the same),
    and each of its records carries a note naming the version and what gave it away: DSTU2's HumanName
    family list (the HL7 DSTU2 example without its animal), a DSTU2-only resource in the Bundle, one only
    STU3 has, one both had. The R4 samples carry no such note."""
    person = json.loads(DOG.read_text(encoding="utf-8"))
    del person["animal"]
    _write(tmp_path / "dstu2.json", json.dumps(person))
    record = _one(tmp_path / "dstu2.json")
    assert record.patient == Patient("Kenzi", date(2010, 3, 23))
    assert record.notes == ("read from a FHIR DSTU2 export, not R4 (it has HumanName.family as a list): the name, "
                            "birth date, MRN and language mean the same there and were read as in R4",)
    patient = {"fullUrl": "urn:uuid:p", "resource": _synthea_patient()}
    for kind, version in (("MedicationOrder", "DSTU2"), ("ImagingManifest", "STU3"),
                          ("ProcedureRequest", "DSTU2 or STU3")):
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [patient, {"resource": {"resourceType": kind, "id": "x"}}]}
        _write(tmp_path / f"{kind}.json", json.dumps(bundle))
        [note] = _one(tmp_path / f"{kind}.json").notes
        assert note.startswith(f"read from a FHIR {version} export, not R4 (it has {kind} resources): ")
    for sample in (PETER, ROEL, GUSTAVO, CLEMENTE, BULK):
        assert all(not any("FHIR" in n for n in r.notes) for r in read_records([sample])), sample


@pytest.mark.parametrize(("text", "code"), [("Spanish", "es"), ("español", "es"), ("Espanol", "es"),
                                            ("ESPAÑOL ", "es"), ("Spanish (Mexico)", "es"), ("inglés", "en"),
                                            ("es-MX", "es-MX"), ("Vietnamese", "vi")])
def test_language_given_only_as_text_is_read_as_a_language(tmp_path: Path, text: str, code: str) -> None:
    """communication.language with text and no code: a language's name in English or Spanish, with or
    without accents, case or a region, is that language's code (Spanish -> es, so a Spanish form)."""
    patient = _synthea_patient()
    patient["communication"] = [{"language": {"text": text}}]
    _write(tmp_path / "p.json", json.dumps(patient))
    record = _one(tmp_path / "p.json")
    assert record.patient is not None and record.patient.preferred_language == code
    assert record.notes == ()


def test_language_text_that_is_no_language_gives_english_with_a_note(tmp_path: Path) -> None:
    """Text that is neither a code nor a language's name: no preferred language (so English) and a note
    that says so without quoting the text; a coded language wins over such text, and so does the
    preferred entry's name over another entry's."""
    patient = _synthea_patient()
    patient["communication"] = [{"language": {"text": "Klingonese (per daughter Q. Zorg)"}}]
    _write(tmp_path / "p.json", json.dumps(patient))
    record = _one(tmp_path / "p.json")
    assert record.patient is not None and record.patient.preferred_language is None
    assert record.notes == ("the preferred language (Patient.communication) has neither a language code nor a "
                            "language name consent knows (in English or Spanish); the form is in English",)
    assert "Zorg" not in repr(record)
    patient["communication"] = [{"language": {"text": "Klingonese"}},
                                {"language": {"text": "Spanish"}, "preferred": True}]
    _write(tmp_path / "p.json", json.dumps(patient))
    assert (_one(tmp_path / "p.json").patient.preferred_language, _one(tmp_path / "p.json").notes) == ("es", ())


def test_files_without_a_patient_are_refused_before_any_record_is_read(tmp_path: Path) -> None:
    """An NDJSON of Organizations (a bulk export's other file given for the Patient one), a Bundle with no
    Patient, an empty NDJSON and a lone Organization are one InputError, a line per file naming the
    resource types found; a file with a Patient beside them is not listed."""
    bundle = json.loads(GUSTAVO.read_text(encoding="utf-8"))
    others = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] in ("Organization",
                                                                                          "Practitioner")]
    organizations = _write(tmp_path / "Organization.ndjson", "".join(json.dumps(r) + "\n" for r in others))
    no_patient = {**bundle, "entry": [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]}
    kinds = sorted({e["resource"]["resourceType"] for e in no_patient["entry"]})
    _write(tmp_path / "no-patient.json", json.dumps(no_patient))
    _write(tmp_path / "empty.ndjson", "\n\n")
    _write(tmp_path / "org.json", json.dumps(others[0]))
    files = [organizations, tmp_path / "no-patient.json", PETER, tmp_path / "empty.ndjson", tmp_path / "org.json"]
    with pytest.raises(InputError) as caught:
        read_records(files)
    hint = "give the export's Patient resources (a bulk export's Patient.ndjson, or a Bundle with Patients)"
    counts = {kind: sum(e["resource"]["resourceType"] == kind for e in no_patient["entry"]) for kind in kinds}
    found = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    assert [str(p) for p in caught.value.problems] == [
        f"{organizations}: holds no FHIR Patient (found 1 Organization, 1 Practitioner): {hint}",
        f"{tmp_path / 'no-patient.json'}: holds no FHIR Patient (found a Bundle of {found}): {hint}",
        f"{tmp_path / 'empty.ndjson'}: holds no FHIR Patient (the file is empty): {hint}",
        f"{tmp_path / 'org.json'}: holds a FHIR Organization, not a Patient or a Bundle of Patients: {hint}",
    ]


def test_csv_deceased_column_refuses_rows(tmp_path: Path) -> None:
    """A CSV mapping may name a deceased column: yes or a date of death refuses the row (field
    patient.deceased, the cell not quoted), no or blank does not, anything else refuses it too (it does
    not show the patient is alive). A language column may hold a name (Spanish -> es)."""
    rows = ["Name,DOB,Died,Language", "Ana Uno,01/01/1970,,Spanish", "Bo Dos,02/02/1971,yes,",
            "Cy Tres,03/03/1972,2019-05-06,", "Di Cuatro,04/04/1973,No,", "Ed Cinco,05/05/1974,maybe,",
            "Flo Seis,06/06/1975,06/07/2020,"]
    csv_file = _write(tmp_path / "e.csv", "\n".join(rows) + "\n")
    mapping = _write(tmp_path / "m.yaml", "columns:\n  full_name: Name\n  birth_date: DOB\n  deceased: Died\n"
                                          "  preferred_language: Language\ndate_format: '%m/%d/%Y'\n")
    records = list(read_records([csv_file], mapping=mapping))
    assert [r.patient.preferred_language if r.patient else None for r in records] == ["es", None, None, None,
                                                                                       None, None]
    assert [[(p.field, p.message) for p in r.problems] for r in records] == [
        [], [("patient.deceased", "the patient is recorded as deceased (the deceased column): no consent form is "
                                  "made for them")],
        [("patient.deceased", "the patient is recorded as deceased (a date of death): no consent form is made for "
                              "them")],
        [], [("patient.deceased", "the deceased column must be yes, no, a date of death or blank; the row does "
                                  "not show that the patient is alive")],
        [("patient.deceased", "the patient is recorded as deceased (a date of death): no consent form is made for "
                              "them")],
    ]
    assert "2019-05-06" not in repr(records) and "maybe" not in repr(records)
