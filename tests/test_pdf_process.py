"""`consent render` makes the PDF in a second process (consent/speedups/pdf_process.py): the same bytes as
without it, and when that process fails, hangs or is no longer needed, the command still does what it
would do without it (the PDF made here, the same error, no file, no process left behind).

Each case runs the command in a new process of its own (a fork is only made from a process with one
thread), with ``consent.speedups.pdf_process`` wrapped to see the second process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from helpers import CLINIC, EXAMPLES

import consent
from consent.speedups import pdf_process as _pdf_process

ADA = EXAMPLES / "patient-ada.yaml"

SCRIPT = """
import json, os, sys, time
from consent.speedups import pdf_process as _pdf_process
from consent.cli import main

started = []
real_start = _pdf_process.start
def start():
    helper = real_start()
    started.append(helper.pid if helper else None)
    return helper
_pdf_process.start = start
{patch}
code = main(sys.argv[1:])
alive = []
for pid in filter(None, started):
    try:
        os.waitpid(pid, os.WNOHANG)
        alive.append(pid)  # still our child: not waited for
    except ChildProcessError:
        pass
print(json.dumps({{"code": code, "started": started, "alive": alive}}))
"""


def _command(tmp: Path, patient: Path = ADA, *extra: str, patch: str = "",
             env: dict[str, str] | None = None) -> tuple[dict, str, Path]:
    out = tmp / "out"
    argv = ["render", "knee-injection", "--patient", str(patient), "--clinic", str(CLINIC), "--date",
            "2026-11-21",
            "--out", str(out), *extra]
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(patch=textwrap.dedent(patch)), *argv],
                            capture_output=True, text=True, timeout=180, cwd=tmp,
                            env={**os.environ, "CONSENT_CACHE_DIR": "off", **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr, out


@pytest.fixture(scope="module")
def expected() -> dict[str, bytes]:
    """Ada's form made in this process, as a program using the library makes it."""
    form = consent.build("knee-injection", patient=consent.load_patient(ADA),
                         clinic=consent.load_clinic(CLINIC),
                         date=dt.date(2026, 11, 21))
    return {".pdf": form.to_pdf(), ".docx": form.to_docx()}


def _files(out: Path) -> dict[str, bytes]:
    return {p.suffix: p.read_bytes() for p in out.iterdir()}


def test_render_makes_the_pdf_in_a_second_process_with_the_same_bytes(tmp_path: Path, expected: dict) -> None:
    seen, stderr, out = _command(tmp_path)
    assert seen["code"] == 0, stderr
    assert len(seen["started"]) == 1 and seen["started"][0]  # a process was forked
    assert seen["alive"] == []  # and waited for
    assert _files(out) == expected


def test_a_docx_alone_starts_no_second_process(tmp_path: Path, expected: dict) -> None:
    seen, _, out = _command(tmp_path, ADA, "--format", "docx")
    assert seen["code"] == 0 and seen["started"] == []
    assert _files(out) == {".docx": expected[".docx"]}


@pytest.mark.parametrize("value", ["off", " No "])  # the same words as CONSENT_CACHE_DIR=off
def test_consent_pdf_process_off_makes_the_pdf_here(tmp_path: Path, expected: dict, value: str) -> None:
    seen, _, out = _command(tmp_path, env={"CONSENT_PDF_PROCESS": value})
    assert seen["code"] == 0 and seen["started"] == [None]
    assert _files(out) == expected


DIES = """
def _serve(job, reply):
    os._exit(3)
_pdf_process._serve = _serve
"""
CANNOT_BE_SENT = """
class _NoPickle:
    HIGHEST_PROTOCOL = 5
    @staticmethod
    def dumps(*args):
        raise TypeError("cannot pickle this")
_pdf_process.pickle = _NoPickle
"""


@pytest.mark.parametrize("patch", [DIES, CANNOT_BE_SENT], ids=["process-dies", "form-cannot-be-sent"])
def test_the_pdf_is_made_here_when_the_second_process_cannot(tmp_path: Path, expected: dict, patch: str) -> None:
    seen, _, out = _command(tmp_path, patch=patch)
    assert seen["code"] == 0 and seen["started"][0] and seen["alive"] == []
    assert _files(out) == expected


def test_a_pdf_process_that_does_not_answer_is_stopped(tmp_path: Path, expected: dict) -> None:
    patch = """
    _pdf_process.TIMEOUT = 1.0
    def _serve(job, reply):
        time.sleep(600)
    _pdf_process._serve = _serve
    """
    start = dt.datetime.now()
    seen, stderr, out = _command(tmp_path, patch=patch)
    assert (dt.datetime.now() - start).total_seconds() < 60
    assert seen["code"] == 0 and seen["started"][0] and seen["alive"] == []
    assert "did not answer" in stderr
    assert _files(out) == expected


def _refused(tmp_path: Path, patient_yaml: str) -> tuple[str, Path]:
    """``consent render`` of this patient: it fails (exit 1) after starting the second process, which is
    stopped; its stderr and --out folder."""
    patient = tmp_path / "patient.yaml"
    patient.write_text(patient_yaml, encoding="utf-8")
    seen, stderr, out = _command(tmp_path, patient)
    assert seen["code"] == 1 and seen["started"][0] and seen["alive"] == []
    return stderr, out


def test_an_error_in_the_pdf_is_the_same_error_and_no_file_is_written(tmp_path: Path) -> None:
    stderr, out = _refused(tmp_path, "full_name: 𐀀𐀁𐀂\nbirth_date: 1970-01-01\n")
    assert "patient.full_name has 3 character(s) that the PDF fonts cannot draw (Linear B Syllabary)" in stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_a_form_refused_before_its_pdf_stops_the_second_process(tmp_path: Path) -> None:
    stderr, out = _refused(tmp_path, "full_name: Ada\nbirth_date: not a date\n")
    assert "birth_date" in stderr
    assert not out.exists()


def test_no_second_process_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert _pdf_process.start() is None
    finally:
        stop.set()
        other.join()


def test_templates_compiled_in_the_commands_process_are_used_and_a_changed_one_compiled_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The head start hands the PDF process the templates' compiled code (consent/pdf/html.py): it
    compiles none of them again, but a template whose source differs from the code's is compiled anew."""
    from consent._text import Sandbox
    from consent.pdf import html as _render_pdf

    pack = tmp_path / "pack"
    (pack / "templates").mkdir(parents=True)
    overlay = pack / "templates" / "overlay.html"
    overlay.write_text("<p>first {{ 1 + 1 }}</p>", encoding="utf-8")
    packs = (str(pack),)
    monkeypatch.setattr(_render_pdf, "_COMPILED", _render_pdf._Compiled())
    code = _render_pdf.compiled_templates(packs)
    assert len(code) == 4  # form.html, overlay.html and the two they include

    monkeypatch.setattr(_render_pdf, "_COMPILED", _render_pdf._Compiled())  # as in a new process
    _render_pdf.use_compiled_templates(code)
    compiled: list[str] = []
    real = Sandbox.compile
    monkeypatch.setattr(Sandbox, "compile", lambda self, source, name=None, *a, **k: compiled.append(name) or
                        real(self, source, name, *a, **k))
    env = _render_pdf._template_env(packs)
    assert env.get_template("overlay.html").render() == "<p>first 2</p>"
    env.get_template("form.html")
    assert compiled == []
    overlay.write_text("<p>second {{ 2 + 2 }}</p>", encoding="utf-8")
    assert _render_pdf._template_env(packs).get_template("overlay.html").render() == "<p>second 4</p>"
    assert compiled == ["overlay.html"]
