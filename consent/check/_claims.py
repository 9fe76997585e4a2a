"""Forbidden claims: load the rules, split text into sentences, and find the claims a form must not make.

The rules are data (``templates/rules/claims.yaml``; a clinic pack may add a file of its own)::

    shared:                      # optional: regex fragments reused below with YAML aliases
      negation: &negation '\\b(?:not|no|never|cannot)\\b'
    rules:
      - id: claim.cure
        severity: error          # error | warning
        title: No exosome treatment is shown to cure anything; do not say it cures.
        patterns: ['\\bcur(?:e|es|ed|ing)\\b']
        unless: [*negation]      # optional: honest negations ("this is not a cure")
        acknowledgeable: false   # optional: true only for a warning a clinic may acknowledge

Matching ignores case and works one sentence at a time (:func:`split_sentences`). A *hit* is a
match of one of a rule's ``patterns``. It is an honest negation, and is not reported, when one of
the rule's ``unless`` regexes matches starting in the same clause and that match either overlaps the
hit or ends at most :data:`NEGATION_WINDOW` characters before it: "is **not** approved by the FDA",
"a **cure is not** possible". An ``unless`` match lying wholly inside the hit does not count; the
"no" of "no risk" is the claim itself, not a negation of it. Clauses end at ``;``, ``:``, dashes
and contrasting conjunctions (", but", "however", ...), so the "not" of "it is not a drug, but it
cures arthritis" does not excuse "cures".

This module uses nothing from ``consent`` but :mod:`consent.errors` and :mod:`consent._yaml`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import yaml

from consent._yaml import load_located
from consent.errors import ContentError, Problem

__all__ = [
    "NEGATION_WINDOW",
    "SEVERITIES",
    "ClaimHit",
    "ClaimRule",
    "load_rules",
    "scan",
    "split_sentences",
]

#: How far (in characters) before a hit an ``unless`` match may end and still excuse it:
#: about six words, enough for "has not been approved by ..." and "no exosome product is ...".
NEGATION_WINDOW = 40

SEVERITIES = ("error", "warning")

_FLAGS = re.IGNORECASE
_FILE_KEYS = ("rules", "shared")
_RULE_KEYS = ("acknowledgeable", "id", "patterns", "severity", "title", "unless")
_REQUIRED_KEYS = ("id", "severity", "title", "patterns")
_ID = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")

# Records one problem: (message, key path such as "rules[2].patterns[0]").
_Report = Callable[[str, str], None]


@attrs.frozen
class ClaimRule:
    """One forbidden claim: the regexes that find it and the ones that excuse an honest negation."""

    id: str
    severity: str = attrs.field(validator=attrs.validators.in_(SEVERITIES))
    title: str
    patterns: tuple[re.Pattern[str], ...] = attrs.field(validator=attrs.validators.min_len(1))
    unless: tuple[re.Pattern[str], ...] = ()
    acknowledgeable: bool = False


@attrs.frozen
class ClaimHit:
    """A claim found in a text: the rule, its sentence, the matched words and where they start.

    ``start`` is the character offset of ``match`` in the text given to :func:`scan`.
    """

    rule: ClaimRule
    sentence: str
    match: str
    start: int

    @property
    def end(self) -> int:
        """Offset just past the matched words in the scanned text."""
        return self.start + len(self.match)


# --------------------------------------------------------------------------------------- loading


def load_rules(text: str, source: str) -> tuple[ClaimRule, ...]:
    """Parse a claims rule file (YAML ``text`` read from ``source``) into rules, in file order.

    Every problem is collected first: unknown or missing keys, a regex that does not compile,
    a duplicate id, a wrong type. Then one :class:`~consent.errors.ContentError` (a
    ``ValueError``) lists them all, each line naming ``source`` and the line in it.
    """
    try:
        located = load_located(text)  # duplicate keys are errors: a second `patterns:` would win silently
        data, lines = located.data, located.lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = Problem(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", path=source, line=line)
        raise ContentError(problems=[problem]) from exc

    problems: list[Problem] = []

    def report(message: str, where: str) -> None:
        problems.append(Problem(message, path=source, line=lines.get(where), field=where or None))

    rules = _parse_file(data, report)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise ContentError(f"{source}: invalid claim rules ({count})", problems=problems)
    return tuple(rules)


def _parse_file(data: Any, report: _Report) -> list[ClaimRule]:
    """Check the top level of a rule file and each rule in it; return the rules without problems."""
    if not isinstance(data, dict):
        report(f"expected a mapping with a 'rules' list at the top (got {_kind(data)})", "")
        return []
    for key in data:
        if key not in _FILE_KEYS:
            report(f"unknown top-level key {key!r} (allowed: {', '.join(_FILE_KEYS)})", str(key))
    shared = data.get("shared", {})
    if isinstance(shared, dict):
        for name, value in shared.items():
            _compile(value, f"shared.{name}", "", report)
    else:
        report(f"must be a mapping of names to regexes (got {_kind(shared)})", "shared")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        report(f"must be a non-empty list of rules (got {_kind(raw_rules)})", "rules")
        return []
    rules: list[ClaimRule] = []
    first_use: dict[str, str] = {}
    for i, raw in enumerate(raw_rules):
        where = f"rules[{i}]"
        rule = _parse_rule(raw, where, report)
        if rule is not None:
            rules.append(rule)
        rid = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(rid, str) and rid in first_use:
            report(f"duplicate id {rid!r} (already used by {first_use[rid]})", f"{where}.id")
        elif isinstance(rid, str):
            first_use[rid] = where
    return rules


def _parse_rule(raw: Any, where: str, report: _Report) -> ClaimRule | None:
    """Check one rule mapping, reporting every problem; return the rule if it has none."""
    if not isinstance(raw, dict):
        report(f"a rule must be a mapping (got {_kind(raw)})", where)
        return None
    rid = raw.get("id")
    label = f" in rule {rid!r}" if isinstance(rid, str) else ""
    problems: list[tuple[str, str]] = []

    def bad(message: str, at: str) -> None:
        problems.append((message, at))

    for key in raw:
        if key not in _RULE_KEYS:
            bad(f"unknown key {key!r}{label} (allowed: {', '.join(_RULE_KEYS)})", where)
    for key in _REQUIRED_KEYS:
        if key not in raw:
            bad(f"missing key {key!r}{label}", where)
    if "id" in raw and not (isinstance(rid, str) and _ID.fullmatch(rid)):
        example = "like 'claim.fda-approved'"
        bad(f"must be lowercase words joined by '.' or '-', {example} (got {rid!r})", f"{where}.id")
    severity = raw.get("severity")
    if "severity" in raw and severity not in SEVERITIES:
        bad(f"must be 'error' or 'warning'{label} (got {severity!r})", f"{where}.severity")
    title = raw.get("title")
    if "title" in raw and not (isinstance(title, str) and title.strip() and "\n" not in title.strip()):
        bad(f"must be one non-empty line of text{label} (got {title!r})", f"{where}.title")
    acknowledgeable = raw.get("acknowledgeable", False)
    if not isinstance(acknowledgeable, bool):
        bad(f"must be true or false{label} (got {acknowledgeable!r})", f"{where}.acknowledgeable")
    elif acknowledgeable and severity == "error":
        bad(f"only a warning may be acknowledgeable{label} (severity is 'error')", f"{where}.acknowledgeable")
    patterns = _compile_list(raw, "patterns", where, label, bad)
    unless = _compile_list(raw, "unless", where, label, bad)

    for message, at in problems:
        report(message, at)
    if problems:
        return None
    return ClaimRule(
        id=raw["id"],
        severity=raw["severity"],
        title=raw["title"].strip(),
        patterns=patterns,
        unless=unless,
        acknowledgeable=acknowledgeable,
    )


def _compile_list(
    raw: dict[Any, Any], key: str, where: str, label: str, bad: _Report
) -> tuple[re.Pattern[str], ...]:
    """Compile the regexes of ``raw[key]`` (``patterns`` must be non-empty; ``unless`` may be absent)."""
    if key not in raw:
        return ()  # a missing "patterns" is reported with the other missing keys
    values = raw[key]
    required = key == "patterns"
    if not isinstance(values, list) or (required and not values):
        need = "a non-empty list" if required else "a list"
        bad(f"must be {need} of regexes{label} (got {_kind(values)})", f"{where}.{key}")
        return ()
    found = [_compile(value, f"{where}.{key}[{j}]", label, bad) for j, value in enumerate(values)]
    return tuple(p for p in found if p is not None)


def _compile(value: Any, where: str, label: str, report: _Report) -> re.Pattern[str] | None:
    """Compile one regex (case-insensitive), or report why it cannot be and return None."""
    if not isinstance(value, str) or not value:
        report(f"must be a regex string{label} (got {_kind(value)})", where)
        return None
    try:
        with warnings.catch_warnings():
            # "possible nested set" and similar: a regex the next Python may read differently
            warnings.simplefilter("error", FutureWarning)
            return re.compile(value, _FLAGS)
    except (re.error, FutureWarning) as exc:
        report(f"not a valid regular expression{label}: {exc} (got {value!r})", where)
        return None


def _kind(value: Any) -> str:
    """Describe a YAML value for an error message: ``a list``, ``'text'``, ``nothing``."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


