"""Language-assistance taglines (45 CFR 92.11): the lines of the page, from
``templates/rules/language-assistance.yaml``.

The file holds two things. ``taglines``: for each language (a BCP 47 tag such as ``es``, ``zh-Hant``,
``fa``), its own name and one short line in its own words and script saying that free language help is
available and how to ask for it, with ``{phone}`` and ``{tty}`` where the clinic's numbers go. The lines
are ours, not the law's: ``review: required`` until counsel confirms them in a pack's copy (``review:
confirmed``). ``states``: for each state, the languages most common among people with limited English
proficiency there, in order, and the source of that list (``source``, required). A state without a list
is an error when a clinic there asks for the page: the page is never printed in a guessed set of
languages.

The library reads the built-in file, then each pack's copy, which adds or replaces the taglines and the
states it lists. Every problem names the file and line: an unknown key, a tag that is not one, a line
without ``{phone}`` or ``{tty}``, a state code that is not one, a list without its source, shorter than
``MIN_LANGUAGES`` or naming a language without a tagline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import attrs

from .._scripts import text_direction
from .._yaml import Located
from ..errors import InputError, Problem
from .types import Clinic, state_entries

LANGUAGE_ASSISTANCE_FILE = ("rules", "language-assistance.yaml")  # under a source's templates/
MIN_LANGUAGES = 15  # 45 CFR 92.11(b): English and at least the 15 most common languages of the state
REVIEW = ("required", "confirmed")
# A BCP 47 tag as the page uses it: a language, then optional script, region (es, zh-Hant, pt-BR, zh-Hant-TW).
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?")
_TOP_KEYS = {"version", "review", "taglines", "states"}
_TAGLINE_KEYS = {"name", "text"}
_STATE_KEYS = frozenset({"languages", "source"})
_PLACES = ("{phone}", "{tty}")
Report = Callable[[str, str], None]  # a problem's message, and where it is (a dotted key)


@attrs.frozen
class Tagline:
    """One language's line: its ``name`` in its own script and ``text`` with ``{phone}`` and ``{tty}``;
    ``review``: whether counsel has confirmed the words (the ``review`` of the file it came from)."""

    name: str
    text: str
    review: str = "required"
    path: str = ""


@attrs.frozen
class StateLanguages:
    """A state's languages, most common first (English is not listed: it always comes first on the page),
    and where the list comes from."""

    languages: tuple[str, ...]
    source: str
    path: str = ""


@attrs.frozen
class LanguageTable:
    """What the library knows: the taglines by language tag and the lists by state code; ``version``: of the
    built-in file, or of the last pack copy that gives one (the page's section records it)."""

    version: str = ""
    taglines: Mapping[str, Tagline] = attrs.field(factory=dict)
    states: Mapping[str, StateLanguages] = attrs.field(factory=dict)


def parse_language_assistance(doc: Located, path: str) -> tuple[
        str | None, dict[str, Tagline], dict[str, StateLanguages], list[Problem]]:
    """The version, taglines and state lists of one file, and every problem in it (each naming the file and
    line)."""
    problems: list[Problem] = []

    def problem(message: str, at: str) -> None:
        problems.append(Problem(message, path=path, line=doc.line(at)))

    data = doc.data
    if not isinstance(data, Mapping):
        problem(f"must be a mapping with the keys {', '.join(sorted(_TOP_KEYS))} (got {type(data).__name__})", "")
        return None, {}, {}, problems
    unknown = sorted(map(str, set(data) - _TOP_KEYS))
    if unknown:
        problem(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_TOP_KEYS))})", unknown[0])
    version = data.get("version")
    if version is not None and (not isinstance(version, str) or not version.strip()):
        problem(f"version must be text such as \"1.0\" (got {version!r})", "version")
        version = None
    review = data.get("review", "required")
    if review not in REVIEW:
        problem(f"review must be one of {', '.join(REVIEW)} (got {review!r})", "review")
        review = "required"
    taglines = _taglines(data.get("taglines", {}), review, path, problem)
    states = _states(data.get("states", {}), path, problem)
    return version, taglines, states, problems


def _taglines(raw: object, review: str, path: str, problem: Report) -> dict[str, Tagline]:
    if not isinstance(raw, Mapping):
        problem(f"taglines must map each language tag (such as es) to its name and text (got {raw!r})",
               "taglines")
        return {}
    out: dict[str, Tagline] = {}
    for tag, entry in raw.items():
        at = f"taglines.{tag}"
        if not isinstance(tag, str) or not LANGUAGE_TAG.fullmatch(tag):
            problem(f"{tag!r} is not a language tag such as es, zh-Hant or pt-BR", at)
            continue
        if not isinstance(entry, Mapping):
            problem(f"{at} must give name and text (got {entry!r})", at)
            continue
        bad = sorted(map(str, set(entry) - _TAGLINE_KEYS))
        if bad:
            problem(f"{at} has unknown key(s) {', '.join(bad)} (known: name, text)", at)
        name, text = entry.get("name"), entry.get("text")
        if not isinstance(name, str) or not name.strip():
            problem(f"{at}.name must be the language's own name, such as Español (got {name!r})",
                   f"{at}.name")
            continue
        if not isinstance(text, str) or not text.strip():
            problem(f"{at}.text must be the line, with {{phone}} and {{tty}} (got {text!r})", f"{at}.text")
            continue
        missing = [p for p in _PLACES if text.count(p) != 1]
        if missing:
            problem(f"{at}.text must have {' and '.join(missing)} once each, where the clinic's numbers go "
                   f"(got {text!r})", f"{at}.text")
            continue
        out[tag] = Tagline(name.strip(), text.strip(), review, path)
    return out


