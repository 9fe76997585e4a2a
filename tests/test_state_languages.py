"""The shipped per-state language lists (issue 27, point 6): data with their source. Each list in
templates/rules/language-assistance.yaml is what tools/state_languages.py derives from the Census Bureau's
table committed in tools/data/ (ACS 2018 1-year, B16001): the 15 language groups with the most people who
speak English less than "very well", most first. A hand edit of a list, a wrong number copied into the
data or a changed ranking rule fails here."""

from __future__ import annotations

import csv
import io
import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml
from helpers import DATE, make_clinic

import consent
from consent.library.loader import Library

ROOT = Path(__file__).resolve().parents[1]
PATIENT = consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1980, 1, 2), mrn="MRN-1")


def _tool():
    spec = importlib.util.spec_from_file_location("state_languages", ROOT / "tools" / "state_languages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["state_languages"] = module
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
SHIPPED = yaml.safe_load((ROOT / "templates" / "rules" / "language-assistance.yaml").read_text(encoding="utf-8"))


def test_every_shipped_list_is_the_one_derived_from_the_census_table() -> None:
    assert SHIPPED["states"] == TOOL.state_lists()


def test_the_file_is_what_the_tool_writes(tmp_path: Path) -> None:
    """The comments too: each state's ranking with its estimates, as the tool prints it."""
    text = (ROOT / "templates" / "rules" / "language-assistance.yaml").read_text(encoding="utf-8")
    assert text.endswith("\n" + TOOL.yaml_section())


def test_the_data_adds_up_and_its_origin_is_written_beside_it() -> None:
    table = TOOL.rows()
    assert len(table) == 39 and {"CA", "TX", "FL", "NY", "WA", "UT", "DC"} <= set(table)  # 13 not published
    readme = (ROOT / "tools" / "data" / "README.md").read_text(encoding="utf-8")
    assert "B16001" in readme and "public domain" in readme.lower()


def test_a_row_that_does_not_add_up_is_refused(tmp_path: Path) -> None:
    source = ROOT / "tools" / "data" / "acs-2018-b16001-states.csv"
    with source.open(encoding="utf-8", newline="") as file:
        data = list(csv.reader(line for line in file if not line.startswith("#")))
    header = data[0]
    row = next(r for r in data[1:] if r[header.index("B16001_001E")] != "null")
    row[header.index("B16001_005E")] = str(int(row[header.index("B16001_005E")]) + 1)  # a mistyped figure
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, row])
    with pytest.raises(ValueError, match="does not add up"):
        TOOL.rows(bad)


def test_california_lists_spanish_then_chinese_in_both_scripts_and_fifteen_groups() -> None:
    ca = SHIPPED["states"]["CA"]
    assert ca["languages"][:3] == ["es", "zh-Hant", "zh-Hans"]
    assert "B16001" in ca["source"] and "California" in ca["source"]
    assert len(TOOL.ranked(TOOL.rows()["CA"])[:15]) == 15


def test_every_shipped_language_has_a_line_and_the_library_loads_clean() -> None:
    library = Library()
    assert not [p.message for p in library.problems]
    for code, entry in library.language_assistance.states.items():
        assert set(entry.languages) <= set(library.language_assistance.taglines), code


def test_a_california_clinic_gets_the_page_in_its_states_languages() -> None:
    la = consent.LanguageAssistance(phone="(619) 555-0142", tty="711")
    form = consent.build("hair", patient=PATIENT, clinic=make_clinic(state="CA", language_assistance=la), date=DATE)
    page = form.sections[-1]
    assert [b.lang for b in page.blocks] == ["en", *SHIPPED["states"]["CA"]["languages"]]
    assert all("(619) 555-0142" in b.text and "711" in b.text for b in page.blocks)


def test_every_tagline_is_drawn_by_the_forms_fonts() -> None:
    """Every character of every line (the 47 languages, their scripts) is in the shipped Noto Sans or an
    installed Noto family that form.css names: no line is refused or drawn as empty boxes."""
    from consent.library.loader import template_folders
    from consent.pdf.glyphs import font_coverage

    coverage = font_coverage(template_folders(()).template_roots)
    table = Library().language_assistance
    for tag, line in table.taglines.items():
        missing = sorted({c for c in line.name + line.text if ord(c) not in coverage and not c.isspace()})
        assert not missing, (tag, missing)


@pytest.mark.parametrize("state, fonts", [
    ("TX", ["Noto-Sans-Malayalam", "Noto-Sans-Kannada", "Noto-Sans-Devanagari", "Noto-Sans-Ethiopic"]),
    ("NY", ["Noto-Sans-Hebrew", "Noto-Sans-Bengali", "Noto-Sans-CJK-JP"]),
])
def test_a_shipped_states_page_is_tagged_line_by_line_and_passes_the_pdf_ua_checker(state: str, fonts: list[str],
                                                                                   tmp_path: Path) -> None:
    """Texas (Malayalam and Kannada, Marathi, Yoruba, Twi and Igbo) and New York (Yiddish, right to left;
    Pennsylvania Dutch): each line a paragraph with its /Lang and the clinic's number, each script's font
    embedded, and the independent checker `pdfua` finds nothing."""
    pytest.importorskip("pdfua")
    import subprocess

    import pikepdf
    import tagged

    la = consent.LanguageAssistance(phone="(512) 555-0142", tty="711")
    pdf = consent.build("hair", patient=PATIENT, clinic=make_clinic(state=state, language_assistance=la),
                        date=DATE).to_pdf()
    tree, _, _ = tagged.read(pdf)
    langs = {str(e.keys["/Lang"]): tagged.squash(e.all_text()) for e in tree.walk()
             if "/Lang" in e.keys and e.s == "/P"}
    for tag in SHIPPED["states"][state]["languages"]:
        assert tagged.squash("(512) 555-0142") in langs.get(tag, ""), tag
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        embedded = {str(obj.BaseFont).split("+")[-1] for obj in doc.objects
                    if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font" and "/BaseFont" in obj}
    for family in fonts:
        assert any(f.startswith(family) for f in embedded), (family, sorted(embedded))
    path = tmp_path / f"{state}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([sys.executable, "-m", "pdfua", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
