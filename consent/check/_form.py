"""Checks of one assembled form: consent elements, readability, forbidden claims, notices to review."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..assemble.assembly import Trace
from ..assemble.selection import notice_rules
from ..content import ELEMENTS, RESEARCH_ELEMENTS
from ..document import Form, Signatures
from ..library.loader import Library
from ._claim_model import RULE_ID as RESEMBLES, load_model
from ._claim_text import fold, guess_language
from ._claims import ENGLISH, ClaimHit, ClaimRule, scan, split_sentences
from ._legal import legal_position
from ._readability import CHINESE, as_prose, scores, word_count
from ._report import Figure, Finding, Report
from ._settings import settings_for

WHOLE_FORM = "(whole form)"


def coverage(form: Form, library: Library) -> list[Finding]:
    """Every basic element is covered (and every research element, on a form with a study), and the
    first section is the key-information section."""
    out: list[Finding] = []
    spec = library.treatments[form.manifest.treatment_id]
    covered = {el for ref in form.manifest.clauses for el in library.clauses[ref.id].elements}
    for element in ELEMENTS + (RESEARCH_ELEMENTS if form.manifest.study else ()):
        if element not in covered:
            why = " (the clinic lists a study)" if element in RESEARCH_ELEMENTS else ""
            out.append(Finding(
                "coverage.element-missing", "error",
                f"no clause of the form covers the consent element {element!r}{why}",
                file=spec.path, line=1, treatment=spec.id, language=form.language,
            ))
    first = library.clauses[form.manifest.clauses[0].id] if form.manifest.clauses else None
    if first is None or "key-information" not in first.elements:
        out.append(Finding(
            "coverage.key-information-first", "error",
            "the first section must be the key-information section (45 CFR 46.116(a)(5)(i))",
            clause=first.id if first else None, file=spec.path, line=1, treatment=spec.id, language=form.language,
        ))
    return out


def signers(form: Form, library: Library) -> list[Finding]:
    """A minor's form (``manifest.minor``) is signed by a parent or legal guardian: its signature section has
    the guardian's block (the representative's, titled for the guardian), and a line for the patient's
    assent exactly when the manifest says so. (A form with no signature block at all is no one's to sign,
    an adult's no more than a minor's: nothing is reported.)"""
    minor = form.manifest.minor
    parties = [p for s in form.sections for b in s.blocks if isinstance(b, Signatures) for p in b.parties]
    if minor is None or not parties:
        return []
    labels = library.labels.get(form.language, {})
    where = {"treatment": form.manifest.treatment_id, "language": form.language}
    who = f"the patient is a minor (under {minor.age_of_majority}, the age of majority in {minor.state})"
    out = []
    guardians = [p for p in parties if p.role == "representative"]
    if not guardians or any(p.title != labels.get("minor_guardian") for p in guardians):
        out.append(Finding(
            "coverage.guardian-signature", "error",
            f"{who}, but the form has no signature block for a parent or legal guardian: the clause with the "
            "signatures block must list representative (signatures: [patient, representative, ...])",
            **where,
        ))
    if any(p.role == "patient" for p in parties) != minor.assent:
        has = "has" if minor.assent else "has no"
        out.append(Finding(
            "coverage.assent-line", "error",
            f"{who}, and the clinic's setting (minors.assent_from_age) says the form {has} a line for the "
            "patient's assent, but its signature section does not match",
            **where,
        ))
    return out


def _threshold_findings(
    fig: Figure, limits: dict[str, float], scope_key: str, trace: Trace | None, form: Form
) -> list[Finding]:
    out: list[Finding] = []
    checks = (
        ("max_grade", "fk-grade", lambda v, lim: v > lim, "Flesch-Kincaid grade {v} is above {lim}"),
        ("min_ease", "reading-ease", lambda v, lim: v < lim, "Flesch Reading Ease {v} is below {lim}"),
    )
    if form.language == "es":
        checks = (("min_ease", "szigriszt-pazos", lambda v, lim: v < lim, "Szigriszt-Pazos {v} is below {lim}"),)
    if form.language in CHINESE:
        checks = (
            ("max_sentence_chars", "sentence-chars-mean", lambda v, lim: v > lim,
             "sentences average {v} characters, above {lim}"),
            ("max_longest_sentence_chars", "sentence-chars-max", lambda v, lim: v > lim,
             "the longest sentence has {v:.0f} characters, above {lim}"),
        )
    for suffix, formula, bad, template in checks:
        limit = limits.get(f"{scope_key}_{suffix}")
        if limit is None or formula not in dict(fig.scores):
            continue
        value = fig.score(formula)
        if bad(value, limit):
            kind = ("longest-sentence" if "longest" in suffix else "sentence-length" if "sentence" in suffix
                    else "grade" if "grade" in suffix else "ease")
            rule = f"readability.{scope_key.replace('_', '-')}-{kind}"
            out.append(Finding(
                rule, "error", template.format(v=value, lim=limit),
                clause=None if fig.scope == WHOLE_FORM else fig.scope,
                file=trace.path if trace else None, line=trace.line if trace else None,
                treatment=form.manifest.treatment_id, language=form.language,
            ))
    return out


def readability(form: Form, trace: Sequence[Trace], library: Library) -> tuple[list[Finding], list[Figure]]:
    settings, _ = settings_for(library)
    limits = dict(settings.readability.get(form.language, {}))
    by_clause: dict[str, list[Trace]] = defaultdict(list)
    for t in trace:
        if t.where != "title" and not t.verbatim and t.prose:
            by_clause[t.clause_id].append(t)
    findings: list[Finding] = []
    figures: list[Figure] = []
    whole: list[str] = []
    for ref in form.manifest.clauses:
        pieces = by_clause.get(ref.id)
        if not pieces:
            continue
        text = as_prose([p.text for p in pieces])
        whole.append(text)
        fig = Figure(form.manifest.treatment_id, form.language, ref.id, word_count(text, form.language),
                     scores(text, form.language))
        figures.append(fig)
        key = "key_information" if ref.id == "key-information" else "clause"
        findings += _threshold_findings(fig, limits, key, pieces[0], form)
    text = " ".join(whole)
    fig = Figure(form.manifest.treatment_id, form.language, WHOLE_FORM, word_count(text, form.language),
                 scores(text, form.language))
    figures.append(fig)
    findings += _threshold_findings(fig, limits, "form", None, form)
    if form.language in CHINESE:  # say what the check could not do, on every such form
        findings.append(Finding(
            "readability.sentence-length-only", "warning",
            "no established grade-level or reading-ease measure exists for Chinese patient text, so this form "
            "was checked for sentence length only (characters per sentence: "
            f"mean {fig.score('sentence-chars-mean')}, longest {fig.score('sentence-chars-max'):.0f}); "
            "a qualified medical translator must still review its plain language",
            treatment=form.manifest.treatment_id, language=form.language,
        ))
    return findings, figures


@functools.lru_cache(maxsize=16384)  # most strings are the same on every form of a batch
def _scan(text: str, rules: tuple[ClaimRule, ...], language: str) -> tuple[ClaimHit, ...]:
    return tuple(scan(text, rules, language))


def claims(
    trace: Sequence[Trace],
    rules: Sequence[ClaimRule],
    acknowledge: dict[str, str],
    *,
    treatment: str | None = None,
    language: str | None = None,
    second_reader: bool = False,
) -> list[Finding]:
    """Forbidden claims and exculpatory wording in every rendered string (of a form, or of a clause).

    The strings are read as text of a form in ``language`` (English when not given): with that
    language's patterns, and for another language also with the English ones. With ``second_reader``
    (the setting of that name), every sentence no rule flagged is also scored by the claims model, and
    one that reads like a claim is a ``claim.resembles`` warning.
    """
    out: list[Finding] = []
    for t in trace:
        hits = _scan(t.text, tuple(rules), language or ENGLISH)
        for hit in hits:
            out.append(Finding(
                hit.rule.id, hit.rule.severity, hit.rule.title, clause=t.clause_id, file=t.path, line=t.line,
                text=hit.sentence.strip(), treatment=treatment, language=language,
                acknowledged=acknowledge.get(hit.rule.id) if hit.rule.acknowledgeable else None,
            ))
        if not second_reader or not t.prose:  # a table cell ("The product and the procedure") is not a sentence
            continue
        for sentence, score, threshold in _resembling(t.text, frozenset(h.sentence for h in hits), language or ENGLISH):
            out.append(Finding(
                RESEMBLES, "warning",
                f"no rule matched this sentence, but it reads like a forbidden claim to the second reader (a model "
                f"trained on labelled claims; score {score:.2f}, flags from {threshold:.2f}): have a person read it, "
                "and reword it if it claims approval, a cure, a set result, safety or a release from liability",
                clause=t.clause_id, file=t.path, line=t.line, text=sentence, treatment=treatment, language=language,
            ))
    return out


@functools.lru_cache(maxsize=16384)
def _resembling(text: str, flagged: frozenset[str], language: str) -> tuple[tuple[str, float, float], ...]:
    """``(sentence, score, threshold)`` of each sentence of ``text`` that no rule flagged and the claims
    model (:mod:`._claim_model`) scores at or above its threshold. A sentence is read by the model of the
    form's language, or by the English one when it is English text on a form in another language."""
    models = load_model()
    out = []
    for _, sentence in split_sentences(text):
        if sentence in flagged:
            continue
        reading = language if language in models else None
        if language != ENGLISH and guess_language(fold(sentence)) == ENGLISH:
            reading = ENGLISH
        if reading is None:
            continue
        model = models[reading]
        if model.flags(sentence):
            out.append((sentence, model.score(sentence), model.threshold))
    return tuple(out)


