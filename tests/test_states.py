"""State notices and state rules: when a notice applies, what the law allows, and how the notice is printed
(read back from the PDF with pypdf and from the DOCX with python-docx)."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pypdf
import pytest
from docx.shared import Inches
from helpers import (
    DATE,
    TREATMENTS,
    build_tree,
    docx_all_text,
    docx_document,
    make_clinic,
    page_furniture,
    pdf_pages,
    words,
)

import consent
from consent._assemble import assemble
from consent.check import check, check_form
from consent.cli import main
from consent.document import Notice

CA = ("THIS NOTICE MUST BE PROVIDED TO YOU UNDER CALIFORNIA LAW. This health care practitioner performs one or "
      "more stem cell therapies that have not been approved by the United States Food and Drug Administration. "
      "You are encouraged to consult with your primary care physician prior to undergoing a stem cell therapy.")
UT = ("THIS NOTICE MUST BE PROVIDED TO YOU UNDER UTAH LAW. This health care practitioner performs one or more "
      "stem cell therapies that have not yet been approved by the United States Food and Drug Administration. "
      "You are encouraged to consult with your primary care provider before undergoing a stem cell therapy.")
TX_START = "Texas law covers investigational stem cell treatment given in a clinical trial"
FL_LAW = "FL law (Florida Statutes sections 458.3245 and 459.0127)"


def spanish(name: str = "Gustavo Mejía") -> consent.Patient:
    return consent.Patient(full_name=name, birth_date=dt.date(1975, 6, 3), preferred_language="es")


def flat(text: str) -> str:
    return " ".join(words(text))


def pdf_text(data: bytes) -> str:
    return flat(" ".join(pdf_pages(data)))


def pdf_runs(page: pypdf.PageObject) -> list[tuple[str, float]]:
    """(text, type size in points) of every text operator on a PDF page: the font size set by Tf, scaled
    by the text matrix and the current transformation matrix."""
    runs: list[tuple[str, float]] = []

    def visit(text, cm, tm, _font, size):  # type: ignore[no-untyped-def]
        if text.strip():
            a, b, c, d = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3], \
                tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]
            runs.append((text, round(size * math.sqrt(abs(a * d - b * c)), 2)))

    page.extract_text(visitor_text=visit)
    return runs


def pdf_sizes_of(data: bytes, text: str) -> set[float]:
    """The type sizes the words of ``text`` are drawn at, wherever they are in the PDF."""
    want = words(text)
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        runs = pdf_runs(page)
        seq = [(w, size) for t, size in runs for w in words(t)]
        for k in range(len(seq) - len(want) + 1):
            if [w for w, _ in seq[k:k + len(want)]] == want:
                return {s for _, s in seq[k:k + len(want)]}
    raise AssertionError(f"{text[:40]!r} is not drawn on one page")


def page_body(form: consent.Form, page: str) -> str:
    """A page's text without its header and footer (each of which is there once)."""
    text = flat(page)
    for pattern in page_furniture(form):
        found = list(pattern.finditer(text))
        assert found, pattern.pattern
        text = text[: found[-1].start()] + " " + text[found[-1].end():]
    return flat(text)


def docx_paragraph(data: bytes, text: str) -> docx.text.paragraph.Paragraph:
    document = docx_document(data)
    matches = [p for p in document.paragraphs if flat(p.text) == flat(text)]
    assert len(matches) == 1, f"{len(matches)} paragraphs read {text[:40]!r}"
    return matches[0]


def docx_next(paragraph: docx.text.paragraph.Paragraph) -> docx.text.paragraph.Paragraph:
    following = paragraph._p.getnext()
    assert following is not None and following.tag.endswith("}p")
    return docx.text.paragraph.Paragraph(following, paragraph._parent)


def docx_run_sizes(paragraph: docx.text.paragraph.Paragraph) -> set[float]:
    return {r.font.size.pt if r.font.size is not None else None for r in paragraph.runs}


def section_of(form: consent.Form, clause_id: str) -> consent.Section:
    return next(s for s in form.sections if s.clause_id == clause_id)


# ------------------------------------------------------------------ California: IND or IDE, not an IRB alone


@pytest.mark.parametrize(("study", "carried"), [
    (None, True),
    (consent.Study(irb_name="Western Coast IRB", protocol="WC-7"), True),  # an IRB alone does not exempt
    (consent.Study(ind_number="IND 31337"), False),
    (consent.Study(ide_number="G210042", irb_name="Western Coast IRB"), False),
])
def test_california_notice_is_lifted_only_by_an_fda_ind_or_ide(study, carried, patient, render_both):
    """B&P 684 does not apply to a practitioner holding an FDA IND or IDE; an IRB-approved study alone
    still gets the notice, in both outputs."""
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="CA", study=study), date=DATE)
    pdf, docx_bytes = render_both(form)
    assert (CA in pdf_text(pdf)) is carried
    assert (CA in flat(docx_all_text(docx_bytes))) is carried
    assert ("state-notice-ca" in [s.clause_id for s in form.sections]) is carried


