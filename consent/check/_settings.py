"""Check settings: readability thresholds, acknowledged rules and claim rules, from packs and built-in.

``templates/rules/settings.yaml`` holds the thresholds (per language) and the acknowledgements; a
pack's file of the same name overrides the keys it gives. Every ``templates/rules/claims*.yaml`` of
every source adds rules (a pack may not reuse a built-in rule id).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import attrs
import yaml

from .._yaml import load_located
from ..errors import ContentError, Problem
from ..library.loader import Library
from ._claim_rules import ClaimRule, load_rules
from ._legal import ACKNOWLEDGEABLE

THRESHOLD_KEYS = {
    "formula", "key_information_max_grade", "key_information_min_ease", "clause_max_grade", "clause_min_ease",
    "form_max_grade", "form_min_ease",
    # Chinese: sentence length in characters (consent/check/_readability.py)
    "key_information_max_sentence_chars", "clause_max_sentence_chars", "form_max_sentence_chars",
    "key_information_max_longest_sentence_chars", "clause_max_longest_sentence_chars",
}


@attrs.frozen
class Settings:
    readability: Mapping[str, Mapping[str, Any]]
    acknowledge: Mapping[str, str]  # rule id -> reason
    rules: tuple[ClaimRule, ...]
    second_reader: bool = False  # also score every sentence with the claims model (consent/check/_claim_model.py)


def _load_settings(
    library: Library, problems: list[Problem]
) -> tuple[dict[str, dict[str, Any]], dict[str, str], bool]:
    readability: dict[str, dict[str, Any]] = {}
    acknowledge: dict[str, str] = {}
    second_reader = False
    for source in reversed(library.sources):  # built-in first, packs override
        path = source.templates / "rules" / "settings.yaml"
        if not path.is_file():
            continue
        data = _read_mapping(path, problems)
        unknown = set(data) - {"readability", "acknowledge", "second_reader"}
        if unknown:
            problems.append(Problem(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}", path=str(path)))
        readability_data = data.get("readability") or {}
        if not isinstance(readability_data, Mapping) or not all(
            isinstance(v, Mapping) for v in readability_data.values()
        ):
            problems.append(Problem("readability must map each language to its thresholds", path=str(path)))
            readability_data = {}
        for lang, values in readability_data.items():
            bad = set(values) - THRESHOLD_KEYS
            if bad:
                problems.append(Problem(f"readability.{lang}: unknown key(s) {', '.join(sorted(map(str, bad)))}",
                                        path=str(path)))
            numbers = {k: v for k, v in values.items() if k != "formula"}
            for key, value in numbers.items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                          or not math.isfinite(value)):
                    problems.append(Problem(f"readability.{lang}.{key} must be a number (got {value!r})",
                                            path=str(path)))
                    values = {k: v for k, v in values.items() if k != key}
            readability.setdefault(str(lang), {}).update(values)
        if "second_reader" in data:
            if isinstance(data["second_reader"], bool):
                second_reader = data["second_reader"]
            else:
                problems.append(Problem(f"second_reader must be true or false (got {data['second_reader']!r})",
                                        path=str(path)))
        acknowledged = data.get("acknowledge") or []
        if not isinstance(acknowledged, list):
            problems.append(Problem("acknowledge must be a list of {rule, reason}", path=str(path)))
            acknowledged = []
        for i, item in enumerate(acknowledged):
            if not isinstance(item, Mapping) or set(item) != {"rule", "reason"} or not str(item["reason"]).strip():
                problems.append(Problem(f"acknowledge[{i}] needs exactly a rule and a non-empty reason", path=str(path)))
                continue
            acknowledge[str(item["rule"])] = str(item["reason"]).strip()
    return readability, acknowledge, second_reader


def _read_mapping(path: Any, problems: list[Problem]) -> Mapping[str, Any]:
    """A settings file's top-level mapping; a file that is not one is a problem (and counts as empty)."""
    try:
        data = load_located(path.read_text(encoding="utf-8")).data or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem(f"not valid YAML: {exc}", path=str(path)))
        return {}
    if not isinstance(data, Mapping):
        problems.append(Problem(f"must be a mapping of settings (got {type(data).__name__})", path=str(path)))
        return {}
    return data


@functools.lru_cache(maxsize=16)
def _settings_for(library: Library) -> tuple[Settings, tuple[Problem, ...]]:
    problems: list[Problem] = []
    readability, acknowledge, second_reader = _load_settings(library, problems)
    rules: list[ClaimRule] = []
    for source in reversed(library.sources):
        folder = source.templates / "rules"
        for path in sorted(folder.glob("claims*.yaml")) if folder.is_dir() else []:
            try:
                loaded = load_rules(path.read_text(encoding="utf-8"), str(path))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(f"cannot be read: {exc}", path=str(path)))
                continue
            except ContentError as exc:
                problems += exc.problems
                continue
            for rule in loaded:
                if any(r.id == rule.id for r in rules):
                    problems.append(Problem(f"rule id {rule.id!r} is defined twice", path=str(path)))
                else:
                    rules.append(rule)
    by_id = {r.id: r for r in rules}
    for rule_id in acknowledge:
        if rule_id in ACKNOWLEDGEABLE:
            continue
        if rule_id not in by_id:
            problems.append(Problem(f"acknowledged rule {rule_id!r} does not exist"))
        elif not by_id[rule_id].acknowledgeable:
            problems.append(Problem(f"rule {rule_id!r} cannot be acknowledged: the form must not say this"))
    return Settings(readability, acknowledge, tuple(rules), second_reader), tuple(problems)


def settings_for(library: Library) -> tuple[Settings, tuple[Problem, ...]]:
    """The settings and the problems found while loading them (cached per library)."""
    return _settings_for(library)
