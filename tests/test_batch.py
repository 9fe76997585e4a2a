"""Batch: EHR exports in, forms + manifest + errors + FHIR out; safe to kill and re-run."""

from __future__ import annotations

import base64
import concurrent.futures as cf
import copy
import csv
import datetime as dt
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pytest
from fhir_tools import assert_valid_r4
from helpers import (
    CLINIC,
    DATE,
    EHR_SAMPLES,
    EXAMPLES,
    all_output_text,
    build_tree,
    pdf_pages,
    run_cli,
    words,
)

import consent
from consent.batch.run import run_batch
from consent.ehr import read_records

SAMPLES = EHR_SAMPLES
GUSTAVO = SAMPLES / "synthea_r4_bundle_Gustavo_Mejia_es.json"
PETER = SAMPLES / "hl7_r4_patient-example.json"
CLEMENTE = SAMPLES / "synthea_r4_bundle_Clemente_Kreiger.json"


def secret_identifiers() -> list[str]:
    """The SSN, driver's licence and passport numbers in the Gustavo sample: never to be printed."""
    bundle = json.loads(GUSTAVO.read_text())
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    out = [i["value"] for i in patient["identifier"]
           if any(c.get("code") in {"SS", "DL", "PPN"} for c in i.get("type", {}).get("coding", []))]
    assert len(out) == 3
    return out


def test_batch_from_real_exports(tmp_path, capsys):
    """Synthea and HL7 samples: one form per patient, Spanish for the Spanish speaker, Chinese (Simplified)
    for the Chinese speaker (zh), official name and MR number for the HL7 example, no SSN anywhere, and a
    manifest line per form."""
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "knee-injection", "--from", str(GUSTAVO), "--from", str(PETER),
                                "--from", str(CLEMENTE), "--clinic", str(CLINIC), "--out", str(out),
                                "--date", "2026-11-21", "--jobs", "2")
    assert code == 0, err
    assert stdout == "3 record(s): 3 form(s) written, 0 already complete, 0 failed, in " + \
        stdout.split(" in ")[1]
    assert "3/3 forms" in err  # plain progress lines when not on a terminal
    lines = sorted((json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()),
                   key=lambda e: e["record"])  # in the order the forms finished
    assert [e["record"] for e in lines] == [1, 2, 3]
    assert [e["language"] for e in lines] == ["es", "en", "zh-Hans"]
    assert not any("is not available" in n for e in lines for n in e.get("notes", []))
    for entry in lines:
        assert set(entry) >= {"record", "form_id", "files", "clauses", "template_version", "language", "treatment"}
        for rel, info in entry["files"].items():
            assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == info["sha256"]
            assert Path(rel).name.startswith(f"rec-{entry['record']:06d}_{entry['form_id']}.")
    peter_pdf = next(out.glob("forms/rec-000002_*.pdf")).read_bytes()
    first = " ".join(words(pdf_pages(peter_pdf)[0]))
    assert "Peter James Chalmers" in first and "12345" in first
    gustavo_pdf = next(out.glob("forms/rec-000001_*.pdf")).read_bytes()
    assert "Consentimiento informado" in " ".join(words(pdf_pages(gustavo_pdf)[0]))
    text = all_output_text(out)
    for secret in secret_identifiers():
        assert secret not in text
    assert (out / "errors.csv").read_text() == "record,source,field,message\n"


def test_broken_patient_is_one_error_row_and_the_rest_succeed(tmp_path, capsys):
    """A bundle with one Patient missing its birth date: one row in errors.csv (no name), exit 1."""
    bundle = json.loads(GUSTAVO.read_text())
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    broken = copy.deepcopy(patient)
    broken["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    broken["resource"]["id"] = "broken-1"
    del broken["resource"]["birthDate"]
    bundle["entry"].append(broken)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(bundle))
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(path), "--from", str(PETER), "--clinic",
                                str(CLINIC), "--out", str(out), "--format", "pdf", "--jobs", "1")
    assert code == 1
    assert stdout.startswith("3 record(s): 2 form(s) written, 0 already complete, 1 failed")
    assert f"Failed records are listed in {out / 'errors.csv'}" in err
    rows = list(csv.reader(io.StringIO((out / "errors.csv").read_text())))
    assert rows == [["record", "source", "field", "message"],
                    ["2", "export.json", "patient.birth_date", "birth date is missing"]]
    assert "Mejía" not in (out / "errors.csv").read_text()
    assert len(list(out.glob("forms/*.pdf"))) == 2


