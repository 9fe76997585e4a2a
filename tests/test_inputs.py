"""Patient and clinic inputs: every problem reported at once, with the field, what was expected and got."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from decimal import Decimal

import pytest
from helpers import DATE, EXAMPLES, make_clinic

import consent
from consent.cli import main


def test_python_objects_with_many_problems_give_one_error(patient):
    """Bad values built in Python are all listed in one InputError."""
    clinic = make_clinic(
        name=" ",
        state="Texas",
        fees=consent.FeeSchedule(price_per_session=Decimal("0"), planned_sessions=0, currency="usd"),
    )
    bad_patient = consent.Patient(full_name="", birth_date="1980-04-30")  # type: ignore[arg-type]
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=bad_patient, clinic=clinic, date=DATE)
    assert [str(p) for p in info.value.problems] == [
        "patient.full_name must not be empty",
        "patient.birth_date must be a date like 1980-04-30 (got '1980-04-30')",
        "clinic.name must not be empty",
        "clinic.state must be a two-letter US state code such as CA or TX (got 'Texas')",
        "clinic.fees.price_per_session must be an amount above zero (got Decimal('0'))",
        "clinic.fees.planned_sessions must be a whole number from 1 to 50 (got 0)",
        "clinic.fees.currency must be an ISO 4217 code such as USD (got 'usd')",
    ]
    assert isinstance(info.value, ValueError)


def test_form_date_must_be_a_date(patient, clinic):
    """A string date is refused with the expected shape."""
    with pytest.raises(consent.InputError, match=r"date must be a date like 2026-11-21 \(got '2026-11-21'\)"):
        consent.build("hair", patient=patient, clinic=clinic, date="2026-11-21")  # type: ignore[arg-type]


def test_clinic_file_with_unknown_and_missing_keys(tmp_path):
    """A misspelt key in the clinic file is an error, as is a missing one, both reported together."""
    text = (EXAMPLES / "clinic.yaml").read_text().replace("phone: (619) 555-0142\n", "fone: x\n")
    path = tmp_path / "clinic.yaml"
    path.write_text(text)
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    messages = sorted(str(p) for p in info.value.problems)
    assert messages == [
        f"{path}: clinic has unknown key(s): fone",
        f"{path}: clinic.phone is required but missing",
    ]


def test_amounts_accept_text_and_numbers_but_not_nonsense(tmp_path):
    """Prices may be written 1850, 1850.00 or "1,850.00"; "free" is an error."""
    base = (EXAMPLES / "clinic.yaml").read_text()
    path = tmp_path / "clinic.yaml"
    path.write_text(base.replace("price_per_session: 1850.00", 'price_per_session: "1,850.00"'))
    assert consent.load_clinic(path).fees["knee-injection"].price_per_session == Decimal("1850.00")
    path.write_text(base.replace("price_per_session: 1850.00", "price_per_session: free"))
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    assert str(info.value) == (
        f"{path}: clinic.fees.knee-injection.price_per_session must be an amount like 1500 or 1500.00 (got 'free')"
    )


def test_patient_files_in_json_and_yaml(tmp_path):
    """Both formats load; a JSON syntax error names the file."""
    assert consent.load_patient(EXAMPLES / "patient-minh.json").full_name == "Nguyễn Thị Minh Khai"
    assert consent.load_patient(EXAMPLES / "patient-jose.yaml").birth_date == dt.date(1958, 3, 14)
    bad = tmp_path / "p.json"
    bad.write_text("{ not json")
    with pytest.raises(consent.InputError, match=r"p\.json: not valid JSON"):
        consent.load_patient(bad)
    with pytest.raises(consent.InputError, match="file not found"):
        consent.load_patient(tmp_path / "nope.yaml")


def test_future_birth_date_is_refused(clinic):
    """A birth date after today is a data-entry mistake."""
    patient = consent.Patient(full_name="A B", birth_date=dt.date.today() + dt.timedelta(days=3))
    with pytest.raises(consent.InputError, match="patient.birth_date is in the future"):
        consent.build("hair", patient=patient, clinic=clinic, date=DATE)


def test_exported_members_are_explicit_and_sorted():
    """`consent.__all__` is sorted and every name in it exists (httpx's test_exported_members)."""
    assert consent.__all__ == sorted(consent.__all__)
    for name in consent.__all__:
        assert hasattr(consent, name), name
    public = {n for n in dir(consent) if not n.startswith("_")} - set(consent.__all__)
    package = Path(consent.__file__).parent
    modules = {"content", "approved_products", "document", "errors"} | {d.name for d in package.iterdir() if (d / "__init__.py").is_file()}
    assert public <= modules, public - modules


# --------------------------------------------------------------------------- input policy (issue point 13)


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        (dt.date(1, 1, 1), "patient.birth_date gives an age of 2,025 years on the form's date, 2026-11-21; "
                           "the limit is 130 years"),
        (dt.date(1826, 11, 21), "patient.birth_date gives an age of 200 years on the form's date, 2026-11-21; "
                                "the limit is 130 years"),
        (dt.date(2026, 11, 25), "patient.birth_date must be on or before the form's date, 2026-11-21 "
                                "(got a date 4 days after it)"),
    ],
)
def test_implausible_birth_dates_are_refused_by_the_library(birth_date, message, clinic):
    """consent.build refuses a birth date in year 1, an age over MAX_AGE_YEARS and a birth after the form's
    date (not only after today), naming the age or the days, never the birth date itself."""
    patient = consent.Patient(full_name="Ada Lovelace", birth_date=birth_date)
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    assert [str(p) for p in info.value.problems] == [message]
    assert birth_date.isoformat() not in str(info.value)


