"""The PDF of a form: the shared-layout path when the form can take it, else a whole layout.

Above both :mod:`consent._render_pdf` (laying out one form) and :mod:`consent._pdf_layers` (a shared
body with each form's strings drawn over it), so neither imports the other's caller.
"""

from __future__ import annotations

from ._pdf_layers import render_layered
from ._render_pdf import form_html, layout, write_document
from .document import Form


def render_pdf(form: Form, *, variant: str | None = None) -> bytes:
    """The PDF of ``form``. Forms that differ only in the patient's strings share one layout (see
    ``_pdf_layers``); any form that cannot is laid out on its own. Both give the same page."""
    return laid_out_pdf(form, variant=variant)[0]


def laid_out_pdf(form: Form, *, variant: str | None = None) -> tuple[bytes, str]:
    """The PDF of ``form`` and how it was laid out: ``"shared"`` (a body shared with other forms, and
    this form's own layer) or ``"whole"`` (on its own)."""
    layered = render_layered(form, variant=variant)
    if layered is not None:
        return layered, "shared"
    return write_document(layout(form_html(form), form.packs), form, variant), "whole"