def test_rerun_skips_complete_forms_and_repairs_damaged_ones(tmp_path):
    """The same batch again renders nothing; a damaged file is detected by its hash and made again."""
    records = list(read_records([PETER, CLEMENTE]))
    clinic = consent.load_clinic(CLINIC)
    out = tmp_path / "out"
    first = run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, jobs=1)
    assert (first.written, first.skipped, first.failed) == (2, 0, 0)
    manifest = (out / "manifest.jsonl").read_bytes()
    again = run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, jobs=1)
    assert (again.written, again.skipped) == (0, 2)
    assert (out / "manifest.jsonl").read_bytes() == manifest
    damaged = next(out.glob("forms/rec-000002_*.docx"))
    damaged.write_bytes(b"half a file")
    third = run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, jobs=1)
    assert (third.written, third.skipped) == (1, 1)
    entry = json.loads((out / "manifest.jsonl").read_text().splitlines()[1])
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == entry["files"][f"forms/{damaged.name}"]["sha256"]


def test_rerun_of_a_finished_batch_starts_no_worker_and_renders_nothing(tmp_path, monkeypatch):
    """A re-run is decided from the manifest alone (issue 11): no worker process is started and no form
    is assembled or rendered; a damaged file is still found by its hash and made again, by a worker."""
    import consent.batch.run as batch
    import consent.batch.worker as worker  # where a form is assembled (the coordinator never imports it)

    records = list(read_records([PETER, CLEMENTE, GUSTAVO]))
    clinic = consent.load_clinic(CLINIC)
    out = tmp_path / "out"
    first = run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, jobs=1)
    assert (first.written, first.skipped) == (3, 0)
    pools: list[object] = []
    real_pool = batch.Pool
    monkeypatch.setattr(batch, "Pool", lambda *a, **k: pools.append(real_pool(*a, **k)) or pools[-1])

    def no_assembling(*args, **kwargs):
        raise AssertionError("the coordinator assembled a form")

    monkeypatch.setattr(worker, "assemble", no_assembling)
    again = run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, jobs=1)
    assert (again.written, again.skipped, again.failed) == (0, 3, 0)
    assert pools == []  # no process pool, so no worker
    submitted: list[int] = []

    class Counting(cf.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            submitted.append(args[0].number)
            return super().submit(fn, *args, **kwargs)

    with Counting(1) as pool:
        assert run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, executor=pool).skipped == 3
    assert submitted == []
    monkeypatch.undo()  # workers assemble
    damaged = next(out.glob("forms/rec-000002_*.pdf"))
    damaged.write_bytes(b"%PDF-1.7 truncated")
    with Counting(1) as pool:
        third = run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, executor=pool)
    assert (third.written, third.skipped) == (1, 2) and submitted == [2]
    entry = read_manifest_line(out, 2)
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == entry["files"][f"forms/{damaged.name}"]["sha256"]


def read_manifest_line(out: Path, record: int) -> dict:  # type: ignore[type-arg]
    from consent.batch.run import read_manifest

    return read_manifest(out / "manifest.jsonl")[record]


