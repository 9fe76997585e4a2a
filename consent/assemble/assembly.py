"""Assemble stage: treatment + clauses + inputs -> one :class:`~consent.document.Form`.

Every clause string is rendered in a Jinja sandbox with strict undefined, so a misspelt variable in a
clinic's clause is an error naming the file and line, never a blank in a signed document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._jinja_data import template_data
from .._text import TemplateError, render_text
from ..content import ClauseSpec, RawBlock
from ..document import (
    Block,
    BulletList,
    Checklist,
    ChecklistRow,
    ClauseRef,
    FactRow,
    FeeTable,
    Form,
    Header,
    Heading,
    Jurisdiction,
    Manifest,
    Minor,
    Notice,
    Paragraph,
    ProductTable,
    Section,
    SignatureParty,
    Signatures,
    content_id,
)
from ..errors import ContentError, InputError, Problem
from ..inputs.language_assistance import tagline_lines
from ..inputs.loaders import (
    Clinic,
    Patient,
    Screening,
    study_language_problems,
    validate_inputs,
)
from ..inputs.majority import minor_on
from ..library.loader import DEFAULT_LANGUAGE, Library, get_library
from ..library.treatments import TreatmentSpec
from .clinic import ClinicTerms, require_terms
from .selection import (  # LanguageFallbackWarning: consent.assemble.assembly.LanguageFallbackWarning, as before
    LanguageFallbackWarning,  # noqa: F401
    choose_language,
    clause_order,
    stated_exemptions,
    study_kinds,
)
from .values import clause_context

STATE_NOTICE_PT = 12.0
"""Type size of a state notice's words, in the PDF and the DOCX alike, unless its clause asks for more
(``min_type_pt``)."""


@attrs.frozen
class Trace:
    """Where one rendered string of the form came from, so checks can name the file and line."""

    clause_id: str
    path: str
    line: int | None
    where: str
    text: str
    verbatim: bool = False
    prose: bool = True  # False for the clinic's own words in a table: scanned for claims, not scored


class _Builder:
    """Renders the blocks of each clause, collecting every problem instead of stopping at the first."""

    def __init__(self, context: Mapping[str, Any], labels: Mapping[str, str], treatment: TreatmentSpec,
                 terms: ClinicTerms, patient: Patient, screening: Screening, locale: str,
                 minor: tuple[Minor, str] | None = None) -> None:
        self.context = context
        self.minor = minor  # a minor's form: the record and the state's name in the form's language
        self.labels = labels
        self.treatment = treatment
        self.terms = terms
        self.patient = patient
        self.screening = screening
        self.locale = locale
        self.problems: list[Problem] = []
        self.questions: set[str] = set()
        self.trace: list[Trace] = []
        self.clause: ClauseSpec | None = None
        self.courtesy = False  # rendering the courtesy translation of a notice whose words are the law's
        self.gloss: str | None = None  # what the notice's (English) citation is, in the form's language

    def text(self, source: str, where: str, line: int | None, path: str, *, verbatim: bool = False) -> str:
        try:
            out = render_text(source, self.context)
        except TemplateError as exc:
            self.problems.append(Problem(f"{where}: {exc.message or exc}", path=path, line=line))
            return ""
        if out and self.clause is not None:
            self.trace.append(Trace(self.clause.id, path, line, where, out, self.clause.verbatim or verbatim))
        return out

    def label(self, key: str) -> str:
        try:
            return self.labels[key]
        except KeyError:
            self.problems.append(Problem(f"label {key!r} is missing from the labels file"))
            return ""

    def section(self, clause: ClauseSpec, statutory: ClauseSpec | None = None) -> Section:
        """Render one clause. ``statutory`` is the English clause of a notice whose words are fixed by
        law: its notice is printed verbatim first, then this clause's text as a courtesy translation."""
        self.clause = clause
        self.gloss = clause.citation_gloss
        blocks: list[Block] = []
        if statutory is not None:
            self.clause = statutory
            # The law's own words are English: marked so (a screen reader reads them as English).
            blocks += [attrs.evolve(b, language=DEFAULT_LANGUAGE) for raw in statutory.body
                       if raw.kind == "notice" and isinstance(b := self.block(raw, statutory), Notice)]
            self.clause = clause
            # The label says where the law's English words are: just above, or on the page before when
            # the notice has a page of its own (Utah).
            own_page = any(isinstance(b, Notice) and b.own_page for b in blocks)
            key = "courtesy_translation_own_page" if own_page else "courtesy_translation"
            blocks.append(Heading(self.label(key)))
        problems = len(self.problems)
        self.courtesy = statutory is not None
        for raw in clause.body_for(self.treatment.id):
            block = self.block(raw, clause)
            if block is not None:
                blocks.append(block)
        if not blocks and len(self.problems) == problems:  # never print an empty section
            self.problems.append(Problem(
                f"clause {clause.id!r} has no text on this form (every block is empty)", path=clause.path, line=1
            ))
        self.courtesy = False
        if self.minor is not None and any(isinstance(b, Signatures) for b in blocks):
            blocks = self.minor_signatures(blocks)
        title = self.text(clause.title, "title", None, clause.path)
        return Section(clause.id, clause.version, title, tuple(blocks), clause.initials, clause.kind)

    def minor_signatures(self, blocks: list[Block]) -> list[Block]:
        """A minor's signature section: first, who signs (a parent or legal guardian, for a patient under the
        age of majority of the clinic's state); then each signature block with the parent or guardian in
        place of the representative, required and first, and the patient's line as the patient's optional
        assent, or left out (``Minor.assent``). The field names stay ``representative.*`` and
        ``patient.*``."""
        assert self.minor is not None
        minor, state = self.minor
        try:
            who = render_text(self.label("minor_signers"), {**self.context, **template_data(
                {"minor": {"age_of_majority": str(minor.age_of_majority), "state": state}})})
        except TemplateError as exc:
            self.problems.append(Problem(f"label 'minor_signers': {exc.message or exc}"))
            who = ""
        out: list[Block] = [Paragraph(who)] if who else []
        for block in blocks:
            out.append(attrs.evolve(block, parties=self.minor_parties(block.parties))
                       if isinstance(block, Signatures) else block)
        return out

    def minor_parties(self, parties: Sequence[SignatureParty]) -> tuple[SignatureParty, ...]:
        assert self.minor is not None
        first = next((i for i, p in enumerate(parties) if p.role in ("patient", "representative")), None)
        guardian = any(p.role == "representative" for p in parties)
        out: list[SignatureParty] = []
        for i, party in enumerate(parties):
            if i == first and guardian:  # the guardian takes the first of the two places
                out.append(self.party("representative", "minor_guardian"))
            if party.role == "patient" and self.minor[0].assent:
                out.append(self.party("patient", "minor_assent"))
            elif party.role not in ("patient", "representative"):
                out.append(party)
        return tuple(out)

    def block(self, raw: RawBlock, clause: ClauseSpec) -> Block | None:
        def t(source: str) -> str:
            return self.text(source, raw.path, raw.line, clause.path, verbatim=raw.verbatim)

        if raw.kind in ("p", "strong"):
            text = t(str(raw.value))
            return Paragraph(text, "strong" if raw.kind == "strong" else "body") if text else None
        if raw.kind == "h":
            text = t(str(raw.value))
            return Heading(text) if text else None
        if raw.kind == "notice":
            if clause.kind != "state-notice":
                return Notice(t(str(raw.value)))
            if self.courtesy:  # a translation of the law's words: an ordinary notice, marked as a courtesy
                return Notice(t(str(raw.value)), type_pt=STATE_NOTICE_PT)
            citation = f"{clause.citation} ({self.gloss})" if clause.citation and self.gloss else clause.citation
            return Notice(t(str(raw.value)), citation, clause.wording,
                          max(clause.min_type_pt or 0, STATE_NOTICE_PT), clause.own_page)
        if raw.kind == "ul_from" and str(raw.value).startswith("study."):
            # The clinic's own words: printed as given (never run as a template), traced for the claims check.
            study = self.context["study"]
            texts = tuple(study[str(raw.value).split(".")[1]]) if study is not None else ()
            self.clinic_words(raw, clause, texts)
            return BulletList(texts) if texts else None
        if raw.kind in ("ul", "ul_from"):
            items = raw.value if raw.kind == "ul" else getattr(self.treatment, str(raw.value).split(".")[1])
            rendered = tuple(x for x in (t(i) for i in items) if x)
            return BulletList(rendered) if rendered else None
        if raw.kind == "checklist":
            return self.checklist(clause, t)
        if raw.kind == "fees":
            return self.fees(raw, clause)
        if raw.kind == "product":
            return self.product(raw, clause)
        if raw.kind == "signatures":
            return Signatures(tuple(self.party(role) for role in raw.value))
        raise AssertionError(f"unhandled block kind {raw.kind}")  # parse_clause allows no other kind

    def checklist(self, clause: ClauseSpec, t: Any) -> Checklist:
        rows = []
        for item in (*clause.screening, *self.treatment.screening):
            self.questions.add(item.id)
            rows.append(ChecklistRow(item.id, t(item.question), self.screening.answers.get(item.id)))
        return Checklist(self.label("checklist_question"), self.label("yes"), self.label("no"), tuple(rows))

    def clinic_words(self, raw: RawBlock, clause: ClauseSpec, texts: Sequence[str]) -> None:
        """Trace the clinic's own words in a table, so the claims check reads them too."""
        self.trace += [Trace(clause.id, clause.path, raw.line, raw.path, t, prose=False) for t in texts if t]

    def product(self, raw: RawBlock, clause: ClauseSpec) -> ProductTable:
        p = self.terms.product
        self.clinic_words(raw, clause, (p.source_tissue, p.donor_screening))
        return ProductTable((
            FactRow(self.label("product_maker"), p.maker),
            FactRow(self.label("product_source_tissue"), p.source_tissue),
            FactRow(self.label("product_donor_screening"), p.donor_screening),
            FactRow(self.label("product_lot_number"), p.lot_number or "",
                    None if p.lot_number else self.label("product_fill_in")),
        ))

    def fees(self, raw: RawBlock, clause: ClauseSpec) -> FeeTable:
        fees = self.terms.fees
        c = self.context["fees"]
        self.clinic_words(raw, clause, (*fees.included, *fees.excluded))
        return FeeTable(
            item_header=self.label("fee_item"),
            amount_header=self.label("fee_amount"),
            rows=((self.label("fee_per_session"), c["per_session"]), (self.label("fee_sessions"), c["sessions"])),
            total=(self.label("fee_total"), c["total"]),
            included_label=self.label("fee_included"),
            included=fees.included,
            excluded_label=self.label("fee_excluded"),
            excluded=fees.excluded,
        )

    def party(self, role: str, title: str | None = None) -> SignatureParty:
        """The signature block of ``role``, titled with the label ``sig_<role>`` (or ``title``, and its note
        ``<title>_note``)."""
        name = self.label("sig_name")
        sign, date, time = self.label("sig_signature"), self.label("sig_date"), self.label("sig_time")
        prefill = {"patient": self.patient.full_name, "provider": self.context["provider"]["line"]}
        fields: list[tuple[str, str]] = [(name, prefill.get(role, ""))]
        if role == "representative":
            fields.append((self.label("sig_relationship"), ""))
        fields += [(sign, ""), (date, ""), (time, "")]
        key = title or f"sig_{role}"
        note = self.label(f"{key}_note") if title else self.labels.get(f"{key}_note")
        return SignatureParty(role, self.label(key), note, tuple(fields))


