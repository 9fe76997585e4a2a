"""Limits: every bounded input fails with an error naming the limit and the value found, at once.

The limits live in consent/_limits.py and are listed in the README's "Limits" section.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pikepdf
import pytest
from helpers import DATE, EXAMPLES, REPO, build_tree, make_clinic

import consent
from consent import _limits
from consent._limits import (
    LIMITS,
    MAX_CODE_CHARS,
    MAX_DATA_FILE_BYTES,
    MAX_EXPORT_BYTES,
    MAX_FORM_DATA_BYTES,
    MAX_NAME_CHARS,
    MAX_NESTING,
    MAX_PACK_BYTES,
    MAX_PACK_FILES,
    MAX_TEXT_CHARS,
    MAX_YAML_NODES,
)
from consent.cli import main
from consent.ehr import read_records
from consent.library.loader import get_library

BOMB = "".join(
    [f"a0: &a0 [{', '.join(['x'] * 10)}]\n"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7)]
)


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (the limit is checked before reading)."""
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def test_limits_are_documented_in_the_readme():
    """The README's Limits list names every limit with its value, so a clinic knows them before it hits one."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Limits", 1)[1].split("\n## ", 1)[0]
    for name, value in LIMITS.items():
        shown = f"{value // _limits.MIB} MiB" if name.endswith("_BYTES") else f"{value:,}"
        assert re.search(rf"`{name}`.*{re.escape(shown)}", section), (name, shown)


def test_data_file_over_the_size_limit(tmp_path, capsys):
    """A patient file over 1 MiB: one error naming the size and the limit, nothing written."""
    patient = _sparse(tmp_path / "patient.yaml", MAX_DATA_FILE_BYTES + 1)
    code = main(["render", "hair", "--patient", str(patient), "--clinic", str(EXAMPLES / "clinic.yaml"),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{patient}: the file is {MAX_DATA_FILE_BYTES + 1:,} bytes; the limit is {MAX_DATA_FILE_BYTES:,} bytes" in err
    assert not (tmp_path / "out").exists()


def test_export_over_the_size_limit_fails_before_reading(tmp_path):
    export = _sparse(tmp_path / "export.ndjson", MAX_EXPORT_BYTES + 1)
    with pytest.raises(consent.InputError) as info:
        read_records([export])
    assert str(info.value) == (
        f"{export}: the export is {MAX_EXPORT_BYTES + 1:,} bytes; the limit is {MAX_EXPORT_BYTES:,} bytes"
    )


def test_records_per_file(tmp_path, monkeypatch):
    """More records in one export than the limit: an InputError naming file, limit and a hint to split."""
    monkeypatch.setattr("consent.ehr._records.MAX_RECORDS_PER_FILE", 3)
    export = tmp_path / "Patient.ndjson"
    line = json.dumps({"resourceType": "Patient", "name": [{"text": "A B"}], "birthDate": "1970-01-01"})
    export.write_text("\n".join([line] * 4))
    records = read_records([export])
    with pytest.raises(consent.InputError) as info:
        list(records)
    assert str(info.value) == (
        f"{export}: the export has more than 3 records; the limit is 3\nHint: split it into several files"
    )
    export.write_text("\n".join([line] * 3))
    assert len(list(read_records([export]))) == 3


@pytest.mark.parametrize(
    ("field", "changes", "limit"),
    [
        ("patient.full_name", {"full_name": "A" * (MAX_NAME_CHARS + 1)}, MAX_NAME_CHARS),
        ("patient.mrn", {"mrn": "1" * (MAX_CODE_CHARS + 1)}, MAX_CODE_CHARS),
    ],
)
def test_patient_text_length(field, changes, limit, clinic):
    fields = {"full_name": "Ada Lovelace", "birth_date": dt.date(1985, 12, 1), **changes}
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=consent.Patient(**fields), clinic=clinic, date=DATE)
    assert str(info.value) == f"{field} is {limit + 1:,} characters long; the limit is {limit:,}"


def test_clinic_text_length_every_field_at_once(patient):
    """Every over-long clinic field is listed, including fields inside the fee schedule."""
    long = "x" * (MAX_TEXT_CHARS + 1)
    fees = consent.FeeSchedule(price_per_session=Decimal(1), planned_sessions=1, included=("ok", long))
    clinic = make_clinic(address=long, fees=fees, provider=consent.Provider(name="n" * 201, credentials="MD"))
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=patient, clinic=clinic, date=DATE)
    assert [str(p) for p in info.value.problems] == [
        f"clinic.address is {MAX_TEXT_CHARS + 1:,} characters long; the limit is {MAX_TEXT_CHARS:,}",
        f"clinic.provider.name is 201 characters long; the limit is {MAX_NAME_CHARS}",
        f"clinic.fees.included[1] is {MAX_TEXT_CHARS + 1:,} characters long; the limit is {MAX_TEXT_CHARS:,}",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A\x00B", "a control character (U+0000) at position 2"),
        ("A\x1b[0mB", "a control character (U+001B) at position 2"),
        ("Ann\ud800", "an unpaired surrogate (U+D800) at position 4"),
        ("\ufffe", "a Unicode noncharacter (U+FFFE) at position 1"),
        ("Ann\nLee", "a line break or tab (U+000A) at position 4"),
    ],
)
def test_characters_that_are_not_text_are_refused_by_code_point(text, message, clinic):
    """A control character, surrogate or noncharacter would make an unreadable DOCX (invalid XML): it is
    refused, naming the field, the code point and the position, never the text."""
    with pytest.raises(consent.InputError) as info:
        consent.build("hair", patient=consent.Patient(full_name=text, birth_date=dt.date(1980, 1, 1)),
                      clinic=clinic, date=DATE)
    assert str(info.value) == f"patient.full_name contains {message}; remove it"


@pytest.mark.parametrize("single_line", [False, True])
def test_the_first_look_for_characters_that_are_not_text_finds_exactly_what_is_refused(single_line):
    """A text field is first searched with one character class, and read character by character only
    when it matches: the class holds every code point the reading refuses, and nothing else (else a
    control character could slip through, or a valid name be refused)."""
    import unicodedata

    def refused(code: int) -> bool:
        if chr(code) in "\t\n\r":
            return single_line
        return (unicodedata.category(chr(code)) in ("Cc", "Cs") or 0xFDD0 <= code <= 0xFDEF
                or code & 0xFFFE == 0xFFFE)

    every = "".join(map(chr, range(0x110000)))
    found = [m.start() for m in _limits._BAD[single_line].finditer(every)]
    assert found == [code for code in range(0x110000) if refused(code)]
    assert len(found) == 2176 + 3 * single_line  # 65 Cc, 2,048 Cs, 66 noncharacters (less tab, LF, CR)
    for code in found[:: max(1, len(found) // 40)]:  # and the reading names them
        assert _limits.bad_character(f"Ann{chr(code)}", single_line=single_line) is not None
    assert _limits.bad_character("Nguyễn Thị Minh Khai\u00e9", single_line=single_line) is None


def test_multiline_clinic_text_is_allowed(patient):
    """Tabs and line breaks are fine in clinic text (an address written over two lines)."""
    consent.build("hair", patient=patient, clinic=make_clinic(address="1 Main St\nBoise, ID"), date=DATE)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_nesting_depth(tmp_path, suffix):
    """A file nested one level too deep, and one nested far deeper than Python's stack: both refused."""
    deep = tmp_path / f"patient{suffix}"
    for depth in (MAX_NESTING + 1, 100_000):
        deep.write_text("[" * depth + "]" * depth)
        with pytest.raises(consent.InputError) as info:
            consent.load_patient(deep)
        assert str(info.value) == f"{deep}: nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}"
    ok = tmp_path / f"ok{suffix}"
    ok.write_text("[" * MAX_NESTING + "]" * MAX_NESTING)
    with pytest.raises(consent.InputError, match="patient must be a mapping"):
        consent.load_patient(ok)


