"""Large print (issue 27, point 4): ``--large-print``, ``large_print=True``, a batch option and a CSV column.
The same form with every printed word at least 18 points (headings larger, wider line spacing) on letter
paper, in the PDF and the DOCX; the compliance check passes; a state notice keeps its legal size (Utah: 40
points) and one smaller than 18 points is raised to 18."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import attrs
import pikepdf
import pypdf
import pytest
from helpers import CLINIC, DATE, EXAMPLES, build_tree, docx_document, make_clinic, pdf_pages, run_cli, words

import consent
from consent.document import LARGE_PRINT_PT, Notice, printed
from consent.ehr import read_records

PATIENT = consent.Patient(full_name="Mariana Quintero-Ávila", birth_date=DATE.replace(year=1961), mrn="SRH-88")
LETTER = (612.0, 792.0)
NOTICE_START = "THIS NOTICE MUST BE PROVIDED TO YOU UNDER UTAH LAW"


@pytest.fixture(scope="module")
def utah() -> consent.Form:
    return consent.build("hair", patient=PATIENT, clinic=make_clinic(state="UT"), date=DATE, large_print=True)


@pytest.fixture(scope="module")
def utah_pdf(utah) -> bytes:
    return utah.to_pdf()


def text_sizes(pdf: bytes) -> list[tuple[int, float, str]]:
    """(page, type size in points, text) of every visible run of text: the font size times the vertical
    scale of the text and page matrices."""
    out = []
    for number, page in enumerate(pypdf.PdfReader(io.BytesIO(pdf)).pages):
        def visit(text, cm, tm, _font, size, number=number):  # type: ignore[no-untyped-def]
            if text.strip():
                scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3])
                out.append((number, round(size * scale, 2), text.strip()))
        page.extract_text(visitor_text=visit)
    return out


def page_sizes(pdf: bytes) -> set[tuple[float, float]]:
    return {(float(p.mediabox.width), float(p.mediabox.height)) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages}


def test_every_printed_word_of_the_pdf_is_18_points_or_more_on_letter_paper(utah, utah_pdf):
    sizes = text_sizes(utah_pdf)
    assert len(sizes) > 300
    assert [s for s in sizes if s[1] < LARGE_PRINT_PT - 0.01] == []
    assert page_sizes(utah_pdf) == {LETTER}
    # The body is 18 points, the title and the headings larger.
    counts = Counter(size for _, size, _ in sizes)
    assert counts.most_common(1)[0][0] == LARGE_PRINT_PT
    title = [size for _, size, text in sizes if text.startswith("Informed Consent")]
    heading = [size for _, size, text in sizes if text == "About this treatment"]
    assert title and min(title) >= 26 and heading and min(heading) >= 22
    # The same form in ordinary print: 11.5-point body, its own words.
    plain = consent.build("hair", patient=PATIENT, clinic=make_clinic(state="UT"), date=DATE)
    plain_sizes = text_sizes(plain.to_pdf())
    assert Counter(size for _, size, _ in plain_sizes).most_common(1)[0][0] == 11.5
    assert len(pdf_pages(utah_pdf)) > len(pdf_pages(plain.to_pdf()))
    body = " ".join(words(" ".join(pdf_pages(utah_pdf))))
    for section in plain.sections:
        assert " ".join(words(section.title)) in body


def test_the_utah_notice_keeps_40_points_on_a_page_of_its_own(utah_pdf):
    sizes = text_sizes(utah_pdf)
    notice = [(page, size) for page, size, text in sizes if "UTAH LAW" in text or "stem cell" in text and size > 30]
    assert notice and {size for _, size in notice} == {40.0}
    [page] = {page for page, _ in notice}
    on_page = {size for p, size, text in sizes if p == page}
    assert on_page == {40.0, LARGE_PRINT_PT}  # the notice, and the page's header and footer
    assert " ".join(words(pdf_pages(utah_pdf)[page])).startswith(NOTICE_START)


def test_a_notice_whose_legal_size_is_below_18_points_is_printed_at_18(utah):
    """``printed`` raises a notice's own type size to 18 points in large print, and leaves a larger one
    (and a form in ordinary print) alone; both renderers print the raised size."""
    small = attrs.evolve(utah, sections=tuple(
        attrs.evolve(s, blocks=tuple(attrs.evolve(b, type_pt=12.0, own_page=False) if isinstance(b, Notice) and b.type_pt
                                     else b
                                     for b in s.blocks)) for s in utah.sections))
    notices = [b for s in printed(small).sections for b in s.blocks if isinstance(b, Notice)]
    assert len(notices) > 1 and [b.type_pt for b in notices if b.type_pt] == [LARGE_PRINT_PT]
    assert [b.type_pt for s in printed(utah).sections for b in s.blocks if isinstance(b, Notice) and b.type_pt] \
        == [40.0]
    assert {b.type_pt for b in notices if b.text != notices[0].text} == {None}  # the stylesheet's 18 points
    ordinary = attrs.evolve(small, manifest=attrs.evolve(small.manifest, large_print=False))
    assert printed(ordinary) is ordinary
    sizes = text_sizes(consent.render_pdf(small))
    assert {size for _, size, text in sizes if "UTAH LAW" in text} == {LARGE_PRINT_PT}
    document = docx_document(consent.render_docx(small))
    runs = [r for p in document.paragraphs for r in p.runs if r.text.startswith(NOTICE_START)]
    assert runs and {r.font.size.pt for r in runs} == {LARGE_PRINT_PT}


def test_the_docx_is_in_large_print_on_letter_paper(utah):
    data = utah.to_docx()
    document = docx_document(data)
    styles = document.styles
    assert styles["Normal"].font.size.pt >= LARGE_PRINT_PT
    assert styles["Heading 1"].font.size.pt > styles["Heading 2"].font.size.pt > LARGE_PRINT_PT
    assert styles["Normal"].paragraph_format.line_spacing >= 1.4
    for section in document.sections:
        assert (section.page_width.inches, section.page_height.inches) == (8.5, 11.0)
    # Every size written in the body, the header, the footer and the styles is 18 points or more, but the
    # Utah notice's own 40 points.
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if re.fullmatch(r"word/(document|header\d*|footer\d*|styles)\.xml", name):
                sizes = {int(v) for v in re.findall(rb'<w:sz w:val="(\d+)"', package.read(name))}
                assert sizes and min(sizes) >= 36, name
    notice = [r for p in document.paragraphs for r in p.runs if r.text.startswith(NOTICE_START)]
    assert notice and {r.font.size.pt for r in notice} == {40.0}
    # And in ordinary print, as it was.
    plain = consent.build("hair", patient=PATIENT, clinic=make_clinic(state="UT"), date=DATE)
    assert docx_document(plain.to_docx()).styles["Normal"].font.size.pt == 11


def test_large_print_is_recorded_and_passes_the_compliance_check(utah):
    from consent.assemble.assembly import assemble
    from consent.library.loader import get_library

    plain = consent.build("hair", patient=PATIENT, clinic=make_clinic(state="UT"), date=DATE)
    assert utah.large_print and not plain.large_print
    assert utah.manifest_dict()["large_print"] is True and "large_print" not in plain.manifest_dict()
    assert utah.manifest.check_errors == () and utah.sections == plain.sections
    assert utah.form_id != plain.form_id  # a form of its own (its manifest differs)
    form, trace = assemble("hair", patient=PATIENT, clinic=make_clinic(state="UT"), date=DATE, large_print=True)
    assert form == utah
    report = consent.check.check_form(form, trace, get_library())
    assert report.errors == () and report == consent.check.check_form(*assemble(
        "hair", patient=PATIENT, clinic=make_clinic(state="UT"), date=DATE), get_library())


def test_rerender_makes_the_large_print_form_again(utah, utah_pdf):
    again = consent.rerender(utah_pdf)
    assert again.form.large_print and again.identical
    docx_again = consent.rerender(utah.to_docx())
    assert docx_again.form.large_print and docx_again.identical


def _pdf_words(pdf: bytes, tmp_path: Path) -> list[tuple[int, float, float, float, float, str]]:
    """(page, left, top, right, bottom, word), in points from the page's top left (pdftotext -bbox)."""
    (tmp_path / "f.pdf").write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "f.pdf"), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    out, page = [], -1
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        found = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', line)
        if found:
            out.append((page, *(float(found.group(i)) for i in range(1, 5)), found.group(5)))
    return out


