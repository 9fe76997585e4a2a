"""Archival PDF/A-3 copies: `consent render --pdf-variant` for a form as made, and `consent archive` (and
``consent.archive_signed``) for a form that came back filled in and signed.

What a clinic does, with outside tools: `consent render --fillable`, the form filled in with pypdf and
signed with pyHanko (tests/signing.py), sealed with `consent seal`, archived with `consent archive`; then
the signed original is taken out of the copy with pikepdf and verified, and the copy's text is read with
pdftotext.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from helpers import EXAMPLES, field_name, pdf_pages
from helpers import run_cli as run
from signing import P12_PASSWORD, complete, fill, glyph_changed_in_update, make_pki, sign

import consent
from consent.cli import main

CLINIC = str(EXAMPLES / "clinic.yaml")
JOSE = str(EXAMPLES / "patient-jose.yaml")
JOSE_SCREENING = str(EXAMPLES / "screening-jose.yaml")
DATE = "2026-11-21"

# WeasyPrint opens its sRGB profile for a PDF/A output intent and leaves the file to the garbage collector.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*sRGB2014:pytest.PytestUnraisableExceptionWarning")


# --------------------------------------------------------------------------- PDF/A, by its structure


def assert_pdf_a_3(data: bytes, conformance: str) -> None:
    """The structural checks of a PDF/A-3 (as for batch's PDF/A: the XMP identity), and more: an output
    intent with its ICC profile, every font embedded (each subset tag one font program), no JavaScript,
    no encryption, no form fields, and every embedded file an associated file (relationship, MIME type,
    dates) listed in the catalog's /AF."""
    with pikepdf.open(io.BytesIO(data)) as doc:
        assert not doc.is_encrypted and "/Encrypt" not in doc.trailer
        with doc.open_metadata() as xmp:
            assert (xmp["pdfaid:part"], xmp["pdfaid:conformance"]) == ("3", conformance)
        intents = list(doc.Root.OutputIntents)
        assert intents and all(i.S == "/GTS_PDFA1" and "/N" in i.DestOutputProfile for i in intents)
        assert "/AcroForm" not in doc.Root and "/AA" not in doc.Root and "/OpenAction" not in doc.Root
        assert "/JavaScript" not in doc.Root.get("/Names", {})
        programs: dict[str, set[str]] = {}
        for obj in doc.objects:
            if not isinstance(obj, pikepdf.Dictionary):
                continue
            assert "/JS" not in obj and obj.get("/S") != "/JavaScript", obj
            if obj.get("/Type") != "/Font" or obj.get("/Subtype") in ("/Type0", "/Type3"):
                continue  # a composite font's program is its descendant's
            descriptor = obj.FontDescriptor
            files = [descriptor[k] for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor]
            assert len(files) == 1, f"{obj.BaseFont} is not embedded"
            digest = hashlib.sha256(files[0].read_bytes()).hexdigest()
            programs.setdefault(str(obj.BaseFont), set()).add(digest)
        assert programs and all(len(p) == 1 for p in programs.values()), "one subset tag, two font programs"
        listed = {f.objgen for f in doc.Root.AF}
        for name, spec in doc.attachments.items():
            assert spec.obj.objgen in listed, f"{name} is not an associated file"
            assert str(spec.obj.AFRelationship) in ("/Data", "/Source") and str(spec.obj.UF) == name
            stream = spec.obj.EF.F
            assert stream.Subtype in ("/application/json", "/application/pdf")
            assert {"/ModDate", "/CheckSum", "/Size"} <= set(stream.Params.keys())


def associated_files(data: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(data)) as doc:
        return [str(f.UF) for f in doc.Root.AF]


# --------------------------------------------------------------------------- consent render --pdf-variant


@pytest.mark.parametrize("variant", ["pdf/a-3u", "pdf/a-3b"])
def test_render_pdf_variant_makes_a_pdf_a_3_with_the_plain_pdfs_text(capsys, tmp_path, variant):
    """`consent render --pdf-variant` writes a PDF/A-3 (as batch does) whose text is the plain PDF's."""
    common = ("render", "knee-injection", "--patient", JOSE, "--clinic", CLINIC, "--screening",
              JOSE_SCREENING, "--date", DATE, "--format", "pdf")
    code, out, err = run(capsys, *common, "--pdf-variant", variant, "--out", str(tmp_path / "a"))
    assert (code, err) == (0, "")
    archival = Path(out.strip()).read_bytes()
    assert run(capsys, *common, "--out", str(tmp_path / "plain"))[0] == 0
    plain = next((tmp_path / "plain").glob("*.pdf")).read_bytes()
    assert_pdf_a_3(archival, variant[-1].upper())
    assert pdf_pages(archival) == pdf_pages(plain)
    assert consent.rerender(archival, formats=("pdf",)).data.render["pdf_variant"] == variant
    assert consent.read_signed(archival).intact  # stamped like every PDF consent makes


@pytest.mark.parametrize("option", [("--fillable",), ("--esign", "docusign")])
def test_render_refuses_a_pdf_variant_to_fill_in_or_sign(capsys, tmp_path, option):
    """--fillable or --esign with --pdf-variant is a usage error (exit 2), as for batch; nothing written."""
    code, _, err = run(capsys, "render", "hair", "--patient", JOSE, "--clinic", CLINIC, "--out",
                       str(tmp_path / "out"), *option, "--pdf-variant", "pdf/a-3b")
    assert code == 2 and "cannot be an archival PDF/A" in err and "consent archive" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- consent archive


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What a clinic has: `consent render --fillable`, the form filled in and signed by the patient and
    the provider (pypdf, pyHanko), then sealed with `consent seal`."""
    folder = tmp_path_factory.mktemp("clinic")
    pki = make_pki(folder / "pki")
    assert main(["render", "knee-injection", "--patient", JOSE, "--clinic", CLINIC, "--screening",
                 JOSE_SCREENING, "--date", DATE, "--format", "pdf", "--fillable",
                 "--out", str(folder / "made")]) == 0
    made = next((folder / "made").glob("*.pdf"))
    signed = folder / "signed.pdf"
    # An answer changed from the one the form was made with, and an optional field filled in, first.
    changed = fill(made.read_bytes(), {"screening.allergy": "/Yes", "patient.time": "10:30"})
    signed.write_bytes(complete(changed, pki))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARCHIVE_TEST_P12", P12_PASSWORD)
        assert main(["seal", str(signed), "--cert", str(pki.clinic_p12), "--password-env", "ARCHIVE_TEST_P12",
                     "--out", str(folder / "sealed.pdf")]) == 0
    return {"folder": folder, "made": made, "signed": signed, "sealed": folder / "sealed.pdf",
            "ca": pki.ca_pem, "patient_p12": pki.patient_p12}


@pytest.fixture(scope="module")
def archived(clinic: dict[str, Path]) -> dict[str, object]:
    """`consent archive signed.pdf --out DIR` (as a clinic runs it), and what it printed."""
    out = clinic["folder"] / "archive"
    import contextlib

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()) as stderr:
        code = main(["archive", str(clinic["signed"]), "--out", str(out)])
    return {"code": code, "out": stdout.getvalue(), "err": stderr.getvalue(),
            "path": out / "signed.archive.pdf"}


def test_archive_writes_the_copy_and_prints_the_verdict_and_path(archived) -> None:
    """`consent archive SIGNED.pdf --out DIR`: exit 0, prints the verdict then DIR/SIGNED.archive.pdf."""
    assert (archived["code"], archived["err"]) == (0, "")
    assert archived["out"].splitlines() == ["INTACT: not sealed", str(archived["path"])]
    assert sorted(p.name for p in archived["path"].parent.iterdir()) == ["signed.archive.pdf"]


def test_the_signed_original_is_attached_byte_for_byte(clinic, archived) -> None:
    """Taken out with pikepdf, the attachment is the signed file, byte for byte: an associated file of
    the copy (relationship Source, application/pdf, with its MD5 checksum, size and dates)."""
    original = clinic["signed"].read_bytes()
    with pikepdf.open(archived["path"]) as doc:
        spec = doc.attachments["signed.pdf"]
        assert spec.get_file().read_bytes() == original
        assert spec.obj.AFRelationship == "/Source" and spec.obj.objgen in {f.objgen for f in doc.Root.AF}
        stream = spec.obj.EF.F
        assert stream.Subtype == "/application/pdf"
        assert bytes(stream.Params.CheckSum) == hashlib.md5(original).digest()  # noqa: S324 - PDF's checksum
        assert int(stream.Params.Size) == len(original)
        assert str(stream.Params.CreationDate) == "D:20261121000000Z"
        assert str(stream.Params.ModDate) >= str(stream.Params.CreationDate)
        assert {"consent-form.json", "consent-manifest.json"} <= set(doc.attachments)


def _extract(copy: Path, name: str, to: Path) -> Path:
    with pikepdf.open(copy) as doc:
        to.write_bytes(doc.attachments[name].get_file().read_bytes())
    return to


def test_the_extracted_original_verifies_as_the_original(capsys, clinic, archived, tmp_path) -> None:
    """`consent verify` of the original taken out of the copy: INTACT (exit 0), word for word what it says
    of the signed file itself."""
    extracted = _extract(archived["path"], "signed.pdf", tmp_path / "extracted.pdf")
    code, out, _ = run(capsys, "verify", str(extracted), "--format", "json")
    assert code == 0 and json.loads(out)["verdict"] == "INTACT"
    assert out == run(capsys, "verify", str(clinic["signed"]), "--format", "json")[1]


def test_a_sealed_form_archived_with_trust_roots_keeps_its_trust(capsys, clinic, tmp_path) -> None:
    """A sealed form archived with --trust: the copy says the seal is trusted, and the original taken out
    of it verifies with the same trust (and the same report) as the sealed file."""
    ca = str(clinic["ca"])
    code, out, err = run(capsys, "archive", str(clinic["sealed"]), "--out", str(tmp_path), "--trust", ca,
                         "--pdf-variant", "pdf/a-3b")
    assert (code, err) == (0, "") and out.splitlines()[0] == "INTACT: sealed"
    copy = tmp_path / "sealed.archive.pdf"
    assert_pdf_a_3(copy.read_bytes(), "B")
    extracted = _extract(copy, "sealed.pdf", tmp_path / "extracted.pdf")
    code, report, _ = run(capsys, "verify", str(extracted), "--trust", ca)
    assert code == 0 and report == run(capsys, "verify", str(clinic["sealed"]), "--trust", ca)[1]
    assert "signer trusted" in report
    text = _text(copy)
    assert "Sealed by the clinic by Sunrise Regenerative Health" in text
    assert "signer trusted" in text and "INTACT (sealed)" in text


def _text(path: Path) -> str:
    """The copy's text, as pdftotext reads it, each run of spaces and line breaks one space."""
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, timeout=60)
    return " ".join(done.stdout.decode().split())


