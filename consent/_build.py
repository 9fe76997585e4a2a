"""Build stage: assemble a form, check it, and refuse it or record the result in its manifest.

This module sits above both :mod:`consent.assemble.assembly` (which fills in the clauses and knows nothing of
the checks) and :mod:`consent.check` (which reads an assembled form): dependencies point one way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from .assemble.assembly import Trace, finish_form, assemble
from .check import Report, check_form
from .document import Form
from .errors import CheckFailed, Problem
from .inputs.loaders import Clinic, Patient, Screening
from .library.loader import get_library


def build(
    treatment: str,
    *,
    patient: Patient,
    clinic: Clinic,
    date: dt.date | None = None,
    screening: Screening | Mapping[str, bool] | None = None,
    language: str | None = None,
    packs: Sequence[str | Path] = (),
    allow_check_errors: bool = False,
    large_print: bool = False,
) -> Form:
    """Build the consent form for ``treatment`` (an id such as ``"knee-injection"``).

    The finished form is checked (consent elements, readability, forbidden claims); errors raise
    :class:`~consent.errors.CheckFailed` unless ``allow_check_errors``, in which case the form's
    manifest lists them. ``large_print``: the form in large print (body text of at least 18 points, larger
    headings, wider line spacing, on letter paper; a state notice keeps its own larger size), in the PDF and the
    DOCX (:attr:`Form.large_print`, recorded in the manifest). Raises :class:`~consent.errors.InputError` listing every problem in the
    inputs, or :class:`~consent.errors.ContentError` for problems in clause or treatment files.
    """
    form, trace = assemble(
        treatment, patient=patient, clinic=clinic, date=date, screening=screening, language=language, packs=packs,
        large_print=large_print,
    )
    return apply_check(form, check_form(form, trace, get_library(packs)), allow_check_errors=allow_check_errors)


def check_key(form: Form, trace: Sequence[Trace]) -> str:
    """Names what the compliance check of a form depends on: its rendered clause text, manifest and
    jurisdiction (state, provider credentials, study), and for a minor's form who signs it.
    Forms with the same key (the forms of a batch, as a rule) have the same check result."""
    payload = [form.language, form.manifest.treatment_id, [attrs.astuple(t) for t in trace],
               [attrs.astuple(c) for c in form.manifest.clauses], form.manifest.study,
               attrs.astuple(form.jurisdiction) if form.jurisdiction else None]
    if form.manifest.minor is not None:  # (an adult's key is as it was)
        payload.append(attrs.astuple(form.manifest.minor))
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


def apply_check(form: Form, report: Report, *, allow_check_errors: bool = False) -> Form:
    """Refuse a form whose check has errors (CheckFailed), or record them and the acknowledgements
    in its manifest."""
    if report.errors and not allow_check_errors:
        raise CheckFailed(
            f"the {form.manifest.treatment_id} form fails {len(report.errors)} compliance check(s)",
            problems=[Problem(str(f)) for f in report.errors],
            hint="fix the clause text, or render anyway with --allow-check-errors (the errors go in the manifest)",
        )
    manifest = attrs.evolve(
        form.manifest,
        acknowledged=tuple(f"{f.rule}: {f.acknowledged}" for f in report.acknowledged),
        check_errors=tuple(str(f) for f in report.errors),
    )
    if manifest == form.manifest:  # nothing to record (as a rule): the form and its id stay as they are
        return form
    return finish_form(form.sections, form, manifest)
