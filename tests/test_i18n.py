"""Spanish forms: chosen from the patient's language, formatted for the locale, complete and all Spanish."""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal

import pytest
from helpers import (
    DATE,
    EXAMPLES,
    TREATMENTS,
    build_tree,
    docx_all_text,
    docx_body_lines,
    docx_document,
    make_clinic,
    pdf_header_lines,
    pdf_pages,
    with_language,
    words,
)

import consent
from consent.check import check
from consent.cli import main

SPANISH_FEES = consent.FeeSchedule(price_per_session=Decimal("2500"), planned_sessions=2,
                                   included=({"en": "The product", "es": "El producto"},),
                                   excluded=({"en": "X-rays", "es": "Radiografías"},))


def spanish_patient(code: str = "es") -> consent.Patient:
    return consent.Patient(full_name="Gustavo Mejía", birth_date=dt.date(1975, 6, 3), preferred_language=code)


@pytest.mark.parametrize("code", ["es", "es-MX", "es_US", "spa", "ES"])
def test_preferred_language_selects_spanish(code, clinic):
    """ISO codes for Spanish in any common form give a Spanish form."""
    form = consent.build("hair", patient=spanish_patient(code), clinic=clinic, date=DATE)
    assert form.language == "es"
    assert form.title == "Consentimiento informado: Inyección de exosomas en el cuero cabelludo" or \
        form.title.startswith("Consentimiento informado")
    assert form.manifest.language == "es"
    assert all(ref.language == "es" for ref in form.manifest.clauses)


def test_language_option_overrides_the_preference(clinic):
    """--language / language= wins over the patient's preference, both ways."""
    assert consent.build("hair", patient=spanish_patient(), clinic=clinic, date=DATE, language="en").language == "en"
    english = consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1985, 12, 1))
    assert consent.build("hair", patient=english, clinic=clinic, date=DATE, language="es").language == "es"
    with pytest.raises(consent.InputError, match="language 'fr' is not available"):
        consent.build("hair", patient=english, clinic=clinic, date=DATE, language="fr")


