"""Forbidden claims: load the rules, and find in a text, sentence by sentence, the claims a form must not make.

The rules are data (``templates/rules/claims.yaml``, whose header documents the format; a clinic
pack may add a file of its own)::

    shared:                      # optional: regex fragments reused below with YAML aliases
      negation: &negation '\\b(?:not|no|never|cannot)\\b'
      negacion: &negacion '\\b(?:no|nunca|ni|sin)\\b'
    rules:
      - id: claim.cure
        severity: error          # error | warning
        title: No exosome treatment is shown to cure anything; do not say it cures.
        patterns:                # per language; a plain list means English
          en: ['\\bcur(?:e|es|ed|ing)\\b']
          es: ['\\bcura\\b']
        unless:                  # optional, per language: honest negations ("this is not a cure")
          en: [*negation]
          es: [*negacion]
        spellings:               # optional, per language: words whose misspellings are corrected
          en: [cures]
        acknowledgeable: false   # optional: true only for a warning a clinic may acknowledge

:func:`scan` reads a text as a form in one language is read. Each sentence
(:func:`~consent.check._claim_text.split_sentences`) is normalised
(:func:`~consent.check._claim_text.normalize`: no accents, "F.D.A." -> "FDA", misspellings of the
rules' ``spellings`` corrected) and matched, ignoring case, against the patterns of that language.
A form that is not in English is read a second time with the English patterns, without spelling
correction, skipping sentences that are clearly in the form's language: a Spanish form still
carries English text (statutory notices word for word, a clinic's refund policy), and English
patterns on Spanish words would misread them (Spanish "cure" is "may it cure").

A *hit* is a match of one of a rule's patterns. It is an honest negation, and is not reported, when
one of the rule's ``unless`` regexes (same language) matches starting in the same clause and either
overlaps the hit, or ends at most :data:`NEGATION_WINDOW` characters before it with no *scope
break* in between: "is **not** approved by the FDA", "a **cure is not** possible". An ``unless``
match lying wholly inside the hit does not count; the "no" of "no risk" is the claim itself.

Clauses end at ``;``, ``:`` and dashes, and in English and Spanish at contrasting conjunctions
(", but", "however", ", pero", "sin embargo" ...), so the "not" of "it is not a drug, but it cures
arthritis" does not excuse "cures". A scope break is a word that starts a new thought between a
negation and the hit ("we do not hide THAT our exosomes are FDA approved", "not cheap, OUR product
is approved", "no downtime AND FDA approved"); see :data:`GRAMMARS`. Other languages have the
punctuation breaks only.

This module uses nothing from ``consent`` but :mod:`consent.errors`, :mod:`consent._yaml` and
:mod:`._claim_text`.
"""

from __future__ import annotations

import re
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import yaml

from consent._yaml import load_located
from consent.errors import ContentError, Problem

from ._claim_text import MIN_CORRECTED, fold, guess_language, known_words, normalize, split_sentences

__all__ = [
    "ENGLISH",
    "GRAMMARS",
    "NEGATION_WINDOW",
    "SEVERITIES",
    "ClaimHit",
    "ClaimRule",
    "Grammar",
    "load_rules",
    "scan",
    "split_sentences",
]

#: How far (in characters) before a hit an ``unless`` match may end and still excuse it: about ten
#: words, enough for "no exosome or stem-cell product of this kind is ..." (the gap may not hold a
#: scope break, so a wide window does not let a negation reach into another thought).
NEGATION_WINDOW = 60

SEVERITIES = ("error", "warning")

#: The language of a plain list of patterns, and of the second reading of every other form.
ENGLISH = "en"

_FLAGS = re.IGNORECASE
_FILE_KEYS = ("rules", "shared")
_RULE_KEYS = ("acknowledgeable", "id", "patterns", "severity", "spellings", "title", "unless")
_REQUIRED_KEYS = ("id", "severity", "title", "patterns")
_ID = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_SPELLING = re.compile(rf"[^\W\d_]{{{MIN_CORRECTED},}}")

# Records one problem: (message, key path such as "rules[2].patterns.en[0]").
_Report = Callable[[str, str], None]
_ByLanguage = Mapping[str, tuple[re.Pattern[str], ...]]


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(value))


