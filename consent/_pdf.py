"""The PDF of a form: the shared-layout path when the form can take it, else a whole layout.

Above both :mod:`consent._render_pdf` (laying out one form) and :mod:`consent._pdf_layers` (a shared
body with each form's strings drawn over it), so neither imports the other's caller.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._field_places import field_places, header_places
from ._glyphs import missing_glyphs
from ._pdf_fields import add_fields, check_options
from ._pdf_layers import _without_signer, layered_pdf
from ._render_pdf import _weasyprint, form_html, layout, write_document
from ._tokens import unanswered
from .document import Form
from .errors import RenderError


def render_pdf(form: Form, *, variant: str | None = None, fillable: bool = False, esign: str | None = None,
               merge_fields: Mapping[str, str] | None = None) -> bytes:
    """The PDF of ``form``. Forms that differ only in the patient's strings share one layout (see
    ``_pdf_layers``); any form that cannot is laid out on its own. Both give the same page, and a form
    gets the same bytes from ``render`` as from a batch.

    ``fillable``: with AcroForm fields (signatures, printed names, dates and times, initials, screening
    radio buttons; names in the README, "Fillable and signable PDFs"). ``esign``: ``"docusign"`` or
    ``"adobe"`` prints that service's anchor tags, invisibly, at each signature, initials and date
    place. Neither can be an archival ``variant`` (a RenderError).

    ``merge_fields`` (a template export, ``consent template --format pdf-form``): text fields over the
    patient's values and the form date, for a form made with placeholder or blank patient values. Keys
    are ``patient.full_name``, ``patient.birth_date``, ``patient.mrn`` and ``form.date`` (the PDF
    prints the full name only: ``patient.first_name`` and ``patient.last_name`` are ignored; any
    other key is a RenderError); each value is the name to give the text field placed over that
    value's box (a field profile's name; "." makes a parent field, as in ``patient.name``). The fields
    are empty, and nothing is printed under them (no name, birth date, MRN or form date in the page's
    text). The name and birth-date fields have a widget in every page's header too, around the printed
    birth-date label (one field, filled once, shows on every page). A form template without these
    places (a clinic's form.html without ``data-field`` marks) is a RenderError, never a PDF without
    its fields.
    """
    return laid_out_pdf(form, variant=variant, fillable=fillable, esign=esign, merge_fields=merge_fields)[0]


def laid_out_pdf(form: Form, *, variant: str | None = None, fillable: bool = False, esign: str | None = None,
                 merge_fields: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """The PDF of ``form`` and how it was laid out: ``"shared"`` (a body shared with other forms, and
    this form's own layer) or ``"whole"`` (on its own, when it cannot share: see ``_pdf_layers``).

    A single form takes the shared path too (a little slower than a whole layout when it is alone), so
    that its bytes are the same whether it was made by ``consent render`` or by a batch. The form
    fields of a fillable PDF are placed where either layout put their places (see :func:`render_pdf`).
    Either way the content hash is stamped last (see ``_pdf_stamp``).
    """
    check_options(variant=variant, fillable=fillable, esign=esign, merge_fields=merge_fields)
    problems = missing_glyphs(form)
    if problems:
        raise RenderError(
            "the PDF cannot be made: its fonts cannot draw some characters of this form", problems=problems,
            hint="the DOCX can still be made; to print these characters in the PDF, add a font that has them "
                 "to a pack's templates/fonts/ and name it in the pack's form.css",
        )
    options = {"fillable": fillable, "esign": esign}
    if merge_fields:  # a template: the patient's values are the fields' to fill, none is printed
        form = _blank_patient(form)
    fields = bool(fillable or esign or merge_fields)
    try:
        # Stamped as the shared layout's pages are put together, unless fields are added after.
        layered = None if merge_fields else layered_pdf(form, variant=variant, ticks=not fillable,
                                                        stamp=not fields, **options)
    except _weasyprint().urls.FatalURLFetchingError as exc:  # refused while the shared body was written
        raise RenderError(f"PDF rendering stopped: {exc}") from None
    if layered is not None:
        (pdf, places), how = layered, "shared"
    else:
        # A fillable form's screening answers are its radio buttons' states, not printed ticks.
        template = bool(merge_fields)
        document = layout(form_html(unanswered(form) if fillable else form, template=template), form.packs,
                          template=template)
        pdf, places, how = write_document(document, form, variant, **options), field_places(document), "whole"
        if template:  # the patient's name and birth date in every page's header, too
            places += header_places(document, form.labels["date_of_birth"])
    if fields:
        pdf = add_fields(pdf, form, places, fillable=fillable, esign=esign, merge_fields=merge_fields)
    elif how == "shared":
        return pdf, how  # stamped already
    from ._pdf_stamp import stamp  # imports pikepdf: only when a PDF is made

    return stamp(pdf), how


def _blank_patient(form: Form) -> Form:
    """The form of a template export without the placeholder patient: empty name, birth date and MRN
    in the patient table and on the signature line, and no patient line in the page header (a template's
    header prints the birth-date label alone, between the places of its fields)."""
    header = attrs.evolve(form.header, patient_name="", birth_date="", mrn="")
    return attrs.evolve(form, header=header, sections=tuple(_without_signer(s) for s in form.sections))
