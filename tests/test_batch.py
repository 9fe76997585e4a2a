"""Batch: EHR exports in, forms + manifest + errors + FHIR out; safe to kill and re-run."""

from __future__ import annotations

import base64
import concurrent.futures as cf
import copy
import csv
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
from helpers import DATE, EHR_SAMPLES, EXAMPLES, all_output_text, build_tree, pdf_pages, words

import consent
from consent._batch import run_batch
from consent.cli import main
from consent.ehr import read_records

SAMPLES = EHR_SAMPLES
GUSTAVO = SAMPLES / "synthea_r4_bundle_Gustavo_Mejia_es.json"
PETER = SAMPLES / "hl7_r4_patient-example.json"
CLEMENTE = SAMPLES / "synthea_r4_bundle_Clemente_Kreiger.json"
CLINIC = EXAMPLES / "clinic.yaml"


def secret_identifiers() -> list[str]:
    """The SSN, driver's licence and passport numbers in the Gustavo sample: never to be printed."""
    bundle = json.loads(GUSTAVO.read_text())
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    out = [i["value"] for i in patient["identifier"]
           if any(c.get("code") in {"SS", "DL", "PPN"} for c in i.get("type", {}).get("coding", []))]
    assert len(out) == 3
    return out


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_batch_from_real_exports(tmp_path, capsys):
    """Synthea and HL7 samples: one form per patient, Spanish for the Spanish speaker, official name and
    MR number for the HL7 example, no SSN anywhere, and a manifest line per form."""
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
    assert [e["language"] for e in lines] == ["es", "en", "en"]
    assert any("preferred language 'zh' is not available" in n for n in lines[2]["notes"])
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
    import consent._batch as batch
    import consent._batch_worker as worker  # where a form is assembled (the coordinator never imports it)

    records = list(read_records([PETER, CLEMENTE, GUSTAVO]))
    clinic = consent.load_clinic(CLINIC)
    out = tmp_path / "out"
    first = run_batch("hair", records, clinic=clinic, out_dir=out, date=DATE, jobs=1)
    assert (first.written, first.skipped) == (3, 0)
    pools: list[object] = []
    real_pool = batch._Pool
    monkeypatch.setattr(batch, "_Pool", lambda *a, **k: pools.append(real_pool(*a, **k)) or pools[-1])

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
    from consent._batch import read_manifest

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
    from consent._batch import read_manifest

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


def test_fhir_resources_validate_with_the_r4_model(tmp_path):
    """Per-form and batch Bundles validate as FHIR R4(B); hashes and sizes match the PDFs."""
    from fhir.resources.R4B.bundle import Bundle

    out = tmp_path / "out"
    run_batch("knee-injection", read_records([GUSTAVO, PETER]), clinic=consent.load_clinic(CLINIC), out_dir=out,
              date=DATE, formats=["pdf"], jobs=1)
    batch = json.loads((out / "fhir-bundle.json").read_text())
    Bundle.model_validate(batch)
    assert batch["type"] == "transaction" and len(batch["entry"]) == 4
    docrefs = [e["resource"] for e in batch["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    consents = [e for e in batch["entry"] if e["resource"]["resourceType"] == "Consent"]
    urls = {e["fullUrl"] for e in batch["entry"]}
    for c in consents:
        assert c["resource"]["sourceReference"]["reference"] in urls
        assert c["resource"]["scope"]["coding"][0]["code"] == "treatment"
    for ref in docrefs:
        assert (ref["status"], ref["docStatus"]) == ("current", "final")
        assert ref["type"]["coding"][0] == {"system": "http://loinc.org", "code": "59284-0",
                                            "display": ref["type"]["coding"][0]["display"]}
        att = ref["content"][0]["attachment"]
        pdf = (out / att["url"]).read_bytes()
        assert att["contentType"] == "application/pdf" and att["size"] == len(pdf)
        assert att["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324 - FHIR's choice
    for path in out.glob("forms/*.fhir.json"):
        Bundle.model_validate(json.loads(path.read_text()))


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

    from consent._tokens import Busy, SharedWork

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
    from consent._assemble import assemble
    from consent._batch_worker import _REPORTS, _checked, _decode_report, _encode_report
    from consent._tokens import SharedWork

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
    from consent._batch import _bounded
    from consent._batch_worker import Outcome, Task
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
    """consent/_batch_worker.py raises a worker's cycle-collector threshold (never a process that runs
    the batch's forms itself, such as a program's own); consent/_preload.py freezes what it loaded."""
    import gc
    import multiprocessing

    from consent._batch_worker import BatchJob, warm_worker

    job = BatchJob(treatment="knee-injection", clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), date=DATE,
                   formats=("docx",), out_dir=str(tmp_path))
    before = gc.get_threshold()
    warm_worker(job)
    assert gc.get_threshold() == before
    with multiprocessing.get_context("spawn").Pool(1, initializer=warm_worker, initargs=(job,)) as pool:
        assert pool.apply(gc.get_threshold) == (10_000, 10, 10)
    frozen = subprocess.run([sys.executable, "-c", "import gc, consent._preload; print(gc.get_freeze_count())"],
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
