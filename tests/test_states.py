"""State notices and state rules: when a notice applies, what the law allows, and how the notice is printed
(read back from the PDF with pypdf and from the DOCX with python-docx)."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
import subprocess

import docx
import pypdf
import pytest
from docx.shared import Inches
from helpers import (
    CA,
    DATE,
    IRB_ONLY_ACKNOWLEDGED,
    TREATMENTS,
    UT,
    build_tree,
    docx_all_text,
    docx_document,
    make_clinic,
    make_study,
    page_furniture,
    pdf_pages,
    words,
)

import consent
from consent.assemble.assembly import assemble
from consent.check import check, check_form
from consent.cli import main
from consent.document import Notice

TX_START = "Texas law sets rules for investigational stem cell treatment"
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


# ------------------------------------------------------------------ California: only the IND or IDE holder


@pytest.mark.parametrize(("study", "carried"), [
    (None, True),
    (make_study(ind_number=None, irb_name="Western Coast IRB", protocol="WC-7"), True),  # an IRB alone does not exempt
    (make_study(irb_name=None, ind_number="IND 31337"), True),  # an IND, its holder not stated: the notice stays
    (make_study(ind_number=None, ide_number="G210042", irb_name="Western Coast IRB"), True),
    (make_study(irb_name=None, ind_number="IND 31337", ind_holder=True), False),  # 684(c): the holder is exempt
    (make_study(ind_number=None, ide_number="G210042", irb_name="Western Coast IRB", ide_holder=True), False),
])
def test_california_notice_is_lifted_only_for_the_holder_of_the_ind_or_ide(study, carried, patient, render_both):
    """B&P 684(c) exempts the practitioner who obtained the IND or IDE: the notice is left out only when the
    clinic states that its provider holds it (issue 26, point 6); an IND or IDE alone, or an IRB, keeps it, in
    both outputs."""
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="CA", study=study), date=DATE,
                         packs=[IRB_ONLY_ACKNOWLEDGED])  # (a review board alone is a check error counsel may acknowledge)
    pdf, docx_bytes = render_both(form)
    assert (CA in pdf_text(pdf)) is carried
    assert (CA in flat(docx_all_text(docx_bytes))) is carried
    assert ("state-notice-ca" in [s.clause_id for s in form.sections]) is carried


def notice_findings(treatment: str, patient: consent.Patient, clinic: consent.Clinic) -> list[tuple[str, str, str]]:
    """(severity, rule, message) of the check's state-rule findings for one form (not review-required)."""
    form, trace = assemble(treatment, patient=patient, clinic=clinic, date=DATE)
    return [(f.severity, f.rule, f.message) for f in check_form(form, trace, consent.get_library()).findings
            if f.rule.startswith("notice.") and f.rule != "notice.review-required"]


CA_LAW = "CA law (California Business and Professions Code section 684)"


def test_check_says_why_the_california_notice_stays_or_goes(patient):
    """Under an IND whose holder is not stated the notice stays and check says how to state it; stated, the
    notice goes and check names 684, so counsel sees why."""
    kept = notice_findings("knee-injection", patient, make_clinic(state="CA", study=make_study(ind_number="IND 9")))
    assert kept == [("warning", "notice.exemption-not-stated",
                     f"the CA notice stays on this form although the clinic's study has an FDA IND: {CA_LAW} exempts "
                     "only the practitioner who holds it, and the clinic does not say its provider does "
                     "(clinic.study.ind_holder: true)")]
    dropped = notice_findings("knee-injection", patient, make_clinic(
        state="CA", study=make_study(ind_number="IND 9", ind_holder=True)))
    assert dropped == [("warning", "notice.exempt",
                        f"the CA notice is left out of this form and the rules of {CA_LAW} are not checked: the "
                        "clinic states that its provider holds the study's FDA IND (clinic.study.ind_holder), and "
                        "that law does not apply then. Have counsel confirm the exemption holds for this treatment")]