def test_killed_batch_leaves_no_half_form_and_resumes(tmp_path):
    """Kill a running batch: every form file on disk is whole (listed with its hash) or absent, and
    running the same command again finishes the rest without redoing the finished ones."""
    rows = ["name,dob,mrn"] + [f"Patient {i:03d},1970-01-{1 + i % 28:02d},MRN{i:04d}" for i in range(40)]
    export = tmp_path / "export.csv"
    export.write_text("\n".join(rows) + "\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\n  mrn: mrn\n")
    out = tmp_path / "out"
    exe = str(Path(sys.executable).with_name("consent"))
    argv = [exe, "batch", "iv-infusion", "--from", str(export), "--mapping", str(mapping), "--clinic", str(CLINIC),
            "--out", str(out), "--jobs", "2", "--date", "2026-11-21"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        manifest = out / "manifest.jsonl"
        if manifest.exists() and len(manifest.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    from consent.batch.run import read_manifest

    finished = read_manifest(out / "manifest.jsonl")
    assert finished, "the batch was killed before it finished any form"
    listed = {rel for e in finished.values() for rel in e["files"]}
    for path in (out / "forms").iterdir():
        if path.name.startswith("."):
            continue  # a temporary file being written when the process died: never a form name
        rel = f"forms/{path.name}"
        if rel in listed:
            entry = next(e for e in finished.values() if rel in e["files"])
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["files"][rel]["sha256"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"{len(finished)} already complete" in result.stdout
    assert result.stdout.startswith("40 record(s): ")
    assert len(read_manifest(out / "manifest.jsonl")) == 40
    assert not [p for p in (out / "forms").iterdir() if p.name.startswith(".")]


def test_screening_answers_from_a_csv_export_are_ticked_on_each_form(tmp_path):
    """Screening columns of a CSV export tick each patient's own boxes; an answer to a question the
    form does not ask is that record's error row, and the others go on."""
    export = tmp_path / "export.csv"
    export.write_text("name,dob,pregnant,knee\nAna Uno,1970-01-01,yes,no\nBo Dos,1971-02-02,no,\n"
                      "Cy Tres,1972-03-03,no,no\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\nscreening:\n  pregnant: pregnant\n"
                       "  knee-surgery: knee\n")
    out = tmp_path / "out"
    result = run_batch("knee-injection", read_records([export], mapping=mapping), clinic=consent.load_clinic(CLINIC),
                       out_dir=out, date=DATE, formats=["docx"], jobs=1)
    assert (result.written, result.failed) == (3, 0)
    from helpers import docx_body_lines

    def row(record: int, question: str) -> list[str]:
        lines = docx_body_lines(next(out.glob(f"forms/rec-{record:06d}_*.docx")).read_bytes())
        at = next(i for i, line in enumerate(lines) if line.startswith(question))
        return lines[at + 1:at + 3]  # the yes and no boxes

    assert row(1, "Are you pregnant") == ["☒", "☐"] and row(1, "Have you had surgery") == ["☐", "☒"]
    assert row(2, "Are you pregnant") == ["☐", "☒"] and row(2, "Have you had surgery") == ["☐", "☐"]
    hair = run_batch("hair", read_records([export], mapping=mapping), clinic=consent.load_clinic(CLINIC),
                     out_dir=tmp_path / "hair", date=DATE, formats=["docx"], jobs=1)
    assert (hair.written, hair.failed) == (1, 2)  # record 2 left the knee question blank
    rows = list(csv.reader(io.StringIO((tmp_path / "hair" / "errors.csv").read_text())))
    assert [row[:3] for row in rows[1:]] == [["1", "export.csv", ""], ["3", "export.csv", ""]]
    assert rows[1][3].startswith("screening answer 'knee-surgery' matches no question on this form")


def test_file_names_never_come_from_patient_data(tmp_path):
    """A patient 'named' like a path gives an ordinary file name inside the output folder."""
    export = tmp_path / "export.csv"
    export.write_text("\ufeffname;dob\n../../etc/passwd;1970-01-01\nCON: <x>*?|;1971-02-02\n\n\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\n")
    out = tmp_path / "out"
    result = run_batch("hair", read_records([export], mapping=mapping), clinic=consent.load_clinic(CLINIC),
                       out_dir=out, date=DATE, formats=["docx"], jobs=1)
    assert (result.written, result.failed) == (2, 0)
    names = sorted(p.name for p in (out / "forms").iterdir())
    assert all(n.startswith(("rec-000001_CF-", "rec-000002_CF-")) for n in names), names
    assert {p.parent for p in out.rglob("*.docx")} == {out / "forms"}


def test_fhir_bundles_validate_as_r4(tmp_path):
    """Per-form and batch Bundles validate as FHIR R4 (the R4 models and the R4 JSON schema, relative urls
    refused: tests/fhir_tools.py) and hold what an EHR needs: each DocumentReference holds its PDF (base64 data, no url: R4 has no
    relative urls), hashes and sizes match the PDFs, identifier urn:consent:form-id|<form id> (what
    `consent record` finds it by) and POSTed once on it; ``date`` the moment made_at pins, with its offset.
    A re-run with another made_at remakes nothing (when is not what)."""
    out = tmp_path / "out"
    made = dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    run_batch("knee-injection", read_records([GUSTAVO, PETER]), clinic=consent.load_clinic(CLINIC), out_dir=out,
              date=DATE, formats=["pdf"], jobs=1, made_at=made)
    batch = json.loads((out / "fhir-bundle.json").read_text())
    assert batch["type"] == "transaction" and len(batch["entry"]) == 4
    docrefs = [e for e in batch["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    consents = [e for e in batch["entry"] if e["resource"]["resourceType"] == "Consent"]
    urls = {e["fullUrl"] for e in batch["entry"]}
    for c in consents:
        assert c["resource"]["sourceReference"]["reference"] in urls
        assert c["resource"]["scope"]["coding"][0]["code"] == "treatment"
    manifest = {e["form_id"]: e for e in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    for entry in docrefs:
        ref = entry["resource"]
        form_id = ref["identifier"][0]["value"]
        assert ref["identifier"] == [{"system": "urn:consent:form-id", "value": form_id}] and form_id in manifest
        assert entry["request"] == {"method": "POST", "url": "DocumentReference",
                                    "ifNoneExist": f"identifier=urn:consent:form-id|{form_id}"}
        assert (ref["status"], ref["docStatus"], ref["date"]) == ("current", "final", "2026-11-21T09:30:05-07:00")
        assert ref["type"]["coding"][0] == {"system": "http://loinc.org", "code": "59284-0",
                                            "display": ref["type"]["coding"][0]["display"]}
        att = ref["content"][0]["attachment"]
        pdf_file = next(rel for rel in manifest[form_id]["files"] if rel.endswith(".pdf"))
        pdf = (out / pdf_file).read_bytes()
        assert "url" not in att and base64.b64decode(att["data"], validate=True) == pdf
        assert att["contentType"] == "application/pdf" and att["size"] == len(pdf)
        assert att["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324 - FHIR's choice
    per_form = {path.name: path.read_bytes() for path in out.glob("forms/*.fhir.json")}
    assert_valid_r4(out / "fhir-bundle.json", *sorted(out.glob("forms/*.fhir.json")), strict_url=True)
    again = run_batch("knee-injection", read_records([GUSTAVO, PETER]), clinic=consent.load_clinic(CLINIC),
                      out_dir=out, date=DATE, formats=["pdf"], jobs=1,
                      made_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert (again.written, again.skipped) == (0, 2)
    assert {path.name: path.read_bytes() for path in out.glob("forms/*.fhir.json")} == per_form


def test_archival_pdf_a_is_deterministic_and_carries_the_form_data(tmp_path):
    """--pdf-variant pdf/a-3u: PDF/A-3 with the form's data and manifest attached; same bytes twice."""
    records = list(read_records([PETER]))
    clinic = consent.load_clinic(CLINIC)
    a = run_batch("hair", records, clinic=clinic, out_dir=tmp_path / "a", date=DATE, formats=["pdf"],
                  pdf_variant="pdf/a-3u", jobs=1)
    b = run_batch("hair", records, clinic=clinic, out_dir=tmp_path / "b", date=DATE, formats=["pdf"],
                  pdf_variant="pdf/a-3u", jobs=1)
    assert a.written == b.written == 1
    pdf_a = next((tmp_path / "a" / "forms").glob("*.pdf")).read_bytes()
    assert pdf_a == next((tmp_path / "b" / "forms").glob("*.pdf")).read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(pdf_a))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="U"' in xmp
    data = json.loads(reader.attachments["consent-form.json"][0])
    assert data["form"]["patient"]["full_name"] == "Peter James Chalmers"
    assert data["manifest"]["form_id"] == data["form"]["form_id"]


def test_any_executor_works_threads(tmp_path):
    """The engine takes any concurrent.futures Executor."""
    with cf.ThreadPoolExecutor(2) as pool:
        result = run_batch("hair", read_records([PETER, CLEMENTE]), clinic=consent.load_clinic(CLINIC),
                           out_dir=tmp_path, date=DATE, formats=["docx"], executor=pool)
    assert (result.written, result.failed) == (2, 0)


def test_a_thread_pool_never_runs_weasyprint_in_two_threads_at_once(tmp_path, monkeypatch):
    """WeasyPrint is not thread-safe (two threads laying out at once crashed the process with SIGABRT in
    Pango's line breaking): on a thread pool, its layouts and writes take turns, and every PDF is made."""
    import threading

    import weasyprint

    inside, most = [0], [0]
    count = threading.Lock()

    def alone(method):
        def wrapped(*args, **kwargs):
            with count:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            try:
                time.sleep(0.05)  # long enough for another thread to come in, were it let in
                return method(*args, **kwargs)
            finally:
                with count:
                    inside[0] -= 1
        return wrapped

    monkeypatch.setattr(weasyprint.HTML, "render", alone(weasyprint.HTML.render))
    monkeypatch.setattr(weasyprint.document.Document, "write_pdf", alone(weasyprint.document.Document.write_pdf))
    with cf.ThreadPoolExecutor(3) as pool:
        result = run_batch("hair", read_records([PETER, CLEMENTE, GUSTAVO]), clinic=consent.load_clinic(CLINIC),
                           out_dir=tmp_path, date=DATE, formats=["pdf"], executor=pool)
    assert (result.written, result.failed) == (3, 0)
    assert most[0] == 1
    firsts = sorted(pypdf.PdfReader(pdf).pages[0].extract_text() for pdf in (tmp_path / "forms").glob("*.pdf"))
    for name in ("Peter", "Clemente", "Gustavo"):  # each patient on a form of their own
        assert [name in text for text in firsts].count(True) == 1, name


def test_small_batch_on_a_dask_local_cluster(tmp_path):
    """dask.distributed: a LocalCluster's executor runs the same batch."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        result = run_batch("hair", read_records([PETER, CLEMENTE, GUSTAVO]), clinic=consent.load_clinic(CLINIC),
                           out_dir=tmp_path, date=DATE, formats=["pdf"], executor=client.get_executor())
    assert (result.written, result.failed) == (3, 0)
    assert len((tmp_path / "manifest.jsonl").read_text().splitlines()) == 3


def test_unknown_treatment_fails_before_any_work(tmp_path, capsys):
    code, _, err = run_cli(capsys, "batch", "elbow", "--from", str(PETER), "--clinic", str(CLINIC), "--out",
                           str(tmp_path / "out"))
    assert code == 1
    assert err.startswith("Error: unknown treatment 'elbow'")
    assert not (tmp_path / "out").exists()


def test_shared_work_being_made_elsewhere_puts_the_form_back_then_waits(tmp_path, monkeypatch):
    """While another worker holds a piece of shared work's lock, a form is put back (Busy) the first
    time, and waits for that work the second time: no form's layout is made twice, none goes round
    for ever."""
    import fcntl
    import threading

    from consent.speedups.tokens import Busy, SharedWork

    made: list[str] = []
    work = SharedWork("test", lambda x: made.append(x) or x.upper(), 4, str.encode, bytes.decode)
    monkeypatch.setattr(SharedWork, "folder", tmp_path)
    with open(tmp_path / "test-k1.lock", "a") as other:  # another worker, making "k1"
        fcntl.flock(other, fcntl.LOCK_EX)
        monkeypatch.setattr(SharedWork, "defer", True)
        with pytest.raises(Busy):
            work.get("k1", "a")
        assert work.get("k2", "b") == "B"  # other work is not held up
        monkeypatch.setattr(SharedWork, "defer", False)
        got: list[str] = []
        waiting = threading.Thread(target=lambda: got.append(work.get("k1", "a")))
        waiting.start()
        time.sleep(0.3)
        assert waiting.is_alive() and not got  # waits, rather than make it a second time
        (tmp_path / "test-k1").write_text("MADE BY THE OTHER")
        fcntl.flock(other, fcntl.LOCK_UN)
        waiting.join(5)
    assert got == ["MADE BY THE OTHER"] and made == ["b"]


def test_the_compliance_check_is_made_once_per_group_for_all_workers(tmp_path, monkeypatch):
    """The check of a group of forms (same clause text) is made by the first worker that needs it and
    read by the others from the batch's folder, as the same report."""
    from collections import OrderedDict

    import consent.check
    from consent.assemble.assembly import assemble
    from consent.batch.worker import _REPORTS, _checked, _decode_report, _encode_report
    from consent.speedups.tokens import SharedWork

    made = []
    real = consent.check.check_form
    monkeypatch.setattr(consent.check, "check_form", lambda *a: made.append(a[0].manifest.treatment_id) or real(*a))
    monkeypatch.setattr(SharedWork, "folder", tmp_path)
    clinic = consent.load_clinic(CLINIC)

    def worker_checks(treatment, name, packs=()):
        monkeypatch.setattr(_REPORTS, "done", OrderedDict())  # a new worker: nothing in its memory
        form, trace = assemble(treatment, patient=consent.Patient(full_name=name, birth_date=DATE), clinic=clinic,
                               date=DATE, packs=packs)
        return _checked(form, trace, tuple(packs))

    first = worker_checks("hair", "Ada Okafor")
    assert first == worker_checks("hair", "Bob Lee")  # read back: the whole report
    assert first.figures and first.rule_count
    finding = consent.check.Finding("r", "warning", "m", "c", "f.yaml", 2, "t", "hair", "es", "why", "study")
    whole = consent.check.Report((finding,), first.figures, 23)
    assert _decode_report(_encode_report(whole)) == whole  # findings too, every field
    worker_checks("knee-injection", "Ada Okafor")
    assert made == ["hair", "knee-injection"]
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["check"] * 2
    # A clinic's clause that prints the patient's name: a finding could quote it, so that report is
    # made in the worker and never written to the batch's folder.
    pack = build_tree(tmp_path.parent / "named-pack", {"clauses/benefits.yaml": """
        id: benefits
        version: "1.1-named"
        title: Possible benefits
        elements: [benefits]
        body:
          - p: We hope this treatment helps your hair, Zelda Quixote-Named. It may not.
          - p: "{{ patient.full_name }}, we cannot promise that it will help."
    """})
    before = sorted(tmp_path.iterdir())
    named = worker_checks("hair", "Zelda Quixote-Named", [pack])
    assert named.rule_count and sorted(tmp_path.iterdir()) == before
    assert made == ["hair", "knee-injection", "hair"]


def test_a_form_put_back_is_handed_out_again_once_and_counted_once():
    from consent.batch.pool import bounded as _bounded
    from consent.batch.worker import Outcome, Task
    from consent.inputs import Patient

    calls: list[tuple[int, bool]] = []

    def fn(task: Task) -> Outcome:
        calls.append((task.number, task.put_back))
        if task.number % 2 and not task.put_back:
            return Outcome(task.number, "", put_back=True)
        return Outcome(task.number, "", entry={"record": task.number})

    tasks = [Task(n, "", Patient(full_name=f"P {n}", birth_date=DATE), "knee-injection", None) for n in range(1, 8)]
    with cf.ThreadPoolExecutor(2) as executor:
        outcomes = list(_bounded(executor, fn, tasks, window=3))
    assert sorted(o.number for o in outcomes) == list(range(1, 8))
    assert not any(o.put_back for o in outcomes)
    assert sorted(calls) == sorted([*((n, False) for n in range(1, 8)), *((n, True) for n in (1, 3, 5, 7))])


def test_workers_collect_cycles_less_often_and_the_fork_server_freezes_what_it_loaded(tmp_path):
    """consent/batch/worker.py raises a worker's cycle-collector threshold (never a process that runs
    the batch's forms itself, such as a program's own); consent/batch/preload.py freezes what it loaded."""
    import gc
    import multiprocessing

    from consent.batch.worker import BatchJob, warm_worker

    job = BatchJob(treatment="knee-injection", clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), date=DATE,
                   formats=("docx",), out_dir=str(tmp_path))
    before = gc.get_threshold()
    warm_worker(job)
    assert gc.get_threshold() == before
    with multiprocessing.get_context("spawn").Pool(1, initializer=warm_worker, initargs=(job,)) as pool:
        assert pool.apply(gc.get_threshold) == (10_000, 10, 10)
    frozen = subprocess.run([sys.executable, "-c", "import gc, consent.batch.preload; print(gc.get_freeze_count())"],
                            capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert int(frozen) > 50_000  # the imports and data it loaded


def _csv_export(folder: Path, names: list[str]) -> tuple[Path, Path]:
    """A CSV export named export.csv in ``folder`` (every export of this kind has that name) and its mapping."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "export.csv"
    path.write_text("name,dob,mrn\n" + "".join(f"{n},1970-01-0{i + 1},M{i}\n" for i, n in enumerate(names)))
    mapping = folder / "mapping.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\n  mrn: mrn\n")
    return path, mapping


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_batch_folder_belongs_to_one_export(tmp_path, capsys):
    """A second export (another export.csv, other patients) into a batch folder is refused, naming the
    folder and --replace, and changes nothing there (not a byte, no file added or removed). With
    --replace its forms are made and the first export's files are moved, whole, into
    OUT/replaced-<export>/, where they are still a consistent batch folder: no form is deleted. The same
    export again into the folder is still a resume (every form skipped), and each manifest line names
    the folder's export. A library call with other records is refused the same way."""
    first, first_mapping = _csv_export(tmp_path / "monday", ["Ann Aa", "Bob Bb", "Cy Cc"])
    second, second_mapping = _csv_export(tmp_path / "tuesday", ["Dee Dd", "Eve Ee"])
    out = tmp_path / "out"
    common = ["--clinic", str(CLINIC), "--out", str(out), "--date", "2026-11-21", "--format", "docx", "--jobs", "1"]
    code, _, err = run_cli(capsys, "batch", "hair", "--from", str(first), "--mapping", str(first_mapping), *common)
    assert code == 0, err
    before = _snapshot(out)
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(second), "--mapping", str(second_mapping),
                                *common)
    assert _snapshot(out) == before and (code, stdout) == (1, "")
    assert err.startswith(f"Error: {out} holds the forms of another export (its manifest.jsonl names export "), err
    assert "give another --out, or --replace" in err and "Traceback" not in err
    assert _snapshot(out) == before and sorted(p.name for p in out.iterdir()) == [
        "errors.csv", "forms", "manifest.jsonl"]
    with pytest.raises(consent.InputError, match="holds the forms of another export"):
        run_batch("hair", list(read_records([PETER])), clinic=consent.load_clinic(CLINIC), out_dir=out, date=DATE,
                  formats=["docx"], jobs=1)
    assert _snapshot(out) == before
    code, _, err = run_cli(capsys, "batch", "hair", "--from", str(first), "--mapping", str(first_mapping), *common)
    assert code == 0 and _snapshot(out) == before  # the same export: a resume, nothing made again
    exports = {json.loads(line)["export"] for line in (out / "manifest.jsonl").read_text().splitlines()}
    assert len(exports) == 1
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(second), "--mapping", str(second_mapping),
                                *common, "--replace")
    assert code == 0, err
    aside = out / f"replaced-{next(iter(exports))[:12]}"
    assert stdout.splitlines()[1] == f"The other export's files that were in {out} are now in {aside}"
    assert _snapshot(aside) == before  # every file of the first export, byte for byte
    assert sorted(p.name for p in out.iterdir()) == ["errors.csv", "forms", "manifest.jsonl", aside.name]
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(e["record"] for e in lines) == [1, 2] and {e["export"] for e in lines} != exports
    for entry in lines:
        for rel, info in entry["files"].items():
            assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == info["sha256"]
    assert {f"forms/{p.name}" for p in (out / "forms").iterdir()} == {r for e in lines for r in e["files"]}


# --------------------------------------------------------------------------- issue 24: real exports, R4 out

BULK = SAMPLES / "synthea_r4_bulk_Patient.00.ndjson"  # Synthea bulk export: 13 Patients, 1, 2 and 5 deceased
DOG = SAMPLES / "dstu2" / "hl7_dstu2_patient-example-animal.json"  # HL7's DSTU2 example of a dog
DECEASED = "patient.deceased: the patient is recorded as deceased (deceasedDateTime): no consent form is made for them"
ANIMAL = "patient.animal: the record is an animal (Patient.animal): consent forms are for people"


def _block(err: str, title: str) -> list[str]:
    """The lines of the report that starts with ``title`` in a batch's stderr (the title line included)."""
    lines = err.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[start:end]


def test_cli_refuses_deceased_patients_and_animals_and_says_so_on_screen(tmp_path, capsys):
    """A clinic's batch of a Synthea bulk export (3 of 13 patients deceased), HL7's dog and a reader of
    Traditional Chinese (Clemente's record with zh-TW: no stock form, and never the Simplified one):
    the deceased and the dog get no form and no file (a row of errors.csv each, field and reason), the rest
    are made, exit 1; the screen lists each refused record and each form that fell back to English, by
    record number and file, with no name, date of death or identifier."""
    out = tmp_path / "out"
    traditional = tmp_path / "zh-TW" / CLEMENTE.name
    traditional.parent.mkdir()
    traditional.write_text(CLEMENTE.read_text(encoding="utf-8").replace('"code": "zh"', '"code": "zh-TW"', 1),
                           encoding="utf-8")
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(BULK), "--from", str(DOG), "--from",
                                str(traditional), "--clinic", str(CLINIC), "--out", str(out), "--date", "2026-11-21",
                                "--format", "docx", "--jobs", "2")
    assert code == 1, err
    assert stdout.startswith("15 record(s): 11 form(s) written, 0 already complete, 4 failed, in ")
    rows = list(csv.reader(io.StringIO((out / "errors.csv").read_text())))
    assert rows == [["record", "source", "field", "message"],
                    *([str(n), BULK.name, *DECEASED.split(": ", 1)] for n in (1, 2, 5)),
                    ["14", DOG.name, *ANIMAL.split(": ", 1)]]
    assert _block(err, "No form for") == [
        "No form for 4 record(s):",
        *(f"  record {n} ({BULK.name}): {DECEASED}" for n in (1, 2, 5)),
        f"  record 14 ({DOG.name}): {ANIMAL}",
    ]
    notes = _block(err, "Notes on")
    assert notes[0] == f"Notes on 1 form(s) (also in {out / 'manifest.jsonl'}):"
    assert len(notes) == 2 and notes[1].startswith(
        f"  record 15 ({CLEMENTE.name}): preferred language 'zh-TW' is not available; the form is in English")
    assert err.rstrip().endswith(f"Failed records are listed in {out / 'errors.csv'}")
    made = sorted({p.name.split("_")[0] for p in (out / "forms").iterdir()})
    assert made == [f"rec-{n:06d}" for n in (3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 15)]
    refused = [json.loads(line) for i, line in enumerate(BULK.read_text().splitlines(), 1) if i in (1, 2, 5)]
    private = [p["deceasedDateTime"][:10] for p in refused] + [p["name"][0]["family"] for p in refused]
    private += [i["value"] for p in refused for i in p["identifier"]] + ["Kenzi", "Chalmers", "1234123"]
    for value in private:
        assert value not in stdout + err and value not in (out / "errors.csv").read_text(), value


def test_cli_fhir_is_r4_with_absolute_pdf_urls_and_the_moment_made(tmp_path, capsys, monkeypatch):
    """--base-url: each DocumentReference gives its PDF as the base URL followed by the form's path (the
    file is there in OUT), with no data; SOURCE_DATE_EPOCH pins ``date`` (UTC, ``Z``). Without --base-url
    the PDF is inside (base64) and ``date`` is the moment the form was made, with this computer's offset.
    A relative or non-http(s) --base-url, or one with --embed-pdf, is a usage error (exit 2) that writes
    nothing; the library refuses the same."""
    pinned = dt.datetime(2026, 11, 21, 16, 30, 5, tzinfo=dt.UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(pinned.timestamp())))
    out = tmp_path / "out"
    base = "https://files.example.org/consent/batch-1"
    common = ["--clinic", str(CLINIC), "--date", "2026-11-21", "--format", "pdf", "--jobs", "1"]
    code, _, err = run_cli(capsys, "batch", "hair", "--from", str(PETER), "--out", str(out), *common,
                           "--base-url", base + "/")
    assert code == 0, err
    [form] = [p for p in (out / "forms").glob("*.pdf")]
    for bundle in (json.loads((out / "fhir-bundle.json").read_text()),
                   json.loads(next((out / "forms").glob("*.fhir.json")).read_text())):
        [docref] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
        attachment = docref["content"][0]["attachment"]
        assert attachment["url"] == f"{base}/forms/{form.name}" and "data" not in attachment
        assert (docref["date"], attachment["creation"]) == ("2026-11-21T16:30:05Z", "2026-11-21T16:30:05Z")
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    before = dt.datetime.now().astimezone().replace(microsecond=0)
    code, _, err = run_cli(capsys, "batch", "hair", "--from", str(PETER), "--out", str(tmp_path / "embedded"),
                           *common)
    assert code == 0, err
    bundle = json.loads((tmp_path / "embedded" / "fhir-bundle.json").read_text())
    [docref] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    made = dt.datetime.fromisoformat(docref["date"].replace("Z", "+00:00"))
    assert before <= made <= dt.datetime.now().astimezone() and made.utcoffset() == before.utcoffset()
    assert "url" not in docref["content"][0]["attachment"]
    for bad in ("forms/", "out/batch-1", "/srv/consent", "ftp://files.example.org/consent", "https://",
                "https://files.example.org/get?file="):
        code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(PETER), "--out", str(tmp_path / "no"),
                                    *common, "--base-url", bad)
        assert (code, stdout) == (2, "") and "Invalid value for '--base-url': must " in err, err
        assert not (tmp_path / "no").exists()
    code, _, err = run_cli(capsys, "batch", "hair", "--from", str(PETER), "--out", str(tmp_path / "no"), *common,
                           "--base-url", base, "--embed-pdf")
    assert code == 2 and "--embed-pdf and --base-url cannot be used together" in err
    clinic = consent.load_clinic(CLINIC)
    for options in ({"pdf_base_url": "forms/"}, {"embed_pdf": False}, {"embed_pdf": True, "pdf_base_url": base},
                    {"made_at": dt.datetime(2026, 11, 21, 9, 30)}):
        with pytest.raises(consent.InputError):
            run_batch("hair", read_records([PETER]), clinic=clinic, out_dir=tmp_path / "no", date=DATE, **options)
        assert not (tmp_path / "no").exists()


def test_cli_batch_where_every_record_fails_writes_a_bundle_without_entry(tmp_path, capsys):
    """Every record refused (HL7's example Patient without its birth date): exit 1, no form, and
    fhir-bundle.json is a transaction Bundle with no ``entry`` at all (FHIR JSON forbids empty arrays)."""
    patient = json.loads(PETER.read_text())
    del patient["birthDate"]
    export = tmp_path / "no-birth-date.json"
    export.write_text(json.dumps(patient))
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(export), "--clinic", str(CLINIC), "--out",
                                str(out), "--format", "pdf", "--jobs", "1")
    assert code == 1 and stdout.startswith("1 record(s): 0 form(s) written, 0 already complete, 1 failed")
    assert json.loads((out / "fhir-bundle.json").read_text()) == {"resourceType": "Bundle", "type": "transaction"}
    assert _block(err, "No form for") == ["No form for 1 record(s):",
                                          f"  record 1 ({export.name}): patient.birth_date: birth date is missing"]
    assert list((out / "forms").iterdir()) == []


def test_cli_export_without_a_patient_is_an_error_and_writes_nothing(tmp_path, capsys):
    """A bulk export's Organization file given for its Patient file (no Patient in it): Error naming the file
    and the resource types found, exit 1, nothing written (not "0 record(s)" and exit 0)."""
    bundle = json.loads(GUSTAVO.read_text())
    others = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] in ("Organization",
                                                                                          "Practitioner")]
    export = tmp_path / "Organization.ndjson"
    export.write_text("".join(json.dumps(resource) + "\n" for resource in others))
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(export), "--clinic", str(CLINIC), "--out",
                                str(out))
    assert (code, stdout) == (1, "")
    assert err == (f"Error: {export}: holds no FHIR Patient (found 1 Organization, 1 Practitioner): give the "
                   "export's Patient resources (a bulk export's Patient.ndjson, or a Bundle with Patients)\n")
    assert not out.exists()


