"""Compliance checks: is a form complete, readable, and free of claims that must never be made?

    report = consent.check.check(["knee-injection"], packs=["my-pack"])
    report.ok, report.errors, report.warnings, report.figures

Rule families (every finding names its rule id, severity, clause, file and line):

- ``structure.*``    clause and treatment files: schema, unknown keys, ids, variables, translations
- ``coverage.*``     every basic consent element is covered; key information comes first
- ``readability.*``  grade level and reading ease of each clause and the whole form (rendered text)
- ``claim.*``        forbidden claims and exculpatory wording (data: templates/rules/claims.yaml)
- ``notice.*``       state notices: wording counsel must confirm, and the state rules of a form's clinic
                     (a notice left out because the treatment is not in the study its law covers, a
                     treatment or provider the state's law does not allow)

The layout rules of a notice (``own_page``, ``min_type_pt``) can only be proved on rendered output: the
``consent check`` command also renders a sample of each such notice (see :mod:`consent._notice_layout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs

from .._assemble import Trace, _context, assemble
from .._library import Library, get_library
from .._text import render_text
from ..errors import ConsentError
from ._form import check_form, claims
from ._library import (
    SAMPLE_CLINIC,
    SAMPLE_DATE,
    SAMPLE_PATIENT,
    clause_list_findings,
    problem_finding,
    translation_findings,
    variable_findings,
)
from ._report import Figure, Finding, Report, merge
from ._settings import settings_for

__all__ = ["Figure", "Finding", "Report", "check", "check_form"]


def _notice_findings(library: Library) -> list[Finding]:
    """State notices are checked on their own: claims in their text, and whether counsel must review them."""
    settings, _ = settings_for(library)
    out: list[Finding] = []
    spec = next(iter(library.treatments.values()), None)
    if spec is None:
        return out
    context = _context(spec, SAMPLE_PATIENT, SAMPLE_CLINIC, SAMPLE_DATE, "en_US")
    for clause in library.clauses.values():
        if clause.kind != "state-notice":
            continue
        trace = [Trace(clause.id, clause.path, block.line, block.path, render_text(block.value, context))
                 for block in clause.body if isinstance(block.value, str)]
        out += claims(trace, settings.rules, {})  # a notice on its own: no clinic has acknowledged anything
        if clause.review == "required":
            out.append(Finding("notice.review-required", "warning",
                               f"the {'/'.join(clause.states)} notice wording is not fixed by law here; have counsel "
                               "confirm it, then set 'review: confirmed' in a pack copy of the clause",
                               clause=clause.id, file=clause.path, line=1))
    return out


def check(
    treatments: Sequence[str] | None = None,
    *,
    packs: Sequence[str | Path] = (),
    languages: Sequence[str] | None = None,
    state: str | None = None,
) -> Report:
    """Check the clause library (built-in plus ``packs``) and the forms of ``treatments`` (default: all).

    The forms are made for a sample clinic in ``state`` (default: a state with no notice, so the
    notices are checked on their own); give a state to check its notices and rules as a form of a
    clinic there would be (the sample provider is an MD and the sample clinic records no study).
    Never raises for problems in the content: every problem becomes a finding in the report.
    """
    clinic = SAMPLE_CLINIC if state is None else attrs.evolve(SAMPLE_CLINIC, state=state.upper())
    library = get_library(packs)
    settings, setting_problems = settings_for(library)
    findings = [problem_finding(p) for p in library.problems]
    findings += [problem_finding(p, "structure.settings") for p in setting_problems]
    findings += variable_findings(library)
    chosen = list(treatments) if treatments else sorted(library.treatments)
    for tid in chosen:
        if tid not in library.treatments:
            findings.append(Finding("structure.unknown-treatment", "error",
                                    f"unknown treatment {tid!r} (known: {', '.join(sorted(library.treatments))})"))
    reports = [Report(tuple(findings), (), 0)]
    structure_ok = not findings
    for tid in (t for t in chosen if t in library.treatments):
        spec = library.treatments[tid]
        list_findings = clause_list_findings(spec, library)
        reports.append(Report(tuple(list_findings)))
        for language in languages or library.languages:
            missing = translation_findings(spec, library, language)
            reports.append(Report(tuple(missing)))
            if list_findings or missing or not structure_ok:
                continue
            try:
                form, trace = assemble(tid, patient=SAMPLE_PATIENT, clinic=clinic, date=SAMPLE_DATE,
                                       language=language, packs=packs)
            except ConsentError as exc:
                reports.append(Report(tuple(problem_finding(p) for p in exc.problems)))
                continue
            reports.append(check_form(form, trace, library))
    reports.append(Report(tuple(_notice_findings(library))))
    return merge(reports, len(settings.rules))

