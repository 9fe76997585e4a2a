"""The command's disk cache (consent/speedups/disk_cache.py): the same bytes as without it, never a stale or
damaged entry, no patient data in it, and a render that goes on when the cache cannot be used. The cache
uses only a folder it made or marked, and only entries it can prove it wrote (issue 13, points 6 and 7):
a folder holding the user's files, a symbolic link, a folder others can write, an entry edited with its
digest recomputed, copied from another cache, or that is a link, a pipe or another user's file are never
used, pruned, chmod-ed or read without bound.

Each render is a new process, as a clinic runs the command (within one process the work is also kept in
memory, which would hide the disk)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import attrs
import pytest
from helpers import CLINIC, REPO

import consent

CONSENT = str(Path(sys.executable).with_name("consent"))
PATIENT = {"full_name": "Zebulon Quixworth-Marchbanks", "birth_date": "1971-03-04", "mrn": "ZQ-55-0193"}


def _run(tmp: Path, out: str, cache: str, *extra: str, patient: Path | None = None,
         env: dict[str, str] | None = None, memory: int | None = None) -> tuple[dict[str, bytes], str]:
    """``consent render`` in a new process: (its files by suffix, its stderr). ``memory``: a limit on the
    process's address space, so that reading without bound fails rather than fill the machine."""
    if patient is None:
        patient = tmp / "patient.yaml"
        patient.write_text("".join(f"{k}: '{v}'\n" for k, v in PATIENT.items()), encoding="utf-8")

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    result = subprocess.run(
        [CONSENT, "render", "knee-injection", "--patient", str(patient), "--clinic", str(CLINIC), "--date",
         "2026-11-21", "--out", str(tmp / out), *extra],
        capture_output=True, text=True, timeout=120, env={**os.environ, "CONSENT_CACHE_DIR": cache, **(env or {})},
        preexec_fn=limit if memory is not None else None,  # no threads in the child yet
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return {p.suffix: p.read_bytes() for p in (tmp / out).iterdir()}, result.stderr


def _render(tmp: Path, out: str, cache: str, *extra: str, patient: Path | None = None,
            env: dict[str, str] | None = None) -> dict[str, bytes]:
    return _run(tmp, out, cache, *extra, patient=patient, env=env)[0]


ENTRY = re.compile(r"(pdf-body|docx-parts)-[0-9a-f]{64}")


def _entries(folder: Path) -> dict[str, bytes]:
    """The cache's entries (its other files are CACHEDIR.TAG and consent.key)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if ENTRY.fullmatch(p.name)}


def _tree(folder: Path) -> dict[str, tuple[int, int, bytes | str]]:
    """Everything below ``folder`` as it is: (mode, mtime, bytes or where a link points) by path."""
    out: dict[str, tuple[int, int, bytes | str]] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        what = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else b""
        out[str(path.relative_to(folder))] = (info.st_mode, info.st_mtime_ns, what)
    return out


def test_a_cached_run_gives_the_same_bytes_and_the_folder_is_the_users_own(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    uncached = _render(tmp_path, "off", "off")
    first = _render(tmp_path, "first", str(cache))
    kept = _entries(cache)
    second = _render(tmp_path, "second", str(cache))
    assert set(uncached) == {".pdf", ".docx"}
    assert first == uncached and second == uncached
    assert sorted(re.sub(r"-[0-9a-f]{64}$", "", name) for name in kept) == ["docx-parts", "pdf-body"]
    assert _entries(cache) == kept  # read, not made again
    assert sorted(p.name for p in cache.iterdir()) == ["CACHEDIR.TAG", "consent.key", *sorted(kept)]
    assert (cache / "CACHEDIR.TAG").read_bytes().startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")
    assert len((cache / "consent.key").read_bytes()) == 32
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in cache.iterdir()} == {0o600}
    assert not (tmp_path / "off-cache").exists()


def test_the_pdf_process_finds_what_a_render_in_one_process_kept(tmp_path: Path) -> None:
    """The PDF process of consent render is handed the digests that name an entry (of the code and the
    templates) by the command's process: they must be the ones a process makes for itself."""
    cache = tmp_path / "cache"
    alone = _render(tmp_path, "alone", str(cache), env={"CONSENT_PDF_PROCESS": "off"})
    kept = _entries(cache)
    assert len(kept) == 2
    assert _render(tmp_path, "forked", str(cache)) == alone
    assert _entries(cache) == kept  # found, not made again under another name


def test_off_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    _render(tmp_path, "out", "off")
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()


def _inflated(data: bytes) -> bytes:
    """The bytes of an entry with every zlib stream in it inflated (a PDF's page content and fonts)."""
    out = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        try:
            out.append(zlib.decompressobj().decompress(data[match.end():]))
        except zlib.error:
            pass
    return b"\n".join(out)


def test_the_cache_holds_no_patient_data(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    screening = tmp_path / "screening.yaml"
    screening.write_text("pregnant: true\nknee-surgery: false\n", encoding="utf-8")
    files = _render(tmp_path, "out", str(cache), "--screening", str(screening))
    from helpers import pdf_pages

    assert "Quixworth" in " ".join(pdf_pages(files[".pdf"]))  # the form itself has the name
    kept = b"\n".join(_inflated(p.read_bytes()) for p in cache.iterdir())
    assert len(kept) > 1_000_000
    for value in [*PATIENT.values(), "Quixworth", "1971", "0193", "March 4"]:
        for encoded in {value.encode(), value.encode("utf-16-be"), value.upper().encode()}:
            # a number alone, not inside a longer one: "19711", an offset in an object stream's header,
            # is no birth year (with the lowest allowed versions the PDF's offsets gave one)
            bounded = rb"(?<![0-9])" + re.escape(encoded) + rb"(?![0-9])" if value.isdigit() else re.escape(encoded)
            assert not re.search(bounded, kept), value
    body = next(data for name, data in _entries(cache).items() if name.startswith("pdf-body-"))
    text = " ".join(pdf_pages(body[body.index(b"%PDF"):]))
    assert "Zebulon" not in text and "ZQ-55" not in text and "1971" not in text
    assert "Sunrise Regenerative Health" in text  # the form's text is there, not the patient


def test_a_damaged_entry_is_made_again_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = _render(tmp_path, "first", str(cache))
    body = next(p for p in cache.iterdir() if p.name.startswith("pdf-body-"))
    good = body.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0x20  # one bit, in the PDF of the body
    body.write_bytes(bytes(damaged))
    assert _render(tmp_path, "second", str(cache)) == expected
    assert body.read_bytes() == good
    body.write_bytes(good[:100])  # cut short
    assert _render(tmp_path, "third", str(cache)) == expected
    assert body.read_bytes() == good


def test_a_changed_stylesheet_makes_a_new_body(tmp_path: Path) -> None:
    """An entry is named by everything it is made from: a pack's edited form.css is never laid out
    with the last version's body."""
    pack = tmp_path / "pack"
    shutil.copytree(REPO / "templates" / "fonts", pack / "templates" / "fonts")
    css = (REPO / "templates" / "form.css").read_text(encoding="utf-8")
    (pack / "templates" / "form.css").write_text(css, encoding="utf-8")
    cache = tmp_path / "cache"
    before = _render(tmp_path, "before", str(cache), "--pack", str(pack))
    edited = css + "\nh2 { letter-spacing: 0.5pt; }\n"
    (pack / "templates" / "form.css").write_text(edited, encoding="utf-8")
    after = _render(tmp_path, "after", str(cache), "--pack", str(pack))
    uncached = _render(tmp_path, "uncached", "off", "--pack", str(pack))
    assert after[".pdf"] != before[".pdf"]
    assert after[".pdf"] == uncached[".pdf"]
    assert len([p for p in cache.iterdir() if p.name.startswith("pdf-body-")]) == 2


def test_a_cache_that_cannot_be_used_does_not_stop_a_render(tmp_path: Path) -> None:
    """A cache folder below a file, one others can write (left as it is, not made private) or a read-only
    one: the form is made, the same bytes as without a cache, and the reason is said once."""
    expected = _render(tmp_path, "off", "off")
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder", encoding="utf-8")
    files, err = _run(tmp_path, "file", str(in_the_way / "cache"))
    assert files == expected
    assert err.count("not using the cache folder") == 1, err
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    files, err = _run(tmp_path, "open", str(shared))
    assert files == expected
    said = f"not using the cache folder {shared}: other users can write to it (mode 0777)"
    assert err.count(said) == 1, err
    assert stat.S_IMODE(shared.stat().st_mode) == 0o777  # not made private: not ours to change
    assert list(shared.iterdir()) == []  # nor used
    if os.getuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert _render(tmp_path, "locked", str(locked)) == expected


def test_the_oldest_entries_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from consent.speedups import disk_cache as _disk_cache

    monkeypatch.setattr(_disk_cache, "MAX_ENTRIES", 3)
    cache = _disk_cache.DiskCache(tmp_path / "cache")
    for n in range(5):
        key = hashlib.sha256(str(n).encode()).hexdigest()
        assert cache.get("pdf-body", key, lambda n=n: b"x" * n, bytes, bytes) == b"x" * n
        os.utime(cache.folder / f"pdf-body-{key}", (n, n))
    assert [p.read_bytes().split(b"\n", 1)[1] for p in sorted(cache.entries(), key=os.path.getmtime)] == [
        b"xx", b"xxx", b"xxxx"]


def test_consent_cache_shows_and_clears_the_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _render(tmp_path, "out", str(cache))
    env = {**os.environ, "CONSENT_CACHE_DIR": str(cache)}
    shown = subprocess.run([CONSENT, "cache"], capture_output=True, text=True, env=env, check=True).stdout
    assert str(cache) in shown and "2 entries" in shown
    cleared = subprocess.run([CONSENT, "cache", "--clear"], capture_output=True, text=True, env=env,
                             check=True)
    assert "removed 2 entries" in cleared.stdout
    assert sorted(p.name for p in cache.iterdir()) == ["CACHEDIR.TAG", "consent.key"]  # still consent's
    off = subprocess.run([CONSENT, "cache"], capture_output=True, text=True, check=True,
                         env={**os.environ, "CONSENT_CACHE_DIR": "off"}).stdout
    assert "off" in off


def test_the_library_keeps_nothing_on_disk_unless_asked(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    import consent
    from consent.speedups import disk_cache as _disk_cache

    monkeypatch.setenv("CONSENT_CACHE_DIR", str(tmp_path / "cache"))
    assert _disk_cache.disk_cache() is None
    ida = consent.Patient(full_name="Ida Lund", birth_date=dt.date(1980, 1, 2))
    form = consent.build("hair", patient=ida,
                         clinic=consent.load_clinic(CLINIC), date=dt.date(2026, 11, 22))
    pdf = form.to_pdf()
    assert not (tmp_path / "cache").exists()
    try:
        consent.use_disk_cache(tmp_path / "asked")
        later = attrs.evolve(form, date=dt.date(2026, 11, 23))  # a body this process has not made yet
        assert later.to_pdf() != pdf
        assert sorted(name[:8] for name in _entries(tmp_path / "asked")) == ["pdf-body"]
    finally:
        consent.use_disk_cache(None)
    assert _disk_cache.disk_cache() is None


# ------------------------------------------------------------------ whose folder, whose entries (issue 13)


def _forged(entry: Path, old: bytes, new: bytes) -> bytes:
    """``entry`` with ``old`` replaced by ``new`` in its payload and the digest in its first line computed
    again for the edited payload, as anyone who can write the file can do."""
    head, _, payload = entry.read_bytes().partition(b"\n")
    assert old in payload
    payload = payload.replace(old, new)
    return head.rsplit(b" ", 1)[0] + b" " + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def test_a_folder_holding_other_files_is_left_as_it_is(tmp_path: Path) -> None:
    """CONSENT_CACHE_DIR naming (or a symbolic link to) a folder of the user's own files, without consent's
    CACHEDIR.TAG: the render makes the same bytes as without a cache, says why it did not use the folder,
    and the folder is as it was: all 100 files, their bytes and times, its mode; nothing added, nothing
    pruned or chmod-ed."""
    expected = _render(tmp_path, "off", "off")
    mine = tmp_path / "mine"
    mine.mkdir()
    os.chmod(mine, 0o755)
    for n in range(100):
        (mine / f"photo-{n:03d}.jpg").write_bytes(os.urandom(64))
        os.utime(mine / f"photo-{n:03d}.jpg", (1_000_000 + n, 1_000_000 + n))
    (mine / f"docx-parts-{'0' * 64}").write_bytes(b"a file of the user's that looks like an entry")
    before = _tree(mine)
    folder_before = (stat.S_IMODE(mine.stat().st_mode), mine.stat().st_mtime_ns)
    files, err = _run(tmp_path, "plain", str(mine))
    assert files == expected
    said = f"not using the cache folder {mine}: it holds 100 file(s) consent did not make"
    assert err.count(said) == 1, err
    link = tmp_path / "link"
    link.symlink_to(mine)
    files, err = _run(tmp_path, "linked", str(link))
    assert files == expected
    assert err.count(f"not using the cache folder {link}: it is a symbolic link (to {mine})") == 1, err
    assert _tree(mine) == before
    assert (stat.S_IMODE(mine.stat().st_mode), mine.stat().st_mtime_ns) == folder_before


def test_a_symbolic_link_to_consents_own_cache_is_not_followed(tmp_path: Path) -> None:
    """A link to a folder consent made is not followed without saying so: the render says the cache
    folder is a link and where to, and leaves the folder it points to as it was."""
    cache = tmp_path / "cache"
    expected = _render(tmp_path, "first", str(cache))
    before = _tree(cache)
    link = tmp_path / "link"
    link.symlink_to(cache)
    files, err = _run(tmp_path, "linked", str(link))
    assert files == expected
    assert f"not using the cache folder {link}: it is a symbolic link (to {cache})" in err
    assert _tree(cache) == before


def test_pruning_removes_only_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_ENTRIES the oldest entries go, and nothing else: not the user's files put in the folder
    later (even named like an entry, or older than every entry), not what a link named like an entry
    points to, not the folder's tag or key."""
    from consent.speedups import disk_cache as _disk_cache

    monkeypatch.setattr(_disk_cache, "MAX_ENTRIES", 2)
    folder = tmp_path / "cache"
    cache = _disk_cache.DiskCache(folder)
    assert cache.usable()
    outside = tmp_path / "outside.txt"
    outside.write_text("the user's", encoding="utf-8")
    (folder / "notes.txt").write_text("the user's", encoding="utf-8")
    (folder / "pdf-body-draft.pdf").write_text("the user's", encoding="utf-8")
    (folder / f"pdf-body-{'f' * 64}").symlink_to(outside)
    for path in (folder / "notes.txt", folder / "pdf-body-draft.pdf", outside):
        os.utime(path, (1, 1), follow_symlinks=False)
    others = {name: data for name, data in _tree(folder).items() if not ENTRY.fullmatch(name)}
    keys = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(4)]
    for n, key in enumerate(keys):
        assert cache.get("pdf-body", key, lambda n=n: b"x" * n, bytes, bytes) == b"x" * n
        os.utime(folder / f"pdf-body-{key}", (10 + n, 10 + n))
    assert {name: data for name, data in _tree(folder).items() if not ENTRY.fullmatch(name)} == others
    kept = sorted(p.name for p in folder.iterdir() if ENTRY.fullmatch(p.name) and not p.is_symlink())
    assert kept == sorted(f"pdf-body-{key}" for key in keys[2:])
    assert outside.read_text(encoding="utf-8") == "the user's"
    assert (folder / f"pdf-body-{'f' * 64}").is_symlink()
    assert cache.clear() == 2
    assert (folder / f"pdf-body-{'f' * 64}").is_symlink()
    assert {name: data for name, data in _tree(folder).items() if not ENTRY.fullmatch(name)} == others


def test_an_entry_edited_with_its_digest_recomputed_is_not_used(tmp_path: Path) -> None:
    """An entry's text edited by hand (the clinic's name) with the SHA-256 in its first line computed
    again: the form has the clinic's real name (the same bytes as without a cache), and the entry is
    made again as it was."""
    cache = tmp_path / "cache"
    expected = _render(tmp_path, "first", str(cache))
    parts = next(p for p in cache.iterdir() if p.name.startswith("docx-parts-"))
    good = parts.read_bytes()
    parts.write_bytes(_forged(parts, b"Sunrise Regenerative Health", b"Planted Regenerative Health"))
    files, err = _run(tmp_path, "second", str(cache))
    assert files == expected
    assert f"cache entry {parts.name} is damaged or was not made by consent with this folder's key" in err
    assert parts.read_bytes() == good


def test_a_folder_others_can_write_is_not_used_nor_made_private(tmp_path: Path) -> None:
    """A cache folder that others could write to (mode 0777, then 0770) and an entry planted in it: the
    folder is not used (its mode is not changed, the planted entry stays as it is and is not read), the
    form is the same bytes as without a cache. A folder of another user's is not used either."""
    cache = tmp_path / "cache"
    expected = _render(tmp_path, "first", str(cache))
    parts = next(p for p in cache.iterdir() if p.name.startswith("docx-parts-"))
    parts.write_bytes(_forged(parts, b"Sunrise Regenerative Health", b"Planted Regenerative Health"))
    for mode in (0o777, 0o770):
        os.chmod(cache, mode)
        before = _tree(cache)
        files, err = _run(tmp_path, f"open-{mode:o}", str(cache))
        assert files == expected
        assert f"other users can write to it (mode {mode:04o}), expected a folder only you can write" in err
        assert stat.S_IMODE(cache.stat().st_mode) == mode and _tree(cache) == before
    if os.getuid() == 0:  # only root can give a folder away
        from consent.speedups.disk_cache import DiskCache

        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, 65534, 65534)
        assert not DiskCache(theirs).usable()
        assert list(theirs.iterdir()) == []


def test_an_entry_that_is_a_link_a_pipe_or_another_users_file_is_not_read(tmp_path: Path) -> None:
    """The body entry replaced by a symbolic link to /dev/zero and the DOCX entry by a named pipe no one
    writes: the render neither reads without bound nor waits (its memory is capped), makes the same
    bytes as without a cache, and puts real entries in their place; /dev/zero is untouched. An entry
    owned by another user (root only) is made again too."""
    cache = tmp_path / "cache"
    expected = _render(tmp_path, "first", str(cache))
    body = next(p for p in cache.iterdir() if p.name.startswith("pdf-body-"))
    parts = next(p for p in cache.iterdir() if p.name.startswith("docx-parts-"))
    good = {body: body.read_bytes(), parts: parts.read_bytes()}
    body.unlink()
    body.symlink_to("/dev/zero")
    parts.unlink()
    os.mkfifo(parts)
    files, err = _run(tmp_path, "second", str(cache), memory=3 << 30)
    assert files == expected
    assert f"cache entry {body.name} is not used (a symbolic link; expected a regular file)" in err
    assert f"cache entry {parts.name} is not used (not a regular file; expected a regular file" in err
    assert {path: path.read_bytes() for path in good} == good and not body.is_symlink()
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)
    if os.getuid() == 0:  # only root can give a file away
        os.chown(parts, 65534, 65534)
        files, err = _run(tmp_path, "third", str(cache))
        assert files == expected
        assert f"cache entry {parts.name} is not used (owned by uid 65534" in err
        assert parts.stat().st_uid == 0 and parts.read_bytes() == good[parts]