_ASSEMBLY_LABELS = ("minor_", "language_assistance_")


def form_labels(labels: Mapping[str, str], initials: str | None = None) -> dict[str, str]:
    """The labels a form carries (and prints around its clauses): without the ``minor_*`` texts, which go
    into a minor's form as it is assembled, nor the ``language_assistance_*`` ones (the page of taglines'
    title is its section's). ``initials``: the label of the initials lines, on a minor's form
    the parent's or guardian's."""
    out = {key: value for key, value in labels.items() if not key.startswith(_ASSEMBLY_LABELS)}
    if initials:
        out["initials"] = initials
    return out


def finish_form(sections: Sequence[Section], form: Form, manifest: Manifest) -> Form:
    form_id = content_id(sections, title=form.title, header=form.header, date=form.date, manifest=manifest)
    return attrs.evolve(form, form_id=form_id, manifest=manifest)


def assemble(
    treatment: str,
    *,
    patient: Patient,
    clinic: Clinic,
    date: dt.date | None = None,
    screening: Screening | Mapping[str, bool] | None = None,
    language: str | None = None,
    packs: Sequence[str | Path] = (),
    large_print: bool = False,
) -> tuple[Form, list[Trace]]:
    """Fill in the clauses: the form (unchecked) and where each of its strings came from. ``large_print``:
    the form is to be printed large (recorded in its manifest; the renderers follow it).

    The steps, in order: check the inputs and load the library; see whether the patient is a minor and
    choose the form's language; gather what the clauses are filled in with (:func:`_gather`); fill in
    each clause (:func:`_fill_in_clauses`); refuse the form if anything went wrong
    (:func:`_raise_problems`); put the form together around its sections (:func:`_put_together`)."""
    date = dt.date.today() if date is None else date
    validate_inputs(patient, clinic, date)
    screening = _as_screening(screening)
    library = get_library(packs)
    library.raise_problems()
    minor = minor_on(patient.birth_date, date, clinic.state, library.majority, clinic.minors.assent_from_age)
    # Chosen here, not in a step: its fallback warning (stacklevel=3) names the caller of assemble.
    lang = choose_language(library, language, patient)
    taglines = tagline_lines(library.language_assistance, clinic)  # before the work: no list is an error
    sources = _gather(library, treatment, patient, clinic, date, lang, minor)
    builder = _new_builder(sources, screening)
    sections, refs = _fill_in_clauses(builder, sources)
    if taglines:
        sections.append(_language_page(builder, library, taglines))
    # Before the problems are raised: a missing label is one of them.
    initials = None if minor is None else builder.label("minor_initials")
    _raise_problems(builder, screening)
    form = _put_together(sources, sections, refs, initials, packs)
    if large_print:
        form = finish_form(form.sections, form, attrs.evolve(form.manifest, large_print=True))
    return form, builder.trace


