"""A batch's output folder (consent/batch/run.py): made, locked for one batch at a time (``.consent-batch.lock``),
and claimed for one export (another export's files moved aside, whole, only when asked to)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError, RenderError
from .outputs import BUNDLE, ERRORS, MANIFEST, read_manifest, unwritable
from .worker import FORMS

LOCK = ".consent-batch.lock"
REPLACED = "replaced-"  # then the export's digest: where replace=True moves another export's files


def make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None


def claim(out: Path, export: tuple[str, str],
           replace: bool) -> tuple[dict[int, dict[str, Any]], Path | None]:
    """Make ``out`` this export's batch folder (see :func:`run_batch`): (the manifest's lines of this
    export, where another export's files were moved, if anywhere). Nothing is changed when it raises."""
    identity, described = export
    try:
        previous = read_manifest(out / MANIFEST)
    except OSError as exc:
        raise unwritable(out, exc) from None
    replaced = None
    others = sorted({e["export"] for e in previous.values() if isinstance(e.get("export"), str)} - {identity})
    if others and not replace:
        raise InputError(
            f"{out} holds the forms of another export (its {MANIFEST} names export {others[0][:12]}; this "
            f"run's export, {described}, is {identity[:12]}): give another --out, or --replace "
            f"(replace=True) to make this export's forms there, the other's files moved, whole, into "
            f"{out / (REPLACED + others[0][:12])}/")
    try:
        if others:
            replaced = set_aside(out, others[0][:12])
            previous = {}
        (out / FORMS).mkdir(exist_ok=True)
        for stale in [*(out / FORMS).glob(".*.part"), *out.glob(".*.part")]:
            stale.unlink()  # left by a killed run: a temporary file, never a finished form or bundle
    except OSError as exc:
        raise unwritable(out, exc) from None
    return previous, replaced


def export_of(records: Iterable[Any], export: str | None) -> tuple[str, str]:
    """(the digest that names the records' export in the manifest, what it is, for messages): ``export``
    if given; else the files of a ``consent.ehr.Records`` (their absolute paths, in order: the same
    files read again are the same export, whatever they now hold); else the records' sources."""
    from ..ehr import Records

    if export is not None:
        text, described = f"named\0{export}", repr(export)
    elif isinstance(records, Records):
        paths = [os.path.abspath(path) for path in records.files]
        text, described = "files\0" + "\0".join(paths), ", ".join(Path(p).name for p in paths)
    elif isinstance(records, Sequence):
        sources = dict.fromkeys(str(getattr(record, "source", "")) for record in records)
        text = "sources\0" + "\0".join(sources)
        described = ", ".join(s for s in sources if s) or "records given by a program"
    else:
        text, described = "records\0", "records given by a program"
    return hashlib.sha256(text.encode()).hexdigest()[:32], described or "no files"


def take_lock(out: Path) -> int:
    """Hold the folder's batch lock (exclusive, released by the system if the process dies); InputError
    at once when another batch holds it. The file locked is checked to be the one at the path still (a
    batch that ends removes it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return -1
    path = out / LOCK
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise RenderError(f"{out}: cannot write to the output folder ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            pid = f"pid {holder}" if holder.isdigit() else "its pid not written yet"
            raise InputError(f"another consent batch is writing to {out} ({pid}); wait for it to "
                             "finish") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(path))
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)  # removed by the batch that held it, just now: lock the new one
    raise RenderError(f"{out}: could not take the batch lock {LOCK}")


def release_lock(out: Path, fd: int) -> None:
    if fd < 0:
        return
    with contextlib.suppress(OSError):
        (out / LOCK).unlink(missing_ok=True)  # while still held: a batch waiting on this file looks again
    os.close(fd)


def set_aside(out: Path, export: str) -> Path:
    """Move another export's files (forms, manifest, errors, bundle), whole, into a new folder beside them,
    where they remain a batch folder of their own (their manifest's paths are relative)."""
    aside = out / f"{REPLACED}{export}"
    number = 1
    while aside.exists() or aside.is_symlink():
        number += 1
        aside = out / f"{REPLACED}{export}-{number}"
    aside.mkdir()
    for name in (FORMS, MANIFEST, ERRORS, BUNDLE):
        if (out / name).exists() or (out / name).is_symlink():
            os.replace(out / name, aside / name)
    return aside
