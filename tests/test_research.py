"""The study variant: a clinic that lists a study gets the research elements of 21 CFR 50.25 and
45 CFR 46.116 on its forms (a research section), and `check` covers that variant of every form."""

from __future__ import annotations

import datetime as dt
import re
import textwrap

import pytest
from helpers import (
    DATE,
    EXAMPLES,
    IRB_ONLY_ACKNOWLEDGED,
    build_tree,
    docx_all_text,
    make_clinic,
    make_study,
    pdf_body_words,
    words,
)

import consent
from consent.check import check

REPO = EXAMPLES.parents[1]
CTGOV = ("A description of this clinical trial will be available on http://www.ClinicalTrials.gov, as "
         "required by U.S. Law. This Web site will not include information that can identify you. At most, "
         "the Web site will include a summary of the results. You can search this Web site at any time.")
"""21 CFR 50.25(c), word for word."""

# What the research section says, per language.
TEXT = {
    "en": {
        "title": "Taking part in a research study",
        "no_ind": "This study does not have an FDA IND (Investigational New Drug application).",
        "duration": "You will be in the study for about 12 months.",
        "subjects": "About 60 people will take part in this study.",
        "purpose": "Why the study is being done: To learn if exosome shots are safe, and if they ease "
                   "knee pain.",
        "rights": "If you have questions about your rights in this study, contact Western Coast IRB at "
                  "(415) 555-0177.",
        "future_none": "will not be used or given out for future research.",
        "future_deidentified": "After that, they may be used for future research or given to other "
                               "researchers.",
    },
    "es": {
        "title": "Participar en un estudio de investigación",
        "no_ind": "Este estudio no tiene un IND de la FDA (solicitud de nuevo medicamento en investigación).",
        "duration": "Usted estará en el estudio durante unos 12 meses.",
        "subjects": "Unas 60 personas van a participar en este estudio.",
        "purpose": "Por qué se hace el estudio: Saber si las inyecciones de exosomas son seguras y si "
                   "alivian el dolor de rodilla.",
        "rights": "comuníquese con Western Coast IRB. Teléfono o correo electrónico: (415) 555-0177.",
        "future_none": "no se van a usar ni a dar a nadie para otros estudios en el futuro.",
        "future_deidentified": "Después, se podrían usar en otros estudios en el futuro o dar a otros "
                               "investigadores.",
    },
}

STUDIES = {
    "irb-only": make_study(ind_number=None),
    "ind": make_study(ind_number="IND 31337", clinicaltrials_gov="NCT01234567", future_use="deidentified"),
    "none": None,
}


def flat(text: str) -> str:
    """Words joined by single spaces. A PDF line may end after "http://": a reader puts a space there."""
    return " ".join(words(text)).replace("http:// ", "http://")


def patient() -> consent.Patient:
    return consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1985, 12, 1), mrn="SRH-000101")


def build(study: consent.Study | None, language: str = "en", **kwargs: object) -> consent.Form:
    """The hair form; a study with a review board alone (a check error, legal.irb-only-study) is made
    with a pack that acknowledges it, as counsel could."""
    if study is not None and not (study.ind_number or study.ide_number):
        kwargs["packs"] = [*kwargs.get("packs", ()), IRB_ONLY_ACKNOWLEDGED]  # type: ignore[misc]
    return consent.build("hair", patient=patient(), clinic=make_clinic(study=study), date=DATE,
                         language=language, **kwargs)  # type: ignore[arg-type]


