"""A form's embedded data is untrusted input (the security issue, point 2).

Anyone can make a PDF or a DOCX whose consent-form.json (or custom property consent.form) says anything.
`consent rerender` must not let it choose the code that runs (the pack folders it names are never
loaded unless given with --pack), where files go (names made from its ids), or what goes into the files
(every value is checked as a clinic's or a patient's file is). Each attack file is made here, from a real
form with its data changed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pikepdf
import pytest
from docx import Document
from docxcompose.properties import CustomProperties
from helpers import DATE, build_tree, docx_body_lines, make_clinic, paragraph_docx_pack, pdf_pages, words
from helpers import run_cli as run

import consent
from consent._output import default_stem
from consent.library.loader import builtin_root

PATIENT = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1), mrn="MRN-1")
BUILTIN_TEMPLATES = builtin_root() / "templates"


def _form() -> consent.Form:
    return consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE)


def edited_pdf(pdf: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The PDF with its embedded consent-form.json changed by ``edit`` (as an attacker would)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        data = json.loads(doc.attachments["consent-form.json"].get_file().read_bytes())
        edit(data)
        text = json.dumps(data).replace('"<deep>"', "[" * 10_000 + "]" * 10_000)  # json.dumps would recurse
        spec = pikepdf.AttachedFileSpec(doc, text.encode(), filename="consent-form.json")
        doc.attachments["consent-form.json"] = spec
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def edited_docx(docx: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The DOCX with its custom property consent.form changed by ``edit``."""
    document = Document(io.BytesIO(docx))
    properties = CustomProperties(document)
    data = json.loads(properties["consent.form"])
    edit(data)
    properties["consent.form"] = json.dumps(data)  # ASCII: a NUL is the JSON escape \\u0000
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def hostile_pack(root: Path, target: Path, victim: Path) -> Path:
    """A pack whose form.html writes a form into ``target`` and whose form.docx saves over ``victim``."""
    html = (BUILTIN_TEMPLATES / "form.html").read_text()
    html = html.replace("<body>", "<body>{{ form.write(" + repr(str(target)) + ", ['docx']) }}", 1)
    build_tree(root, {"templates/form.html": html})
    return paragraph_docx_pack(root, "{{ body.subdocx.save(" + repr(str(victim)) + ") }}")


def test_a_pdf_cannot_choose_the_packs_that_run(tmp_path, capsys):
    """A PDF whose data names a hostile pack folder (its form.html writes a form elsewhere, its form.docx
    overwrites a file): `consent rerender EVIL.pdf --out DIR` loads no pack. It exits 1 with an Error that
    names the folder the form names and --pack; nothing is written into DIR or elsewhere, and the file is
    untouched. Given --pack with another folder, the form is made with that one, and the report names the
    folder the form named."""
    target, victim = tmp_path / "elsewhere", tmp_path / "victim.txt"
    victim.write_text("precious")
    pack = hostile_pack(tmp_path / "evil-pack", target, victim)
    evil = tmp_path / "evil.pdf"
    evil.write_bytes(edited_pdf(_form().to_pdf(), lambda d: d["document"].update(packs=[str(pack)])))
    code, out, err = run(capsys, "rerender", str(evil), "--out", str(tmp_path / "out"))
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: the form names clinic pack folders: {pack}; rerender loads only the packs")
    assert "--pack" in err and "Traceback" not in err
    assert victim.read_text() == "precious" and not target.exists() and not (tmp_path / "out").exists()
    with pytest.raises(consent.InputError, match="the form names clinic pack folders"):
        consent.rerender(evil.read_bytes())

    own = build_tree(tmp_path / "own-pack", {"clauses/.keep": ""})
    code, out, err = run(capsys, "rerender", str(evil), "--out", str(tmp_path / "out"), "--pack", str(own))
    assert code == 0, err
    assert f"Clinic packs: the form names {pack}; made with the packs given: {own}." in out
    assert victim.read_text() == "precious" and not target.exists()
    made = sorted((tmp_path / "out").iterdir())
    assert [p.suffix for p in made] == [".docx", ".pdf"]
    assert "Ada Lovelace" in " ".join(words(" ".join(pdf_pages(made[1].read_bytes()))))