def test_deep_fhir_export_is_one_record_with_a_problem(tmp_path):
    export = tmp_path / "export.json"
    export.write_text("[" * 100_000 + "]" * 100_000)
    ndjson = tmp_path / "export.ndjson"
    ndjson.write_text('{"resourceType": "Patient", "x": ' + "[" * 5_000 + "]" * 5_000 + "}\n")
    records = list(read_records([export, ndjson]))
    assert [(r.number, [p.message for p in r.problems]) for r in records] == [
        (1, [f"the file has nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}"]),
        (2, [f"line 1 has nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}"]),
    ]


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    """A "billion laughs" file (a million values from seven lines) stops at MAX_YAML_NODES, in every
    YAML reader: patient files, CSV mappings and pack files."""
    patient = tmp_path / "patient.yaml"
    patient.write_text(BOMB)
    message = f"more than {MAX_YAML_NODES:,} values (aliases counted each time they are used)"
    with pytest.raises(consent.InputError, match=re.escape(message)):
        consent.load_patient(patient)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns: {full_name: n, birth_date: d}\n" + BOMB)
    export = tmp_path / "x.csv"
    export.write_text("n,d\n")
    with pytest.raises(consent.InputError, match=re.escape(message)):
        read_records([export], mapping=mapping)
    pack = build_tree(tmp_path / "pack", {"clauses/benefits.yaml": BOMB})
    with pytest.raises(consent.ContentError, match=re.escape(message)):
        get_library([pack]).raise_problems()


