"""The form's data: the whole document model and how it was rendered, as JSON, embedded in every PDF and DOCX.

``consent rerender`` reads it back and makes the same form again. It is the :class:`~consent.document.Form`
itself (key ``document``: every string the patient reads, so a form made by an older version re-renders
from its own text), plus the render options that reached the PDF writer (the PDF variant, ...), the
package version and the template version. Structured back with cattrs; an unknown key is an error, not
silently dropped.

Where it is kept (names are part of the format, see the README "Re-rendering a form"):

- PDF: the embedded file ``consent-form.json`` (in a PDF/A-3 an associated file, relationship Data), next
  to ``consent-manifest.json`` (the manifest alone, as before);
- DOCX: the custom document property ``consent.form`` (docProps/custom.xml), next to ``consent.manifest``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from cattrs.strategies import configure_tagged_union

from .document import Block, Form
from .errors import InputError

PDF_ATTACHMENT = "consent-form.json"
MANIFEST_ATTACHMENT = "consent-manifest.json"
DOCX_PROPERTY = "consent.form"
FORMAT = "consent-form-data"
FORMAT_VERSION = 1
MAX_FORM_DATA_BYTES = 16 * 1024 * 1024  # the embedded JSON of a form is some 40 KB


@attrs.frozen
class FormData:
    """What is embedded: the form, how its PDF was rendered, and by which versions."""

    document: Form
    generator_version: str  # the consent package that made it
    template_version: str  # templates/VERSION of the layout it was made with
    render: Mapping[str, Any] = attrs.field(factory=dict)  # options of the PDF: pdf_variant, ...


def _converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook(dt.date, lambda value, _: dt.date.fromisoformat(value))
    # The kind of a block is a ClassVar (attrs leaves it out): it is written as the block's "kind" key.
    configure_tagged_union(Block, conv, tag_generator=lambda cls: cls.kind, tag_name="kind")
    return conv


_CONVERTER = _converter()


def form_data_dict(form: Form, generator_version: str, render: Mapping[str, Any]) -> dict[str, Any]:
    """The embedded data as plain JSON-ready data: the manifest and the form's facts (for people and
    scripts), and the document model with its render options (for ``rerender``)."""
    data = FormData(form, generator_version, form.manifest.template_version, dict(render))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "manifest": form.manifest_dict(),
        "form": form_facts(form),  # the facts printed on it (what consent-form.json of a PDF/A always had)
        **_CONVERTER.unstructure(data),
    }


def form_data_json(form: Form, generator_version: str, render: Mapping[str, Any], *,
                   indent: int | None = None) -> str:
    return json.dumps(form_data_dict(form, generator_version, render), ensure_ascii=False, sort_keys=True,
                      indent=indent)


def parse_form_data(text: str | bytes) -> FormData:
    """The embedded data back as a :class:`FormData`; ValueError with a reason when it is not ours or damaged."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the form data is not JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError("the attached data is not consent form data")
    if raw.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"form data version {raw.get('format_version')!r} is not supported by this version "
                         f"(it reads version {FORMAT_VERSION})")
    body = {k: v for k, v in raw.items() if k not in ("format", "format_version", "manifest", "form")}
    try:
        data = _CONVERTER.structure(body, FormData)
    except Exception as exc:  # cattrs raises ExceptionGroups with every field that is wrong
        raise ValueError(f"the form data is damaged ({_reason(exc)})") from None
    if raw.get("manifest") != data.document.manifest_dict():
        raise ValueError("the form data is damaged (its manifest does not match its form)")
    return data


def _reason(exc: BaseException) -> str:
    from cattrs.v import transform_error

    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(transform_error(exc)[:3])
    return str(exc) or type(exc).__name__


def form_facts(form: Form) -> dict[str, Any]:
    """The facts printed on the form, as data (for a person or a script reading the attachment)."""
    h = form.header
    return {
        "form_id": form.form_id,
        "title": form.title,
        "date": form.date.isoformat(),
        "language": form.language,
        "patient": {"full_name": h.patient_name, "birth_date": h.birth_date, "mrn": h.mrn},
        "clinic": {"name": h.clinic_name, "address": h.clinic_address, "phone": h.clinic_phone},
        "sections": [{"id": s.clause_id, "version": s.version, "title": s.title} for s in form.sections],
    }


# --------------------------------------------------------------------------- reading it back


def read_form_data(data: bytes) -> tuple[FormData, str]:
    """The form data embedded in a consent PDF or DOCX, and which of the two it was; InputError otherwise."""
    if data.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return _from_pdf(data), "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _from_docx(data), "docx"
    raise InputError("this is not a PDF or a DOCX", hint="give a consent form made by consent render or batch")


def _parse(text: bytes, where: str) -> FormData:
    if len(text) > MAX_FORM_DATA_BYTES:
        raise InputError(f"the form data in {where} is {len(text):,} bytes; the limit is {MAX_FORM_DATA_BYTES:,}")
    try:
        return parse_form_data(text)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _from_pdf(data: bytes) -> FormData:
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            files = pdf.attachments
            names = set(files.keys())
            text = files[PDF_ATTACHMENT].get_file().read_bytes() if PDF_ATTACHMENT in names else None
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, KeyError) as exc:
        raise InputError(f"the PDF cannot be read ({type(exc).__name__})",
                         hint="the file is damaged or not a PDF") from None
    if text is None:
        if MANIFEST_ATTACHMENT in names:
            raise InputError("this consent PDF was made by an older version that did not embed the form's data",
                             hint="its data cannot be read back; make it again with consent render")
        raise InputError(f"this PDF has no consent form data (no {PDF_ATTACHMENT} attached)",
                         hint="only PDFs made by consent render or consent batch carry it")
    return _parse(text, f"the PDF's {PDF_ATTACHMENT}")


def _from_docx(data: bytes) -> FormData:
    from docx import Document
    from docxcompose.properties import CustomProperties

    try:
        with zipfile.ZipFile(io.BytesIO(data)):
            pass
        value = CustomProperties(Document(io.BytesIO(data))).get(DOCX_PROPERTY)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"the DOCX cannot be read ({type(exc).__name__})",
                         hint="the file is damaged or not a DOCX") from None
    if not isinstance(value, str):
        raise InputError(f"this DOCX has no consent form data (no custom property {DOCX_PROPERTY})",
                         hint="only DOCX files made by consent render or consent batch carry it")
    return _parse(value.encode(), f"the DOCX property {DOCX_PROPERTY}")
