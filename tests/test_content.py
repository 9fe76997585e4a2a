"""The stock content says what is true about FDA status, infection, blindness and the alternatives,
and never calls a treatment "investigational" when the patient is in no study (issue 8).

Every test reads the text a patient gets: the sections of ``consent.build(...)`` for each treatment,
in English and in Spanish. The last tests read the stock files themselves: every text block carries
its source as a YAML comment.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import attrs
import pytest
from helpers import DATE, IRB_ONLY_ACKNOWLEDGED, PRODUCT, REPO, TREATMENTS, make_clinic, make_study

import consent
from consent.document import BulletList, Checklist, Heading, Notice, Paragraph, Section

LANGUAGES = ("en", "es")
CASES = [(t, lang) for t in TREATMENTS for lang in LANGUAGES]
PATIENT = consent.Patient(full_name="Ada O'Connor", birth_date=DATE.replace(year=1985), mrn="SRH-000101")


def section_text(section: Section) -> str:
    """The words a patient reads in one section, one space between them."""
    parts = [section.title]
    for block in section.blocks:
        if isinstance(block, (Paragraph, Heading, Notice)):
            parts.append(block.text)
        elif isinstance(block, BulletList):
            parts += block.items
        elif isinstance(block, Checklist):
            parts += [row.question for row in block.rows]
    return " ".join(unicodedata.normalize("NFKC", " ".join(parts)).split())


def build(treatment: str, language: str, study: consent.Study | None = None) -> consent.Form:
    # Idaho: no state notice, so only the stock clauses speak (a Texas notice rightly says "investigational").
    # A study with a review board alone is a check error (legal.irb-only-study) that this pack acknowledges.
    clinic = make_clinic(study=study)
    irb_only = study is not None and not (study.ind_number or study.ide_number)
    return consent.build(treatment, patient=PATIENT, clinic=clinic, date=DATE, language=language,
                         packs=[IRB_ONLY_ACKNOWLEDGED] if irb_only else [])


def texts(form: consent.Form) -> dict[str, str]:
    return {s.clause_id: section_text(s) for s in form.sections}


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


# ------------------------------------------------------------------ 1. what the FDA has approved


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_fda_status_names_every_kind_of_approved_cell_product(treatment, language):
    """Since December 2024 the approved cell products are not all from cord blood (Ryoncil is
    bone-marrow cells for a transplant complication in children): the FDA clause names both kinds
    and says none is approved for joints, hair, pain or wellness drips."""
    fda = texts(build(treatment, language))["fda-status"]
    if language == "en":
        assert "The only stem cell products the FDA has approved come from umbilical cord blood" not in fda
        for phrase in ("umbilical cord blood", "blood-forming cells", "donated bone marrow", "children",
                       "after a bone marrow transplant",
                       "None of them is approved for joint pain, arthritis, back pain, hair loss, "
                       "long-lasting pain, or IV drips for wellness."):
            assert phrase in fda, phrase
    else:
        assert "Los únicos productos de células madre que la FDA ha aprobado vienen de la sangre" not in fda
        for phrase in ("cordón umbilical", "células que forman la sangre", "médula ósea donada", "niños",
                       "después de un trasplante de médula ósea",
                       "Ninguno está aprobado para el dolor de las articulaciones, la artritis, el dolor de "
                       "espalda, la caída del cabello, el dolor que dura mucho tiempo ni los sueros por la "
                       "vena para el bienestar."):
            assert phrase in fda, phrase


# ------------------------------------------------------------------ 2. no study, no "investigational"

RESEARCH_WORDING = {
    "en": ("investigational", "being tested", "being studied", "research study"),
    "es": ("en investigación", "se está estudiando", "se está probando", "estudio de investigación"),
}


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_without_a_study_no_clause_says_the_treatment_is_being_tested(treatment, language):
    """A patient treated outside any IND, IDE or IRB study is in no test: the form says the treatment
    is unproven, not FDA-approved and in no FDA-reviewed study, and never that it is investigational
    or still being tested (except to say it is NOT given as part of a research study)."""
    by_clause = texts(build(treatment, language))
    not_in_a_study = {"en": "It is not given to you as part of a research study.",
                      "es": "No se le da como parte de un estudio de investigación."}[language]
    names = ("Investigational New Drug", "Investigational Device Exemption", "medicamento en investigación")
    for clause_id, text in by_clause.items():
        for allowed in (not_in_a_study, *names):  # the names of FDA applications are not about this patient
            text = text.replace(allowed, "")
        for phrase in RESEARCH_WORDING[language]:
            assert phrase not in text.lower(), f"{clause_id}: {phrase!r}"
    key = by_clause["key-information"]
    if language == "en":
        assert "It is unproven: no one knows yet if it works. It is not part of a study the FDA has " \
            "reviewed." in key
        assert "It is not part of any study the FDA has reviewed" in by_clause["treatment-description"]
        assert "You know this treatment is unproven and is not approved by the FDA." in \
            by_clause["acknowledgement"]
        assert "Because it is unproven and not approved by the FDA" in by_clause["costs"]
    else:
        assert "No está probado: nadie sabe aún si funciona. No es parte de un estudio revisado por la " \
            "FDA." in key
        assert "No es parte de ningún estudio revisado por la FDA" in by_clause["treatment-description"]
        assert "Sabe que este tratamiento no está probado y que no está aprobado por la FDA." in \
            by_clause["acknowledgement"]
        assert "Como no está probado ni aprobado por la FDA" in by_clause["costs"]


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_with_an_irb_but_no_ind_the_form_says_there_is_no_ind(treatment, language):
    """An IRB-approved study without an IND or IDE is research the FDA has not reviewed: the FDA
    clause says so, names the IRB, and the research wording appears only now."""
    study = make_study(ind_number=None, irb_name="Harbor Research IRB", protocol="HRB-22")
    by_clause = texts(build(treatment, language, study))
    fda = by_clause["fda-status"]
    assert "Harbor Research IRB" in fda and "HRB-22" in fda
    if language == "en":
        assert "The study does not have an IND or an IDE. This means the FDA has not reviewed it." in fda
        assert "You get it as part of a research study." in by_clause["key-information"]
    else:
        assert "El estudio no tiene un IND ni un IDE. Esto quiere decir que la FDA no lo ha revisado." in fda
        assert "Se le da como parte de un estudio de investigación." in by_clause["key-information"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_ind_and_ide_numbers_are_both_named(language):
    """A study under an IDE (a device) names its IDE number; one under an IND names the IND; neither
    then says the study lacks them."""
    fda = texts(build("hair", language, make_study(irb_name=None, ind_number=None, ide_number="G210042")))["fda-status"]
    assert "G210042" in fda and "IDE" in fda
    assert "IND 31337" in texts(build("hair", language, make_study(irb_name=None, ind_number="IND 31337")))["fda-status"]
    assert "does not have an IND" not in fda and "no tiene un IND" not in fda


# ------------------------------------------------------------------ 3. FDA's warning and MedWatch


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_fda_warning_about_paying_outside_a_trial_and_how_to_report_to_medwatch(treatment, language):
    """FDA's consumer warning whole (charged or offered outside a clinical trial: likely deceived, and
    offered a product illegally: issue 26, point 13) is in the FDA clause, which says exosome products are
    regulated as drugs and biological products; the MedWatch phone number and web address are where a
    harmed patient looks."""
    by_clause = texts(build(treatment, language))
    warning = {"en": ["if you are charged for one, or offered one, outside a clinical trial (a study of a "
                      "treatment in people) that the FDA oversees, you are likely being deceived.",
                      "The product is likely being offered to you illegally.",
                      "The FDA treats exosome products as drugs and biological products"],
               "es": ["si le cobran por uno, o se lo ofrecen, fuera de un ensayo clínico (un estudio de un "
                      "tratamiento en personas) que la FDA supervisa, es probable que lo estén engañando.",
                      "Es probable que le estén ofreciendo el producto de forma ilegal.",
                      "La FDA trata los productos de exosomas como medicamentos y productos biológicos"],
               }[language]
    for words in warning:
        assert words in by_clause["fda-status"]
    injury = by_clause["contacts-and-injury"]
    assert "MedWatch" in injury and "1-800-FDA-1088 (1-800-332-1088)" in injury
    assert "www.fda.gov/medwatch" in injury


# ------------------------------------------------------------------ 4. infection and blindness


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_infection_is_not_called_rare_and_the_outbreaks_are_named(treatment, language):
    """How often infection happens is unknown: no clause calls it rare; the risks name the reported
    outbreaks (exosomes in Nebraska 2019, contaminated cord-blood products 2018)."""
    by_clause = texts(build(treatment, language))
    rare = {"en": re.compile(r"\brare\b", re.I), "es": re.compile(r"\braros?\b", re.I)}[language]
    for clause_id, text in by_clause.items():
        for sentence in sentences(text):
            if re.search(r"infec", sentence, re.I):
                assert not rare.search(sentence), f"{clause_id}: {sentence}"
    risks, key = by_clause["risks"], by_clause["key-information"]
    assert "Rare but serious" not in risks and "raros pero graves" not in risks
    if language == "en":
        assert "No one knows how often these happen." in key
        for phrase in ("No one knows how often", "Nebraska", "2019", "In 2018, the CDC",
                       "cord blood products that had germs in them"):
            assert phrase in risks, phrase
    else:
        assert "Nadie sabe con qué frecuencia pasan." in key
        for phrase in ("Nadie sabe con qué frecuencia", "Nebraska", "2019", "En 2018, los CDC",
                       "sangre de cordón umbilical que tenían gérmenes"):
            assert phrase in risks, phrase


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_blindness_is_tied_to_fat_cells_injected_into_the_eye(treatment, language):
    """Blindness was reported after fat-derived cells were injected into the eye (NEJM 2017): every
    sentence that mentions it says so, and none pins it on "products like this one"."""
    by_clause = texts(build(treatment, language))
    blind, eye, fat = {"en": ("blind", "eye", "fat"), "es": ("cieg|ceguera", "ojo", "grasa")}[language]
    mentions = [s for text in by_clause.values() for s in sentences(text) if re.search(blind, s, re.I)]
    assert mentions, "the risks must still name blindness"
    for sentence in mentions:
        assert eye in sentence.lower() and fat in sentence.lower(), sentence
    assert "like this one have caused serious harm" not in by_clause["key-information"]
    assert "Otros productos como este, que no están aprobados, han causado daños graves" not in \
        by_clause["key-information"]


# Words of the key information without the treatment's one-line description, 2026-11-22 (make_clinic fees).
KEY_INFORMATION_WORDS = {"en": 227, "es": 225}


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_key_information_is_no_longer_than_before(treatment, language):
    """The Spanish key information must fit on page 1: the honesty fixes may not lengthen it."""
    form = build(treatment, language)
    key = form.sections[0]
    words = " ".join(b.text for b in key.blocks if isinstance(b, (Paragraph, Notice))).split()
    description = consent.get_library().treatment(treatment, language).description.split()
    assert len(words) - len(description) <= KEY_INFORMATION_WORDS[language]


# ------------------------------------------------------------------ 5. alternatives

ALTERNATIVES = {
    ("knee-injection", "en"): (
        "Exercise and physical therapy", "Losing weight", "NSAIDs", "stomach bleeding",
        "heart attack or stroke", "steroid shot", "cartilage", "hyaluronic acid", "Knee replacement surgery",
        "blood clots", "knee brace"),
    ("knee-injection", "es"): (
        "Ejercicio y terapia física", "Bajar de peso", "AINE", "sangrado en el estómago",
        "ataque al corazón o un derrame cerebral", "inyección de esteroide", "cartílago", "ácido hialurónico",
        "cirugía de reemplazo de rodilla", "coágulos de sangre", "rodillera"),
    ("iv-infusion", "en"): ("your own doctor", "The usual treatments for that problem", "its own risks",
                            "NSAIDs", "stomach bleeding", "heart attack or stroke"),
    ("iv-infusion", "es"): ("su propio médico", "Los tratamientos habituales para ese problema",
                            "sus propios riesgos", "AINE", "sangrado en el estómago", "derrame cerebral"),
    ("hair", "en"): (
        "Minoxidil", "without a prescription", "unwanted hair on the face", "Finasteride",
        "a prescription pill", "sexual side effects", "anyone who is or may become pregnant",
        "hair transplant", "scars", "Wigs"),
    ("hair", "es"): (
        "Minoxidil", "sin receta", "vello no deseado en la cara", "Finasterida", "una pastilla con receta",
        "efectos secundarios sexuales", "ninguna persona que esté embarazada o pueda quedar embarazada",
        "trasplante de cabello", "cicatrices", "Pelucas"),
}
NO_TREATMENT = {
    "en": "With no treatment, you avoid the risks and costs of this treatment. Your problem may stay the "
          "same, get better, or get worse.",
    "es": "Si no recibe tratamiento, evita los riesgos y los costos de este tratamiento. Su problema puede "
          "seguir igual, mejorar o empeorar.",
}


@pytest.mark.parametrize(("treatment", "language"), CASES)
def test_alternatives_state_the_risks_and_benefits_of_each_choice(treatment, language):
    """Washington's law, and good practice everywhere: each alternative, and no treatment, comes with
    its main benefits and risks, in plain words and with no promise of a cure."""
    text = texts(build(treatment, language))["alternatives"]
    for phrase in ALTERNATIVES[treatment, language]:
        assert phrase in text, phrase
    assert NO_TREATMENT[language] in text


# ------------------------------------------------------------------ 6. sources

TEXT_LINE = re.compile(
    r"""^(?P<indent>\s*)(?:
        -\s+(?:p|strong|notice):\s        # a clause block with text
      | -\s+(?![\w-]+:(?:\s|$))(?!\[)\S   # an item of a list (not "- id: ...", "- ul:", a flow list)
      | (?:description|route|product|session_length|usual_sessions):\s   # a treatment's text fields
    )""",
    re.X,
)


def _cited_keys() -> set[str]:
    readme = (REPO / "clauses" / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Sources", 1)[1]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", table, re.M))


def _stock_files() -> list[Path]:
    library = consent.get_library()
    files = [Path(c.path) for c in library.clauses.values()]
    files += [Path(t.path) for t in library.treatments.values()]
    assert len(files) > 20
    return sorted(files)


def test_every_text_block_of_the_stock_library_names_its_source():
    """Every paragraph, notice and list item of every stock clause (English) and treatment file has a
    `# Source:` comment right above it (a list's items may share one above the list): a reviewer can
    check each fact. A key in brackets must be one of the sources listed in clauses/README.md."""
    known = _cited_keys()
    missing: list[str] = []
    unknown: list[str] = []
    for path in _stock_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if line.lstrip().startswith("#") or not TEXT_LINE.match(line):
                continue
            if "screening" in _section(lines, number):
                continue
            own = _has_source(lines, number)
            if not (own or (_list_item(line) and _has_source(lines, _parent(lines, number)))):
                missing.append(f"{path.parent.name}/{path.name}:{number + 1}: {line.strip()[:60]}")
        comments = [line for line in lines if line.lstrip().startswith("#")]
        for key in re.findall(r"\[([a-z0-9-]+)\]", "\n".join(comments)):
            if key not in known:
                unknown.append(f"{path.name}: [{key}]")
    assert missing == [], "text without a '# Source:' comment:\n" + "\n".join(missing)
    assert unknown == [], "source keys not listed in clauses/README.md:\n" + "\n".join(unknown)


def _has_source(lines: list[str], number: int) -> bool:
    """A `# Source:` comment on the line itself or in the comment lines right above it."""
    if "# Source:" in lines[number]:
        return True
    above = number - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        if "# Source:" in lines[above]:
            return True
        above -= 1
    return False


def _list_item(line: str) -> bool:
    return re.match(r"^\s*-\s+(?!(?:p|strong|notice):\s)", line) is not None


def _parent(lines: list[str], number: int) -> int:
    """The line that opens the list an item belongs to ("steps:", "- ul:"): a source comment there
    covers every item that has none of its own."""
    indent = len(lines[number]) - len(lines[number].lstrip())
    for above in range(number - 1, -1, -1):
        text = lines[above]
        if text.strip() and not text.lstrip().startswith("#") and len(text) - len(text.lstrip()) < indent:
            return above
    return number


def _section(lines: list[str], number: int) -> str:
    """The top-level key a line belongs to ("body", "screening", "steps" ...)."""
    for line in reversed(lines[: number + 1]):
        if re.match(r"^[a-z_]+:", line):
            return line.split(":", 1)[0]
    return ""


def test_facts_not_confirmed_from_a_primary_source_are_listed():
    """Facts that could not be re-read in a primary source are listed for review, not hidden."""
    readme = (REPO / "clauses" / "README.md").read_text(encoding="utf-8")
    assert "## Facts not confirmed from a primary source" in readme


# ------------------------------------------------------------------ issue 26, points 12, 14 and 15


def shown(form: consent.Form) -> tuple[str, str]:
    """What the patient reads: the PDF body and the DOCX text, words joined by single spaces."""
    from helpers import docx_all_text, pdf_body_words, words

    return (" ".join(pdf_body_words(form, form.to_pdf())), " ".join(words(docx_all_text(form.to_docx()))))


def flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


IV_ALTERNATIVES = {
    "en": ("A visit with your own doctor about the problem.", "The usual treatments for that problem",
           "You can also choose to have no treatment."),
    "es": ("Una consulta con su propio médico sobre el problema.", "Los tratamientos habituales para ese problema",
           "También puede elegir no recibir ningún tratamiento."),
}
IV_PURPOSE = {"en": "We hope it will help you feel less tired.", "es": "Esperamos que le ayude a sentirse menos cansado."}


@pytest.mark.parametrize("language", LANGUAGES)
def test_iv_alternatives_are_built_from_the_clinics_purpose(language):
    """Point 12 (RCW 18.130.420, Utah 58-1-512): the IV form names alternatives with their risks and
    benefits, and no treatment. With the clinic's own purpose it quotes it and offers the choices for
    that goal (not the stock NSAIDs for inflammation); without one it names the stock purpose's."""
    nsaid = "NSAIDs" if language == "en" else "AINE"
    stock = consent.build("iv-infusion", patient=PATIENT, clinic=make_clinic(), date=DATE, language=language)
    product = attrs.evolve(PRODUCT, purpose=IV_PURPOSE)
    own = consent.build("iv-infusion", patient=PATIENT, date=DATE, language=language,
                        clinic=make_clinic(products={t: product for t in ("knee-injection", "iv-infusion", "hair")}))
    for text in (*shown(stock), *shown(own)):
        for phrase in IV_ALTERNATIVES[language]:
            assert flat(phrase) in text, phrase
    for text in shown(stock):
        assert nsaid in text and "inflam" in text
    for text in shown(own):
        lead = "We offer this treatment for this reason:" if language == "en" else \
            "Ofrecemos este tratamiento por esta razón:"
        assert flat(f"{lead} {IV_PURPOSE[language]}") in text
        assert nsaid not in text.split(flat(lead))[1].split(flat(IV_ALTERNATIVES[language][2]))[0]


INFECTION = {
    ("knee-injection", "en"): "It can damage the knee for good, and it can spread to the blood. It can even cause death.",
    ("knee-injection", "es"): "Puede dañar la rodilla para siempre, y puede pasar a la sangre. Hasta puede causar la muerte.",
    ("iv-infusion", "en"): "It can harm your organs for good, and it can cause death.",
    ("iv-infusion", "es"): "Puede dañar sus órganos para siempre, y puede causar la muerte.",
}
AFTER_HOURS = {
    "en": "We have no phone line after hours. If you have a problem when we are closed, go to the nearest "
          "emergency room or call 911.",
    "es": "No tenemos una línea de teléfono fuera del horario de la clínica. Si tiene un problema cuando la "
          "clínica está cerrada, vaya a la sala de emergencias más cercana o llame al 911.",
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("treatment", ["knee-injection", "iv-infusion"])
def test_infection_can_cause_lasting_harm_or_death_and_after_hours_says_where_to_go(treatment, language):
    """Point 14: a joint or blood infection can cause lasting harm or death, said plainly; a clinic without
    an after-hours number sends the patient to the emergency room or 911 when it is closed, and a clinic
    with one prints it instead."""
    form = consent.build(treatment, patient=PATIENT, clinic=make_clinic(), date=DATE, language=language)
    assert form.sections  # the helper clinic has no after-hours number
    for text in shown(form):
        assert flat(INFECTION[treatment, language]) in text
        assert flat(AFTER_HOURS[language]) in text
    with_number = consent.build(treatment, patient=PATIENT, date=DATE, language=language,
                                clinic=make_clinic(after_hours_phone="(208) 555-0111"))
    for text in shown(with_number):
        assert "(208) 555-0111" in text and flat(AFTER_HOURS[language]) not in text


AS_OF = {"en": "As of March 2025, the FDA has approved only a small number of stem cell products",
         "es": "Hasta marzo de 2025, la FDA había aprobado solo unos pocos productos de células madre"}
APPROVED = REPO / "templates" / "rules" / "approved-products.yaml"


@pytest.mark.parametrize("language", LANGUAGES)
def test_approved_products_sentence_is_dated_from_the_data_file(language, tmp_path):
    """Point 15: the sentence on approved products says "As of <month year>" (the month in the form's
    language) from the dated list; a pack's newer list changes the date without touching clause text."""
    form = build("hair", language)
    for text in shown(form):
        assert flat(AS_OF[language]) in text
    listed = consent.get_library().approved_products
    assert listed is not None and listed.as_of.isoformat() == "2025-03-31"
    assert any(p.name.startswith("Ryoncil") and p.kind == "stem-cell" for p in listed.products)
    assert all(p.confirmed_in.startswith("https://") for p in listed.products)
    pack = tmp_path / "pack"
    (pack / "templates" / "rules").mkdir(parents=True)
    (pack / "templates" / "rules" / "approved-products.yaml").write_text(
        APPROVED.read_text().replace("as_of: 2025-03-31", "as_of: 2026-01-15"))
    newer = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, language=language,
                          packs=[pack])
    month = "January 2026" if language == "en" else "enero de 2026"
    assert flat(AS_OF[language]).replace("March 2025", month).replace("marzo de 2025", month) in shown(newer)[1]


def test_a_bad_approved_products_file_is_an_error_naming_file_and_line(tmp_path):
    """Unknown key, unknown kind, a name twice, a non-https source address and a date in the future: each
    is a problem with the file and line, and the library refuses to build forms."""
    pack = tmp_path / "pack"
    (pack / "templates" / "rules").mkdir(parents=True)
    path = pack / "templates" / "rules" / "approved-products.yaml"
    path.write_text(
        "source: FDA list\n"
        "as_of: 2999-01-01\n"
        "products:\n"
        "  - {name: A, kind: stem-cell, use: x, confirmed_in: 'https://example.org'}\n"
        "  - {name: A, kind: magic, use: x, confirmed_in: 'http://example.org', approvd: 2020}\n")
    library = consent.Library([pack])
    assert [str(p) for p in library.problems] == [
        f"{path}:2: as_of must not be in the future (got 2999-01-01)",
        f"{path}:5: products[1].approvd: unknown key 'approvd' (allowed: name, kind, use, confirmed_in, approved)",
        f"{path}:5: products[1].kind: kind must be one of cord-blood, stem-cell, gene-modified-cells, cell, gene, "
        "tissue (got 'magic')",
        f"{path}:5: products[1].confirmed_in: confirmed_in must be the https:// address read (got 'http://example.org')",
        f"{path}:5: products[1].name: product 'A' is listed twice",
    ]
    with pytest.raises(consent.ContentError, match="listed twice"):
        consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
