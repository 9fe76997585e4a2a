"""Shared work kept on disk between runs of the ``consent`` command: a PDF's shared body and a DOCX's
template parts (see :mod:`consent._tokens`), so that the next ``consent render`` need not lay the same
body out again (about half a second).

What is kept holds no patient data: it is made from a form's tokenised twin (the patient's name, birth
date and MRN, the form id and the screening answers are tokens or empty). It does hold the clinic's
text and the form date.

An entry is used only when everything it was made from is the same: its name is a hash of the
tokenised form, of every file in the template folders (templates, stylesheet, fonts, images), of this
package's code, of the versions of WeasyPrint, pydyf, Pango, python-docx and docxtpl, of the Pango,
HarfBuzz, FreeType and Fontconfig libraries loaded, and of the system font folders (their
modification times, as Fontconfig checks its own cache). Each entry carries a SHA-256 of its bytes; an
entry that does not match it, or cannot be read, is made again. Entries are written atomically, in a
folder only the user can open (0700); the oldest go beyond :data:`MAX_ENTRIES`.

The folder is ``$CONSENT_CACHE_DIR``, else ``$XDG_CACHE_HOME/consent``, else ``~/.cache/consent``.
``CONSENT_CACHE_DIR=off`` turns the cache off. The command line uses it; a program that imports the
library turns it on with :func:`use_disk_cache`. A cache that cannot be used (a read-only home, a
folder that is not the user's own) is skipped: the form is made as without it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from ._library import get_library
from ._switches import is_off

ENV = "CONSENT_CACHE_DIR"
MAX_ENTRIES = 64
_MAGIC = b"consent-cache 1 "  # then the payload's SHA-256 in hex, a newline and the payload
_log = logging.getLogger(__name__)

T = TypeVar("T")


def default_folder() -> Path | None:
    """The cache folder named by the environment (see the module), or None when it is turned off."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if not value.strip() or is_off(value) else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "consent"


class DiskCache:
    """One cache folder (see the module)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._usable: bool | None = None

    def usable(self) -> bool:
        """Create the folder (0700) if need be; False if it is not a folder of this user's only."""
        if self._usable is None:
            self._usable = self._prepare()
        return self._usable

    def _prepare(self) -> bool:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.folder.stat()
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                _log.warning("not using the cache folder %s: it belongs to another user", self.folder)
                return False
            if info.st_mode & 0o077:
                os.chmod(self.folder, 0o700)
            return True
        except OSError as exc:
            _log.warning("not using the cache folder %s: %s", self.folder, exc.strerror or exc)
            return False

    def get(self, name: str, key: str, make: Callable[[], T], encode: Callable[[T], bytes],
            decode: Callable[[bytes], T]) -> T:
        """The entry ``name``-``key`` (``key``: a hex digest of everything it depends on), else ``make()``
        kept for next time."""
        if not self.usable():
            return make()
        path = self.folder / f"{name}-{key}"
        payload = _read(path)
        if payload is not None:
            try:
                return decode(payload)
            except Exception:  # noqa: BLE001 - a damaged entry is made again, never used
                _log.warning("cache entry %s could not be read; making it again", path.name)
        value = make()
        self._write(path, encode(value))
        return value

    def _write(self, path: Path, payload: bytes) -> None:
        from ._output import atomic_write  # a hidden ".<name>.<random>.part" file (0600), then renamed

        try:
            atomic_write(path, _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload,
                         durable=False)
            self._prune()
        except OSError as exc:  # a full disk or a read-only home must not stop a render
            _log.warning("could not keep a cache entry in %s: %s", self.folder, exc.strerror or exc)

    def _prune(self) -> None:
        entries = self.entries()
        if len(entries) <= MAX_ENTRIES:
            return
        used = {}
        for path in entries:
            try:
                used[path] = path.stat().st_mtime_ns
            except FileNotFoundError:  # pruned by another run just now
                pass
        for old in sorted(used, key=used.__getitem__)[: len(used) - MAX_ENTRIES]:
            old.unlink(missing_ok=True)

    def entries(self) -> list[Path]:
        """The entries now in the folder (for ``consent cache``)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def clear(self) -> int:
        """Remove every entry (and any half-written one); the number removed."""
        removed = 0
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                ours = path.name.startswith(("pdf-body-", "docx-parts-")) or path.suffix == ".part"
                if path.is_file() and ours:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


def _read(path: Path) -> bytes | None:
    """An entry's payload, or None when there is none or it does not match its SHA-256."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head, _, payload = data.partition(b"\n")
    if head != _MAGIC + hashlib.sha256(payload).hexdigest().encode():
        _log.warning("cache entry %s is damaged; making it again", path.name)
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return payload


