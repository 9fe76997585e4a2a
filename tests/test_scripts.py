"""Names in any script (issue 27, point 5): Arabic, Hebrew, Chinese, Japanese, Korean, Devanagari, Thai,
Vietnamese and Ethiopic names print in the PDF (installed Noto fonts, only the glyphs used embedded) and
in the DOCX (each run's East Asian or complex-script font named); a character no font has is refused
with the field, its script and the fix."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from helpers import DATE, docx_all_text, docx_document, make_clinic, pdf_pages

import consent
from consent.docx.render import docx_bytes
from consent.pdf.glyphs import font_coverage, installed_fonts, stylesheet_families

# script: (name, the Noto font the PDF draws it with, the DOCX run's font attribute and family, rtl)
NAMES = {
    "arabic": ("محمد عبد الله", "Noto-Sans-Arabic", ("cs", "Noto Sans Arabic"), True),
    "hebrew": ("דוד כהן", "Noto-Sans-Hebrew", ("cs", "Noto Sans Hebrew"), True),
    "chinese": ("王小明", "Noto-Sans-CJK-SC", ("eastAsia", "Noto Sans CJK SC"), False),
    "japanese": ("山田 はなこ", "Noto-Sans-CJK-JP", ("eastAsia", "Noto Sans CJK JP"), False),
    "korean": ("김민준", "Noto-Sans-CJK-KR", ("eastAsia", "Noto Sans CJK KR"), False),
    "devanagari": ("राहुल शर्मा", "Noto-Sans-Devanagari", ("cs", "Noto Sans Devanagari"), False),
    "thai": ("สมชาย ใจดี", "Noto-Sans-Thai", ("cs", "Noto Sans Thai"), False),
    "vietnamese": ("Nguyễn Thị Minh Khai", "Consent-Sans", None, False),
    "ethiopic": ("አበበ ቢቂላ", "Noto-Sans-Ethiopic", None, False),
}
_MARKS = re.compile("[\u202a-\u202e\u2066-\u2069]")  # the direction marks pdftotext puts round RTL text


def _form(name: str, treatment: str = "hair") -> consent.Form:
    patient = consent.Patient(full_name=name, birth_date=dt.date(1970, 1, 2), mrn="MRN-0012345")
    return consent.build(treatment, patient=patient, clinic=make_clinic(), date=DATE)


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-l", "1", str(path), "-"], capture_output=True, text=True, check=True)
    return _MARKS.sub("", done.stdout)


def _fonts(pdf: bytes) -> list[str]:
    """The base names of the fonts embedded in the PDF (a subset's name starts with a tag: ABCDEF+)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return sorted({str(obj.BaseFont) for obj in doc.objects
                       if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font" and "/BaseFont" in obj})


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[consent.Form, bytes, bytes]]:
    out = {}
    for script, (name, *_) in NAMES.items():
        form = _form(name)
        out[script] = (form, form.to_pdf(), form.to_docx())
    return out


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is installed by ./dev test")
@pytest.mark.parametrize("script", NAMES)
def test_the_name_prints_in_the_pdf_in_logical_order(rendered, script, tmp_path):
    """The name comes back from the PDF's text (pypdf and pdftotext) as it was given (logical order), in
    the patient table and in the page header, drawn with the Noto font of its script, embedded as a subset."""
    name, font, _, _ = NAMES[script]
    _, pdf, _ = rendered[script]
    page = pdf_pages(pdf)[0]
    poppler = _pdftotext(pdf, tmp_path)
    if script == "devanagari":
        # PDF text extraction of a Devanagari cluster whose parts HarfBuzz reorders (the reph of र्मा) is
        # not exact in either reader; the words and the cluster are there, drawn by Noto Sans Devanagari.
        assert "राहुल" in page and "र्मा" in page and "राहुल" in poppler
    else:
        # The page header's line as the PDF holds it (pypdf), and the name where pdftotext finds it (it
        # puts the dot of a mixed-direction line before the name: its own reading of the line's order).
        assert f"{name} · Date of birth January 2, 1970" in page.replace("\u00a0", " ")  # (no-break spaces)
        assert page.count(name) >= 2 and poppler.count(name) >= 2  # the patient table and the page header
    embedded = _fonts(pdf)
    assert any(f.endswith("+" + font) for f in embedded), embedded
    assert all(re.fullmatch(r"/[A-Z]{6}\+[\w-]+", f) for f in embedded), embedded  # every font a subset


def test_only_the_glyphs_used_are_embedded(rendered):
    """A Chinese name adds a subset of Noto Sans CJK (its font file is 20 MB or more), not the font."""
    latin = len(rendered["vietnamese"][1])
    chinese = len(rendered["chinese"][1])
    assert chinese - latin < 200_000, (latin, chinese)
    assert [f for f in _fonts(rendered["vietnamese"][1]) if "Noto" in f] == []


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is installed by ./dev test")
def test_a_right_to_left_name_keeps_its_order_inside_a_left_to_right_line(tmp_path):
    """An Arabic name ending in a number: isolated, its digits stay with it (drawn left of the name)
    and the page header's words after it stay after it; without isolation the number would jump to
    the far side of the dot."""
    from consent.pdf.html import form_html

    form = _form("محمد 12")
    html = form_html(form)
    assert "<bdi>محمد 12</bdi>" in html and "&#x2068;محمد 12&#x2069; · Date\u00a0of\u00a0birth" in html
    poppler = _pdftotext(form.to_pdf(), tmp_path).replace("\u00a0", " ")  # (the header's no-break spaces)
    header = next(line for line in poppler.splitlines() if "Date of birth January 2, 1970" in line)
    assert header.index("محمد") < header.index("Date of birth"), header
    assert header.index("12") < header.index("Date of birth"), header