def test_huge_numbers_are_an_input_error(tmp_path):
    """A 5,000-digit number (more than Python converts) in a patient file or a FHIR export."""
    patient = tmp_path / "p.json"
    patient.write_text('{"full_name": "A", "birth_date": "1970-01-01", "mrn": 1' + "0" * 5000 + "}")
    with pytest.raises(consent.InputError, match="a number is too long to read"):
        consent.load_patient(patient)
    export = tmp_path / "e.json"
    export.write_text('{"resourceType": "Patient", "x": 1' + "0" * 5000 + "}")
    [record] = read_records([export])
    assert record.problems[0].message.startswith("the file has a number is too long to read")


def test_csv_field_over_the_csv_limit(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text('name,dob\n"' + "x" * 140_000 + '",1970-01-01\n')
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {full_name: name, birth_date: dob}\n")
    with pytest.raises(consent.InputError) as info:
        list(read_records([export], mapping=mapping))
    assert str(info.value) == (
        f"{export}: line 3 cannot be read as CSV (field larger than field limit (131072))"
    )


def test_pack_with_too_many_files(tmp_path):
    pack = build_tree(tmp_path / "pack", {"clauses/.keep": ""})
    for i in range(MAX_PACK_FILES + 1):
        (pack / "clauses" / f"note-{i}.txt").touch()
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"the pack has more than {MAX_PACK_FILES:,} files; the limit is {MAX_PACK_FILES:,}" in str(info.value)


def test_pack_over_the_byte_limit(tmp_path):
    pack = build_tree(tmp_path / "pack", {"templates/fonts/.keep": ""})
    _sparse(pack / "templates" / "fonts" / "huge.ttf", MAX_PACK_BYTES + 1)
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"the pack holds {MAX_PACK_BYTES + 1:,} bytes; the limit is {MAX_PACK_BYTES:,} bytes" in str(info.value)


def test_pack_yaml_file_over_the_size_limit(tmp_path):
    pack = build_tree(tmp_path / "pack", {"clauses/.keep": ""})
    big = _sparse(pack / "clauses" / "benefits.yaml", MAX_DATA_FILE_BYTES + 1)
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"{big}: the file is {MAX_DATA_FILE_BYTES + 1:,} bytes; the limit is {MAX_DATA_FILE_BYTES:,} bytes" in str(
        info.value)


def test_endless_devices_and_pipes_are_refused(tmp_path):
    """/dev/zero as a patient file or a CSV mapping (it has no size, and never ends), and a named pipe in a
    pack (opening it would wait for ever): refused at the limit, not read without end."""
    for loader in (consent.load_patient, lambda p: read_records([tmp_path / "x.csv"], mapping=p)):
        with pytest.raises(consent.InputError) as info:
            loader(Path("/dev/zero"))
        assert (f"/dev/zero: the file is more than {MAX_DATA_FILE_BYTES:,} bytes; the limit is "
                f"{MAX_DATA_FILE_BYTES:,} bytes") in str(info.value)
    pack = build_tree(tmp_path / "pack", {"clauses/.keep": ""})
    os.mkfifo(pack / "clauses" / "benefits.yaml")
    with pytest.raises(consent.ContentError) as info:
        get_library([pack]).raise_problems()
    assert f"{pack}/clauses/benefits.yaml: is not a regular file (a pipe or a device)" in str(info.value)


# --------------------------------------------------------------------------- forms read back (issue point 11)

MEMORY = 256 * _limits.MIB  # a child's data segment: a reader that decompressed a bomb whole would not fit
BOMB_BYTES = 160 * _limits.MIB  # each bomb, decompressed: over MAX_DECODED_BYTES, and twice it over MEMORY


def _consent(*args: str | Path) -> tuple[int, str, str]:
    """`consent ARGS` in a child process whose memory is capped at MEMORY (RLIMIT_DATA): a reader that reads
    /dev/zero or decompresses a bomb without bound fails there (MemoryError), not in the machine's memory."""
    script = ("import resource, sys\n"
              f"resource.setrlimit(resource.RLIMIT_DATA, ({MEMORY}, {MEMORY}))\n"
              "from consent.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    env = {**os.environ, "CONSENT_CACHE_DIR": "off", "SEAL_PASSWORD": "x"}
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    return done.returncode, done.stdout, done.stderr


@functools.cache
def _deflated(size: int, head: bytes = b"") -> bytes:
    """zlib data of ``head`` and then ``size`` spaces, made a MiB at a time (about size / 1,000 bytes)."""
    packer = zlib.compressobj(9)
    parts = [packer.compress(head)]
    chunk = b" " * _limits.MIB
    for start in range(0, size, len(chunk)):
        parts.append(packer.compress(chunk[: size - start]))
    parts.append(packer.flush())
    return b"".join(parts)


def _saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out, stream_decode_level=pikepdf.StreamDecodeLevel.none)  # the bomb stays as it is
    return out.getvalue()


def _attachment_bomb(pdf: bytes, size: int) -> bytes:
    """The form with its embedded form data replaced by ``size`` bytes of Flate data."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.attachments["consent-form.json"].obj.EF.F.write(_deflated(size), filter=pikepdf.Name.FlateDecode)
        return _saved(doc)


def _content_bomb(pdf: bytes, size: int) -> bytes:
    """The form with a content stream of ``size`` bytes added to its first page."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0].obj
        stream = pikepdf.Stream(doc, b"")
        stream.write(_deflated(size), filter=pikepdf.Name.FlateDecode)
        page.Contents = pikepdf.Array([*(page.Contents if isinstance(page.Contents, pikepdf.Array)
                                         else [page.Contents]), doc.make_indirect(stream)])
        return _saved(doc)


def _object_stream_bomb(pdf: bytes, size: int) -> bytes:
    """The form with an incremental update whose document information dictionary lies in an object stream
    of ``size`` bytes: qpdf decompresses it whole to find the dictionary."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        number, root = int(doc.trailer.Size), doc.trailer.Root.objgen[0]
        base = _saved(doc)
    info, objects, xref = number, number + 1, number + 2
    head = f"{info} 0 ".encode()
    data = _deflated(size, head + b"<< /consentformid (CF-0000-0000-0000) >>")
    out = bytearray(base)
    at_objects = len(out)
    out += (f"{objects} 0 obj\n<< /Type /ObjStm /N 1 /First {len(head)} /Filter /FlateDecode "
            f"/Length {len(data)} >>\nstream\n").encode() + data + b"\nendstream\nendobj\n"
    at_xref = len(out)
    rows = struct.pack(">BIH", 2, objects, 0) + struct.pack(">BIH", 1, at_objects, 0) + struct.pack(
        ">BIH", 1, at_xref, 0)
    previous = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    out += (f"{xref} 0 obj\n<< /Type /XRef /Size {xref + 1} /Prev {previous} /Root {root} 0 R /Info {info} 0 R "
            f"/Index [{info} 3] /W [1 4 2] /Length {len(rows)} >>\nstream\n").encode() + rows
    out += f"\nendstream\nendobj\nstartxref\n{at_xref}\n%%EOF\n".encode()
    return bytes(out)


def _docx_bomb(docx: bytes, size: int) -> bytes:
    """The DOCX with ``size`` spaces after the XML of its custom properties (where its form data is)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as package, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in package.infolist():
            data = package.read(info)
            if info.filename != "docProps/custom.xml":
                bomb.writestr(info, data)
                continue
            member = zipfile.ZipInfo(info.filename, info.date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(member, "w", force_zip64=True) as fh:
                fh.write(data)
                for start in range(0, size, _limits.MIB):
                    fh.write(b" " * min(_limits.MIB, size - start))
    return out.getvalue()


@pytest.fixture(scope="module")
def made() -> tuple[bytes, bytes]:
    """A stock form, as consent made its PDF and DOCX."""
    patient = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1), mrn="SRH-1")
    form = consent.build("hair", patient=patient, clinic=make_clinic(), date=DATE)
    return form.to_pdf(), form.to_docx()