def _widgets(pdf: Path) -> dict[str, list[tuple[int, tuple[float, ...], str]]]:
    """Each field's widgets in the signed form, by full name: the page (1-based), the rectangle and a
    radio button's export value ("" for any other widget)."""
    out: dict[str, list[tuple[int, tuple[float, ...], str]]] = {}
    with pikepdf.open(pdf) as doc:
        for number, page in enumerate(doc.pages, 1):
            for annot in page.obj.get("/Annots", []):
                if annot.get("/Subtype") != "/Widget":
                    continue
                shows = annot.get("/AP", {}).get("/N")
                states = [str(k)[1:] for k in shows if k != "/Off"] if isinstance(shows, pikepdf.Dictionary) \
                    else []
                out.setdefault(field_name(annot), []).append(
                    (number, tuple(float(v) for v in annot.Rect), states[0] if states else ""))
    return out


def _words(pdf: Path) -> list[tuple[int, str, tuple[float, float, float, float]]]:
    """Every word pdftotext finds, with its page and box in points from the page's lower left."""
    done = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True, timeout=60)
    out, number, height = [], 0, 0.0
    for line in done.stdout.decode().splitlines():
        page = re.search(r'<page width="[\d.]+" height="([\d.]+)"', line)
        if page:
            number, height = number + 1, float(page.group(1))
        word = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if word:
            x0, y0, x1, y1 = (float(v) for v in word.groups()[:4])
            out.append((number, html.unescape(word.group(5)), (x0, height - y1, x1, height - y0)))
    return out


