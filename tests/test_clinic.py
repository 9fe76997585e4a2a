"""The clinic's own data on each form: the product's identity, the purpose, a fee schedule per treatment,
and the clinic's text in the form's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest
from helpers import (
    DATE,
    EXAMPLES,
    PRODUCT,
    build_tree,
    docx_body_lines,
    docx_document,
    make_clinic,
    pdf_body_words,
    words,
)

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


# ------------------------------------------------------------------ product identity

KNEE_PRODUCT = {
    "en": "About the product Made by Harborline Biologics, Inc. Made from (source tissue) Stem cells from donated "
          "umbilical cord tissue, grown in a lab The donor was tested for HIV, hepatitis B and C, syphilis, and "
          "HTLV Lot number HB-2611-042",
    "es": "Sobre el producto Fabricado por Harborline Biologics, Inc. Hecho de (tejido de origen) Células madre de "
          "tejido de cordón umbilical donado, cultivadas en un laboratorio Al donante se le hicieron pruebas de "
          "VIH, hepatitis B y C, sífilis y HTLV Número de lote HB-2611-042",
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_about_the_product_table_in_both_outputs(example_clinic, language):
    """The treatment-description section names the product's maker, source tissue, donor screening and
    lot number, with labels and clinic text in the form's language, in the PDF and the DOCX."""
    form = consent.build("knee-injection", patient=ADA, clinic=example_clinic, date=DATE, language=language)
    for text in texts(form):
        assert KNEE_PRODUCT[language] in text


def test_unknown_lot_number_is_a_box_to_fill_in_at_treatment(example_clinic):
    """No lot number in the clinic file: the row says it is written in on the day, and its value is an
    empty box (a ruled cell in the PDF, an empty table cell in the DOCX)."""
    form = consent.build("iv-infusion", patient=ADA, clinic=example_clinic, date=DATE)
    table = next(b for s in form.sections for b in s.blocks if isinstance(b, consent.document.ProductTable))
    assert table.rows[-1] == consent.document.FactRow("Lot number", "", "(written in on the day of treatment)")
    pdf_text, docx_text = texts(form)
    for text in (pdf_text, docx_text):
        assert "HTLV Lot number (written in on the day of treatment)" in text
    cells = [[c.text for c in row.cells] for t in docx_document(form.to_docx()).tables for row in t.rows]
    assert ["Lot number\n(written in on the day of treatment)", ""] in cells
    from consent.pdf.html import form_html

    assert '<td class="fill-in"></td>' in form_html(form)


def test_treatment_without_a_product_identity_is_an_input_error():
    """A clinic with no products entry for the treatment: one clear InputError, nothing rendered."""
    clinic = make_clinic(products={"knee-injection": PRODUCT, "iv-infusion": PRODUCT})
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=ADA, clinic=clinic, date=DATE)
    assert str(info.value) == (
        "clinic.products has no entry for 'hair' (entries for: iv-infusion, knee-injection); the form must name "
        "the product's maker, source tissue and donor screening: give them under clinic.products.hair (maker, "
        "source_tissue, donor_screening, and lot_number if known)"
    )
    with pytest.raises(consent.InputError, match=r"^clinic.products has no entry for 'hair'; the form must name"):
        consent.build("hair", patient=ADA, clinic=make_clinic(products={}), date=DATE)


