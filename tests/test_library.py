"""Clause, treatment and pack files: loading, overriding, and loud errors for every mistake."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import DATE, build_tree, docx_all_text, make_clinic, pdf_pages, words

import consent
from consent.library.loader import Library, resolve_language

KEY_INFO = "clauses/key-information.yaml"


def test_stock_library_loads_without_problems():
    """The shipped clauses and treatments are all valid."""
    lib = Library()
    assert lib.problems == []
    assert set(lib.treatments) == {"knee-injection", "iv-infusion", "hair"}
    assert lib.treatment("hair").clauses[0] == "key-information"


def test_pack_overrides_a_clause_with_its_own_version(tmp_path, clinic, patient, render_both):
    """A pack clause with a built-in id replaces it; the manifest shows the pack and its version."""
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": """
        id: benefits
        version: "1.0-sunrise.1"
        title: What you may gain
        elements: [benefits]
        body:
          - p: Our own words about benefits for {{ patient.full_name }}. No result is promised.
    """})
    form = consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE, packs=[pack])
    ref = next(c for c in form.manifest.clauses if c.id == "benefits")
    assert (ref.version, ref.source) == ("1.0-sunrise.1", "pack:pack")
    pdf, docx_bytes = render_both(form)
    expected = "Our own words about benefits for Ada O'Connor. No result is promised."
    assert expected in " ".join(words(" ".join(pdf_pages(pdf))))
    assert expected in docx_all_text(docx_bytes)


def test_pack_may_not_shadow_a_clause_under_the_same_version(tmp_path):
    """Replacing a built-in clause without a new version is an error, not a silent swap."""
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": """
        id: benefits
        version: "1.0"
        title: Benefits
        elements: [benefits]
        body:
          - p: Changed text.
    """})
    with pytest.raises(consent.ContentError) as info:
        Library([pack]).raise_problems()
    assert str(info.value).splitlines()[1] == (
        f"  - {pack}/clauses/benefits.yaml: pack:pack replaces the built-in clause 'benefits' but keeps its "
        "version '1.0'; give the replacement its own version"
    )


def test_pack_adds_a_treatment_without_python(tmp_path, clinic, patient):
    """A new treatment is one YAML file in the pack's templates/treatments/."""
    stock = Library().treatment("hair")
    pack = build_tree(tmp_path / "pack", {"templates/treatments/prp-elbow.yaml": f"""
        id: prp-elbow
        version: "0.1"
        name: Exosome elbow injection
        description: An injection of an exosome product into the elbow.
        purpose: We hope it will ease elbow pain.
        clauses: {list(stock.clauses)}
        route: an injection near the elbow tendon
        product: exosomes made from donated cells
        session_length: about 30 minutes
        usual_sessions: one session
        steps: [We clean the skin., We inject the product.]
        common_effects: [Pain where the needle went in.]
        rare_effects: [Infection.]
        aftercare: [Rest your arm for a day.]
        urgent_signs: [Fever or spreading redness.]
        evidence: [There are no large studies for elbows.]
        product_identity:
          maker: Elbow Biologics, Inc.
          source_tissue: Donated umbilical cord tissue
          donor_screening: HIV and hepatitis B and C
    """})
    form = consent.build("prp-elbow", patient=patient, clinic=make_clinic(), date=DATE, packs=[pack])
    assert form.manifest.treatment_id == "prp-elbow"
    assert "Exosome elbow injection" in form.title


def test_every_problem_in_a_clause_file_is_reported_with_file_and_line(tmp_path):
    """Unknown keys, bad element names, bad blocks and a numeric version: all reported, each with its line."""
    pack = build_tree(tmp_path / "pack", {"clauses/extra.yaml": """
        id: extra
        version: 1.0
        title: Extra
        elemnts: [risks]
        elements: [riskz]
        body:
          - p: Fine.
          - para: Wrong block name.
          - ul: []
    """})
    lib = Library([pack])
    path = f"{pack}/clauses/extra.yaml"
    assert [str(p) for p in lib.problems] == [
        f"{path}:4: elemnts: unknown key 'elemnts' (allowed: id, version, title, elements, body, initials, "
        "screening, variants, kind, states, citation, wording, verbatim, review, exempt_with, exempt_when, "
        "only_with, outside_study, specialties, providers, facilities, unchecked, own_page, min_type_pt, when)",
        f'{path}:2: version must be a quoted string such as "1.0" (got 1.0)',
        f"{path}:5: elements[0]: unknown consent element 'riskz' (known: key-information, description, "
        "investigational, risks, benefits, alternatives, confidentiality, injury, contacts, voluntary, "
        "unforeseeable-risks, provider-may-stop, costs, consequences-of-stopping, new-findings, signature, "
        "research-statement, research-duration, research-subjects, clinicaltrials-gov, future-use, "
        "research-rights-contact, research-procedures, fda-inspection, research-withdrawal)",
        f"{path}:8: body[1]: a block needs exactly one of p, strong, h, ul, ul_from, notice, checklist, fees, "
        "product, signatures (plus optional 'only', 'verbatim'); got para",
        f"{path}:9: body[2].ul: ul must be a non-empty list of text items",
    ]


