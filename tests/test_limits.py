"""Limits: every bounded input fails with an error naming the limit and the value found, at once.

The limits live in consent/_limits.py and are listed in the README's "Limits" section.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import DATE, EXAMPLES, REPO, build_tree, make_clinic

import consent
from consent import _limits
from consent._library import get_library
from consent._limits import (
    LIMITS,
    MAX_CODE_CHARS,
    MAX_DATA_FILE_BYTES,
    MAX_EXPORT_BYTES,
    MAX_NAME_CHARS,
    MAX_NESTING,
    MAX_PACK_BYTES,
    MAX_PACK_FILES,
    MAX_TEXT_CHARS,
    MAX_YAML_NODES,
)
from consent.cli import main
from consent.ehr import read_records

BOMB = "".join(
    [f"a0: &a0 [{', '.join(['x'] * 10)}]\n"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7)]
)


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (the limit is checked before reading)."""
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def test_limits_are_documented_in_the_readme():
    """The README's Limits list names every limit with its value, so a clinic knows them before it hits one."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Limits", 1)[1].split("\n## ", 1)[0]
    for name, value in LIMITS.items():
        shown = f"{value // _limits.MIB} MiB" if name.endswith("_BYTES") else f"{value:,}"
        assert re.search(rf"`{name}`.*{re.escape(shown)}", section), (name, shown)


def test_data_file_over_the_size_limit(tmp_path, capsys):
    """A patient file over 1 MiB: one error naming the size and the limit, nothing written."""
    patient = _sparse(tmp_path / "patient.yaml", MAX_DATA_FILE_BYTES + 1)
    code = main(["render", "hair", "--patient", str(patient), "--clinic", str(EXAMPLES / "clinic.yaml"),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{patient}: the file is {MAX_DATA_FILE_BYTES + 1:,} bytes; the limit is {MAX_DATA_FILE_BYTES:,} bytes" in err
    assert not (tmp_path / "out").exists()


def test_export_over_the_size_limit_fails_before_reading(tmp_path):
    export = _sparse(tmp_path / "export.ndjson", MAX_EXPORT_BYTES + 1)
    with pytest.raises(consent.InputError) as info:
        read_records([export])
    assert str(info.value) == (
        f"{export}: the export is {MAX_EXPORT_BYTES + 1:,} bytes; the limit is {MAX_EXPORT_BYTES:,} bytes"
    )


def test_records_per_file(tmp_path, monkeypatch):
    """More records in one export than the limit: an InputError naming file, limit and a hint to split."""
    monkeypatch.setattr("consent.ehr._records.MAX_RECORDS_PER_FILE", 3)
    export = tmp_path / "Patient.ndjson"
    line = json.dumps({"resourceType": "Patient", "name": [{"text": "A B"}], "birthDate": "1970-01-01"})
    export.write_text("\n".join([line] * 4))
    records = read_records([export])
    with pytest.raises(consent.InputError) as info:
        list(records)
    assert str(info.value) == (
        f"{export}: the export has more than 3 records; the limit is 3\nHint: split it into several files"
    )
    export.write_text("\n".join([line] * 3))
    assert len(list(read_records([export]))) == 3


@pytest.mark.parametrize(
    ("field", "changes", "limit"),
    [
        ("patient.full_name", {"full_name": "A" * (MAX_NAME_CHARS + 1)}, MAX_NAME_CHARS),
        ("patient.mrn", {"mrn": "1" * (MAX_CODE_CHARS + 1)}, MAX_CODE_CHARS),
    ],
)
def test_patient_text_length(field, changes, limit, clinic):
    fields = {"full_name": "Ada Lovelace", "birth_date": dt.date(1985, 12, 1), **changes}
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=consent.Patient(**fields), clinic=clinic, date=DATE)
    assert str(info.value) == f"{field} is {limit + 1:,} characters long; the limit is {limit:,}"


def test_clinic_text_length_every_field_at_once(patient):
    """Every over-long clinic field is listed, including fields inside the fee schedule."""
    long = "x" * (MAX_TEXT_CHARS + 1)
    fees = consent.FeeSchedule(price_per_session=Decimal(1), planned_sessions=1, included=("ok", long))
    clinic = make_clinic(address=long, fees=fees, provider=consent.Provider(name="n" * 201, credentials="MD"))
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    assert [str(p) for p in info.value.problems] == [
        f"clinic.address is {MAX_TEXT_CHARS + 1:,} characters long; the limit is {MAX_TEXT_CHARS:,}",
        f"clinic.provider.name is 201 characters long; the limit is {MAX_NAME_CHARS}",
        f"clinic.fees.included[1] is {MAX_TEXT_CHARS + 1:,} characters long; the limit is {MAX_TEXT_CHARS:,}",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A\x00B", "a control character (U+0000) at position 2"),
        ("A\x1b[0mB", "a control character (U+001B) at position 2"),
        ("Ann\ud800", "an unpaired surrogate (U+D800) at position 4"),
        ("\ufffe", "a Unicode noncharacter (U+FFFE) at position 1"),
        ("Ann\nLee", "a line break or tab (U+000A) at position 4"),
    ],
)
def test_characters_that_are_not_text_are_refused_by_code_point(text, message, clinic):
    """A control character, surrogate or noncharacter would make an unreadable DOCX (invalid XML): it is
    refused, naming the field, the code point and the position, never the text."""
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=consent.Patient(full_name=text, birth_date=dt.date(1980, 1, 1)),
                      clinic=clinic, date=DATE)
    assert str(info.value) == f"patient.full_name contains {message}; remove it"


@pytest.mark.parametrize("single_line", [False, True])
def test_the_first_look_for_characters_that_are_not_text_finds_exactly_what_is_refused(single_line):
    """A text field is first searched with one character class, and read character by character only
    when it matches: the class holds every code point the reading refuses, and nothing else (else a
    control character could slip through, or a valid name be refused)."""
    import unicodedata

    def refused(code: int) -> bool:
        if chr(code) in "\t\n\r":
            return single_line
        return (unicodedata.category(chr(code)) in ("Cc", "Cs") or 0xFDD0 <= code <= 0xFDEF
                or code & 0xFFFE == 0xFFFE)

    every = "".join(map(chr, range(0x110000)))
    found = [m.start() for m in _limits._BAD[single_line].finditer(every)]
    assert found == [code for code in range(0x110000) if refused(code)]
    assert len(found) == 2176 + 3 * single_line  # 65 Cc, 2,048 Cs, 66 noncharacters (less tab, LF, CR)
    for code in found[:: max(1, len(found) // 40)]:  # and the reading names them
        assert _limits._bad_character(f"Ann{chr(code)}", single_line=single_line) is not None
    assert _limits._bad_character("Nguyễn Thị Minh Khai\u00e9", single_line=single_line) is None


def test_multiline_clinic_text_is_allowed(patient):
    """Tabs and line breaks are fine in clinic text (an address written over two lines)."""
    consent.build("hair", patient=patient, clinic=make_clinic(address="1 Main St\nBoise, ID"), date=DATE)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_nesting_depth(tmp_path, suffix):
    """A file nested one level too deep, and one nested far deeper than Python's stack: both refused."""
    deep = tmp_path / f"patient{suffix}"
    for depth in (MAX_NESTING + 1, 100_000):
        deep.write_text("[" * depth + "]" * depth)
        with pytest.raises(consent.InputError) as info:
            consent.load_patient(deep)
        assert str(info.value) == f"{deep}: nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}"
    ok = tmp_path / f"ok{suffix}"
    ok.write_text("[" * MAX_NESTING + "]" * MAX_NESTING)
    with pytest.raises(consent.InputError, match="patient must be a mapping"):
        consent.load_patient(ok)