def test_the_oldest_plausible_patient_is_accepted(clinic):
    """The bound is inclusive: a patient exactly MAX_AGE_YEARS old on the form's date, and one born on it."""
    from consent._limits import MAX_AGE_YEARS

    for born in (DATE.replace(year=DATE.year - MAX_AGE_YEARS), DATE):
        form = consent.build("hair", patient=consent.Patient(full_name="Ada Lovelace", birth_date=born),
                             clinic=clinic, date=DATE)
        assert form.date == DATE


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        ("0001-01-01", "gives an age of 2,025 years on the form's date, 2026-11-21; the limit is 130 years"),
        ("1826-11-20", "gives an age of 200 years on the form's date, 2026-11-21; the limit is 130 years"),
        ("2026-11-25", "must be on or before the form's date, 2026-11-21 (got a date 4 days after it)"),
    ],
)
def test_implausible_birth_dates_in_a_patient_file_write_no_form(tmp_path, capsys, birth_date, message):
    """`consent render` with a patient file whose birth date is implausible for the form's date: exit 1, the
    reason, and no file written."""
    patient = tmp_path / "patient.yaml"
    patient.write_text(f"full_name: Ada Lovelace\nbirth_date: {birth_date}\n")
    out = tmp_path / "out"
    code = main(["render", "hair", "--patient", str(patient), "--clinic", str(EXAMPLES / "clinic.yaml"),
                 "--date", DATE.isoformat(), "--format", "docx", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert f"patient.birth_date {message}" in captured.err and birth_date not in captured.err
    assert not out.exists()


def test_implausible_birth_dates_in_an_ehr_export_are_record_errors(tmp_path, capsys):
    """An EHR export whose patients were born in year 1, 200 years before the form's date, and after it:
    each record is a row of errors.csv (the field and the reason, not the date), no form is written, exit 1."""
    export = tmp_path / "Patient.ndjson"
    export.write_text("".join(
        json.dumps({"resourceType": "Patient", "id": f"p{i}", "name": [{"text": "Ada Lovelace"}],
                    "birthDate": born}) + "\n"
        for i, born in enumerate(["0001-01-01", "1826-11-20", "2026-11-25"], 1)
    ))
    out = tmp_path / "out"
    code = main(["batch", "hair", "--from", str(export), "--clinic", str(EXAMPLES / "clinic.yaml"), "--date",
                 DATE.isoformat(), "--format", "docx", "--jobs", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.startswith("3 record(s): 0 form(s) written, 0 already complete, 3 failed")
    rows = list(csv.reader(io.StringIO((out / "errors.csv").read_text())))
    assert rows == [
        ["record", "source", "field", "message"],
        ["1", "Patient.ndjson", "patient.birth_date", "patient.birth_date gives an age of 2,025 years on the "
                                                      "form's date, 2026-11-21; the limit is 130 years"],
        ["2", "Patient.ndjson", "patient.birth_date", "patient.birth_date gives an age of 200 years on the "
                                                      "form's date, 2026-11-21; the limit is 130 years"],
        ["3", "Patient.ndjson", "patient.birth_date", "patient.birth_date must be on or before the form's "
                                                      "date, 2026-11-21 (got a date 4 days after it)"],
    ]
    assert not [p for p in out.rglob("*") if p.suffix in (".pdf", ".docx")]


def test_duplicate_keys_in_patient_and_clinic_files_name_both_lines(tmp_path, capsys):
    """A key given twice in a patient or clinic YAML file (YAML alone would keep the second silently): both
    files' errors at once, each naming the two lines, and no form written."""
    patient = tmp_path / "patient.yaml"
    patient.write_text("full_name: Ada Lovelace\nbirth_date: 1985-12-01\nfull_name: Bob Lovelace\n")
    clinic_text = (EXAMPLES / "clinic.yaml").read_text()
    lines = clinic_text.splitlines()
    first = next(n for n, line in enumerate(lines, 1) if line.startswith("phone:"))
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(clinic_text + "\nphone: (619) 555-0199\n")
    second = len((clinic_text + "\nphone: (619) 555-0199\n").splitlines())
    out = tmp_path / "out"
    code = main(["render", "hair", "--patient", str(patient), "--clinic", str(clinic), "--format", "docx",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err == (
        "Error: 2 problems found\n"
        f"  - {patient}: not valid YAML: line 3, column 1: duplicate key 'full_name', given first on line 1\n"
        f"  - {clinic}: not valid YAML: line {second}, column 1: duplicate key 'phone', given first on line {first}\n"
    )
    assert not out.exists()


def test_a_yaml_merge_may_give_a_key_again(tmp_path):
    """Giving again a key that a merge (``<<: *base``) brought in is what a merge is for, not a duplicate."""
    path = tmp_path / "patient.yaml"
    path.write_text("base: &base {full_name: Ada Lovelace, birth_date: 1985-12-01}\n")
    assert consent.inputs.read_data_file(path)["base"]["full_name"] == "Ada Lovelace"
    path.write_text("_: &base {full_name: A, birth_date: 1985-12-01}\n<<: *base\nfull_name: Ada Lovelace\n")
    assert consent.inputs.read_data_file(path)["full_name"] == "Ada Lovelace"