def test_clause_names_the_approvals_that_lift_the_duty(tmp_path):
    """The CA clause says exempt_with: [ind, ide]; the old flag exempt_with_study is refused, naming its
    replacement; exempt_with takes only ind, ide and irb."""
    assert consent.get_library().clause("state-notice-ca").exempt_with == ("ind", "ide")
    pack = build_tree(tmp_path / "pack", {"clauses/state-notice-ca.yaml": """
        id: state-notice-ca
        version: "9"
        kind: state-notice
        title: Notice
        elements: []
        states: [CA]
        wording: verbatim
        exempt_with_study: true
        exempt_with: [ind, nct]
        body:
          - notice: Text.
    """})
    path = f"{pack}/clauses/state-notice-ca.yaml"
    assert [str(p) for p in consent.Library([pack]).problems] == [
        f"{path}:8: exempt_with_study was replaced by exempt_with, a list drawn from ind, "
        "ide, irb: name the approvals that lift the duty (California: an FDA IND or IDE, not an IRB alone)",
        f"{path}:9: exempt_with[1]: exempt_with items must be drawn from ind, ide, irb (got 'nct')",
    ]


# ------------------------------------------------------------------ Washington: a paraphrase, said so


def test_washington_notice_says_it_is_a_summary_not_the_law_s_words(patient, render_both):
    """RCW 18.130.420 sets no words: the clause says `wording: paraphrase`, and the form says, next to the
    notice, that it is a plain-language summary; California's verbatim notice keeps "Law:"."""
    library = consent.get_library()
    assert library.clause("state-notice-wa").wording == "paraphrase"
    assert library.clause("state-notice-ca").wording == "verbatim"
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="WA"), date=DATE)
    pdf, docx_bytes = render_both(form)
    summary = ("Plain-language summary of what this law requires (the law does not set these words): "
               "Revised Code of Washington (RCW) 18.130.420")
    for text in (pdf_text(pdf), flat(docx_all_text(docx_bytes))):
        assert summary in text
        assert "Law: Revised Code of Washington" not in text
    es = consent.build("knee-injection", patient=spanish(), clinic=make_clinic(state="WA"), date=DATE)
    assert ("Resumen en lenguaje sencillo de lo que exige esta ley (la ley no fija estas palabras): Revised Code "
            "of Washington (RCW) 18.130.420") in pdf_text(es.to_pdf())


def test_a_state_notice_must_say_whose_words_it_prints(tmp_path):
    """A state notice without `wording` is a library error: the form must never pass a summary off as law."""
    pack = build_tree(tmp_path / "pack", {"clauses/state-notice-nv.yaml": """
        id: state-notice-nv
        version: "1"
        kind: state-notice
        title: Nevada notice
        elements: []
        states: [NV]
        body:
          - notice: Text.
    """})
    assert [p.message for p in consent.Library([pack]).problems] == [
        "a state notice must say whether its words are the law's own (wording: verbatim) or a plain-language "
        "summary of what the law requires (wording: paraphrase)"
    ]


# ------------------------------------------------------------------ Florida: physicians, three specialties


def test_treatment_files_name_their_specialty():
    library = consent.get_library()
    assert {t: library.treatment(t).specialty for t in TREATMENTS} == {
        "knee-injection": "orthopedics", "iv-infusion": "general-wellness", "hair": "dermatology"}
    assert library.clause("state-notice-fl").specialties == ("orthopedics", "wound-care", "pain-management")


@pytest.mark.parametrize(("treatment", "specialty"), [("hair", "dermatology"), ("iv-infusion", "general-wellness")])
def test_florida_refuses_a_treatment_outside_its_three_fields(treatment, specialty, patient, tmp_path, capsys):
    """A hair or IV form for a Florida clinic is a check error and render refuses it, saying why."""
    reason = (f"{FL_LAW} allows this therapy only in orthopedics, wound-care, pain-management; the {treatment} "
              f"treatment cannot be offered there (its specialty is {specialty!r})")
    with pytest.raises(consent.CheckFailed) as raised:
        consent.build(treatment, patient=patient, clinic=make_clinic(state="FL"), date=DATE)
    assert any(reason in p.message for p in raised.value.problems)
    report = check([treatment], languages=["en"], state="FL")
    assert [f.message for f in report.errors] == [reason]
    assert report.errors[0].rule == "notice.specialty-not-allowed"
    clinic_file = tmp_path / "clinic.yaml"
    from helpers import EXAMPLES

    clinic_file.write_text((EXAMPLES / "clinic.yaml").read_text().replace("state: CA", "state: FL"))
    out = tmp_path / "out"
    assert main(["render", treatment, "--patient", str(EXAMPLES / "patient-jose.yaml"), "--clinic",
                 str(clinic_file), "--out", str(out)]) == 1
    assert reason in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(("credentials", "allowed"), [
    ("MD", True), ("D.O.", True), ("M.D., PhD", True), ("NP", False), ("PA-C", False), ("DC", False),
])
def test_florida_allows_only_physicians(credentials, allowed, patient):
    """Only an MD or a DO may give the therapy in Florida; anyone else is a check error, with the reason."""
    clinic = make_clinic(state="FL", provider=consent.Provider(name="Sam Lee", credentials=credentials))
    if allowed:
        form = consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)
        assert form.sections[1].clause_id == "state-notice-fl"
        return
    with pytest.raises(consent.CheckFailed) as raised:
        consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)
    assert [p.message for p in raised.value.problems] == [
        f"error notice.provider-not-allowed [knee-injection/en] clause state-notice-fl: {FL_LAW} allows only a "
        f"provider with MD or DO credentials to give this therapy; the clinic's provider has {credentials!r} "
        f"({consent.get_library().clause('state-notice-fl').path}:1)"
    ]