def _outputs(tmp_path: Path) -> list[Path]:
    """Every file in tmp_path but the inputs the test wrote (named in-*)."""
    return [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("in-")]


def test_endless_forms_and_certificates_are_read_to_their_limit(tmp_path, made):
    """/dev/zero as the form of rerender, verify, seal and record, as verify's --original and --trust, and as
    seal's --cert: read to MAX_FORM_FILE_BYTES (or MAX_DATA_FILE_BYTES for a certificate) and refused with
    that limit, within bounded memory; exit 1 and nothing written."""
    form = tmp_path / "in-form.pdf"
    form.write_bytes(made[0])
    out = tmp_path / "out"
    limit, cert_limit = f"{_limits.MAX_FORM_FILE_BYTES:,}", f"{MAX_DATA_FILE_BYTES:,}"
    cases = [
        (["rerender", "/dev/zero", "--out", out], f"the form is more than {limit} bytes; the limit is {limit}"),
        (["verify", "/dev/zero"], f"the signed form is more than {limit} bytes; the limit is {limit}"),
        (["verify", form, "--original", "/dev/zero"], f"the original is more than {limit} bytes; the limit is {limit}"),
        (["verify", form, "--trust", "/dev/zero"],
         f"the certificate file is more than {cert_limit} bytes; the limit is {cert_limit}"),
        (["seal", "/dev/zero", "--cert", "/dev/zero", "--password-env", "SEAL_PASSWORD", "--out", out / "s.pdf"],
         f"the signed form is more than {limit} bytes; the limit is {limit}"),
        (["seal", form, "--cert", "/dev/zero", "--password-env", "SEAL_PASSWORD", "--out", out / "s.pdf"],
         f"the certificate file is more than {cert_limit} bytes; the limit is {cert_limit}"),
        (["record", "/dev/zero", "--out", out], f"the signed form is more than {limit} bytes; the limit is {limit}"),
    ]
    for args, message in cases:
        code, stdout, stderr = _consent(*args)
        assert (code, stdout, stderr) == (1, "", f"Error: /dev/zero: {message} bytes\n"), args
    assert _outputs(tmp_path) == []


