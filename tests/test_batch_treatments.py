"""Batch of several treatments: without TREATMENT each record's form is of the treatment its export names."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from helpers import CLINIC, DATE, EHR_SAMPLES, EXAMPLES, docx_all_text, pdf_pages, run_cli, words

import consent
from consent.ehr import read_records

PETER = EHR_SAMPLES / "hl7_r4_patient-example.json"
MAPPING = "columns:\n  full_name: name\n  birth_date: dob\n  preferred_language: lang\n"
TITLES = {
    ("knee-injection", "en"): "Informed Consent for Exosome knee injection",
    ("iv-infusion", "en"): "Informed Consent for Exosome IV infusion",
    ("hair", "en"): "Informed Consent for Exosome hair and scalp treatment",
    ("knee-injection", "es"): "Consentimiento informado: Inyección de exosomas en la rodilla",
    ("iv-infusion", "es"): "Consentimiento informado: Infusión intravenosa de exosomas",
    ("hair", "es"): "Consentimiento informado: Tratamiento de exosomas para el cabello y el cuero cabelludo",
}


def export(tmp_path: Path, rows: list[tuple[str, str]], *, column: str = "treatment") -> tuple[Path, Path]:
    """A CSV export with one patient per (treatment, language) row, and its mapping file."""
    path = tmp_path / "export.csv"
    lines = [f"name,dob,lang,{column}"]
    lines += [f"Pat{chr(65 + i)} Doe,197{i % 10}-0{i % 9 + 1}-0{i % 9 + 1},{lang},{treatment}"
              for i, (treatment, lang) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return path, mapping


def manifest(out: Path) -> dict[int, dict]:  # type: ignore[type-arg]
    lines = (json.loads(x) for x in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines())
    return {e["record"]: e for e in lines}


def error_rows(out: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO((out / "errors.csv").read_text(encoding="utf-8"))))[1:]


def no_partial_files(out: Path) -> bool:
    return not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_one_export_of_three_treatments_in_two_languages(tmp_path, capsys):
    """No TREATMENT: each record's PDF and DOCX carry its own treatment's title in its patient's language,
    and its manifest line names that treatment; one call, exit 0."""
    rows = [(t, lang) for lang in ("en", "es") for t in ("knee-injection", "iv-infusion", "hair")]
    path, mapping = export(tmp_path, rows)
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "--from", str(path), "--mapping", str(mapping), "--clinic",
                                str(CLINIC), "--out", str(out), "--date", "2026-11-21", "--jobs", "1")
    assert code == 0, err
    assert stdout.startswith("6 record(s): 6 form(s) written, 0 already complete, 0 failed")
    entries = manifest(out)
    assert [(entries[n]["treatment"]["id"], entries[n]["language"]) for n in range(1, 7)] == rows
    for number, (treatment, lang) in enumerate(rows, 1):
        pdf = next(out.glob(f"forms/rec-{number:06d}_*.pdf")).read_bytes()
        assert TITLES[(treatment, lang)] in " ".join(words(pdf_pages(pdf)[0])), (number, treatment, lang)
        others = [t for key, t in TITLES.items() if key != (treatment, lang)]
        assert not [t for t in others if t in " ".join(words(pdf_pages(pdf)[0]))]
        docx = " ".join(words(docx_all_text(next(out.glob(f"forms/rec-{number:06d}_*.docx")).read_bytes())))
        assert TITLES[(treatment, lang)] in docx
    assert error_rows(out) == []
    assert no_partial_files(out)


def clinic_without_hair(tmp_path: Path) -> Path:
    """The example clinic with no product entry and no fee schedule for hair."""
    import yaml

    data = yaml.safe_load(CLINIC.read_text(encoding="utf-8"))
    del data["products"]["hair"], data["fees"]["hair"]
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_unknown_or_uncovered_treatment_is_an_error_row_and_the_others_are_made(tmp_path, capsys):
    """An unknown treatment id, and a treatment the clinic file has no product or fees for, are error rows
    (record number, field treatment, what is known / lacking); the other records are made; exit 1."""
    path, mapping = export(tmp_path, [("knee-injection", "en"), ("elbow", "en"), ("hair", "es"),
                                      ("iv-infusion", "es")])
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "--from", str(path), "--mapping", str(mapping), "--clinic",
                                str(clinic_without_hair(tmp_path)), "--out", str(out), "--date", "2026-11-21",
                                "--format", "docx", "--jobs", "1")
    assert code == 1
    assert stdout.startswith("4 record(s): 2 form(s) written, 0 already complete, 2 failed")
    assert f"Failed records are listed in {out / 'errors.csv'}" in err
    rows = error_rows(out)
    assert [row[:3] for row in rows] == [["2", "export.csv", "treatment"], ["3", "export.csv", "treatment"],
                                         ["3", "export.csv", "treatment"]]
    assert rows[0][3] == ("the record's treatment is not a known treatment id (known: hair, iv-infusion, "
                          "knee-injection)")
    assert rows[1][3].startswith("the clinic file cannot make 'hair' forms: clinic.fees has no fee schedule "
                                 "for 'hair'")
    assert rows[2][3].startswith("the clinic file cannot make 'hair' forms: clinic.products has no entry for 'hair'")
    assert sorted(manifest(out)) == [1, 4]
    assert sorted(p.name[:10] for p in (out / "forms").iterdir()) == ["rec-000001", "rec-000004"]
    assert "PatB" not in (out / "errors.csv").read_text(encoding="utf-8")
    assert no_partial_files(out)


def test_treatment_given_and_a_different_one_in_the_record(tmp_path):
    """TREATMENT given: a record naming the same treatment or none is made with it; one naming another
    (known or not) is an error row, never a form of the wrong treatment. Its value is quoted only when
    it is a treatment id."""
    path, mapping = export(tmp_path, [("hair", "en"), ("knee-injection", "en"), ("", "en"), ("PatA Doe", "en")])
    out = tmp_path / "out"
    result = consent.run_batch("hair", read_records([path], mapping=mapping), clinic=consent.load_clinic(CLINIC),
                               out_dir=out, date=DATE, formats=["docx"], jobs=1)
    assert (result.written, result.failed) == (2, 2)
    assert {n: e["treatment"]["id"] for n, e in manifest(out).items()} == {1: "hair", 3: "hair"}
    conflict = ("the record names {}, not 'hair' given for the batch: leave TREATMENT out to make each "
                "record's own treatment, or correct the record")
    assert error_rows(out) == [
        ["2", "export.csv", "treatment", conflict.format("treatment 'knee-injection'")],
        ["4", "export.csv", "treatment", conflict.format("a treatment that is not a known treatment id")],
    ]


def test_one_read_records_result_makes_the_forms_of_two_batches(tmp_path):
    """The records read_records returns can be given to two batches: each reads the export again and makes
    every form (a one-shot iterator would leave the second batch with no records and no word of it)."""
    path, mapping = export(tmp_path, [("hair", "en"), ("iv-infusion", "es")])
    records, clinic = read_records([path], mapping=mapping), consent.load_clinic(CLINIC)
    results = [consent.run_batch(None, records, clinic=clinic, out_dir=tmp_path / folder, date=DATE,
                                 formats=["docx"], jobs=1) for folder in ("a", "b")]
    assert [(r.total, r.written, r.skipped, r.failed) for r in results] == [(2, 2, 0, 0), (2, 2, 0, 0)]
    assert manifest(tmp_path / "a") == manifest(tmp_path / "b")
    assert {n: e["treatment"]["id"] for n, e in manifest(tmp_path / "b").items()} == {1: "hair", 2: "iv-infusion"}
    assert sorted(p.name for p in (tmp_path / "a" / "forms").iterdir()) == sorted(
        p.name for p in (tmp_path / "b" / "forms").iterdir())


def test_fhir_export_without_treatment_gives_record_errors(tmp_path, capsys):
    """A FHIR export names no treatment: without TREATMENT each of its records is an error row, no form."""
    out = tmp_path / "out"
    code, stdout, _ = run_cli(capsys, "batch", "--from", str(PETER), "--clinic", str(CLINIC), "--out", str(out),
                              "--jobs", "1")
    assert code == 1
    assert stdout.startswith("1 record(s): 0 form(s) written, 0 already complete, 1 failed")
    assert error_rows(out) == [["1", PETER.name, "treatment", "the record names no treatment: give TREATMENT on "
                                                               "the command line or a treatment column"]]
    assert list((out / "forms").iterdir()) == []


def test_a_column_mapped_to_treatment(tmp_path):
    """The mapping may name another column as the treatment; the library takes treatment=None too (and
    refuses records passed where the treatment goes, before making any folder)."""
    path, _ = export(tmp_path, [("iv-infusion", "en")], column="Procedure")
    mapping = tmp_path / "procedure.yaml"
    mapping.write_text(MAPPING + "  treatment: Procedure\n", encoding="utf-8")
    out = tmp_path / "out"
    result = consent.run_batch(records=read_records([path], mapping=mapping), clinic=consent.load_clinic(CLINIC),
                               out_dir=out, date=DATE, formats=["docx"], jobs=1)
    assert (result.written, result.failed) == (1, 0)
    assert manifest(out)[1]["treatment"]["id"] == "iv-infusion"
    with pytest.raises(TypeError, match="treatment is a treatment id or None"):
        consent.run_batch(list(read_records([path], mapping=mapping)), clinic=consent.load_clinic(CLINIC),
                          out_dir=tmp_path / "wrong")
    assert not (tmp_path / "wrong").exists()


def test_rerun_skips_every_form_and_remakes_the_one_whose_treatment_changed(tmp_path):
    """Run again on the same export: every form skipped. Change one record's treatment: that form alone is
    remade, of its new treatment, and the files of its old form are gone; the others keep their files."""
    rows = [("knee-injection", "en"), ("iv-infusion", "es"), ("hair", "en")]
    path, mapping = export(tmp_path, rows)
    clinic, out = consent.load_clinic(CLINIC), tmp_path / "out"

    def run() -> consent.BatchResult:
        return consent.run_batch(None, read_records([path], mapping=mapping), clinic=clinic, out_dir=out, date=DATE,
                                 formats=["docx"], jobs=1)

    assert run().written == 3
    first = manifest(out)
    files = {p.name: p.read_bytes() for p in (out / "forms").iterdir()}
    again = run()
    assert (again.written, again.skipped, again.failed) == (0, 3, 0)
    path, _ = export(tmp_path, [rows[0], ("hair", "es"), rows[2]])
    third = run()
    assert (third.written, third.skipped, third.failed) == (1, 2, 0)
    last = manifest(out)
    assert last[1] == first[1] and last[3] == first[3]
    assert last[2]["treatment"]["id"] == "hair" and last[2]["form_id"] != first[2]["form_id"]
    docx = (out / "forms" / f"rec-000002_{last[2]['form_id']}.docx").read_bytes()
    assert TITLES[("hair", "es")] in " ".join(words(docx_all_text(docx)))
    old = f"rec-000002_{first[2]['form_id']}.docx"
    assert {p.name: p.read_bytes() for p in (out / "forms").iterdir()} == {
        **{name: data for name, data in files.items() if name != old}, Path(next(iter(last[2]["files"]))).name: docx}


def test_the_mixed_example_of_the_readme(capsys, tmp_path):
    """examples/ehr-batch/procedures.csv as its README says: four forms of three treatments in two
    languages, and record 5 (knee-surgery, not a treatment id) an error row, exit 1."""
    folder = EXAMPLES.parent / "ehr-batch"
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "batch", "--from", str(folder / "procedures.csv"), "--mapping",
                         str(folder / "mapping-procedures.yaml"), "--clinic", str(CLINIC), "--date", "2026-11-21",
                         "--out", str(out), "--jobs", "1")
    assert code == 1
    made = {n: (e["treatment"]["id"], e["language"]) for n, e in manifest(out).items()}
    assert made == {1: ("knee-injection", "en"), 2: ("iv-infusion", "es"), 3: ("hair", "en"), 4: ("hair", "es")}
    for number, key in made.items():
        pdf = next((out / "forms").glob(f"rec-{number:06d}_*.pdf")).read_bytes()
        assert " ".join(words(TITLES[key])) in " ".join(words(pdf_pages(pdf)[0]))
    [row] = error_rows(out)
    assert row[0] == "5" and row[2] == "treatment" and "knee-injection" in row[3]
    assert no_partial_files(out)