def test_entries_are_authenticated_with_the_folders_own_key(tmp_path: Path) -> None:
    """Each entry carries an HMAC-SHA256 made with a random key of the folder's (consent.key: 32 bytes,
    0600): an entry copied from another cache folder, with its own valid mark, is made again, not used. A
    key others can read, or of the wrong size, makes the folder unusable (said, not fixed)."""
    from consent.speedups.disk_cache import DiskCache

    key = hashlib.sha256(b"form").hexdigest()
    theirs, ours = DiskCache(tmp_path / "theirs"), DiskCache(tmp_path / "ours")
    assert theirs.get("pdf-body", key, lambda: b"their layout", bytes, bytes) == b"their layout"
    assert ours.get("docx-parts", key, lambda: b"ours", bytes, bytes) == b"ours"
    name = f"pdf-body-{key}"
    (ours.folder / name).write_bytes((theirs.folder / name).read_bytes())
    os.chmod(ours.folder / name, 0o600)
    assert ours.get("pdf-body", key, lambda: b"our layout", bytes, bytes) == b"our layout"
    assert DiskCache(ours.folder).get("pdf-body", key, lambda: b"made again", bytes, bytes) == b"our layout"
    secret = (ours.folder / "consent.key").read_bytes()
    assert len(secret) == 32 and secret != (theirs.folder / "consent.key").read_bytes()
    assert stat.S_IMODE((ours.folder / "consent.key").stat().st_mode) == 0o600
    head = (ours.folder / name).read_bytes().split(b"\n", 1)[0]
    assert head.endswith(hmac.new(secret, name.encode() + b"\0our layout", "sha256").hexdigest().encode())
    os.chmod(ours.folder / "consent.key", 0o644)
    assert not DiskCache(ours.folder).usable()
    assert stat.S_IMODE((ours.folder / "consent.key").stat().st_mode) == 0o644
    os.chmod(ours.folder / "consent.key", 0o600)
    (ours.folder / "consent.key").write_bytes(b"short")
    assert not DiskCache(ours.folder).usable()
    assert DiskCache(ours.folder).get("pdf-body", key, lambda: b"no cache", bytes, bytes) == b"no cache"


def test_the_code_digest_hashes_the_whole_package(monkeypatch):
    """An entry's name hashes the whole package's code, every subpackage: an edit to the renderers
    (consent/pdf/, consent/docx/) or the templates' data must make the layouts cached by consent/speedups/
    anew, not only an edit to consent/speedups/ itself (issue 25's trap)."""
    from consent.speedups import disk_cache

    hashed: list[str] = []
    consent.clear_caches()  # the digest is made once per process (and handed over by consent render's)
    monkeypatch.setattr(disk_cache, "_hash_files",
                        lambda digest, paths, root: hashed.extend(p.relative_to(root).as_posix() for p in paths))
    disk_cache._code()
    package = Path(consent.__file__).parent
    assert sorted(hashed) == sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py"))
    assert {"pdf/html.py", "pdf/whole.py", "docx/render.py", "speedups/layers.py", "_jinja_data.py"} <= set(hashed)