# ------------------------------------------------------------------------------------ sentences

# A list item at the start of a line: "- ", "* ", "• ", "· ", "1. ", "2) ", "(a) ", "a) ".
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•·‣◦▪]|\(?\d{1,3}[.)]|\(?[a-zA-Z]\))[ \t]+(?=\S)")
# End of a sentence: ., !, ? or an ellipsis (repeated), then closing quotes or brackets, then a space
# or the end.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)")
# Words whose trailing period does not end a sentence ("U.S. Food and Drug Administration").
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "st", "vs", "e.g", "i.e", "approx", "u.s", "u.k", "fig", "jr", "sr"}
)
_WORD_BEFORE = re.compile(r"[A-Za-z.]+$")
# A line this long that does not end a sentence is a soft-wrapped paragraph line, not a heading.
_WRAPPED_LINE = 60


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Split ``text`` into sentences: ``(offset, sentence)`` pairs, in order, without empty ones.

    Paragraphs end at a blank line; a list item ("- ", "1. ", "• ", "(a) ") starts a new one and
    its marker is left out. Other line breaks end a sentence too (a heading above its paragraph),
    except soft wraps: the next line starts in lower case, or the line is long (60+ characters)
    and does not end with punctuation. Inside a paragraph a sentence ends at ``.``, ``!``, ``?``
    followed by a space and a word that is not lower case, unless the period ends an abbreviation
    ("U.S.", "e.g.") or an initial. Each sentence is the exact text between its boundaries with
    surrounding whitespace removed; ``offset`` is where it starts in ``text``.
    """
    sentences: list[tuple[int, str]] = []
    for start, end in _paragraphs(text):
        for s, e in _sentence_spans(text, start, end):
            piece = text[s:e]
            stripped = piece.strip()
            if stripped:
                sentences.append((s + len(piece) - len(piece.lstrip()), stripped))
    return sentences


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each paragraph, list item or heading line of ``text``."""
    start: int | None = None
    end = 0
    previous = ""
    position = 0
    for raw in text.splitlines(keepends=True):
        line_start = position
        position += len(raw)
        line = raw.splitlines()[0]
        stripped = line.strip()
        if not stripped:
            if start is not None:
                yield start, end
                start = None
            continue
        item = _LIST_ITEM.match(line)
        soft_wrap = stripped[0].islower() or (len(previous) >= _WRAPPED_LINE and previous[-1] not in ".!?:;")
        if start is None or item is not None or not soft_wrap:
            if start is not None:
                yield start, end
            start = line_start + (item.end() if item is not None else 0)
        end = line_start + len(line)
        previous = stripped
    if start is not None:
        yield start, end


