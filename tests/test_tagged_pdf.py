"""Every PDF is a tagged PDF/UA-1 (issue 27, points 1 and 2): checked by an independent checker, `pdfua`
(PyPI, built on pikepdf), and by reading the structure tree as a screen reader does (tests/tagged.py):
the text in structure order is the form's text in reading order, headings in their levels, table
headers with their scope, the English notice of a Spanish form in English, the page header and footer
artifacts, every form field in the tree with an accessible name. The shared-layout path (render and
batch) gives the same tree as the plain path."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
import tagged
from helpers import CLINIC, DATE, EXAMPLES, TREATMENTS, make_clinic, pdf_body_words, run_cli, words

import consent
from consent.pdf.whole import checked, whole_pdf

pytest.importorskip("pdfua")

# The checker, run with one bug mended: its UA-14-001 (no empty heading) asks every heading's /K whether it
# is an integer with getattr(value, "is_integer", False), and pikepdf 10 answers an array's unknown
# attribute with ValueError, not AttributeError, so in pdfua 0.1.3 the rule raised and was skipped on
# every tagged PDF whose headings have array kids. Here that question answers "not an integer" for an
# array, as the checker means it to, and the rule runs (test_the_checker_finds_an_empty_heading shows it
# can fail). A newer pdfua without the bug runs the same way.
CHECKER = """
import sys
import pdfua.document as document
import pdfua.rules.structure as structure
asked = document.as_integer
def as_integer(value):
    try:
        return asked(value)
    except ValueError:
        return None
document.as_integer = as_integer
if getattr(structure, "as_integer", None) is asked:
    structure.as_integer = as_integer
from pdfua.cli import main
sys.exit(main())
"""


def pdfua(paths: list[Path]) -> list[dict]:
    """The checker's JSON report of each file (one process for all)."""
    done = subprocess.run([sys.executable, "-c", CHECKER, "check", "--format", "json", *map(str, paths)],
                          capture_output=True, text=True, timeout=600)
    reports, text, at = [], done.stdout, 0
    decoder = json.JSONDecoder()
    while at < len(text.rstrip()):
        report, end = decoder.raw_decode(text, at)
        reports.append(report)
        at = end
        while at < len(text) and text[at].isspace():
            at += 1
    assert len(reports) == len(paths), done.stderr
    return reports


def assert_clean(paths: list[Path]) -> None:
    for report in pdfua(paths):
        assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 0, report["findings"]
        assert report["summary"]["findings"] == 0, report["findings"]
        assert report["skipped"] == [], report["skipped"]
        assert report["summary"]["rules_run"] >= 12


def _patient(language: str) -> consent.Patient:
    return consent.Patient(full_name="Ana María Ruiz-Okafor", birth_date=dt.date(1970, 3, 4), mrn="MRN-1",
                           preferred_language=language)


def test_every_stock_form_rendered_passes_the_independent_pdf_ua_checker(tmp_path, capsys):
    """`consent render`, 3 treatments x English, Spanish and Chinese x flat, fillable, and fillable with
    e-signature tags (DocuSign on the English forms, Acrobat Sign on the others): no finding."""
    patient = tmp_path / "patient.yaml"
    patient.write_text("full_name: Ana María Ruiz-Okafor\nbirth_date: 1970-03-04\nmrn: MRN-1\n")
    paths = []
    for treatment in TREATMENTS:
        for language in ("en", "es", "zh-Hans"):
            esign = ("--fillable", "--esign", "docusign" if language == "en" else "adobe")
            for fillable in ((), ("--fillable",), esign):
                out = tmp_path / f"{treatment}-{language}-{len(fillable)}"
                code, _, err = run_cli(capsys, "render", treatment, "--patient", str(patient), "--clinic",
                                       str(CLINIC), "--date", DATE.isoformat(), "--language", language,
                                       "--format", "pdf", "--out", str(out), *fillable)
                assert code == 0, err
                paths += sorted(out.glob("*.pdf"))
    assert len(paths) == 27
    assert_clean(paths)


def test_every_stock_form_of_a_batch_passes_the_independent_pdf_ua_checker(tmp_path, capsys):
    """`consent batch` (worker processes, shared layouts) over a mixed export, flat and fillable."""
    export = tmp_path / "patients.csv"
    rows = [f"Patient {t} {lang},1960-0{i + 1}-0{j + 1},{t},{lang}"
            for i, t in enumerate(TREATMENTS) for j, lang in enumerate(("en", "es"))]
    export.write_text("name,dob,treatment,lang\n" + "\n".join(rows) + "\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\n  preferred_language: lang\n")
    paths = []
    for fillable in ((), ("--fillable",)):
        out = tmp_path / f"out-{bool(fillable)}"
        code, _, err = run_cli(capsys, "batch", "--from", str(export), "--mapping", str(mapping),
                               "--clinic", str(CLINIC), "--out", str(out),
                               "--date", DATE.isoformat(), "--format", "pdf", "--jobs", "2", *fillable)
        assert code == 0, err
        paths += sorted((out / "forms").glob("*.pdf"))
    assert len(paths) == 12
    assert_clean(paths)