STUDY_WORDS = {"ind": "an FDA IND", "ide": "an FDA IDE", "irb": "an IRB overseeing it (a clinical trial)"}
EXEMPTION_WORDS = {
    "ind": "the clinic's study has an FDA IND (clinic.study.ind_number)",
    "ide": "the clinic's study has an FDA IDE (clinic.study.ide_number)",
    "irb": "the clinic's study has an IRB (clinic.study.irb_name)",
    "ind-holder": "the clinic states that its provider holds the study's FDA IND (clinic.study.ind_holder)",
    "ide-holder": "the clinic states that its provider holds the study's FDA IDE (clinic.study.ide_holder)",
    "accredited-institution": "the clinic states that its provider gives the treatment on behalf of an "
                              "accredited institution (clinic.accredited_institution)",
}
HOLDER_OF = {"ind": ("ind-holder", "IND", "clinic.study.ind_holder"),
             "ide": ("ide-holder", "IDE", "clinic.study.ide_holder")}


def notices(form: Form, library: Library) -> list[Finding]:
    """State notices whose wording counsel has not confirmed yet, and the state rules of the form's
    clinic: a notice left out because the treatment is not given in the kind of study its law covers
    (warning) or because the clinic states an exemption (warning, naming the law, so counsel sees why);
    an exemption the clinic's study may have but does not state (warning); a treatment, a provider or a
    facility the state's law does not allow (error); what the law also requires that the inputs cannot
    show (warning)."""
    out = []
    scope: dict[str, Any] = {"treatment": form.manifest.treatment_id, "language": form.language}
    for ref in form.manifest.clauses:
        clause = library.clauses[ref.id]
        if clause.review == "required":
            out.append(Finding(
                "notice.review-required", "warning",
                "the wording of this notice is not fixed by law here; have counsel confirm it, then set "
                "'review: confirmed' in a pack copy of the clause",
                clause=clause.id, file=clause.path, line=1, **scope,
            ))
    j = form.jurisdiction
    if j is None:
        return out
    credentials = set(re.findall(r"[A-Z]+", j.provider_credentials.upper().replace(".", "")))
    for rule in notice_rules(library, j.state, j.study, j.stated):
        clause = rule.clause
        where: dict[str, Any] = {"clause": clause.id, "file": clause.path, "line": 1, **scope}
        law = f"{j.state} law ({clause.citation})" if clause.citation else f"{j.state} law"
        if rule.left_out == "not-applicable":
            needs = " or ".join(STUDY_WORDS[k] for k in clause.only_with)
            out.append(Finding(
                "notice.not-applicable", "warning",
                f"the {j.state} notice is left out of this form: {law} covers only treatment given in a study "
                f"with {needs}, and this clinic records none (clinic.study). "
                f"{clause.outside_study or 'What the law allows outside such a study is not checked here'}: "
                f"have counsel confirm this treatment may be given in {j.state}",
                **where,
            ))
        if rule.left_out == "exempt":
            out.append(Finding(
                "notice.exempt", "warning",
                f"the {j.state} notice is left out of this form and the rules of {law} are not checked: "
                f"{'; '.join(EXEMPTION_WORDS[k] for k in rule.because)}, and that law does not apply then. "
                "Have counsel confirm the exemption holds for this treatment",
                **where,
            ))
        if rule.left_out:
            continue
        unstated = [HOLDER_OF[k] for k in ("ind", "ide") if k in j.study and HOLDER_OF[k][0] in clause.exempt_when]
        hint = "".join(
            f" If the clinic's provider holds the study's FDA {what} itself, this law does not apply: state it "
            f"({field}: true)." for _, what, field in unstated)
        for _, what, field in unstated:
            out.append(Finding(
                "notice.exemption-not-stated", "warning",
                f"the {j.state} notice stays on this form although the clinic's study has an FDA {what}: {law} "
                f"exempts only the practitioner who holds it, and the clinic does not say its provider does "
                f"({field}: true)",
                **where,
            ))
        if clause.specialties and j.specialty not in clause.specialties:
            got = f"its specialty is {j.specialty!r}" if j.specialty else "its treatment file names no specialty"
            out.append(Finding(
                "notice.specialty-not-allowed", "error",
                f"{law} allows this therapy only in {', '.join(clause.specialties)}; the "
                f"{form.manifest.treatment_id} treatment cannot be offered there ({got}).{hint}".rstrip("."),
                **where,
            ))
        if clause.providers and not credentials & set(clause.providers):
            out.append(Finding(
                "notice.provider-not-allowed", "error",
                f"{law} allows only a provider with {' or '.join(clause.providers)} credentials to give this "
                f"therapy; the clinic's provider has {j.provider_credentials!r}.{hint}".rstrip("."),
                **where,
            ))
        if clause.facilities and j.facility is None:
            out.append(Finding(
                "notice.facility-unknown", "warning",
                f"{law} allows this treatment only at a {_either(clause.facilities)}; this form cannot tell "
                f"where the clinic gives it: state it (clinic.facility)",
                **where,
            ))
        elif clause.facilities and j.facility not in clause.facilities:
            out.append(Finding(
                "notice.facility-not-allowed", "error",
                f"{law} allows this treatment only at a {_either(clause.facilities)}; the clinic gives it "
                f"at a {j.facility.replace('-', ' ')} (clinic.facility)",
                **where,
            ))
        if clause.unchecked:
            out.append(Finding(
                "notice.unchecked", "warning",
                f"{law} also requires what this form's inputs cannot show; have counsel confirm: "
                f"{'; '.join(clause.unchecked)}",
                **where,
            ))
    return out


def _either(kinds: Sequence[str]) -> str:
    """``hospital, ambulatory surgical center or medical school``."""
    words = [k.replace("-", " ") for k in kinds]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def check_form(form: Form, trace: Sequence[Trace], library: Library) -> Report:
    """Every check that applies to one assembled form (the ones `render` enforces)."""
    settings, _ = settings_for(library)
    findings = coverage(form, library) + signers(form, library)
    more, figures = readability(form, trace, library)
    findings += more
    findings += claims(trace, settings.rules, dict(settings.acknowledge),
                       treatment=form.manifest.treatment_id, language=form.language,
                       second_reader=settings.second_reader)
    findings += notices(form, library)
    findings += legal_position(form, dict(settings.acknowledge))
    return Report(tuple(findings), tuple(figures), len(settings.rules))
