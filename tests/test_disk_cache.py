"""The command's disk cache (consent/_disk_cache.py): the same bytes as without it, never a stale or
damaged entry, no patient data in it, and a render that goes on when the cache cannot be used.

Each render is a new process, as a clinic runs the command (within one process the work is also kept in
memory, which would hide the disk)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import attrs
import pytest
from helpers import EXAMPLES, REPO

CONSENT = str(Path(sys.executable).with_name("consent"))
CLINIC = EXAMPLES / "clinic.yaml"
PATIENT = {"full_name": "Zebulon Quixworth-Marchbanks", "birth_date": "1971-03-04", "mrn": "ZQ-55-0193"}


def _render(tmp: Path, out: str, cache: str, *extra: str, patient: Path | None = None,
            env: dict[str, str] | None = None) -> dict[str, bytes]:
    if patient is None:
        patient = tmp / "patient.yaml"
        patient.write_text("".join(f"{k}: '{v}'\n" for k, v in PATIENT.items()), encoding="utf-8")
    result = subprocess.run(
        [CONSENT, "render", "knee-injection", "--patient", str(patient), "--clinic", str(CLINIC), "--date",
         "2026-11-21", "--out", str(tmp / out), *extra],
        capture_output=True, text=True, timeout=120, env={**os.environ, "CONSENT_CACHE_DIR": cache, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return {p.suffix: p.read_bytes() for p in (tmp / out).iterdir()}


def _entries(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


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
    kept = b"\n".join(_inflated(data) for data in _entries(cache).values())
    assert len(kept) > 1_000_000
    for value in [*PATIENT.values(), "Quixworth", "1971", "0193", "March 4"]:
        for encoded in {value.encode(), value.encode("utf-16-be"), value.upper().encode()}:
            assert encoded not in kept, value
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
    expected = _render(tmp_path, "off", "off")
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder", encoding="utf-8")
    assert _render(tmp_path, "file", str(in_the_way / "cache")) == expected
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    assert _render(tmp_path, "open", str(shared)) == expected
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700  # ours: made private before use
    if os.getuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert _render(tmp_path, "locked", str(locked)) == expected


def test_the_oldest_entries_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from consent import _disk_cache

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
    assert list(cache.iterdir()) == []
    off = subprocess.run([CONSENT, "cache"], capture_output=True, text=True, check=True,
                         env={**os.environ, "CONSENT_CACHE_DIR": "off"}).stdout
    assert "off" in off


def test_the_library_keeps_nothing_on_disk_unless_asked(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    import consent
    from consent import _disk_cache

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
        assert sorted(p.name[:8] for p in (tmp_path / "asked").iterdir()) == ["pdf-body"]
    finally:
        consent.use_disk_cache(None)
    assert _disk_cache.disk_cache() is None