def test_the_copy_prints_each_value_and_signer_where_its_field_was(clinic, archived) -> None:
    """Every filled value (as read_signed reads it) is printed on the copy inside its field's rectangle in
    the signed form, and each signature's place says who signed it; the note says the original is
    attached and how to verify it."""
    signed = consent.read_signed(clinic["signed"].read_bytes())
    widgets, words = _widgets(clinic["signed"]), _words(archived["path"])

    def inside(page: int, rect: tuple[float, ...], word: str) -> bool:
        x0, y0, x1, y1 = rect
        return any(p == page and w == word and b[0] >= x0 - 1 and b[2] <= x1 + 1 and b[1] >= y0 - 1
                   and b[3] <= y1 + 1 for p, w, b in words)

    checked = 0
    for field in signed.fields:
        if not field.filled or field.kind == "radio":
            continue
        (page, rect, _), = widgets[field.name]
        shown = "Signed" if field.kind == "signature" else field.value.split()[-1]
        assert inside(page, rect, shown), (field.name, field.value)
        checked += 1
    assert checked >= 8  # the initials, the names, the dates and both signatures
    text = _text(archived["path"])
    for who in ("Ada O'Connor", "Sunrise Regenerative Health"):
        assert re.search(rf"Signed digitally by {re.escape(who)} on \d{{4}}-\d\d-\d\d \d\d:\d\d UTC "
                         r"\(valid signature; signer not checked against a trust root\)", text), who
    assert "José Núñez-Łukasiewicz" in text and "10:30" in text
    assert "The signed form is attached to this file, byte for byte, as signed.pdf" in text
    assert "consent verify signed.pdf" in text
    assert "When this copy was made, the signed form was INTACT (not sealed)" in text


