"""Load stage: find clause, treatment, label and template files in clinic packs and the built-in library.

Lookup order is the clinic's packs (in the order given), then the files shipped in the package. A pack
may add clauses and treatments, or replace a built-in one with the same id, but only under its own
version, so the form's manifest always shows which text was used.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml
from babel.core import get_global

from .._limits import MAX_DATA_FILE_BYTES, check_pack, file_size_problem
from .._yaml import DuplicateKeyError, Located, load_located
from ..approved_products import APPROVED_PRODUCTS_FILE, ApprovedProducts, parse_approved_products
from ..content import ClauseSpec, parse_clause, parse_clause_translation
from ..errors import ContentError, Problem, UnknownNameError
from ..inputs.language_assistance import (
    LANGUAGE_ASSISTANCE_FILE,
    LanguageTable,
    parse_language_assistance,
    table_problems,
)
from ..inputs.majority import MAJORITY_FILE, Majority, parse_majority
from .treatments import TreatmentSpec, parse_treatment, parse_treatment_translation

DEFAULT_LANGUAGE = "en"


def builtin_root() -> Path:
    """The folder holding the shipped ``clauses/`` and ``templates/``.

    An installed package carries them inside itself (the wheel copies them in). Imported from a source
    checkout (a REPL, ``python -c`` or a notebook started at the repository's root), the package has none,
    and the checkout's own folders beside it are used: the repository root, recognised by its
    ``pyproject.toml``.
    """
    package = Path(str(importlib.resources.files("consent")))
    for root in (package, package.parent):
        if (root / "clauses").is_dir() and (root / "templates").is_dir():
            if root == package or (root / "pyproject.toml").is_file():
                return root
    raise ContentError(
        "the built-in clauses and templates are missing from the consent package",
        hint="install the package (pip install .), or import it from a complete source checkout",
    )


@attrs.frozen
class Source:
    """One place content comes from: a clinic pack folder or the built-in library."""

    name: str
    root: Path

    @property
    def clauses(self) -> Path:
        return self.root / "clauses"

    @property
    def templates(self) -> Path:
        return self.root / "templates"


def _read(path: Path, problems: list[Problem]) -> Located | None:
    too_big = file_size_problem(path, MAX_DATA_FILE_BYTES, "the file")
    if too_big is not None:
        problems.append(too_big)
        return None
    try:
        return load_located(path.read_text(encoding="utf-8"))
    except (DuplicateKeyError, yaml.YAMLError, ValueError) as exc:
        problems.append(Problem(f"not valid YAML: {exc}", path=str(path)))
    except OSError as exc:
        problems.append(Problem(f"cannot be read: {exc}", path=str(path)))
    return None


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


class Library:
    """Every clause, treatment, label set and template visible through the given packs.

    Loading never stops at the first bad file: ``problems`` lists them all, and
    :meth:`raise_problems` turns them into one :class:`ContentError`.
    """

    def __init__(self, packs: Sequence[str | Path] = ()) -> None:
        self.problems: list[Problem] = []
        self.sources: tuple[Source, ...] = (
            *(pack_source(p) for p in packs),
            Source("built-in", builtin_root()),
        )
        self.clauses: dict[str, ClauseSpec] = {}
        self.treatments: dict[str, TreatmentSpec] = {}
        self._clause_tr: dict[tuple[str, str], ClauseSpec] = {}
        self._treatment_tr: dict[tuple[str, str], TreatmentSpec] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self.majority: dict[str, Majority] = {}  # state code -> its age of majority (consent/inputs/majority.py)
        self.approved_products: ApprovedProducts | None = None  # the dated list the fda-status clause cites
        # The language-assistance taglines and each state's languages (consent/inputs/language_assistance.py)
        self.language_assistance = LanguageTable()
        for source in reversed(self.sources):  # built-in first, so packs can replace
            self._load_source(source)
        self.problems += table_problems(self.language_assistance)
        self._load_translations()
        if self.approved_products is None and not self.problems:  # a broken file has said what is wrong
            self.problems.append(Problem("no approved-products file: templates/rules/approved-products.yaml"))


    # ------------------------------------------------------------------ loading

    def _load_source(self, source: Source) -> None:
        for path in _yaml_files(source.clauses):
            doc = _read(path, self.problems)
            if doc is None:
                continue
            spec, problems = parse_clause(doc, str(path), source.name)
            self.problems += problems
            if spec is not None:
                self._add(self.clauses, spec, path, "clause")
        for path in _yaml_files(source.templates / "treatments"):
            doc = _read(path, self.problems)
            if doc is None:
                continue
            tspec, problems = parse_treatment(doc, str(path), source.name)
            self.problems += problems
            if tspec is not None:
                self._add(self.treatments, tspec, path, "treatment")
        for path in _yaml_files(source.templates / "labels"):
            doc = _read(path, self.problems)
            if doc is None:
                continue
            if not isinstance(doc.data, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in doc.data.items()
            ):
                self.problems.append(Problem("a labels file maps names to text", path=str(path)))
                continue
            self.labels.setdefault(path.stem, {}).update(doc.data)
        majority = source.templates.joinpath(*MAJORITY_FILE)
        if majority.is_file():  # a pack's copy replaces the states it lists
            doc = _read(majority, self.problems)
            if doc is not None:
                states, problems = parse_majority(doc, str(majority))
                self.problems += problems
                self.majority.update(states)
        languages = source.templates.joinpath(*LANGUAGE_ASSISTANCE_FILE)
        if languages.is_file():  # a pack's copy adds or replaces the taglines and the states it lists
            doc = _read(languages, self.problems)
            if doc is not None:
                version, taglines, states, problems = parse_language_assistance(doc, str(languages))
                self.problems += problems
                table = self.language_assistance
                self.language_assistance = LanguageTable(version or table.version,
                                                         {**table.taglines, **taglines},
                                                         {**table.states, **states})
        approved = source.templates.joinpath(*APPROVED_PRODUCTS_FILE)
        if approved.is_file():  # a pack's copy replaces the whole list (loaded after the built-in one)
            doc = _read(approved, self.problems)
            if doc is not None:
                listed, problems = parse_approved_products(doc, str(approved))
                self.problems += problems
                self.approved_products = listed or self.approved_products

    def _add(self, table: dict, spec: ClauseSpec | TreatmentSpec, path: Path, what: str) -> None:  # type: ignore[type-arg]
        if path.stem != spec.id:
            self.problems.append(Problem(f"id {spec.id!r} does not match the file name {path.name!r}", path=str(path)))
        old = table.get(spec.id)
        if old is not None:
            if old.source == spec.source:
                self.problems.append(Problem(f"duplicate {what} id {spec.id!r} (also in {old.path})", path=str(path)))
                return
            if old.version == spec.version:
                self.problems.append(
                    Problem(
                        f"{spec.source} replaces the {old.source} {what} {spec.id!r} but keeps its version "
                        f"{spec.version!r}; give the replacement its own version",
                        path=str(path),
                    )
                )
        table[spec.id] = spec

    def _load_translations(self) -> None:
        for source in self.sources:
            self._load_translated(source, source.clauses, self.clauses, self._clause_tr,
                                  parse_clause_translation, "clause")
            self._load_translated(source, source.templates / "treatments", self.treatments,
                                  self._treatment_tr, parse_treatment_translation, "treatment")

    def _load_translated(self, source: Source, folder: Path, english: dict, translated: dict,  # type: ignore[type-arg]
                         parse: Any, what: str) -> None:
        """``folder/<language>/<id>.yaml`` files of one source, laid over their English clause or treatment."""
        for lang_dir in sorted(p for p in folder.glob("*") if p.is_dir()):
            for path in _yaml_files(lang_dir):
                key = (lang_dir.name, path.stem)
                if key in translated:
                    continue  # an earlier (pack) source already translated it
                base = english.get(path.stem)
                if base is None:
                    self.problems.append(Problem(f"translation of unknown {what} {path.stem!r}", path=str(path)))
                    continue
                if base.source != source.name and source.name == "built-in":
                    continue  # a pack replaced the English text: the stock translation no longer fits
                doc = _read(path, self.problems)
                if doc is not None:
                    spec, problems = parse(doc, str(path), base, lang_dir.name)
                    self.problems += problems
                    if spec is not None:
                        translated[key] = spec

    # ------------------------------------------------------------------ lookups

    def raise_problems(self) -> None:
        if self.problems:
            raise ContentError(
                f"{len(self.problems)} problem(s) in the clause and treatment files", problems=self.problems
            )

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages a whole form can be written in (those with a labels file)."""
        return tuple(sorted(self.labels))

    def treatment(self, treatment_id: str, language: str = DEFAULT_LANGUAGE) -> TreatmentSpec:
        if treatment_id not in self.treatments:
            raise UnknownNameError.for_name("treatment", treatment_id, list(self.treatments))
        if language == DEFAULT_LANGUAGE:
            return self.treatments[treatment_id]
        try:
            return self._treatment_tr[(language, treatment_id)]
        except KeyError:
            raise ContentError(f"treatment {treatment_id!r} has no {language!r} translation") from None

    def clause(self, clause_id: str, language: str = DEFAULT_LANGUAGE) -> ClauseSpec:
        if clause_id not in self.clauses:
            raise UnknownNameError.for_name("clause", clause_id, list(self.clauses))
        if language == DEFAULT_LANGUAGE:
            return self.clauses[clause_id]
        try:
            return self._clause_tr[(language, clause_id)]
        except KeyError:
            raise ContentError(f"clause {clause_id!r} has no {language!r} translation") from None

    def has_translation(self, kind: str, item_id: str, language: str) -> bool:
        if language == DEFAULT_LANGUAGE:
            return True
        table = self._clause_tr if kind == "clause" else self._treatment_tr
        return (language, item_id) in table

    def state_notices(self, state: str) -> list[ClauseSpec]:
        return [c for c in self.clauses.values() if c.kind == "state-notice" and state.upper() in c.states]

    def label_set(self, language: str) -> dict[str, str]:
        try:
            return self.labels[language]
        except KeyError:
            raise UnknownNameError.for_name("language", language, list(self.labels)) from None

    def locale(self, language: str) -> str:
        """The Babel locale a language's dates and amounts are written in (its labels' ``locale``)."""
        return str(self.labels.get(language, {}).get("locale", "en_US"))

    def template(self, name: str) -> Path:
        """The first ``templates/<name>`` found in the packs, then the built-in library."""
        return find_template(self.sources, name)

    @functools.cached_property
    def template_version(self) -> str:
        """The version of the form layout (``templates/VERSION``), recorded in every manifest."""
        return self.template("VERSION").read_text(encoding="utf-8").strip()

    @property
    def template_roots(self) -> tuple[Path, ...]:
        return tuple(s.templates.resolve() for s in self.sources if s.templates.is_dir())


class TemplateFolders:
    """The template folders visible through the packs, found without reading a clause or treatment
    file: what the renderers need (a renderer never loads the whole clause library)."""

    def __init__(self, packs: Sequence[str | Path] = ()) -> None:
        self.sources = (*(pack_source(p) for p in packs), Source("built-in", builtin_root()))

    def template(self, name: str) -> Path:
        """The first ``templates/<name>`` found in the packs, then the built-in library."""
        return find_template(self.sources, name)

    @property
    def template_roots(self) -> tuple[Path, ...]:
        return tuple(s.templates.resolve() for s in self.sources if s.templates.is_dir())


def pack_source(folder: str | Path) -> Source:
    """A clinic pack folder, checked (it exists, has clauses/ or templates/, its size, no links out)."""
    path = Path(folder)
    if not path.is_dir():
        raise ContentError(f"{path}: clinic pack folder not found")
    if not (path / "clauses").is_dir() and not (path / "templates").is_dir():
        raise ContentError(f"{path}: a clinic pack needs a clauses/ or templates/ folder (found neither)")
    check_pack(path, allowed_roots=(builtin_root(),))  # size, and no links out of the pack
    return Source(f"pack:{path.name}", path)


def find_template(sources: Sequence[Source], name: str) -> Path:
    """The first ``templates/<name>`` found in ``sources`` (the packs, then the built-in library)."""
    for source in sources:
        candidate = source.templates / name
        if candidate.is_file():
            return candidate
    raise ContentError(f"template {name!r} not found in any pack or the built-in library")


@functools.lru_cache(maxsize=16)
def _folders(packs: tuple[str, ...]) -> TemplateFolders:
    return TemplateFolders(packs)


def template_folders(packs: Iterable[str | Path] = ()) -> TemplateFolders:
    """The template folders for these packs, cached per process (see :class:`TemplateFolders`)."""
    return _folders(tuple(str(Path(p).resolve()) for p in packs))


@functools.lru_cache(maxsize=16)
def _cached(packs: tuple[str, ...]) -> Library:
    return Library(packs)


def get_library(packs: Iterable[str | Path] = ()) -> Library:
    """A loaded library for these packs, cached per process (content files are read once)."""
    return _cached(tuple(str(Path(p).resolve()) for p in packs))


# Chinese is written in two scripts; a form in one is no use to a reader of the other. A tag's script
# subtag decides (zh-Hans, zh-Hant); without one its region does, as CLDR's likely subtags have it:
# Taiwan, Hong Kong and Macao write Traditional, mainland China, Singapore and Malaysia Simplified, and a
# bare "zh" (or "Chinese") is Simplified. A region not listed here is not guessed: no form.
_CHINESE_SCRIPT_BY_REGION = {"CN": "Hans", "SG": "Hans", "MY": "Hans", "TW": "Hant", "HK": "Hant", "MO": "Hant"}


def _chinese(subtags: list[str]) -> str | None:
    """``zh-Hans`` or ``zh-Hant`` for the subtags after ``zh`` (``["CN"]``, ``["Hant", "TW"]``), else None."""
    for tag in subtags:
        if tag.lower() in ("hans", "hant"):
            return "zh-" + tag.capitalize()
    regions = [tag.upper() for tag in subtags if len(tag) == 2 and tag.isalpha()]
    if not regions:
        return "zh-Hans"
    script = _CHINESE_SCRIPT_BY_REGION.get(regions[0])
    return f"zh-{script}" if script else None


def resolve_language(code: str | None, available: Iterable[str]) -> str | None:
    """Map an ISO language code (``es``, ``es-MX``, ``spa``, ``es_US``) to an available form language.

    Chinese resolves to its script: ``zh``, ``zh-CN``, ``zh-SG``, ``zh-Hans``, ``zho`` and ``cmn`` to
    ``zh-Hans``; ``zh-TW``, ``zh-HK`` and ``zh-Hant`` to ``zh-Hant`` (no stock form: the caller falls
    back to English and warns), never to the other script."""
    if not code or not code.strip():
        return None
    subtags = code.strip().replace("_", "-").split("-")
    base = subtags[0].lower()
    aliases = get_global("language_aliases")
    base = str(aliases.get(base, base)).split("_")[0]
    if base in ("zh", "cmn"):  # Mandarin is written in either script: the subtags decide
        chosen = _chinese(subtags[1:])
        return chosen if chosen in set(available) else None
    return base if base in set(available) else None