@pytest.mark.parametrize("script", NAMES)
def test_the_name_is_in_the_docx_with_a_font_for_its_script(rendered, script):
    """The DOCX holds the name; its runs name the Noto font of the script (East Asian or complex
    script font) and the language, and an Arabic or Hebrew run is right to left."""
    name, _, font, rtl = NAMES[script]
    _, _, docx = rendered[script]
    assert name in docx_all_text(docx)
    runs = [r for p in docx_document(docx).paragraphs + [p for t in docx_document(docx).tables
            for row in t.rows for c in row.cells for p in c.paragraphs] for r in p.runs if r.text == name]
    assert runs, "the name has a run of its own in the patient table"
    for run in runs:
        fonts = run._r.rPr.rFonts
        if font is None:
            assert fonts is None or fonts.get(f"{{{_W}}}cs") is fonts.get(f"{{{_W}}}eastAsia") is None
            continue
        assert fonts.get(f"{{{_W}}}{font[0]}") == font[1]
        assert (run._r.rPr.find(f"{{{_W}}}rtl") is not None) is rtl
        if font[0] == "cs":
            size, cs_size = (run._r.rPr.find(f"{{{_W}}}{tag}").get(f"{{{_W}}}val") for tag in ("sz", "szCs"))
            assert size == cs_size


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is installed by ./dev test")
def test_libreoffice_draws_the_names_with_the_noto_fonts(rendered, tmp_path):
    """LibreOffice converts the DOCX of an Arabic, a Chinese and a Thai name to PDF: the name comes back
    from its text, drawn with the Noto font the run names (not a fallback such as DejaVu)."""
    wanted = {"arabic": "NotoSansArabic", "chinese": "NotoSansCJK", "thai": "NotoSansThai"}
    for script in wanted:
        (tmp_path / f"{script}.docx").write_bytes(rendered[script][2])
    subprocess.run(["libreoffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path / "pdf"), *[str(tmp_path / f"{s}.docx") for s in wanted]],
                   check=True, capture_output=True, timeout=300)
    for script, font in wanted.items():
        pdf = (tmp_path / "pdf" / f"{script}.pdf").read_bytes()
        assert NAMES[script][0] in _pdftotext(pdf, tmp_path)
        assert any(font in f for f in _fonts(pdf)), (script, _fonts(pdf))


@pytest.mark.parametrize("script", ["chinese", "arabic"])
def test_the_fast_path_gives_the_plain_paths_docx(script):
    """The DOCX of a batch's twin, with a Chinese or an Arabic name put back, has the bytes of the DOCX
    rendered on its own (the script fonts are named after the name is put back); the PDF is laid out
    whole (pixels: test_render.py::test_shared_layout_looks_the_same_as_a_whole_layout)."""
    from consent.speedups.render import laid_out_pdf, render_docx

    form = _form(NAMES[script][0])
    assert render_docx(form) == docx_bytes(form)
    pdf, how = laid_out_pdf(form)
    assert how == "whole"  # a name the installed fonts draw is laid out whole (their line heights differ)
    assert NAMES[script][0] in pdf_pages(pdf)[0]


@pytest.mark.parametrize(("name", "block"),
                         [("Ada 𐀀𐀁", "Linear B Syllabary"), ("Ada \ue000", "Private Use Area")])
def test_a_character_no_font_has_is_refused_with_field_script_and_fix(name, block):
    form = _form(name)
    with pytest.raises(consent.RenderError) as info:
        form.to_pdf()
    assert [str(p) for p in info.value.problems] == [
        f"patient.full_name has {len(name) - 4} character(s) that the PDF fonts cannot draw ({block})"]
    assert "apt-get install fonts-noto-core fonts-noto-cjk" in info.value.hint
    assert "Ada" not in str(info.value)
    assert name in docx_all_text(form.to_docx())  # the DOCX is still made


def test_a_family_the_machine_lacks_covers_nothing(monkeypatch, tmp_path):
    """Coverage counts only fonts Fontconfig has: a family form.css names but the machine lacks adds
    nothing, and without the installed Noto fonts a Chinese name is refused, not drawn from another font."""
    from consent.library.loader import template_folders

    roots = template_folders(()).template_roots
    families = stylesheet_families(roots)
    assert "Consent Sans" not in families and "Noto Sans CJK SC" in families and "Noto Sans Arabic" in families
    assert installed_fonts(("No Such Family 27",)) == []
    files = {path for path, _ in installed_fonts(families)}
    assert all(path.is_file() for path in files)
    assert any("CJK" in path.name for path in files) and any("Arabic" in path.name for path in files)

    monkeypatch.setattr("consent.pdf.glyphs.installed_coverage", lambda families: frozenset())
    font_coverage.cache_clear()
    try:
        assert ord("王") not in font_coverage(roots) and ord("a") in font_coverage(roots)
        with pytest.raises(consent.RenderError) as info:
            _form("王小明").to_pdf()
        assert [str(p) for p in info.value.problems] == [
            "patient.full_name has 3 character(s) that the PDF fonts cannot draw (CJK Unified Ideographs)"]
    finally:
        font_coverage.cache_clear()
