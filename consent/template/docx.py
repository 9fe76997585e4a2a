"""Template export, DOCX: Word ``MERGEFIELD`` fields where the patient's values go, content controls where
the form is signed and dated.

The tokenised form (see :mod:`consent.template.form`) is rendered by the ordinary DOCX renderer, with one
more token in each empty signature-table cell. Each token's run is then split: the text around it stays
as it was (same run properties), and the token becomes a complex field (``fldChar`` begin, ``instrText``
`` MERGEFIELD Name \\* MERGEFORMAT ``, separate, ``«Name»``, end), or a content control (``w:sdt``) tagged
with the place's name from the fillable PDF's field names (``patient.signature``, ``witness.date``, ...).
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from xml.sax.saxutils import escape as xml_escape

import attrs
from docx.oxml.ns import qn
from lxml import etree

from .._form_data import DOCX_PROPERTY, form_data_json
from .._text import long_date
from .._version import __version__
from ..document import Form, Signatures
from ..docx.package import zip_parts
from ..speedups.render import render_docx
from ..errors import RenderError
from ..speedups.tokens import TOKEN_MARK, TOKENS
from .form import DATE_TOKEN, PATIENT_TOKENS, TemplateForm

SLOT = "QxCONSENTxSLOT{}xQ"
_TOKEN = re.compile(r"(QxCONSENTx[A-Z0-9]+xQ)")
_XML_PART = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")
_CUSTOM = "docProps/custom.xml"
_KINDS = ("name", "relationship", "signature", "date", "time")


def merge_docx(made: TemplateForm) -> bytes:
    """The DOCX template of ``made``: merge fields for the patient's values and the form date, content
    controls for each signature, date and time to be filled in."""
    token_form, places = _with_slots(made.tokens)
    with zipfile.ZipFile(io.BytesIO(render_docx(token_form))) as package:
        parts = {info.filename: package.read(info.filename) for info in package.infolist()}
    shown = long_date(made.form.date, made.form.locale).encode()
    form_id = made.form.form_id.encode()
    fields = _fields(made)
    for name, rendered in parts.items():
        data = rendered.replace(TOKENS["id"].encode(), form_id)  # the template's own id, as in its properties
        if _XML_PART.match(name):
            data = data.replace(shown, DATE_TOKEN.encode())  # the form date in the header
            if TOKEN_MARK.encode() in data:
                data = _with_fields(data, fields, places)
        elif name == _CUSTOM:  # the embedded form data (consent rerender): the placeholder form's own
            data = _own_form_data(data, made.form)
        if TOKEN_MARK.encode() in data:
            raise RenderError(f"the DOCX template has a merge-field mark left in {name}",
                              hint="report this: a value is printed in a way the export does not know")
        parts[name] = data
    return zip_parts(parts)


_FORM_PROPERTY = re.compile(rb'(name="' + re.escape(DOCX_PROPERTY.encode()) + rb'"[^>]*><vt:lpwstr>)(.*?)(</vt:lpwstr>)',
                            re.S)


def _own_form_data(xml: bytes, form: Form) -> bytes:
    """docProps/custom.xml with the data of the template's own (placeholder) form as its form data,
    where the form rendered for the template put the data of its tokenised twin."""
    own = xml_escape(form_data_json(form, __version__, {"esign": None})).encode()
    out, count = _FORM_PROPERTY.subn(lambda m: m.group(1) + own + m.group(3), xml)
    if count != 1:
        raise RenderError(f"form.docx: no single {DOCX_PROPERTY} property in {_CUSTOM}")
    return out


def _fields(made: TemplateForm) -> dict[str, tuple[str, ...]]:
    """Token -> the merge field(s) written in its place (the name may be two: first and last)."""
    profile = made.profile
    out: dict[str, tuple[str, ...]] = {token: (profile.field(key),)
           for token, key in PATIENT_TOKENS.items() if key != "patient.full_name"}
    out[TOKENS["name"]] = profile.name_fields()
    return out


def _with_slots(form: Form) -> tuple[Form, dict[str, tuple[str, str]]]:
    """The form with a slot token in every empty signature-table value, and each slot's (tag, label)."""
    kinds = {form.labels[f"sig_{kind}"]: kind for kind in _KINDS}
    places: dict[str, tuple[str, str]] = {}

    def fill(role: str, label: str, value: str) -> str:
        if value:
            return value
        token = SLOT.format(len(places))
        places[token] = (f"{role}.{kinds.get(label, 'text')}", label)
        return token

    sections = tuple(
        attrs.evolve(section, blocks=tuple(
            attrs.evolve(block, parties=tuple(
                attrs.evolve(p, fields=tuple((label, fill(p.role, label, v)) for label, v in p.fields))
                for p in block.parties
            )) if isinstance(block, Signatures) else block
            for block in section.blocks
        ))
        for section in form.sections
    )
    return attrs.evolve(form, sections=sections), places


