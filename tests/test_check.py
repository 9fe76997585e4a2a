"""`consent check` and the checks `render` enforces: structure, coverage, readability, claims, notices."""

from __future__ import annotations

import json
import socket
import textwrap
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from helpers import (
    CA,
    DATE,
    EXAMPLES,
    UT,
    build_tree,
    docx_all_text,
    make_clinic,
    make_study,
    pdf_pages,
    words,
)

import consent
from consent.check import check
from consent.cli import main


def clause(cid: str, version: str, body: str, elements: str = "[benefits]", **extra: str) -> str:
    lines = [f"id: {cid}", f'version: "{version}"', "title: Test clause", f"elements: {elements}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    lines += ["body:", *("  " + ln for ln in textwrap.dedent(body).strip().splitlines())]
    return "\n".join(lines) + "\n"


def rules_of(report, severity="error"):
    return sorted({f.rule for f in report.findings if f.severity == severity and not f.acknowledged})


# ------------------------------------------------------------------ the stock library


def test_stock_library_passes_with_zero_errors(capsys):
    """CI's gate: `consent check` on every stock treatment and language has no errors."""
    report = check()
    assert report.errors == (), "\n".join(map(str, report.errors))
    assert report.rule_count >= 19
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    # 4 for counsel, and 6 saying a Chinese form's readability is sentence length only (3 forms, and their
    # study variants)
    assert out.splitlines()[-1].startswith("0 error(s), 10 warning(s), 0 acknowledged; ")


def test_stock_readability_meets_the_thresholds():
    """Key information grade <= 8 and ease >= 60, other clauses grade <= 10, whole form grade <= 8.5."""
    report = check(languages=["en"])
    figures = [f for f in report.figures if f.language == "en"]
    assert {f.treatment for f in figures} == {"knee-injection", "iv-infusion", "hair"}
    for fig in figures:
        if fig.scope == "key-information":
            assert fig.score("fk-grade") <= 8 and fig.score("reading-ease") >= 60
        elif fig.scope == "(whole form)":
            assert fig.score("fk-grade") <= 8.5
        else:
            assert fig.score("fk-grade") <= 10


def test_readability_needs_no_network(monkeypatch):
    """textstat must not download anything: with sockets disabled, scores are still computed."""
    from consent.check._readability import scores

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    en = dict(scores("You may say no. You can stop at any time.", "en"))
    es = dict(scores("Puede decir que no. Puede parar cuando quiera.", "es"))
    assert en["fk-grade"] < 3 and en["reading-ease"] > 90
    assert es["szigriszt-pazos"] > 80


# ------------------------------------------------------------------ structure


def test_all_structure_problems_in_one_report(tmp_path):
    """Unknown keys, missing version, unknown clause ids, duplicates and bad variables: one report."""
    pack = build_tree(tmp_path / "pack", {
        "clauses/extra.yaml": "id: extra\ntitle: X\nelements: []\ncolour: red\nbody:\n  - p: x\n",
        "clauses/spelling.yaml": clause("spelling", "1", """
            - p: "{% if study %}Study {{ study.ind_numbr }}{% endif %} for {{ patient.name }}."
        """),
        "templates/treatments/broken.yaml": (EXAMPLES.parents[1] / "templates" / "treatments" / "hair.yaml")
        .read_text().replace("id: hair", "id: broken").replace("- key-information", "- key-informaton")
        .replace("[key-information,", "[key-informaton, benefits, benefits,"),
    })
    report = check(["broken"], packs=[pack])
    messages = [str(f) for f in report.errors]
    extra = f"{pack}/clauses/extra.yaml"
    spelling = f"{pack}/clauses/spelling.yaml"
    assert any(m.startswith("error structure.invalid: colour: unknown key 'colour'") and f"({extra}:4)" in m
               for m in messages), messages
    assert f"error structure.invalid: missing required key 'version' ({extra}:1)" in messages
    assert any(m.startswith("error structure.unknown-variable clause spelling: body[0]: unknown variable "
                            "study.ind_numbr (known: clinicaltrials_gov, duration, future_use, ide_number, "
                            "ind_number, irb_contact, irb_name, nct_id, procedures, procedures_experimental, "
                            "procedures_usual, protocol, purpose, samples, subjects)")
               for m in messages)
    assert any("unknown variable patient.name (known: birth_date, full_name, mrn)" in m and spelling in m
               for m in messages)
    assert any(m.startswith("error structure.unknown-clause [broken]: the clause list names unknown clause "
                            "'key-informaton'") for m in messages)
    assert any(m.startswith("error structure.duplicate-clause [broken]: clause 'benefits' is listed twice")
               for m in messages)


# ------------------------------------------------------------------ coverage


def test_missing_element_and_key_information_not_first(tmp_path, patient, clinic):
    """A treatment without the alternatives clause misses that element; key information must lead."""
    stock = consent.get_library().treatment("hair")
    ids = [c for c in stock.clauses if c != "alternatives"]
    ids = ids[1:2] + ids[:1] + ids[2:]
    text = (Path(consent.__file__).parent / "templates" / "treatments" / "hair.yaml").read_text()
    text = text.replace("id: hair", "id: hair-lite")
    start = text.index("clauses:")
    end = text.index("\n", start)
    text = text[:start] + f"clauses: [{', '.join(ids)}]" + text[end:]
    text += "product_identity: {maker: Lite Labs, source_tissue: Donated placenta, donor_screening: HIV}\n"
    pack = build_tree(tmp_path / "pack", {"templates/treatments/hair-lite.yaml": text})
    report = check(["hair-lite"], packs=[pack], languages=["en"])
    messages = [str(f) for f in report.errors]
    assert messages == [
        "error coverage.element-missing [hair-lite/en]: no clause of the form covers the consent element "
        f"'alternatives' ({pack}/templates/treatments/hair-lite.yaml:1)",
        "error coverage.key-information-first [hair-lite/en] clause treatment-description: the first section "
        f"must be the key-information section (45 CFR 46.116(a)(5)(i)) ({pack}/templates/treatments/hair-lite.yaml:1)",
    ]
    with pytest.raises(consent.CheckFailed) as info:
        consent.build("hair-lite", patient=patient, clinic=make_clinic(), date=DATE, packs=[pack])
    assert str(info.value).startswith("the hair-lite form fails 2 compliance check(s)")


# ------------------------------------------------------------------ readability

HARD = ("Notwithstanding the aforementioned considerations, individuals contemplating administration of "
        "investigational biological preparations should comprehensively evaluate potential immunological "
        "complications, contraindications, and unanticipated pharmacological interactions.")


def test_hard_clause_fails_readability_and_thresholds_are_configurable(tmp_path):
    """A clause above grade 10 is an error; a pack may set its own threshold."""
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": clause("benefits", "2", f"- p: {HARD}")})
    report = check(["hair"], packs=[pack], languages=["en"])
    hard = [f for f in report.errors if f.rule == "readability.clause-grade"]
    assert len(hard) == 1
    assert hard[0].clause == "benefits" and hard[0].line == 6 and hard[0].file.endswith("benefits.yaml")
    assert hard[0].message.startswith("Flesch-Kincaid grade ") and hard[0].message.endswith(" is above 10")
    lenient = build_tree(tmp_path / "lenient", {
        "clauses/benefits.yaml": clause("benefits", "2", f"- p: {HARD}"),
        "templates/rules/settings.yaml": "readability:\n  en:\n    clause_max_grade: 60\n",
    })
    report = check(["hair"], packs=[lenient], languages=["en"])
    assert "readability.clause-grade" not in rules_of(report)


# ------------------------------------------------------------------ claims


def test_forbidden_claim_blocks_render_unless_allowed(tmp_path, patient, clinic, capsys):
    """A clause that says "FDA-approved" fails check, blocks render, and with the flag lands in the manifest."""
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": clause(
        "benefits", "3", "- p: Our exosomes are FDA-approved and risk-free.")})
    report = check(["knee-injection"], packs=[pack], languages=["en"])
    assert rules_of(report) == ["claim.fda-approved", "claim.no-risk"]
    hit = next(f for f in report.errors if f.rule == "claim.fda-approved")
    assert (hit.clause, hit.line, hit.text) == ("benefits", 6, "Our exosomes are FDA-approved and risk-free.")

    out = tmp_path / "out"
    argv = ["render", "knee-injection", "--patient", str(EXAMPLES / "patient-ada.yaml"), "--clinic",
            str(EXAMPLES / "clinic.yaml"), "--pack", str(pack), "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the knee-injection form fails 2 compliance check(s)\n")
    assert "Hint: fix the clause text, or render anyway with --allow-check-errors" in err
    assert not out.exists()

    assert main([*argv, "--allow-check-errors", "--format", "pdf"]) == 0
    captured = capsys.readouterr()
    assert "Warning: written despite a check error: error claim.fda-approved" in captured.err
    pdf = Path(captured.out.strip()).read_bytes()
    import io

    import pypdf

    manifest = json.loads(pypdf.PdfReader(io.BytesIO(pdf)).metadata["/consentmanifest"])
    assert [e.split(" ")[1] for e in manifest["check_errors"]] == ["claim.fda-approved", "claim.no-risk"]


