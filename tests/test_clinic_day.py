"""A clinic day, end to end, with outside tools only (issue 24, point 8).

A bulk export of real (synthetic) patients, Synthea's NDJSON and a Synthea Spanish speaker, with a patient
who has died and a minor among them -> ``consent batch`` (the installed command) -> POST to a real FHIR
server (Medplum's router, tests/fhir/) -> two of the PDFs filled in with pypdf and signed with pyHanko, one
by the patient, the minor's by a parent -> ``consent record`` -> POST -> read back from the server what the
EHR holds for each patient. Every FHIR file written is also checked with the R4 models and the R4 JSON schema.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fhir_tools import assert_valid_r4
from helpers import EHR_SAMPLES, EXAMPLES
from signing import INITIALS, fill, make_pki, sign

import consent

pytestmark = pytest.mark.slow

BULK = EHR_SAMPLES / "synthea_r4_bulk_Patient.00.ndjson"
GUSTAVO = EHR_SAMPLES / "synthea_r4_bundle_Gustavo_Mejia_es.json"
DECEASED, MINOR, ADULT = 0, 2, 3  # lines of BULK: died in 1989; born 2011-03-23 (15 on the day); born 1963
DAY = "2026-11-21"
FORM_ID = "urn:consent:form-id"


def _consent(*argv: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("consent"))
    return subprocess.run([exe, *argv], capture_output=True, text=True, timeout=900)


def _export(folder: Path) -> tuple[Path, dict[str, str]]:
    """An NDJSON export of four Patients, each line as the EHR wrote it; and each patient's id by role."""
    lines = BULK.read_text(encoding="utf-8").splitlines()
    gustavo = next(e["resource"] for e in json.loads(GUSTAVO.read_text(encoding="utf-8"))["entry"]
                   if e["resource"]["resourceType"] == "Patient")
    chosen = [lines[DECEASED], lines[MINOR], lines[ADULT], json.dumps(gustavo, ensure_ascii=False)]
    path = folder / "Patient.ndjson"
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    ids = [json.loads(line)["id"] for line in chosen]
    return path, dict(zip(("deceased", "minor", "adult", "spanish"), ids, strict=True))


def _fields(pdf: bytes) -> dict[str, consent.Field]:
    return {f.name: f for f in consent.read_signed(pdf).fields}


def _fill_required(pdf: bytes, values: dict[str, str]) -> bytes:
    """What the signer types: the given values, the initials, and "No" to every screening question."""
    out = dict(values)
    for name, field in _fields(pdf).items():
        if name.startswith("initials."):
            out[name] = INITIALS
        elif name.startswith("screening."):
            out[name] = "/No"
    out["screening.pregnant"] = "/No"
    return fill(pdf, out)


def _by_patient(pdf: bytes, pki) -> bytes:
    pdf = _fill_required(pdf, {"patient.date": DAY, "patient.time": "10:30", "provider.date": DAY})
    pdf = sign(pdf, "patient.signature", pki.patient_p12)
    return sign(pdf, "provider.signature", pki.clinic_p12)


def _by_parent(pdf: bytes, pki) -> bytes:
    pdf = _fill_required(pdf, {"representative.name": "Dana Parent", "representative.relationship": "Mother",
                               "representative.date": DAY, "representative.time": "10:30",
                               "provider.date": DAY})
    pdf = sign(pdf, "representative.signature", pki.patient_p12)
    return sign(pdf, "provider.signature", pki.clinic_p12)


def _transaction(fhir_server, path: Path) -> list[dict]:
    status, body = fhir_server.post(json.loads(path.read_text(encoding="utf-8")))
    assert status == 200, json.dumps(body, indent=1)[:3000]
    assert body["type"] == "transaction-response"
    return [e["response"] for e in body["entry"]]


