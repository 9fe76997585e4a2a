"""Shared work kept on disk between runs of the ``consent`` command: a PDF's shared body and a DOCX's
template parts (see :mod:`consent.speedups.tokens`), so that the next ``consent render`` need not lay the same
body out again (about half a second).

What is kept holds no patient data: it is made from a form's tokenised twin (the patient's name, birth
date and MRN, the form id and the screening answers are tokens or empty). It does hold the clinic's
text and the form date.

An entry is used only when everything it was made from is the same: its name is a hash of the
tokenised form, of every file in the template folders (templates, stylesheet, fonts, images), of this
package's code, of the versions of WeasyPrint, pydyf, Pango, python-docx and docxtpl, of the Pango,
HarfBuzz, FreeType and Fontconfig libraries loaded, and of the system font folders (their
modification times, as Fontconfig checks its own cache).

Whose the folder and its entries are:

- The folder is used only if consent made it, or marked it (a ``CACHEDIR.TAG`` with consent's line, per
  the Cache Directory Tagging spec), or it was empty: a folder holding other files is refused and left
  as it is, never pruned, marked or chmod-ed. It must be a real folder (not a symbolic link: that is
  refused, naming where it points), belong to the user, and be writable by no one else (not fixed:
  refused). Everything in it is then reached through one descriptor of that folder, never by a path.
- Each entry carries an HMAC-SHA256 of its name and bytes, made with a random 32-byte key kept in the
  folder (``consent.key``, 0600, the user's): an entry written by anyone without the key (a hand edit
  with its digest recomputed, an entry copied from another cache) is made again, never used. An entry
  is read only if it is a regular file of the user's (opened without following a link, so a link to
  ``/dev/zero`` or a pipe is refused) and no bigger than :data:`MAX_ENTRY_BYTES`.
- Entries are written atomically (0600); pruning (beyond :data:`MAX_ENTRIES`, the least recently used
  first) and ``consent cache --clear`` remove only files named as entries (``pdf-body-<sha256>``,
  ``docx-parts-<sha256>``) and consent's own temporary files.

The folder is ``$CONSENT_CACHE_DIR``, else ``$XDG_CACHE_HOME/consent``, else ``~/.cache/consent``.
``CONSENT_CACHE_DIR=off`` turns the cache off. The command line uses it; a program that imports the
library turns it on with :func:`use_disk_cache`. A cache that cannot be used is skipped, saying why
once on stderr (a logging warning): the form is made as without it. The cache never fails a render.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from ..library.loader import template_folders
from .switches import all_off, is_off

ENV = "CONSENT_CACHE_DIR"
MAX_ENTRIES = 64
MAX_ENTRY_BYTES = 64 << 20  # an entry bigger than this is neither kept nor read (a body is a few MB at most)
TAG = "CACHEDIR.TAG"
KEY = "consent.key"
_KEY_BYTES = 32
_TAG_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
_TAG_OURS = b"# This file is a cache directory tag created by consent"
_TAG_TEXT = (_TAG_SIGNATURE + b"\n" + _TAG_OURS + b" (layouts of consent forms, kept between runs).\n"
             b"# For information about cache directory tags, see https://bford.info/cachedir/\n")
_MAGIC = b"consent-cache 2 "  # then the HMAC-SHA256 of the name and payload (hex), a newline, the payload
ENTRY_NAME = re.compile(r"(pdf-body|docx-parts)-[0-9a-f]{64}")
_TEMPORARY = re.compile(r"\.consent-tmp-[0-9a-f]{16}")
_STALE_SECONDS = 3600  # a temporary file this old was left by a killed run
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0)  # a pipe is not waited for
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
_SUPPORTED = (hasattr(os, "O_NOFOLLOW") and hasattr(os, "getuid") and os.open in os.supports_dir_fd
              and os.link in os.supports_dir_fd and os.scandir in os.supports_fd)
_log = logging.getLogger(__name__)

T = TypeVar("T")


def default_folder() -> Path | None:
    """The cache folder named by the environment (see the module), or None when it is turned off."""
    if all_off():
        return None
    value = os.environ.get(ENV)
    if value is not None:
        return None if not value.strip() or is_off(value) else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "consent"


class _NotUsed(Exception):
    """Why a cache folder is not used (said once, as a warning)."""


class DiskCache:
    """One cache folder (see the module). False (``bool``) when it cannot be used: consent/speedups/pdf_process.py
    then hands the PDF process no cache, so the reason is said once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._usable: bool | None = None
        self._fd = -1  # the folder, opened once: every entry is reached through it, never by a path
        self._key = b""
        self._opening = threading.Lock()

    def __bool__(self) -> bool:
        return self.usable()

    def usable(self) -> bool:
        """Open (or make: 0700, marked) the folder; False, saying why, if it may not be used."""
        with self._opening:
            if self._usable is None:
                try:
                    self._fd, self._key = _open_folder(self.folder)
                    self._usable = True
                except (_NotUsed, OSError) as exc:
                    why = exc.strerror or exc if isinstance(exc, OSError) else exc
                    _log.warning("not using the cache folder %s: %s; forms are made without it", self.folder,
                                 why)
                    self._usable = False
            return self._usable

    def get(self, name: str, key: str, make: Callable[[], T], encode: Callable[[T], bytes],
            decode: Callable[[bytes], T]) -> T:
        """The entry ``name``-``key`` (``key``: a hex digest of everything it depends on), else ``make()``
        kept for next time."""
        entry = f"{name}-{key}"
        if not ENTRY_NAME.fullmatch(entry):  # only names pruning knows for its own are kept
            _log.debug("not keeping %r: not a cache entry's name", entry)
            return make()
        if not self.usable():
            return make()
        payload = self._read(entry)
        if payload is not None:
            try:
                return decode(payload)
            except Exception:  # a damaged entry is made again, never used
                _log.warning("cache entry %s could not be read; making it again", entry)
        value = make()
        try:
            self._write(entry, encode(value))
            self._prune()
        except OSError as exc:  # a full disk or a read-only home must not stop a render
            _log.warning("could not keep a cache entry in %s: %s", self.folder, exc.strerror or exc)
        return value

    def _mac(self, entry: str, payload: bytes) -> bytes:
        mac = hmac.new(self._key, entry.encode() + b"\0" + payload, hashlib.sha256)
        return _MAGIC + mac.hexdigest().encode()

    def _read(self, entry: str) -> bytes | None:
        """An entry's payload; None when there is none, or it may not be used (said, but for none)."""
        try:
            fd = os.open(entry, _READ, dir_fd=self._fd)
        except FileNotFoundError:
            return None
        except OSError as exc:  # ELOOP: a symbolic link
            what = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or exc
            _log.warning("cache entry %s is not used (%s; expected a regular file); making it again", entry,
                         what)
            return None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                regular = stat.S_ISREG(info.st_mode)
                what = f"owned by uid {info.st_uid}" if regular else "not a regular file"
                _log.warning("cache entry %s is not used (%s; expected a regular file of yours); making it "
                             "again", entry, what)
                return None
            data = fh.read(len(_MAGIC) + 65 + MAX_ENTRY_BYTES + 1)
            with contextlib.suppress(OSError):
                os.utime(fd)  # recently used: pruned last
        head, _, payload = data.partition(b"\n")
        if len(payload) > MAX_ENTRY_BYTES or not hmac.compare_digest(head, self._mac(entry, payload)):
            _log.warning("cache entry %s is damaged or was not made by consent with this folder's key; "
                         "making it again", entry)
            return None
        return payload

    def _write(self, entry: str, payload: bytes) -> None:
        if len(payload) > MAX_ENTRY_BYTES:
            return
        _put(self._fd, entry, self._mac(entry, payload) + b"\n" + payload, replace=True)

    def _listing(self) -> list[tuple[str, os.stat_result]]:
        """(name, lstat) of each regular file in the folder."""
        found = []
        with os.scandir(self._fd) as listing:
            for item in listing:
                try:
                    if item.is_file(follow_symlinks=False):
                        found.append((item.name, item.stat(follow_symlinks=False)))
                except OSError:  # removed by another run just now
                    pass
        return found

    def _prune(self) -> None:
        listing = self._listing()
        now = time.time()
        for name, info in listing:
            if _TEMPORARY.fullmatch(name) and now - info.st_mtime > _STALE_SECONDS:
                _unlink(self._fd, name)
        used = sorted((info.st_mtime_ns, name) for name, info in listing if ENTRY_NAME.fullmatch(name))
        for _, name in used[: max(0, len(used) - MAX_ENTRIES)]:
            _unlink(self._fd, name)

    def entries(self) -> list[Path]:
        """The entries now in the folder (for ``consent cache``): none when it may not be used."""
        if not self.usable():
            return []
        return sorted(self.folder / name for name, _ in self._listing() if ENTRY_NAME.fullmatch(name))

    def clear(self) -> int:
        """Remove every entry (and any half-written one): nothing else. The number of entries removed."""
        if not self.usable():
            return 0
        removed = 0
        for name, _ in self._listing():
            if ENTRY_NAME.fullmatch(name) or _TEMPORARY.fullmatch(name):
                _unlink(self._fd, name)
                removed += bool(ENTRY_NAME.fullmatch(name))
        return removed