def test_the_checker_finds_an_untagged_pdf(tmp_path):
    """The check can fail: WeasyPrint's untagged output (no structure tree) is an error."""
    form = consent.build("knee-injection", patient=_patient("en"), clinic=consent.load_clinic(CLINIC), date=DATE)
    from consent.pdf.html import form_html, layout

    untagged = layout(form_html(form), form.packs).write_pdf()
    path = tmp_path / "untagged.pdf"
    path.write_bytes(untagged)
    report = pdfua([path])[0]
    assert report["summary"]["errors"] >= 2
    assert {f["rule_id"] for f in report["findings"]} >= {"UA-01-005", "UA-01-002"}


def test_the_checker_finds_an_empty_heading(tmp_path):
    """The rule mended above runs and can fail: a form whose first heading has lost its content is an
    error of UA-14-001, and the same form whole is clean."""
    form = consent.build("knee-injection", patient=_patient("en"), clinic=consent.load_clinic(CLINIC), date=DATE)
    whole = tmp_path / "whole.pdf"
    whole.write_bytes(form.to_pdf())
    with pikepdf.open(whole) as doc:
        def headings(node):
            kids = node.get("/K")
            for kid in (kids if isinstance(kids, pikepdf.Array) else [kids]):
                if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                    if kid.S == "/H1":
                        yield kid
                    yield from headings(kid)

        del next(headings(doc.Root.StructTreeRoot))["/K"]
        doc.save(tmp_path / "empty.pdf")
    clean, broken = pdfua([whole, tmp_path / "empty.pdf"])
    assert clean["summary"]["findings"] == 0 and clean["skipped"] == []
    assert [f["rule_id"] for f in broken["findings"]] == ["UA-14-001"], broken["findings"]


def _forms(screening: bool = True) -> list[consent.Form]:
    clinic = consent.load_clinic(CLINIC)
    out = []
    for treatment in TREATMENTS:
        for language in ("en", "es"):
            form = consent.build(treatment, patient=_patient(language), clinic=clinic, date=DATE,
                                 language=language)
            if screening:
                ids = [row.id for s in form.sections for b in s.blocks if isinstance(b, consent.document.Checklist)
                       for row in b.rows]
                answers = {qid: n % 3 == 0 for n, qid in enumerate(ids)}
                form = consent.build(treatment, patient=_patient(language), clinic=clinic, date=DATE,
                                     language=language, screening=answers)
            out.append(form)
    return out


def _plain(form: consent.Form, **options) -> bytes:
    return whole_pdf(checked(form, **options), **options)


@pytest.fixture(scope="module")
def forms() -> list[tuple[consent.Form, bytes, bytes]]:
    """Each stock form with screening answers: its plain PDF and its shared-layout PDF."""
    out = []
    for form in _forms():
        fast = consent.render_pdf(form)
        out.append((form, _plain(form), fast))
    return out


def _shape(tree: tagged.Element) -> list[tuple]:
    keep = ("/Lang", "/Alt", "/ID")
    rows = []
    for e in tree.walk():
        scope = str(e.keys["/A"].get("/Scope")) if isinstance(e.keys.get("/A"), pikepdf.Dictionary) else None
        headers = tuple(str(h) for h in e.keys["/A"].get("/Headers", ())) \
            if isinstance(e.keys.get("/A"), pikepdf.Dictionary) else ()
        rows.append((e.s, tuple((k, str(e.keys[k])) for k in keep if k in e.keys), scope, headers,
                     tagged.squash(e.text)))
    return rows


def test_the_shared_layout_gives_the_plain_layouts_tree(forms):
    """The fast path (a shared body, the patient's strings laid over it) has the same tree, element for
    element, with the same text in each, as the form laid out whole: the name, birth date, MRN and the
    screening boxes' state in their places."""
    for form, plain, fast in forms:
        assert fast[:4] == b"%PDF"
        assert _shape(tagged.read(fast)[0]) == _shape(tagged.read(plain)[0]), (form.title,
                                                                                form.language)


