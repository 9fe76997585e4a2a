"""The PDF of a form: the shared-layout path when the form can take it, else a whole layout.

Above both :mod:`consent._render_pdf` (laying out one form) and :mod:`consent._pdf_layers` (a shared
body with each form's strings drawn over it), so neither imports the other's caller.
"""

from __future__ import annotations

from collections import OrderedDict

from ._glyphs import missing_glyphs
from ._pdf_layers import render_layered
from ._render_pdf import _weasyprint, form_html, layout, write_document
from ._tokens import tokenise
from .document import Form
from .errors import RenderError

_SEEN: OrderedDict[str, None] = OrderedDict()  # groups of forms this process has laid out (by shared key)


def render_pdf(form: Form, *, variant: str | None = None) -> bytes:
    """The PDF of ``form``. Forms that differ only in the patient's strings share one layout (see
    ``_pdf_layers``); any form that cannot is laid out on its own. Both give the same page."""
    return laid_out_pdf(form, variant=variant)[0]


def laid_out_pdf(form: Form, *, variant: str | None = None, shared: bool | None = None) -> tuple[bytes, str]:
    """The PDF of ``form`` and how it was laid out: ``"shared"`` (a body shared with other forms, and
    this form's own layer) or ``"whole"`` (on its own).

    ``shared=True`` takes the shared path whenever the form can (a batch: many forms per group);
    the default takes it from the second form of a group this process sees: one form alone is laid
    out whole, which costs less than a body and a layer.
    """
    problems = missing_glyphs(form)
    if problems:
        raise RenderError(
            "the PDF cannot be made: its fonts cannot draw some characters of this form", problems=problems,
            hint="the DOCX can still be made; to print these characters in the PDF, add a font that has them "
                 "to a pack's templates/fonts/ and name it in the pack's form.css",
        )
    if shared is None:
        shared = _seen_before(form)
    if shared:
        try:
            layered = render_layered(form, variant=variant)
        except _weasyprint().urls.FatalURLFetchingError as exc:  # refused while the shared body was written
            raise RenderError(f"PDF rendering stopped: {exc}") from None
        if layered is not None:
            return layered, "shared"
    return write_document(layout(form_html(form), form.packs), form, variant), "whole"


def _seen_before(form: Form) -> bool:
    tokenised = tokenise(form)
    if tokenised is None:
        return False
    key = tokenised[1]
    seen = key in _SEEN
    _SEEN[key] = None
    _SEEN.move_to_end(key)
    while len(_SEEN) > 256:
        _SEEN.popitem(last=False)
    return seen
