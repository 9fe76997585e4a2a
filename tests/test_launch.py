"""The ``consent`` command's entry point (consent/__main__.py) and what "import consent" loads.

``consent render`` forks the process that makes the PDF first of all, before it imports the command
line, the assembly, the check or WeasyPrint, and sends it the form as soon as it is assembled, before
the check: the files must be the bytes the library makes, including when the check changes the form.
Each case runs the entry point in a new process of its own (a fork is only made from a process with
one thread)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import CLINIC, EXAMPLES

import consent
from consent import __main__ as _launch

ADA = EXAMPLES / "patient-ada.yaml"
DATE = "2026-11-21"

SCRIPT = """
import gc, json, os, sys
from consent.speedups import pdf_process as _pdf_process

seen = {"started": [], "loaded": [], "gc": []}
real_start = _pdf_process.start
def start():
    seen["loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in ("click", "weasyprint", "consent"))
    seen["gc"].append(gc.isenabled())
    helper = real_start()
    seen["started"].append(helper.pid if helper else None)
    return helper
_pdf_process.start = start
{patch}
from consent.__main__ import main
code = main(sys.argv[1:])
seen["alive"] = []
for pid in filter(None, seen["started"]):
    try:
        os.waitpid(pid, os.WNOHANG)
        seen["alive"].append(pid)  # still our child: not waited for
    except ChildProcessError:
        pass
seen["code"] = code
seen["end"] = sorted(m for m in sys.modules if m.startswith("consent"))
print(json.dumps(seen))
"""


def _launched(tmp: Path, *argv: str, patch: str = "") -> tuple[dict, str]:
    result = subprocess.run([sys.executable, "-c", SCRIPT.replace("{patch}", textwrap.dedent(patch)), *argv],
                            capture_output=True, text=True, timeout=180, cwd=tmp,
                            env={**os.environ, "CONSENT_CACHE_DIR": "off"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def _render(tmp: Path, *extra: str, clinic: Path = CLINIC, patch: str = "") -> tuple[dict, str, Path]:
    out = tmp / "out"
    seen, stderr = _launched(tmp, "render", "knee-injection", "--patient", str(ADA), "--clinic", str(clinic),
                             "--date", DATE, "--out", str(out), *extra, patch=patch)
    return seen, stderr, out


def _files(out: Path) -> dict[str, bytes]:
    return {p.suffix: p.read_bytes() for p in out.iterdir()}


def _library_form(clinic: Path = CLINIC, packs: tuple[Path, ...] = ()) -> consent.Form:
    return consent.build("knee-injection", patient=consent.load_patient(ADA),
                         clinic=consent.load_clinic(clinic), date=dt.date.fromisoformat(DATE), packs=packs)


def test_import_consent_loads_only_its_version_and_each_name_at_first_use() -> None:
    code = "import consent, json, sys; print(json.dumps(sorted(m for m in sys.modules if 'consent' in m)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(loaded) == ["consent", "consent._version"]
    for name in consent.__all__:
        assert getattr(consent, name) is not None, name
        assert name in dir(consent)
    assert consent.check.check is not None and consent.ehr.read_records is not None  # the subpackages
    with pytest.raises(AttributeError, match="has no attribute 'buld'"):
        consent.buld  # noqa: B018 - a misspelt name is an AttributeError, as before


def test_the_version_is_the_installed_packages() -> None:
    assert consent.__version__ == importlib.metadata.version("consent")


def test_render_forks_the_pdf_process_before_importing_the_rest_and_makes_the_librarys_bytes(
        tmp_path: Path) -> None:
    """``consent render`` forks first, and its PDF is made in the second process, byte for byte the PDF
    the library makes."""
    seen, stderr, out = _render(tmp_path)
    assert seen["code"] == 0, stderr
    assert len(seen["started"]) == 1 and seen["started"][0] and seen["alive"] == []
    # Forked before anything but the entry point, its switches and the version was imported (no click,
    # WeasyPrint, assembly, check or renderer), with the cycle collector off (a process of one form: see
    # consent/__main__.py).
    assert [m for m in seen["loaded"] if m.split(".")[0] in ("click", "weasyprint")] == []
    assert set(seen["loaded"]) <= {"consent", "consent._version", "consent.__main__", "consent.speedups",
                                   "consent.speedups.pdf_process", "consent.speedups.switches"}, seen["loaded"]
    assert seen["gc"] == [False]
    # The second process made the PDF: the command's own never imported the modules that lay one out.
    assert not {"consent.pdf.whole", "consent.speedups.layers"} & set(seen["end"]), seen["end"]
    form = _library_form()
    assert _files(out) == {".pdf": form.to_pdf(), ".docx": form.to_docx()}


def test_a_form_the_check_changes_is_made_again_in_the_pdf_process(tmp_path: Path) -> None:
    """The form is sent before it is checked; an acknowledgement recorded by the check is another form."""
    pack = tmp_path / "pack"
    (pack / "templates" / "rules").mkdir(parents=True)
    (pack / "templates" / "rules" / "settings.yaml").write_text(
        "acknowledge:\n  - rule: claim.non-refundable\n    reason: Refund terms approved by counsel.\n",
        encoding="utf-8")
    clinic = tmp_path / "clinic.yaml"
    text = CLINIC.read_text(encoding="utf-8")
    before = "en: If you cancel at least 2 days before a session, we pay back what you paid for that session."
    assert before in text
    clinic.write_text(text.replace(before, "en: Payment is non-refundable once treatment starts."),
                      encoding="utf-8")
    seen, stderr, out = _render(tmp_path, "--pack", str(pack), clinic=clinic)
    assert seen["code"] == 0 and seen["started"][0] and seen["alive"] == [], stderr
    form = _library_form(clinic, (pack,))
    assert form.manifest.acknowledged == ("claim.non-refundable: Refund terms approved by counsel.",)
    assert _files(out) == {".pdf": form.to_pdf(), ".docx": form.to_docx()}


@pytest.mark.parametrize(("extra", "started"), [
    (("--format", "docx"), False),  # no PDF: nothing forked
    (("--format=docx",), False),
    (("--help",), False),
    (("--no-such-option",), True),  # a usage error after the fork: the process is stopped
])
def test_a_render_without_a_pdf_leaves_no_process(tmp_path: Path, extra: tuple[str, ...],
                                                  started: bool) -> None:
    seen, stderr, out = _render(tmp_path, *extra)
    assert seen["code"] == (2 if started else 0), stderr
    assert bool(seen["started"]) is started and seen["alive"] == []
    if extra[-1].endswith("docx"):
        assert list(_files(out)) == [".docx"]


def test_other_commands_keep_the_cycle_collector(tmp_path: Path) -> None:
    patch = """
    import atexit
    atexit.register(lambda: print("gc on at exit:", gc.isenabled(), file=sys.stderr))
    """
    seen, stderr = _launched(tmp_path, "treatments", patch=patch)
    assert seen["code"] == 0 and seen["started"] == []
    assert "gc on at exit: True" in stderr


@pytest.mark.parametrize(("argv", "expected"), [
    (["render", "knee-injection"], True),
    (["render", "hair", "--format", "pdf"], True),
    (["render", "hair", "--format", "docx,pdf"], True),
    (["render", "hair", "--format=pdf,docx"], True),
    (["render", "hair", "--format", "docx"], False),
    (["render", "-h"], False),
    (["batch", "hair"], False),
    ([], False),
])
def test_which_arguments_fork_first(argv: list[str], expected: bool) -> None:
    assert _launch._renders_a_pdf(argv) is expected


def test_render_hands_over_the_assembled_form_before_it_is_checked(tmp_path: Path, monkeypatch) -> None:
    """``consent render`` (consent/speedups/one_form.py) sends the form to the PDF process as soon as it is
    assembled, checks it while that process lays it out, and settles the same object."""
    import contextlib

    from consent._output import default_stem
    from consent.speedups import one_form

    order: list[str] = []
    handed: list[consent.Form] = []

    class Helper:
        def send(self, form: consent.Form, **options: object) -> None:
            order.append("sent")
            handed.append(form)

        def settle(self, form: consent.Form) -> None:
            order.append("settled")
            handed.append(form)

        def pdf(self) -> bytes:
            order.append("pdf")
            return consent.render_pdf(handed[-1])

    real = one_form.check_form
    monkeypatch.setattr(one_form, "check_form", lambda *a: order.append("checked") or real(*a))
    monkeypatch.setattr(one_form, "started", lambda packs, wanted: contextlib.nullcontext(Helper()))
    form, paths = one_form.build_and_write(
        "knee-injection", patient=consent.load_patient(ADA), clinic=consent.load_clinic(CLINIC),
        date=dt.date.fromisoformat(DATE), out_dir=tmp_path, formats=("pdf",))
    assert order == ["sent", "checked", "settled", "pdf"]
    assert handed == [form, form] and handed[0] is form  # nothing recorded by the check: the same object
    assert [p.name for p in paths] == [f"{default_stem(form)}.pdf"]


def test_without_the_pdf_process_the_command_lays_the_pdf_out_itself(tmp_path: Path, monkeypatch) -> None:
    """The counter-test of the one above: with ``CONSENT_PDF_PROCESS=off`` nothing is forked, and the
    command's own process imports the modules that lay a PDF out (the check above can fail)."""
    monkeypatch.setenv("CONSENT_PDF_PROCESS", "off")
    seen, stderr, out = _render(tmp_path)
    assert seen["code"] == 0, stderr
    assert not any(seen["started"])
    assert {"consent.pdf.whole", "consent.speedups.layers"} <= set(seen["end"])
    form = _library_form()
    assert _files(out) == {".pdf": form.to_pdf(), ".docx": form.to_docx()}
