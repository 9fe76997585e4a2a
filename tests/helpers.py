"""Test helpers: example inputs, and readers that extract what a user sees from a PDF or a DOCX."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import textwrap
import unicodedata
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pypdf
import pytest

import consent

REPO = Path(__file__).resolve().parents[1]
IRB_ONLY_ACKNOWLEDGED = REPO / "tests" / "data" / "packs" / "irb-only-acknowledged"
"""A pack whose settings acknowledge ``legal.irb-only-study``: forms of a study with a review board alone."""
EXAMPLES = REPO / "examples" / "sunrise-clinic"
CLINIC = EXAMPLES / "clinic.yaml"  # the example clinic file
EHR_SAMPLES = REPO / "tests" / "data" / "ehr"  # public FHIR exports; origin and licence in its README
DATE = dt.date(2026, 11, 21)
TREATMENTS = ("knee-injection", "iv-infusion", "hair")


PRODUCT = consent.Product(
    maker="Northgate Cell Labs, Inc.",
    source_tissue={"en": "Donated umbilical cord tissue", "es": "Tejido de cordón umbilical donado"},
    donor_screening={"en": "HIV, hepatitis B and C, and syphilis", "es": "VIH, hepatitis B y C, y sífilis"},
)


def make_clinic(**changes: object) -> consent.Clinic:
    """A valid clinic in Python (one fee schedule for every treatment, the stock treatments' product
    with no lot number, its text in English and Spanish), with fields replaced as given."""
    fields: dict[str, object] = {
        "name": "Harbor Clinic",
        "address": "1 Main St, Boise, ID 83702",
        "phone": "(208) 555-0100",
        "state": "ID",
        "provider": consent.Provider(name="Sam Lee", credentials="DO"),
        "fees": consent.FeeSchedule(
            price_per_session=Decimal("1200"),
            planned_sessions=3,
            included=({"en": "The product", "es": "El producto"},),
            excluded=({"en": "Imaging", "es": "Estudios de imagen"},),
        ),
        "products": {treatment: PRODUCT for treatment in TREATMENTS},
    }
    fields.update(changes)
    return consent.Clinic(**fields)  # type: ignore[arg-type]


def make_study(**changes: object) -> consent.Study:
    """A complete, lawful study (under an FDA IND, IRB-approved, FDA's authorisation to charge stated),
    with fields replaced as given (``ind_number=None``: a review board alone, a check error)."""
    fields: dict[str, object] = {
        "ind_number": "IND 027311",
        "irb_name": "Western Coast IRB",
        "charging_authorization": "FDA letter of 2026-03-02",
        "purpose": {
            "en": "To learn if exosome shots are safe, and if they ease knee pain.",
            "es": "Saber si las inyecciones de exosomas son seguras y si alivian el dolor de rodilla.",
        },
        "duration": {"en": "about 12 months", "es": "unos 12 meses"},
        "subjects": 60,
        "irb_contact": "(415) 555-0177",
        "clinicaltrials_gov": True,
        "future_use": "none",
        "procedures": (
            consent.Procedure({"en": "Two exosome shots in the knee, 4 weeks apart.",
                               "es": "Dos inyecciones de exosomas en la rodilla, con 4 semanas de diferencia."},
                              experimental=True),
            consent.Procedure({"en": "A knee X-ray at the start and after 12 months.",
                               "es": "Una radiografía de la rodilla al inicio y a los 12 meses."},
                              experimental=False),
            consent.Procedure({"en": "A short survey about your knee pain at each of 4 visits.",
                               "es": "Una encuesta corta sobre el dolor de rodilla en cada una de 4 visitas."},
                              experimental=False),
        ),
        "samples": ({"en": "A small tube of blood at the first and last visits.",
                     "es": "Un tubo pequeño de sangre en la primera y la última visita."},),
    }
    fields.update(changes)
    return consent.Study(**fields)  # type: ignore[arg-type]


def with_language(data: object, source: str, target: str) -> object:
    """Clinic data (as loaded from YAML) where every per-language text in ``source`` is also given in
    ``target``."""
    if isinstance(data, dict):
        out = {k: with_language(v, source, target) for k, v in data.items()}
        if source in data and isinstance(data[source], str):
            out[target] = data[source]
        return out
    if isinstance(data, list):
        return [with_language(v, source, target) for v in data]
    return data


def pdf_pages(data: bytes) -> list[str]:
    """The text of each PDF page, as pypdf extracts it."""
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def _header_runs(page: pypdf.PageObject) -> list[tuple[float, float, str]]:
    """(-y, x, text) of the text drawn in a page's top margin (templates/form.css: 0.72in)."""
    top = float(page.mediabox.height) - 0.72 * 72
    runs: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, _font, _size):  # type: ignore[no-untyped-def]
        x, y = tm[4] * cm[0] + tm[5] * cm[2] + cm[4], tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        if text.strip() and y > top:
            runs.append((-round(y, 1), x, text.strip()))

    page.extract_text(visitor_text=visit)
    return runs


def pdf_header_lines(data: bytes) -> list[list[str]]:
    """The lines of each page's running header, top to bottom, each line's runs left to right, as drawn
    (no-break spaces kept)."""
    out: list[list[str]] = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        lines: dict[float, list[tuple[float, str]]] = {}
        for y, x, text in sorted(_header_runs(page)):
            lines.setdefault(y, []).append((x, text))
        out.append([" ".join(t for _, t in sorted(line)) for line in lines.values()])
    return out


