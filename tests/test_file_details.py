"""What a checker finds inside the files (issue 24, point 7): every PDF's font subsets have tags of their
own (ISO 32000-1, 9.6.4), whichever way it was made; a PDF/A-3 lists each associated file once in the
catalog's /AF; a DOCX carries no blank preview picture. (The pdf-form template's header fields and its
text layer: tests/test_template.py.)"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile

import docx
import pikepdf
import pytest
from helpers import CLINIC, DATE, make_clinic
from lxml import etree

import consent

# WeasyPrint opens its sRGB profile for a PDF/A and leaves the file to the garbage collector.
SRGB = pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*sRGB2014:pytest.PytestUnraisableExceptionWarning")
TAG = re.compile(r"^/([A-Z]{6})\+")


@pytest.fixture(scope="module")
def form() -> consent.Form:
    patient = consent.Patient(full_name="Ada O'Connor", birth_date=DATE.replace(year=1985), mrn="SRH-000101")
    return consent.build("knee-injection", patient=patient, clinic=make_clinic(state="CA"), date=DATE,
                         screening={"infection": True, "pregnant": False}, allow_check_errors=True)


def subsets(data: bytes) -> dict[str, set[tuple[str, str]]]:
    """Each subset tag of the PDF's embedded fonts: the font's name (after the tag) and the SHA-256 of its
    program, for every font named with it.
    Checks on the way that each font names its descriptor's subset (/BaseFont of the CIDFont and of the
    Type 0 font above it, /FontName of the descriptor)."""
    out: dict[str, set[tuple[str, str]]] = {}
    with pikepdf.open(io.BytesIO(data)) as doc:
        for obj in doc.objects:
            if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/Font":
                continue
            descendants = obj.get("/DescendantFonts")
            font = descendants[0] if descendants is not None else obj
            descriptor = font.get("/FontDescriptor")
            program = None if descriptor is None else next(
                (descriptor[k] for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in descriptor), None)
            if program is None:
                continue  # not embedded (Helvetica of the form fields)
            name = str(descriptor.FontName)
            assert str(obj.BaseFont) == str(font.BaseFont) == name
            tag = TAG.match(name)
            assert tag, f"{name}: a subset's name is six upper-case letters, '+' and the font's name"
            digest = hashlib.sha256(program.read_bytes()).hexdigest()
            out.setdefault(tag.group(1), set()).add((name[8:], digest))
    return out


def assert_tags_of_their_own(data: bytes) -> None:
    found = subsets(data)
    assert found, "no embedded font"
    shared = {tag: len(programs) for tag, programs in found.items() if len(programs) > 1}
    assert shared == {}, f"one tag for several subsets: {shared}"


def _whole(form: consent.Form, monkeypatch: pytest.MonkeyPatch, **options: object) -> bytes:
    """The PDF laid out whole, as a form that cannot share a layout is (a clinic's paragraph that names
    the patient in a title, say)."""
    from consent.speedups import layers, render

    monkeypatch.setattr(layers, "layered_pdf", lambda *a, **k: None)
    data, how = render.laid_out_pdf(form, **options)  # type: ignore[arg-type]
    assert how == "whole"
    return data


# ------------------------------------------------------------------ font subset tags


@SRGB
@pytest.mark.parametrize("how", ["render", "fillable", "esign", "pdf/a-3u", "whole", "whole pdf/a-3b",
                                 "template"])
def test_every_font_subset_has_a_tag_of_its_own(form, how, monkeypatch):
    """A shared-layout PDF (render and batch) draws the shared body and the form's own layer, two
    WeasyPrint documents with a subset of Noto Sans each: both were named YVXNRX+Consent-Sans. Now in
    every kind of PDF the project makes, each tag names one font program, and a PDF made again has the
    same bytes."""
    made = {
        "render": lambda: form.to_pdf(),
        "fillable": lambda: form.to_pdf(fillable=True),
        "esign": lambda: form.to_pdf(esign="docusign"),
        "pdf/a-3u": lambda: form.to_pdf(variant="pdf/a-3u"),
        "whole": lambda: _whole(form, monkeypatch),
        "whole pdf/a-3b": lambda: _whole(form, monkeypatch, variant="pdf/a-3b"),
        "template": lambda: consent.export_template("knee-injection", clinic=make_clinic(), format="pdf-form",
                                                    date=DATE),
    }[how]
    data = made()
    assert_tags_of_their_own(data)
    if how == "render":  # the body's regular subset and the layer's: two names
        regular = [tag for tag, fonts in subsets(data).items() if {n for n, _ in fonts} == {"Consent-Sans"}]
        assert len(regular) == 2
        assert made() == data


def test_the_same_subset_gets_the_same_tag_and_another_subset_another():
    """The tag comes from the subset itself: two forms of a batch share the body's subsets (regular, bold,
    italic) and their tags; the layer's subset, with the glyphs of the patient's own strings, has a tag
    of its own in each."""
    from consent.speedups.render import laid_out_pdf

    clinic = make_clinic(state="CA")

    def tags(name: str) -> set[str]:
        patient = consent.Patient(full_name=name, birth_date=DATE.replace(year=1970), mrn="SRH-000207")
        pdf, how = laid_out_pdf(consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE))
        assert how == "shared"
        return set(subsets(pdf))

    ada, zoe = tags("Ada Lee"), tags("Zoë Quixote")
    assert len(ada & zoe) == 3 and len(ada - zoe) == len(zoe - ada) == 1


# ------------------------------------------------------------------ PDF/A associated files


def assert_each_file_once(data: bytes) -> None:
    """/AF lists each embedded file's specification once, and no other (relationship Data)."""
    with pikepdf.open(io.BytesIO(data)) as doc:
        listed = [spec.objgen for spec in doc.Root.AF]
        tree = list(doc.Root.Names.EmbeddedFiles.Names)
        embedded = {spec.objgen: str(name) for name, spec in zip(tree[::2], tree[1::2], strict=True)}
        assert sorted(listed) == sorted(embedded), [str(spec.F) for spec in doc.Root.AF]
        assert sorted(embedded.values()) == ["consent-form.json", "consent-manifest.json"]
        assert all(spec.AFRelationship == "/Data" for spec in doc.Root.AF)


