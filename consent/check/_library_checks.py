"""Checks of the clause library itself: file structure, clause lists, variables, translations."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs
from jinja2 import TemplateSyntaxError, nodes

from .._text import text_env
from ..assemble.clinic import ClinicProblem, ClinicTerms, require_terms
from ..assemble.values import clause_context
from ..approved_products import ApprovedProducts
from ..content import TREATMENT_TEXT_FIELDS, ClauseSpec
from ..errors import Problem
from ..inputs.loaders import Clinic, FeeSchedule, Patient, Procedure, Product, Provider, Study
from ..library.loader import DEFAULT_LANGUAGE, Library
from ..library.treatments import TreatmentSpec
from ._report import Finding

SAMPLE_PATIENT = Patient(full_name="Alex Sample", birth_date=dt.date(1980, 4, 30), mrn="MRN-0001")


STOCK_TREATMENTS = ("knee-injection", "iv-infusion", "hair")


@functools.lru_cache(maxsize=8)
def sample_clinic(language: str = "en") -> Clinic:
    """The stand-in clinic of the library check (``consent check`` without ``--clinic``), with its text in
    English, Spanish and ``language``: the library check is about the clauses. A clinic checks its own
    data with ``consent check --clinic FILE``."""

    def text(en: str, es: str, zh: str) -> dict[str, str]:
        given = {"en": en, "es": es, "zh-Hans": zh}
        return {**given, **({} if language in given else {language: en})}

    product = Product(
        maker="Sample Biologics, Inc.",
        source_tissue=text("Stem cells from donated umbilical cord tissue, grown in a lab",
                           "Células madre de tejido de cordón umbilical donado, cultivadas en un laboratorio",
                           "捐献的脐带组织中的干细胞，在实验室里培养"),
        donor_screening=text("HIV, hepatitis B and C, syphilis, and HTLV", "VIH, hepatitis B y C, sífilis y HTLV",
                             "艾滋病病毒、乙肝和丙肝、梅毒和 HTLV"),
    )
    return Clinic(
        name="Sample Clinic",
        address="1 Main Street, Boise, ID 83702",
        phone="(208) 555-0100",
        state="ID",  # a state with no notice: notices are checked on their own
        provider=Provider(name="Jordan Sample", credentials="MD"),
        fees=FeeSchedule(price_per_session=Decimal("1000"), planned_sessions=2,
                         included=(text("The product", "El producto", "产品"),),
                         excluded=(text("Imaging", "Estudios de imagen", "影像检查"),)),
        products={treatment: product for treatment in STOCK_TREATMENTS},
    )


SAMPLE_CLINIC = sample_clinic()
SAMPLE_DATE = dt.date(2026, 1, 15)

# The study variant of every form: an IRB-approved study with no IND (so the form must say there is none;
# the legal.* findings of this sample study are not the clinic's and are not reported),
# an applicable clinical trial with its NCT number, and data that may be used again once de-identified.
_SAMPLE_STUDY_TEXTS = {  # language -> (purpose, duration): the clinic writes them in each form language
    "en": ("To learn if the treatment is safe, and if it helps.", "about 6 months"),
    "es": ("Saber si el tratamiento es seguro y si ayuda.", "unos 6 meses"),
    "zh-Hans": ("了解这项治疗是否安全、是否有用。", "大约 6 个月"),
}
_SAMPLE_PROCEDURES = {  # language -> (experimental, not experimental, sample)
    "en": ("The study treatment.", "A checkup and a short survey at each visit.", "A small tube of blood at each visit."),
    "es": ("El tratamiento del estudio.", "Un chequeo y una encuesta corta en cada visita.",
           "Un tubo pequeño de sangre en cada visita."),
    "zh-Hans": ("研究用的治疗。", "每次来诊所时做一次检查和一份简短的问卷。", "每次来诊所时抽一小管血。"),
}


def _sample_study_lists(language: str) -> dict[str, Any]:
    """The sample study's procedures and samples, in ``language`` (English where no sample exists)."""
    experimental, usual, sample = _SAMPLE_PROCEDURES.get(language, _SAMPLE_PROCEDURES[DEFAULT_LANGUAGE])
    return {"procedures": (Procedure({language: experimental}, True), Procedure({language: usual}, False)),
            "samples": ({language: sample},)}


SAMPLE_STUDY = Study(
    irb_name="Sample IRB",
    protocol="SAMPLE-001",
    purpose=_SAMPLE_STUDY_TEXTS[DEFAULT_LANGUAGE][0],
    duration=_SAMPLE_STUDY_TEXTS[DEFAULT_LANGUAGE][1],
    subjects=40,
    irb_contact="(208) 555-0199",
    clinicaltrials_gov="NCT01234567",
    future_use="deidentified",
    **_sample_study_lists(DEFAULT_LANGUAGE),
)


def sample_study_clinic(language: str, clinic: Clinic | None = None) -> Clinic:
    """``clinic`` (default: the sample clinic) with the sample study, its texts in ``language`` (English
    where no sample exists)."""
    purpose, duration = _SAMPLE_STUDY_TEXTS.get(language, _SAMPLE_STUDY_TEXTS[DEFAULT_LANGUAGE])
    study = attrs.evolve(SAMPLE_STUDY, purpose={language: purpose}, duration={language: duration},
                         **_sample_study_lists(language))
    return attrs.evolve(sample_clinic(language) if clinic is None else clinic, study=study)


def sample_terms(spec: TreatmentSpec) -> ClinicTerms:
    """The sample clinic's data on ``spec``'s form in English, whatever the treatment (for checks of
    clause text that do not make a whole form)."""
    clinic = attrs.evolve(SAMPLE_CLINIC, products={spec.id: SAMPLE_CLINIC.products["hair"]})
    return require_terms(clinic, spec, "en")


