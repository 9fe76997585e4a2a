"""A clinic's Word template may not make the patient's copy reach out: no external links, no field codes
that read files or run programs.

A DOCX can make Word fetch or run things when it is opened: a relationship with
``TargetMode="External"`` (a linked picture, an attached template, a linked OLE object: a web request
that tells a third party the form was opened, or a file read on the patient's machine), and field codes
such as INCLUDETEXT, INCLUDEPICTURE, LINK, IMPORT and DDE/DDEAUTO (which read files or start programs).
The stock template has none of these; a pack's ``templates/form.docx`` that has any is refused before a
form is made. Plain hyperlinks (clicked, never fetched) are allowed.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from ..errors import ContentError, Problem

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
# Field instructions that fetch, read or run something when Word updates the fields.
_DANGEROUS_FIELDS = re.compile(
    r"\b(INCLUDETEXT|INCLUDEPICTURE|INCLUDE|IMPORT|LINK|DDEAUTO|DDE|AUTOTEXTLIST)\b", re.IGNORECASE
)
_SAFE_LINK = re.compile(r"^(https?:|mailto:|tel:)", re.IGNORECASE)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _field_codes(xml: bytes) -> list[str]:
    """The instructions of every field in one part (``w:fldSimple`` and ``w:instrText`` runs, joined per
    field, so a code split over several runs is still seen)."""
    root = etree.fromstring(xml, _PARSER)
    codes = [el.get(f"{{{_W}}}instr", "") for el in root.iter(f"{{{_W}}}fldSimple")]
    current: list[str] = []
    for el in root.iter(f"{{{_W}}}fldChar", f"{{{_W}}}instrText"):
        if el.tag == f"{{{_W}}}instrText":
            current.append(el.text or "")
        elif el.get(f"{{{_W}}}fldCharType") in ("separate", "end") and current:
            codes.append("".join(current))
            current = []
    if current:
        codes.append("".join(current))
    return codes


def _relationship_problems(name: str, xml: bytes) -> Iterator[str]:
    for rel in etree.fromstring(xml, _PARSER).iter(f"{{{_REL_NS}}}Relationship"):
        external = (rel.get("TargetMode") or "").lower() == "external"
        link = rel.get("Type") == _HYPERLINK and _SAFE_LINK.match(rel.get("Target") or "")
        if external and not link:
            kind = rel.get("Type", "").rsplit("/", 1)[-1] or "link"
            target = rel.get("Target")
            yield f"{name}: an external {kind} ({target!r}) would be fetched when the form is opened"


def _field_problems(name: str, xml: bytes) -> Iterator[str]:
    for code in _field_codes(xml):
        found = _DANGEROUS_FIELDS.search(code)
        if found:
            yield (f"{name}: the field {found.group(1).upper()} reads files or runs programs when Word "
                   f"updates it ({code.strip()[:80]!r})")


def template_problems(data: bytes, path: Path | str) -> list[Problem]:
    """Every external relationship and dangerous field code in a DOCX template."""
    where = str(path)
    messages: list[str] = []
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return [Problem("is not a Word document (not a zip file)", path=where)]
    with package:
        for name in package.namelist():
            try:
                if name.endswith(".rels"):
                    messages += _relationship_problems(name, package.read(name))
                elif name.startswith("word/") and name.endswith(".xml"):
                    messages += _field_problems(name, package.read(name))
            except etree.XMLSyntaxError as exc:
                messages.append(f"{name}: not well-formed XML ({exc})")
            except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
                messages.append(f"{name}: cannot be read ({exc})")
    return [Problem(m, path=where) for m in messages]


def check_template(data: bytes, path: Path | str) -> None:
    problems = template_problems(data, path)
    if problems:
        raise ContentError(f"{path}: the Word template is refused", problems=problems,
                           hint="remove linked pictures, attached templates and INCLUDE/LINK/DDE fields")