_CACHE: list[DiskCache | None] = [None]


def use_disk_cache(folder: str | Path | None | bool = True) -> None:
    """Keep shared work on disk between runs: in ``folder``, in the folder the environment names (True,
    see the module), or not at all (None or False)."""
    if folder is True:
        chosen = default_folder()
    elif folder is None or folder is False:
        chosen = None
    else:
        chosen = Path(folder)
    _CACHE[0] = DiskCache(chosen) if chosen is not None else None


def disk_cache() -> DiskCache | None:
    return _CACHE[0]


# ------------------------------------------------------------------ what an entry is made from


def _hash_files(digest: hashlib._Hash, paths: Iterable[Path], root: Path) -> None:
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


# Digests made by ``consent render``'s own process and handed to its PDF process (consent/_pdf_process.py),
# which then does not read the same files again: {("code",): ..., ("templates", packs): ...}.
_KNOWN: dict[tuple[Any, ...], bytes] = {}


def digests(packs: tuple[str, ...]) -> dict[tuple[Any, ...], bytes]:
    """The digests of this package's code and of these packs' templates, for :func:`use_digests`."""
    return {("code",): _code(), ("templates", packs): _templates(packs)}


def use_digests(known: dict[tuple[Any, ...], bytes]) -> None:
    _KNOWN.update(known)


@functools.lru_cache(maxsize=1)
def _code() -> bytes:
    """This package's code (a developer's edit, or an upgrade, makes every entry anew)."""
    if ("code",) in _KNOWN:
        return _KNOWN["code",]
    from . import __version__

    digest = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent
    _hash_files(digest, sorted(root.rglob("*.py")), root)
    return digest.digest()


@functools.lru_cache(maxsize=8)
def _templates(packs: tuple[str, ...]) -> bytes:
    if ("templates", packs) in _KNOWN:
        return _KNOWN["templates", packs]
    digest = hashlib.sha256()
    for root in get_library(packs).template_roots:
        digest.update(str(root).encode() + b"\0")
        _hash_files(digest, sorted(p for p in root.rglob("*") if p.is_file()), root)
    return digest.digest()


_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts")
_LIBRARIES = ("libpango", "libharfbuzz", "libfreetype", "libfontconfig", "libfribidi")


@functools.lru_cache(maxsize=1)
def _system() -> bytes:
    """The system fonts and text libraries a layout may depend on."""
    digest = hashlib.sha256()
    for env in ("FONTCONFIG_FILE", "FONTCONFIG_PATH", "XDG_DATA_HOME"):
        digest.update(f"{env}={os.environ.get(env, '')}\0".encode())
    folders = [Path(f).expanduser() for f in _FONT_DIRS]
    if os.environ.get("XDG_DATA_HOME"):
        folders.append(Path(os.environ["XDG_DATA_HOME"]) / "fonts")
    for folder in folders:
        for here, _, _ in os.walk(folder):
            try:
                digest.update(f"{here}\0{os.stat(here).st_mtime_ns}\0".encode())
            except OSError:
                pass
    try:  # the shared libraries this process loaded (Linux)
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            loaded = sorted({line.split()[-1] for line in maps if "/" in line and ".so" in line})
    except OSError:
        loaded = []
    for path in loaded:
        if Path(path).name.startswith(_LIBRARIES):
            info = os.stat(path)
            digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.digest()


def pdf_scope(weasyprint: Any, packs: tuple[str, ...]) -> bytes:
    """Everything a shared PDF body depends on besides the tokenised form (``weasyprint``: the module,
    loaded by the caller)."""
    import pydyf
    from weasyprint.text.ffi import pango

    versions = f"weasyprint {weasyprint.__version__} pydyf {pydyf.__version__} pango {pango.pango_version()}"
    return hashlib.sha256(b"pdf\0" + versions.encode() + _code() + _templates(packs) + _system()).digest()


def docx_scope(packs: tuple[str, ...]) -> bytes:
    """Everything a DOCX's template parts depend on besides the tokenised form."""
    import docx
    import docxtpl

    versions = f"python-docx {docx.__version__} docxtpl {docxtpl.__version__} python {sys.version_info[:2]}"
    return hashlib.sha256(b"docx\0" + versions.encode() + _code() + _templates(packs)).digest()