def test_clause_names_the_approvals_that_lift_the_duty(tmp_path):
    """The CA clause says exempt_when: [ind-holder, ide-holder] and no exempt_with; the old flag
    exempt_with_study is refused, naming its replacement; exempt_with takes only ind, ide and irb, exempt_when
    only what a clinic can state, facilities only the known kinds."""
    ca = consent.get_library().clause("state-notice-ca")
    assert (ca.exempt_with, ca.exempt_when) == ((), ("ind-holder", "ide-holder"))
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
        exempt_when: [ind-holder, sponsor]
        facilities: [hospital, spa]
        body:
          - notice: Text.
    """})
    path = f"{pack}/clauses/state-notice-ca.yaml"
    assert [str(p) for p in consent.Library([pack]).problems] == [
        f"{path}:8: exempt_with_study was replaced by exempt_with, a list drawn from ind, "
        "ide, irb: name the approvals that lift the duty (California: an FDA IND or IDE, not an IRB alone)",
        f"{path}:9: exempt_with[1]: exempt_with items must be drawn from ind, ide, irb (got 'nct')",
        f"{path}:10: exempt_when[1]: exempt_when items must be drawn from ind-holder, ide-holder, "
        "accredited-institution (got 'sponsor')",
        f"{path}:11: facilities[1]: facilities items must be drawn from hospital, ambulatory-surgical-center, "
        "medical-school, office, other (got 'spa')",
    ]


@pytest.mark.parametrize(("study", "clinic", "problem"), [
    ({"irb_name": "X IRB", "ind_holder": True}, {},
     "clinic.study.ind_holder says the clinic's provider holds the study's FDA IND: give its number too "
     "(clinic.study.ind_number)"),
    ({"ind_number": "IND 1", "ide_holder": True}, {},
     "clinic.study.ide_holder says the clinic's provider holds the study's FDA IDE: give its number too "
     "(clinic.study.ide_number)"),
    ({"ind_number": "IND 1", "ind_holder": "yes"}, {}, "clinic.study.ind_holder must be true or false"),
    (None, {"facility": "clinic"}, "clinic.facility must be one of hospital, ambulatory-surgical-center, "
                                   "medical-school, office, other (got 'clinic')"),
    (None, {"accredited_institution": " "}, "clinic.accredited_institution must not be empty"),
])
def test_what_a_clinic_states_is_validated(study, clinic, problem, patient, tmp_path):
    """A holder without the number, a flag that is not true or false, an unknown facility kind or an empty
    institution is an input error, never a silent exemption; in Python and from the clinic file."""
    from helpers import EXAMPLES
    import yaml

    data = yaml.safe_load((EXAMPLES / "clinic.yaml").read_text())
    if study is not None:
        data["study"] = {"purpose": "To learn if it is safe.", "duration": "about 12 months", "subjects": 60,
                         "irb_contact": "(415) 555-0177", "clinicaltrials_gov": True, "future_use": "none"} | study
    data.update(clinic)
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(consent.InputError) as raised:
        clinic_obj = consent.load_clinic(path)
        consent.build("knee-injection", patient=patient, clinic=clinic_obj, date=DATE)
    assert any(problem in p.message for p in raised.value.problems), [p.message for p in raised.value.problems]


def test_outside_study_needs_only_with_and_is_what_check_says(tmp_path):
    """``outside_study`` (what a state's law says of the treatment without the study ``only_with`` names) is
    refused without ``only_with``; the stock Texas notice gives section 1003.002's rule (issue 26, point 3)."""
    assert "1003.002" in consent.get_library().clause("state-notice-tx").outside_study
    pack = build_tree(tmp_path / "pack", {"clauses/state-notice-tx.yaml": """
        id: state-notice-tx
        version: "9"
        kind: state-notice
        title: Notice
        elements: []
        states: [TX]
        wording: paraphrase
        outside_study: The law forbids it.
        body:
          - notice: Text.
    """})
    path = f"{pack}/clauses/state-notice-tx.yaml"
    assert [str(p) for p in consent.Library([pack]).problems] == [
        f"{path}:8: outside_study says what the law allows without the study that only_with "
        "names: give only_with too",
    ]


# ------------------------------------------------------------------ Utah: its own page, 40-point type


@pytest.fixture(scope="module")
def utah() -> dict[str, tuple[consent.Form, bytes, bytes]]:
    out = {}
    for language in ("en", "es"):
        form = consent.build("hair", patient=spanish(), clinic=make_clinic(state="UT"), date=DATE, language=language)
        out[language] = (form, form.to_pdf(), form.to_docx())
    return out


@pytest.mark.parametrize("language", ["en", "es"])
def test_utah_notice_has_a_letter_page_of_its_own_in_40_point_type_in_the_pdf(utah, language):
    """58-1-512(3)(a): the English notice alone on a page of at least 8.5 x 11 in, every character at
    least 40 pt (the page header and footer stay); the page before ends with its law and a note saying
    so; what follows starts on the next page, in normal type (in Spanish: the courtesy translation)."""
    form, pdf, _ = utah[language]
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    bodies = [page_body(form, p) for p in pdf_pages(pdf)]
    at = [i for i, body in enumerate(bodies) if UT in body]
    assert len(at) == 1
    page = reader.pages[at[0]]
    assert bodies[at[0]] == UT
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (612.0, 792.0)
    sizes = {size for text, size in pdf_runs(page) if flat(text) in UT}
    assert sizes == {40.0}
    before, after = bodies[at[0] - 1], bodies[at[0] + 1]
    labels = form.labels
    gloss = {"en": "", "es": " (Código de Utah, sección 58-1-512: ley de Utah sobre la terapia con células madre)"}
    assert flat(f"{labels['notice_citation']} Utah Code section 58-1-512{gloss[language]} "
                f"{labels['notice_own_page']}") in before
    if language == "en":
        assert after.startswith(section_of(form, "treatment-description").title)
    else:
        translation = section_of(form, "state-notice-ut").blocks[2].text
        assert after.startswith(flat(f"{labels['courtesy_translation_own_page']} {translation}"))
        assert pdf_sizes_of(pdf, translation) == {11.5}


@pytest.mark.parametrize("language", ["en", "es"])
def test_utah_notice_has_a_page_of_its_own_in_40_point_type_in_the_docx(utah, language):
    """The DOCX: letter pages, the notice one paragraph in 40 pt runs that starts a page, and the next
    paragraph starts the next page (in Spanish the courtesy translation, in normal type)."""
    form, _, docx_bytes = utah[language]
    document = docx_document(docx_bytes)
    assert all((s.page_width, s.page_height) == (Inches(8.5), Inches(11)) for s in document.sections)
    notice = docx_paragraph(docx_bytes, UT)
    assert docx_run_sizes(notice) == {40.0}
    assert notice.paragraph_format.page_break_before is True
    following = docx_next(notice)
    assert following.paragraph_format.page_break_before is True
    if language == "es":
        assert following.text == form.labels["courtesy_translation_own_page"]
        translation = docx_next(following)
        assert docx_run_sizes(translation) == {None}  # the Normal style's 11 pt, like any paragraph


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is installed by ./dev test")
def test_utah_docx_notice_fits_its_page_in_libreoffice(utah, tmp_path):
    """Opened in LibreOffice, the DOCX notice fills one page on its own (with the header and footer)."""
    form, _, docx_bytes = utah["en"]
    (tmp_path / "form.docx").write_bytes(docx_bytes)
    subprocess.run(["libreoffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(tmp_path / "form.docx")],
                   check=True, capture_output=True, timeout=180)
    pages = [flat(p) for p in pdf_pages((tmp_path / "form.pdf").read_bytes())]
    holding = [p for p in pages if "UNDER UTAH LAW" in p]
    assert len(holding) == 1 and UT in holding[0]
    assert holding[0].startswith(flat(form.header.clinic_name))
    assert re.search(r"Page \d+ of \d+$", holding[0])
    rest = holding[0][len(flat(form.header.clinic_name)):]
    assert UT in rest and "treatment" not in rest.replace(UT, "")


def test_check_proves_the_utah_layout_and_reports_a_pack_that_breaks_it(tmp_path, capsys):
    """`consent check` renders a Utah sample (PDF and DOCX, each language) and reads the layout back: the
    stock library passes; a pack whose stylesheet lets the notice share a page at 12 pt, and whose Word
    template has A4 pages, fails with the reasons."""
    from consent.cli.notice_layout import notice_layout_report

    assert notice_layout_report(["hair"]).findings == ()
    root = consent.get_library().sources[-1].root / "templates"
    css = (root / "form.css").read_text(encoding="utf-8") + (
        "\n.notice.own-page { break-before: auto !important; break-after: auto !important; }"
        "\n.notice p.notice-text { font-size: 12pt !important; }\n")
    pack = build_tree(tmp_path / "pack", {"templates/form.css": css})
    template = docx.Document(str(root / "form.docx"))
    template.sections[0].page_width, template.sections[0].page_height = Inches(8.27), Inches(11.69)
    template.save(str(pack / "templates" / "form.docx"))
    for font in (root / "fonts").iterdir():
        (pack / "templates" / "fonts").mkdir(exist_ok=True)
        (pack / "templates" / "fonts" / font.name).write_bytes(font.read_bytes())
    messages = [f.message for f in notice_layout_report(["hair"], packs=[pack], languages=["en"]).findings]
    rule = "(a page of its own, 40-point type, Utah Code section 58-1-512)"
    pdf = f"the PDF breaks the notice's layout rule {re.escape(rule)}: "
    assert any(re.fullmatch(pdf + r"the notice is drawn in 12 pt type on page \d, smaller than 40 pt", m)
               for m in messages)
    assert any(re.match(pdf + r"page \d holds more than the notice: '", m) for m in messages)
    assert f"the DOCX breaks the notice's layout rule {rule}: the pages are 8.27 x 11.69 in, smaller than " \
           "8.5 x 11 in" in messages
    assert main(["check", "hair", "--language", "en", "--pack", str(pack)]) == 1
    assert "error notice.layout [hair/en] clause state-notice-ut:" in capsys.readouterr().out


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


FL_START = "Florida law requires your signed consent before you have this treatment"


def test_florida_notice_says_what_the_law_asks_of_the_patient_s_form(patient, render_both):
    """The enacted law's fixed notice is for advertisements; what it asks before treatment is a signed consent
    form: the notice says so (not that the law gives these words), as a summary, in both outputs."""
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="FL"), date=DATE)
    pdf, docx_bytes = render_both(form)
    for text in (pdf_text(pdf), flat(docx_all_text(docx_bytes))):
        assert FL_START in text
        assert "Florida law requires us to give you this notice in writing" not in text
        assert ("Plain-language summary of what this law requires (the law does not set these words): Florida "
                "Statutes sections 458.3245 and 459.0127") in text
    clause = consent.get_library().clause("state-notice-fl")
    assert (clause.wording, clause.min_type_pt, clause.own_page) == ("paraphrase", None, False)