def test_duplicate_yaml_keys_and_broken_yaml_are_errors(tmp_path):
    """A key given twice (the second would silently win) and unparsable YAML are both errors."""
    pack = build_tree(tmp_path / "pack", {
        "clauses/twice.yaml": "id: twice\nversion: '1'\ntitle: A\ntitle: B\nelements: []\nbody: [{p: x}]\n",
        "clauses/broken.yaml": "id: [unclosed\n",
    })
    messages = [str(p) for p in Library([pack]).problems]
    assert f"{pack}/clauses/twice.yaml: not valid YAML: line 4: duplicate key 'title'" in messages
    assert any(m.startswith(f"{pack}/clauses/broken.yaml: not valid YAML:") for m in messages)


def test_misspelt_variable_is_an_error_naming_file_and_line(tmp_path, clinic, patient):
    """A clause that uses an undefined variable fails the build; nothing is printed blank."""
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": """
        id: benefits
        version: "9"
        title: Benefits
        elements: [benefits]
        body:
          - p: Hello {{ patient.fullname }}.
    """})
    with pytest.raises(consent.ContentError) as info:
        consent.build("hair", patient=patient, clinic=clinic, date=DATE, packs=[pack])
    assert str(info.value) == (
        "1 problem(s) while filling in the clauses\n"
        f"  - {pack}/clauses/benefits.yaml:6: body[0]: 'dict object' has no attribute 'fullname'"
    )


def test_clause_text_cannot_escape_the_sandbox(tmp_path, clinic, patient):
    """Clinic-edited clause text runs in Jinja's immutable sandbox: no attribute tricks, no mutation."""
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": """
        id: benefits
        version: "9"
        title: Benefits
        elements: [benefits]
        body:
          - p: "{{ patient.__class__.__mro__ }}"
    """})
    with pytest.raises(consent.ContentError, match="__class__"):
        consent.build("hair", patient=patient, clinic=clinic, date=DATE, packs=[pack])


def test_template_resources_outside_the_template_folder_are_refused(tmp_path, clinic, patient):
    """A pack stylesheet pointing at a file outside the template folders stops the PDF render."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    css = (Path(consent.__file__).parent / "templates" / "form.css").read_text()
    pack = build_tree(tmp_path / "pack", {"templates/form.css": css + f"\nbody {{ background: url({secret.as_uri()}); }}\n"})
    build_tree(pack / "templates", {})
    (pack / "templates" / "fonts").symlink_to(Path(consent.__file__).parent / "templates" / "fonts")
    with pytest.raises(consent.RenderError, match="outside the template folders"):
        consent.build("hair", patient=patient, clinic=clinic, date=DATE, packs=[pack]).to_pdf()


@pytest.mark.parametrize(
    ("code", "expected"),
    [("es", "es"), ("es-MX", "es"), ("es_US", "es"), ("spa", "es"), ("en-US", "en"), ("eng", "en"),
     ("zh", None), ("", None), (None, None)],
)
def test_language_codes_are_resolved(code, expected):
    """ISO 639-1, 639-2 and regional codes map to a form language when one exists."""
    assert resolve_language(code, ["en", "es"]) == expected


def test_unknown_preferred_language_falls_back_to_english_with_a_warning(clinic):
    """A patient who prefers Traditional Chinese (no stock form) gets an English form and a warning."""
    patient = consent.Patient(full_name="Li Wei", birth_date=dt.date(1990, 5, 5), preferred_language="zh-TW")
    with pytest.warns(consent.LanguageFallbackWarning, match="preferred language 'zh-TW' is not available"):
        form = consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    assert form.language == "en"
