"""Claim rules: the model, and the loader of a rules file (``templates/rules/claims.yaml`` or a pack's).

A rule file (its header documents the format for authors)::

    shared:                      # optional: regex fragments reused below with YAML aliases
      negation: &negation '\\b(?:not|no|never|cannot)\\b'
      negation-es: &negation-es '\\b(?:no|nunca|ni|sin)\\b'
    rules:
      - id: claim.cure
        severity: error          # error | warning
        title: No exosome treatment is shown to cure anything; do not say it cures.
        patterns:                # per language; a plain list means English
          en: ['\\bcur(?:e|es|ed|ing)\\b']
          es: ['\\bcura\\b']
        unless:                  # optional, per language: honest negations ("this is not a cure")
          en: [*negation]
          es: [*negation-es]
        spellings:               # optional, per language: words whose misspellings are corrected
          en: [cures]
        acknowledgeable: false   # optional: true only for a warning a clinic may acknowledge

Regexes are compiled case-insensitive and without accents (text is matched without them, see
:mod:`._claim_text`). :func:`load_rules` reports every problem of a file at once.

This module uses nothing from ``consent`` but :mod:`consent.errors`, :mod:`consent._yaml` and
:mod:`._claim_text`.
"""

from __future__ import annotations

import re
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import yaml

from consent._yaml import load_located
from consent.errors import ContentError, Problem

from ._claim_text import MIN_CORRECTED, fold

__all__ = ["ENGLISH", "SEVERITIES", "ClaimRule", "load_rules"]

SEVERITIES = ("error", "warning")

#: The language of a plain list of patterns, and of the second reading of every other form.
ENGLISH = "en"

_FLAGS = re.IGNORECASE
_FILE_KEYS = ("rules", "shared")
_RULE_KEYS = ("acknowledgeable", "id", "patterns", "severity", "spellings", "title", "unless")
_REQUIRED_KEYS = ("id", "severity", "title", "patterns")
_ID = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?")  # en, es; zh-Hans (a script subtag)
_SPELLING = re.compile(rf"[^\W\d_]{{{MIN_CORRECTED},}}")

# Records one problem: (message, key path such as "rules[2].patterns.en[0]").
_Report = Callable[[str, str], None]
_ByLanguage = Mapping[str, tuple[re.Pattern[str], ...]]


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(value))


@attrs.frozen
class ClaimRule:
    """One forbidden claim: per language, the regexes that find it and those that excuse an honest negation.

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
    patterns, unless, spellings = _languages(raw, where, label, bad)

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


def _languages(
    raw: dict[Any, Any], where: str, label: str, bad: _Report
) -> tuple[dict[str, tuple[Any, ...]], ...]:
    """The rule's ``patterns``, ``unless`` and ``spellings`` tables; the last two only for languages
    that have patterns."""
    patterns = _by_language(raw, "patterns", where, label, bad, item=_compile)
    unless = _by_language(raw, "unless", where, label, bad, item=_compile)
    spellings = _by_language(raw, "spellings", where, label, bad, item=_spelling)
    for key, table in (("unless", unless), ("spellings", spellings)):
        for language in sorted(set(table) - set(patterns)):
            if patterns:  # no patterns at all is reported already
                at = f"{where}.{key}.{language}"
                bad(f"has no patterns for {language!r}{label}, so these are never used", at)
    return patterns, unless, spellings


_Item = Callable[[Any, str, str, _Report], Any]


def _by_language(
    raw: dict[Any, Any], key: str, where: str, label: str, bad: _Report, *, item: _Item
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