@pytest.mark.parametrize("treatment", ["hair", "iv-infusion"])
def test_florida_does_not_block_a_study_under_the_provider_s_own_ind(treatment, patient, render_both):
    """The law does not apply to the physician holding the FDA IND (per the bill summaries): a hair or IV study
    whose clinic states it is made, without Florida's notice, and check names the law (issue 26, point 4)."""
    study = make_study(ind_number="IND 31337", ind_holder=True)
    form = consent.build(treatment, patient=patient, clinic=make_clinic(state="FL", study=study), date=DATE)
    pdf, docx_bytes = render_both(form)
    assert FL_START not in pdf_text(pdf) and FL_START not in flat(docx_all_text(docx_bytes))
    assert notice_findings(treatment, patient, make_clinic(state="FL", study=study)) == [(
        "warning", "notice.exempt",
        f"the FL notice is left out of this form and the rules of {FL_LAW} are not checked: the clinic states "
        "that its provider holds the study's FDA IND (clinic.study.ind_holder), and that law does not apply then. "
        "Have counsel confirm the exemption holds for this treatment")]


def test_florida_accredited_institution_is_an_exemption_the_clinic_states(patient, render_both):
    clinic = make_clinic(state="FL", accredited_institution="Gulf University Medical Center")
    form = consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    assert FL_START not in pdf_text(render_both(form)[0])
    [(severity, rule, message)] = notice_findings("hair", patient, clinic)
    assert (severity, rule) == ("warning", "notice.exempt")
    assert ("the clinic states that its provider gives the treatment on behalf of an accredited institution "
            "(clinic.accredited_institution)") in message