def block_texts(form: consent.Form, clause_id: str | None = None) -> list[str]:
    """The text of every block of the form (or of one clause)."""
    sections = [s for s in form.sections if clause_id in (None, s.clause_id)]
    return [getattr(b, "text", "") for s in sections for b in s.blocks]


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], tuple[consent.Form, str, str]]:
    """The knee-injection form for each study kind and language: the form, its PDF body and DOCX text."""
    out = {}
    for kind, study in STUDIES.items():
        for language in ("en", "es"):
            form = consent.build("knee-injection", patient=patient(), clinic=make_clinic(study=study),
                                 date=DATE, language=language,
                                 packs=[IRB_ONLY_ACKNOWLEDGED] if kind == "irb-only" else [])
            pdf_text = flat(" ".join(pdf_body_words(form, form.to_pdf())))
            out[kind, language] = (form, pdf_text, flat(docx_all_text(form.to_docx())))
    return out


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", ["irb-only", "ind", "none"])
def test_research_section_is_in_both_files_only_with_a_study(rendered, kind, language):
    """With a study the PDF and the DOCX carry the research section (purpose, duration, size, rights
    contact) right after the FDA section; without one there is no trace of it."""
    form, pdf, docx_text = rendered[kind, language]
    t = TEXT[language]
    ids = [s.clause_id for s in form.sections]
    expected = [t["title"], t["purpose"], t["duration"], t["subjects"], t["rights"]]
    if kind == "none":
        assert "research" not in ids
        assert form.manifest_dict()["study"] is False
        for text in (pdf, docx_text):
            assert [e for e in expected if flat(e) in text] == []
            assert "ClinicalTrials.gov," not in text
    else:
        assert ids[ids.index("fda-status") + 1] == "research"
        assert form.manifest_dict()["study"] is True
        for text in (pdf, docx_text):
            assert [e for e in expected if flat(e) not in text] == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_irb_only_study_says_plainly_there_is_no_ind(rendered, language):
    """An IRB-approved study without an IND or IDE says so, in bold; a study with an IND or IDE does not."""
    no_ind = TEXT[language]["no_ind"]
    for text in rendered["irb-only", language][1:]:
        assert flat(no_ind) in text
    for text in rendered["ind", language][1:]:
        assert flat(no_ind) not in text
    section = next(s for s in rendered["irb-only", language][0].sections if s.clause_id == "research")
    assert [b.style for b in section.blocks if getattr(b, "text", "").startswith(no_ind)] == ["strong"]
    device = build(make_study(ind_number=None, ide_number="G123456"), language)
    assert not [t for t in block_texts(device) if no_ind in t]


@pytest.mark.parametrize("language", ["en", "es"])
def test_clinicaltrials_gov_statement_is_word_for_word(rendered, language):
    """An applicable clinical trial prints the 21 CFR 50.25(c) statement exactly (the Spanish form also
    translates it), with the NCT number when given; the statement is absent when not applicable."""
    for kind in ("irb-only", "ind"):
        form, pdf, docx_text = rendered[kind, language]
        for text in (pdf, docx_text):
            assert CTGOV in text
            assert ("NCT01234567" in text) is (kind == "ind")
        assert CTGOV in block_texts(form, "research")
    if language == "es":
        translation = ("En español: Una descripción de este ensayo clínico estará disponible en "
                       "http://www.ClinicalTrials.gov, como lo exige la ley de los EE. UU.")
        assert translation in rendered["ind", "es"][1] and translation in rendered["ind", "es"][2]
    form = build(make_study(clinicaltrials_gov=False), language)
    assert [t for t in block_texts(form, "research") if "ClinicalTrials.gov" in t] == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_future_use_of_data_and_samples(rendered, language):
    """45 CFR 46.116(b)(9): 'none' says data and samples are never used for future research, even
    de-identified; 'deidentified' says they may be, without asking again."""
    t = TEXT[language]
    irb_only, ind = rendered["irb-only", language][1], rendered["ind", language][1]
    assert flat(t["future_none"]) in irb_only and flat(t["future_deidentified"]) not in irb_only
    assert flat(t["future_deidentified"]) in ind and flat(t["future_none"]) not in ind


# ------------------------------------------------------------------ inputs


def test_study_missing_required_fields_is_one_input_error():
    """A study with only an IRB name gets one InputError listing every missing research field, each
    with what is expected."""
    with pytest.raises(consent.InputError) as info:
        build(consent.Study(irb_name="X IRB"))
    assert [p.field for p in info.value.problems] == [
        "clinic.study.purpose", "clinic.study.duration", "clinic.study.subjects", "clinic.study.irb_contact",
        "clinic.study.clinicaltrials_gov", "clinic.study.future_use", "clinic.study.procedures",
        "clinic.study.samples",
    ]
    assert str(info.value.problems[4]) == (
        "clinic.study.clinicaltrials_gov is required when the clinic lists a study: true for an applicable "
        "clinical trial (21 CFR 50.25(c)), its NCT number such as NCT01234567, or false (got nothing)")


