"""The clinic's legal position, which no form can fix (issue 26, points 1 and 2): a product given without
an FDA IND, a study with a review board alone, and charging the people in a study."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
import yaml
from helpers import DATE, EXAMPLES, IRB_ONLY_ACKNOWLEDGED, build_tree, make_clinic, make_study, pdf_pages, words
from helpers import run_cli as run

import consent
from consent.check import check

CLINIC = EXAMPLES / "clinic.yaml"
ADA = str(EXAMPLES / "patient-ada.yaml")


def findings(report: consent.check.Report, rule: str) -> list[consent.check.Finding]:
    return [f for f in report.findings if f.rule == rule]


def acknowledging(tmp_path: Path, *rules: str) -> Path:
    items = "\n".join(f"  - rule: {r}\n    reason: Reviewed by counsel on 2026-11-30 (memo 14)." for r in rules)
    return build_tree(tmp_path / "pack", {"templates/rules/settings.yaml": f"acknowledge:\n{items}\n"})


def clinic_file(tmp_path: Path, study: dict[str, object] | None) -> str:
    """The example clinic's file, with ``study`` as its study."""
    data = yaml.safe_load(CLINIC.read_text(encoding="utf-8"))
    data["study"] = study
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


STUDY = {
    "irb_name": "Western Coast IRB", "purpose": {"en": "To learn if it is safe.", "es": "Saber si es seguro."},
    "duration": {"en": "about 12 months", "es": "unos 12 meses"}, "subjects": 40,
    "irb_contact": "(415) 555-0177", "clinicaltrials_gov": True, "future_use": "none",
    "procedures": [{"what": {"en": "The study treatment.", "es": "El tratamiento del estudio."}, "experimental": True}],
    "samples": [],
}


# ------------------------------------------------------------------ 1. no IND: a warning, once


def test_a_clinic_without_an_ind_is_told_once_that_the_form_does_not_make_the_sale_lawful():
    """The stock clinic gives unapproved products with no IND: `consent check` says so once (not per
    form), as a warning with FDA's position and its sources, and how counsel acknowledges it."""
    report = check(clinic=CLINIC)
    [found] = findings(report, "legal.no-ind")
    assert found.severity == "warning" and found in report.warnings
    assert (found.treatment, found.language, found.variant) == (None, None, None)
    for words_ in ("documents the sale, it does not make it lawful", "likely being deceived",
                   "Important Patient and Consumer Information About Regenerative Medicine Therapies",
                   "Public Safety Notification on Exosome Products", "warning letters",
                   "acknowledge: [{rule: legal.no-ind, reason: <counsel's reason>}]"):
        assert words_ in found.message
    assert report.errors == ()


def test_the_check_command_prints_the_no_ind_warning_once(capsys):
    code, out, _ = run(capsys, "check", "--clinic", str(CLINIC))
    assert code == 0
    assert [line for line in out.splitlines() if "legal.no-ind" in line][0].startswith("warning legal.no-ind: ")
    assert sum("legal.no-ind:" in line for line in out.splitlines()) == 1


def test_under_an_ind_there_is_no_legal_finding(patient):
    form = consent.build("hair", patient=patient, clinic=make_clinic(study=make_study()), date=DATE)
    report = consent.check.check_form(form, [], consent.get_library())
    assert not [f for f in report.findings if f.rule.startswith("legal.")]


def test_counsel_acknowledges_the_no_ind_warning_and_every_manifest_records_it(tmp_path, patient, capsys):
    """Acknowledged in the pack's settings with counsel's reason: no longer a warning; the form's manifest,
    embedded in the PDF, records the rule and the reason."""
    pack = acknowledging(tmp_path, "legal.no-ind")
    report = check(["hair"], packs=[pack], languages=["en"])
    [found] = findings(report, "legal.no-ind")
    assert found not in report.warnings and found in report.acknowledged
    assert found.acknowledged == "Reviewed by counsel on 2026-11-30 (memo 14)."
    form = consent.build("hair", patient=patient, clinic=make_clinic(), date=DATE, packs=[pack])
    assert form.manifest.acknowledged == ("legal.no-ind: Reviewed by counsel on 2026-11-30 (memo 14).",)
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "render", "hair", "--patient", ADA, "--clinic", str(CLINIC), "--pack", str(pack),
                          "--out", str(out), "--format", "pdf")
    assert code == 0
    manifest = json.loads(pypdf.PdfReader(io.BytesIO(Path(stdout.strip()).read_bytes())).metadata["/consentmanifest"])
    assert manifest["acknowledged"] == ["legal.no-ind: Reviewed by counsel on 2026-11-30 (memo 14)."]