def test_a_clinic_day_keeps_every_patients_record_right(tmp_path, fhir_server):
    export, ids = _export(tmp_path)
    out = tmp_path / "out"
    made = _consent("batch", "knee-injection", "--from", str(export), "--clinic", str(EXAMPLES / "clinic.yaml"),
                    "--out", str(out), "--fillable", "--format", "pdf", "--date", DAY, "--jobs", "2")
    # One record refused (the patient who died): said on screen, by record and reason, never by name.
    assert made.returncode == 1, made.stderr
    assert made.stdout.startswith("4 record(s): 3 form(s) written, 0 already complete, 1 failed"), made.stdout
    assert "deceased" in made.stderr
    for secret in ("Gustavo", "Mejía"):
        assert secret not in made.stdout + made.stderr
    errors = (out / "errors.csv").read_text(encoding="utf-8")
    assert "deceasedDateTime" in errors and errors.count("\n") == 2  # header + the one refused record
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    written = {m["record"]: m for m in manifest}  # the manifest lists the forms written
    assert sorted(written) == [2, 3, 4]

    bundle = out / "fhir-bundle.json"
    assert_valid_r4(bundle, *sorted((out / "forms").glob("*.fhir.json")))
    created = _transaction(fhir_server, bundle)
    assert len(created) == 6 and all(r["status"].startswith("201") for r in created)  # a DocumentReference
    # and a proposed Consent for each of the three forms
    proposed = read_back(fhir_server, ids)
    assert {role: [c["status"] for c in what["Consent"]] for role, what in proposed.items()} == {
        "minor": ["proposed"], "adult": ["proposed"], "spanish": ["proposed"]}

    pdfs = {m["record"]: out / next(f for f in m["files"] if f.endswith(".pdf")) for m in written.values()}
    by_role = _roles(pdfs)
    pki = make_pki(tmp_path / "pki")
    signed = {
        "spanish": _by_patient(by_role["spanish"].read_bytes(), pki),
        "minor": _by_parent(by_role["minor"].read_bytes(), pki),
    }
    records = {}
    for role, data in signed.items():
        path = tmp_path / f"{role}-signed.pdf"
        path.write_bytes(data)
        done = _consent("record", str(path), "--out", str(tmp_path / "record"), "--patient",
                        f"Patient/{ids[role]}", "--timezone", "America/Boise")
        assert done.returncode == 0, done.stderr
        records[role] = tmp_path / "record" / f"{role}-signed.record.fhir.json"
        assert_valid_r4(records[role])
        assert all(r["status"].startswith(("200", "201")) for r in _transaction(fhir_server, records[role]))

    held = read_back(fhir_server, ids)
    assert set(held) == {"minor", "adult", "spanish"} and "deceased" not in held
    for role, what in held.items():
        (c,) = what["Consent"]  # one per form: never another patient's, never a second one
        assert c["status"] == ("active" if role in signed else "proposed")
        assert c["patient"]["reference"] == f"Patient/{ids[role]}"
        docs = what["DocumentReference"]
        assert len(docs) == (2 if role in signed else 1)
        if role in signed:
            unsigned = next(d for d in docs if "relatesTo" not in d)
            signed_doc = next(d for d in docs if "relatesTo" in d)
            assert signed_doc["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{unsigned['id']}"
            (obs,) = what["Observation"]
            assert {a["code"]["coding"][0]["code"] for a in obs["component"]} >= {"pregnant"}
            assert all(a["valueBoolean"] is False for a in obs["component"])
            (prov,) = what["Provenance"]
            author = prov["agent"][0]
            expected = "RelatedPerson" if role == "minor" else "Patient"
            assert author["who"].get("type") == expected
        else:
            assert what["Observation"] == [] and what["Provenance"] == []
    print(json.dumps(summary(held), indent=1, ensure_ascii=False))


def _roles(pdfs: dict[int, Path]) -> dict[str, Path]:
    """Which PDF is whose, from what each form prints (the patient's name is on its pages)."""
    out = {}
    for path in pdfs.values():
        form = consent.read_signed(path.read_bytes())
        minor = bool(form.manifest.get("minor"))
        spanish = form.manifest.get("language") == "es"
        out["minor" if minor else "spanish" if spanish else "adult"] = path
    assert set(out) == {"minor", "adult", "spanish"}
    return out


def read_back(fhir_server, ids: dict[str, str]) -> dict[str, dict[str, list[dict]]]:
    """What the server holds for each patient: Consents and Observations by patient, DocumentReferences by
    subject, Provenances by their Consent."""
    held = {}
    for role, pid in ids.items():
        consents = fhir_server.search("Consent", patient=f"Patient/{pid}")
        if not consents:
            continue
        docs = fhir_server.search("DocumentReference", subject=f"Patient/{pid}")
        observations = fhir_server.search("Observation", subject=f"Patient/{pid}")
        provenances = [p for p in fhir_server.search("Provenance")
                       if any(t["reference"] == f"Consent/{c['id']}" for c in consents for t in p["target"])]
        held[role] = {"Consent": consents, "DocumentReference": docs, "Observation": observations,
                      "Provenance": provenances}
    return held


def summary(held: dict[str, dict[str, list[dict]]]) -> dict[str, list[str]]:
    """The read-back, one line per resource, for a person to read (the issue's closing note pastes it)."""
    out: dict[str, list[str]] = {}
    for role, what in held.items():
        lines = []
        for c in what["Consent"]:
            ident = next(i["value"] for i in c["identifier"] if i["system"] == FORM_ID)
            lines.append(f"Consent/{c['id']} {c['status']} {ident} patient={c['patient']['reference']} "
                         f"performer={[p.get('type') for p in c.get('performer', [])]}")
        for d in what["DocumentReference"]:
            rel = d.get("relatesTo", [{}])[0].get("target", {}).get("reference", "-")
            lines.append(f"DocumentReference/{d['id']} {d['description']!r} date={d.get('date')} replaces={rel}")
        for o in what["Observation"]:
            answers = {a["code"]["coding"][0]["code"]: a["valueBoolean"] for a in o["component"]}
            lines.append(f"Observation/{o['id']} screening {answers}")
        for p in what["Provenance"]:
            agents = [(a["type"]["coding"][0]["code"], a["who"].get("type")) for a in p["agent"]]
            lines.append(f"Provenance/{p['id']} agents={agents}")
        out[role] = lines
    return out