def test_study_values_are_checked():
    """Bad values are reported with what was expected and what was got, all at once."""
    study = make_study(subjects=0, clinicaltrials_gov="NCT123", future_use="anonymous", irb_contact=" ")
    with pytest.raises(consent.InputError) as info:
        build(study)
    assert [str(p) for p in info.value.problems] == [
        "clinic.study.subjects must be a whole number above zero (got 0)",
        "clinic.study.irb_contact must not be empty",
        "clinic.study.clinicaltrials_gov must be true for an applicable clinical trial (21 CFR 50.25(c)), "
        "its NCT number such as NCT01234567, or false (got 'NCT123')",
        "clinic.study.future_use must be 'none' or 'deidentified' (45 CFR 46.116(b)(9)) (got 'anonymous')",
    ]


def test_study_texts_must_exist_in_the_form_language():
    """A plain-text purpose is English: a Spanish form needs a Spanish text, never English words."""
    study = make_study(purpose="To learn if it is safe.", duration={"en": "about 12 months"})
    assert "Why the study is being done: To learn if it is safe." in block_texts(build(study, "en"))
    with pytest.raises(consent.InputError) as info:
        build(study, "es")
    assert [str(p) for p in info.value.problems] == [
        "clinic.study.purpose has no 'es' text for this 'es' form (it has: en (a plain text is English)); "
        "give one text per language, such as {en: ..., es: ...}",
        "clinic.study.duration has no 'es' text for this 'es' form (it has: en); "
        "give one text per language, such as {en: ..., es: ...}",
    ]


def test_clinic_file_with_a_study(tmp_path):
    """A clinic file gives the study in YAML: texts per language, true/false or an NCT number."""
    study = textwrap.dedent("""\
        study:
          irb_name: Western Coast IRB
          ind_number: IND 31337
          purpose:
            en: To learn if exosome shots are safe.
            es: Saber si las inyecciones de exosomas son seguras.
          duration: {en: about 12 months, es: unos 12 meses}
          subjects: 60
          irb_contact: irb@example.org
          clinicaltrials_gov: NCT01234567
          future_use: deidentified
          procedures:
            - what: {en: Two exosome shots in the knee., es: Dos inyecciones de exosomas en la rodilla.}
              experimental: true
            - what: {en: A knee X-ray., es: Una radiografía de la rodilla.}
              experimental: false
          samples: []
    """)
    base = (EXAMPLES / "clinic.yaml").read_text()
    path = tmp_path / "clinic.yaml"
    path.write_text(base + study)
    clinic = consent.load_clinic(path)
    assert clinic.study is not None and clinic.study.nct_id == "NCT01234567" and clinic.study.subjects == 60
    path.write_text(base + study.replace("subjects: 60", "subjects: many")
                    .replace("clinicaltrials_gov: NCT01234567", "clinicaltrials_gov: [1]"))
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    assert sorted(str(p) for p in info.value.problems) == [
        f"{path}: clinic.study.clinicaltrials_gov must be true, false or text (got [1])",
        f"{path}: clinic.study.subjects must be a whole number (got 'many')",
    ]


# ------------------------------------------------------------------ check


def test_check_covers_the_study_variant_of_each_treatment():
    """`consent check` assembles every form a second time with a sample study: its research section is
    scored, and figures that differ from the plain form are marked as the study variant."""
    report = check(languages=["en", "es"])
    assert report.errors == ()
    research = [f for f in report.figures if f.scope == "research"]
    assert {(f.treatment, f.language, f.variant) for f in research} == {
        (t, lang, "study") for t in ("knee-injection", "iv-infusion", "hair") for lang in ("en", "es")}
    # A clause whose text does not change with a study (voluntary) is scored once, not as a variant.
    assert all(f.variant is None for f in report.figures if f.scope == "voluntary")
    assert any(f.variant == "study" for f in report.figures if f.scope == "key-information")


RESEARCH_EN = (REPO / "clauses" / "research.yaml").read_text()
RESEARCH_ES = (REPO / "clauses" / "es" / "research.yaml").read_text()


