"""Language-assistance taglines (issue 27, point 6; 45 CFR 92.11): a page at the end of the form, one line in
English and in each language of the clinic's state, each in its own script and marked with its language
(HTML ``lang``, DOCX ``w:lang``), with the clinic's phone and TTY; no list for the state, no phone or no
TTY is a loud error; ``consent check`` reports a covered clinic without the page.

The shipped lists (39 states, from the Census Bureau's ACS table: tests/test_state_languages.py) leave
Idaho out, the state of these tests' clinic, so these tests give one in a pack: a TEST list, not a real
one, chosen to cover every script the taglines are written in."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
from pathlib import Path

import pikepdf
import pypdf
import pytest
import yaml
from helpers import DATE, docx_document, make_clinic

import consent
from consent._form_data import form_data_json, parse_form_data
from consent.check import check
from consent.library.loader import Library
from consent.pdf.html import form_html

PHONE, TTY = "(208) 555-0199", "1-800-555-0111"
# A test list (not a state's real one): every script of the taglines, more than 15 languages.
TEST_LANGUAGES = ["es", "zh-Hant", "vi", "ko", "tl", "ru", "ar", "fa", "hy", "km", "hmn", "pa", "hi", "ja",
                  "th", "lo", "ur", "gu", "bn", "am", "el"]
RTL = {"ar", "fa", "ur"}
# pdftotext reads these back out of order (the shaping of their vowel signs, right-to-left lines): their
# lines are checked in the DOCX word for word, and in the PDF by their numbers and their fonts.
REORDERED = {"hi", "bn", "km", *RTL}
FONTS = ["Noto-Sans-Arabic", "Noto-Sans-Armenian", "Noto-Sans-Bengali", "Noto-Sans-CJK-JP", "Noto-Sans-CJK-KR",
         "Noto-Sans-CJK-TC", "Noto-Sans-Devanagari", "Noto-Sans-Ethiopic", "Noto-Sans-Gujarati",
         "Noto-Sans-Gurmukhi", "Noto-Sans-Khmer", "Noto-Sans-Lao", "Noto-Sans-Thai"]
_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # direction marks and isolates


def _pack(root: Path, states: dict, **extra: object) -> Path:
    (root / "templates" / "rules").mkdir(parents=True)
    data = {"states": states, **extra}
    (root / "templates" / "rules" / "language-assistance.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pack(tmp_path_factory.mktemp("pack"),
                 {"ID": {"source": "TEST FIXTURE, not a real list", "languages": TEST_LANGUAGES}})


def _clinic(**changes: object) -> consent.Clinic:
    return make_clinic(language_assistance=consent.LanguageAssistance(phone=PHONE, tty=TTY), **changes)


PATIENT = consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1980, 1, 2), mrn="MRN-1")


@pytest.fixture(scope="module")
def form(pack: Path) -> consent.Form:
    return consent.build("hair", patient=PATIENT, clinic=_clinic(), date=DATE, packs=[str(pack)])


@pytest.fixture(scope="module")
def pdf(form: consent.Form) -> bytes:
    return form.to_pdf()


@pytest.fixture(scope="module")
def docx(form: consent.Form) -> bytes:
    return form.to_docx()


def _expected(pack: Path) -> dict[str, str]:
    """Each language's line as the page prints it: the tagline file's words with the clinic's numbers."""
    table = Library([str(pack)]).language_assistance
    return {tag: f"{table.taglines[tag].name}: " + table.taglines[tag].text.replace("{phone}", PHONE).replace(
        "{tty}", TTY) for tag in ("en", *TEST_LANGUAGES)}


def _last_page_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    pages = len(pikepdf.open(io.BytesIO(pdf)).pages)
    done = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), str(path), "-"],
                          capture_output=True, text=True, check=True)
    return _MARKS.sub("", done.stdout)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", _MARKS.sub("", text))


