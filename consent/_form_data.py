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
import math
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.strategies import configure_tagged_union

from . import _limits
from .document import OMIT_IF_DEFAULT, Block, Form, Manifest, Notice, Paragraph
from .errors import InputError, Problem
from .inputs.language_assistance import LANGUAGE_TAG
from .inputs.majority import MAX_AGE, MIN_AGE
from .inputs.types import US_STATES

PDF_ATTACHMENT = "consent-form.json"
MANIFEST_ATTACHMENT = "consent-manifest.json"
DOCX_PROPERTY = "consent.form"
FORMAT = "consent-form-data"
FORMAT_VERSION = 1
MAX_FORM_DATA_BYTES = _limits.MAX_FORM_DATA_BYTES  # the embedded JSON of a form is some 40 KB


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
    # A field added later (the manifest's ``minor``, a notice's ``language``, a paragraph's ``lang``) is
    # written only when it is set: a form without it has the data, and so the bytes, it had before. (Before
    # the union below, which takes the hook of each kind of block when it is made.)
    for cls in (Manifest, Notice, Paragraph):
        late = {f.name: override(omit_if_default=True) for f in attrs.fields(cls)
                if f.metadata.get(OMIT_IF_DEFAULT)}
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **late))
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
    """The embedded data back as a :class:`FormData`; ValueError with a reason when it is not ours or damaged,
    and an InputError (a ValueError) listing every value that fails the checks of :func:`form_data_problems`:
    the data comes from a file anyone can make, and is checked as a clinic's or a patient's file is."""
    if len(text) > MAX_FORM_DATA_BYTES:  # JSON of many MB costs many times that in memory once parsed
        raise ValueError(f"the form data is {len(text):,} bytes; the limit is {MAX_FORM_DATA_BYTES:,} bytes")
    try:
        raw = _limits.load_json(text)  # within MAX_NESTING: a deep array is an error, not a RecursionError
    except _limits.LimitExceeded as exc:
        raise ValueError(f"the form data is refused: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the form data is not JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError("the attached data is not consent form data")
    if raw.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"form data version {raw.get('format_version')!r} is not supported by this version "
                         f"(it reads version {FORMAT_VERSION})")
    blocks = block_count(raw.get("document"))  # before the form is built: rendering time grows with them
    if blocks > _limits.MAX_FORM_BLOCKS:
        raise ValueError(f"the form data has {blocks:,} blocks (sections, paragraphs, list items, table "
                         f"rows); the limit is {_limits.MAX_FORM_BLOCKS:,}")
    body = {k: v for k, v in raw.items() if k not in ("format", "format_version", "manifest", "form")}
    try:
        data = _CONVERTER.structure(body, FormData)
    except Exception as exc:  # cattrs raises ExceptionGroups with every field that is wrong
        raise ValueError(f"the form data is damaged ({_reason(exc)})") from None
    if raw.get("manifest") != data.document.manifest_dict():
        raise ValueError("the form data is damaged (its manifest does not match its form)")
    problems = form_data_problems(data)
    if problems:
        raise InputError(f"the form data is refused: {len(problems)} value(s) a consent form cannot hold",
                         problems=problems)
    return data


def block_count(document: Any) -> int:
    """The blocks of text of a form's document as JSON (MAX_FORM_BLOCKS): each section, each block in it, and
    each item of a list a block holds (list items, table rows, signature parties). Counted on the plain
    data, whatever its shape, so that a form of 30,000 paragraphs is refused before it is built."""
    sections = document.get("sections") if isinstance(document, dict) else None
    count = 0
    for section in sections if isinstance(sections, list) else ():
        count += 1
        blocks = section.get("blocks") if isinstance(section, dict) else None
        for block in blocks if isinstance(blocks, list) else ():
            count += 1
            if isinstance(block, dict):
                count += sum(len(value) for value in block.values() if isinstance(value, list))
    return count


# --------------------------------------------------------------------------- checking it