@pytest.mark.parametrize(
    ("bomb", "command"),
    [
        (_attachment_bomb, "rerender"),
        (_attachment_bomb, "verify"),
        (_content_bomb, "verify"),
        (_content_bomb, "record"),
        (_object_stream_bomb, "verify"),
        (_object_stream_bomb, "rerender"),
    ],
)
def test_pdf_compression_bombs_are_measured_not_decompressed(tmp_path, made, bomb, command):
    """A 160 KB PDF that decompresses to 160 MiB (its form data, a page's content, or an object stream qpdf
    opens to find the document information): refused at MAX_DECODED_BYTES before it is decompressed, within
    bounded memory; verify gives its verdict, the others an error; exit 1 and nothing written."""
    path = tmp_path / "in-bomb.pdf"
    path.write_bytes(bomb(made[0], BOMB_BYTES))
    assert path.stat().st_size < BOMB_BYTES // 500
    limit = f"{_limits.MAX_DECODED_BYTES:,}"
    reason = (f"the PDF's streams hold more than {limit} bytes once decompressed (a compression bomb?); "
              f"the limit is {limit} bytes")
    args = [command, path] if command == "verify" else [command, path, "--out", tmp_path / "out"]
    code, stdout, stderr = _consent(*args)
    if command == "verify":
        assert (code, stdout, stderr) == (1, f"NOT A CONSENT FORM: {reason}\n", "")
    else:
        assert (code, stdout, stderr) == (1, "", f"Error: {reason}\n")
    assert _outputs(tmp_path) == []