def test_non_refundable_is_a_warning_a_pack_can_acknowledge(tmp_path, patient, clinic):
    """Non-refundable terms warn; acknowledged in the pack, the form records the acknowledgement."""
    c = make_clinic(fees=consent.FeeSchedule(price_per_session=Decimal("900"), planned_sessions=1,
                                             refund_policy="Payment is non-refundable once treatment starts."))
    report = consent.check.check(["hair"], languages=["en"])
    assert "claim.non-refundable" not in rules_of(report, "warning")
    form = consent.build("hair", patient=patient, clinic=c, date=DATE)
    assert form.manifest.acknowledged == ()
    pack = build_tree(tmp_path / "pack", {"templates/rules/settings.yaml": """
        acknowledge:
          - rule: claim.non-refundable
            reason: Refund terms approved by counsel on 2026-10-01.
    """})
    form = consent.build("hair", patient=patient, clinic=c, date=DATE, packs=[pack])
    assert form.manifest.acknowledged == ("claim.non-refundable: Refund terms approved by counsel on 2026-10-01.",)
    assert form.manifest_dict()["acknowledged"] == list(form.manifest.acknowledged)


def test_error_rules_cannot_be_acknowledged(tmp_path):
    """Acknowledging an error rule (or an unknown one) is itself an error."""
    pack = build_tree(tmp_path / "pack", {"templates/rules/settings.yaml": """
        acknowledge:
          - rule: claim.cure
            reason: We like it.
          - rule: claim.nope
            reason: Typo.
    """})
    messages = [str(f) for f in check(["hair"], packs=[pack], languages=["en"]).errors]
    assert "error structure.settings: rule 'claim.cure' cannot be acknowledged: the form must not say this" in messages
    assert "error structure.settings: acknowledged rule 'claim.nope' does not exist" in messages