def test_each_screening_answer_is_ticked_in_its_box(clinic, archived, tmp_path) -> None:
    """Each answer read back fills the box of its answer (Yes or No) where its radio button was, and the
    other box of the question stays empty (the copy's page, rendered by pdftoppm, one pixel a point)."""
    signed = consent.read_signed(clinic["signed"].read_bytes())
    answers = {f.name: f.value for f in signed.fields if f.kind == "radio"}
    assert answers and set(answers.values()) <= {"Yes", "No"} and "Yes" in answers.values()
    buttons = _widgets(clinic["signed"])
    pages = {number for name in answers for number, _, _ in buttons[name]}
    for number in pages:
        image = _gray(archived["path"], number, tmp_path)
        for name, value in answers.items():
            for page, rect, export in buttons[name]:
                if page == number:
                    dark = _mean(image, rect) < 100
                    assert dark == (export == value), (name, export, value)


def _gray(pdf: Path, page: int, folder: Path) -> tuple[int, int, bytes]:
    """Page ``page`` rendered in grey at 72 dpi: width, height and the pixels (PGM)."""
    stem = folder / f"page{page}"
    subprocess.run(["pdftoppm", "-gray", "-r", "72", "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True, timeout=60)
    data = stem.with_suffix(".pgm").read_bytes()
    magic, width, height, _, pixels = data.split(maxsplit=4)
    assert magic == b"P5"
    return int(width), int(height), pixels


def _mean(image: tuple[int, int, bytes], rect: tuple[float, ...]) -> float:
    """The mean grey inside ``rect`` (points from the lower left), 2 points in from its edges."""
    width, height, pixels = image
    x0, y0, x1, y1 = (round(v) for v in rect)
    values = [pixels[(height - y) * width + x] for y in range(y0 + 2, y1 - 2) for x in range(x0 + 2, x1 - 2)]
    return sum(values) / len(values)


def test_the_copy_is_pdf_a_3(archived) -> None:
    """By the same structural checks as a PDF/A from render and batch; no form fields, no JavaScript."""
    assert_pdf_a_3(archived["path"].read_bytes(), "U")


def test_each_associated_file_is_listed_once(archived, tmp_path, capsys) -> None:
    """The catalog's /AF names each embedded file once (WeasyPrint's PDF/A writer lists its attachments
    twice: fixed with the PDF/A stack, see issue 24)."""
    data = archived["path"].read_bytes()
    assert sorted(associated_files(data)) == ["consent-form.json", "consent-manifest.json", "signed.pdf"]


def test_library_archive_signed_gives_the_cli_bytes_and_is_deterministic(clinic, archived) -> None:
    """``consent.archive_signed`` (exported) makes the same bytes as the command, every time."""
    assert "archive_signed" in consent.__all__
    data = clinic["signed"].read_bytes()
    copy = consent.archive_signed(data, original_name="signed.pdf")
    assert copy == archived["path"].read_bytes()
    assert consent.archive_signed(data) != copy  # another name inside: signed-<form id>.pdf
    with pikepdf.open(io.BytesIO(consent.archive_signed(data))) as doc:
        assert f"signed-{consent.read_signed(data).form_id}.pdf" in doc.attachments


def test_an_altered_form_is_refused_and_nothing_is_written(capsys, clinic, tmp_path) -> None:
    """A signed form with a word changed on a page (after signing): Error, exit 1, no folder made."""
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(glyph_changed_in_update(clinic["signed"].read_bytes(), 3))
    code, out, err = run(capsys, "archive", str(altered), "--out", str(tmp_path / "out"))
    assert code == 1 and out == ""
    assert err.startswith("Error: form CF-") and "is ALTERED: page 3 content changed" in err
    assert not (tmp_path / "out").exists()
    with pytest.raises(consent.InputError, match="ALTERED"):
        consent.archive_signed(altered.read_bytes())


def test_what_is_not_a_signed_consent_form_is_refused(capsys, clinic, tmp_path) -> None:
    """Not a consent form (another PDF), or a form with nothing filled in or signed: Error, exit 1,
    nothing written."""
    other = tmp_path / "other.pdf"
    with pikepdf.new() as doc:
        doc.add_blank_page()
        doc.save(other)
    code, _, err = run(capsys, "archive", str(other), "--out", str(tmp_path / "out"))
    assert code == 1 and err.startswith("Error: it carries no consent form id")
    code, _, err = run(capsys, "archive", str(clinic["made"]), "--out", str(tmp_path / "out"))
    assert code == 1 and "has nothing filled in or signed to archive" in err
    assert not (tmp_path / "out").exists()


def test_an_incomplete_form_is_archived_and_says_so_on_its_pages(capsys, clinic, tmp_path) -> None:
    """A form the provider has not signed is INCOMPLETE: archived (what came back is kept), and the copy
    says so: "(not signed)" at the provider's signature, and the verdict in its note."""
    pki = make_pki(tmp_path / "pki")
    partial = tmp_path / "partial.pdf"
    skip = ("provider.signature", "provider.date")
    partial.write_bytes(complete(clinic["made"].read_bytes(), pki, skip=skip))
    code, out, err = run(capsys, "archive", str(partial), "--out", str(tmp_path / "out"))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "INCOMPLETE: required fields not filled: provider.signature, provider.date"
    copy = tmp_path / "out" / "partial.archive.pdf"
    text = _text(copy)
    assert "(not signed)" in text and "(not filled in)" in text
    assert ("When this copy was made, the signed form was INCOMPLETE: this is a copy of a form that was not "
            "completed (required fields not filled: provider.signature, provider.date)") in text
    words = _words(copy)
    (page, (x0, y0, x1, y1), _), = _widgets(partial)["provider.signature"]
    assert any(p == page and w == "signed)" and x0 - 1 <= b[0] and b[2] <= x1 + 1 and y0 - 1 <= b[1]
               and b[3] <= y1 + 1 for p, w, b in words)


def test_the_copy_is_written_atomically(capsys, clinic, tmp_path, monkeypatch) -> None:
    """Written with consent's atomic writes (a temporary file renamed): when the disk refuses it, Error,
    exit 1, and neither the copy nor a temporary file is left."""
    import consent._output

    real = consent._output.atomic_write
    calls: list[Path] = []

    def full_disk(path: Path, data: bytes, **kwargs: object) -> None:
        calls.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(consent._output, "atomic_write", full_disk)
    code, _, err = run(capsys, "archive", str(clinic["signed"]), "--out", str(tmp_path / "out"))
    assert code == 1 and "cannot be written (No space left on device); nothing was written" in err
    assert calls == [tmp_path / "out" / "signed.archive.pdf"]
    assert list((tmp_path / "out").iterdir()) == []
    assert real is not full_disk


def test_a_flat_form_signed_in_a_field_of_its_own_is_archived(capsys, clinic, tmp_path) -> None:
    """A flat form (no fields, its screening answers printed) signed with pyHanko in a signature field it
    adds: archived as made, its answers ticked as printed, and the signature in the note."""
    form = consent.build("hair", patient=consent.load_patient(JOSE), clinic=consent.load_clinic(CLINIC),
                         date=dt.date(2026, 11, 21))
    flat = tmp_path / "flat.pdf"
    flat.write_bytes(sign(form.to_pdf(), "Signature1", clinic["patient_p12"]))
    code, out, err = run(capsys, "archive", str(flat), "--out", str(tmp_path / "out"))
    assert (code, err) == (0, "") and out.splitlines()[0] == "INTACT: not sealed"
    copy = tmp_path / "out" / "flat.archive.pdf"
    assert_pdf_a_3(copy.read_bytes(), "U")
    text = _text(copy)
    assert "Signature Signature1: signed digitally by Ada O'Connor on " in text
    first = [sorted(page.split()) for page in pdf_pages(copy.read_bytes())[:1] + pdf_pages(form.to_pdf())[:1]]
    assert first[0] == first[1]  # the first page's words as made (the shared layout draws some apart)


def test_a_signer_name_the_fonts_cannot_draw_is_shown_with_question_marks(capsys, clinic, tmp_path) -> None:
    """A certificate's name in a script the form's fonts do not have (Yi): the copy shows "?" for those
    characters (never a missing glyph, which PDF/A forbids), says so in its note, and the command warns."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from signing import _cert, _name, sign

    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("Ada ꀀ", key, _name("Ada ꀀ"), key, ca=False)
    p12 = tmp_path / "wang.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"wang", key, cert, None, serialization.BestAvailableEncryption(P12_PASSWORD.encode())))
    signed = tmp_path / "wang.pdf"
    signed.write_bytes(sign(fill(clinic["made"].read_bytes(), {"patient.date": "2026-11-21"}),
                            "patient.signature", p12))
    code, out, err = run(capsys, "archive", str(signed), "--out", str(tmp_path / "out"))
    assert code == 0 and out.startswith("INCOMPLETE"), err
    assert err == 'Warning: shown as "?" in the copy (the fonts cannot draw some of their characters): ' \
                  "signature patient.signature\n"
    copy = tmp_path / "out" / "wang.archive.pdf"
    assert_pdf_a_3(copy.read_bytes(), "U")
    text = _text(copy)
    assert "Signed digitally by Ada ? on " in text and "ꀀ" not in text
    assert 'Characters that the fonts of this copy cannot draw are shown as "?" in: signature ' \
           "patient.signature. The signed form attached holds them" in text


@pytest.mark.skipif(shutil.which("verapdf") is None,
                    reason="veraPDF (Java) is not installable here: not on PyPI, npm or Debian")
def test_verapdf_validates_the_copy(archived) -> None:  # pragma: no cover - where veraPDF is installed
    done = subprocess.run(["verapdf", "--format", "text", str(archived["path"])], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.stdout.startswith("PASS"), done.stdout
