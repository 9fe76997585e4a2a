"""Faults: a full disk, an unwritable folder, a second batch into a folder in use, a killed worker,
SIGINT/SIGTERM, a damaged manifest or form.

Whatever happens: nothing half-written, nothing lost, no record made twice, and running the same command
again finishes the job. (tests/test_batch.py already kills a whole batch and repairs a damaged DOCX.)
"""

from __future__ import annotations

import concurrent.futures as cf
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import CLINIC, DATE, EXAMPLES
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import consent
from consent import _output
from consent.batch.run import read_manifest, run_batch
from consent.cli import main
from consent.ehr import read_records

PATIENT = EXAMPLES / "patient-jose.yaml"


class DiskFull:
    """``os`` for consent._output, except that writing a file fails with ENOSPC after ``budget`` files."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fdopen(self, fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = os.fdopen(fd, *args, **kwargs)
        if self.budget > 0:
            self.budget -= 1
            return handle
        class Full:
            def __enter__(self) -> Full:
                return self

            def __exit__(self, *exc: object) -> None:
                handle.close()

            def write(self, data: bytes) -> int:
                handle.write(data[: len(data) // 2])  # half a file reaches the disk, then it is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return Full()


def export(tmp_path: Path, count: int) -> tuple[Path, Path]:
    rows = ["name,dob,mrn"] + [f"Patient {i:03d},1970-01-{1 + i % 28:02d},MRN{i:04d}" for i in range(count)]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(rows) + "\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\n  mrn: mrn\n")
    return path, mapping


def batch(tmp_path: Path, out: Path, count: int = 4, formats: tuple[str, ...] = ("docx",)) -> Any:
    path, mapping = export(tmp_path, count)
    with cf.ThreadPoolExecutor(1) as pool:
        return run_batch("hair", read_records([path], mapping=mapping), clinic=consent.load_clinic(CLINIC),
                         out_dir=out, date=DATE, formats=formats, executor=pool)


def assert_consistent(out: Path, count: int, *, foreign: bool = False) -> None:
    """One manifest line per record, each file whole (its hash), no temporary or unlisted file.
    ``foreign``: lines of record numbers outside this batch (left by another export) may stay."""
    lines = (out / "manifest.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    if foreign:
        entries = [e for e in entries if e["record"] in range(1, count + 1)]
    assert sorted(e["record"] for e in entries) == list(range(1, count + 1))
    listed = set()
    for entry in entries:
        for rel, info in entry["files"].items():
            assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == info["sha256"]
            listed.add(rel)
    assert {f"forms/{p.name}" for p in (out / "forms").iterdir()} == listed
    assert not list(out.glob(".*.part")), "a temporary file of an earlier run was left behind"


def test_render_where_nothing_can_be_written(tmp_path, capsys):
    """--out below a file: one clear error, exit 1, no traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["render", "hair", "--patient", str(PATIENT), "--clinic", str(CLINIC), "--date", "2026-11-21",
                 "--out", str(blocker / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"Error: {blocker / 'out'}: cannot create the output folder (")


def test_batch_where_the_output_folder_cannot_be_made_or_written(tmp_path, capsys):
    """--out below a file (the folder cannot be made) and, for a user other than root, a read-only folder:
    `Error: <folder>: ...` naming the folder, exit 1, no traceback, and nothing made."""
    path, mapping = export(tmp_path, 2)
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = ["batch", "hair", "--from", str(path), "--mapping", str(mapping), "--clinic", str(CLINIC),
            "--date", "2026-11-21", "--format", "docx", "--jobs", "1"]
    code = main([*argv, "--out", str(blocker / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"Error: {blocker / 'out'}: cannot create the output folder (Not a directory)"), err
    assert "Traceback" not in err and "internal error" not in err
    assert blocker.read_text() == "" and sorted(tmp_path.iterdir()) == sorted([blocker, path, mapping])
    if os.getuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        for out in (locked, locked / "below"):
            code = main([*argv, "--out", str(out)])
            err = capsys.readouterr().err
            assert code == 1
            assert err.startswith(f"Error: {out}: cannot "), err
            assert "Permission denied" in err and "Traceback" not in err
            assert list(locked.iterdir()) == []


def test_render_on_a_full_disk_writes_nothing(tmp_path, capsys, monkeypatch):
    """The disk fills while the DOCX is written (after the PDF): an error, and neither file nor any
    temporary file is left."""
    monkeypatch.setattr(_output, "os", DiskFull(budget=1))
    out = tmp_path / "out"
    code = main(["render", "hair", "--patient", str(PATIENT), "--clinic", str(CLINIC), "--date", "2026-11-21",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot be written (No space left on device); nothing was written" in err
    assert list(out.iterdir()) == []


def test_batch_on_a_full_disk_stops_and_the_rerun_finishes(tmp_path, monkeypatch):
    """The disk fills after three forms: the batch stops with a RenderError, the three are listed whole in
    the manifest, nothing half-written is left; the same batch again makes only the rest."""
    out = tmp_path / "out"
    monkeypatch.setattr(_output, "os", DiskFull(budget=3))
    with pytest.raises(consent.RenderError, match=r"cannot be written \(No space left on device\); the forms "
                                                  "finished so far are kept"):
        batch(tmp_path, out, count=6)
    assert len(read_manifest(out / "manifest.jsonl")) == 3
    assert not [p for p in (out / "forms").iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    again = batch(tmp_path, out, count=6)
    assert (again.written, again.skipped, again.failed) == (3, 3, 0)
    assert_consistent(out, 6)


def test_damaged_forms_are_made_again(tmp_path):
    """A truncated PDF, a deleted DOCX and an edited FHIR file: exactly those records are made again."""
    out = tmp_path / "out"
    first = batch(tmp_path, out, count=3, formats=("pdf", "docx"))
    assert first.written == 3
    pdf = next(out.glob("forms/rec-000001_*.pdf"))
    pdf.write_bytes(pdf.read_bytes()[:1000])
    next(out.glob("forms/rec-000002_*.docx")).unlink()
    fhir = next(out.glob("forms/rec-000003_*.fhir.json"))
    fhir.write_text(fhir.read_text().replace("current", "superseded"))
    again = batch(tmp_path, out, count=3, formats=("pdf", "docx"))
    assert (again.written, again.skipped) == (3, 0)
    assert_consistent(out, 3)
    third = batch(tmp_path, out, count=3, formats=("pdf", "docx"))
    assert (third.written, third.skipped) == (0, 3)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished batch of four DOCX forms, copied by each test that damages it."""
    root = tmp_path_factory.mktemp("finished")
    batch(root, root / "out")
    return root


manifest_lines = st.one_of(
    st.text(max_size=30),
    st.sampled_from(['{"record": 1e400}', '{"record": "x"}', '{"record": 2, "files": "x", "form_id": null}',
                     '{"record": 3, "files": {"forms/x": 5}}', "[1, 2]", "null", '{"record": -1}', "{" * 2000,
                     '{"record": 2}']),
    st.dictionaries(st.sampled_from(["record", "form_id", "files"]),
                    st.one_of(st.integers(-5, 10), st.text(max_size=5), st.none(),
                              st.dictionaries(st.text(max_size=8), st.integers(), max_size=2)),
                    max_size=3).map(json.dumps),
)


@settings(max_examples=15, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(inserted=st.lists(st.tuples(st.integers(0, 4), manifest_lines), min_size=1, max_size=3),
       torn=st.booleans())
def test_corrupt_manifest_lines_never_stop_a_rerun(finished, tmp_path_factory, inserted, torn):
    """Garbage, torn, odd-shaped and overflowing lines anywhere in manifest.jsonl: the rerun skips the forms
    it can prove whole, makes the others again, and leaves one good line per record."""
    out = tmp_path_factory.mktemp("corrupt") / "out"
    shutil.copytree(finished / "out", out)
    lines = (out / "manifest.jsonl").read_text().splitlines()
    for at, line in inserted:
        lines.insert(at, line.replace("\n", " "))
    if torn:
        lines[-1] = lines[-1][: len(lines[-1]) // 2]
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    again = batch(finished, out)
    assert again.failed == 0 and again.written + again.skipped == 4
    assert_consistent(out, 4, foreign=True)


# --------------------------------------------------------------------------- processes and signals


def _batch_argv(tmp_path: Path, out: Path, count: int) -> list[str]:
    path, mapping = export(tmp_path, count)
    exe = str(Path(sys.executable).with_name("consent"))
    return [exe, "batch", "iv-infusion", "--from", str(path), "--mapping", str(mapping), "--clinic", str(CLINIC),
            "--out", str(out), "--jobs", "1", "--date", "2026-11-21", "--format", "docx"]  # docx: quick forms


def _wait_for_forms(out: Path, proc: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        manifest = out / "manifest.jsonl"
        if manifest.exists() and len(manifest.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the batch finished or stalled before it made enough forms")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _workers(pid: int) -> list[int]:
    """The batch's worker processes: spawned children of the batch, or (on Linux) children of the fork
    server the batch started."""
    found = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.append(child)
        elif b"forkserver" in cmdline:
            found += _children(child)
    return found


def _finish(argv: list[str], out: Path, count: int, done: int) -> None:
    """The same command again: exit 0, the finished forms skipped, every record once."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"{done} already complete" in result.stdout
    assert_consistent(out, count)


def _group_gone(pgid: int) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_second_batch_into_a_folder_in_use_is_refused_and_touches_nothing(tmp_path, capsys):
    """While a batch writes to OUT, the same command again and a batch of another export into OUT are
    refused at once: `Error: another consent batch is writing to OUT (pid N); wait for it to finish`, exit
    1. The first batch is not disturbed (no temporary file of its deleted, no form of another export
    added): it exits 0 with one whole form and one manifest line per record, and leaves no lock behind."""
    out = tmp_path / "out"
    argv = _batch_argv(tmp_path, out, 60)
    other = tmp_path / "other"
    other.mkdir()
    other_path, other_mapping = export(other, 5)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _wait_for_forms(out, proc, 2)
        assert proc.poll() is None, "the first batch ended before the others were started"
        again = main(argv[1:])
        again_err = capsys.readouterr().err
        another = main(["batch", "hair", "--from", str(other_path), "--mapping", str(other_mapping), "--clinic",
                        str(CLINIC), "--out", str(out), "--jobs", "1", "--format", "docx"])
        another_err = capsys.readouterr().err
        stdout, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    said = f"Error: another consent batch is writing to {out} (pid {proc.pid}); wait for it to finish\n"
    assert (again, again_err) == (1, said)
    assert (another, another_err) == (1, said)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Error" not in err
    assert stdout.startswith("60 record(s): 60 form(s) written, 0 already complete, 0 failed")
    assert_consistent(out, 60)
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 60
    assert sorted(p.name for p in out.iterdir()) == ["errors.csv", "forms", "manifest.jsonl"]


@pytest.mark.slow
def test_killed_worker_stops_the_batch_cleanly_and_the_rerun_finishes(tmp_path):
    """One worker process killed (the OOM killer's way): the batch stops with one clear error and no
    traceback, leaves no process behind, and the same command finishes the rest."""
    out = tmp_path / "out"
    # Enough records that the worker still runs once the first two are listed (a DOCX takes milliseconds:
    # with 8, a loaded machine could list two only as the batch was ending, and find no worker).
    argv = _batch_argv(tmp_path, out, 60)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_forms(out, proc, 2)
        workers = _workers(proc.pid)
        assert workers, "no worker process found"
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1
    assert "Error: a worker process stopped unexpectedly (killed, or out of memory)" in err
    assert "Traceback" not in err
    assert _group_gone(proc.pid)
    done = len(read_manifest(out / "manifest.jsonl"))
    _finish(argv, out, 60, done)


def _interrupt(argv: list[str], out: Path, sig: int, *, group: bool, after: int) -> None:
    """Start the batch, send ``sig`` once ``after`` forms are listed, and check it stopped cleanly."""
    # A shell's background job starts with SIGINT ignored, and a child keeps that: undo it, as a terminal would.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    try:
        _wait_for_forms(out, proc, after)
        if group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, err
    assert "Aborted." in err
    assert "Traceback" not in err, err
    assert _group_gone(proc.pid)
    for entry in read_manifest(out / "manifest.jsonl").values():
        for rel, info in entry["files"].items():
            assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == info["sha256"]


@pytest.mark.slow
def test_sigterm_then_sigint_stop_cleanly_and_the_rerun_finishes(tmp_path):
    """kill (SIGTERM to the command), then on the next run Ctrl-C (SIGINT to the whole process group):
    each time the forms in progress finish, the command exits 1 without a traceback, every process ends
    and the manifest lists only whole forms; the third run finishes the rest without making any form twice."""
    out = tmp_path / "out"
    argv = _batch_argv(tmp_path, out, 12)
    _interrupt(argv, out, signal.SIGTERM, group=False, after=2)
    _interrupt(argv, out, signal.SIGINT, group=True, after=len(read_manifest(out / "manifest.jsonl")) + 2)
    _finish(argv, out, 12, len(read_manifest(out / "manifest.jsonl")))
