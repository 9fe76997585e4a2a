"""The DOCX of the forms of a batch, from one tokenised twin: rendered once, each form's own strings
and ticks put back into its XML. The same bytes as rendering the form on its own (consent/docx/render.py);
a form that cannot share is rendered on its own."""

from __future__ import annotations

import json
import re
from xml.sax.saxutils import escape as xml_escape

from .._esign import check_esign
from ..document import Form
from ..docx.package import zip_parts
from ..docx.render import BOX_CHECKED, BOX_EMPTY, render_parts, template_parts, with_form_data
from .disk_cache import docx_scope
from .tokens import TOKENS, SharedWork, box_marks, patient_values, tokenise

_DOCUMENT = "word/document.xml"
_EMPTY, _CHECKED = BOX_EMPTY.encode(), BOX_CHECKED.encode()


def shared_docx(form: Form, *, esign: str | None = None) -> bytes:
    """The DOCX of ``form``: its tokenised twin is rendered once (cached), then this form's own strings
    are put back into the XML (escaped for XML), and its screening boxes ticked. ``esign``
    ("docusign" or "adobe") adds that service's tags, in white, at the signature, date and initials
    lines (see consent/_esign.py)."""
    check_esign(esign)
    tokenised = tokenise(form)
    if tokenised is None:  # a token occurs in the real text: never risk a wrong substitution
        return zip_parts(render_parts(form, esign))
    token_form, key = tokenised
    parts = _PARTS.get(f"{key}-{esign}" if esign else key, token_form, esign)
    back = {TOKENS[k].encode(): xml_escape(v).encode() for k, v in patient_values(form).items()}
    back_pattern = re.compile(b"|".join(re.escape(t) for t in back))
    out = {name: back_pattern.sub(lambda m: back[m.group(0)], data) for name, data in parts.items()}
    marks = box_marks(form)
    if any(marks):
        # The twin's boxes are all empty, one per answer in document order: tick this form's own.
        pieces = out[_DOCUMENT].split(_EMPTY)
        if len(pieces) != len(marks) + 1:
            return zip_parts(render_parts(form, esign))  # a box character in the text: this form on its own
        ticked = [pieces[0]]
        for mark, piece in zip(marks, pieces[1:], strict=True):
            ticked += [_CHECKED if mark else _EMPTY, piece]
        out[_DOCUMENT] = b"".join(ticked)
    return zip_parts(with_form_data(out, form, esign))


def _encode(parts: dict[str, bytes]) -> bytes:
    head = json.dumps([[name, len(data)] for name, data in parts.items()]).encode()
    return head + b"\n" + b"".join(parts.values())


def _decode(data: bytes) -> dict[str, bytes]:
    head, _, rest = data.partition(b"\n")
    parts, at = {}, 0
    for name, size in json.loads(head):
        parts[name] = rest[at:at + size]
        at += size
    return parts


_PARTS: SharedWork[dict[str, bytes]] = SharedWork(
    "docx-parts", template_parts, 16, _encode, _decode, lambda token_form, _: docx_scope(token_form.packs))
