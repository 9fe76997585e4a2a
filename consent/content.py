"""Clause and treatment files: their schema, and turning parsed YAML into checked objects.

The format is described for authors in ``clauses/README.md``. Parsing collects every problem in a
file (unknown keys, wrong types, bad ids) instead of stopping at the first one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from ._yaml import Located
from .errors import Problem

ELEMENTS = (
    "key-information",
    "description",
    "investigational",
    "risks",
    "benefits",
    "alternatives",
    "confidentiality",
    "injury",
    "contacts",
    "voluntary",
    "unforeseeable-risks",
    "provider-may-stop",
    "costs",
    "consequences-of-stopping",
    "new-findings",
    "signature",
)
"""Consent elements every form must cover (REFERENCE.md section 2); ``check`` wants all of them."""

RESEARCH_ELEMENTS = (
    "research-statement",
    "research-duration",
    "research-subjects",
    "clinicaltrials-gov",
    "future-use",
    "research-rights-contact",
    "research-procedures",
    "fda-inspection",
    "research-withdrawal",
)
"""Research elements (21 CFR 50.25(a)(1), (a)(5), (a)(7), (b)(4), (b)(6), (c); 45 CFR 46.116(b)(9)): ``check`` wants
them too on a form whose clinic lists a study."""

ALL_ELEMENTS = ELEMENTS + RESEARCH_ELEMENTS
CONDITIONS = ("study",)
"""Values of a clause's ``when``: ``study`` puts the clause on a form only when the clinic lists a study."""

STUDY_KINDS = ("ind", "ide", "irb")
"""What a clinic's study may have (``clinic.study``): an FDA IND, an FDA IDE, an approving IRB.
State notices name them in ``exempt_with`` and ``only_with``."""
EXEMPTIONS = ("ind-holder", "ide-holder", "accredited-institution")
"""What a clinic may state about itself that lifts a state's duty (state notices name them in
``exempt_when``): its provider holds the study's FDA IND (``clinic.study.ind_holder: true``) or IDE
(``ide_holder``), or gives the treatment on behalf of an accredited institution
(``clinic.accredited_institution``). Never inferred: a clinic that says nothing keeps the notice."""
FACILITY_KINDS = ("hospital", "ambulatory-surgical-center", "medical-school", "office", "other")
"""Where a clinic gives its treatments (``clinic.facility``), as state notices name it in ``facilities``
(Texas 1003.055(a)(3): a licensed hospital, a licensed ambulatory surgical center or a medical school)."""
WORDINGS = ("verbatim", "paraphrase")


BLOCK_KINDS = ("p", "strong", "h", "ul", "ul_from", "notice", "checklist", "fees", "product", "signatures")
SIGNATURE_PARTIES = ("patient", "representative", "witness", "provider")
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@attrs.frozen
class ScreeningItem:
    id: str
    question: str


@attrs.frozen
class RawBlock:
    """One block of a clause body before rendering: ``kind`` plus its template text or list."""

    kind: str
    value: str | tuple[str, ...]
    only: tuple[str, ...] = ()
    path: str = ""
    line: int | None = None
    verbatim: bool = False  # words fixed by law: printed as written and not scored for readability


@attrs.frozen
class ClauseSpec:
    id: str
    version: str
    title: str
    elements: tuple[str, ...]
    body: tuple[RawBlock, ...]
    variants: Mapping[str, tuple[RawBlock, ...]] = attrs.field(factory=dict)
    initials: bool = False
    screening: tuple[ScreeningItem, ...] = ()
    kind: str = "clause"
    states: tuple[str, ...] = ()
    citation: str | None = None
    verbatim: bool = False  # the words are the law's own (wording: verbatim)
    wording: str | None = None  # "verbatim" or "paraphrase" (state notices)
    review: str | None = None
    when: str | None = None
    exempt_with: tuple[str, ...] = ()
    exempt_when: tuple[str, ...] = ()  # what the clinic states that lifts the duty (EXEMPTIONS)
    only_with: tuple[str, ...] = ()
    outside_study: str | None = None  # what the state's law says of the treatment without that study
    specialties: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    facilities: tuple[str, ...] = ()  # where the law allows the treatment (FACILITY_KINDS)
    unchecked: tuple[str, ...] = ()  # what else the law requires that the form's inputs cannot show
    citation_gloss: str | None = None  # a translation: what the (English) citation is, in the form's language
    own_page: bool = False
    min_type_pt: float | None = None
    language: str = "en"
    source: str = "built-in"
    path: str = ""

    def body_for(self, treatment_id: str) -> tuple[RawBlock, ...]:
        blocks = self.variants.get(treatment_id, self.body)
        return tuple(b for b in blocks if not b.only or treatment_id in b.only)