def test_docx_zip_bombs_are_refused_before_they_are_unzipped(tmp_path, made):
    """A DOCX whose custom properties (where the form data is) unzip to 160 MiB, one with more files than
    MAX_DOCX_PARTS, and a zip whose directory alone lists 30,000 files: refused from the sizes the zip gives
    before anything is unzipped, within bounded memory; exit 1 and nothing written."""
    many, huge = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(made[1])) as package, zipfile.ZipFile(many, "w") as out:
        for info in package.infolist():
            out.writestr(info, package.read(info))
        for i in range(_limits.MAX_DOCX_PARTS + 1 - len(package.infolist())):
            out.writestr(f"customXml/pad{i}.xml", b"")
    with zipfile.ZipFile(huge, "w") as out:
        for i in range(30_000):
            out.writestr(f"{i:05}", b"")
    parts, limit = _limits.MAX_DOCX_PARTS, f"{_limits.MAX_DECODED_BYTES:,}"
    cases = [
        (_docx_bomb(made[1], BOMB_BYTES),
         rf"Error: the DOCX's files are [\d,]+ bytes once unzipped \(a zip bomb\?\); the limit is {limit} bytes\n"),
        (many.getvalue(), rf"Error: the DOCX holds {parts + 1:,} files; the limit is {parts:,}\n"),
        (huge.getvalue(), rf"Error: the DOCX's list of files is [\d,]+ bytes, room for more than {parts:,} files; "
                          rf"the limit is {parts:,} files\n"),
    ]
    for i, (data, message) in enumerate(cases):
        path = tmp_path / f"in-{i}.docx"
        path.write_bytes(data)
        code, stdout, stderr = _consent("rerender", path, "--out", tmp_path / "out")
        assert code == 1 and stdout == "" and re.fullmatch(message, stderr), (i, stderr)
    assert _outputs(tmp_path) == []


def _with_paragraphs(made: tuple[bytes, bytes], total: int) -> tuple[bytes, bytes]:
    """The form's PDF and DOCX with paragraphs added to its embedded data, to ``total`` blocks in all."""
    from consent._form_data import block_count

    with pikepdf.open(io.BytesIO(made[0])) as doc:
        data = json.loads(doc.attachments["consent-form.json"].get_file().read_bytes())
        more = total - block_count(data["document"])
        data["document"]["sections"][1]["blocks"] += [{"kind": "paragraph", "text": "x"}] * more
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        doc.attachments["consent-form.json"].obj.EF.F.write(text.encode())
        pdf = _saved(doc)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(made[1])) as package, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as docx:
        for info in package.infolist():
            part = package.read(info)
            if info.filename == "docProps/custom.xml":
                part = re.sub(rb'(name="consent.form" pid="\d+"><vt:lpwstr>).*?(</vt:lpwstr>)',
                              lambda m: m[1] + xml_escape(text).encode() + m[2], part, flags=re.S)
            docx.writestr(info, part)
    return pdf, out.getvalue()


def test_form_data_over_its_limits_is_refused_before_the_form_is_built(tmp_path, made, capsys):
    """Embedded form data with one block more than MAX_FORM_BLOCKS (the time to render grows with them:
    30,000 paragraphs took minutes), in a PDF and in a DOCX, and form data that decompresses to more than
    MAX_FORM_DATA_BYTES: refused before the form is built or rendered, naming the limit and what was found;
    exit 1 and nothing written."""
    pdf, docx = _with_paragraphs(made, _limits.MAX_FORM_BLOCKS + 1)
    blocks = (f"the form data has {_limits.MAX_FORM_BLOCKS + 1:,} blocks (sections, paragraphs, list items, "
              f"table rows); the limit is {_limits.MAX_FORM_BLOCKS:,}")
    size = f"{MAX_FORM_DATA_BYTES:,}"
    cases = [
        (pdf, "pdf", f"Error: the PDF's consent-form.json: {blocks}\n"),
        (docx, "docx", f"Error: the DOCX property consent.form: {blocks}\n"),
        (_attachment_bomb(made[0], MAX_FORM_DATA_BYTES + 1), "pdf",
         f"Error: the PDF's consent-form.json: the form data is more than {size} bytes once decompressed; "
         f"the limit is {size} bytes\n"),
    ]
    for i, (data, suffix, message) in enumerate(cases):
        path = tmp_path / f"in-{i}.{suffix}"
        path.write_bytes(data)
        code = main(["rerender", str(path), "--out", str(tmp_path / "out")])
        assert (code, *capsys.readouterr()) == (1, "", message), i
    assert _outputs(tmp_path) == []


def test_form_data_at_its_block_limit_is_made_again(made):
    """MAX_FORM_BLOCKS blocks exactly: the form is made again (the limit refuses only what is over it)."""
    pdf, docx = _with_paragraphs(made, _limits.MAX_FORM_BLOCKS)
    for data in (pdf, docx):
        again = consent.rerender(data, formats=["docx"])
        assert sum(len(s.blocks) for s in again.form.sections) + len(again.form.sections) <= _limits.MAX_FORM_BLOCKS