def test_unavailable_language_falls_back_to_english_with_a_warning(clinic, capsys, tmp_path):
    """A patient who reads Traditional Chinese (zh-TW: there is no stock form in it, and the Simplified one
    must not stand in for it) gets English and a warning, from the library and from the CLI."""
    patient = consent.Patient(full_name="Li Wei", birth_date=dt.date(1990, 5, 5), preferred_language="zh-TW")
    with pytest.warns(consent.LanguageFallbackWarning, match=r"preferred language 'zh-TW' is not available; the "
                      r"form is in English \(available: en, es, zh-Hans\)"):
        assert consent.build("hair", patient=patient, clinic=clinic, date=DATE).language == "en"
    path = tmp_path / "p.yaml"
    path.write_text("full_name: Li Wei\nbirth_date: 1990-05-05\npreferred_language: zh-TW\n")
    code = main(["render", "hair", "--patient", str(path), "--clinic", str(EXAMPLES / "clinic.yaml"),
                 "--format", "docx", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0
    assert "Warning: preferred language 'zh-TW' is not available; the form is in English" in err


def test_dates_and_money_follow_the_locale(render_both):
    """Babel formats the Spanish dates and amounts (es_US), in both outputs."""
    form = consent.build("knee-injection", patient=spanish_patient(), clinic=make_clinic(fees=SPANISH_FEES),
                         date=dt.date(2026, 11, 21))
    from babel.numbers import format_currency

    total = format_currency(Decimal("5000"), "USD", locale="es_US")
    pdf, docx_bytes = render_both(form)
    flat = " ".join(words(" ".join(pdf_pages(pdf))))
    for text in ("21 de noviembre de 2026", "3 de junio de 1975", total, "Página 1 de"):
        assert text in flat, text
    assert "21 de noviembre de 2026" in docx_all_text(docx_bytes)
    assert total in docx_all_text(docx_bytes)


LAW_STATE = {"CA": "CALIFORNIA", "UT": "UTAH"}


@pytest.mark.parametrize("state", ["CA", "UT"])
def test_statutory_notice_stays_english_with_a_marked_courtesy_translation(state, render_both):
    """The law's words appear verbatim in English, then a Spanish translation labelled as a courtesy."""
    form = consent.build("hair", patient=spanish_patient(), clinic=make_clinic(state=state, fees=SPANISH_FEES),
                         date=DATE)
    english = consent.build("hair", patient=spanish_patient(), clinic=make_clinic(state=state), date=DATE,
                            language="en")
    statutory = english.sections[1].blocks[0].text
    section = form.sections[1]
    assert section.clause_id == f"state-notice-{state.lower()}"
    assert section.blocks[0].text == statutory
    where = "de la página anterior" if state == "UT" else "de arriba"  # Utah's notice has a page of its own
    assert section.blocks[1].text == f"Traducción de cortesía (el texto en inglés {where} es el aviso legal)"
    assert section.blocks[2].text.startswith(f"ESTE AVISO SE LE DEBE ENTREGAR SEGÚN LA LEY DE {LAW_STATE[state]}.")
    pdf, docx_bytes = render_both(form)
    assert statutory in " ".join(words(" ".join(pdf_pages(pdf))))
    assert statutory in " ".join(words(docx_all_text(docx_bytes)))


# Words that are the same in both languages, or names: everything else in a Spanish form must be Spanish.
SHARED_WORDS = {
    "a", "no", "el", "use", "decide", "control", "plan", "total", "legal", "local", "extra", "hospital",
    "artificial", "umbilical", "lupus", "pus", "semen", "gel", "saunas", "psoriasis", "material",
    "fda", "ind", "irb", "clinicaltrials.gov", "medicare", "medicaid", "minoxidil", "clopidogrel", "california",
    # issue 8: FDA's reporting program and its address, the agency and state of the reported outbreaks
    "medwatch", "www.fda.gov/medwatch", "cdc", "nebraska", "sexual",
    "hepatitis", "b", "c",  # the donor screening: "hepatitis B and C" / "hepatitis B y C"
}


@pytest.mark.parametrize(("name", "one_line"), [
    ("Gustavo Mejía Hernández", True),
    ("María Guadalupe Hernández", True),
    ("María José Núñez-Łukasiewicz de la Fuente", False),
])
def test_spanish_page_header_never_breaks_the_birth_date(name, one_line, render_both):
    """Every page's running header prints the birth date whole, on one line ("27 de septiembre de 1985",
    not "... de" / "1985"): with the usual names the header is one line (clinic, name, birth date); a
    longer name wraps, the date does not. The DOCX header (the page's whole width) has the short label
    too."""
    patient = consent.Patient(full_name=name, birth_date=dt.date(1985, 9, 27), preferred_language="es")
    form = consent.build("iv-infusion", patient=patient, clinic=make_clinic(), date=DATE)
    pdf, docx_bytes = render_both(form)
    birth = f"{form.labels['header_date_of_birth']} 27 de septiembre de 1985"
    assert birth == "Nacimiento 27 de septiembre de 1985"
    pages = pdf_header_lines(pdf)
    assert len(pages) == len(pdf_pages(pdf)) > 10
    for lines in pages:
        flat = [" ".join(words(line)) for line in lines]
        assert sum(birth in line for line in flat) == 1, flat
        if one_line:
            assert flat == [f"Harbor Clinic {name} · {birth}"]
        else:
            assert " ".join(flat) in (f"{name} · Harbor Clinic {birth}", f"{name} Harbor Clinic · {birth}")
    header = docx_document(docx_bytes).sections[0].header.paragraphs[0].text
    assert header == f"Harbor Clinic\t{name} · {birth}"


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_spanish_form_has_no_english_but_the_law_and_names(treatment):
    """Every word of the Spanish form that also appears in the English form is a name, a number, a
    word both languages share, or part of the statutory English notice."""
    clinic = make_clinic(state="CA", fees=SPANISH_FEES)
    es = consent.build(treatment, patient=spanish_patient(), clinic=clinic, date=DATE)
    en = consent.build(treatment, patient=spanish_patient(), clinic=clinic, date=DATE, language="en")
    notice = en.sections[1].blocks[0]
    law = [" ".join(words(notice.text)), " ".join(words(notice.citation))]  # the statute and its name

    def body(form: consent.Form) -> str:
        text = " ".join(words("\n".join(docx_body_lines(form.to_docx()))))
        for part in law:
            text = text.replace(part, " ")
        return text

    es_text, en_text = body(es), body(en)

    def vocabulary(text: str) -> set[str]:
        out = {w.lower().strip(".,;:()¿?¡!\"“”'") for w in text.split()}
        return {w for w in out if w and not any(ch.isdigit() for ch in w) and w not in {"·", "—", "°c", "°f"}}

    names = vocabulary(" ".join([clinic.name, clinic.address, clinic.provider.name, clinic.provider.credentials,
                                 clinic.products[treatment].maker, "Gustavo Mejía"]))
    leaked = (vocabulary(es_text) & vocabulary(en_text)) - SHARED_WORDS - names
    assert leaked == set(), f"English words in the Spanish form: {sorted(leaked)}"
    assert "the" in vocabulary(en_text) and "usted" in vocabulary(es_text)


def test_stock_library_is_complete_and_readable_in_spanish():
    """`check --language es`: every clause and treatment translated; Szigriszt-Pazos within thresholds."""
    report = check(languages=["es"])
    assert report.errors == ()
    figures = [f for f in report.figures if f.language == "es"]
    assert {f.treatment for f in figures} == set(TREATMENTS)
    for fig in figures:
        assert [name for name, _ in fig.scores] == ["szigriszt-pazos", "fernandez-huerta"]
        limit = 65 if fig.scope == "key-information" else 60 if fig.scope == "(whole form)" else 55
        assert fig.score("szigriszt-pazos") >= limit, fig


def test_missing_translation_is_a_check_error_naming_clause_and_language(tmp_path):
    """A pack clause with no Spanish file: check names the clause and the language; render refuses."""
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": """
        id: benefits
        version: "1.1-pack"
        title: Possible benefits
        elements: [benefits]
        body:
          - p: We hope it helps. We cannot promise that it will.
    """})
    report = check(["hair"], packs=[pack], languages=["es"])
    assert [str(f) for f in report.errors] == [
        f"error structure.translation-missing [hair/es] clause benefits: clause 'benefits' has no 'es' "
        f"translation ({pack}/clauses/benefits.yaml)"
    ]
    with pytest.raises(consent.ContentError, match="clause 'benefits' has no 'es' translation"):
        consent.build("hair", patient=spanish_patient(), clinic=make_clinic(), date=DATE, packs=[pack])


def test_adding_a_language_is_adding_files(tmp_path):
    """A pack with labels, treatment and clause files for a new language makes forms in it (here: a
    toy language that copies Spanish), with no Python; the clinic gives its own text in it too."""
    import shutil

    import yaml

    root = consent.get_library().sources[-1].root
    pack = tmp_path / "pack"
    shutil.copytree(root / "clauses" / "es", pack / "clauses" / "xx")
    shutil.copytree(root / "templates" / "treatments" / "es", pack / "templates" / "treatments" / "xx")
    labels = (root / "templates" / "labels" / "es.yaml").read_text(encoding="utf-8")
    (pack / "templates" / "labels").mkdir(parents=True)
    (pack / "templates" / "labels" / "xx.yaml").write_text(labels.replace("locale: es_US", "locale: es_MX"))
    patient = consent.Patient(full_name="Ana Ruiz", birth_date=dt.date(1980, 1, 2), preferred_language="xx")
    missing = r"clinic.fees.hair.included\[0\] has no language 'xx' text \(given: en, es, zh-Hans\)"
    with pytest.raises(consent.InputError, match=missing):
        consent.build("hair", patient=patient, clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), date=DATE,
                      packs=[pack])
    clinic_file = tmp_path / "clinic.yaml"
    data = yaml.safe_load((EXAMPLES / "clinic.yaml").read_text(encoding="utf-8"))
    clinic_file.write_text(yaml.safe_dump(with_language(data, "es", "xx"), allow_unicode=True), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        form = consent.build("hair", patient=patient, clinic=consent.load_clinic(clinic_file), date=DATE,
                             packs=[pack])
    assert form.language == "xx" and form.locale == "es_MX"