@attrs.frozen
class ClaimRule:
    """One forbidden claim: per language, the regexes that find it and the ones that excuse an honest negation.

    ``source`` and ``line`` say where the rule was written, for findings about the rule itself.
    """

    id: str
    severity: str = attrs.field(validator=attrs.validators.in_(SEVERITIES))
    title: str
    patterns: _ByLanguage = attrs.field(converter=_frozen, validator=attrs.validators.min_len(1), hash=False)
    unless: _ByLanguage = attrs.field(factory=dict, converter=_frozen, hash=False)
    spellings: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_frozen, hash=False)
    acknowledgeable: bool = False
    source: str | None = attrs.field(default=None, eq=False)
    line: int | None = attrs.field(default=None, eq=False)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this rule has patterns for, sorted."""
        return tuple(sorted(self.patterns))


@attrs.frozen
class ClaimHit:
    """A claim found in a text: the rule, its sentence, the matched words and where they start.

    ``start`` is the character offset of ``match`` in the text given to :func:`scan`;
    ``language`` is the language of the patterns that matched.
    """

    rule: ClaimRule
    sentence: str
    match: str
    start: int
    language: str = ENGLISH

    @property
    def end(self) -> int:
        """Offset just past the matched words in the scanned text."""
        return self.start + len(self.match)


# --------------------------------------------------------------------------------------- loading


def load_rules(text: str, source: str) -> tuple[ClaimRule, ...]:
    """Parse a claims rule file (YAML ``text`` read from ``source``) into rules, in file order.

    Every problem is collected first: unknown or missing keys, a regex that does not compile,
    a duplicate id, a wrong type, a language code that is not one. Then one
    :class:`~consent.errors.ContentError` (a ``ValueError``) lists them all, each line naming
    ``source`` and the line in it.
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
    return tuple(attrs.evolve(rule, source=source, line=lines.get(where)) for where, rule in rules)


def _parse_file(data: Any, report: _Report) -> list[tuple[str, ClaimRule]]:
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
    rules: list[tuple[str, ClaimRule]] = []
    first_use: dict[str, str] = {}
    for i, raw in enumerate(raw_rules):
        where = f"rules[{i}]"
        rule = _parse_rule(raw, where, report)
        if rule is not None:
            rules.append((where, rule))
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
    patterns = _by_language(raw, "patterns", where, label, bad, _compile)
    unless = _by_language(raw, "unless", where, label, bad, _compile)
    spellings = _by_language(raw, "spellings", where, label, bad, _spelling)
    for key, table in (("unless", unless), ("spellings", spellings)):
        for language in sorted(set(table) - set(patterns)):
            if patterns:  # no patterns at all is reported already
                bad(f"has no patterns for {language!r}{label}, so these are never used", f"{where}.{key}.{language}")

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
        spellings=spellings,
        acknowledgeable=acknowledgeable,
    )


def _by_language(
    raw: dict[Any, Any], key: str, where: str, label: str, bad: _Report, item: Callable[[Any, str, str, _Report], Any]
) -> dict[str, tuple[Any, ...]]:
    """Read ``raw[key]``: a list (English) or a mapping of language codes to lists; check each item.

    ``patterns`` must have at least one non-empty list; ``unless`` and ``spellings`` may be absent.
    """
    if key not in raw:
        return {}  # a missing "patterns" is reported with the other missing keys
    values = raw[key]
    required = key == "patterns"
    what = "regexes" if key != "spellings" else "words"
    if isinstance(values, dict) and values:
        out: dict[str, tuple[Any, ...]] = {}
        for language, items in values.items():
            at = f"{where}.{key}.{language}"
            if not (isinstance(language, str) and _LANGUAGE.fullmatch(language)):
                bad(f"must be a language code like 'en' or 'es'{label} (got {language!r})", at)
            elif not isinstance(items, list) or not items:
                bad(f"must be a non-empty list of {what}{label} (got {_kind(items)})", at)
            else:
                found = [item(value, f"{at}[{j}]", label, bad) for j, value in enumerate(items)]
                out[language] = tuple(x for x in found if x is not None)
        return out
    if not isinstance(values, list) or (required and not values):
        need = "a non-empty list" if required else "a list"
        also = ", or a mapping of language codes to lists" if not isinstance(values, list) else ""
        bad(f"must be {need} of {what}{also}{label} (got {_kind(values)})", f"{where}.{key}")
        return {}
    if not values:
        return {}
    found = [item(value, f"{where}.{key}[{j}]", label, bad) for j, value in enumerate(values)]
    return {ENGLISH: tuple(x for x in found if x is not None)}


