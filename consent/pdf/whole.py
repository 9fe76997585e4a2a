"""A form's PDF laid out whole: the plain path, with no speed-up (HTML, WeasyPrint, fields, stamp).

The shared-layout path (consent/speedups/layers.py) gives the same pages, faster, for the forms that can
take it; consent/speedups/render.py chooses between the two. To change how a form looks, change the
templates and :mod:`consent.pdf.html`: both paths follow.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ..document import Form, Section, Signatures, unanswered
from ..errors import RenderError
from .fields import add_fields, check_options
from .glyphs import missing_glyphs
from .html import form_html, layout, write_document
from .places import FieldPlace, field_places, header_places


def checked(form: Form, *, variant: str | None = None, fillable: bool = False, esign: str | None = None,
            merge_fields: Mapping[str, str] | None = None) -> Form:
    """The form to lay out, once its options and its characters are checked (a RenderError names what
    is wrong): for a template (``merge_fields``), the form without its placeholder patient."""
    check_options(variant=variant, fillable=fillable, esign=esign, merge_fields=merge_fields)
    problems = missing_glyphs(form)
    if problems:
        raise RenderError(
            "the PDF cannot be made: its fonts cannot draw some characters of this form", problems=problems,
            hint="the DOCX can still be made; to print these characters in the PDF, install the Noto fonts the "
                 "form uses (Debian: apt-get install fonts-noto-core fonts-noto-cjk), or add a font that has them "
                 "to a pack's templates/fonts/ and name it in the pack's form.css",
        )
    return blank_patient(form) if merge_fields else form


def whole_pdf(form: Form, *, variant: str | None = None, fillable: bool = False, esign: str | None = None,
              merge_fields: Mapping[str, str] | None = None) -> bytes:
    """The PDF of a form returned by :func:`checked`, laid out on its own, its fields added and its
    content hash stamped."""
    # A fillable form's screening answers are its radio buttons' states, not printed ticks.
    template = bool(merge_fields)
    document = layout(form_html(unanswered(form) if fillable else form, template=template), form.packs,
                      template=template, large_print=form.large_print)
    pdf = write_document(document, form, variant, fillable=fillable, esign=esign)
    places = field_places(document)
    if template:  # the patient's name and birth date in every page's header, too
        places += header_places(document, form.labels["header_date_of_birth"])
    return fields_and_stamp(pdf, form, places, fillable=fillable, esign=esign, merge_fields=merge_fields)


def fields_and_stamp(pdf: bytes, form: Form, places: tuple[FieldPlace, ...], *, fillable: bool = False,
                     esign: str | None = None, merge_fields: Mapping[str, str] | None = None) -> bytes:
    """The PDF with its form fields (if any are asked for) placed at ``places``, then its content hash
    stamped (see consent/pdf/stamp.py)."""
    if fillable or esign or merge_fields:
        pdf = add_fields(pdf, form, places, fillable=fillable, esign=esign, merge_fields=merge_fields)
    from .stamp import stamp  # imports pikepdf: only when a PDF is made

    return stamp(pdf)


def blank_patient(form: Form) -> Form:
    """The form of a template export without the placeholder patient: empty name, birth date and MRN
    in the patient table and on the signature line, and no patient line in the page header (a template's
    header prints the birth-date label alone, between the places of its fields)."""
    header = attrs.evolve(form.header, patient_name="", birth_date="", mrn="")
    return attrs.evolve(form, header=header, sections=tuple(without_signer(s) for s in form.sections))


def without_signer(section: Section) -> Section:
    """The section with the patient's printed name left off its signature line."""
    if not any(isinstance(b, Signatures) for b in section.blocks):
        return section
    blocks = []
    for block in section.blocks:
        if isinstance(block, Signatures):
            parties = tuple(
                attrs.evolve(p, fields=((p.fields[0][0], ""), *p.fields[1:])) if p.role == "patient" and p.fields
                else p
                for p in block.parties
            )
            block = attrs.evolve(block, parties=parties)
        blocks.append(block)
    return attrs.evolve(section, blocks=tuple(blocks))