def test_florida_study_under_someone_else_s_ind_is_still_refused_and_told_how_to_state_it(patient):
    """An IND alone is not the holder's exemption: the hair form stays refused, and the error says what to
    state if the provider does hold it."""
    clinic = make_clinic(state="FL", study=make_study(ind_number="IND 31337"))
    with pytest.raises(consent.CheckFailed) as raised:
        consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    [error] = [p.message for p in raised.value.problems]
    assert ("the hair treatment cannot be offered there (its specialty is 'dermatology'). If the clinic's provider "
            "holds the study's FDA IND itself, this law does not apply: state it (clinic.study.ind_holder: true)"
            ) in error
    assert [r for _, r, _ in notice_findings("hair", patient, clinic)] == [
        "notice.exemption-not-stated", "notice.specialty-not-allowed"]


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
        "this clinic records none (clinic.study). Outside such a trial, Texas Health and Safety Code section "
        "1003.002 allows adult stem cells to be used in health care only in a clinical trial that the FDA has "
        "approved: have counsel confirm this treatment may be given in TX"
    ]
    assert any(f.rule == "notice.not-applicable" for f in check(["knee-injection"], languages=["en"],
                                                                 state="TX").warnings)


@pytest.mark.parametrize(("study", "carried"), [
    (make_study(ind_number=None, irb_name="Gulf Coast IRB", protocol="TX-01"), True),
    (make_study(irb_name=None, ind_number="IND 31337"), False),  # an IND with no IRB named: not the trial the law covers
])
def test_texas_notice_is_printed_for_a_treatment_in_an_irb_overseen_trial(study, carried, patient, render_both):
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="TX", study=study), date=DATE,
                         packs=[IRB_ONLY_ACKNOWLEDGED])  # (a review board alone is a check error counsel may acknowledge)
    pdf, docx_bytes = render_both(form)
    assert (TX_START in pdf_text(pdf)) is carried
    assert (TX_START in flat(docx_all_text(docx_bytes))) is carried


