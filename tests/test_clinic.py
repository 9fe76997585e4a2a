"""The clinic's own data on each form: a fee schedule per treatment, and its text in the form's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from helpers import DATE, EXAMPLES, docx_body_lines, make_clinic, pdf_body_words, words

import consent
from consent.check import check
from consent.cli import main

ADA = consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1985, 12, 1), mrn="SRH-000101")


def texts(form: consent.Form) -> tuple[str, str]:
    """The words of the PDF body and of the DOCX body, each as one string."""
    pdf, docx_bytes = form.to_pdf(), form.to_docx()
    return " ".join(pdf_body_words(form, pdf)), " ".join(words("\n".join(docx_body_lines(docx_bytes))))


@pytest.fixture(scope="module")
def example_clinic() -> consent.Clinic:
    return consent.load_clinic(EXAMPLES / "clinic.yaml")


# ------------------------------------------------------------------ fees per treatment


@pytest.mark.parametrize(("treatment", "per_session", "sessions", "total", "item"), [
    ("knee-injection", "$1,850.00", "2", "$3,700.00", "Ultrasound guidance when it is needed"),
    ("iv-infusion", "$2,400.00", "1", "$2,400.00", "A phone call from our nurse the next day"),
    ("hair", "$950.00", "3", "$2,850.00", "Numbing cream"),
])
def test_each_treatment_prints_its_own_fee_schedule(example_clinic, treatment, per_session, sessions, total, item):
    """The example clinic charges differently for knee, IV and hair: each form's fee table, in the PDF and
    the DOCX, shows that treatment's price, sessions, total and items."""
    form = consent.build(treatment, patient=ADA, clinic=example_clinic, date=DATE)
    for text in texts(form):
        assert f"Price per session {per_session}" in text
        assert f"Planned number of sessions {sessions}" in text
        assert f"Estimated total for the planned sessions {total}" in text
        assert item in text
        assert f"Your plan has {sessions} session" in text


def test_one_schedule_still_serves_every_treatment():
    """`Clinic(fees=FeeSchedule(...))` keeps working: the same fees on every treatment's form."""
    clinic = make_clinic()
    for treatment in ("knee-injection", "iv-infusion", "hair"):
        form = consent.build(treatment, patient=ADA, clinic=clinic, date=DATE)
        fees = next(b for s in form.sections for b in s.blocks if isinstance(b, consent.document.FeeTable))
        assert fees.rows[0] == ("Price per session", "$1,200.00")
        assert fees.total == ("Estimated total for the planned sessions", "$3,600.00")


def test_treatment_without_a_fee_schedule_is_an_input_error():
    """A clinic whose fee mapping has no entry for the treatment: one clear InputError, no form."""
    knee = consent.FeeSchedule(price_per_session=Decimal("1000"), planned_sessions=1)
    clinic = make_clinic(fees={"knee-injection": knee, "iv-infusion": knee})
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=ADA, clinic=clinic, date=DATE)
    assert str(info.value) == (
        "clinic.fees has no fee schedule for 'hair' (schedules for: iv-infusion, knee-injection); give one under "
        "hair, or give clinic.fees as one schedule for every treatment"
    )


def test_fee_mapping_in_a_file_reports_every_problem(tmp_path):
    """Per-treatment schedules are checked like one: a misspelt key, a bad id and bad text all at once."""
    path = tmp_path / "clinic.yaml"
    text = (EXAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    text = text.replace("    price_per_session: 950.00\n", "    price_per_sesion: 950.00\n")
    text = text.replace("  iv-infusion:\n    currency: USD", "  IV:\n    currency: USD")
    text = text.replace("      - en: Blood tests\n", "      - english: Blood tests\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    assert sorted(str(p) for p in info.value.problems) == [
        f"{path}: clinic.fees.hair has unknown key(s): price_per_sesion",
        f"{path}: clinic.fees.hair.price_per_session is required but missing",
    ]
    path.write_text(text.replace("price_per_sesion", "price_per_session"), encoding="utf-8")
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}: clinic.fees: 'IV' is not a treatment id such as knee-injection",
        f"{path}: clinic.fees.IV.excluded[0] has text for 'english': languages are given by their code, "
        "such as en or es",
    ]