def _open_folder(folder: Path) -> tuple[int, bytes]:
    """(a descriptor of the folder, its key), making the folder (0700) if there is none; _NotUsed, and
    nothing changed in it, when it may not be used (see the module)."""
    if not _SUPPORTED:
        raise _NotUsed("this system cannot open files there without following links")
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # else made by another run just now
            os.mkdir(folder, 0o700)
        info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        raise _NotUsed(f"it is a symbolic link (to {os.readlink(folder)}), expected a folder; set {ENV} to "
                       "the folder itself to use it")
    if not stat.S_ISDIR(info.st_mode):
        raise _NotUsed("it is not a folder")
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if info.st_uid != os.getuid():
            raise _NotUsed(f"it belongs to another user (uid {info.st_uid}), expected yours "
                           f"(uid {os.getuid()})")
        if info.st_mode & 0o022:
            raise _NotUsed(f"other users can write to it (mode {stat.S_IMODE(info.st_mode):04o}), expected a "
                           f"folder only you can write to; make it yours alone (chmod 700) or set {ENV} to "
                           "another folder")
        tag = _small_file(fd, TAG, 4096)
        if tag is None:
            others = [name for name in os.listdir(fd)
                      if not (ENTRY_NAME.fullmatch(name) or _TEMPORARY.fullmatch(name) or name == KEY)]
            if others:
                raise _NotUsed(f"it holds {len(others)} file(s) consent did not make and no {TAG} of "
                               "consent's, expected a new or empty folder, or one consent made; nothing in "
                               f"it was changed: set {ENV} to another folder")
            _put(fd, TAG, _TAG_TEXT, replace=False)
        elif not (tag.startswith(_TAG_SIGNATURE) and _TAG_OURS in tag):
            raise _NotUsed(f"its {TAG} is another program's, expected consent's; set {ENV} to another folder")
        return fd, _key(fd)
    except BaseException:
        os.close(fd)
        raise


