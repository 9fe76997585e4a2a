"""The files a batch writes beside its forms (consent/batch/run.py): ``manifest.jsonl``, a line per form
as it finishes, which is what a re-run reads to skip the forms already made; ``fhir-bundle.json``, every
form's FHIR resources in one transaction Bundle; and ``errors.csv``, the records that made no form. They
are written so that a killed batch leaves nothing a re-run would trust by mistake: each manifest line is
flushed as soon as it is written (a line torn by a kill is ignored, then dropped), and the Bundle and
errors.csv are renamed into place only when the batch ends."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._output import atomic_write
from ..errors import RenderError
from .worker import FORMS, Outcome

MANIFEST = "manifest.jsonl"
ERRORS = "errors.csv"
BUNDLE = "fhir-bundle.json"


def read_manifest(path: Path) -> dict[int, dict[str, Any]]:
    """Last complete line per record; a torn last line (killed batch) is ignored."""
    entries: dict[int, dict[str, Any]] = {}
    if not path.is_file():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            entries[int(entry["record"])] = entry
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
            continue
    return entries


def unwritable(out: Path, exc: OSError) -> RenderError:
    return RenderError(f"{out}: cannot write to the output folder ({exc.strerror or exc}); the forms "
                       "finished so far are kept: fix the folder, then run the same command again")


class BatchFiles:
    """The manifest, the Bundle and errors.csv of one batch in ``out``: opened when the batch starts,
    added to as each record's outcome comes (:meth:`add`), completed when it ends (:meth:`complete`).
    ``previous`` is this export's manifest lines from earlier runs, by record; ``export`` the digest
    every line names. As a context manager it closes the manifest however the batch ends; a batch stopped
    by an error writes no errors.csv and leaves its Bundle a temporary file (the next run removes it)."""

    def __init__(self, out: Path, export: str, previous: dict[int, dict[str, Any]], *, bundle: bool) -> None:
        self.out, self.export, self.previous = out, export, previous
        self.errors: list[tuple[int, str, str, str]] = []  # (record, source, field, message)
        self.appended = False  # a line was added to the manifest (so it is compacted at the end)
        try:
            self.manifest = (out / MANIFEST).open("a", encoding="utf-8")
        except OSError as exc:
            raise unwritable(out, exc) from None
        try:
            self.bundle = _BundleWriter(out / BUNDLE) if bundle else None
        except OSError as exc:
            self.manifest.close()
            raise unwritable(out, exc) from None

    def __enter__(self) -> BatchFiles:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.manifest.close()

    def mend_torn_line(self) -> None:
        """End a line torn by a killed run, so that the next line is not glued to it."""
        if self.manifest.tell() and not (self.out / MANIFEST).read_bytes().endswith(b"\n"):
            self.manifest.write("\n")

    def add(self, outcome: Outcome) -> None:
        """One record's outcome: its problems (rows of errors.csv), or its form's manifest line (unless an
        earlier run wrote the same one) and FHIR resources."""
        if outcome.entry is None:
            self.errors.extend((outcome.number, outcome.source, f, m) for f, m in outcome.problems)
            return
        entry = {**outcome.entry, "export": self.export}  # the folder's export, on every line
        if not outcome.skipped or entry != self.previous.get(outcome.number):
            self.manifest.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            self.manifest.flush()
            self.appended = True
            _remove_superseded(self.out, outcome.number, self.previous.get(outcome.number), entry)
        if self.bundle is not None:
            self.bundle.add(outcome.fhir or _fhir_entries(self.out, outcome.entry))

    def complete(self) -> None:
        """The batch's end: the manifest compacted if it needs to be, errors.csv written, the Bundle
        renamed into place."""
        path = self.out / MANIFEST
        try:
            if self.previous and (self.appended or _line_count(path) != len(self.previous)):
                _compact(path)  # a re-run appended lines, or the manifest has torn or unreadable lines
            _write_errors(self.out, self.errors)
            if self.bundle is not None:
                self.bundle.close()
        except OSError as exc:
            raise unwritable(self.out, exc) from None


def _remove_superseded(out: Path, number: int, before: dict[str, Any] | None, now: dict[str, Any]) -> None:
    """Remove the files of this record's form from an earlier run that the new form replaced (another
    treatment or patient data gives another form id): the folder never holds two forms for one record.
    Only files named for this record in the forms folder are touched, whatever the manifest line says."""
    files = (before or {}).get("files")
    if not isinstance(files, dict):
        return
    for rel in set(files) - set(now.get("files") or {}):
        path = Path(str(rel))
        if path.parent == Path(FORMS) and path.name.startswith(f"rec-{number:06d}_"):
            (out / path).unlink(missing_ok=True)


def _fhir_entries(out: Path, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The FHIR entries of a form finished by an earlier run, read back from its own file."""
    for rel in entry.get("files", {}):
        if rel.endswith(".fhir.json"):
            return list(json.loads((out / rel).read_text(encoding="utf-8")).get("entry", []))
    return []


class _BundleWriter:
    """Writes the batch's transaction Bundle entry by entry (temporary name, renamed on close). A Bundle
    with no entry has no ``entry`` element: FHIR JSON has no empty arrays."""

    HEAD = '{"resourceType": "Bundle", "type": "transaction"'

    def __init__(self, path: Path) -> None:
        import tempfile

        self.path = path
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        self.fh = os.fdopen(fd, "w", encoding="utf-8")
        self.fh.write(self.HEAD)
        self.seen: set[str] = set()  # two records of one patient give one form: send it once

    def add(self, entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries:
            if entry["fullUrl"] in self.seen:
                continue
            self.fh.write((', "entry": [\n' if not self.seen else ",\n")
                          + json.dumps(entry, ensure_ascii=False, sort_keys=True))
            self.seen.add(entry["fullUrl"])

    def close(self) -> None:
        self.fh.write("\n]}\n" if self.seen else "}\n")
        self.fh.close()
        os.replace(self.tmp, self.path)


def _line_count(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def _compact(path: Path) -> None:
    """One line per record, the latest, in the order records first appeared."""
    lines: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            lines[int(json.loads(line)["record"])] = line
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
            continue  # a torn line from a killed run
    atomic_write(path, "".join(line + "\n" for line in lines.values()).encode())


def _write_errors(out: Path, errors: list[tuple[int, str, str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["record", "source", "field", "message"])
    writer.writerows(sorted(errors))
    atomic_write(out / ERRORS, buffer.getvalue().encode())