def test_fees_must_be_a_schedule_or_a_mapping_of_them(tmp_path):
    path = tmp_path / "clinic.json"
    path.write_text('{"name": "A", "address": "B", "phone": "1", "state": "ID", '
                    '"provider": {"name": "C", "credentials": "MD"}, "fees": [1850]}')
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    assert str(info.value) == (
        f"{path}: clinic.fees must be a fee schedule, or a mapping of treatment id to fee schedule (got [1850])"
    )


# ------------------------------------------------------------------ purpose

PURPOSES = {
    ("knee-injection", "en"): "We hope it will ease knee pain and stiffness and help your knee work better. "
                              "This is a hope. It is not a known result.",
    ("hair", "en"): "We hope it will slow hair loss and help thin hair grow thicker. This is a hope. It is not a "
                    "known result.",
    ("iv-infusion", "en"): "Your provider will tell you why it is offered to you. We hope it may calm inflammation "
                           "(swelling and irritation inside the body). No large study has shown that it does this, "
                           "or that it helps people stay well. This is a hope. It is not a known result.",
    ("iv-infusion", "es"): "Su proveedor le dirá por qué se lo ofrece a usted. Esperamos que pueda calmar la "
                           "inflamación (hinchazón e irritación dentro del cuerpo). Ningún estudio grande ha "
                           "mostrado que lo haga, ni que ayude a las personas a mantenerse sanas. Esto es una "
                           "esperanza. No es un resultado conocido.",
}


@pytest.mark.parametrize(("treatment", "language"), sorted(PURPOSES))
def test_every_form_states_the_treatments_purpose_as_a_hope(example_clinic, treatment, language):
    """The treatment-description section states the purpose, framed as a hope, in the PDF and the DOCX;
    the IV form states one too, with no wellness benefit claimed as fact."""
    form = consent.build(treatment, patient=ADA, clinic=example_clinic, date=DATE, language=language)
    section = next(s for s in form.sections if s.clause_id == "treatment-description")
    assert section.blocks[2].text == PURPOSES[treatment, language]
    for text in texts(form):
        assert PURPOSES[treatment, language] in text


def test_treatment_file_without_a_purpose_is_a_content_error(tmp_path):
    """`purpose` is required in a treatment file and in its translation: the library names both files."""
    from helpers import build_tree

    root = consent.get_library().sources[-1].root
    english = (root / "templates" / "treatments" / "hair.yaml").read_text(encoding="utf-8")
    spanish = (root / "templates" / "treatments" / "es" / "hair.yaml").read_text(encoding="utf-8")
    pack = build_tree(tmp_path / "pack", {
        "templates/treatments/hair.yaml": english.replace('version: "1.1"', 'version: "1.1-pack"').replace(
            "purpose: We hope", "purpse: We hope"),
        "templates/treatments/es/hair.yaml": spanish.replace('translates: "1.1"', 'translates: "1.1-pack"').replace(
            "purpose: Esperamos", "# purpose: Esperamos"),
    })
    library = consent.Library([pack])
    english_path, spanish_path = pack / "templates/treatments/hair.yaml", pack / "templates/treatments/es/hair.yaml"
    assert [str(p) for p in library.problems] == [
        f"{english_path}:8: purpse: unknown key 'purpse' (allowed: id, version, clauses, name, description, "
        "purpose, route, product, session_length, usual_sessions, steps, common_effects, rare_effects, aftercare, "
        "urgent_signs, evidence, screening)",
        f"{english_path}:1: missing required key 'purpose'",
        f"{spanish_path}:1: missing required key 'purpose'",
    ]