def test_the_text_in_structure_order_is_the_form_text_in_reading_order(forms):
    """Reading the tree gives the page text in reading order (the whole layout's, which draws its text in
    reading order; the shared layout draws the patient's strings last, but its tree reads them in their
    places), header and footer left out (they are artifacts), and each header and footer string is an
    artifact on every page."""
    for form, plain, fast in forms:
        body = tagged.squash("".join(pdf_body_words(form, plain)))
        for pdf in (plain, fast):
            tree, _, artifacts = tagged.read(pdf)
            structure = tagged.squash(tree.all_text())
            assert structure == body, (form.title, form.language)
            for page in artifacts:
                assert tagged.squash(form.header.clinic_name) in tagged.squash(page)
                assert tagged.squash(form.form_id) in tagged.squash(page)
            assert tagged.squash(form.form_id) not in structure


def test_headings_are_in_one_hierarchy_and_match_the_sections(forms):
    for form, plain, fast in forms:
        tree, _, _ = tagged.read(fast)
        headings = [(e.s, tagged.squash(e.all_text())) for e in tree.walk() if e.s in ("/H1", "/H2", "/H3")]
        assert headings[0] == ("/H1", tagged.squash(form.title))
        assert [h for h in headings if h[0] == "/H1"] == headings[:1]
        assert [t for s, t in headings if s == "/H2"] == [tagged.squash(s.title) for s in form.sections]
        level = 1
        for s, text in headings:  # never a level skipped going down, and none empty
            assert int(s[2]) <= level + 1 and text
            level = int(s[2])


def test_every_table_header_has_a_scope_and_the_data_cells_name_their_headers(forms):
    form, _, fast = forms[0]
    tree, _, _ = tagged.read(fast)
    tables = [e for e in tree.walk() if e.s == "/Table"]
    assert len(tables) >= 5  # patient, product, fees, screening, signatures
    found = {}
    for table in tables:
        for th in (e for e in table.walk() if e.s == "/TH"):
            scope = str(th.keys["/A"].Scope)
            assert scope in ("/Row", "/Column")
            found.setdefault(scope, []).append(tagged.squash(th.all_text()))
        for td in (e for e in table.walk() if e.s == "/TD"):
            assert len(td.keys["/A"].get("/Headers", [])) >= 1 or not tagged.squash(td.all_text())
    L = form.labels
    assert tagged.squash(L["patient"]) in found["/Row"] and tagged.squash(L["mrn"]) in found["/Row"]
    assert {tagged.squash(L["yes"]), tagged.squash(L["no"]), tagged.squash(L["fee_amount"])} <= set(found["/Column"])


def test_the_english_notice_of_a_spanish_form_is_marked_english():
    """A Utah clinic's Spanish form: the law's English words are /Lang en; the document is es."""
    clinic = make_clinic(state="UT")
    form = consent.build("knee-injection", patient=_patient("es"), clinic=clinic, date=DATE, language="es")
    pdf = consent.render_pdf(form)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert str(doc.Root.Lang) == "es"
    tree, _, _ = tagged.read(pdf)
    english = [e for e in tree.walk() if str(e.keys.get("/Lang", "")) == "en"]
    notice = tagged.squash("THIS NOTICE MUST BE PROVIDED TO YOU UNDER UTAH LAW")
    assert english and notice in tagged.squash(english[0].all_text())
    # ... and nothing else is marked English
    assert all(notice in tagged.squash(e.all_text()) for e in english)


def test_screening_boxes_say_whether_they_are_ticked(forms):
    form, _, fast = forms[0]
    tree, _, _ = tagged.read(fast)
    alts = [str(e.keys["/Alt"]) for e in tree.walk() if "/Alt" in e.keys]
    rows = [row for s in form.sections for b in s.blocks if isinstance(b, consent.document.Checklist)
            for row in b.rows]
    assert len(alts) == 2 * len(rows)
    assert alts[:2] == ["Yes: marked", "No: not marked"] if rows[0].answer else ["Yes: not marked", "No: marked"]


def test_the_document_has_its_title_language_and_pdf_ua_identification(forms):
    form, _, fast = forms[1]  # Spanish
    with pikepdf.open(io.BytesIO(fast)) as doc:
        assert doc.Root.MarkInfo.Marked is True
        assert doc.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(doc.Root.Lang) == "es"
        meta = doc.open_metadata()
        assert meta.get("pdfuaid:part") == "1"
        assert meta.get("dc:title") == form.title