def test_the_page_is_last_with_every_line_in_english_first_then_the_states_order(form: consent.Form,
                                                                                  pack: Path) -> None:
    page = form.sections[-1]
    assert (page.kind, page.clause_id, page.title) == ("language-assistance", "language-assistance",
                                                      "Free help in your language")
    assert [b.lang for b in page.blocks] == ["en", *TEST_LANGUAGES]
    assert [_MARKS.sub("", b.text) for b in page.blocks] == list(_expected(pack).values())
    assert "language-assistance" not in [c.id for c in form.manifest.clauses]  # no clause of the library


def test_the_pdf_page_prints_each_line_with_the_phone_and_tty(pdf: bytes, pack: Path, tmp_path: Path) -> None:
    text = _last_page_text(pdf, tmp_path)
    assert text.lstrip().startswith("Harbor Clinic")  # the page header, then the page
    assert "Free help in your language" in text
    squeezed = _squeezed(text)
    for tag, line in _expected(pack).items():
        if tag not in REORDERED:
            assert _squeezed(line) in squeezed, tag
    lines = len(TEST_LANGUAGES) + 1
    assert squeezed.count(_squeezed(PHONE)) == lines
    assert squeezed.count(_squeezed(TTY)) == lines
    before = _squeezed("".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(pdf)).pages[:-1]))
    assert _squeezed(PHONE) not in before  # the page of its own: nothing of it before


def test_the_pdf_draws_each_script_with_its_noto_font(pdf: bytes) -> None:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        fonts = {str(obj.BaseFont).split("+")[-1] for obj in doc.objects
                 if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font" and "/BaseFont" in obj}
    for family in FONTS:
        assert any(f.startswith(family) for f in fonts), (family, sorted(fonts))


def test_the_page_as_an_image(pdf: bytes, tmp_path: Path) -> None:
    """The page can be looked at: a PNG of it at 60 dpi."""
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    pages = len(pikepdf.open(io.BytesIO(pdf)).pages)
    out = tmp_path / "taglines-page"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(pages), "-l", str(pages), "-singlefile", str(path),
                    str(out)], check=True)
    png = out.with_suffix(".png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_the_html_marks_each_line_with_its_language_and_direction(form: consent.Form) -> None:
    html = form_html(form)
    for tag in ("en", *TEST_LANGUAGES):
        direction = "rtl" if tag in RTL else "ltr"
        assert len(re.findall(rf'<p lang="{re.escape(tag)}" dir="{direction}">', html)) == 1, tag
    assert '<html lang="en">' in html


def test_the_docx_gives_each_line_its_language(docx: bytes, pack: Path) -> None:
    document = docx_document(docx)
    paragraphs = document.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.text == "Free help in your language")
    assert paragraphs[at].paragraph_format.page_break_before is True  # a page of its own, as in the PDF
    lines = paragraphs[at + 1: at + 2 + len(TEST_LANGUAGES)]
    expected = _expected(pack)
    assert [_MARKS.sub("", p.text) for p in lines] == list(expected.values())
    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for tag, p in zip(expected, lines):
        lang = p.runs[0]._r.find(f"{ns}rPr/{ns}lang")
        assert lang is not None and lang.get(f"{ns}val") == tag, tag
        if tag in ("zh-Hant", "ja", "ko"):
            assert lang.get(f"{ns}eastAsia") == tag
            fonts = p.runs[0]._r.find(f"{ns}rPr/{ns}rFonts")
            assert fonts.get(f"{ns}eastAsia") == {"zh-Hant": "Noto Sans CJK TC", "ja": "Noto Sans CJK JP",
                                                  "ko": "Noto Sans CJK KR"}[tag]
        if tag in RTL | {"hi", "bn", "pa", "gu", "km", "lo", "th"}:
            assert lang.get(f"{ns}bidi") == tag, tag
        assert (p._p.find(f"{ns}pPr/{ns}bidi") is not None) == (tag in RTL), tag
    fonts = {tag: p.runs[0]._r.find(f"{ns}rPr/{ns}rFonts") for tag, p in zip(expected, lines)}
    assert fonts["pa"].get(f"{ns}cs") == "Noto Sans Gurmukhi"  # not Devanagari, for its danda
    assert fonts["bn"].get(f"{ns}cs") == "Noto Sans Bengali"
    assert fonts["km"].get(f"{ns}cs") == "Noto Sans Khmer"
    assert fonts["hy"].get(f"{ns}ascii") == "Noto Sans Armenian"


