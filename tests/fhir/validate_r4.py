"""Validate FHIR JSON files with the FHIR R4 (4.0.1) models of fhir.resources 6.4.0 (pydantic 1).

    .venv-fhir-r4/bin/python tests/fhir/validate_r4.py [--strict-url] FILE...

Runs in .venv-fhir-r4 (./dev test makes it from requirements/fhir-r4-lock.txt), not in the project's venv,
whose fhir.resources 8 is R5/R4B. Any resource type; a Bundle is checked without its entries' resources,
then each entry's resource on its own (nested Bundles too), so that every entry's errors are listed and one
entry of an unknown type does not hide the others.

Prints a JSON array on stdout, one object per file: {"file", "resourceType", "errors": [{"path", "message",
"value"?, "source"}], "warnings": [...]}, paths as JSON pointers. Exit status 1 when any file has an error,
2 when this Python has no fhir.resources for R4.

One finding of fhir.resources is a warning, not an error, unless --strict-url: it refuses a relative url
("forms/x.pdf": "invalid or missing URL scheme"; it takes only "/..." paths), while R4 gives the url type
the regex \\S* and says of Attachment.url "Urls may be relative references ... interpreted relative to the
service url, like a resource reference". The official R4 JSON schema and Medplum accept it.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

try:
    import fhir.resources
    from fhir.resources import construct_fhir_element
    from pydantic import ValidationError
except ImportError:  # main() says so
    construct_fhir_element = None

SOURCE = "fhir.resources-6.4.0"
_R4_URL = re.compile(r"\S*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in loc if part != "__root__"]
    return "".join(f"/{part}" for part in parts) or "/"


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        if part == "__root__":
            continue
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _check(data: Any, base: str, strict_url: bool, errors: list[dict[str, Any]],
           warnings: list[dict[str, Any]]) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        errors.append({"path": base or "/", "message": "not a FHIR resource (no resourceType)",
                       "source": SOURCE})
        return
    kind = data["resourceType"]
    inner: list[tuple[str, Any]] = []
    if kind == "Bundle" and isinstance(data.get("entry"), list):
        data = dict(data)
        entries = []
        for i, entry in enumerate(data["entry"]):
            if isinstance(entry, dict) and "resource" in entry:
                inner.append((f"{base}/entry/{i}/resource", entry["resource"]))
                entries.append({key: value for key, value in entry.items() if key != "resource"})
            else:
                entries.append(entry)
        data["entry"] = entries
    try:
        construct_fhir_element(kind, data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            value = _value_at(data, loc)
            pointer = _pointer(loc)
            item = {"path": (base + (pointer if pointer != "/" else "")) or "/", "message": error["msg"],
                    "source": SOURCE}
            if value is not None and not isinstance(value, (dict, list)):
                item["value"] = json.dumps(value)[:120]
            relative_url = (error["type"] == "value_error.url.scheme" and isinstance(value, str)
                            and _R4_URL.fullmatch(value) and not _SCHEME.match(value))
            if relative_url and not strict_url:
                item["message"] += (" (a relative url: R4 allows it, fhir.resources 6.4.0 takes only '/...'"
                                    " paths; --strict-url makes this an error)")
                warnings.append(item)
            else:
                errors.append(item)
    except Exception as exc:  # an unknown resourceType or element type: a LookupError, not a ValidationError
        errors.append({"path": base or "/", "message": f"{type(exc).__name__}: {exc}", "source": SOURCE})
    for path, resource in inner:
        _check(resource, path, strict_url, errors, warnings)


def validate_file(path: str, strict_url: bool = False) -> dict[str, Any]:
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        return {"file": path, "resourceType": None, "warnings": [],
                "errors": [{"path": "/", "message": f"not a JSON file: {exc}", "source": "json"}]}
    _check(data, "", strict_url, errors, warnings)
    kind = data.get("resourceType") if isinstance(data, dict) else None
    return {"file": path, "resourceType": kind, "errors": errors, "warnings": warnings}


def main(argv: list[str]) -> int:
    strict_url = "--strict-url" in argv
    files = [arg for arg in argv if arg != "--strict-url"]
    if not files:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    if construct_fhir_element is None:
        print("validate_r4.py: no fhir.resources here; run it with .venv-fhir-r4/bin/python (./dev test "
              "installs it)", file=sys.stderr)
        return 2
    if getattr(fhir.resources, "__fhir_version__", None) != "4.0.1":
        print(f"validate_r4.py: fhir.resources {fhir.resources.__version__} is FHIR "
              f"{getattr(fhir.resources, '__fhir_version__', '?')}, not R4 4.0.1; run it with "
              ".venv-fhir-r4/bin/python", file=sys.stderr)
        return 2
    results = [validate_file(path, strict_url) for path in files]
    print(json.dumps(results, indent=1, ensure_ascii=False))
    return 1 if any(result["errors"] for result in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
