"""Determinism: the same inputs give the same bytes, whatever the folder, time zone, locale, hash seed or
path (one form with `consent render`, or many with `consent batch`).

The batch's FHIR output says when each form was made (DocumentReference.date): SOURCE_DATE_EPOCH pins that
moment (in UTC), as reproducible builds do, so the same inputs give the same bytes there too."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CLINIC, EHR_SAMPLES

PETER = EHR_SAMPLES / "hl7_r4_patient-example.json"
GUSTAVO = EHR_SAMPLES / "synthea_r4_bundle_Gustavo_Mejia_es.json"
PINNED = {"SOURCE_DATE_EPOCH": "1795278605"}  # 2026-11-21T16:30:05Z: when the batch's forms were made
SETTINGS = [  # (working folder, environment): time zones 14 hours apart, other locales and hash seeds
    ("a", {"TZ": "UTC", "LC_ALL": "C", "LANG": "C", "PYTHONHASHSEED": "1", **PINNED}),
    ("b", {"TZ": "Pacific/Kiritimati", "LC_ALL": "tr_TR.UTF-8", "LANG": "ja_JP.UTF-8", "PYTHONHASHSEED": "2",
           **PINNED}),
]
# Both commands in one process per setting (one start-up, one compliance check).
RUN = (
    "import sys; from consent.cli import main\n"
    "render, batch = sys.argv[1].split('|'), sys.argv[2].split('|')\n"
    "sys.exit(main(render) or main(batch))\n"
)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_bytes_across_folders_time_zones_locales_hash_seeds_and_paths(tmp_path):
    """`consent render` of one patient and `consent batch` of two FHIR exports (one worker: forms finish in
    record order), each run in two folders, time zones, locales and hash seeds: every file, manifest and
    FHIR bundle included, has the same bytes; and the batch's form of a patient is byte-identical to the
    form `consent render` makes of the same patient alone."""
    patient = tmp_path / "peter.yaml"
    patient.write_text("full_name: Peter James Chalmers\nbirth_date: 1974-12-25\nmrn: '12345'\n")
    render = ["render", "hair", "--patient", str(patient), "--clinic", str(CLINIC), "--date", "2026-11-21",
              "--out", "single"]
    batch = ["batch", "hair", "--from", str(PETER), "--from", str(GUSTAVO), "--clinic", str(CLINIC), "--out",
             "out", "--date", "2026-11-21", "--jobs", "1"]
    runs = []
    for folder, env in SETTINGS:
        cwd = tmp_path / folder
        cwd.mkdir()
        result = subprocess.run([sys.executable, "-c", RUN, "|".join(render), "|".join(batch)], cwd=cwd,
                                capture_output=True, text=True, timeout=300, env={**os.environ, **env})
        assert result.returncode == 0, result.stderr
        runs.append((_digests(cwd / "single"), _digests(cwd / "out")))
    assert runs[0] == runs[1]
    single, out = runs[0]
    assert {"manifest.jsonl", "errors.csv", "fhir-bundle.json"} <= set(out)
    bundle = json.loads((tmp_path / "a" / "out" / "fhir-bundle.json").read_text())
    assert {e["resource"]["date"] for e in bundle["entry"] if "date" in e["resource"]} == {"2026-11-21T16:30:05Z"}
    first = {Path(k).suffix: v for k, v in out.items() if k.startswith("forms/rec-000001_")}
    assert {Path(k).suffix: v for k, v in single.items()} == {".pdf": first[".pdf"], ".docx": first[".docx"]}