def _small_file(fd: int, name: str, limit: int) -> bytes | None:
    """A file of the folder (a regular file of the user's, at most ``limit`` bytes), None if there is none."""
    try:
        handle = os.open(name, _READ, dir_fd=fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _NotUsed(f"its {name} cannot be read ({exc.strerror or exc}), expected a regular "
                       "file") from None
    with os.fdopen(handle, "rb") as fh:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_size > limit:
            raise _NotUsed(f"its {name} is not a regular file of yours of at most {limit} bytes")
        return fh.read(limit)


def _key(fd: int) -> bytes:
    """The folder's key (made the first time): 32 random bytes, a regular file only the user can read."""
    for _ in range(3):
        try:
            handle = os.open(KEY, _READ, dir_fd=fd)
        except FileNotFoundError:
            _put(fd, KEY, secrets.token_bytes(_KEY_BYTES), replace=False)
            continue
        except OSError as exc:
            raise _NotUsed(f"its key {KEY} cannot be read ({exc.strerror or exc}), expected a regular file; "
                           "remove it, and consent makes a new one") from None
        with os.fdopen(handle, "rb") as fh:
            info = os.fstat(handle)
            mode = stat.S_IMODE(info.st_mode)
            if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or mode & 0o077
                    or info.st_size != _KEY_BYTES):
                raise _NotUsed(f"its key {KEY} is not what consent makes (a {_KEY_BYTES}-byte file of yours, "
                               f"mode 0600; found {info.st_size} bytes, uid {info.st_uid}, mode {mode:04o}); "
                               "remove it, and consent makes a new one (the entries are then made again)")
            return fh.read(_KEY_BYTES)
    raise _NotUsed(f"its key {KEY} could not be made")


def _put(fd: int, name: str, data: bytes, *, replace: bool) -> None:
    """Write a file of the folder atomically (0600): a temporary file, then renamed over ``name``
    (``replace``), or linked to it if there is none yet (else the one there is kept)."""
    temporary = f".consent-tmp-{secrets.token_hex(8)}"
    handle = os.open(temporary, _NEW, 0o600, dir_fd=fd)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        if replace:
            os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
        else:
            with contextlib.suppress(FileExistsError):  # else made by another run just now
                os.link(temporary, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
    finally:
        _unlink(fd, temporary)


def _unlink(fd: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=fd)


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


# Digests made by ``consent render``'s own process and handed to its PDF process (consent/speedups/pdf_process.py),
# which then does not read the same files again: {("code",): ..., ("templates", packs): ...}.
_KNOWN: dict[tuple[Any, ...], bytes] = {}


def digests(packs: tuple[str, ...]) -> dict[tuple[Any, ...], bytes]:
    """The digests of this package's code and of these packs' templates, for :func:`use_digests`."""
    return {("code",): _code(), ("templates", packs): _templates(packs)}


def use_digests(known: dict[tuple[Any, ...], bytes]) -> None:
    _KNOWN.update(known)


@functools.lru_cache(maxsize=1)
def _code() -> bytes:
    """The whole package's code, every subpackage (a developer's edit, or an upgrade, makes every entry
    anew). The package's folder, not this module's: a change to the renderers in consent/pdf/ must
    invalidate the layouts cached by consent/speedups/."""
    if ("code",) in _KNOWN:
        return _KNOWN["code",]
    from .._version import __version__

    digest = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parents[1]  # consent/, not consent/speedups/
    _hash_files(digest, sorted(root.rglob("*.py")), root)
    return digest.digest()


@functools.lru_cache(maxsize=8)
def _templates(packs: tuple[str, ...]) -> bytes:
    if ("templates", packs) in _KNOWN:
        return _KNOWN["templates", packs]
    digest = hashlib.sha256()
    for root in template_folders(packs).template_roots:
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