@pytest.mark.parametrize("path", ["plain", "fast"])
def test_every_form_field_is_in_the_tree_with_an_accessible_name(path):
    """A fillable form's widgets hang in /Form elements where their places are (a signature line's
    cell, a screening box), each field has /TU, and the pages' tab order follows the structure."""
    form = _forms()[0]
    pdf = _plain(form, fillable=True) if path == "plain" else consent.render_pdf(form, fillable=True)
    tree, _, _ = tagged.read(pdf)
    held = {}
    for element in tree.walk():
        for kid in element.kids:
            if kid.s == "/Form":
                for widget in kid.objr:
                    held[widget] = element
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        widgets = [a for p in doc.pages for a in p.obj.get("/Annots", []) if a.get("/Subtype") == "/Widget"]
        assert widgets and all(p.obj.Tabs == "/S" for p in doc.pages if "/Annots" in p.obj)
        for widget in widgets:
            assert widget.objgen in held, widget.get("/T")
            field = widget if "/T" in widget else widget.Parent
            assert str(field.TU).strip(), field.get("/T")
        names = {str(w.get("/TU") or w.Parent.get("/TU")) for w in widgets}
    L = form.labels
    assert f"{L['sig_patient']}: {L['sig_signature']}" in names
    question = next(row.question for s in form.sections for b in s.blocks
                    if isinstance(b, consent.document.Checklist) for row in b.rows)
    assert question in names
    signature_cell = [e for e in held.values() if e.s == "/TD"]
    assert signature_cell  # a signature line's widget is in its table cell


def test_no_private_key_is_left_in_the_tree(forms):
    for _, plain, fast in forms[:2]:
        for pdf in (plain, fast):
            with pikepdf.open(io.BytesIO(pdf)) as doc:
                raw = b"".join(obj.unparse() for obj in doc.objects if isinstance(obj, pikepdf.Dictionary))
                assert b"ConsentField" not in raw and b"ConsentSlot" not in raw


def test_words_of_the_body_are_unchanged_by_tagging(forms):
    """Tagging adds no visible text: the page text is the form's, as before."""
    form, _, fast = forms[0]
    text = " ".join(pdf_body_words(form, fast))
    assert " ".join(words(form.title)) in text


# WeasyPrint opens its sRGB profile for a PDF/A output intent and leaves the file to the garbage collector.
@pytest.mark.filterwarnings("ignore:Exception ignored in.*sRGB2014:pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("variant", ["pdf/a-3a", "pdf/a-3u"])
def test_an_archival_pdf_a_is_tagged_and_says_it_is_pdf_ua_too(variant, tmp_path, capsys):
    """`render --pdf-variant pdf/a-3a` (level A, the accessible level) or 3u: the checker finds nothing,
    and the XMP says PDF/A-3 and PDF/UA-1, with PDF/A's extension schema for the PDF/UA property."""
    patient = tmp_path / "patient.yaml"
    patient.write_text("full_name: Ana Ruiz\nbirth_date: 1970-03-04\n")
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "render", "hair", "--patient", str(patient), "--clinic", str(CLINIC), "--date",
                           DATE.isoformat(), "--format", "pdf", "--out", str(out), "--pdf-variant", variant)
    assert code == 0, err
    path = next(out.glob("*.pdf"))
    assert_clean([path])
    with pikepdf.open(path) as doc:
        meta = doc.open_metadata()
        assert meta.get("pdfaid:part") == "3" and meta.get("pdfaid:conformance") == variant[-1].upper()
        assert meta.get("pdfuaid:part") == "1"
        xmp = doc.Root.Metadata.read_bytes()
        assert b"<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>" in xmp
        assert "/StructTreeRoot" in doc.Root


def test_a_signed_forms_archival_copy_does_not_claim_pdf_ua():
    """Its filled-in values are drawn over the tagged pages, outside the tree: no PDF/UA claim."""
    import pydyf

    from consent.pdf.finish import finish

    pdf = pydyf.PDF()
    xmp = pydyf.Stream([b'<rdf:RDF><rdf:Description pdfaid:part="3"/></rdf:RDF>'])
    pdf.add_object(xmp)
    pdf.catalog["Metadata"] = xmp.reference
    pdf.catalog["StructTreeRoot"] = xmp.reference  # present: a tagged PDF/A
    finish(None, pdf, claim_ua=False)
    assert b"pdfuaid" not in b"".join(xmp.stream)
    finish(None, pdf)
    assert b'pdfuaid:part="1"' in b"".join(xmp.stream)


def test_a_large_print_form_passes_the_same_accessibility_checks(tmp_path):
    """Large print (issue 27, point 4), Spanish, flat and fillable: the checker finds nothing, and the
    shared layout's tree is the plain layout's."""
    form = consent.build("knee-injection", patient=_patient("es"), clinic=consent.load_clinic(CLINIC), date=DATE,
                         language="es", large_print=True)
    paths = []
    for fillable in (False, True):
        fast = consent.render_pdf(form, fillable=fillable)
        path = tmp_path / f"large-{fillable}.pdf"
        path.write_bytes(fast)
        paths.append(path)
    assert_clean(paths)
    plain = _plain(form)
    assert _shape(tagged.read(consent.render_pdf(form))[0]) == _shape(tagged.read(plain)[0])