TREATMENT_TEXT_FIELDS = ("name", "description", "purpose", "route", "product", "session_length", "usual_sessions")
TREATMENT_LIST_FIELDS = ("steps", "common_effects", "rare_effects", "aftercare", "urgent_signs", "evidence")
STUDY_LIST_FIELDS = ("procedures", "procedures_experimental", "procedures_usual", "samples")
"""Lists of the clinic's study a ``ul_from`` block may print (on a form without a study: nothing)."""
UL_FROM = (*(f"treatment.{f}" for f in TREATMENT_LIST_FIELDS), *(f"study.{f}" for f in STUDY_LIST_FIELDS))


# --------------------------------------------------------------------------- parsing helpers


class Reader:
    """Reads fields out of one parsed file, recording a Problem (with line) for each mistake."""

    def __init__(self, doc: Located, path: str) -> None:
        self.doc = doc
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(message, path=self.path, line=self.doc.line(where), field=where or None))

    def keys(self, data: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...],
             retired: Mapping[str, str] | None = None) -> bool:
        """Unknown and missing keys; ``retired`` keys (no longer accepted) get their own message."""
        if not isinstance(data, Mapping):
            self.problem(where, f"{where or 'file'} must be a mapping (got {type(data).__name__})")
            return False
        for key in data:
            if retired and key in retired:
                self.problem(_join(where, str(key)), retired[key])
            elif key not in required and key not in optional:
                allowed = ", ".join((*required, *optional))
                self.problem(_join(where, str(key)), f"unknown key {key!r} (allowed: {allowed})")
        for key in required:
            if key not in data:
                self.problem(where, f"missing required key {key!r}")
        return True

    def text(self, data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            return None  # absence is reported by keys()
        if isinstance(value, int | float) and not isinstance(value, bool) and key == "version":
            self.problem(_join(where, key), f"{key} must be a quoted string such as \"1.0\" (got {value!r})")
            return str(value)
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(_join(where, key), f"{key} must be non-empty text (got {value!r})")
            return None
        return value

    def strings(self, data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(_join(where, key), f"{key} must be a list of non-empty text items")
            return ()
        return tuple(value)

    def flag(self, data: Mapping[str, Any], key: str, where: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.problem(_join(where, key), f"{key} must be true or false (got {value!r})")
            return False
        return value

    def ident(self, value: Any, where: str, what: str) -> str:
        if not isinstance(value, str) or not ID_RE.match(value):
            self.problem(where, f"{what} must be lowercase words joined by '-' (got {value!r})")
            return str(value)
        return value

    def screening(self, data: Mapping[str, Any], where: str) -> tuple[ScreeningItem, ...]:
        items = data.get("screening", [])
        if not isinstance(items, list):
            self.problem(_join(where, "screening"), "screening must be a list of {id, question}")
            return ()
        out = []
        for i, item in enumerate(items):
            at = f"{_join(where, 'screening')}[{i}]"
            if self.keys(item, at, ("id", "question"), ()):
                q = self.text(item, "question", at)
                out.append(ScreeningItem(self.ident(item.get("id"), f"{at}.id", "screening id"), q or ""))
        ids = [s.id for s in out]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            self.problem(_join(where, "screening"), f"screening id {dup!r} is used twice")
        return tuple(out)

    def blocks(self, items: Any, where: str) -> tuple[RawBlock, ...]:
        if not isinstance(items, list) or not items:
            self.problem(where, f"{where} must be a non-empty list of blocks")
            return ()
        out = []
        for i, item in enumerate(items):
            at = f"{where}[{i}]"
            if not isinstance(item, Mapping):
                self.problem(at, f"a block must be a mapping such as {{p: text}} (got {type(item).__name__})")
                continue
            kinds = [k for k in item if k in BLOCK_KINDS]
            others = [k for k in item if k not in BLOCK_KINDS and k not in ("only", "verbatim")]
            if others or len(kinds) != 1:
                self.problem(
                    at,
                    f"a block needs exactly one of {', '.join(BLOCK_KINDS)} "
                    f"(plus optional 'only', 'verbatim'); got {', '.join(map(str, item)) or 'nothing'}",
                )
                continue
            kind = kinds[0]
            block = self._block_value(kind, item[kind], f"{at}.{kind}")
            only = item.get("only", [])
            if not isinstance(only, list) or not all(isinstance(o, str) for o in only):
                self.problem(f"{at}.only", "only must be a list of treatment ids")
                only = []
            verbatim = self.flag(item, "verbatim", at)
            if block is not None:
                out.append(RawBlock(kind, block, tuple(only), at, self.doc.line(at), verbatim))
        return tuple(out)

    def _block_value(self, kind: str, value: Any, at: str) -> str | tuple[str, ...] | None:
        if kind == "ul":
            if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
                return tuple(value)
            self.problem(at, "ul must be a non-empty list of text items")
            return None
        if kind == "signatures":
            if isinstance(value, list) and value and all(v in SIGNATURE_PARTIES for v in value):
                return tuple(value)
            self.problem(at, f"signatures must be a list drawn from {', '.join(SIGNATURE_PARTIES)} (got {value!r})")
            return None
        if kind == "checklist" and value != "screening":
            self.problem(at, f"checklist must be 'screening' (got {value!r})")
            return None
        if kind == "fees" and value != "schedule":
            self.problem(at, f"fees must be 'schedule' (got {value!r})")
            return None
        if kind == "product" and value != "identity":
            self.problem(at, f"product must be 'identity' (got {value!r})")
            return None
        if kind == "ul_from" and value not in UL_FROM:
            self.problem(at, f"ul_from must name a treatment or study list ({', '.join(UL_FROM)}); got {value!r}")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(at, f"{kind} must be non-empty text (got {value!r})")
            return None
        return value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


CLAUSE_REQUIRED = ("id", "version", "title", "elements", "body")
CLAUSE_OPTIONAL = (
    "initials", "screening", "variants", "kind", "states", "citation", "wording", "verbatim", "review",
    "exempt_with", "exempt_when", "only_with", "outside_study", "specialties", "providers", "facilities",
    "unchecked", "own_page", "min_type_pt", "when",
)
NOTICE_ONLY = ("wording", "exempt_with", "exempt_when", "only_with", "outside_study", "specialties", "providers",
               "facilities", "unchecked", "own_page", "min_type_pt")
"""Keys that mean something only on a state notice (``kind: state-notice``)."""
CLAUSE_RETIRED = {
    "exempt_with_study": "exempt_with_study was replaced by exempt_with, a list drawn from ind, ide, irb: name "
                         "the approvals that lift the duty (California: an FDA IND or IDE, not an IRB alone)",
}


def parse_clause(doc: Located, path: str, source: str) -> tuple[ClauseSpec | None, list[Problem]]:
    """Check and build a clause from a parsed English clause file."""
    r = Reader(doc, path)
    data = doc.data
    if not r.keys(data, "", CLAUSE_REQUIRED, CLAUSE_OPTIONAL, CLAUSE_RETIRED):
        return None, r.problems
    cid = r.ident(data.get("id"), "id", "id")
    version = r.text(data, "version", "") or ""
    title = r.text(data, "title", "") or ""
    elements = r.strings(data, "elements", "") if data.get("elements") != [] else ()
    for i, el in enumerate(elements):
        if el not in ALL_ELEMENTS:
            r.problem(f"elements[{i}]", f"unknown consent element {el!r} (known: {', '.join(ALL_ELEMENTS)})")
    body = r.blocks(data.get("body"), "body") if "body" in data else ()
    variants: dict[str, tuple[RawBlock, ...]] = {}
    raw_variants = data.get("variants", {}) or {}
    if not isinstance(raw_variants, Mapping):
        r.problem("variants", "variants must map treatment ids to bodies")
    else:
        for tid, blocks in raw_variants.items():
            variants[str(tid)] = r.blocks(blocks, f"variants.{tid}")
    kind = data.get("kind", "clause")
    if kind not in ("clause", "state-notice"):
        r.problem("kind", f"kind must be 'clause' or 'state-notice' (got {kind!r})")
    states = r.strings(data, "states", "")
    if kind == "state-notice" and not states:
        r.problem("states", "a state notice must list the states it applies to")
    review = data.get("review")
    if review not in (None, "required", "confirmed"):
        r.problem("review", f"review must be 'required' or 'confirmed' (got {review!r})")
    citation = r.text(data, "citation", "", required=False) if "citation" in data else None
    when = data.get("when")
    if when is not None and when not in CONDITIONS:
        r.problem("when", f"when must be {' or '.join(map(repr, CONDITIONS))} (got {when!r})")
    if when is not None and kind == "state-notice":
        r.problem("when", "a state notice is added by the clinic's state; it takes no 'when'")
    notice = _notice_keys(r, data, kind == "state-notice")
    spec = ClauseSpec(
        id=cid,
        version=version,
        title=title,
        elements=elements,
        body=body,
        variants=variants,
        initials=r.flag(data, "initials", ""),
        screening=r.screening(data, ""),
        kind=str(kind),
        states=tuple(s.upper() for s in states),
        citation=citation,
        review=review,
        when=when if when in CONDITIONS else None,
        source=source,
        path=path,
        **notice,
    )
    return spec, r.problems


def _notice_keys(r: Reader, data: Mapping[str, Any], is_notice: bool) -> dict[str, Any]:
    """The keys that say when a state notice applies and how it must be printed."""
    if not is_notice:
        for key in NOTICE_ONLY:
            if key in data:
                r.problem(key, f"{key} applies only to a state notice (kind: state-notice)")
    verbatim = r.flag(data, "verbatim", "")
    wording = data.get("wording", "verbatim" if verbatim else None)
    if wording is not None and wording not in WORDINGS:
        r.problem("wording", "wording must be 'verbatim' (the law's own words) or 'paraphrase' (the law "
                             f"sets no words; this is a summary) (got {wording!r})")
    elif verbatim and wording != "verbatim":
        r.problem("verbatim", "verbatim: true and wording: paraphrase contradict each other")
    elif is_notice and wording is None:
        r.problem("", "a state notice must say whether its words are the law's own (wording: verbatim) or a "
                      "plain-language summary of what the law requires (wording: paraphrase)")
    kinds = {}
    for key in ("exempt_with", "only_with"):
        kinds[key] = tuple(r.strings(data, key, ""))
        for i, value in enumerate(kinds[key]):
            if value not in STUDY_KINDS:
                r.problem(f"{key}[{i}]",
                          f"{key} items must be drawn from {', '.join(STUDY_KINDS)} (got {value!r})")
    outside_study = r.text(data, "outside_study", "", required=False) if "outside_study" in data else None
    if outside_study is not None and not kinds["only_with"]:
        r.problem("outside_study", "outside_study says what the law allows without the study that only_with "
                                   "names: give only_with too")
    specialties = r.strings(data, "specialties", "")
    for i, value in enumerate(specialties):
        r.ident(value, f"specialties[{i}]", "a specialty")
    drawn = {}
    for key, allowed in (("exempt_when", EXEMPTIONS), ("facilities", FACILITY_KINDS)):
        drawn[key] = tuple(r.strings(data, key, ""))
        for i, value in enumerate(drawn[key]):
            if value not in allowed:
                r.problem(f"{key}[{i}]", f"{key} items must be drawn from {', '.join(allowed)} (got {value!r})")
    unchecked = tuple(" ".join(item.split()) for item in r.strings(data, "unchecked", ""))
    min_type_pt = data.get("min_type_pt")
    if min_type_pt is not None and (isinstance(min_type_pt, bool) or not isinstance(min_type_pt, int | float)
                                    or not 6 <= min_type_pt <= 200):
        r.problem("min_type_pt",
                  f"min_type_pt must be a type size in points, such as 40 (got {min_type_pt!r})")
        min_type_pt = None
    return {
        "verbatim": wording == "verbatim",
        "wording": wording,
        "exempt_with": kinds["exempt_with"],
        "exempt_when": drawn["exempt_when"],
        "only_with": kinds["only_with"],
        "facilities": drawn["facilities"],
        "unchecked": unchecked,
        "outside_study": outside_study or None,
        "specialties": specialties,
        "providers": tuple(p.upper() for p in r.strings(data, "providers", "")),
        "own_page": r.flag(data, "own_page", ""),
        "min_type_pt": float(min_type_pt) if min_type_pt is not None else None,
    }


TRANSLATION_KEYS = ("id", "translates", "title", "body", "variants", "screening", "citation_gloss")


def parse_clause_translation(
    doc: Located, path: str, base: ClauseSpec, language: str
) -> tuple[ClauseSpec | None, list[Problem]]:
    """Overlay a translated clause file on its English clause; metadata stays English."""
    r = Reader(doc, path)
    data = doc.data
    if not r.keys(data, "", ("id", "translates", "title", "body"), ("variants", "screening", "citation_gloss")):
        return None, r.problems
    if data.get("id") != base.id:
        r.problem("id", f"id must be {base.id!r} like the file name (got {data.get('id')!r})")
    translates = r.text(data, "translates", "") or ""
    title = r.text(data, "title", "") or ""
    body = r.blocks(data.get("body"), "body")
    raw_variants = data.get("variants", {}) or {}
    variants = {str(t): r.blocks(b, f"variants.{t}") for t, b in raw_variants.items()}
    screening = r.screening(data, "")
    if {s.id for s in screening} != {s.id for s in base.screening}:
        r.problem("screening", "screening questions must have the same ids as the English clause")
    if set(variants) != set(base.variants):
        r.problem("variants", "variants must cover the same treatments as the English clause")
    if translates != base.version:
        r.problem("translates", f"translates version {translates!r} but the English clause is {base.version!r}")
    gloss = r.text(data, "citation_gloss", "") if "citation_gloss" in data else None
    if base.kind != "state-notice" or not base.citation:
        if gloss is not None:
            r.problem("citation_gloss", "citation_gloss says what a state notice's citation is in the form's "
                                        "language: the English clause has no citation to gloss")
    elif gloss is None:
        r.problem("", f"a translation of a state notice must say what its law is in the form's language "
                      f"(citation_gloss), printed next to the English citation {base.citation!r}")
    spec = attrs.evolve(
        base, title=title, body=body, variants=variants, screening=screening, language=language, path=path,
        citation_gloss=gloss or None,
    )
    return spec, r.problems