@attrs.frozen
class _Sources:
    """What one form is filled in from, once the inputs are checked and the form's language chosen."""

    library: Library
    spec: TreatmentSpec  # the treatment, in the form's language
    patient: Patient
    clinic: Clinic
    date: dt.date
    language: str
    locale: str
    labels: Mapping[str, str]
    terms: ClinicTerms  # what the clinic's file gives for the treatment
    context: Mapping[str, Any]  # what clause text is given (clause_context)
    minor: Minor | None  # the patient is a minor on the form's date (None: an adult)


def _as_screening(screening: Screening | Mapping[str, bool] | None) -> Screening:
    """The screening answers as a :class:`Screening` (none given: no answers)."""
    if screening is None:
        return Screening()
    if not isinstance(screening, Screening):
        return Screening(dict(screening))
    return screening


def _gather(library: Library, treatment: str, patient: Patient, clinic: Clinic, date: dt.date, lang: str,
            minor: Minor | None) -> _Sources:
    """The treatment, labels and locale of ``lang``, the clinic's terms and the clause context. Raises
    :class:`~consent.InputError` when the clinic's study has no text in ``lang``, the treatment is unknown
    or the clinic's file does not cover it."""
    if problems := study_language_problems(clinic.study, lang):
        raise InputError(problems=problems)
    spec = library.treatment(treatment, lang)
    labels = library.label_set(lang)
    locale = library.locale(lang)
    terms = require_terms(clinic, spec, lang)
    context = clause_context(spec, patient, clinic, terms, date, locale, approved=library.approved_products,
                             language=lang)
    return _Sources(library, spec, patient, clinic, date, lang, locale, labels, terms, context, minor)


