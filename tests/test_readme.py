"""README code runs as written: every shell and Python block of README.md and examples/*/README.md.

The blocks of each README run in a copy of the repository in a temporary folder (its files as git lists
them, tracked and untracked but not ignored), from the copy's root, as a user runs them there: the copy's
``.venv`` is the environment running these tests, and its ``bin`` folder is first on the PATH, so
``.venv/bin/consent`` and a bare ``consent`` both work. The blocks run in the README's order:

- a shell block (``sh``, ``bash``, ``shell``; the ``$`` lines of ``console``) with ``bash -euo pipefail``;
- the Python blocks (``python``, ``py``) of one README as one script, written into the copy's root and run
  where the first of them is, with plain ``python`` from the copy's root, so ``import consent`` imports the
  copy's own source package, as it does for a user in a checkout. The script keeps the
  README's line numbers, so a traceback names the README line; ``if __name__ == "__main__":`` matters as
  it does for a user, since a batch's worker processes import the script again.

Each block is a test (``README.md:75``: the README and the line of its opening fence). A block passes
when it exits 0 (or the code of a ``<!-- readme-test: exit N -->`` marker on the line before its fence),
writes no "Traceback" and no "Warning" to stderr, and every file named in a ``# -> PATH`` comment of it
exists afterwards (a glob); some blocks have checks of their own (``CHECKS``). A block marked
``<!-- readme-test: skip: REASON -->`` is not run; only the ``./dev`` commands may be. Files a user
brings and the repository cannot hold (a signed form, the clinic's .p12 certificate) are made in the
copy before its blocks run, when a block names them.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import DATE, EXAMPLES, REPO
from signing import P12_PASSWORD, complete, make_pki

import consent

READMES = [REPO / "README.md", *sorted(REPO.glob("examples/*/README.md"))]
SHELL = {"sh", "bash", "shell", "console"}
PYTHON = {"python", "py"}
OPENING = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<what>.*?)\s*-->\s*$")
PRODUCES = re.compile(r"#\s*->\s*(?P<path>\S+)")
COPY_IGNORED = {".venv", ".venv-latest", ".venv-lowest", "out", ".git", "__pycache__", ".pytest_cache",
                ".mypy_cache", ".ruff_cache", "build", "dist"}
TIMEOUT = 600
PARALLEL = 2  # READMEs run at once (the machine this was written on has 2 cores)
# Blocks that may be skipped: the README's development commands (they install the package into .venv,
# which here is the running environment, and run this test suite).
SKIPPABLE = [
    ("README.md", ["./dev examples", "./dev test"]),
    ("examples/sunrise-clinic/README.md", ["./dev examples"]),
]


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced block of a README: its info string, its text, and the readme-test marker before it."""

    readme: str  # the README's path in the repository, "examples/ehr-batch/README.md"
    line: int  # the line of the opening fence, from 1
    info: str
    code: str
    marker: str | None  # what the <!-- readme-test: ... --> line right before the fence says

    @property
    def id(self) -> str:
        return f"{self.readme}:{self.line}"

    @property
    def kind(self) -> str | None:
        return "shell" if self.info in SHELL else "python" if self.info in PYTHON else None

    @property
    def skip_reason(self) -> str | None:
        """The reason given by a skip marker ("" when it gives none); None when the block is not skipped."""
        if self.marker is None or not re.match(r"skip\b", self.marker):
            return None
        return self.marker.removeprefix("skip").lstrip(":").strip()

    @property
    def expected_exit(self) -> int:
        match = re.fullmatch(r"exit (\d+)", self.marker or "")
        return int(match[1]) if match else 0

    @property
    def commands(self) -> str:
        """What bash runs: the block, or for ``console`` its ``$ `` lines without the prompt."""
        if self.info != "console":
            return self.code
        return "\n".join(line[2:] for line in self.code.splitlines() if line.startswith("$ "))