def test_pack_research_clause_missing_an_element_fails_check(tmp_path):
    """A pack's research clause that drops the future-use element fails `check` on the study variant
    only (coverage.element-missing), and a form for a clinic with a study is refused."""
    text = RESEARCH_EN.replace('version: "1.1"', 'version: "1.1-clinic"').replace(
        "  - future-use                # 45 CFR 46.116(b)(9)\n", "")
    pack = build_tree(tmp_path / "pack", {
        "clauses/research.yaml": text,
        "clauses/es/research.yaml": RESEARCH_ES.replace('translates: "1.1"', 'translates: "1.1-clinic"'),
    })
    report = check(["hair"], packs=[pack], languages=["en", "es"])  # the pack translates into Spanish only
    path = consent.get_library([pack]).treatments["hair"].path
    assert [str(f) for f in report.errors] == [
        f"error coverage.element-missing [hair/{lang}/study]: no clause of the form covers the consent "
        f"element 'future-use' (the clinic lists a study) ({path}:1)" for lang in ("en", "es")
    ]
    build(None, packs=[pack])  # no study: nothing is missing
    with pytest.raises(consent.CheckFailed, match=re.escape("coverage.element-missing [hair/en]")):
        build(make_study(), packs=[pack])


def test_treatment_without_the_research_clause_fails_check(tmp_path):
    """A pack treatment that does not list the research clause is fine for clinics without a study,
    and fails `check` on the study variant for every research element."""
    text = (REPO / "templates" / "treatments" / "hair.yaml").read_text()
    text = text.replace("id: hair", "id: hair-plain").replace("fda-status, research,", "fda-status,")
    text += ("product_identity:\n  maker: Lite Labs, Inc.\n  source_tissue: Donated placenta tissue\n"
             "  donor_screening: HIV and hepatitis B and C\n")
    pack = build_tree(tmp_path / "pack", {"templates/treatments/hair-plain.yaml": text})
    report = check(["hair-plain"], packs=[pack], languages=["en"])
    assert {(f.rule, f.variant) for f in report.errors} == {("coverage.element-missing", "study")}
    assert len(report.errors) == len(consent.content.RESEARCH_ELEMENTS)


HARD = ("Notwithstanding the aforementioned considerations, individuals contemplating administration of "
        "investigational biological preparations should comprehensively evaluate potential immunological "
        "complications, contraindications, and unanticipated pharmacological interactions.")


def test_verbatim_block_is_printed_but_not_scored(tmp_path):
    """A `verbatim: true` block (words fixed by law) is printed as written, not scored for readability."""
    heading = "  - h: Your information and samples\n"
    text = RESEARCH_EN.replace('version: "1.1"', 'version: "2"')
    scored = text.replace(heading, f"  - p: {HARD}\n{heading}")  # the same words, not marked verbatim
    text = text.replace(heading, f"  - p: {HARD}\n    verbatim: true\n{heading}")
    words_scored = {}
    for name, clause in (("verbatim", text), ("scored", scored)):
        pack = build_tree(tmp_path / name, {"clauses/research.yaml": clause})
        report = check(["hair"], packs=[pack], languages=["en"])
        assert report.errors == ()
        words_scored[name] = next(f.words for f in report.figures if f.scope == "research")
        assert HARD in block_texts(build(make_study(), packs=[pack]), "research")
    assert words_scored["scored"] - words_scored["verbatim"] == len(HARD.split())


def test_a_clause_that_renders_empty_is_an_error(tmp_path):
    """A clause whose blocks all render empty is an error naming it, never an empty section."""
    empty = textwrap.dedent("""\
        id: research
        version: "3"
        title: Research
        when: study
        elements: [research-statement, research-duration, research-subjects, clinicaltrials-gov, future-use,
                   research-rights-contact, research-procedures, fda-inspection, research-withdrawal]
        body:
          - p: "{% if study.ide_number %}The IDE is {{ study.ide_number }}.{% endif %}"
    """)
    pack = build_tree(tmp_path / "empty", {"clauses/research.yaml": empty})
    messages = [str(f) for f in check(["hair"], packs=[pack], languages=["en"]).errors]
    assert messages == [f"error structure.invalid [study]: clause 'research' has no text on this form "
                        f"(every block is empty) ({pack}/clauses/research.yaml:1)"]
    with pytest.raises(consent.ContentError, match="clause 'research' has no text on this form"):
        build(make_study(), packs=[pack])


# ------------------------------------------------------------------ issue 26, points 8 to 11