def _new_builder(sources: _Sources, screening: Screening) -> _Builder:
    """The builder of the form's sections; on a minor's form it also knows the state's name in the form's
    language (for the line that says who signs)."""
    minor, lang = sources.minor, sources.language
    signers = None if minor is None else (minor, sources.library.majority[minor.state].name_in(lang))
    return _Builder(sources.context, sources.labels, sources.spec, sources.terms, sources.patient, screening,
                    sources.locale, signers)


def _fill_in_clauses(builder: _Builder, sources: _Sources) -> tuple[list[Section], list[ClauseRef]]:
    """Each clause of the form (:func:`clause_order`) filled in, and the reference the manifest keeps of it.
    A clause whose words are fixed by law, on a form not in English, is its English notice (verbatim)
    followed by its courtesy translation."""
    library, lang = sources.library, sources.language
    sections, refs = [], []
    for cid in clause_order(library, sources.spec, sources.clinic):
        clause = library.clause(cid, lang)
        statutory = library.clause(cid) if clause.verbatim and lang != DEFAULT_LANGUAGE else None
        sections.append(builder.section(clause, statutory))
        refs.append(ClauseRef(clause.id, clause.version, clause.source, clause.language))
    return sections, refs


LANGUAGE_PAGE = "language-assistance"
"""The clause id and kind of the page of language-assistance taglines (45 CFR 92.11): the last section of a
form whose clinic asks for it (``clinic.language_assistance``), on a page of its own. It is no clause of
the library (the manifest's clauses do not list it); its version is the taglines file's."""