def test_deep_fhir_export_is_one_record_with_a_problem(tmp_path):
    export = tmp_path / "export.json"
    export.write_text("[" * 100_000 + "]" * 100_000)
    ndjson = tmp_path / "export.ndjson"
    ndjson.write_text('{"resourceType": "Patient", "x": ' + "[" * 5_000 + "]" * 5_000 + "}\n")
    records = list(read_records([export, ndjson]))
    assert [(r.number, [p.message for p in r.problems]) for r in records] == [
        (1, [f"the file has nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}"]),
        (2, [f"line 1 has nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}"]),
    ]


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    """A "billion laughs" file (a million values from seven lines) stops at MAX_YAML_NODES, in every
    YAML reader: patient files, CSV mappings and pack files."""
    patient = tmp_path / "patient.yaml"
    patient.write_text(BOMB)
    message = f"more than {MAX_YAML_NODES:,} values (aliases counted each time they are used)"
    with pytest.raises(consent.InputError, match=re.escape(message)):
        consent.load_patient(patient)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns: {full_name: n, birth_date: d}\n" + BOMB)
    export = tmp_path / "x.csv"
    export.write_text("n,d\n")
    with pytest.raises(consent.InputError, match=re.escape(message)):
        read_records([export], mapping=mapping)
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": BOMB})
    with pytest.raises(consent.ContentError, match=re.escape(message)):
        get_library([pack]).raise_problems()