_FORM_ID = re.compile(r"CF-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}")
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # a treatment, clause, screening question or section kind
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]{2,8})*")
_ROLES = ("patient", "representative", "witness", "provider")
RENDER_OPTIONS: Mapping[str, tuple[Any, ...]] = {
    "pdf_variant": (None, "pdf/a-3a", "pdf/a-3u", "pdf/a-3b"),
    "fillable": (False, True),
    "esign": (None, "docusign", "adobe"),
}
# Labels the renderers read in Python (consent/docx/render.py); form.html's are Jinja's to report.
RENDER_LABELS = ("initials", "notice_citation", "notice_paraphrase", "notice_own_page", "fee_none")
# The printed facts, checked as the patient's and the clinic's files are (limits, the patient's on one line).
_HEADER_FIELDS = {
    "patient_name": "patient.full_name", "birth_date": "patient.birth_date", "mrn": "patient.mrn",
    "clinic_name": "clinic.name", "clinic_address": "clinic.address", "clinic_phone": "clinic.phone",
}
# Text that may run over lines and be long: what the clauses and labels print.
_PROSE = ("form.document.sections", "form.document.labels", "form.document.title")


def form_data_problems(data: FormData) -> list[Problem]:
    """Every value of embedded form data that a form consent made cannot hold. The data is read from a file
    anyone can make, so each value is checked as an input is: text as a clinic file's (no control
    characters, unpaired surrogates or noncharacters; the patient's and the clinic's fields within their
    limits, the patient's on one line); ids and codes by their patterns (a treatment id and the form id
    also name the files written); type sizes, screening ids and signature roles as the library makes
    them; the render options among those that exist; and the labels the renderers print present."""
    return [*_text_problems(data), *_code_problems(data), *_block_problems(data.document),
            *_render_problems(data)]


def _problem(field: str, message: str) -> Problem:
    return Problem(f"{field} {message}", field=field)


def _text_problems(data: FormData) -> Iterator[Problem]:
    header = data.document.header
    for name, field in _HEADER_FIELDS.items():
        value = getattr(header, name)
        if value is not None and (problem := _limits.text_problem(value, field)) is not None:
            yield problem
    for field, value in _limits.strings(data, "form", key_chars=64):
        if field.startswith("form.document.header."):
            continue  # checked above, by the patient's and the clinic's limits
        prose = field.startswith(_PROSE)
        limit = _limits.MAX_TEMPLATE_CHARS if prose else _limits.MAX_TEXT_CHARS
        if len(value) > limit:
            yield _problem(field, f"is {len(value):,} characters long; the limit is {limit:,}")
        elif (found := _limits.bad_character(value, single_line=not prose)) is not None:
            position, what = found
            yield _problem(field, f"contains {what} at position {position + 1}")


def _pattern(field: str, value: object, regex: re.Pattern[str], what: str) -> Iterator[Problem]:
    if not isinstance(value, str) or not regex.fullmatch(value):
        yield _problem(field, f"must be {what} (got {_shown(value)})")


def _code_problems(data: FormData) -> Iterator[Problem]:
    form, manifest = data.document, data.document.manifest
    language, clause = "a language code such as en or es", "a clause id such as risks"
    yield from _pattern("form_id", form.form_id, _FORM_ID, "a form id such as CF-1A2B-3C4D-5E6F")
    yield from _pattern("language", form.language, _LANGUAGE, language)
    yield from _pattern("manifest.language", manifest.language, _LANGUAGE, language)
    yield from _pattern("manifest.treatment_id", manifest.treatment_id, _ID,
                        "a treatment id such as knee-injection")
    if not _LOCALE.fullmatch(form.locale) or not _known_locale(form.locale):
        yield _problem("locale", f"must be a locale dates and amounts can be written in, such as en_US "
                                 f"(got {_shown(form.locale)})")
    versions = (("generator_version", data.generator_version), ("template_version", data.template_version),
                ("manifest.template_version", manifest.template_version))
    for field, value in versions:
        if len(value) > _limits.MAX_CODE_CHARS:
            yield _problem(field, f"is {len(value):,} characters long; the limit is {_limits.MAX_CODE_CHARS}")
    for i, ref in enumerate(manifest.clauses):
        yield from _pattern(f"manifest.clauses[{i}].id", ref.id, _ID, clause)
        yield from _pattern(f"manifest.clauses[{i}].language", ref.language, _LANGUAGE, language)
    if manifest.minor is not None:
        yield from _minor_problems(manifest.minor)
    missing = [key for key in RENDER_LABELS if key not in form.labels]
    if missing:
        yield _problem("labels", f"lack {', '.join(missing)}, which the form prints")


def _minor_problems(minor: Any) -> Iterator[Problem]:
    """A minor's record as consent/inputs/majority.py makes it: an age of majority it allows, a state's code and
    whether there is an assent line."""
    age = minor.age_of_majority
    if type(age) is not int or not MIN_AGE <= age <= MAX_AGE:
        yield _problem("manifest.minor.age_of_majority",
                       f"must be a whole number from {MIN_AGE} to {MAX_AGE} (got {_shown(age)})")
    if minor.state not in US_STATES:
        yield _problem("manifest.minor.state",
                       f"must be a US state code such as TX (got {_shown(minor.state)})")
    if type(minor.assent) is not bool:
        yield _problem("manifest.minor.assent", f"must be true or false (got {_shown(minor.assent)})")