def parse(readme: Path) -> list[Block]:
    """The fenced blocks of a Markdown file (CommonMark fences: ``` or ~~~, indented up to 3 spaces)."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    name = readme.relative_to(REPO).as_posix()
    blocks, index = [], 0
    while index < len(lines):
        opening = OPENING.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [line[indent:] if not line[:indent].strip() else line.lstrip()
                for line in lines[index + 1:end]]
        marker = MARKER.match(lines[index - 1]) if index else None
        blocks.append(Block(name, index + 1, opening["info"], "\n".join(body) + "\n",
                            marker["what"] if marker else None))
        index = end + 1
    return blocks


BLOCKS = [block for readme in READMES for block in parse(readme)]
RUNNABLE = [block for block in BLOCKS if block.kind is not None]


# --------------------------------------------------------------------------- running a README's blocks


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one run ended: exit status, what it printed, how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclasses.dataclass
class ReadmeRun:
    """The copy a README's blocks ran in, and how each ran (Python blocks: the one script's outcome)."""

    copy: Path
    script: Path | None = None
    shell: dict[int, Outcome] = dataclasses.field(default_factory=dict)  # by the block's line
    python: Outcome | None = None


def copy_repository(dest: Path) -> None:
    """The repository's files into ``dest``: what git lists (tracked, and untracked but not ignored), else
    the tree without virtual environments, outputs and caches."""
    listed, git = None, shutil.which("git")
    if (REPO / ".git").exists() and git:
        argv = [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        done = subprocess.run(argv, cwd=REPO, capture_output=True, check=False)  # noqa: S603
        if done.returncode == 0:
            listed = [name for name in done.stdout.decode().split("\0") if name]
    if listed is None:
        relative = (path.relative_to(REPO) for path in REPO.rglob("*"))
        listed = [path.as_posix() for path in relative
                  if not COPY_IGNORED & set(path.parts) and not path.name.endswith(".egg-info")]
    for name in listed:
        source = REPO / name
        if source.is_file():  # not a file deleted in the working tree, a folder or a submodule
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def make_user_files(copy: Path, blocks: list[Block]) -> dict[str, str]:
    """What a user brings that the repository cannot hold, made where the README's blocks name it:
    ``signed.pdf`` (a fillable form filled in and signed by the patient and the provider, with pyHanko),
    the clinic's certificate ``clinic.p12`` and its issuer's ``clinic-ca.pem``. Returns the environment
    variables they need (the .p12 password)."""
    if not any("signed.pdf" in block.code for block in blocks):
        return {}
    patient = consent.Patient(full_name="Ada O'Connor", birth_date=DATE.replace(year=1985), mrn="SRH-000101")
    clinic = consent.load_clinic(EXAMPLES / "clinic.yaml")
    form = consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)
    pki = make_pki(copy.parent / "pki")
    (copy / "signed.pdf").write_bytes(complete(form.to_pdf(fillable=True), pki))
    shutil.copyfile(pki.clinic_p12, copy / "clinic.p12")
    shutil.copyfile(pki.ca_pem, copy / "clinic-ca.pem")
    return {"CLINIC_P12_PASSWORD": P12_PASSWORD}


def python_script(blocks: list[Block]) -> str:
    """The Python blocks as one script, each code line on its README line (the others blank)."""
    lines: list[str] = []
    for block in blocks:
        code = block.code.splitlines()
        lines += [""] * (block.line - len(lines))
        lines[block.line:block.line + len(code)] = code
    return "\n".join(lines) + "\n"


def run(argv: list[str], copy: Path, env: dict[str, str]) -> Outcome:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=TIMEOUT, check=False)
    return Outcome(done.returncode, done.stdout, done.stderr, round(time.perf_counter() - started, 1))


def run_readme(readme: str, folder: Path) -> ReadmeRun:
    """Every runnable block of ``readme`` that is not skipped, in order, in a new copy of the repository."""
    blocks = [block for block in RUNNABLE if block.readme == readme and block.skip_reason is None]
    copy = folder / "repo"
    copy_repository(copy)
    (copy / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    env = {**os.environ, **make_user_files(copy, blocks),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]),
           "CONSENT_CACHE_DIR": str(folder / "cache")}  # the command's cache as a user has it, not in $HOME
    result = ReadmeRun(copy)
    for block in blocks:
        if block.kind == "shell":
            result.shell[block.line] = run(["bash", "-euo", "pipefail", "-c", block.commands], copy, env)
        elif result.script is None:  # the script runs where its first block is
            result.script = copy / f"readme-{readme.removesuffix('.md').replace('/', '-')}.py"
            script = python_script([b for b in blocks if b.kind == "python"])
            result.script.write_text(script, encoding="utf-8")
            result.python = run([sys.executable, result.script.name], copy, env)
    return result


@pytest.fixture(scope="module")
def readme_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], ReadmeRun]]:
    """Each README's blocks run once (they depend on each other), each README in its own copy; the READMEs
    whose blocks this session tests run side by side (most of the time is spent waiting for commands)."""
    params = [getattr(getattr(item, "callspec", None), "params", {}) for item in request.session.items]
    selected = [param["block"] for param in params if isinstance(param.get("block"), Block)]
    wanted = [readme for readme in (r.relative_to(REPO).as_posix() for r in READMES)
              if any(block.readme == readme for block in selected)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL) as pool:

        def start(readme: str) -> concurrent.futures.Future[ReadmeRun]:
            folder = tmp_path_factory.mktemp(Path(readme).parent.name or "root")
            return pool.submit(run_readme, readme, folder)

        runs = {readme: start(readme) for readme in wanted}

        def get(readme: str) -> ReadmeRun:
            if readme not in runs:
                runs[readme] = start(readme)
            return runs[readme].result()

        yield get


# --------------------------------------------------------------------------- what blocks say they make


def _made(out: Path) -> list[tuple[int, str, str, str, bool]]:
    """The forms of a batch's manifest: record, source, treatment, language and whether it has notes."""
    lines = (json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines())
    return sorted((e["record"], e["source"], e["treatment"]["id"], e["language"], bool(e["notes"]))
                  for e in lines)