def test_huge_numbers_are_an_input_error(tmp_path):
    """A 5,000-digit number (more than Python converts) in a patient file or a FHIR export."""
    patient = tmp_path / "p.json"
    patient.write_text('{"full_name": "A", "birth_date": "1970-01-01", "mrn": 1' + "0" * 5000 + "}")
    with pytest.raises(consent.InputError, match="a number is too long to read"):
        consent.load_patient(patient)
    export = tmp_path / "e.json"
    export.write_text('{"resourceType": "Patient", "x": 1' + "0" * 5000 + "}")
    [record] = read_records([export])
    assert record.problems[0].message.startswith("the file has a number is too long to read")


def test_csv_field_over_the_csv_limit(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text('name,dob\n"' + "x" * 140_000 + '",1970-01-01\n')
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {full_name: name, birth_date: dob}\n")
    with pytest.raises(consent.InputError) as info:
        list(read_records([export], mapping=mapping))
    assert str(info.value) == (
        f"{export}: line 3 cannot be read as CSV (field larger than field limit (131072))"
    )


def test_pack_with_too_many_files(tmp_path):
    pack = build_tree(tmp_path / "pack", {"clauses/.keep": ""})
    for i in range(MAX_PACK_FILES + 1):
        (pack / "clauses" / f"note-{i}.txt").touch()
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"the pack has more than {MAX_PACK_FILES:,} files; the limit is {MAX_PACK_FILES:,}" in str(info.value)


def test_pack_over_the_byte_limit(tmp_path):
    pack = build_tree(tmp_path / "pack", {"templates/fonts/.keep": ""})
    _sparse(pack / "templates" / "fonts" / "huge.ttf", MAX_PACK_BYTES + 1)
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"the pack holds {MAX_PACK_BYTES + 1:,} bytes; the limit is {MAX_PACK_BYTES:,} bytes" in str(info.value)


def test_pack_yaml_file_over_the_size_limit(tmp_path):
    pack = build_tree(tmp_path / "pack", {"clauses/.keep": ""})
    big = _sparse(pack / "clauses" / "benefits.yaml", MAX_DATA_FILE_BYTES + 1)
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"{big}: the file is {MAX_DATA_FILE_BYTES + 1:,} bytes; the limit is {MAX_DATA_FILE_BYTES:,} bytes" in str(
        info.value)


def test_endless_devices_and_pipes_are_refused(tmp_path):
    """/dev/zero as a patient file or a CSV mapping (it has no size, and never ends), and a named pipe in a
    pack (opening it would wait for ever): refused at the limit, not read without end."""
    for loader in (consent.load_patient, lambda p: read_records([tmp_path / "x.csv"], mapping=p)):
        with pytest.raises(consent.InputError) as info:
            loader(Path("/dev/zero"))
        assert (f"/dev/zero: the file is more than {MAX_DATA_FILE_BYTES:,} bytes; the limit is "
                f"{MAX_DATA_FILE_BYTES:,} bytes") in str(info.value)
    pack = build_tree(tmp_path / "pack", {"clauses/.keep": ""})
    os.mkfifo(pack / "clauses" / "benefits.yaml")
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"{pack}/clauses/benefits.yaml: is not a regular file (a pipe or a device)" in str(info.value)