def test_product_entries_in_a_file_report_every_problem(tmp_path):
    """A products entry without a maker, with a misspelt key, or with empty text: all listed at once."""
    path = tmp_path / "clinic.yaml"
    text = (EXAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    text = text.replace("    maker: Crestview Regenerative Labs, LLC\n", "    made_by: Crestview\n")
    text = text.replace("    lot_number: HB-2611-042\n", "    lot_number: 2611042\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    assert sorted(str(p) for p in info.value.problems) == [
        f"{path}: clinic.products.hair has unknown key(s): made_by",
        f"{path}: clinic.products.hair.maker is required but missing",
        f"{path}: clinic.products.knee-injection.lot_number must be text (got int 2611042)",
    ]
    path.write_text(text.replace("made_by: Crestview", "maker: ' '").replace("lot_number: 2611042",
                                                                            "lot_number: '2611042'"))
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    assert str(info.value) == f"{path}: clinic.products.hair.maker must not be empty"


def test_render_without_a_product_identity_exits_1_and_writes_nothing(tmp_path, capsys):
    """`consent render` with a clinic file that has no products: `Error: ...`, exit 1, no file."""
    text = (EXAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    start, end = text.index("products:\n"), text.index("# One fee schedule per treatment")
    path = tmp_path / "clinic.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    out = tmp_path / "out"
    code = main(["render", "hair", "--patient", str(EXAMPLES / "patient-jose.yaml"), "--clinic", str(path),
                 "--date", "2026-11-21", "--out", str(out)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    assert captured.err == (
        "Error: clinic.products has no entry for 'hair'; the form must name the product's maker, source tissue "
        "and donor screening: give them under clinic.products.hair (maker, source_tissue, donor_screening, and "
        "lot_number if known)\n"
    )
    assert not out.exists()


def test_check_reports_a_form_without_a_product_identity(tmp_path, capsys):
    """`consent check --clinic` names each treatment the clinic gives no product for (coverage.product-identity);
    the stock check (sample clinic) passes."""
    text = (EXAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    start, end = text.index("  hair:\n    maker"), text.index("# One fee schedule per treatment")
    path = tmp_path / "clinic.yaml"
    path.write_text(text[:start] + "\n" + text[end:], encoding="utf-8")
    assert main(["check", "--clinic", str(path), "--language", "en"]) == 1
    errors = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("error")]
    assert errors == [
        "error coverage.product-identity [hair/en]: clinic.products has no entry for 'hair' (entries for: "
        "iv-infusion, knee-injection); the form must name the product's maker, source tissue and donor screening: "
        f"give them under clinic.products.hair (maker, source_tissue, donor_screening, and lot_number if known) "
        f"({path})",
    ]
    assert check(["hair"]).errors == ()
    report = check(["hair"], clinic=make_clinic(products={}), languages=["en"])  # a Clinic object works too
    assert [(f.rule, f.treatment, f.language) for f in report.errors] == [
        ("coverage.product-identity", "hair", "en")]
    with pytest.raises(consent.InputError, match="clinic.state must be a two-letter US state code"):
        check(["hair"], clinic=make_clinic(state="Idaho"))


HAIR_LITE_PRODUCT = """
product_identity:
  maker: Lite Labs, Inc.
  source_tissue: Donated placenta tissue
  donor_screening: HIV and hepatitis B and C
"""


def test_pack_treatment_may_name_its_product_in_the_treatment_file(tmp_path):
    """A pack's own treatment without product_identity fails the check (the sample clinic has none for
    it); with one in the treatment file (and its translation) the form prints it, unless the clinic gives
    its own."""
    root = consent.get_library().sources[-1].root
    english = (root / "templates" / "treatments" / "hair.yaml").read_text(encoding="utf-8").replace(
        "id: hair\n", "id: hair-lite\n")
    spanish = (root / "templates" / "treatments" / "es" / "hair.yaml").read_text(encoding="utf-8").replace(
        "id: hair\n", "id: hair-lite\n")
    bare = build_tree(tmp_path / "bare", {"templates/treatments/hair-lite.yaml": english})
    assert [str(f) for f in check(["hair-lite"], packs=[bare], languages=["en"]).errors] == [
        "error coverage.product-identity [hair-lite/en]: clinic.products has no entry for 'hair-lite' (entries "
        "for: hair, iv-infusion, knee-injection); the form must name the product's maker, source tissue and "
        "donor screening: give them under clinic.products.hair-lite (maker, source_tissue, donor_screening, and "
        "lot_number if known), or as product_identity in the treatment file",
    ]
    untranslated = build_tree(tmp_path / "untranslated", {
        "templates/treatments/hair-lite.yaml": english + HAIR_LITE_PRODUCT,
        "templates/treatments/es/hair-lite.yaml": spanish,
    })
    assert [str(p) for p in consent.Library([untranslated]).problems] == [
        f"{untranslated}/templates/treatments/es/hair-lite.yaml:1: missing required key 'product_identity': the "
        "English treatment names its product, so the translation gives source_tissue and donor_screening in "
        "its language",
    ]
    pack = build_tree(tmp_path / "pack", {
        "templates/treatments/hair-lite.yaml": english + HAIR_LITE_PRODUCT,
        "templates/treatments/es/hair-lite.yaml": spanish + "product_identity:\n  source_tissue: Tejido de "
        "placenta donado\n  donor_screening: VIH y hepatitis B y C\n",
    })
    assert check(["hair-lite"], packs=[pack], languages=["en", "es"]).errors == ()  # translated into Spanish only
    form = consent.build("hair-lite", patient=ADA, clinic=make_clinic(), date=DATE, packs=[pack], language="es")
    table = next(b for s in form.sections for b in s.blocks if isinstance(b, consent.document.ProductTable))
    assert [(r.label, r.value) for r in table.rows] == [
        ("Fabricado por", "Lite Labs, Inc."), ("Hecho de (tejido de origen)", "Tejido de placenta donado"),
        ("Al donante se le hicieron pruebas de", "VIH y hepatitis B y C"), ("Número de lote", "")]
    clinic = make_clinic(products={"hair-lite": PRODUCT})
    form = consent.build("hair-lite", patient=ADA, clinic=clinic, date=DATE, packs=[pack])
    table = next(b for s in form.sections for b in s.blocks if isinstance(b, consent.document.ProductTable))
    assert table.rows[0].value == "Northgate Cell Labs, Inc."


def test_claims_in_the_clinics_product_text_are_caught():
    """The clinic's own words in the product table go through the claims check like clause text."""
    product = attrs.evolve(PRODUCT, donor_screening="HIV and hepatitis, so the product is 100% safe")
    with pytest.raises(consent.CheckFailed) as info:
        consent.build("hair", patient=ADA, clinic=make_clinic(products={"hair": product}), date=DATE)
    assert [p.message.split(":")[0] for p in info.value.problems] == [
        "error claim.absolutely-safe [hair/en] clause treatment-description"]


def test_batch_refuses_a_clinic_without_product_or_fees_before_any_work(tmp_path):
    """`run_batch` names what the clinic lacks for the treatment, and makes no folder."""
    clinic = make_clinic(products={}, fees={"knee-injection": consent.FeeSchedule(Decimal("900"), 1)})
    with pytest.raises(consent.InputError) as info:
        consent.run_batch("hair", [], clinic=clinic, out_dir=tmp_path / "out")
    assert [p.message.split(";")[0] for p in info.value.problems] == [
        "clinic.products has no entry for 'hair'",
        "clinic.fees has no fee schedule for 'hair' (schedules for: knee-injection)",
    ]
    assert not (tmp_path / "out").exists()


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
def test_every_form_states_the_treatments_purpose_as_a_hope(treatment, language):
    """The treatment-description section states the treatment's stock purpose, framed as a hope, in the
    PDF and the DOCX; the IV form states one too, with no wellness benefit claimed as fact."""
    form = consent.build(treatment, patient=ADA, clinic=make_clinic(), date=DATE, language=language)
    section = next(s for s in form.sections if s.clause_id == "treatment-description")
    assert section.blocks[2].text == PURPOSES[treatment, language]
    for text in texts(form):
        assert PURPOSES[treatment, language] in text


@pytest.mark.parametrize(("language", "purpose"), [
    ("en", "We offer it to people with long-lasting joint pain in more than one joint. We hope it may ease that "
           "pain. This is a hope. It is not a known result."),
    ("es", "Lo ofrecemos a personas con dolor de larga duración en más de una articulación. Esperamos que pueda "
           "aliviar ese dolor. Esto es una esperanza. No es un resultado conocido."),
])
def test_clinic_may_state_its_own_purpose_per_treatment(example_clinic, language, purpose):
    """The example clinic's IV entry gives its own purpose, per language: it replaces the stock one."""
    form = consent.build("iv-infusion", patient=ADA, clinic=example_clinic, date=DATE, language=language)
    for text in texts(form):
        assert purpose in text
        assert "calm inflammation" not in text and "calmar la inflamación" not in text


def test_clinic_purpose_without_spanish_text_is_refused_on_a_spanish_form():
    """A clinic purpose given in English only cannot print on a Spanish form (nor fall back to the stock one)."""
    product = attrs.evolve(PRODUCT, purpose="We hope it may ease joint pain.")
    clinic = make_clinic(products={"iv-infusion": product})
    assert consent.build("iv-infusion", patient=ADA, clinic=clinic, date=DATE).sections[1].blocks[2].text == (
        "We hope it may ease joint pain. This is a hope. It is not a known result.")
    with pytest.raises(consent.InputError) as info:
        consent.build("iv-infusion", patient=ADA, clinic=clinic, date=DATE, language="es")
    assert str(info.value) == (
        "clinic.products.iv-infusion.purpose is English only (a plain string is English); a form in Spanish (es) "
        "must not print clinic text in another language: give it as {en: ..., es: ...}"
    )


def test_treatment_file_without_a_purpose_is_a_content_error(tmp_path):
    """`purpose` is required in a treatment file and in its translation: the library names both files."""
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
    line = english_path.read_text(encoding="utf-8").splitlines().index(
        next(ln for ln in english_path.read_text(encoding="utf-8").splitlines() if ln.startswith("purpse:"))) + 1
    assert [str(p) for p in library.problems] == [
        f"{english_path}:{line}: purpse: unknown key 'purpse' (allowed: id, version, clauses, name, description, "
        "purpose, route, product, session_length, usual_sessions, steps, common_effects, rare_effects, aftercare, "
        "urgent_signs, evidence, screening, product_identity, specialty)",
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
    # the 4 warnings for counsel, and on each Chinese form that its readability is sentence length only
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 error(s), 10 warning(s)")
    path = tmp_path / "clinic.yaml"
    text = (EXAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    text = text.replace("      - en: Numbing cream\n        es: Crema para adormecer la piel\n        zh-Hans: 麻醉皮肤的药膏\n",
                        "      - Numbing cream\n")
    text = text.replace("  iv-infusion:\n    currency: USD", "  iv-infusions:\n    currency: USD")
    path.write_text(text, encoding="utf-8")
    assert main(["check", "--clinic", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    no_schedule = ("clinic.fees has no fee schedule for 'iv-infusion' (schedules for: hair, iv-infusions, "
                   "knee-injection); give one under iv-infusion, or give clinic.fees as one schedule for every "
                   f"treatment ({path})")
    skip = ("notice.review-required", "legal.no-ind", "readability.sentence-length-only")
    assert [ln for ln in lines if not any(rule in ln for rule in skip)] == [
        "warning coverage.unknown-treatment: clinic.fees.iv-infusions is for a treatment the library does not "
        f"have (treatments: hair, iv-infusion, knee-injection) ({path})",
        "error coverage.clinic-language [hair/es]: clinic.fees.hair.included[1] is English only (a plain string "
        "is English); a form in Spanish (es) must not print clinic text in another language: give it as "
        f"{{en: ..., es: ...}} ({path})",
        "error coverage.clinic-language [hair/zh-Hans]: clinic.fees.hair.included[1] is English only (a plain "
        "string is English); a form in Chinese (Simplified) (zh-Hans) must not print clinic text in another "
        f"language: give it as {{en: ..., zh-Hans: ...}} ({path})",
        f"error coverage.fee-schedule [iv-infusion/en]: {no_schedule}",
        f"error coverage.fee-schedule [iv-infusion/es]: {no_schedule}",
        f"error coverage.fee-schedule [iv-infusion/zh-Hans]: {no_schedule}",
        "5 error(s), 7 warning(s), 0 acknowledged; 23 rules",
    ]
    assert main(["check", "knee-injection", "--clinic", str(path)]) == 0  # a form the clinic can make
    capsys.readouterr()
