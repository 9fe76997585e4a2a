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
    (make_study(ind_number=None, irb_name="Western Coast IRB", protocol="WC-7"), True),  # an IRB alone does not exempt
    (make_study(irb_name=None, ind_number="IND 31337"), False),
    (make_study(ind_number=None, ide_number="G210042", irb_name="Western Coast IRB"), False),
])
def test_california_notice_is_lifted_only_by_an_fda_ind_or_ide(study, carried, patient, render_both):
    """B&P 684 does not apply to a practitioner holding an FDA IND or IDE; an IRB-approved study alone
    still gets the notice, in both outputs."""
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(state="CA", study=study), date=DATE,
                         packs=[IRB_ONLY_ACKNOWLEDGED])  # (a review board alone is a check error counsel may acknowledge)
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
    assert flat(f"{labels['notice_citation']} Utah Code section 58-1-512 {labels['notice_own_page']}") in before
    if language == "en":
        assert after.startswith(section_of(form, "treatment-description").title)
    else:
        translation = section_of(form, "state-notice-ut").blocks[2].text
        assert after.startswith(flat(f"{labels['courtesy_translation']} {translation}"))
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
        assert following.text == form.labels["courtesy_translation"]
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