def _language_page(builder: _Builder, library: Library, taglines: Sequence[tuple[str, str]]) -> Section:
    """The page of taglines: English, then the state's languages, each line a paragraph in its language."""
    blocks = tuple(Paragraph(text, lang=tag) for tag, text in taglines)
    return Section(LANGUAGE_PAGE, library.language_assistance.version, builder.label("language_assistance_title"),
                   blocks, kind=LANGUAGE_PAGE)


def _raise_problems(builder: _Builder, screening: Screening) -> None:
    """Refuse the form: :class:`~consent.InputError` for a screening answer to no question on it, else
    :class:`~consent.ContentError` with every problem met while filling in the clauses."""
    unknown = sorted(set(screening.answers) - builder.questions)
    if unknown:
        raise InputError(
            problems=[
                Problem(
                    f"screening answer {u!r} matches no question on this form "
                    f"(questions: {', '.join(sorted(builder.questions))})"
                )
                for u in unknown
            ]
        )
    if builder.problems:
        raise ContentError(f"{len(builder.problems)} problem(s) while filling in the clauses", problems=builder.problems)


def _put_together(sources: _Sources, sections: list[Section], refs: list[ClauseRef], initials: str | None,
                  packs: Sequence[str | Path]) -> Form:
    """The form around its filled-in sections: title, header, labels, manifest, jurisdiction, and its id.
    ``initials``: the label of the initials lines on a minor's form (:func:`form_labels`)."""
    spec, clinic = sources.spec, sources.clinic
    title = render_text(sources.labels["form_title"], sources.context)
    header = _header(sources)
    manifest = _manifest(sources, refs)
    form = Form(
        form_id="",
        title=title,
        language=sources.language,
        locale=sources.locale,
        date=sources.date,
        header=header,
        labels=form_labels(sources.labels, initials),
        sections=tuple(sections),
        manifest=manifest,
        packs=tuple(str(Path(p).resolve()) for p in packs),
        jurisdiction=_jurisdiction(clinic, spec),
    )
    return finish_form(sections, form, manifest)


def _jurisdiction(clinic: Clinic, spec: TreatmentSpec) -> Jurisdiction:
    """What the checks of state rules and of the clinic's legal position read from the clinic."""
    fees = clinic.fee_schedule(spec.id)
    study = clinic.study
    return Jurisdiction(
        clinic.state.upper(), clinic.provider.credentials, study_kinds(study), spec.specialty,
        stated=stated_exemptions(clinic), facility=clinic.facility,
        charges=fees is not None and fees.price_per_session > 0,
        charging_authorized=study is not None and bool(study.charging_authorization),
    )


def _header(sources: _Sources) -> Header:
    """The form's header: the clinic, and the patient (birth date written out for the locale)."""
    clinic, patient = sources.clinic, sources.patient
    return Header(
        clinic_name=clinic.name,
        clinic_address=clinic.address,
        clinic_phone=clinic.phone,
        patient_name=patient.full_name,
        birth_date=sources.context["patient"]["birth_date"],
        mrn=patient.mrn,
    )


def _manifest(sources: _Sources, refs: list[ClauseRef]) -> Manifest:
    """What went into the form: the treatment and each clause (ids and versions), the language, the template
    version, whether the clinic lists a study, and the minor's record (None for an adult)."""
    return Manifest(
        treatment_id=sources.spec.id,
        treatment_version=sources.spec.version,
        language=sources.language,
        template_version=sources.library.template_version,
        clauses=tuple(refs),
        study=sources.clinic.study is not None,
        minor=sources.minor,
    )