STUDY_FORM = {
    "en": {
        "lead": "You are being asked to take part in a research study. Why the study is being done: To learn "
                "if exosome shots are safe, and if they ease knee pain. You will be in the study for about 12 "
                "months.",
        "asked": "In the study, you will be asked to do these things:",
        "description": "A lab-made exosome product is given as a shot into the knee joint",
        "risks": "Serious risks include infection and a severe allergic reaction.",
        "experimental": "These parts are experimental. They are done because of the study:",
        "usual": "These parts are not experimental:",
        "shots": "Two exosome shots in the knee, 4 weeks apart.",
        "xray": "A knee X-ray at the start and after 12 months.",
        "samples": "We will collect these samples from you for the study:",
        "blood": "A small tube of blood at the first and last visits.",
        "no_samples": "We will not collect any samples from you for this study, such as blood or tissue.",
        "inspect": "The FDA may look at your study records, including the ones with your name on them.",
        "conditional": "The FDA or your state health department, if the law requires it.",
        "withdraw": "If you do, the information we have already collected about you stays in the study. It "
                    "will not be taken out.",
    },
    "es": {
        "lead": "Le pedimos que participe en un estudio de investigación. Por qué se hace el estudio: Saber si "
                "las inyecciones de exosomas son seguras y si alivian el dolor de rodilla. Usted estará en el "
                "estudio durante unos 12 meses.",
        "asked": "En el estudio, le vamos a pedir que haga estas cosas:",
        "description": "Es una inyección en la rodilla de un producto con exosomas",
        "risks": "Hay riesgos graves, como una infección o una reacción alérgica fuerte.",
        "experimental": "Estas partes son experimentales. Se hacen por el estudio:",
        "usual": "Estas partes no son experimentales:",
        "shots": "Dos inyecciones de exosomas en la rodilla, con 4 semanas de diferencia.",
        "xray": "Una radiografía de la rodilla al inicio y a los 12 meses.",
        "samples": "Para el estudio le vamos a tomar estas muestras:",
        "blood": "Un tubo pequeño de sangre en la primera y la última visita.",
        "no_samples": "Para este estudio no le vamos a tomar ninguna muestra, como sangre o tejido.",
        "inspect": "La FDA puede revisar sus registros del estudio, incluso los que llevan su nombre.",
        "conditional": "La FDA o el departamento de salud de su estado, si la ley lo exige.",
        "withdraw": "Si lo deja, la información que ya tomamos sobre usted se queda en el estudio. No se va a "
                    "quitar.",
    },
}


def in_order(text: str, phrases: list[str]) -> list[int]:
    """Where each phrase is found in ``text``, each searched for after the one before (-1: not there)."""
    out, at = [], 0
    for phrase in phrases:
        at = text.find(flat(phrase), at)
        out.append(at)
        if at < 0:
            break
    return out


def section_text(form: consent.Form, clause_id: str) -> str:
    return flat(" ".join(t for t in block_texts(form, clause_id)) + " " + " ".join(
        i for s in form.sections if s.clause_id == clause_id for b in s.blocks for i in getattr(b, "items", ())))


@pytest.mark.parametrize("language", ["en", "es"])
def test_key_information_of_a_study_form_leads_with_the_research(rendered, language):
    """Point 8 (45 CFR 46.116(a)(5)(i)): on a study form the key facts open with the research: its purpose,
    how long the patient takes part (the study's 12 months, not only the sessions), what they will be asked
    to do, then the treatment and its main risks; a form without a study has none of it."""
    t = STUDY_FORM[language]
    for kind in ("irb-only", "ind"):
        form, pdf, docx_text = rendered[kind, language]
        first = form.sections[0]
        assert first.clause_id == "key-information"
        assert flat(getattr(first.blocks[0], "text", "")).endswith(flat(t["lead"]))
        for text in (pdf, docx_text):
            order = [text.find(flat(p)) for p in (t["lead"], t["asked"], t["shots"], t["xray"], t["description"],
                                                  t["risks"])]
            assert -1 not in order and order == sorted(order), order
    form, pdf, docx_text = rendered["none", language]
    for text in (pdf, docx_text):
        assert flat(t["lead"]) not in text and flat(t["asked"]) not in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_research_procedures_say_which_are_experimental_and_what_samples(rendered, language):
    """Point 9 (21 CFR 50.25(a)(1)): the procedures the clinic gives are printed, the experimental ones
    under their own line, and the samples are named (or the form says none are taken)."""
    t = STUDY_FORM[language]
    for text in rendered["irb-only", language][1:]:
        order = in_order(text, [t["experimental"], t["shots"], t["usual"], t["xray"], t["samples"], t["blood"]])
        assert -1 not in order, order
        assert text.count(flat(t["experimental"])) == 1
        between = text[text.find(flat(t["experimental"])):text.find(flat(t["usual"]))]
        assert flat(t["shots"]) in between and flat(t["xray"]) not in between
        assert flat(t["no_samples"]) not in text
    form = build(make_study(samples=(), procedures=(consent.Procedure("A survey.", experimental=False),)),
                 language="en") if language == "en" else None
    if form is not None:
        research = section_text(form, "research")
        assert flat(STUDY_FORM["en"]["no_samples"]) in research
        assert flat(STUDY_FORM["en"]["experimental"]) not in research
        assert "A survey." in research


