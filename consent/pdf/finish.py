"""What every PDF that WeasyPrint writes for consent gets before it is written: WeasyPrint calls
:func:`finish` (its ``finisher``) with the PDF's objects, after it made them and before it writes them.
Below both PDF paths (:mod:`consent.pdf.html`, a whole form and a shared layout's layer, and
:mod:`consent.speedups.layers`, the shared body).

- **Font subset tags from the subset.** WeasyPrint names a font subset ``XXXXXX+Family`` after the font
  it was cut from (a hash of its Pango description: family, weight, style), whatever glyphs it holds.
  A shared-layout PDF (``consent render``, a batch) draws two WeasyPrint documents, the body the forms
  share and the form's own layer (see :mod:`consent.speedups.layers`), each with its own subset of Noto
  Sans, and both subsets were ``YVXNRX+Consent-Sans``. ISO 32000-1, 9.6.4, asks distinct subsets to
  have distinct tags. The tag here is made from a SHA-256 of the font program as embedded (the subset
  itself) and its name: two subsets with other glyphs get other tags, the same subset the same tag,
  and a form made again gets the same bytes.
- **Each associated file once in /AF.** For a PDF/A-3 WeasyPrint lists every embedded file twice in
  the catalog's /AF (once from the EmbeddedFiles name tree, once from the file specifications it
  finds among the objects); each is listed once, in the order first given.
- **The structure tree finished** (a tagged PDF): see :mod:`consent.pdf.tags`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .tags import finish_tags, identify_ua_in_pdf_a

SUBSET = re.compile(rb"/[A-Z]{6}\+")  # a subset's name: a tag of six upper-case letters, "+", the font's name
FONT_FILES = ("FontFile2", "FontFile3", "FontFile")


def finish(document: Any, pdf: Any, *, claim_ua: bool = True) -> None:
    """WeasyPrint's ``finisher``: ``pdf`` is its ``pydyf.PDF``, changed in place. ``claim_ua=False``: a
    PDF/A that is not to say it is PDF/UA (the archival copy of a signed form, whose filled-in values are
    drawn over the tagged pages)."""
    subset_tags(pdf.objects)
    associated_files_once(pdf)
    finish_tags(pdf)
    if claim_ua:
        identify_ua_in_pdf_a(pdf)


def subset_tag(name: bytes, program: bytes) -> bytes:
    """Six upper-case letters from a SHA-256 of the font's name and its embedded program."""
    digest = hashlib.sha256(name + b"\0" + program).digest()
    return bytes(65 + byte % 26 for byte in digest[:6])


def subset_tags(objects: list[Any]) -> None:
    """Every embedded subset renamed ``<tag of its data>+<name>``, in its font descriptor (/FontName) and
    its fonts (/BaseFont of the CIDFont and of the Type 0 font above it)."""
    renamed: dict[bytes, bytes] = {}
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("Type") != "/FontDescriptor":
            continue
        name = obj.get("FontName")
        reference = next((obj[key] for key in FONT_FILES if key in obj), None)
        if not isinstance(name, bytes) or not SUBSET.match(name) or not isinstance(reference, bytes):
            continue
        program = objects[int(reference.split()[0])]
        data = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in program.stream)
        base = name[8:]
        # One name in one document is one font file (WeasyPrint keeps a file per name): one new name.
        obj["FontName"] = renamed[name] = b"/" + subset_tag(base, data) + b"+" + base
    for obj in objects:
        if isinstance(obj, dict) and obj.get("Type") == "/Font" and obj.get("BaseFont") in renamed:
            obj["BaseFont"] = renamed[obj["BaseFont"]]


def associated_files_once(pdf: Any) -> None:
    """The catalog's /AF (a PDF/A-3's associated files) with each file specification once."""
    listed = pdf.catalog.get("AF")
    if listed:
        import pydyf

        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(listed))
