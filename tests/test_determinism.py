"""Determinism: the same inputs give the same bytes, whatever the folder, time zone, locale, hash seed or
path (one form with `consent render`, or many with `consent batch`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLES, SHARED

CLINIC = EXAMPLES / "clinic.yaml"
PETER = SHARED / "ehr-samples" / "hl7_r4_patient-example.json"
GUSTAVO = SHARED / "ehr-samples" / "synthea_r4_bundle_Gustavo_Mejia_es.json"
CONSENT = str(Path(sys.executable).with_name("consent"))
SETTINGS = [  # (working folder name, environment)
    ("a", {"TZ": "UTC", "LC_ALL": "C", "LANG": "C", "PYTHONHASHSEED": "1"}),
    ("b", {"TZ": "Pacific/Kiritimati", "LC_ALL": "es_ES.UTF-8", "LANG": "es_ES.UTF-8", "PYTHONHASHSEED": "2"}),
    ("c", {"TZ": "America/Adak", "LC_ALL": "tr_TR.UTF-8", "LANG": "ja_JP.UTF-8", "PYTHONHASHSEED": "random"}),
]


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    cwd.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([CONSENT, *argv], cwd=cwd, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_render_is_byte_identical_across_folders_time_zones_locales_and_hash_seeds(tmp_path):
    """`consent render` of one patient in three folders, time zones (UTC+14 and UTC-10), locales and hash
    seeds: the same PDF and DOCX, byte for byte, under the same names."""
    patient = tmp_path / "patient.yaml"
    patient.write_text((EXAMPLES / "patient-jose.yaml").read_text())
    outputs = []
    for folder, env in SETTINGS:
        out = tmp_path / folder / "out"
        _run(["render", "knee-injection", "--patient", str(patient), "--clinic", str(CLINIC), "--date",
              "2026-11-21", "--out", "out"], tmp_path / folder, env)
        outputs.append(_digests(out))
    assert len(outputs[0]) == 2
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.slow
def test_batch_is_byte_identical_across_runs_and_equal_to_render(tmp_path):
    """`consent batch` twice in different settings (one worker: forms finish in record order) writes the
    same bytes in every file, manifest and FHIR bundle included; and each batch form is byte-identical to
    the same patient's form made alone with `consent render`."""
    digests = []
    for folder, env in SETTINGS[:2]:
        _run(["batch", "hair", "--from", str(PETER), "--from", str(GUSTAVO), "--clinic", str(CLINIC), "--out", "out",
              "--date", "2026-11-21", "--jobs", "1"], tmp_path / folder, env)
        digests.append(_digests(tmp_path / folder / "out"))
    assert digests[0] == digests[1]
    assert {"manifest.jsonl", "errors.csv", "fhir-bundle.json"} <= set(digests[0])
    patient = tmp_path / "peter.yaml"
    patient.write_text("full_name: Peter James Chalmers\nbirth_date: 1974-12-25\nmrn: '12345'\n")
    _run(["render", "hair", "--patient", str(patient), "--clinic", str(CLINIC), "--date", "2026-11-21",
          "--out", "single"], tmp_path / "single-run", SETTINGS[2][1])
    single = _digests(tmp_path / "single-run" / "single")
    batch = {Path(k).suffix: v for k, v in digests[0].items() if k.startswith("forms/rec-000001_")}
    assert {Path(k).suffix: v for k, v in single.items()} == {".pdf": batch[".pdf"], ".docx": batch[".docx"]}
