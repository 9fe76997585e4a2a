"""Patient and clinic inputs: every problem reported at once, with the field, what was expected and got."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from helpers import DATE, EXAMPLES, make_clinic

import consent


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
    modules = {"cli", "content", "document", "errors", "inputs", "ehr", "check"}
    assert public <= modules, public - modules