def _error_rows(out: Path) -> list[list[str]]:
    """errors.csv without its header, and without the message (its wording is pinned elsewhere)."""
    rows = list(csv.reader(io.StringIO((out / "errors.csv").read_text(encoding="utf-8"))))[1:]
    return [row[:3] for row in rows]


def _check_batch(out: str, made: list[tuple[int, str, str, str, bool]], errors: list[list[str]],
                 summary: str | None = None) -> Callable[[Path, Outcome], None]:
    """The batch in ``out`` made these forms (each a PDF, a DOCX and its FHIR resources) and these errors,
    and wrote its FHIR Bundle; a command printed ``summary`` first."""

    def check(copy: Path, outcome: Outcome) -> None:
        assert summary is None or outcome.stdout.startswith(summary), outcome.stdout
        assert (_made(copy / out), _error_rows(copy / out)) == (made, errors)
        names = [path.name for path in (copy / out / "forms").iterdir()]
        forms = sorted(name.split("_")[0] + name[name.index("."):] for name in names)
        assert forms == sorted(f"rec-{m[0]:06}{ext}" for m in made for ext in (".docx", ".fhir.json", ".pdf"))
        bundle = json.loads((copy / out / "fhir-bundle.json").read_text(encoding="utf-8"))
        assert bundle["type"] == "transaction"

    return check


def _patients(treatment: str) -> list[tuple[int, str, str, str, bool]]:
    """examples/ehr-batch/patients.csv and the Synthea patient, made as that README says: record 2 in
    Spanish, record 3 in English with a note (Vietnamese has no form), record 4 (no birth date) failed."""
    return [(1, "patients.csv", treatment, "en", False), (2, "patients.csv", treatment, "es", False),
            (3, "patients.csv", treatment, "en", True),
            (5, "synthea-gustavo-mejia-es.json", treatment, "es", False)]