TX_LAW = "TX law (Texas Health and Safety Code sections 1003.051 to 1003.055)"
TX_STUDY = make_study(irb_name="Gulf Coast IRB", protocol="TX-01")


def test_texas_notice_says_what_the_statute_says(patient, render_both):
    """1003.051 and 1003.055 in plain words: a treatment being tested in a trial, not FDA-approved for general
    use, given in person by a doctor the review board approved, at a hospital, surgery center or medical school;
    and the state's own consent form (1003.054)."""
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="TX", study=TX_STUDY,
                                                                               facility="hospital"), date=DATE)
    pdf, docx_bytes = render_both(form)
    for text in (pdf_text(pdf), flat(docx_all_text(docx_bytes))):
        assert ("This is a treatment with adult stem cells that is being tested in a clinical trial and that the "
                "FDA has not approved for general use.") in text
        assert "It must be given in a hospital, a surgery center, or a medical school." in text
        assert "That form says that the Texas Department of State Health Services runs this program." in text
        assert "one that lasts a long time" not in text


@pytest.mark.parametrize(("facility", "expected"), [
    ("hospital", []),
    ("ambulatory-surgical-center", []),
    ("medical-school", []),
    (None, [("warning", "notice.facility-unknown",
             f"{TX_LAW} allows this treatment only at a hospital, ambulatory surgical center or medical school; "
             "this form cannot tell where the clinic gives it: state it (clinic.facility)")]),
    ("office", [("error", "notice.facility-not-allowed",
                 f"{TX_LAW} allows this treatment only at a hospital, ambulatory surgical center or medical school; "
                 "the clinic gives it at a office (clinic.facility)")]),
])
def test_texas_allows_its_trials_only_at_a_hospital_surgery_center_or_medical_school(facility, expected, patient):
    """1003.055(a)(3): where the clinic says it gives the treatment decides; when it does not say, the check
    says it cannot tell. The rest of 1003.055 (the board's certification and standing) is listed for counsel."""
    clinic = make_clinic(state="TX", study=TX_STUDY, facility=facility)
    found = notice_findings("knee-injection", patient, clinic)
    assert [f for f in found if f[1].startswith("notice.facility")] == expected
    [unchecked] = [m for _, r, m in found if r == "notice.unchecked"]
    assert unchecked.startswith(f"{TX_LAW} also requires what this form's inputs cannot show; have counsel confirm:")
    assert "certified by the review board" in unchecked and "(1003.055(d))" in unchecked
    if facility == "office":
        with pytest.raises(consent.CheckFailed):
            consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)


def test_texas_trial_treatment_is_given_by_a_physician(patient):
    clinic = make_clinic(state="TX", study=TX_STUDY, facility="hospital",
                         provider=consent.Provider(name="Sam Lee", credentials="NP"))
    assert ("error", "notice.provider-not-allowed",
            f"{TX_LAW} allows only a provider with MD or DO credentials to give this therapy; the clinic's provider "
            "has 'NP'") in notice_findings("knee-injection", patient, clinic)


# ------------------------------------------------------------------ Spanish: the law's name glossed


