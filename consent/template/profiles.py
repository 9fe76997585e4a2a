"""Field profiles: how an EHR or practice-management system names the merge fields of a consent template.

A profile is a data file, ``templates/fields/<name>.yaml`` (built in, or in a clinic pack)::

    description: Double-brace placeholders with CamelCase names
    placeholder: "{{%s}}"          # how the HTML export writes a field; %s is the field's name
    fields:                        # internal key -> the system's field name
      patient.full_name: PatientFullName
      patient.birth_date: PatientDOB
      patient.mrn: PatientMRN
      form.date: TodayDate

The internal keys are in :data:`KEYS`. A profile maps ``patient.birth_date``, ``patient.mrn`` and
``form.date``, and either ``patient.full_name`` or both ``patient.first_name`` and
``patient.last_name`` (the name is then written as the two fields with a space between). A pack may add
profiles but not reuse a built-in profile's name: a template made with ``generic`` is always the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import cattrs
import yaml

from .._limits import MAX_DATA_FILE_BYTES, file_size_problem
from .._yaml import DuplicateKeyError, load_located
from ..errors import ContentError, UnknownNameError
from ..library.loader import get_library

KEYS = (
    "patient.full_name",
    "patient.first_name",
    "patient.last_name",
    "patient.birth_date",
    "patient.mrn",
    "form.date",
)
REQUIRED = ("patient.birth_date", "patient.mrn", "form.date")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")  # a Word MERGEFIELD name; also a PDF field name
FOLDER = "fields"


@attrs.frozen
class _ProfileFile:
    placeholder: str
    fields: dict[str, str]
    description: str = ""


@attrs.frozen
class FieldProfile:
    """One system's merge-field names. ``fields`` maps internal keys (:data:`KEYS`) to its names."""

    name: str
    path: str
    description: str
    placeholder: str
    fields: Mapping[str, str]

    def field(self, key: str) -> str:
        return self.fields[key]

    def name_fields(self) -> tuple[str, ...]:
        """The field(s) the patient's name is written as: the full name, or the first and last names."""
        if "patient.full_name" in self.fields:
            return (self.fields["patient.full_name"],)
        return (self.fields["patient.first_name"], self.fields["patient.last_name"])

    def placeholder_for(self, field: str) -> str:
        return self.placeholder.replace("%s", field)


_converter = cattrs.Converter(forbid_extra_keys=True)


def _problems(profile: _ProfileFile) -> list[str]:
    out = []
    if profile.placeholder.count("%s") != 1:
        out.append("placeholder must contain %s once, where the field name goes "
                   f"(got {profile.placeholder!r})")
    unknown = sorted(set(profile.fields) - set(KEYS))
    if unknown:
        out.append(f"unknown internal key(s) {', '.join(map(repr, unknown))} in fields; "
                   f"the known keys are {', '.join(KEYS)}")
    missing = [k for k in REQUIRED if k not in profile.fields]
    has_parts = {"patient.first_name", "patient.last_name"} <= set(profile.fields)
    if "patient.full_name" not in profile.fields and not has_parts:
        missing.insert(0, "patient.full_name (or both patient.first_name and patient.last_name)")
    if missing:
        out.append(f"fields lacks {', '.join(missing)}; the known keys are {', '.join(KEYS)}")
    for key, name in profile.fields.items():
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            out.append(f"fields.{key}: {name!r} is not a usable field name (a letter, then up to 39 letters, "
                       "digits or underscores)")
    names = list(profile.fields.values())
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        out.append(f"fields: the same field name for two keys: {', '.join(doubled)}")
    return out


def load_profile_file(path: Path) -> FieldProfile:
    """Read and validate one profile file; ContentError naming the file and what is wrong."""
    too_big = file_size_problem(path, MAX_DATA_FILE_BYTES, "the file")
    if too_big is not None:
        raise ContentError(problems=[too_big])
    try:
        data = load_located(path.read_text(encoding="utf-8")).data
    except (DuplicateKeyError, yaml.YAMLError, ValueError) as exc:
        raise ContentError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ContentError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        raw = _converter.structure(data, _ProfileFile)
    except (cattrs.BaseValidationError, KeyError, TypeError, ValueError) as exc:
        raise ContentError(f"{path}: not a field profile ({_first_line(exc)})",
                           hint="a field profile has description, placeholder (text with %s) and fields "
                                "(internal key -> field name)") from None
    problems = _problems(raw)
    if problems:
        raise ContentError(f"{path}: " + "; ".join(problems))
    return FieldProfile(path.stem, str(path), raw.description, raw.placeholder, dict(raw.fields))


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def profile_paths(packs: Iterable[str | Path] = ()) -> dict[str, Path]:
    """Every profile visible through ``packs``, by name. A pack profile with the name of a built-in one
    (or of another pack's) is an error: it would silently change what a profile name means."""
    found: dict[str, Path] = {}
    for source in reversed(get_library(packs).sources):  # built-in first: the pack's file is named
        folder = source.templates / FOLDER
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            if path.stem in found:
                raise ContentError(
                    f"{path}: a field profile named {path.stem!r} already exists ({found[path.stem]})",
                    hint="give the pack's profile its own file name, e.g. clinic-" + path.stem + ".yaml",
                )
            found[path.stem] = path
    return found


def get_profile(name: str, packs: Iterable[str | Path] = ()) -> FieldProfile:
    """The profile called ``name`` (a file name without .yaml) from the packs or the built-in library."""
    paths = profile_paths(packs)
    if name not in paths:
        raise UnknownNameError.for_name("field profile", name, list(paths))
    return load_profile_file(paths[name])