@pytest.mark.parametrize("language", ["en", "es"])
def test_fda_may_inspect_the_records_without_condition(rendered, language):
    """Point 10 (21 CFR 50.25(a)(5)): a study form says the FDA may inspect the records, with no 'if the law
    requires it'; a form without a study keeps the ordinary wording."""
    t = STUDY_FORM[language]
    for kind in ("irb-only", "ind"):
        form, pdf, docx_text = rendered[kind, language]
        for text in (pdf, docx_text):
            assert flat(t["inspect"]) in text
            assert flat(t["conditional"]) not in text
    for text in rendered["none", language][1:]:
        assert flat(t["conditional"]) in text and flat(t["inspect"]) not in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_data_collected_before_withdrawal_stays_in_the_study(rendered, language):
    """Point 11 (21 CFR 50.25(b)(4); FDA's data-retention guidance, 2008): leaving the study does not take
    out the data already collected, and no new data is collected without the patient's agreement."""
    t = STUDY_FORM[language]
    for text in rendered["ind", language][1:]:
        assert flat(t["withdraw"]) in text
    for text in rendered["none", language][1:]:
        assert flat(t["withdraw"]) not in text


def test_study_procedures_and_samples_are_checked():
    """Procedures: at least one, each a Procedure with text and experimental true or false; samples: a list
    of texts ([] for none); each text must exist in the form's language."""
    bad = make_study(procedures=(), samples="blood")
    with pytest.raises(consent.InputError) as info:
        build(bad)
    assert [str(p) for p in info.value.problems] == [
        "clinic.study.procedures must list at least one thing: what the patient will be asked to do (visits, "
        "tests, questionnaires, samples), each with experimental: true or false (21 CFR 50.25(a)(1)) (got [])",
        "clinic.study.samples must be a list: the samples collected (such as blood or tissue), or [] when none "
        "are (got 'blood')",
    ]
    bad = make_study(procedures=(consent.Procedure(" ", experimental="yes"),), samples=({},))  # type: ignore[arg-type]
    with pytest.raises(consent.InputError) as info:
        build(bad)
    assert [str(p) for p in info.value.problems] == [
        "clinic.study.procedures[0].what must not be empty",
        "clinic.study.procedures[0].experimental must be true or false (got 'yes')",
        "clinic.study.samples[0] must give the text for at least one language (got {})",
    ]
    english_only = make_study(procedures=(consent.Procedure("A survey.", experimental=False),),
                              samples=("Blood.",))
    with pytest.raises(consent.InputError) as info:
        build(english_only, "es")
    assert [p.field for p in info.value.problems] == ["clinic.study.procedures[0].what", "clinic.study.samples[0]"]


def test_clinic_file_procedures_are_structured(tmp_path):
    """In a clinic file a procedure is {what, experimental}: a misspelt key or a non-boolean is an error."""
    base = (EXAMPLES / "clinic.yaml").read_text()
    study = textwrap.dedent("""\
        study:
          irb_name: Western Coast IRB
          purpose: To learn if it is safe.
          duration: about 12 months
          subjects: 60
          irb_contact: irb@example.org
          clinicaltrials_gov: false
          future_use: none
          procedures:
            - {what: A knee X-ray., experimental: false}
            - {wat: Two shots., experimental: maybe}
          samples: [A small tube of blood.]
    """)
    path = tmp_path / "clinic.yaml"
    path.write_text(base + study)
    with pytest.raises(consent.InputError) as info:
        consent.load_clinic(path)
    text = " ".join(str(p) for p in info.value.problems)
    assert "wat" in text and "experimental" in text
    path.write_text(base + study.replace("{wat: Two shots., experimental: maybe}",
                                         "{what: Two shots., experimental: true}"))
    clinic = consent.load_clinic(path)
    assert clinic.study is not None and [p.experimental for p in clinic.study.procedures or ()] == [False, True]
