"""The door to the speed-ups: a form's PDF and DOCX, by the fast path when it is switched on.

Each function here gives the same result as the plain path (consent/pdf/whole.py, consent/docx/render.py),
which it falls back to whenever a speed-up cannot be used or ``CONSENT_SPEEDUPS=off`` turns them off. A
stage module never calls the speed-ups; the callers of a whole form (the package front, the batch
worker, rerender, the template export) call these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .._output import check_formats, default_stem, safe_slug, write_rendered
from ..document import Form
from ..errors import RenderError
from .switches import all_off

# The PDF's modules and the DOCX's are imported by the function that uses them: consent render's PDF
# process imports only the PDF's, and its own process, which makes the DOCX, only the DOCX's.


def render_pdf(form: Form, *, variant: str | None = None, fillable: bool = False, esign: str | None = None,
               merge_fields: Mapping[str, str] | None = None) -> bytes:
    """The PDF of ``form``. Forms that differ only in the patient's strings share one layout (see
    consent/speedups/layers.py); any form that cannot is laid out on its own (consent/pdf/whole.py, the
    plain path). Both give the same pages, and a form gets the same bytes from ``render`` as from a batch.

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
    this form's own layer) or ``"whole"`` (on its own: the plain path, when the form cannot share, when
    it is a template, or when ``CONSENT_SPEEDUPS=off``; see consent/speedups/layers.py).

    A single form takes the shared path too (a little slower than a whole layout when it is alone), so
    that its bytes are the same whether it was made by ``consent render`` or by a batch. The form
    fields of a fillable PDF are placed where either layout put their places (see :func:`render_pdf`).
    Either way the content hash is stamped last (see consent/pdf/stamp.py).
    """
    from ..pdf.html import weasyprint_module
    from ..pdf.whole import checked, fields_and_stamp, whole_pdf
    from .layers import layered_pdf

    form = checked(form, variant=variant, fillable=fillable, esign=esign, merge_fields=merge_fields)
    options = {"fillable": fillable, "esign": esign}
    fields = bool(fillable or esign or merge_fields)
    layered = None
    if not merge_fields and not all_off():  # a template's fields sit where its patient's values would
        try:
            # Stamped as the shared layout's pages are put together, unless fields are added after.
            layered = layered_pdf(form, variant=variant, ticks=not fillable, stamp=not fields, **options)
        except weasyprint_module().urls.FatalURLFetchingError as exc:  # refused while the shared body was written
            raise RenderError(f"PDF rendering stopped: {exc}") from None
    if layered is None:
        return whole_pdf(form, variant=variant, merge_fields=merge_fields, **options), "whole"
    pdf, places = layered
    if not fields:
        return pdf, "shared"  # stamped already
    return fields_and_stamp(pdf, form, places, merge_fields=merge_fields, **options), "shared"


def render_docx(form: Form, *, esign: str | None = None) -> bytes:
    """The DOCX of ``form``: its tokenised twin's parts, shared with the forms that differ only in the
    patient's strings and answers (consent/speedups/shared_docx.py), or, when it cannot share or
    ``CONSENT_SPEEDUPS=off``, rendered on its own (consent/docx/render.py): the same bytes either way.
    ``esign`` ("docusign" or "adobe") adds that service's tags, in white, at the signature, date and
    initials lines (see consent/_esign.py)."""
    if all_off():
        from ..docx.render import docx_bytes

        return docx_bytes(form, esign=esign)
    from .shared_docx import shared_docx

    return shared_docx(form, esign=esign)


def write_form(form: Form, out_dir: str | Path, formats: Sequence[str] = ("pdf", "docx"), *,
               stem: str | None = None, pdf_variant: str | None = None, fillable: bool = False,
               esign: str | None = None, pdf: Callable[[], bytes] | None = None) -> list[Path]:
    """Render every format of ``form`` first, then write each file atomically into ``out_dir``; returns
    the paths written. ``stem``: the file name without its extension (default: the treatment and form
    id). ``pdf``: the PDF, made elsewhere (the PDF process of consent/speedups/one_form.py)."""
    chosen = check_formats(formats)
    make: dict[str, Callable[[], bytes]] = {
        "pdf": pdf or (lambda: render_pdf(form, variant=pdf_variant, fillable=fillable, esign=esign)),
        "docx": lambda: render_docx(form, esign=esign),
    }
    name = safe_slug(stem, 120) if stem is not None else default_stem(form)
    return write_rendered(Path(out_dir), name, {fmt: make[fmt] for fmt in chosen})
