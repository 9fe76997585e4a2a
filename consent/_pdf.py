"""The PDF of a form: the shared-layout path when the form can take it, else a whole layout.

Above both :mod:`consent._render_pdf` (laying out one form) and :mod:`consent._pdf_layers` (a shared
body with each form's strings drawn over it), so neither imports the other's caller.
"""

from __future__ import annotations

from ._glyphs import missing_glyphs
from ._pdf_layers import render_layered
from ._pdf_stamp import stamp
from ._render_pdf import _weasyprint, form_html, layout, write_document
from .document import Form
from .errors import RenderError


def render_pdf(form: Form, *, variant: str | None = None) -> bytes:
    """The PDF of ``form``. Forms that differ only in the patient's strings share one layout (see
    ``_pdf_layers``); any form that cannot is laid out on its own. Both give the same page, and a form
    gets the same bytes from ``render`` as from a batch."""
    return laid_out_pdf(form, variant=variant)[0]


def laid_out_pdf(form: Form, *, variant: str | None = None) -> tuple[bytes, str]:
    """The PDF of ``form`` and how it was laid out: ``"shared"`` (a body shared with other forms, and
    this form's own layer) or ``"whole"`` (on its own, when it cannot share: see ``_pdf_layers``).

    A single form takes the shared path too (a little slower than a whole layout when it is alone), so
    that its bytes are the same whether it was made by ``consent render`` or by a batch. Either way the
    content hash is stamped last (see ``_pdf_stamp``).
    """
    problems = missing_glyphs(form)
    if problems:
        raise RenderError(
            "the PDF cannot be made: its fonts cannot draw some characters of this form", problems=problems,
            hint="the DOCX can still be made; to print these characters in the PDF, add a font that has them "
                 "to a pack's templates/fonts/ and name it in the pack's form.css",
        )
    try:
        layered = render_layered(form, variant=variant)
    except _weasyprint().urls.FatalURLFetchingError as exc:  # refused while the shared body was written
        raise RenderError(f"PDF rendering stopped: {exc}") from None
    if layered is not None:
        return stamp(layered), "shared"
    return stamp(write_document(layout(form_html(form), form.packs), form, variant)), "whole"
