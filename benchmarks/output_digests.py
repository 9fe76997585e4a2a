"""The SHA-256 of every stock output, to prove that a change to the code changes no form's bytes.

Renders, through the ``consent`` command (the interface a clinic uses, the same before and after a
restructuring): the three stock treatments for each example patient (English, Spanish, a JSON patient),
plain and fillable; the three template shapes; and a batch of the EHR example (CSV and FHIR; one worker,
so that the manifest and Bundle list the forms in one order), with
``SOURCE_DATE_EPOCH`` pinned. Then prints one line per file, ``sha256  path``, sorted::

    .venv/bin/python benchmarks/output_digests.py > before.txt     # on the commit before
    .venv/bin/python benchmarks/output_digests.py > after.txt      # on the commit after
    diff before.txt after.txt                                      # nothing: the same bytes

``--mode plain`` renders with every speed-up off (``CONSENT_CACHE_DIR=off``, ``CONSENT_PDF_PROCESS=off``,
one worker); ``--keep DIR`` keeps the files. Reads only the repository's ``examples/``, copied into a
work folder of fixed name (a batch's manifest names its export by the paths of its files, so that two
checkouts give the same bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(tempfile.gettempdir()) / "consent-output-digests"
EXAMPLES = WORK / "examples"
CLINIC = EXAMPLES / "sunrise-clinic" / "clinic.yaml"
DATE = "2026-11-21"


def _consent(*args: str, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> None:
    cmd = [str(Path(sys.executable).with_name("consent")), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our own command
    if done.returncode not in ok:
        sys.exit(f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr}")


def render_all(out: Path, env: dict[str, str]) -> None:
    patients = sorted((EXAMPLES / "sunrise-clinic").glob("patient-*.*"))
    for treatment in ("knee-injection", "iv-infusion", "hair"):
        for patient in patients:
            for fillable in (False, True):
                folder = out / treatment / ("fillable" if fillable else "plain") / patient.stem
                _consent("render", treatment, "--patient", str(patient), "--clinic", str(CLINIC),
                         "--date", DATE, "--out", str(folder), *(["--fillable"] if fillable else []), env=env)
    screening = EXAMPLES / "sunrise-clinic" / "screening-jose.yaml"
    _consent("render", "iv-infusion", "--patient", str(EXAMPLES / "sunrise-clinic" / "patient-jose.yaml"),
             "--screening", str(screening), "--clinic", str(CLINIC), "--date", DATE,
             "--out", str(out / "screened"), env=env)
    for shape in ("pdf-form", "docx-merge", "html"):
        _consent("template", "knee-injection", "--clinic", str(CLINIC), "--format", shape,
                 "--fields", "guillemet", "--out", str(out / "templates"), env=env)
    batch = EXAMPLES / "ehr-batch"
    _consent("batch", "knee-injection", "--from", str(batch / "patients.csv"),
             "--mapping", str(batch / "mapping.yaml"), "--from", str(batch / "synthea-gustavo-mejia-es.json"),
             "--clinic", str(CLINIC), "--date", DATE, "--jobs", "1", "--out", str(out / "batch"),
             env=env, ok=(0, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("default", "plain"), default="default")
    parser.add_argument("--keep", type=Path, help="keep the rendered files in this folder")
    args = parser.parse_args()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795219200"}
    work = WORK
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(ROOT / "examples", EXAMPLES)
    env["CONSENT_CACHE_DIR"] = str(work / "cache")
    if args.mode == "plain":
        env.update(CONSENT_CACHE_DIR="off", CONSENT_PDF_PROCESS="off")
    out = work / "out"
    try:
        render_all(out, env)
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            print(hashlib.sha256(path.read_bytes()).hexdigest(), path.relative_to(out).as_posix())
        if args.keep:
            shutil.copytree(out, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
