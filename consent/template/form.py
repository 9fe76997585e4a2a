"""Template export: a clinic's form with the patient's values left as merge fields, for an EHR's form library.

The form is built (and checked) for a placeholder patient, then tokenised (:mod:`consent.speedups.tokens`): the
patient's name, birth date and MRN, and here the printed form date too, become fixed tokens wherever
they are printed. Each target then puts its own merge field where a token is: a text field in a
fillable PDF, a Word ``MERGEFIELD`` in a DOCX (:mod:`consent.template.docx`), a placeholder in the
field profile's syntax in an HTML body (:mod:`consent.template.html`). The field names come from a
field profile (:mod:`consent.template.profiles`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path

import attrs

from .._build import build
from .._text import long_date
from ..document import Form, Signatures
from ..errors import ContentError, RenderError
from ..inputs.loaders import Clinic, Patient
from ..speedups.render import render_pdf
from ..speedups.tokens import TOKEN_MARK, TOKENS, replace_values, tokenise
from .profiles import FieldProfile, get_profile

DATE_TOKEN = "QxCONSENTxDATExQ"  # noqa: S105 - a mark in the text, not a password
# The patient a template is built for. Its strings are replaced by merge fields in every target, and a
# test proves none of them is left in the output. Born 1950: a plausible age (_limits.MAX_AGE_YEARS) on
# any template's date until 2080.
PLACEHOLDER = Patient(full_name="Pat Placeholder", birth_date=dt.date(1950, 1, 1), mrn="PLACEHOLDER-MRN")
PATIENT_TOKENS = {  # token -> internal key of the value it stands for
    TOKENS["name"]: "patient.full_name",
    TOKENS["birth"]: "patient.birth_date",
    TOKENS["mrn"]: "patient.mrn",
    DATE_TOKEN: "form.date",
}


@attrs.frozen
class TemplateForm:
    """A form built for the placeholder patient (``form``), and its twin with tokens (``tokens``) where the
    patient's strings and the form date are printed."""

    form: Form
    tokens: Form
    profile: FieldProfile


def template_form(
    treatment: str, *, clinic: Clinic, profile: str = "generic", language: str | None = None,
    date: dt.date | None = None, packs: Sequence[str | Path] = (),
) -> TemplateForm:
    """Build, check and tokenise the template form. ``date`` chooses the rules in force (default today);
    the printed date is a merge field."""
    chosen = get_profile(profile, packs)  # a bad profile fails before the form is built
    form = build(treatment, patient=PLACEHOLDER, clinic=clinic, date=date, language=language or "en",
                 packs=packs)
    tokenised = tokenise(form)
    if tokenised is None:
        raise ContentError(f"the form's text contains {TOKEN_MARK!r}, which marks a template's merge fields",
                           hint="remove that text from the clinic file or the pack")
    shown = long_date(form.date, form.locale)
    token_form = replace_values(tokenised[0], re.compile(re.escape(shown)), {shown: DATE_TOKEN})
    return TemplateForm(form, token_form, chosen)


def pdf_form(made: TemplateForm) -> bytes:
    """A fillable PDF whose patient name, birth date, MRN and form date are text fields named by the
    profile. The PDF has its fields in the patient table of page 1 and in each page's header only, so a
    form that prints a patient's string inside its text (a clinic's own clause) cannot be a PDF
    template."""
    profile = made.profile
    if "patient.full_name" not in profile.fields:
        raise ContentError(
            f"{profile.path}: a PDF form has one text field for the patient's name, and this profile has "
            "patient.first_name and patient.last_name but no patient.full_name",
            hint="add patient.full_name to the profile, or use --format docx-merge or html",
        )
    inline = _tokens_in_text(made.tokens)
    if inline:
        raise RenderError(
            f"the form prints {', '.join(sorted(inline))} inside its text, where a PDF form has no field",
            hint="use --format docx-merge or html, which put a merge field there",
        )
    fields = {key: profile.field(key) for key in ("patient.full_name", "patient.birth_date", "patient.mrn",
                                                   "form.date")}
    return _merge_fields_named(render_pdf(made.form, fillable=True, merge_fields=fields), fields)


def _merge_fields_named(pdf: bytes, fields: dict[str, str]) -> bytes:
    """The template with its merge fields (internal key -> field name) in its document information, for
    ``consent record`` to read the filled-in patient back (see :mod:`consent.template.signers`). The stamp does not
    cover the document information: the pages, fields and data stay as stamped."""
    import io

    import pikepdf

    from .signers import MERGE_FIELDS_KEY, merge_fields_entry

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.docinfo[MERGE_FIELDS_KEY] = merge_fields_entry(fields)
        out = io.BytesIO()
        doc.save(out, deterministic_id=True)
    return out.getvalue()


def _tokens_in_text(form: Form) -> set[str]:
    """The keys of the patient tokens printed in the form's sections, other than the patient's name on
    their signature line (a field of the fillable PDF)."""
    sections = []
    for section in form.sections:
        blocks = tuple(
            attrs.evolve(b, parties=tuple(p for p in b.parties if p.role != "patient"))
            if isinstance(b, Signatures) else b
            for b in section.blocks
        )
        sections.append(attrs.evolve(section, blocks=blocks))
    text = json.dumps([attrs.asdict(s) for s in sections], default=str)
    return {key for token, key in PATIENT_TOKENS.items() if token in text}