@pytest.mark.parametrize("speedups", ["on", "off"])
def test_fillable_fields_sit_on_their_lines(speedups, monkeypatch, tmp_path):
    """In a fillable large-print PDF each printed-name field holds the name printed on its line, the
    signature and date fields sit on the lines below it, and each screening radio button covers its
    18-point box; the shared layout and the whole one give the same fields."""
    if speedups == "off":
        monkeypatch.setenv("CONSENT_SPEEDUPS", "off")
    consent.clear_caches()
    form = consent.build("knee-injection", patient=PATIENT, clinic=make_clinic(), date=DATE, large_print=True,
                         screening={"infection": True, "pregnant": False}, allow_check_errors=True)
    pdf = form.to_pdf(fillable=True)
    assert page_sizes(pdf) == {LETTER}
    found = _pdf_words(pdf, tmp_path)
    fields: dict[str, list[tuple[int, list[float]]]] = {}
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        pages = {page.obj.objgen: n for n, page in enumerate(doc.pages)}
        for n, page in enumerate(doc.pages):
            for annot in page.get("/Annots", []):
                if annot.get("/Subtype") != "/Widget":
                    continue
                node, parts = annot, []
                while node is not None:
                    if "/T" in node:
                        parts.insert(0, str(node.T))
                    node = node.get("/Parent")
                rect = [float(x) for x in annot.Rect]
                fields.setdefault(".".join(parts), []).append((pages[page.obj.objgen], rect))

    def inside(name: str, text: str) -> bool:
        [(page, (x0, y0, x1, y1))] = fields[name]
        top, bottom = LETTER[1] - y1, LETTER[1] - y0
        hits = [w for w in found if w[0] == page and w[5] == text]
        return any(x0 - 1 <= w[1] and w[3] <= x1 + 1 and top - 1 <= w[2] and w[4] <= bottom + 1 for w in hits)

    assert inside("patient.name", "Quintero-Ávila")
    assert inside("provider.name", "Lee,")
    for role in ("patient", "provider"):
        [(page, name)] = fields[f"{role}.name"]
        [(sign_page, sign)] = fields[f"{role}.signature"]
        [(date_page, date)] = fields[f"{role}.date"]
        assert page == sign_page == date_page
        # one under the other, in the same column, each as high as a line of 18-point type
        assert name[1] > sign[1] > date[1] and abs(name[0] - sign[0]) < 1 and abs(sign[0] - date[0]) < 1
        assert min(r[3] - r[1] for r in (name, sign, date)) >= LARGE_PRINT_PT
    radios = [rect for name, widgets in fields.items() if name.startswith("screening.") for _, rect in widgets]
    assert radios and all(15 <= r[2] - r[0] <= 20 and 15 <= r[3] - r[1] <= 20 for r in radios)
    # The same places whichever layout made them.
    monkeypatch.setenv("CONSENT_SPEEDUPS", "off" if speedups == "on" else "on")
    consent.clear_caches()
    with pikepdf.open(io.BytesIO(form.to_pdf(fillable=True))) as other:
        rects = sorted([round(float(x), 1) for x in a.Rect] for p in other.pages for a in p.get("/Annots", [])
                       if a.get("/Subtype") == "/Widget")
    assert rects == sorted([round(x, 1) for x in rect] for widgets in fields.values() for _, rect in widgets)


