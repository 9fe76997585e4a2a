"""Template export, the entry point: one clinic form as a consent template for an EHR's form library, in
the shape the system takes (``pdf-form``, ``docx-merge`` or ``html``). Above the three targets
(:mod:`consent.template.form` and the PDF, :mod:`consent.template.docx`, :mod:`consent.template.html`),
imported when a template is made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from .._output import safe_slug
from ..errors import InputError
from ..inputs.loaders import Clinic

TEMPLATE_SHAPES = {"pdf-form": "pdf", "docx-merge": "docx", "html": "html"}


def export_template(
    treatment: str,
    *,
    clinic: Clinic,
    format: str,
    profile: str = "generic",
    language: str | None = None,
    date: dt.date | None = None,
    packs: Sequence[str | Path] = (),
) -> bytes:
    """The consent template for ``treatment`` in ``format`` (``pdf-form``, ``docx-merge`` or ``html``): the
    clinic's form, checked as usual, with the patient's name, birth date and MRN and the form date left
    as merge fields named by the field profile ``profile`` (``templates/fields/<profile>.yaml``)."""
    if format not in TEMPLATE_SHAPES:
        raise InputError(f"format must be one of {', '.join(TEMPLATE_SHAPES)} (got {format!r})")
    # The targets import the renderers: imported here, so that "import consent" stays quick.
    from .docx import merge_docx
    from .form import pdf_form, template_form
    from .html import html_body

    made = template_form(treatment, clinic=clinic, profile=profile, language=language, date=date, packs=packs)
    if format == "docx-merge":
        return merge_docx(made)
    if format == "html":
        return html_body(made).encode("utf-8")
    return pdf_form(made)


def template_file_name(treatment: str, format: str, profile: str, language: str | None) -> str:
    """``knee-injection_en_generic.docx``: what the template is, in a name safe on every system."""
    return f"{safe_slug(treatment)}_{safe_slug(language or 'en')}_{safe_slug(profile)}.{TEMPLATE_SHAPES[format]}"