def _set_treatment(value: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:  # both copies of the manifest, so that they still agree
        data["document"]["manifest"]["treatment_id"] = value
        data["manifest"]["treatment"]["id"] = value

    return edit


@pytest.mark.parametrize("bad", ["x/../../escaped", "../../../../tmp/escaped", "a\\..\\b"])
def test_file_names_from_embedded_data_stay_in_out(tmp_path, capsys, bad):
    """A treatment id with a path in it (`x/../../escaped` wrote outside --out): the form data is refused,
    exit 1, the Error names manifest.treatment_id, and no file appears anywhere under the folder."""
    evil = tmp_path / "in" / "evil.pdf"
    evil.parent.mkdir()
    evil.write_bytes(edited_pdf(_form().to_pdf(), _set_treatment(bad)))
    code, out, err = run(capsys, "rerender", str(evil), "--out", str(tmp_path / "in" / "out"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: the PDF's consent-form.json: the form data is refused")
    assert "manifest.treatment_id must be a treatment id such as knee-injection" in err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["in", "in/evil.pdf"]


def test_default_names_are_safe_whatever_the_ids():
    """Even a Form with hostile ids (made in Python, never checked) gives a file name with no separator,
    no '..' and no control character; the ids consent makes are kept as they are."""
    form = _form()
    manifest = attrs.evolve(form.manifest, treatment_id="x/../../escaped\x00")
    hostile = attrs.evolve(form, manifest=manifest, form_id="../CF\\..\\x")
    stem = default_stem(hostile)
    assert "/" not in stem and "\\" not in stem and ".." not in stem and "\x00" not in stem
    assert stem == "2026-11-21_x-escaped_ada-lovelace_cf-x"
    assert default_stem(form) == f"2026-11-21_hair_ada-lovelace_{form.form_id}"


def _header(**values: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["document"]["header"].update(values)


def _first_paragraph(text: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        block = next(b for s in data["document"]["sections"] for b in s["blocks"] if b["kind"] == "paragraph")
        block["text"] = text

    return edit


def _notice(type_pt: float) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["document"]["sections"][0]["blocks"].insert(0, {
            "kind": "notice", "text": "Notice", "citation": None, "wording": None, "type_pt": type_pt,
            "own_page": False})

    return edit


def _role(role: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        blocks = [b for s in data["document"]["sections"] for b in s["blocks"]]
        block = next(b for b in blocks if b["kind"] == "signatures")
        block["parties"][0]["role"] = role

    return edit


def _form_id(data: dict[str, Any], value: str) -> None:
    data["document"]["form_id"] = data["manifest"]["form_id"] = value  # both, so that they still agree


def _deep(data: dict[str, Any]) -> None:
    data["document"]["deep"] = "<deep>"  # edited_pdf puts 10,000 nested arrays here


CRAFTED = {
    "nul-in-name": (_header(patient_name="Ada\x00Lovelace"),
                    "patient.full_name contains a control character (U+0000) at position 4"),
    "line-break-in-mrn": (_header(mrn="MRN\n1"), "patient.mrn contains a line break or tab (U+000A)"),
    "bell-in-clinic": (_header(clinic_name="Harbor\x07Clinic"),
                       "clinic.name contains a control character (U+0007)"),
    "long-name": (_header(patient_name="A" * 201),
                  "patient.full_name is 201 characters long; the limit is 200"),
    "noncharacter-in-text": (_first_paragraph("You may get no benefit.\ufffe"),
                             "contains a Unicode noncharacter (U+FFFE) at position 24"),
    "surrogate-in-label": (lambda d: d["document"]["labels"].update(initials="\ud800"),
                           "form.document.labels.initials contains an unpaired surrogate (U+D800)"),
    "form-id": (lambda d: _form_id(d, "../../x"), "form_id must be a form id such as CF-"),
    "language": (lambda d: d["document"].update(language="e/s"), "language must be a language code"),
    "locale": (lambda d: d["document"].update(locale="zz_ZZ"), "locale must be a locale dates and amounts"),
    "type-size": (_notice(1e9), ".type_pt must be a type size from 6 to 200 points (got 1000000000.0)"),
    "role": (_role("evil\"role"), ".role must be one of patient, representative, witness, provider"),
    "render-option": (lambda d: d["render"].update(merge_fields={"patient.full_name": "x"}),
                      "render.merge_fields is not a render option"),
    "pdf-variant": (lambda d: d["render"].update(pdf_variant="pdf/x-1"),
                    "render.pdf_variant must be one of None"),
    "fillable-text": (lambda d: d["render"].update(fillable="yes"),
                      "render.fillable must be one of False, True"),
    "missing-label": (lambda d: d["document"]["labels"].pop("initials"),
                      "labels lack initials, which the form prints"),
    "deep-nesting": (_deep, "the form data is refused: nesting deeper than 64 levels"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_values_are_refused_like_a_clinic_file(tmp_path, capsys, case):
    """Each value a form consent made cannot hold (control characters, noncharacters, surrogates, a NUL
    that went into the DOCX's XML with exit 0; over-long fields; a form id, language or locale of another
    shape; an absurd type size; an unknown signature role or render option; a label the form prints
    missing; nesting past the limit): `consent rerender` exits 1 with an Error naming the value, no
    traceback, and writes nothing."""
    edit, expected = CRAFTED[case]
    evil = tmp_path / "evil.pdf"
    evil.write_bytes(edited_pdf(_form().to_pdf(), edit))
    code, out, err = run(capsys, "rerender", str(evil), "--out", str(tmp_path / "out"))
    assert (code, out) == (1, ""), err
    assert err.startswith("Error: the PDF's consent-form.json: the form data is ") and "Traceback" not in err
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_every_refused_value_is_listed_and_a_docx_is_checked_too(tmp_path):
    """The data of a DOCX is checked the same way, and every refused value is listed at once (collect,
    then raise): a NUL in the name, a bad form id and a bad locale give one InputError with three
    problems."""
    def edit(data: dict[str, Any]) -> None:
        data["document"]["header"]["patient_name"] = "Ada\x00"
        data["document"]["locale"] = "xx_XX"
        _form_id(data, "nope")

    with pytest.raises(consent.InputError) as info:
        consent.rerender(edited_docx(_form().to_docx(), edit))
    assert info.value.summary == ("the DOCX property consent.form: the form data is refused: 3 value(s) a "
                                  "consent form cannot hold")
    assert [p.field for p in info.value.problems] == ["patient.full_name", "form_id", "locale"]


def test_a_form_consent_made_passes_the_checks(tmp_path):
    """The checks refuse nothing consent makes: a fillable form with e-signature tags, a Spanish form and
    a DOCX re-render as before (byte-identical), the DOCX's text included."""
    form = consent.build("knee-injection", patient=PATIENT, clinic=make_clinic(), date=DATE, language="es")
    pdf = form.to_pdf(fillable=True, esign="adobe")
    assert consent.rerender(pdf).pdf == pdf
    docx = form.to_docx()
    again = consent.rerender(docx)
    assert again.docx == docx and docx_body_lines(again.docx) == docx_body_lines(docx)