def test_cli_render_large_print(capsys, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "render", "knee-injection", "--patient", str(EXAMPLES / "patient-jose.yaml"),
                                "--clinic", str(CLINIC), "--date", "2026-11-21", "--out", str(out), "--large-print")
    assert code == 0, err
    paths = [Path(line) for line in stdout.split()]
    assert sorted(p.suffix for p in paths) == [".docx", ".pdf"] and all(p.is_file() for p in paths)
    pdf = next(p for p in paths if p.suffix == ".pdf").read_bytes()
    assert min(size for _, size, _ in text_sizes(pdf)) >= LARGE_PRINT_PT and page_sizes(pdf) == {LETTER}
    docx = docx_document(next(p for p in paths if p.suffix == ".docx").read_bytes())
    assert docx.styles["Normal"].font.size.pt == LARGE_PRINT_PT
    from docxcompose.properties import CustomProperties

    assert json.loads(CustomProperties(docx)["consent.manifest"])["large_print"] is True


MAPPING = "columns:\n  full_name: name\n  birth_date: dob\n"


def _export(tmp_path: Path, cells: list[str]) -> tuple[Path, Path]:
    path = tmp_path / "export.csv"
    lines = ["name,dob,large_print"]
    lines += [f"Pat{chr(65 + i)} Doe,197{i}-0{i + 1}-0{i + 1},{cell}" for i, cell in enumerate(cells)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return path, mapping


def _batch_manifest(out: Path) -> dict[int, dict]:  # type: ignore[type-arg]
    lines = (json.loads(x) for x in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines())
    return {e["record"]: e for e in lines}


def _body_size(pdf: bytes) -> float:
    return Counter(size for _, size, _ in text_sizes(pdf)).most_common(1)[0][0]


def test_batch_column_asks_for_large_print_record_by_record(tmp_path, capsys):
    """A CSV column ``large_print``: yes/true/1 make that record's form large, no/false/0/blank do not;
    any other value is an error row naming the record and its column, and no file is made for it."""
    path, mapping = _export(tmp_path, ["yes", "no", "", "TRUE", "0", "maybe"])
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(path), "--mapping", str(mapping),
                                "--clinic", str(CLINIC), "--out", str(out), "--date", "2026-11-21", "--jobs", "1",
                                "--format", "pdf")
    assert code == 1, err
    assert stdout.startswith("6 record(s): 5 form(s) written, 0 already complete, 1 failed")
    rows = list(csv.reader(io.StringIO((out / "errors.csv").read_text(encoding="utf-8"))))[1:]
    assert len(rows) == 1 and rows[0][:3] == ["6", "export.csv", "large_print"]
    assert "'large_print'" in rows[0][3] and "yes/no" in rows[0][3] and "maybe" not in rows[0][3]
    assert not list(out.glob("forms/rec-000006_*")) and not [p for p in out.rglob("*") if p.name.startswith(".")]
    entries = _batch_manifest(out)
    large = {n: entries[n].get("large_print", False) for n in range(1, 6)}
    assert large == {1: True, 2: False, 3: False, 4: True, 5: False}
    for number in range(1, 6):
        pdf = next(out.glob(f"forms/rec-{number:06d}_*.pdf")).read_bytes()
        assert _body_size(pdf) == (LARGE_PRINT_PT if large[number] else 11.5), number
    # The option makes every form large; run again, the forms it changes are made again.
    code, stdout, err = run_cli(capsys, "batch", "hair", "--from", str(path), "--mapping", str(mapping),
                                "--clinic", str(CLINIC), "--out", str(out), "--date", "2026-11-21", "--jobs", "1",
                                "--format", "pdf", "--large-print")
    assert stdout.startswith("6 record(s): 3 form(s) written, 2 already complete, 1 failed"), stdout
    entries = _batch_manifest(out)
    assert all(entries[n].get("large_print") is True for n in range(1, 6))


def test_run_batch_large_print(tmp_path):
    path, mapping = _export(tmp_path, ["", "no"])
    result = consent.run_batch("knee-injection", read_records([path], mapping=mapping),
                               clinic=consent.load_clinic(CLINIC), out_dir=tmp_path / "out", date=DATE,
                               formats=("docx",), jobs=1, large_print=True)
    assert result.written == 2 and result.failed == 0
    for docx_path in (tmp_path / "out").glob("forms/*.docx"):
        assert docx_document(docx_path.read_bytes()).styles["Normal"].font.size.pt == LARGE_PRINT_PT


def test_a_pack_may_replace_large_print_css(tmp_path):
    pack = build_tree(tmp_path / "pack", {"templates/large-print.css": (
        "@page { size: letter; margin: 1.2in 0.7in; }\nhtml { font-size: 20pt; line-height: 1.5; }\n"
        "@page { @top-left { font-size: 20pt; } @top-right { font-size: 20pt; } @bottom-left { font-size: 20pt; }"
        " @bottom-right { font-size: 20pt; } }\n")})
    form = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack], large_print=True)
    assert _body_size(form.to_pdf()) == 20.0