# ------------------------------------------------------------------ Texas: in a trial with an IRB only


def test_texas_notice_is_left_out_of_a_treatment_outside_a_trial_with_a_warning(patient, render_both):
    """Chapter 1003 covers investigational treatment in a clinical trial overseen by an IRB: without such
    a study the notice is not printed, and check warns why."""
    clinic = make_clinic(state="TX")
    form = consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)
    pdf, docx_bytes = render_both(form)
    assert TX_START not in pdf_text(pdf) and TX_START not in flat(docx_all_text(docx_bytes))
    assert "state-notice-tx" not in [s.clause_id for s in form.sections]
    unchecked, trace = assemble("knee-injection", patient=patient, clinic=clinic, date=DATE)
    warnings = [f for f in check_form(unchecked, trace, consent.get_library()).warnings
                if f.rule == "notice.not-applicable"]
    assert [w.message for w in warnings] == [
        "the TX notice is left out of this form: TX law (Texas Health and Safety Code sections 1003.051 to "
        "1003.055) covers only treatment given in a study with an IRB overseeing it (a clinical trial), and "
        "this clinic records none (clinic.study). That law does not cover this treatment outside such a study: "
        "have counsel confirm it may be given in TX"
    ]
    assert any(f.rule == "notice.not-applicable" for f in check(["knee-injection"], languages=["en"],
                                                                 state="TX").warnings)


@pytest.mark.parametrize(("study", "carried"), [
    (consent.Study(irb_name="Gulf Coast IRB", protocol="TX-01"), True),
    (consent.Study(ind_number="IND 31337"), False),  # an IND with no IRB named: not the trial the law covers
])
def test_texas_notice_is_printed_for_a_treatment_in_an_irb_overseen_trial(study, carried, patient, render_both):
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="TX", study=study), date=DATE)
    pdf, docx_bytes = render_both(form)
    assert (TX_START in pdf_text(pdf)) is carried
    assert (TX_START in flat(docx_all_text(docx_bytes))) is carried


# ------------------------------------------------------------------ the same type size in PDF and DOCX


@pytest.mark.parametrize(("state", "language", "size"), [
    ("CA", "en", 12.0), ("WA", "en", 12.0), ("FL", "es", 12.0), ("UT", "es", 12.0),
])
def test_notice_has_the_same_type_size_in_pdf_and_docx(state, language, size, render_both):
    """The notice's size comes from the document model: the PDF draws it and the DOCX runs carry it."""
    form = consent.build("knee-injection", patient=spanish(), clinic=make_clinic(state=state), date=DATE,
                         language=language)
    notice = section_of(form, f"state-notice-{state.lower()}").blocks[0]
    assert isinstance(notice, Notice) and notice.type_pt == size
    pdf, docx_bytes = render_both(form)
    assert pdf_sizes_of(pdf, notice.text) == {size}
    assert docx_run_sizes(docx_paragraph(docx_bytes, notice.text)) == {size}


# ------------------------------------------------------------------ Spanish: the courtesy translation


@pytest.mark.parametrize("state", ["CA", "UT"])
def test_spanish_courtesy_translation_is_announced_once_and_keeps_the_statute_s_voice(state, render_both):
    """The label says "courtesy translation" once (the clause no longer repeats it), and the translation
    keeps the statute's impersonal voice: "Se le recomienda", not "Le recomendamos" (we recommend)."""
    form = consent.build("hair", patient=spanish(), clinic=make_clinic(state=state), date=DATE)
    pdf, docx_bytes = render_both(form)
    for text in (pdf_text(pdf), flat(docx_all_text(docx_bytes))):
        assert len(re.findall("traducción de cortesía", text, flags=re.IGNORECASE)) == 1
        assert "Se le recomienda que consulte" in text
        assert "Le recomendamos" not in text.split("Traducción de cortesía")[1].split("Ley:")[0]