def test_the_lines_survive_the_forms_data(form: consent.Form) -> None:
    data = parse_form_data(form_data_json(form, "test", {}))
    assert data.document.sections[-1] == form.sections[-1]


def test_a_form_without_the_page_keeps_its_data(pack: Path) -> None:
    """A paragraph's ``lang`` is written only when set: a form without the page has the data it had."""
    plain = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[str(pack)])
    assert '"lang"' not in form_data_json(plain, "test", {})
    assert plain.sections[-1].kind != "language-assistance"


def test_a_spanish_form_has_the_page_with_its_title_in_spanish(pack: Path) -> None:
    form = consent.build("hair", patient=PATIENT, clinic=_clinic(), date=DATE, language="es", packs=[str(pack)])
    assert form.sections[-1].title == "Ayuda gratuita en su idioma"
    assert [b.lang for b in form.sections[-1].blocks] == ["en", *TEST_LANGUAGES]


def test_the_pages_state_may_be_named(pack: Path, tmp_path: Path) -> None:
    other = _pack(tmp_path / "other", {"CA": {"source": "TEST FIXTURE", "languages": TEST_LANGUAGES[::-1]}})
    la = consent.LanguageAssistance(phone=PHONE, tty=TTY, state="CA")
    form = consent.build("hair", patient=PATIENT, clinic=make_clinic(language_assistance=la), date=DATE,
                         packs=[str(other)])
    assert [b.lang for b in form.sections[-1].blocks] == ["en", *TEST_LANGUAGES[::-1]]


# ------------------------------------------------------------------------------------------- loud errors

def test_no_list_for_the_state_is_refused_never_guessed() -> None:
    with pytest.raises(consent.InputError) as caught:
        consent.build("hair", patient=PATIENT, clinic=_clinic(), date=DATE)
    message = str(caught.value)
    assert "no list of the most common languages of ID is shipped" in message
    assert "language-assistance.yaml" in message


def test_the_built_in_file_ships_the_census_lists_and_every_tagline_has_both_numbers() -> None:
    """The lists themselves are checked against their data in tests/test_state_languages.py."""
    table = Library().language_assistance
    assert len(table.states) == 39 and "ID" not in table.states  # Idaho: not in the 1-year table
    assert len(table.taglines) >= 30 and table.taglines["en"].review == "required"
    for tag, line in table.taglines.items():
        assert line.text.count("{phone}") == line.text.count("{tty}") == 1, tag


@pytest.mark.parametrize("given, fault", [
    ({"tty": "711"}, "phone"),
    ({"phone": "555-0100"}, "tty"),
    ({"phone": " ", "tty": "711"}, "clinic.language_assistance.phone must not be empty"),
    ({"phone": "555-0100", "tty": "711", "state": "XX"}, "clinic.language_assistance.state must be"),
    ({"phone": "555-0100", "tty": "711", "fax": "1"}, "fax"),
])
def test_a_clinic_files_page_setting_is_checked(tmp_path: Path, given: dict, fault: str) -> None:
    from helpers import EXAMPLES

    data = yaml.safe_load((EXAMPLES / "clinic.yaml").read_text(encoding="utf-8"))
    data["language_assistance"] = given
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(consent.InputError) as caught:
        consent.load_clinic(path)
    assert fault in str(caught.value)


@pytest.mark.parametrize("entry, fault", [
    ({"CA": {"languages": TEST_LANGUAGES}}, "states.CA.source must say where the list comes from"),
    ({"CA": {"source": "x", "languages": TEST_LANGUAGES[:14]}}, "lists 14; 45 CFR 92.11 asks for at least"),
    ({"CA": {"source": "x", "languages": ["en", *TEST_LANGUAGES]}}, "must not list English"),
    ({"CA": {"source": "x", "languages": [*TEST_LANGUAGES, "xx"]}}, "lists 'xx', which has no tagline"),
    ({"Cal": {"source": "x", "languages": TEST_LANGUAGES}}, "'Cal' is not a two-letter US state code"),
])
def test_a_packs_state_list_is_checked(tmp_path: Path, entry: dict, fault: str) -> None:
    library = Library([str(_pack(tmp_path / "p", entry))])
    assert any(fault in p.message for p in library.problems), [p.message for p in library.problems]