# examples/ehr-batch/procedures.csv: each record's own treatment and language; record 5 names no treatment id.
BOOKED = [(1, "procedures.csv", "knee-injection", "en", False),
          (2, "procedures.csv", "iv-infusion", "es", False),
          (3, "procedures.csv", "hair", "en", False), (4, "procedures.csv", "hair", "es", False)]
NO_BIRTH_DATE = [["4", "patients.csv", "patient.birth_date"]]
NOT_A_TREATMENT = [["5", "procedures.csv", "treatment"]]
SUMMARY = "5 record(s): 4 form(s) written, 0 already complete, 1 failed, in "


def _check_library_batches(copy: Path, outcome: Outcome) -> None:
    """The README's two batches both made their forms (the second from records of its own)."""
    _check_batch("out/batch", _patients("hair"), NO_BIRTH_DATE)(copy, outcome)
    _check_batch("out/mixed", BOOKED, NOT_A_TREATMENT)(copy, outcome)


def _check_made_again(copy: Path, _: Outcome) -> None:
    """The form made again, PDF and DOCX, under the names of the form it was made from."""
    made = sorted(path.name for path in (copy / "out").glob("2026-11-21_knee-injection_*"))
    assert sorted(path.name for path in (copy / "out" / "again").iterdir()) == made
    assert [Path(name).suffix for name in made] == [".docx", ".pdf"]


def _check_verify(copy: Path, outcome: Outcome) -> None:
    """The signed form is intact; sealed, it is intact and sealed by a certificate of the trusted CA."""
    text, _, data = outcome.stdout.partition("\n{")
    assert text.splitlines()[0] == "INTACT: not sealed"
    assert text.splitlines()[-1] == "signed-sealed.pdf"
    verdict = json.loads("{" + data)
    assert (verdict["verdict"], verdict["reasons"]) == ("INTACT", ["sealed"])
    assert [(s["field"], s["trusted"]) for s in verdict["signatures"]] == [
        ("patient.signature", True), ("provider.signature", True), ("consent-seal", True)]


def _check_sunrise_loop(copy: Path, _: Outcome) -> None:
    """Three forms (PDF and DOCX) per treatment, one per patient."""
    made = {t: sorted(p.suffix for p in (copy / "out" / "examples" / t).iterdir())
            for t in ("knee-injection", "iv-infusion", "hair")}
    assert made == {t: [".docx"] * 3 + [".pdf"] * 3 for t in made}


# (README, text its block holds, check run after the block); test_every_check_has_its_block keeps them found.
CHECKS: list[tuple[str, str, Callable[[Path, Outcome], None]]] = [
    ("README.md", "run_batch(None, booked", _check_library_batches),
    ("README.md", 'again.write("out/again/")', _check_made_again),
    ("README.md", "consent verify signed-sealed.pdf", _check_verify),
    ("examples/ehr-batch/README.md", "examples/ehr-batch/patients.csv",
     _check_batch("out/batch", _patients("knee-injection"), NO_BIRTH_DATE, SUMMARY)),
    ("examples/ehr-batch/README.md", "examples/ehr-batch/procedures.csv",
     _check_batch("out/batch-mixed", BOOKED, NOT_A_TREATMENT, SUMMARY)),
    ("examples/sunrise-clinic/README.md", "for t in knee-injection iv-infusion hair", _check_sunrise_loop),
]


# --------------------------------------------------------------------------- the tests


def _report(outcome: Outcome) -> str:
    return (f"exit {outcome.returncode} after {outcome.seconds} s\n--- stdout\n{outcome.stdout[-3000:]}"
            f"\n--- stderr\n{outcome.stderr[-6000:]}")