def _sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each sentence in the paragraph ``text[start:end]``."""
    begin = start
    for m in _SENTENCE_END.finditer(text, start, end):
        rest = text[m.end() : end].lstrip()
        if rest and rest[0].islower():
            continue
        if m.group().rstrip("\"'\u201d\u2019)]") == ".":
            word = _WORD_BEFORE.search(text, begin, m.start())
            token = word.group().lower() if word else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
        yield begin, m.end()
        begin = m.end()
    if begin < end:
        yield begin, end


# ------------------------------------------------------------------------------------- scanning

# Where a clause ends inside a sentence: an unless match in another clause does not excuse a hit.
_CLAUSE_BREAK = re.compile(
    r"[;:]"  # "it is not approved; it cures arthritis"
    r"|\s[-\u2013\u2014]+\s|[\u2013\u2014]"  # hyphen, en and em dashes
    r"|,\s*(?:and|but|so|yet|while|whereas|although|though|however)\b"
    r"|\b(?:but|however|although|though|whereas)\b",
    re.IGNORECASE,
)


def scan(text: str, rules: Sequence[ClaimRule]) -> list[ClaimHit]:
    """Find every forbidden claim in ``text``: one hit per match that no ``unless`` excuses.

    ``text`` is split with :func:`split_sentences`; each sentence is matched against each rule.
    Matches of one rule that overlap in a sentence are reported once (the earliest, longest).
    Hits come in text order; hits starting at the same place keep the order of ``rules``.
    """
    found: list[tuple[int, int, ClaimHit]] = []
    for offset, sentence in split_sentences(text):
        breaks = [(m.start(), m.end()) for m in _CLAUSE_BREAK.finditer(sentence)]
        for order, rule in enumerate(rules):
            for start, end in _rule_spans(rule, sentence, breaks):
                hit = ClaimHit(rule=rule, sentence=sentence, match=sentence[start:end], start=offset + start)
                found.append((hit.start, order, hit))
    found.sort(key=lambda item: (item[0], item[1]))
    return [hit for _, _, hit in found]


def _rule_spans(rule: ClaimRule, sentence: str, breaks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of ``rule``'s unexcused matches in ``sentence``, overlapping ones merged into the first."""
    spans = sorted(
        {
            (m.start(), m.end())
            for pattern in rule.patterns
            for m in pattern.finditer(sentence)
            if m.end() > m.start() and not _excused(rule, sentence, breaks, m.start(), m.end())
        },
        key=lambda span: (span[0], -span[1]),
    )
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _excused(rule: ClaimRule, sentence: str, breaks: list[tuple[int, int]], start: int, end: int) -> bool:
    """True if an ``unless`` match starting in the hit's clause overlaps the hit or ends just before it.

    The match must start in the clause and before the hit ends; it may run on past the clause
    ("registered with the FDA, or listed on ClinicalTrials.gov, and still not approved").
    """
    if not rule.unless:
        return False
    clause_start = max((b_end for _, b_end in breaks if b_end <= start), default=0)
    for pattern in rule.unless:
        # Searching from clause_start (not slicing) lets \b and lookbehinds see the text before it.
        for m in pattern.finditer(sentence, clause_start):
            if m.start() >= end:
                break
            if m.end() < start - NEGATION_WINDOW:
                continue
            if start <= m.start() and m.end() <= end:
                continue  # wholly inside the hit: part of the claim, not a negation of it
            return True
    return False