def test_a_packs_tagline_without_the_tty_is_refused(tmp_path: Path) -> None:
    pack = _pack(tmp_path / "p", {}, taglines={"es": {"name": "Español", "text": "Llame al {phone}."}})
    library = Library([str(pack)])
    assert any("taglines.es.text must have {tty} once" in p.message for p in library.problems)
    with pytest.raises(consent.ContentError):
        library.raise_problems()


# ------------------------------------------------------------------------------------------ consent check

def _rules(report: object) -> dict[str, str]:
    return {f.rule: f.severity for f in report.findings if f.rule.startswith("language.")}  # type: ignore[attr-defined]


def test_check_warns_a_covered_clinic_without_the_page() -> None:
    report = check(["hair"], languages=["en"], clinic=make_clinic(federal_financial_assistance=True))
    assert _rules(report) == {"language.taglines-missing": "warning"}
    finding = next(f for f in report.findings if f.rule == "language.taglines-missing")
    assert "45 CFR 92.11" in finding.message and "language_assistance" in finding.message
    assert _rules(check(["hair"], languages=["en"], clinic=make_clinic())) == {}  # not stated: not covered


def test_check_errs_when_the_page_is_asked_and_no_list_is_shipped() -> None:
    report = check(["hair"], languages=["en"], clinic=_clinic(federal_financial_assistance=True))
    assert _rules(report) == {"language.no-state-list": "error"}
    assert not report.ok
    assert sum("is shipped" in f.message for f in report.findings) == 1  # said once, not once a form


def test_check_with_a_list_asks_counsel_to_confirm_the_lines(pack: Path) -> None:
    report = check(["hair"], languages=["en"], clinic=_clinic(federal_financial_assistance=True),
                   packs=[str(pack)])
    assert _rules(report) == {"language.review": "warning"}
    assert not [f for f in report.findings if f.severity == "error"]


def test_the_fast_path_and_the_plain_path_print_the_same_page(form: consent.Form, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """The speed-ups (a shared layout for forms that differ in the patient) give the same pages as the plain
    path (consent/speedups/__init__.py, invariant 1), the taglines' scripts included."""
    from consent.speedups.render import laid_out_pdf

    consent.clear_caches()
    fast, _ = laid_out_pdf(form)
    consent.clear_caches()
    monkeypatch.setenv("CONSENT_SPEEDUPS", "off")
    plain, how = laid_out_pdf(form)
    assert how == "whole"
    images = []
    for name, pdf in (("fast", fast), ("plain", plain)):
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "40", "-gray", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                       check=True, timeout=120)
        images.append([p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.pgm"))])
    assert len(images[0]) == len(images[1]) >= 8
    assert [i for i, (a, b) in enumerate(zip(*images, strict=True)) if a != b] == []


def test_each_line_is_tagged_with_its_language_and_the_page_passes_the_pdf_ua_checker(pack: Path, pdf: bytes,
                                                                                     tmp_path: Path):
    """The tagged PDF: each tagline's paragraph carries /Lang (a screen reader switches voice), with its
    words; and the independent checker `pdfua` finds nothing on the form."""
    pytest.importorskip("pdfua")
    import tagged

    tree, _, _ = tagged.read(pdf)
    langs = {str(e.keys["/Lang"]): tagged.squash(e.all_text()) for e in tree.walk() if "/Lang" in e.keys
             and e.s == "/P"}
    expected = _expected(pack)
    for tag in TEST_LANGUAGES:
        assert tag in langs, tag
        assert tagged.squash(PHONE) in langs[tag]
    assert tagged.squash(expected["es"]) == langs["es"]
    path = tmp_path / "taglines.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([sys.executable, "-m", "pdfua", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