def _block_problems(form: Form) -> Iterator[Problem]:
    for si, section in enumerate(form.sections):
        at = f"sections[{si}]"
        yield from _pattern(f"{at}.clause_id", section.clause_id, _ID, "a clause id such as risks")
        yield from _pattern(f"{at}.kind", section.kind, _ID, "a kind of section such as clause")
        for bi, block in enumerate(section.blocks):
            where = f"{at}.blocks[{bi}]"
            if isinstance(block, Notice) and block.language is not None:
                yield from _pattern(f"{where}.language", block.language, _LANGUAGE,
                                    "a language code such as en or es")
            size = getattr(block, "type_pt", None)
            if size is not None and not (math.isfinite(size) and 6 <= size <= 200):
                yield _problem(f"{where}.type_pt",
                               f"must be a type size from 6 to 200 points (got {_shown(size)})")
            lang = getattr(block, "lang", None)
            if lang is not None:
                yield from _pattern(f"{where}.lang", lang, LANGUAGE_TAG, "a language tag such as es or zh-Hant")
            if block.kind == "checklist":
                for ri, row in enumerate(block.rows):
                    yield from _pattern(f"{where}.rows[{ri}].id", row.id, _ID, "a screening question id")
            for pi, party in enumerate(getattr(block, "parties", ())):
                if party.role not in _ROLES:
                    yield _problem(f"{where}.parties[{pi}].role",
                                   f"must be one of {', '.join(_ROLES)} (got {_shown(party.role)})")


def _render_problems(data: FormData) -> Iterator[Problem]:
    for key, value in data.render.items():
        allowed = RENDER_OPTIONS.get(key)
        if allowed is None:
            yield _problem(f"render.{key}", f"is not a render option (options: {', '.join(RENDER_OPTIONS)})")
        elif not any(type(value) is type(choice) and value == choice for choice in allowed):
            yield _problem(f"render.{key}",
                           f"must be one of {', '.join(map(_shown, allowed))} (got {_shown(value)})")