# ------------------------------------------------------------------ state notices and IND status



@pytest.mark.parametrize(("state", "text", "citation"), [
    ("CA", CA, "California Business and Professions Code section 684"),
    ("UT", UT, "Utah Code section 58-1-512"),
])
def test_statutory_notice_is_verbatim_near_the_top_in_both_outputs(state, text, citation, patient, render_both):
    """California and Utah forms carry the statutory words exactly, with the citation, after key information."""
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state=state), date=DATE)
    assert [s.clause_id for s in form.sections][:2] == ["key-information", f"state-notice-{state.lower()}"]
    notice = form.sections[1].blocks[0]
    assert notice.text == text
    assert notice.citation == citation
    pdf, docx_bytes = render_both(form)
    flat_pdf = " ".join(words(" ".join(pdf_pages(pdf))))
    assert text in flat_pdf and citation in flat_pdf
    assert text in " ".join(words(docx_all_text(docx_bytes)))


@pytest.mark.parametrize(("state", "study"), [
    ("WA", None), ("FL", None), ("TX", make_study(irb_name="Gulf Coast IRB", protocol="TX-01")),
])
def test_review_required_notices_warn_until_confirmed(state, study, patient):
    """Washington, Florida and Texas notices are added (Texas: to a treatment in an IRB-overseen study),
    and check warns that counsel must confirm them."""
    report = check(["hair"], languages=["en"])
    assert any(f.rule == "notice.review-required" and f.clause == f"state-notice-{state.lower()}"
               for f in report.warnings)
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state=state, study=study), date=DATE)
    assert form.sections[1].clause_id == f"state-notice-{state.lower()}"


def test_state_without_a_rule_adds_nothing(patient):
    """Idaho has no stem-cell notice law in the library: no notice section."""
    form = consent.build("hair", patient=patient, clinic=make_clinic(state="ID"), date=DATE)
    assert not [s for s in form.sections if s.kind == "state-notice"]


def test_ind_study_changes_the_fda_clause_and_exempts_california(patient):
    """Under an IND the FDA-status clause names it, and the California notice is not added when the clinic
    states that its provider holds the IND (684(c)); an IND alone keeps it (tests/test_states.py)."""
    study = make_study(ind_number="IND 31337", irb_name="Western Coast IRB", ind_holder=True)
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="CA", study=study), date=DATE)
    ids = [s.clause_id for s in form.sections]
    assert "state-notice-ca" not in ids
    kept = consent.build("knee-injection", patient=patient, clinic=make_clinic(
        state="CA", study=attrs.evolve(study, ind_holder=False)), date=DATE)
    assert "state-notice-ca" in [s.clause_id for s in kept.sections]
    fda = next(s for s in form.sections if s.clause_id == "fda-status")
    text = " ".join(getattr(b, "text", "") for b in fda.blocks)
    assert "IND 31337" in text and "Western Coast IRB" in text
    assert "not given to you as part of a research study" not in text
    plain = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="CA"), date=DATE)
    plain_text = " ".join(getattr(b, "text", "") for s in plain.sections if s.clause_id == "fda-status"
                          for b in s.blocks)
    assert "It is not given to you as part of a research study." in plain_text


def test_study_needs_an_ind_or_irb(patient):
    with pytest.raises(consent.InputError, match="clinic.study needs an FDA IND number"):
        consent.build("hair", patient=patient, clinic=make_clinic(study=consent.Study()), date=DATE)


# ------------------------------------------------------------------ the command


def test_check_command_json_and_exit_codes(tmp_path, capsys):
    """--format json is machine-readable; exit 1 only when there are errors."""
    assert main(["check", "hair", "--format", "json", "--language", "en"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["errors"] == 0 and data["rules"] >= 19
    assert {r["scope"] for r in data["readability"]} >= {"key-information", "(whole form)"}
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": clause(
        "benefits", "4", "- p: This miracle treatment cures arthritis.")})
    assert main(["check", "hair", "--pack", str(pack), "--language", "en"]) == 1
    out = capsys.readouterr().out
    assert "error claim.cure [hair/en] clause benefits:" in out
    assert "error claim.hype [hair/en] clause benefits:" in out
    assert out.splitlines()[-1].startswith("2 error(s), ")