def _states(raw: object, path: str, problem: Report) -> dict[str, StateLanguages]:
    if not isinstance(raw, Mapping):
        problem(f"states must map each state code (such as CA) to its languages and source (got {raw!r})",
               "states")
        return {}
    out: dict[str, StateLanguages] = {}
    for code, at, entry in state_entries(raw, _STATE_KEYS, "CA", "languages and source", problem):
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            problem(f"{at}.source must say where the list comes from: the publication, its date and address "
                   f"(got {source!r})", f"{at}.source")
            continue
        languages = entry.get("languages")
        if not isinstance(languages, Sequence) or isinstance(languages, str) or not all(
                isinstance(t, str) and LANGUAGE_TAG.fullmatch(t) for t in languages):
            problem(f"{at}.languages must list language tags such as [es, zh-Hant, vi] (got {languages!r})",
                   f"{at}.languages")
            continue
        if "en" in languages or len(set(languages)) != len(languages):
            problem(f"{at}.languages must not list English (it always comes first) nor a language twice",
                   f"{at}.languages")
            continue
        if len(languages) < MIN_LANGUAGES:
            problem(f"{at}.languages lists {len(languages)}; 45 CFR 92.11 asks for at least the "
                   f"{MIN_LANGUAGES} most common languages of the state", f"{at}.languages")
            continue
        out[code] = StateLanguages(tuple(languages), source.strip(), path)
    return out


def table_problems(table: LanguageTable) -> list[Problem]:
    """What the merged table cannot give: English, or a state's language without a tagline."""
    out = []
    if table.taglines and "en" not in table.taglines:
        out.append(Problem("language-assistance.yaml: no English tagline (taglines.en): the page starts with it"))
    for code, state in sorted(table.states.items()):
        for tag in state.languages:
            if tag not in table.taglines:
                out.append(Problem(f"language-assistance.yaml: states.{code} lists {tag!r}, which has no tagline "
                                   f"(taglines.{tag})", path=state.path))
    return out


def page_state(clinic: Clinic) -> str:
    """The state whose languages the page lists: ``language_assistance.state``, else the clinic's."""
    la = clinic.language_assistance
    return ((la.state if la is not None and la.state else None) or clinic.state).upper()


def tagline_lines(table: LanguageTable, clinic: Clinic) -> list[tuple[str, str]]:
    """The page's lines as (language tag, text): English, then the state's languages in order, each with the
    clinic's phone and TTY. Raises :class:`~consent.InputError` when the table has no list for the state
    (no page in guessed languages) or lacks a line."""
    la = clinic.language_assistance
    if la is None:
        return []
    state = page_state(clinic)
    listed = table.states.get(state)
    if listed is None:
        shipped = ", ".join(sorted(table.states)) or "none"
        raise InputError(
            problems=[Problem(
                f"clinic.language_assistance: no list of the most common languages of {state} is shipped (lists "
                f"for: {shipped}), so the page of taglines cannot be made; it is never printed in a guessed set "
                f"of languages", field="clinic.language_assistance")],
            hint="give the state's list, with its source, in a pack's templates/rules/language-assistance.yaml: "
                 f"states: {{{state}: {{source: <publication, date, address>, languages: [es, ...]}}}} "
                 "(see clauses/README.md, \"Language assistance\"), or remove clinic.language_assistance",
        )
    out = []
    for tag in ("en", *listed.languages):
        line = table.taglines.get(tag)
        if line is None:  # table_problems reports it when the library loads; never a page without it
            raise InputError(problems=[Problem(f"no tagline for {tag!r} (taglines.{tag} of "
                                               "templates/rules/language-assistance.yaml)",
                                               field="clinic.language_assistance")])
        text = line.text.replace("{phone}", _isolated(la.phone, tag)).replace("{tty}", _isolated(la.tty, tag))
        out.append((tag, f"{line.name}: {text}"))
    return out


def _isolated(number: str, tag: str) -> str:
    """The clinic's number as given; in a right-to-left line set apart (Unicode left-to-right isolate) so
    its digits and brackets keep their order."""
    return f"\u2066{number}\u2069" if text_direction(tag) == "rtl" else number