def _python_outcome(block: Block, done: ReadmeRun) -> Outcome:
    """The script's outcome, as far as it concerns ``block``: a failure is the block's when the innermost
    line of the script in the traceback is in it; a block after that line was never reached."""
    assert done.python is not None and done.script is not None
    if done.python.returncode == 0:
        return done.python
    lines = [int(n) for n in re.findall(rf'File "[^"]*{re.escape(done.script.name)}", line (\d+)',
                                        done.python.stderr)]
    last = block.line + len(block.code.splitlines())
    ours = bool(lines) and block.line < lines[-1] <= last
    if lines and not ours and "Traceback (most recent call last)" not in done.python.stderr:
        pytest.fail(f"not run: the README's Python does not compile (line {lines[-1]})\n"
                    f"{_report(done.python)}")
    if lines and lines[-1] < block.line:
        pytest.fail(f"not reached: the README's Python stopped at line {lines[-1]}\n{_report(done.python)}")
    if lines and lines[-1] > last:
        return dataclasses.replace(done.python, returncode=0, stderr="")  # it ran; a later block failed
    return done.python


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_readme_block(block: Block, readme_runs: Callable[[str], ReadmeRun]) -> None:
    """The block runs as written, from the root of a copy of the repository: it exits 0 (or as its marker
    says), prints no traceback or warning, and makes the files its ``# ->`` comments name."""
    if block.skip_reason is not None:
        assert block.skip_reason, f"{block.id}: a skip marker needs a reason"
        pytest.skip(block.skip_reason)
    assert block.marker is None or re.fullmatch(r"exit \d+", block.marker), f"{block.id}: {block.marker!r}"
    done = readme_runs(block.readme)
    if block.kind == "python":
        assert block.marker is None, "the Python blocks of a README run as one script: it can only exit 0"
        outcome = _python_outcome(block, done)
    else:
        outcome = done.shell[block.line]
    assert outcome.returncode == block.expected_exit, _report(outcome)
    assert "Traceback" not in outcome.stderr, _report(outcome)
    assert "Warning" not in outcome.stderr, _report(outcome)
    named = [match["path"] for match in PRODUCES.finditer(block.code)]
    assert [path for path in named if not list(done.copy.glob(path))] == [], _report(outcome)
    for readme, text, check in CHECKS:
        if readme == block.readme and text in block.code:
            check(done.copy, outcome)


def test_markers_are_well_formed_and_only_the_dev_commands_are_skipped() -> None:
    """Every readme-test marker stands right before a runnable block and says ``skip: REASON`` (with a
    reason) or ``exit N``; the blocks skipped are the README's ``./dev`` commands and nothing else."""
    wrong = [block.id for block in BLOCKS if block.marker is not None and (
        block.kind is None or not (block.skip_reason or re.fullmatch(r"exit \d+", block.marker)))]
    before_fence = {(block.readme, block.line - 1) for block in BLOCKS if block.marker is not None}
    stray = [f"{readme.relative_to(REPO).as_posix()}:{n}"
             for readme in READMES
             for n, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1)
             if "readme-test" in line and (readme.relative_to(REPO).as_posix(), n) not in before_fence]
    skipped = [(block.readme, [line.split("#")[0].strip() for line in block.code.splitlines()])
               for block in BLOCKS if block.skip_reason is not None]
    assert (wrong, stray, skipped) == ([], [], SKIPPABLE)


def test_each_command_synopsis_has_a_runnable_example() -> None:
    """A ``text`` block is usage syntax, not a command: each ``consent COMMAND`` it shows is also run by a
    runnable shell block of some README."""
    command = re.compile(r"(?:^|[\s/])consent\s+([a-z][a-z-]*)", re.MULTILINE)
    run_somewhere = {name for block in RUNNABLE if block.kind == "shell" and block.skip_reason is None
                     for name in command.findall(block.commands)}
    shown = {(block.id, name) for block in BLOCKS if block.info == "text"
             for name in command.findall(block.code)}
    assert shown, "no command synopsis found"
    assert sorted((where, name) for where, name in shown if name not in run_somewhere) == []


def test_every_check_has_its_block() -> None:
    """Each of CHECKS belongs to exactly one runnable block (a README edit must not silently drop one)."""
    found = [[block.id for block in RUNNABLE if block.readme == readme and text in block.code]
             for readme, text, _ in CHECKS]
    assert [len(ids) for ids in found] == [1] * len(CHECKS), found