def test_cli_dstu2_export_and_language_text_are_read_and_said_on_screen(tmp_path, capsys):
    """A DSTU2 Patient (HL7's DSTU2 example, without its animal) is read, with a note on screen and in the
    manifest; Gustavo's language given only as text "Spanish" gives a Spanish form; text that is no
    language gives English, with a note on screen that does not quote it."""
    person = json.loads(DOG.read_text())
    del person["animal"]
    dstu2 = tmp_path / "dstu2-patient.json"
    dstu2.write_text(json.dumps(person))
    exports = []
    for name, text in (("spanish.json", "Spanish"), ("unknown.json", "Klingonese (ask Q. Zorg)")):
        bundle = json.loads(GUSTAVO.read_text())
        patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        patient["communication"] = [{"language": {"text": text}}]
        (tmp_path / name).write_text(json.dumps(bundle))
        exports += ["--from", str(tmp_path / name)]
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(dstu2), *exports, "--clinic", str(CLINIC),
                                "--out", str(out), "--format", "docx", "--jobs", "1")
    assert code == 0, err
    lines = {e["record"]: e for e in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    assert {n: e["language"] for n, e in lines.items()} == {1: "en", 2: "es", 3: "en"}
    version = ("read from a FHIR DSTU2 export, not R4 (it has HumanName.family as a list): the name, birth date, "
               "MRN and language mean the same there and were read as in R4")
    language = ("the preferred language (Patient.communication) has neither a language code nor a language name "
                "consent knows (in English or Spanish); the form is in English")
    assert (lines[1]["notes"], lines[2]["notes"], lines[3]["notes"]) == ([version], [], [language])
    assert _block(err, "Notes on") == [f"Notes on 2 form(s) (also in {out / 'manifest.jsonl'}):",
                                       f"  record 1 ({dstu2.name}): {version}",
                                       f"  record 3 (unknown.json): {language}"]
    assert "Zorg" not in err + stdout and "Kenzi" not in err + stdout