# ------------------------------------------------------------------ clinic text per language


def test_spanish_form_prints_the_clinics_spanish_text(example_clinic):
    """Fee items and the refund policy come out in Spanish on a Spanish form, in the PDF and the DOCX,
    and the English ones are nowhere on it."""
    form = consent.build("knee-injection", patient=ADA, clinic=example_clinic, date=DATE, language="es")
    for text in texts(form):
        assert "Incluido en el precio El producto y el procedimiento Guía con ultrasonido cuando se necesite" in text
        assert "Radiografías o resonancias magnéticas" in text
        assert ("Nuestra política de devolución de dinero: Si cancela al menos 2 días antes de una sesión, le "
                "devolvemos lo que pagó por esa sesión.") in text
        for english in ("The product and the procedure", "X-rays or MRI scans", "If you cancel"):
            assert english not in text


def test_english_only_clinic_text_is_refused_on_a_spanish_form():
    """Plain strings are English: a Spanish form names every field that has no Spanish text."""
    fees = consent.FeeSchedule(price_per_session=Decimal("900"), planned_sessions=1,
                               included=({"en": "The product", "es": "El producto"}, "Imaging"),
                               excluded=({"en": "Extra visits", "fr": "Visites"},),
                               refund_policy="Ask us.")
    clinic = make_clinic(fees=fees)
    consent.build("hair", patient=ADA, clinic=clinic, date=DATE)  # English: fine
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=ADA, clinic=clinic, date=DATE, language="es")
    assert [str(p) for p in info.value.problems] == [
        "clinic.fees.included[1] is English only (a plain string is English); a form in Spanish (es) must not "
        "print clinic text in another language: give it as {en: ..., es: ...}",
        "clinic.fees.excluded[0] has no Spanish (es) text (given: en, fr); a form in Spanish (es) must not print "
        "clinic text in another language: add es: ... to it",
        "clinic.fees.refund_policy is English only (a plain string is English); a form in Spanish (es) must not "
        "print clinic text in another language: give it as {en: ..., es: ...}",
    ]


def test_check_clinic_reports_missing_text_and_schedules(tmp_path, capsys):
    """`consent check --clinic FILE` checks the clinic's own file: every form it could not make, by rule,
    treatment and language, plus a warning for an entry no treatment uses; the example clinic passes."""
    assert main(["check", "--clinic", str(EXAMPLES / "clinic.yaml")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 error(s), 3 warning(s)")
    path = tmp_path / "clinic.yaml"
    text = (EXAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    text = text.replace("      - en: Numbing cream\n        es: Crema para adormecer la piel\n", "      - Numbing cream\n")
    text = text.replace("  iv-infusion:\n", "  iv-infusions:\n")
    path.write_text(text, encoding="utf-8")
    assert main(["check", "--clinic", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    no_schedule = ("clinic.fees has no fee schedule for 'iv-infusion' (schedules for: hair, iv-infusions, "
                   "knee-injection); give one under iv-infusion, or give clinic.fees as one schedule for every "
                   f"treatment ({path})")
    assert [ln for ln in lines if "notice.review-required" not in ln] == [
        "warning coverage.unknown-treatment: clinic.fees.iv-infusions is for a treatment the library does not "
        f"have (treatments: hair, iv-infusion, knee-injection) ({path})",
        "error coverage.clinic-language [hair/es]: clinic.fees.hair.included[1] is English only (a plain string "
        "is English); a form in Spanish (es) must not print clinic text in another language: give it as "
        f"{{en: ..., es: ...}} ({path})",
        f"error coverage.fee-schedule [iv-infusion/en]: {no_schedule}",
        f"error coverage.fee-schedule [iv-infusion/es]: {no_schedule}",
        "3 error(s), 4 warning(s), 0 acknowledged; 19 rules",
    ]
    assert main(["check", "knee-injection", "--clinic", str(path)]) == 0  # a form the clinic can make
    capsys.readouterr()
