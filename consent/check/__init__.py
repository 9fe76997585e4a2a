"""Compliance checks: is a form complete, readable, and free of claims that must never be made?

    report = consent.check.check(["knee-injection"], packs=["my-pack"])
    report.ok, report.errors, report.warnings, report.figures

Rule families (every finding names its rule id, severity, clause, file and line):

- ``structure.*``    clause and treatment files: schema, unknown keys, ids, variables, translations
- ``coverage.*``     every basic consent element is covered (and, on a form with a study, every
                     research element); key information comes first; the clinic's data covers the form
                     (product identity, a fee schedule, text in the form's language); a minor's form has
                     a parent's or guardian's signature block (and the assent line the clinic asks for)
- ``readability.*``  grade level and reading ease of each clause and the whole form (rendered text)
- ``claim.*``        forbidden claims and exculpatory wording (data: templates/rules/claims.yaml)
- ``notice.*``       state notices: wording counsel must confirm, and the state rules of a form's clinic
                     (a notice left out because the treatment is not in the study its law covers, a
                     treatment or provider the state's law does not allow)
- ``language.*``     the clinic's page of language-assistance taglines (45 CFR 92.11): missing for a
                     clinic that receives federal financial assistance, no list of its state's languages,
                     lines counsel has not confirmed (consent/check/_legal.py)

The layout rules of a notice (``own_page``, ``min_type_pt``) can only be proved on rendered output: the
``consent check`` command also renders a sample of each such notice (see :mod:`consent.cli.notice_layout`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import attrs

from .._text import TemplateError, render_text
from ..assemble.assembly import Trace, assemble
from ..assemble.clinic import clinic_terms
from ..assemble.values import clause_context
from ..errors import ConsentError, Problem
from ..inputs.loaders import Clinic, load_clinic, validate_clinic
from ..library.loader import DEFAULT_LANGUAGE, Library, get_library
from ._claims import ClaimRule
from ._form import check_form, claims, signers
from ._legal import NO_STATE_LIST, language_assistance
from ._library_checks import (
    SAMPLE_CLINIC,
    SAMPLE_DATE,
    SAMPLE_PATIENT,
    clause_list_findings,
    clinic_findings,
    problem_finding,
    sample_clinic,
    sample_study_clinic,
    sample_terms,
    translation_findings,
    unused_entries,
    variable_findings,
)
from ._report import Figure, Finding, Report, merge
from ._settings import settings_for

__all__ = ["Figure", "Finding", "Report", "check", "check_form"]


def _notice_findings(library: Library, languages: Sequence[str]) -> list[Finding]:
    """State notices are checked on their own: claims in their text (and in each translation of it),
    and whether counsel must review them."""
    settings, _ = settings_for(library)
    out: list[Finding] = []
    spec = next(iter(library.treatments.values()), None)
    if spec is None:
        return out
    terms = sample_terms(spec)
    for clause in library.clauses.values():
        if clause.kind != "state-notice":
            continue
        for language in dict.fromkeys([DEFAULT_LANGUAGE, *languages]):
            if not library.has_translation("clause", clause.id, language):
                continue  # reported by translation_findings for the forms that need it
            text = library.clause(clause.id, language)
            locale = library.locale(language)
            context = clause_context(spec, SAMPLE_PATIENT, SAMPLE_CLINIC, terms, SAMPLE_DATE, locale,
                                     approved=library.approved_products)
            trace = []
            for block in text.body:
                if not isinstance(block.value, str):
                    continue
                try:
                    trace.append(Trace(clause.id, text.path, block.line, block.path,
                                       render_text(block.value, context)))
                except TemplateError as exc:  # a pack's notice: {{ 1/0 }}, a misspelt name
                    out.append(Finding("structure.invalid", "error", f"{block.path}: {exc.message or exc}",
                                       clause=clause.id, file=text.path, line=block.line))
            # a notice on its own: no clinic has acknowledged anything
            reading = language if language != DEFAULT_LANGUAGE else None
            out += claims(trace, settings.rules, {}, language=reading, second_reader=settings.second_reader)
        if clause.review == "required":
            out.append(Finding("notice.review-required", "warning",
                               f"the {'/'.join(clause.states)} notice wording is not fixed by law here; have counsel "
                               "confirm it, then set 'review: confirmed' in a pack copy of the clause",
                               clause=clause.id, file=clause.path, line=1))
    return out


def _form_report(tid: str, language: str, packs: Sequence[str | Path], library: Library,
                 clinic: Clinic) -> Report:
    """Assemble and check the sample form of one treatment and language for ``clinic``."""
    try:
        form, trace = assemble(tid, patient=SAMPLE_PATIENT, clinic=clinic, date=SAMPLE_DATE,
                               language=language, packs=packs)
    except ConsentError as exc:
        return Report(tuple(problem_finding(p) for p in exc.problems))
    return check_form(form, trace, library)


SAMPLE_MINOR = attrs.evolve(SAMPLE_PATIENT, full_name="Sam Sample",
                            birth_date=SAMPLE_DATE.replace(year=SAMPLE_DATE.year - 9) - dt.timedelta(days=1))


def _minor_report(tid: str, language: str, packs: Sequence[str | Path], library: Library, clinic: Clinic,
                  plain: Report) -> Report:
    """The form of a 9-year-old for ``clinic``: its signature section must have the parent's or guardian's
    block and the assent line the clinic asks for (and its labels). What the plain form does not already
    report is marked ``variant="minor"``. Not made for a clinic in a state without an age of majority
    (render says so for such a patient)."""
    if clinic.state.upper() not in library.majority:
        return Report(())
    try:
        form, _ = assemble(tid, patient=SAMPLE_MINOR, clinic=clinic, date=SAMPLE_DATE, language=language,
                           packs=packs)
    except ConsentError as exc:
        found = [problem_finding(p) for p in exc.problems]
    else:
        found = signers(form, library)
    return Report(tuple(attrs.evolve(f, variant="minor") for f in found if f not in plain.findings))


def _only_with_study(study: Report, plain: Report) -> Report:
    """What the study variant of a form adds to the plain form's report, marked ``variant="study"``. The
    clinic's legal position (``legal.*``) is not reported for the sample study: it is not the clinic's."""
    findings = tuple(attrs.evolve(f, variant="study") for f in study.findings
                     if f not in plain.findings and not f.rule.startswith("legal."))
    figures = tuple(attrs.evolve(f, variant="study") for f in study.figures if f not in plain.figures)
    return Report(findings, figures)


def _unchecked_languages(rules: Sequence[ClaimRule], languages: Sequence[str]) -> list[Finding]:
    """A claim rule with no patterns for a checked language: that claim goes unnoticed in it."""
    return [
        Finding("structure.claim-language-missing", "warning",
                f"claim rule {rule.id!r} has no {language!r} patterns, so {language!r} text is not "
                f"checked for this claim (give it patterns: {{{language}: [...]}})",
                file=rule.source, line=rule.line, language=language)
        for language in languages
        for rule in rules
        if language not in rule.patterns
    ]


def check(
    treatments: Sequence[str] | None = None,
    *,
    packs: Sequence[str | Path] = (),
    languages: Sequence[str] | None = None,
    clinic: Clinic | str | Path | None = None,
    state: str | None = None,
) -> Report:
    """Check the clause library (built-in plus ``packs``) and the forms of ``treatments`` (default: all).

    The forms are made for ``clinic`` (a :class:`~consent.Clinic` or a clinic file), so its own data is
    checked too: the identity of every treatment's product, a fee schedule for every treatment and its
    text in every language; without one, for a sample clinic that names the stock treatments' products. Each form is assembled twice: as given, and with an IRB-approved sample study (its research section
    and research elements); what only the second shows is marked ``variant=\"study\"``. The signature
    section of a 9-year-old's form is checked too (a parent's or guardian's block, the assent line):
    ``variant=\"minor\"``. Never raises for
    problems in the content: every problem becomes a finding in the report (a clinic file that cannot be loaded raises :class:`~consent.InputError`).

    ``state`` makes the forms as for a clinic in that state (its notices and rules); the sample
    provider is an MD.
    """
    clinic, clinic_file = _given_clinic(clinic)
    library = get_library(packs)
    settings, setting_problems = settings_for(library)
    chosen = list(treatments) if treatments else sorted(library.treatments)
    findings = _structure_findings(library, setting_problems, chosen)
    structure_ok = not findings
    if clinic is not None:
        findings += unused_entries(clinic, library, clinic_file)
        taglines = language_assistance(clinic, library, clinic_file)
        findings += taglines
        if any(f.rule == NO_STATE_LIST for f in taglines):  # said once: the forms are checked without the page
            clinic = attrs.evolve(clinic, language_assistance=None)
    reports = [Report(tuple(findings), (), 0)]
    for tid in (t for t in chosen if t in library.treatments):
        spec = library.treatments[tid]
        list_findings = clause_list_findings(spec, library)
        reports.append(Report(tuple(list_findings)))
        for language in languages or library.languages:
            missing = translation_findings(spec, library, language)
            reports.append(Report(tuple(missing)))
            if structure_ok and not list_findings and not missing:  # else its forms cannot be made
                reports += _sample_forms(tid, language, packs, library, clinic, clinic_file, state)
    checked = list(languages or library.languages)
    reports.append(Report(tuple(_notice_findings(library, checked))))
    reports.append(Report(tuple(_unchecked_languages(settings.rules, checked))))
    return merge(reports, len(settings.rules))


def _given_clinic(clinic: Clinic | str | Path | None) -> tuple[Clinic | None, str | None]:
    """The clinic the forms are made for (loaded from its file, or validated as given) and the file's
    name (None: not given as a file). Raises :class:`~consent.InputError` for a clinic that is not valid."""
    if isinstance(clinic, str | Path):
        return load_clinic(clinic), str(clinic)
    if clinic is not None:
        validate_clinic(clinic)
    return clinic, None


def _structure_findings(library: Library, setting_problems: Sequence[Problem],
                        chosen: Sequence[str]) -> list[Finding]:
    """What is wrong with the library itself (its files, the check's settings, the variables its clauses
    use) and the ``chosen`` treatments it does not have: with any of these, no form is made."""
    findings = [problem_finding(p) for p in library.problems]
    findings += [problem_finding(p, "structure.settings") for p in setting_problems]
    findings += variable_findings(library)
    for tid in chosen:
        if tid not in library.treatments:
            findings.append(Finding("structure.unknown-treatment", "error",
                                    f"unknown treatment {tid!r} (known: {', '.join(sorted(library.treatments))})"))
    return findings


def _sample_forms(tid: str, language: str, packs: Sequence[str | Path], library: Library,
                  clinic: Clinic | None, clinic_file: str | None, state: str | None) -> list[Report]:
    """The reports of the sample forms of one treatment in one language, made for ``clinic`` (None: the
    sample clinic), moved to ``state`` if given: the plain form, a minor's and, for a clinic without a
    study, the study variant. Only the clinic's problems if its data does not cover the treatment."""
    form_clinic = clinic if clinic is not None else sample_clinic(language)
    if state is not None:
        form_clinic = attrs.evolve(form_clinic, state=state.upper())
    _, problems = clinic_terms(form_clinic, library.treatment(tid, language), language)
    if problems:
        return [Report(tuple(clinic_findings(problems, tid, language, clinic_file)))]
    plain = _form_report(tid, language, packs, library, form_clinic)
    reports = [plain, _minor_report(tid, language, packs, library, form_clinic, plain)]
    if form_clinic.study is None:
        study = _form_report(tid, language, packs, library, sample_study_clinic(language, form_clinic))
        reports.append(_only_with_study(study, plain))
    return reports


def preload(library: Library) -> None:
    """Load what the check reads for every form (the syllable table, the claim rules' patterns compiled):
    the batch's fork server does it once, for all its workers (consent/batch/preload.py)."""
    from . import _english
    from ._claim_model import load_model

    _english.syllable_table()
    settings, _ = settings_for(library)
    if settings.second_reader:
        load_model()