def docx_document(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def docx_body_lines(data: bytes) -> list[str]:
    """Paragraph and table-cell texts of the DOCX body, in document order."""
    document = docx_document(data)
    out: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.append(docx.text.paragraph.Paragraph(child, document).text)
        elif tag == "tbl":
            table = docx.table.Table(child, document)
            for row in table.rows:
                seen: list[object] = []
                for cell in row.cells:
                    if cell._tc in seen:  # merged cells repeat
                        continue
                    seen.append(cell._tc)
                    out.append(cell.text)
    return out


def docx_all_text(data: bytes) -> str:
    """Body plus header and footer text of the DOCX."""
    document = docx_document(data)
    parts = docx_body_lines(data)
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def all_output_text(out: Path) -> str:
    """Everything a command wrote below ``out``, as text: the text of each PDF and DOCX and their raw
    bytes (metadata, attachments, XML parts), and every other file as it is (JSON, CSV, manifest)."""
    parts = []
    for path in sorted(out.rglob("*")):
        if path.suffix == ".pdf":
            parts += pdf_pages(path.read_bytes())
            parts.append(path.read_bytes().decode("latin-1"))
        elif path.suffix == ".docx":
            parts.append(docx_all_text(path.read_bytes()))
            parts.append(path.read_bytes().decode("latin-1"))
        elif path.is_file():
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


# The statutory notices, word for word as the laws give them (California: Business and Professions Code
# section 684; Utah: Code section 58-1-512; the clauses cite them in clauses/state-notice-ca.yaml and -ut.yaml).
CA = ("THIS NOTICE MUST BE PROVIDED TO YOU UNDER CALIFORNIA LAW. This health care practitioner performs one or "
      "more stem cell therapies that have not been approved by the United States Food and Drug Administration. "
      "You are encouraged to consult with your primary care physician prior to undergoing a stem cell therapy.")
UT = ("THIS NOTICE MUST BE PROVIDED TO YOU UNDER UTAH LAW. This health care practitioner performs one or more "
      "stem cell therapies that have not yet been approved by the United States Food and Drug Administration. "
      "You are encouraged to consult with your primary care provider before undergoing a stem cell therapy.")


_MARKS = re.compile(r"[☐☒•\t]")


def words(text: str) -> list[str]:
    """Words of a text with checkbox glyphs, list bullets and spacing differences removed."""
    return _MARKS.sub(" ", unicodedata.normalize("NFKC", text)).split()


def page_furniture(form: consent.Form) -> list[re.Pattern[str]]:
    """What the header and footer print on every page: clinic, patient and birth date, form id, page N of M."""
    h, L = form.header, form.labels
    return [
        re.compile(re.escape(" ".join(words(h.clinic_name)))),
        re.compile(re.escape(" ".join(words(f"{h.patient_name} · {L['header_date_of_birth']} {h.birth_date}")))),
        re.compile(re.escape(f"{L['form_id']} {form.form_id} · {L['version']} {form.manifest.template_version}")),
        re.compile(re.escape(L["page"]) + r" \d+ " + re.escape(L["page_of"]) + r" \d+"),
    ]


def pdf_body_words(form: consent.Form, data: bytes) -> list[str]:
    """Words of the PDF body: all pages' text minus the page header and footer of each page (each of
    which must be there, once, on every page)."""
    out: list[str] = []
    for page in pdf_pages(data):
        text = " ".join(words(page))
        for pattern in page_furniture(form):
            found = list(pattern.finditer(text))
            assert found, f"{pattern.pattern!r} missing on a page: {text[-300:]!r}"
            last = found[-1]  # the page furniture is drawn after the page's own text
            text = text[: last.start()] + " " + text[last.end():]
        out += text.split()
    return out


def table_headers(form: consent.Form) -> list[str]:
    """Header rows of the checklist and fee tables: a PDF repeats them on every page a table runs onto."""
    L = form.labels
    return [f"{L['checklist_question']} {L['yes']} {L['no']}", f"{L['fee_item']} {L['fee_amount']}"]


def build_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a small file tree (copier's helper): path -> dedented text."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def clause_pack(root: Path, text: str) -> Path:
    """A pack whose "benefits" clause (version 9) is one paragraph of ``text``."""
    return build_tree(root, {"clauses/benefits.yaml": f"""
        id: benefits
        version: "9"
        title: Benefits
        elements: [benefits]
        body:
          - p: {json.dumps(text)}
    """})


def paragraph_docx_pack(root: Path, body: str) -> Path:
    """A pack (made or added to) whose templates/form.docx is the stock one with one more paragraph, first in
    the body, holding ``body`` (Jinja for docxtpl, or plain text)."""
    from consent.library.loader import builtin_root

    src = zipfile.ZipFile(builtin_root() / "templates" / "form.docx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                paragraph = b"<w:p><w:r><w:t>" + body.encode() + b"</w:t></w:r></w:p>"
                data = data.replace(b"<w:body>", b"<w:body>" + paragraph, 1)
            dst.writestr(info, data)
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "form.docx").write_bytes(out.getvalue())
    return root


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``consent ARGV...`` run in this process: its exit code, stdout and stderr."""
    from consent.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def field_name(widget: Any) -> str:
    """A PDF widget's field's full name (``patient.date``): the /T of the widget and of each parent."""
    parts = []
    node = widget
    while node is not None:
        if "/T" in node:
            parts.append(str(node.T))
        node = node.get("/Parent")
    return ".".join(reversed(parts))