def problem_finding(problem: Problem, rule: str = "structure.invalid") -> Finding:
    return Finding(rule, "error", problem.message if not problem.field else str(
        Problem(problem.message, field=problem.field)), file=problem.path, line=problem.line)


def clinic_findings(problems: list[ClinicProblem], treatment: str, language: str, file: str | None) -> list[Finding]:
    """Problems with the clinic's data for one form (``coverage.fee-schedule``, ``coverage.clinic-language`` ...)."""
    return [Finding(p.rule, "error", p.problem.message, file=file, treatment=treatment, language=language)
            for p in problems]


def unused_entries(clinic: Clinic, library: Library, file: str | None) -> list[Finding]:
    """Entries of the clinic file for treatments the library does not have: a misspelt id, most likely."""
    out = []
    keyed = {"products": clinic.products, "fees": clinic.fees if not isinstance(clinic.fees, FeeSchedule) else {}}
    for key, table in keyed.items():
        for tid in sorted(set(table) - set(library.treatments)):
            out.append(Finding("coverage.unknown-treatment", "warning",
                               f"clinic.{key}.{tid} is for a treatment the library does not have "
                               f"(treatments: {', '.join(sorted(library.treatments))})", file=file))
    return out


@functools.lru_cache(maxsize=1)
def _known_names() -> dict[str, frozenset[str]]:
    """Variable names clause text may use, and the attributes of each (from a sample context)."""
    spec = TreatmentSpec(id="x", version="1", name="", description="", purpose="", clauses=(), route="", product="",
                         session_length="", usual_sessions="", steps=(), common_effects=(), rare_effects=(),
                         screening=(), aftercare=(), urgent_signs=(), evidence=())
    clinic = sample_study_clinic(DEFAULT_LANGUAGE)
    approved = ApprovedProducts("sample", SAMPLE_DATE, ())  # the names only: the data is the library's
    context = clause_context(spec, SAMPLE_PATIENT, clinic, sample_terms(spec), SAMPLE_DATE, "en_US",
                             approved=approved)
    return {name: frozenset(value) if isinstance(value, Mapping) else frozenset() for name, value in context.items()}


def _strings(clause: ClauseSpec) -> Iterator[tuple[str, int | None, str]]:
    yield "title", None, clause.title
    for item in clause.screening:
        yield "screening", None, item.question
    bodies = [clause.body, *clause.variants.values()]
    for body in bodies:
        for block in body:
            values = (block.value,) if isinstance(block.value, str) else block.value
            if block.kind in ("ul_from", "checklist", "fees", "product", "signatures"):
                continue
            for value in values:
                yield block.path, block.line, value


def _variable_problems(source: str) -> Iterator[str]:
    known = _known_names()
    try:
        tree = text_env().parse(source)
    except TemplateSyntaxError as exc:
        yield f"template syntax error: {exc.message}"
        return
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in known and known[node.node.name]:
            if node.attr not in known[node.node.name]:
                yield (f"unknown variable {node.node.name}.{node.attr} "
                       f"(known: {', '.join(sorted(known[node.node.name]))})")
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in known and node.name not in assigned:
            yield f"unknown variable {node.name} (known: {', '.join(sorted(known))})"


def variable_findings(library: Library) -> list[Finding]:
    """Misspelt variables anywhere in clause and treatment text, including branches not taken."""
    out = []
    for clause in library.clauses.values():
        for where, line, source in _strings(clause):
            for message in _variable_problems(source):
                out.append(Finding("structure.unknown-variable", "error", f"{where}: {message}",
                                   clause=clause.id, file=clause.path, line=line, text=source))
    for spec in library.treatments.values():
        for field in TREATMENT_TEXT_FIELDS:
            for message in _variable_problems(getattr(spec, field)):
                out.append(Finding("structure.unknown-variable", "error", f"{field}: {message}",
                                   file=spec.path, treatment=spec.id))
    return out


def clause_list_findings(spec: TreatmentSpec, library: Library) -> list[Finding]:
    out = []
    seen: set[str] = set()
    for cid in spec.clauses:
        if cid not in library.clauses:
            out.append(Finding("structure.unknown-clause", "error", f"the clause list names unknown clause {cid!r}",
                               file=spec.path, treatment=spec.id))
        elif library.clauses[cid].kind == "state-notice":
            out.append(Finding("structure.notice-in-list", "error",
                               f"{cid!r} is a state notice: it is added by the clinic's state, not listed",
                               file=spec.path, treatment=spec.id))
        if cid in seen:
            out.append(Finding("structure.duplicate-clause", "error", f"clause {cid!r} is listed twice",
                               file=spec.path, treatment=spec.id))
        seen.add(cid)
    return out


def translation_findings(spec: TreatmentSpec, library: Library, language: str) -> list[Finding]:
    """Every clause of a treatment's form, and the treatment itself, exist in ``language``."""
    if language == DEFAULT_LANGUAGE:
        return []
    out = []
    if not library.has_translation("treatment", spec.id, language):
        out.append(Finding("structure.translation-missing", "error",
                           f"treatment {spec.id!r} has no {language!r} translation",
                           file=spec.path, treatment=spec.id, language=language))
    ids = [c for c in spec.clauses if c in library.clauses]
    ids += [c.id for c in library.clauses.values() if c.kind == "state-notice"]
    for cid in dict.fromkeys(ids):
        if not library.has_translation("clause", cid, language):
            out.append(Finding("structure.translation-missing", "error",
                               f"clause {cid!r} has no {language!r} translation",
                               clause=cid, file=library.clauses[cid].path, treatment=spec.id, language=language))
    return out
