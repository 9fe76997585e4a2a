"""Privacy: no identifier but the name, birth date and MRN anywhere a command writes, also when it fails.

The real FHIR samples carry SSNs, driver's licence and passport numbers, a Dutch BSN, phone numbers,
addresses. Every output file, stdout, stderr (with Python logging at DEBUG) and traceback of every command
is searched for them; error lists and logs may not even hold the name, birth date or MRN.
(Worker processes do not inherit a logging set-up, so the logs are read in-process with threads.)
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CLINIC, DATE, EHR_SAMPLES, all_output_text

import consent
from consent.batch.run import run_batch
from consent.ehr import read_records

SAMPLES = sorted(EHR_SAMPLES.glob("*.json"))


def _patients(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    if data["resourceType"] == "Patient":
        return [data]
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient"]


def _mrns(patient: dict) -> set[str]:
    return {i["value"] for i in patient.get("identifier", [])
            if any(c.get("code") == "MR" for c in i.get("type", {}).get("coding", []))}


def secrets() -> set[str]:
    """Every identifier of the sample patients other than the name, birth date and MRN."""
    out: set[str] = set()
    for path in SAMPLES:
        for patient in _patients(path):
            mrns = _mrns(patient)
            out |= {i["value"] for i in patient.get("identifier", []) if i["value"] not in mrns}
            out |= {t["value"] for t in patient.get("telecom", []) if "value" in t}
            for address in patient.get("address", []):
                out |= set(address.get("line", [])) | {address.get("city"), address.get("postalCode"),
                                                       address.get("text")}
    return {s for s in out if s and len(s) >= 5}


def known() -> set[str]:
    """The name parts, birth dates and MRNs of the sample patients (allowed on forms, never in errors)."""
    out: set[str] = set()
    for path in SAMPLES:
        for patient in _patients(path):
            out |= _mrns(patient) | {patient.get("birthDate", "")}
            for name in patient.get("name", []):
                out |= {*name.get("given", []), name.get("family", "")}
    return {s for s in out if s and len(s) >= 4}


# Several commands in one process (one start-up), each with its own stdout and stderr; a traceback of any of
# them would end the process and show in its stderr.
RUN_ALL = """
import contextlib, io, json, sys
from consent.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def _consent_all(commands: list[list[str]], cwd: Path) -> list[tuple[int, str, str]]:
    result = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps(commands)], capture_output=True, text=True,
                            timeout=300, cwd=cwd, env={**os.environ, "PYTHONWARNINGS": "default"})
    assert result.returncode == 0, result.stderr
    for secret in secrets():
        assert secret not in result.stderr, secret
    return [tuple(r) for r in json.loads(result.stdout)]


def _broken_exports(tmp_path: Path) -> list[Path]:
    """Copies of the Gustavo bundle whose patient fails in every way a record can: a bad birth date, a
    control character in the name (refused at input), a name the PDF fonts cannot draw (refused at render)."""
    source = next(p for p in SAMPLES if "Gustavo" in p.name)
    out = []
    for what, change in (("birth", {"birthDate": "1970-13-45"}),
                         ("control", {"name": [{"use": "official", "given": ["Gus\u0000tavo"], "family": "Mejía"}]}),
                         ("script", {"name": [{"use": "official", "given": ["𐀀𐀁𐀂"], "family": "Mejía"}]})):
        bundle = json.loads(source.read_text())
        patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        patient.update(copy.deepcopy(change))
        path = tmp_path / f"broken-{what}.json"
        path.write_text(json.dumps(bundle))
        out.append(path)
    return out


@pytest.mark.slow
def test_no_other_identifier_anywhere_in_success_or_failure(tmp_path):
    """Batches of the real samples (all succeed) and of broken copies (every record fails a different
    way), a render with a bad patient file, and a batch with a bad clinic file: the SSN, licence,
    passport, BSN, phones and addresses appear in no output file, stdout, stderr or log line; the
    error list and the console name no patient."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    patient = tmp_path / "patient.yaml"
    patient.write_text("full_name: Gustavo Mejía\nbirth_date: 1961-06-29\nssn: 999-68-8566\n"
                       "phone: [555-981-8755\n")
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(CLINIC.read_text() + "fax: 999-68-8566\n")
    common = ["--date", "2026-11-21", "--jobs", "1"]
    runs = _consent_all([
        ["batch", "hair", *[a for p in SAMPLES for a in ("--from", str(p))], "--clinic", str(CLINIC),
         "--out", str(good), *common],
        ["batch", "hair", *[a for p in _broken_exports(tmp_path) for a in ("--from", str(p))],
         "--clinic", str(CLINIC), "--out", str(bad), *common],
        ["render", "hair", "--patient", str(patient), "--clinic", str(CLINIC), "--out", str(tmp_path / "render")],
        ["batch", "hair", "--from", str(SAMPLES[0]), "--clinic", str(clinic), "--out", str(tmp_path / "none")],
    ], cwd=tmp_path)
    assert [code for code, _, _ in runs] == [0, 1, 1, 1], [err[-500:] for _, _, err in runs]
    consoles = "\n".join(out + err for _, out, err in runs)
    assert "Traceback" not in consoles
    written = all_output_text(good) + all_output_text(bad)
    for secret in sorted(secrets()):
        assert secret not in consoles, secret
        assert secret not in written, secret
    errors = (bad / "errors.csv").read_text()
    assert len(errors.splitlines()) == 4, errors  # one row per broken record
    for value in sorted(known() | {"𐀀𐀁𐀂", "Gustavo", "Mejía"}):
        assert value not in errors, value
        assert value not in runs[1][2], value
    assert "patient.full_name has 3 character(s) that the PDF fonts cannot draw (Linear B Syllabary)" in errors
    assert "patient.full_name contains a control character (U+0000) at position 4; remove it" in errors


def test_logs_hold_no_patient_data(tmp_path, caplog):
    """Every log record of a batch (Python logging at DEBUG: consent, WeasyPrint, fontTools, docx) of the
    samples and their broken copies: no identifier, and not even the name, birth date or MRN."""
    caplog.set_level(logging.DEBUG)
    clinic = consent.load_clinic(CLINIC)
    with cf.ThreadPoolExecutor(2) as pool:
        run_batch("hair", read_records([*SAMPLES, *_broken_exports(tmp_path)]), clinic=clinic, out_dir=tmp_path / "out",
                  date=DATE, executor=pool)
    assert caplog.records, "nothing was logged: the check proves nothing"
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for value in sorted(secrets() | known() | {"Chalmers", "Mejía", "Kreiger"}):
        assert value not in text, value