def _compile(value: Any, where: str, label: str, report: _Report) -> re.Pattern[str] | None:
    """Compile one regex (case-insensitive, accents removed), or report why it cannot be and return None."""
    if not isinstance(value, str) or not value:
        report(f"must be a regex string{label} (got {_kind(value)})", where)
        return None
    try:
        with warnings.catch_warnings():
            # "possible nested set" and similar: a regex the next Python may read differently
            warnings.simplefilter("error", FutureWarning)
            return re.compile(fold(value), _FLAGS)  # text is matched without accents
    except (re.error, FutureWarning) as exc:
        report(f"not a valid regular expression{label}: {exc} (got {value!r})", where)
        return None


def _spelling(value: Any, where: str, label: str, report: _Report) -> str | None:
    """One word misspellings are corrected to: letters only, long enough to correct safely."""
    if not isinstance(value, str) or not _SPELLING.fullmatch(value):
        report(f"must be one word of {MIN_CORRECTED} letters or more{label} (got {_kind(value)})", where)
        return None
    return fold(value).lower()


def _kind(value: Any) -> str:
    """Describe a YAML value for an error message: ``a list``, ``'text'``, ``nothing``."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "an empty mapping" if not value else "a mapping"
    return f"{type(value).__name__} {value!r}"


# ------------------------------------------------------------------------------------- scanning


@attrs.frozen
class Grammar:
    """Where a negation stops reaching in one language (matched on text without accents).

    ``clause_break``: an ``unless`` match in an earlier clause never excuses a hit.
    ``scope_break``: in the gap between an ``unless`` match and a later hit, it ends the match's reach.
    """

    clause_break: re.Pattern[str]
    scope_break: re.Pattern[str]


_PUNCTUATION = r"[;:]|\s[-\u2013\u2014]+\s|[\u2013\u2014]"  # "it is not approved; it cures", dashes

#: Clause and scope breaks per language; a language not named here has the punctuation breaks only.
GRAMMARS: Mapping[str, Grammar] = types.MappingProxyType({
    "en": Grammar(
        re.compile(
            _PUNCTUATION
            + r"|,\s*(?:and|but|so|yet|while|whereas|although|though|however)\b"
            + r"|\b(?:but|however|although|though|whereas)\b",
            _FLAGS,
        ),
        re.compile(
            # a subordinate or relative clause ("do not hide THAT ...", "not cheap BECAUSE ...")
            r"\b(?:that|because|since|so|which|who|whom|whose|when|whenever|if|unless|while|as|unlike|like)\b"
            # a comma, then a new subject: "other products are not approved, OURS is"
            r"|,\s*(?:we|our|ours|us|it|its|they|their|theirs|this|these|those|you|your|i|he|she|the|a|an)\b"
            # "and" joins a new statement ("no downtime AND FDA approved"), unless it joins two
            # participles under one negation ("not been reviewed and approved")
            r"|(?<![^\W\d_]ed)(?<![^\W\d_]en)\s+and\b",
            _FLAGS,
        ),
    ),
    "es": Grammar(
        re.compile(
            _PUNCTUATION
            + r"|,\s*(?:y|e|pero|asi\s+que|de\s+modo\s+que|mientras|aunque|sino)\b"
            + r"|\b(?:pero|sin\s+embargo|aunque|sino|no\s+obstante|mientras\s+que)\b",
            _FLAGS,
        ),
        re.compile(
            r"\b(?:que|porque|pues|como|cuando|si|mientras|a\s+diferencia)\b"
            r"|,\s*(?:nosotros|nuestr[oa]s?|el|la|los|las|este|esta|estos|estas|usted|ustedes|ello|eso|esto)\b"
            # "no cobramos la consulta Y el producto esta aprobado"; not "no revisado y aprobado"
            r"|(?<![^\W\d_][ai]d[oa])(?<![^\W\d_][ai]d[oa]s)\s+(?:y|e)\b",
            _FLAGS,
        ),
    ),
})
_DEFAULT_GRAMMAR = Grammar(re.compile(_PUNCTUATION), re.compile(r"(?!)"))


def scan(text: str, rules: Sequence[ClaimRule], language: str = ENGLISH) -> list[ClaimHit]:
    """Find every forbidden claim in ``text`` (of a form in ``language``): one hit per unexcused match.

    ``text`` is split with :func:`split_sentences`; each sentence is read with the patterns of
    ``language``, and, for another language than English, once more with the English patterns
    (see the module docstring). Matches of one rule that overlap in a sentence are reported once
    (the earliest, longest). Hits come in text order; hits starting at the same place keep the
    order of ``rules``.
    """
    readings = [(language, True)] + ([(ENGLISH, False)] if language != ENGLISH else [])
    found: list[tuple[int, int, ClaimHit]] = []
    for offset, sentence in split_sentences(text):
        spans: dict[int, list[tuple[int, int]]] = {}
        for reading, own in readings:
            active = [(order, rule) for order, rule in enumerate(rules) if reading in rule.patterns]
            if not active or (not own and guess_language(fold(sentence)) == language):
                continue
            spellings = {w for _, rule in active for w in rule.spellings.get(reading, ())} if own else set()
            normal = normalize(sentence, spellings, known_words(reading) if spellings else frozenset())
            grammar = GRAMMARS.get(reading, _DEFAULT_GRAMMAR)
            breaks = [(m.start(), m.end()) for m in grammar.clause_break.finditer(normal.text)]
            for order, rule in active:
                kept = spans.setdefault(order, [])
                for start, end in _rule_spans(rule, reading, normal.text, breaks, grammar):
                    start, end = normal.span(start, end)
                    if any(start < e and s < end for s, e in kept):
                        continue  # the first reading found these words already
                    kept.append((start, end))
                    hit = ClaimHit(rule, sentence, sentence[start:end], offset + start, reading)
                    found.append((hit.start, order, hit))
    found.sort(key=lambda item: (item[0], item[1]))
    return [hit for _, _, hit in found]


def _rule_spans(
    rule: ClaimRule, language: str, sentence: str, breaks: list[tuple[int, int]], grammar: Grammar
) -> list[tuple[int, int]]:
    """Spans of ``rule``'s unexcused matches in ``sentence``, overlapping ones merged into the first."""
    unless = rule.unless.get(language, ())
    spans = sorted(
        {
            (m.start(), m.end())
            for pattern in rule.patterns[language]
            for m in pattern.finditer(sentence)
            if m.end() > m.start() and not _excused(unless, sentence, breaks, grammar, m.start(), m.end())
        },
        key=lambda span: (span[0], -span[1]),
    )
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _excused(
    unless: Sequence[re.Pattern[str]], sentence: str, breaks: list[tuple[int, int]], grammar: Grammar,
    start: int, end: int,
) -> bool:
    """True if an ``unless`` match starting in the hit's clause overlaps the hit or reaches it.

    The match must start in the clause and before the hit ends; it may run on past the clause
    ("registered with the FDA, or listed on ClinicalTrials.gov, and still not approved"). A match
    that ends before the hit reaches it when it ends at most :data:`NEGATION_WINDOW` characters
    before it and no scope break lies in between.
    """
    if not unless:
        return False
    clause_start = max((b_end for _, b_end in breaks if b_end <= start), default=0)
    for pattern in unless:
        # Searching from clause_start (not slicing) lets \b and lookbehinds see the text before it.
        for m in pattern.finditer(sentence, clause_start):
            if m.start() >= end:
                break
            if start <= m.start() and m.end() <= end:
                continue  # wholly inside the hit: part of the claim, not a negation of it
            if m.end() > start:
                return True
            if m.end() >= start - NEGATION_WINDOW and not grammar.scope_break.search(sentence, m.end(), start):
                return True
    return False