@pytest.mark.parametrize(("state", "law", "gloss"), [
    ("CA", "Ley: California Business and Professions Code section 684",
     "(Código de Negocios y Profesiones de California, sección 684: ley de California sobre la terapia con "
     "células madre)"),
    ("FL", "Resumen en lenguaje sencillo de lo que exige esta ley (la ley no fija estas palabras): Florida "
           "Statutes sections 458.3245 and 459.0127",
     "(Estatutos de Florida, secciones 458.3245 (médicos) y 459.0127 (médicos osteópatas): ley de Florida "
     "sobre la terapia con células madre)"),
])
def test_spanish_form_glosses_the_english_citation(state, law, gloss, render_both):
    """A Spanish form names the law in English, as the law names itself, followed by what it is in Spanish
    (issue 26, point 16); the English form has no gloss."""
    es = consent.build("knee-injection", patient=spanish(), clinic=make_clinic(state=state), date=DATE)
    pdf, docx_bytes = render_both(es)
    for text in (pdf_text(pdf), flat(docx_all_text(docx_bytes))):
        assert f"{law} {gloss}" in text
    en = consent.build("knee-injection", patient=spanish(), clinic=make_clinic(state=state), date=DATE, language="en")
    assert "Código" not in pdf_text(en.to_pdf())


def test_every_spanish_state_notice_glosses_its_law_and_a_pack_translation_must_too(tmp_path):
    """Each stock Spanish notice says what its law is; a pack's translation without citation_gloss is a library
    error, never an English citation left unexplained."""
    library = consent.get_library()
    for state in ("ca", "fl", "tx", "ut", "wa"):
        assert re.search(r"^(Código|Estatutos) .* secci(ón|ones) [0-9]", library.clause(f"state-notice-{state}",
                                                                                     "es").citation_gloss)
    version = library.clause("state-notice-wa").version
    pack = build_tree(tmp_path / "pack", {"clauses/es/state-notice-wa.yaml": f"""
        id: state-notice-wa
        translates: "{version}"
        title: Aviso de Washington
        body:
          - notice: Texto.
    """})
    assert [p.message for p in consent.Library([pack]).problems] == [
        "a translation of a state notice must say what its law is in the form's language (citation_gloss), "
        "printed next to the English citation 'Revised Code of Washington (RCW) 18.130.420'"]


# ------------------------------------------------------------------ the same type size in PDF and DOCX


@pytest.mark.parametrize(("state", "language", "size"), [
    ("CA", "en", 12.0), ("WA", "en", 12.0), ("FL", "es", 12.0), ("UT", "en", 40.0),
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


@pytest.mark.parametrize(("state", "where"), [("UT", "de la página anterior"), ("CA", "de arriba")])
def test_spanish_courtesy_label_says_where_the_english_notice_is(state, where, render_both):
    """Utah's English notice has a page of its own, before the one the translation starts: the label
    says the English text is on the page before, never "arriba" (above: on the same page). A notice in
    the page's flow (California) is just above its translation: there, "arriba" is true."""
    form = consent.build("hair", patient=spanish(), clinic=make_clinic(state=state), date=DATE)
    pdf, docx_bytes = render_both(form)
    pdf_labels = re.findall(r"Traducción de cortesía \(([^)]*)\)", pdf_text(pdf))
    docx_labels = [p.text for p in docx_document(docx_bytes).paragraphs
                   if p.text.startswith("Traducción de cortesía")]
    assert docx_labels == [f"Traducción de cortesía ({pdf_labels[0]})"] and len(pdf_labels) == 1
    assert f"el texto en inglés {where} es el aviso legal" in pdf_labels[0]
    if state == "UT":
        assert "arriba" not in pdf_labels[0]
        pages = [page_body(form, p) for p in pdf_pages(pdf)]
        at = next(i for i, body in enumerate(pages) if body.startswith(flat("Traducción de cortesía")))
        assert pages[at - 1] == UT  # the page before is the English notice


# ------------------------------------------------------------------ key information on page 1


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("treatment", TREATMENTS)
def test_key_information_is_all_on_page_1(treatment, language):
    """The form says "read this page first": the whole key-information section (with its initials line)
    is on page 1 of the PDF, and the next section starts after it, for a long name and a state notice."""
    patient = spanish("María José Núñez-Łukasiewicz de la Fuente y Montoya")
    form = consent.build(treatment, patient=patient, clinic=make_clinic(state="CA"), date=DATE, language=language)
    pages = pdf_pages(form.to_pdf())
    first, second = page_body(form, pages[0]), page_body(form, pages[1])
    key = form.sections[0]
    assert key.clause_id == "key-information"
    texts = [key.title, *(b.text for b in key.blocks), form.labels["initials"]]
    whole = flat(" ".join(texts))
    assert whole in first
    # The page's own strings (the patient's values, drawn over a shared layout) come last in the
    # extracted text: the next section's title is after the key information, not before it.
    before, _, after = first.partition(whole)
    title = flat(form.sections[1].title)
    assert title not in before
    assert title in flat(after + " " + second)