def _with_fields(xml: bytes, fields: dict[str, tuple[str, ...]], places: dict[str, tuple[str, str]]) -> bytes:
    root = etree.fromstring(xml)
    for text in list(root.iter(qn("w:t"))):
        if text.text and _TOKEN.search(text.text):
            run = text.getparent()
            if run is None or run.tag != qn("w:r"):
                raise RenderError("the DOCX template has a merge-field mark outside a text run")
            _split(run, fields, places)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _split(run: etree._Element, fields: dict[str, tuple[str, ...]],
           places: dict[str, tuple[str, str]]) -> None:
    """Replace ``run`` by runs of its own text and, at each token, a merge field or a content control."""
    props = run.find(qn("w:rPr"))
    out: list[etree._Element] = []
    current: etree._Element | None = None
    for child in list(run):
        if child is props:
            continue
        if child.tag != qn("w:t") or not _TOKEN.search(child.text or ""):
            if current is None:
                current = _run(props)
                out.append(current)
            current.append(child)
            continue
        for piece in _TOKEN.split(child.text or ""):
            if piece in fields:
                for i, name in enumerate(fields[piece]):
                    if i:
                        out.append(_text_run(props, " "))
                    out += _merge_field(props, name)
                current = None
            elif piece in places:
                out.append(_content_control(props, *places[piece]))
                current = None
            elif piece:
                if current is None:
                    current = _run(props)
                    out.append(current)
                _add_text(current, piece)
    parent = run.getparent()
    assert parent is not None
    at = parent.index(run)
    parent.remove(run)
    for i, element in enumerate(out):
        parent.insert(at + i, element)


def _run(props: etree._Element | None) -> etree._Element:
    run = etree.Element(qn("w:r"))
    if props is not None:
        run.append(copy.deepcopy(props))
    return run


def _add_text(run: etree._Element, text: str) -> None:
    t = etree.SubElement(run, qn("w:t"))
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _text_run(props: etree._Element | None, text: str) -> etree._Element:
    run = _run(props)
    _add_text(run, text)
    return run


def _merge_field(props: etree._Element | None, name: str) -> list[etree._Element]:
    """A complex MERGEFIELD field showing «name» until it is merged."""
    begin, instr, separate, shown, end = (_run(props) for _ in range(5))
    etree.SubElement(begin, qn("w:fldChar")).set(qn("w:fldCharType"), "begin")
    code = etree.SubElement(instr, qn("w:instrText"))
    code.text = f" MERGEFIELD {name} \\* MERGEFORMAT "
    code.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    etree.SubElement(separate, qn("w:fldChar")).set(qn("w:fldCharType"), "separate")
    _add_text(shown, f"«{name}»")
    etree.SubElement(end, qn("w:fldChar")).set(qn("w:fldCharType"), "end")
    return [begin, instr, separate, shown, end]


def _content_control(props: etree._Element | None, tag: str, label: str) -> etree._Element:
    """A plain-text content control (a date picker for a date) tagged ``tag``, e.g. ``patient.signature``."""
    sdt = etree.Element(qn("w:sdt"))
    pr = etree.SubElement(sdt, qn("w:sdtPr"))
    etree.SubElement(pr, qn("w:alias")).set(qn("w:val"), label)
    etree.SubElement(pr, qn("w:tag")).set(qn("w:val"), tag)
    etree.SubElement(pr, qn("w:showingPlcHdr"))
    if tag.endswith(".date"):
        date = etree.SubElement(pr, qn("w:date"))
        etree.SubElement(date, qn("w:dateFormat")).set(qn("w:val"), "yyyy-MM-dd")
        etree.SubElement(date, qn("w:lid")).set(qn("w:val"), "en-US")
    else:
        etree.SubElement(pr, qn("w:text"))
    content = etree.SubElement(sdt, qn("w:sdtContent"))
    content.append(_text_run(props, " "))
    return sdt