def test_a_misspelt_legal_rule_is_not_acknowledged(tmp_path):
    pack = acknowledging(tmp_path, "legal.no-inds")
    messages = [str(f) for f in check(["hair"], packs=[pack], languages=["en"]).errors]
    assert "error structure.settings: acknowledged rule 'legal.no-inds' does not exist" in messages


# ------------------------------------------------------------------ 2. a review board alone: an error


def test_a_study_with_a_review_board_alone_is_an_error_naming_312(patient):
    study = make_study(ind_number=None)
    with pytest.raises(consent.CheckFailed) as caught:
        consent.build("hair", patient=patient, clinic=make_clinic(study=study), date=DATE)
    [problem] = [p.message for p in caught.value.problems if "legal.irb-only-study" in p.message]
    assert "21 CFR 312.2(a), 312.20" in problem and "Give clinic.study.ind_number" in problem
    report = check(["hair"], clinic=make_clinic(study=study), languages=["en"])
    assert [f.rule for f in report.errors] == ["legal.irb-only-study"]


def test_an_ide_study_is_not_a_review_board_alone(patient):
    """An IDE (a device study) is not an IRB alone: no error, but the product still has no IND (warning)."""
    study = make_study(ind_number=None, ide_number="G210042")
    form = consent.build("hair", patient=patient, clinic=make_clinic(study=study), date=DATE)
    report = consent.check.check_form(form, [], consent.get_library())
    assert sorted(f.rule for f in report.findings if f.rule.startswith("legal.")) == ["legal.no-ind"]


def test_the_cli_refuses_a_review_board_alone_and_leaves_no_file(tmp_path, capsys):
    out = tmp_path / "out"
    clinic = clinic_file(tmp_path, STUDY)
    code, _, err = run(capsys, "render", "hair", "--patient", ADA, "--clinic", clinic, "--out", str(out))
    assert code == 1
    assert "legal.irb-only-study" in err and "21 CFR 312.2(a)" in err
    assert not out.exists() or not any(out.iterdir())


def test_counsel_may_acknowledge_a_review_board_alone(tmp_path, patient, capsys):
    """Only with counsel's reason in the pack: then the form is made, says the study has no IND, and its
    manifest records the acknowledgement."""
    study = make_study(ind_number=None)
    form = consent.build("hair", patient=patient, clinic=make_clinic(study=study), date=DATE,
                         packs=[IRB_ONLY_ACKNOWLEDGED])
    assert form.manifest.acknowledged[0].startswith("legal.irb-only-study: ")
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "render", "hair", "--patient", ADA, "--clinic", clinic_file(tmp_path, STUDY),
                          "--pack", str(IRB_ONLY_ACKNOWLEDGED), "--out", str(out), "--format", "pdf")
    assert code == 0
    text = " ".join(words(" ".join(pdf_pages(Path(stdout.strip()).read_bytes()))))
    assert "The study does not have an IND or an IDE." in text


# ------------------------------------------------------------------ 2. charging in a study: 312.8


@pytest.mark.parametrize(("authorization", "price", "warned"), [
    (None, "900", True),
    ("FDA letter of 2026-03-02", "900", False),
])
def test_charging_in_a_study_warns_unless_fda_authorised_it(authorization, price, warned, patient):
    """Every fee schedule has a price above zero (an InputError otherwise), so a study always charges."""
    study = make_study(charging_authorization=authorization)
    fees = consent.FeeSchedule(price_per_session=Decimal(price), planned_sessions=1)
    form = consent.build("hair", patient=patient, clinic=make_clinic(study=study, fees=fees), date=DATE)
    report = consent.check.check_form(form, [], consent.get_library())
    found = findings(report, "legal.study-charging")
    assert bool(found) is warned
    if warned:
        assert found[0].severity == "warning"
        assert "21 CFR 312.8" in found[0].message and "312.7" in found[0].message
        assert "clinic.study.charging_authorization" in found[0].message


def test_a_charging_authorization_must_be_text(tmp_path, capsys):
    code, _, err = run(capsys, "render", "hair", "--patient", ADA, "--clinic",
                       clinic_file(tmp_path, {**STUDY, "ind_number": "IND 1", "charging_authorization": " "}),
                       "--out", str(tmp_path / "out"))
    assert code != 0
    assert "clinic.study.charging_authorization must not be empty" in err


def test_the_readme_says_it_plainly():
    readme = " ".join(words((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")))
    assert "A form does not make an unlawful sale lawful" in readme