def _shown(value: object) -> str:
    """A value for a message: short, and with no character that could not be printed."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _known_locale(locale: str) -> bool:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


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
        raise InputError(f"{where}: the form data is {len(text):,} bytes; "
                         f"the limit is {MAX_FORM_DATA_BYTES:,} bytes")
    try:
        return parse_form_data(text)
    except InputError as exc:  # values the checks refuse: each of them listed
        raise InputError(f"{where}: {exc.summary}", problems=exc.problems,
                         hint="a form consent made holds none of these: the file was made or changed by "
                              "something else") from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _from_pdf(data: bytes) -> FormData:
    import pikepdf

    from ._pdf_bounds import check_pdf, qpdf_guard, stream_bytes

    where = f"the PDF's {PDF_ATTACHMENT}"
    try:
        check_pdf(data)  # every stream measured first: a compression bomb is refused before it is opened
        with qpdf_guard(), pikepdf.open(io.BytesIO(data)) as pdf:
            files = pdf.attachments
            names = set(files.keys())
            text = (stream_bytes(files[PDF_ATTACHMENT].obj.EF.F, MAX_FORM_DATA_BYTES,
                                 f"{where}: the form data is") if PDF_ATTACHMENT in names else None)
    except _limits.LimitExceeded as exc:
        raise InputError(str(exc)) from None
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, KeyError, AttributeError) as exc:
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
    from lxml import etree

    try:
        value = docx_property(data, DOCX_PROPERTY)
    except _limits.LimitExceeded as exc:
        raise InputError(str(exc)) from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError, RuntimeError,
            etree.XMLSyntaxError) as exc:
        raise InputError(f"the DOCX cannot be read ({type(exc).__name__})",
                         hint="the file is damaged or not a DOCX") from None
    if not isinstance(value, str):
        raise InputError(f"this DOCX has no consent form data (no custom property {DOCX_PROPERTY})",
                         hint="only DOCX files made by consent render or consent batch carry it")
    return _parse(value.encode(), f"the DOCX property {DOCX_PROPERTY}")


_CUSTOM_PROPERTIES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_PROPERTY = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"
_TEXT_TYPES = ("lpwstr", "lpstr", "bstr")


def docx_property(data: bytes, name: str) -> object:
    """The value of the DOCX's custom document property ``name`` (text; None when it has none; another kind
    of value as its type's name), read within the limits: the zip's directory is sized before it is read
    (MAX_DOCX_PARTS), the sizes its files say they have are added up (MAX_DECODED_BYTES), and only the two
    small parts that lead to the property are unzipped, each refused beyond its limit before it is
    decompressed and never read past it, and parsed with no entities expanded."""
    limit = _limits.DOCX_PART_FACTOR * MAX_FORM_DATA_BYTES
    _check_zip_directory(data)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = package.infolist()
        if len(members) > _limits.MAX_DOCX_PARTS:
            raise _limits.LimitExceeded(f"the DOCX holds {len(members):,} files; "
                                        f"the limit is {_limits.MAX_DOCX_PARTS:,}")
        unzipped = sum(member.file_size for member in members)  # as the zip says: each read is capped too
        if unzipped > _limits.MAX_DECODED_BYTES:
            raise _limits.LimitExceeded(f"the DOCX's files are {unzipped:,} bytes once unzipped (a zip "
                                        f"bomb?); the limit is {_limits.MAX_DECODED_BYTES:,} bytes")
        rels = _xml(_zip_read(package, "_rels/.rels", limit))
        targets = [rel.get("Target") or "" for rel in rels.iter(_RELATIONSHIPS)
                   if rel.get("Type") == _CUSTOM_PROPERTIES]
        if not targets:
            return None
        properties = _xml(_zip_read(package, targets[0].lstrip("/"), limit))
    for prop in properties.iter(_PROPERTY):
        if (prop.get("name") or "").lower() == name.lower():  # as Word (and docxcompose) match it
            value = prop[0] if len(prop) else None
            if value is None:
                return None
            kind = str(value.tag).rpartition("}")[2]
            return (value.text or "") if kind in _TEXT_TYPES else kind
    return None


def _check_zip_directory(data: bytes) -> None:
    """Refuse a zip whose central directory is too large for MAX_DOCX_PARTS files (at most 1 KiB each),
    before Python's zipfile reads it into an object per file."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if end < 0 or len(data) < end + 22:
        return  # not a zip: zipfile says so
    size = int.from_bytes(data[end + 12:end + 16], "little")
    zip64 = end - 20 - 56
    if size == 0xFFFFFFFF and zip64 >= 0 and data[zip64:zip64 + 4] == b"PK\x06\x06":
        size = int.from_bytes(data[zip64 + 40:zip64 + 48], "little")
    if size > _limits.MAX_DOCX_PARTS * 1024:
        raise _limits.LimitExceeded(f"the DOCX's list of files is {size:,} bytes, room for more than "
                                    f"{_limits.MAX_DOCX_PARTS:,} files; the limit is "
                                    f"{_limits.MAX_DOCX_PARTS:,} files")


def _zip_read(package: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One member, refused when it says it is larger than ``limit`` and never read past ``limit`` + 1."""
    info = package.getinfo(name)
    if info.file_size > limit:
        raise _limits.LimitExceeded(f"the DOCX part {name} is {info.file_size:,} bytes once unzipped; "
                                    f"the limit is {limit:,} bytes")
    with package.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise _limits.LimitExceeded(f"the DOCX part {name} is more than {limit:,} bytes once unzipped; "
                                    f"the limit is {limit:,} bytes")
    return data


def _xml(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser=parser)


def packs_given(named: Sequence[str], packs: Sequence[str | Path] | None, *, by: str, when: str) -> tuple[str, ...]:
    """The clinic pack folders to lay a form read back out with: only those the caller gives (resolved),
    never the folders the file names, since anyone can make a PDF that names a folder of theirs and a
    pack's templates run when the form is laid out. ``by`` and ``when`` word the error: a form that names
    packs needs them given."""
    given = tuple(str(Path(p).resolve()) for p in packs or ())
    if named and not given:
        raise InputError(f"the form names clinic pack folders: {', '.join(named)}; {by} only the packs it is given",
                         hint="give the clinic's pack folders with --pack (packs=[...]), if they are the "
                              f"clinic's own: a pack's templates run when the form is {when}")
    missing = [p for p in given if not Path(p).is_dir()]
    if missing:
        raise InputError(f"the pack folder given is not here: {missing[0]}",
                         hint="give the clinic's pack folders with --pack")
    return given