@SRGB
@pytest.mark.parametrize("variant", ["pdf/a-3u", "pdf/a-3b"])
def test_pdf_a_lists_each_associated_file_once(form, variant, monkeypatch):
    """`form.to_pdf(variant=...)`, laid out shared or whole: the catalog's /AF has the form data and the
    manifest once each (WeasyPrint listed both twice)."""
    assert_each_file_once(form.to_pdf(variant=variant))
    assert_each_file_once(_whole(form, monkeypatch, variant=variant))


@SRGB
def test_batch_pdf_a_has_tags_of_their_own_and_each_file_once(tmp_path):
    """A batch with ``pdf_variant="pdf/a-3u"`` (`consent batch --pdf-variant pdf/a-3u`) of two patients:
    each PDF/A has subset tags of its own and each associated file once in /AF."""
    patients = [consent.Patient(full_name=name, birth_date=DATE.replace(year=1960), mrn=mrn)
                for name, mrn in (("Peter Chalmers", "SRH-000311"), ("Gustavo Mejía", "SRH-000312"))]
    result = consent.run_batch("hair", list(enumerate(patients, 1)), clinic=consent.load_clinic(CLINIC),
                               out_dir=tmp_path / "out", date=DATE, formats=("pdf",), pdf_variant="pdf/a-3u",
                               fhir=False, jobs=1)
    assert result.ok, result
    made = sorted((tmp_path / "out" / "forms").glob("*.pdf"))
    assert len(made) == 2
    for path in made:
        assert_tags_of_their_own(path.read_bytes())
        assert_each_file_once(path.read_bytes())


# ------------------------------------------------------------------ DOCX preview picture


def extension(name: str) -> str:
    """A part's extension, as [Content_Types].xml's Default names it ("rels" for _rels/.rels)."""
    last = name.rpartition("/")[2]
    return last.rpartition(".")[2].lower() if "." in last else ""


def package_problems(data: bytes) -> list[str]:
    """What a strict OPC reader would object to: a relationship to a part that is not there, a part with
    no content type, a content type for a part or an extension that is not there."""
    problems = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        types = etree.fromstring(z.read("[Content_Types].xml"))
        defaults = {e.get("Extension").lower() for e in types if e.tag.endswith("Default")}
        overrides = {e.get("PartName").lstrip("/") for e in types if e.tag.endswith("Override")}
        problems += [f"override for a missing part {n}" for n in overrides - names]
        used = {extension(n) for n in names}
        problems += [f"default for an extension no part has: {e}" for e in defaults - used]
        problems += [f"no content type: {n}" for n in names
                     if n != "[Content_Types].xml" and n not in overrides and extension(n) not in defaults]
        for rels in (n for n in names if n.endswith(".rels")):
            base = posixpath.dirname(posixpath.dirname(rels))  # word/_rels/document.xml.rels: word
            for rel in etree.fromstring(z.read(rels)):
                if rel.get("TargetMode") == "External":
                    continue
                target = posixpath.normpath(posixpath.join(base, rel.get("Target"))).lstrip("/")
                if target not in names:
                    problems.append(f"{rels}: {rel.get('Type')} -> {target}, not in the package")
    return problems


@pytest.mark.parametrize("kind", ["form", "template"])
def test_docx_has_no_blank_preview_picture(form, kind):
    """The DOCX (a form, and a docx-merge template) carries no docProps/thumbnail: the one form.docx had was
    an all-white page (python-docx's default document), never this form. Nor its relationship or content
    type: file browsers and viewers draw their own preview; the package stays whole and Word opens it."""
    data = form.to_docx() if kind == "form" else consent.export_template(
        "knee-injection", clinic=make_clinic(), format="docx-merge", date=DATE)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert [n for n in z.namelist() if n.startswith("docProps/thumbnail")] == []
        assert b"relationships/metadata/thumbnail" not in z.read("_rels/.rels")
        assert b"thumbnail" not in z.read("[Content_Types].xml")
    assert package_problems(data) == []
    assert docx.Document(io.BytesIO(data)).paragraphs
