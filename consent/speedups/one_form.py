"""One form built and written, its PDF made in the process forked first (``consent render``).

The command line forks the PDF process before it imports anything else (consent/__main__.py,
consent/speedups/pdf_process.py). This function hands that process the form as soon as it is assembled,
while this process checks it (a form the check changes is sent again) and makes the DOCX; then it writes
the files. Without the process (``CONSENT_PDF_PROCESS=off``, ``CONSENT_SPEEDUPS=off``, no PDF asked for, a
platform without ``fork``) it is :func:`consent.build` then :func:`consent.render.write_form`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._build import apply_check
from ..assemble.assembly import assemble
from ..check import check_form
from ..document import Form
from ..inputs import Clinic, Patient, Screening
from ..library.loader import get_library
from .pdf_process import PdfProcess, started
from .render import write_form


class OneForm:
    """One form to build and write, its PDF made in the process forked first. Enter it first of all (the
    process starts now, or the one the command line forked is taken over, and begins importing while this
    one reads the input files), then call :meth:`build_and_write`; leaving it stops the process::

        with OneForm(packs, formats) as one:
            patient = load_patient(...)
            form, paths = one.build_and_write(treatment, patient=patient, ...)
    """

    def __init__(self, packs: Sequence[str] = (), formats: Sequence[str] = ("pdf", "docx")) -> None:
        self.packs, self.formats = packs, formats
        self._started = started(packs, "pdf" in formats)
        self.helper: PdfProcess | None = None

    def __enter__(self) -> OneForm:
        self.helper = self._started.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._started.__exit__(*exc)

    def build_and_write(
        self, treatment: str, *, patient: Patient, clinic: Clinic, date: dt.date | None = None,
        screening: Screening | Mapping[str, bool] | None = None, language: str | None = None,
        allow_check_errors: bool = False, out_dir: str | Path, pdf_variant: str | None = None,
        fillable: bool = False, esign: str | None = None, large_print: bool = False,
    ) -> tuple[Form, list[Path]]:
        """Build the form as :func:`consent.build` does and write its files as :func:`write_form` does;
        the form and the paths written."""
        helper, packs = self.helper, self.packs
        form, trace = assemble(treatment, patient=patient, clinic=clinic, date=date, screening=screening,
                               language=language, packs=packs, large_print=large_print)
        if helper is not None:  # the second process lays the form out while this one checks it
            helper.send(form, variant=pdf_variant, fillable=fillable, esign=esign)
        form = apply_check(form, check_form(form, trace, get_library(packs)), allow_check_errors=allow_check_errors)
        if helper is not None:
            helper.settle(form)
        paths = write_form(form, out_dir, self.formats, pdf_variant=pdf_variant, fillable=fillable, esign=esign,
                           pdf=helper.pdf if helper is not None else None)
        return form, paths


def build_and_write(
    treatment: str, *, patient: Patient, clinic: Clinic, date: dt.date | None = None,
    screening: Screening | Mapping[str, bool] | None = None, language: str | None = None,
    packs: Sequence[str] = (), allow_check_errors: bool = False, out_dir: str | Path,
    formats: Sequence[str] = ("pdf", "docx"), pdf_variant: str | None = None, fillable: bool = False,
    esign: str | None = None, large_print: bool = False,
) -> tuple[Form, list[Path]]:
    """:class:`OneForm` for one call: build the form and write its files."""
    with OneForm(packs, formats) as one:
        return one.build_and_write(treatment, patient=patient, clinic=clinic, date=date, screening=screening,
                                   language=language, allow_check_errors=allow_check_errors, out_dir=out_dir,
                                   pdf_variant=pdf_variant, fillable=fillable, esign=esign,
                                   large_print=large_print)
