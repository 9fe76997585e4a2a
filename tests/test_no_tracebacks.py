"""No traceback reaches the user (the security issue, point 12).

Every case the issue lists (crafted form data, a deep PDF object chain, a pack clause `{{ 1/0 }}`,
`{% include "/abs/path" %}`, `{% extends %}`, `{% import 'os' %}`, a form.html that recurses into
to_pdf) is an `Error: ...` naming what is wrong, exit 1, with nothing written; and anything consent did
not expect is caught at one boundary (consent.cli.main) as `Error: internal error: <type>: <message>` with
a hint to report it. Each attack file is made here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from helpers import DATE, EXAMPLES, build_tree, clause_pack, make_clinic, paragraph_docx_pack
from helpers import run_cli as run

import consent
from consent.library.loader import builtin_root

BUILTIN_TEMPLATES = builtin_root() / "templates"
PATIENT = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1), mrn="MRN-1")
REPORT = "Hint: this is a bug in consent, not in your files: please report it"


# --------------------------------------------------------------------------- the boundary


@pytest.mark.parametrize("error", [KeyError("boom"), RecursionError("maximum recursion depth exceeded"),
                                   ZeroDivisionError()])
def test_an_unexpected_error_is_an_internal_error_not_a_traceback(monkeypatch, capsys, error):
    """An exception consent did not expect, anywhere under a command, is printed as `Error: internal error:
    <type>: <message>` and a hint to report it (not as a ConsentError's plain Error), exit 1."""
    def broken(packs):
        raise error

    monkeypatch.setattr("consent.cli.commands._library_for", broken)
    code, out, err = run(capsys, "treatments")
    message = str(error) or "(no message)"
    assert (code, out) == (1, "")
    hint = f"{REPORT}, with the command and this message (leave out any patient data)"
    assert err == f"Error: internal error: {type(error).__name__}: {message}\n{hint}\n"


def test_a_consent_error_is_still_a_plain_error(capsys):
    """A ConsentError keeps its own message, without the internal-error hint."""
    code, out, err = run(capsys, "show", "no-such-treatment")
    assert (code, out) == (1, "")
    assert err.startswith("Error: unknown treatment 'no-such-treatment'") and "internal error" not in err


# --------------------------------------------------------------------------- pack clauses

CLAUSE_CASES = {
    "divide-by-zero": ("{{ 1/0 }}", "ZeroDivisionError: division by zero"),
    "include-absolute": ("{% include '/etc/passwd' %}", "'/etc/passwd': clause text cannot include"),
    "extends": ("{% extends 'form.html' %}", "'form.html': clause text cannot include, import or extend"),
    "import-os": ("{% import 'os' as os %}{{ os.system('id') }}", "'os': clause text cannot include"),
    "macro-recursion": ("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", "goes round without end"),
    "type-error": ("{{ 'a' + 1 }}", "TypeError:"),
}


def render_args(pack: Path, out: Path, fmt: str = "pdf,docx") -> list[str]:
    return ["render", "hair", "--patient", str(EXAMPLES / "patient-jose.yaml"), "--clinic",
            str(EXAMPLES / "clinic.yaml"), "--date", "2026-11-21", "--format", fmt, "--out", str(out),
            "--pack", str(pack)]


@pytest.mark.parametrize("case", sorted(CLAUSE_CASES))
def test_a_pack_clause_that_fails_is_a_content_error(tmp_path, capsys, case):
    """A pack clause whose Jinja raises a Python error, includes, extends or imports a file, or recurses:
    a ContentError naming the file and line (library), `Error:` with the same (command), exit 1, no
    traceback, nothing written."""
    text, expected = CLAUSE_CASES[case]
    pack = clause_pack(tmp_path / "pack", text)
    with pytest.raises(consent.ContentError) as info:
        consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
    assert f"{pack}/clauses/benefits.yaml:6: body[0]: " in str(info.value) and expected in str(info.value)
    code, out, err = run(capsys, *render_args(pack, tmp_path / "out"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: ") and expected in err
    assert f"{pack}/clauses/benefits.yaml:6: body[0]: " in err
    assert "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "out").exists()


def test_a_state_notice_that_fails_is_reported_by_check(tmp_path, capsys):
    """`consent check` renders each state notice on its own too: a pack notice with `{{ 1/0 }}` is an error
    finding naming the file and line (exit 1), not a traceback."""
    pack = build_tree(tmp_path / "pack", {"clauses/state-notice-id.yaml": """
        id: state-notice-id
        version: "1"
        kind: state-notice
        title: Idaho notice
        elements: []
        states: [ID]
        citation: "Idaho Code 1-1"
        wording: paraphrase
        body:
          - notice: "Notice {{ 1/0 }}"
    """})
    code, out, err = run(capsys, "check", "hair", "--language", "en", "--pack", str(pack))
    assert code == 1 and "Traceback" not in out + err and err == ""
    where = f"({pack}/clauses/state-notice-id.yaml:10)"
    finding = "error structure.invalid clause state-notice-id: body[0]: ZeroDivisionError: division by zero"
    assert f"{finding} {where}" in out


# --------------------------------------------------------------------------- pack templates


def html_pack(root: Path, body: str, name: str = "form.html", head: str = "") -> Path:
    html = (BUILTIN_TEMPLATES / name).read_text()
    for tag in ("<body>", '<body class="overlay">'):
        html = html.replace(tag, tag + body, 1)
    return build_tree(root, {f"templates/{name}": head + html})


def include_cycle(root: Path) -> Path:
    """form.html includes a.html, which includes form.html."""
    pack = html_pack(root, "{% include 'a.html' %}")
    (pack / "templates" / "a.html").write_text("{% include 'form.html' %}")
    return pack


RECURSIVE_MACRO = "{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}"
TEMPLATE_CASES: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "form-html-to-pdf": (lambda root: html_pack(root, "{{ form.to_pdf() }}"), "pdf",
                         "Error: form.html: 'Form object' has no attribute 'to_pdf'"),
    "form-html-macro-recursion": (lambda root: html_pack(root, RECURSIVE_MACRO), "pdf",
                                  "Error: form.html: the template goes round without end"),
    "form-html-extends-itself": (lambda root: html_pack(root, "", head="{% extends 'form.html' %}"), "pdf",
                                 "Error: form.html: form.html includes, imports or extends itself"),
    "form-html-include-cycle": (include_cycle, "pdf",
                                "Error: form.html: the template goes round without end"),
    "form-html-import-os": (lambda root: html_pack(root, "{% import 'os' as os %}{{ os.system('id') }}"),
                            "pdf", "Error: form.html: 'os' not found in search paths"),
    "form-html-divide-by-zero": (lambda root: html_pack(root, "{{ 1/0 }}"), "pdf",
                                 "Error: form.html: ZeroDivisionError: division by zero"),
    "overlay-divide-by-zero": (lambda root: html_pack(root, "{{ 1/0 }}", "overlay.html"), "pdf",
                               "Error: overlay.html: ZeroDivisionError: division by zero"),
    "form-docx-divide-by-zero": (lambda root: paragraph_docx_pack(root, "{{ 1/0 }}"), "docx",
                                 "Error: form.docx: ZeroDivisionError: division by zero"),
    "form-docx-include": (lambda root: paragraph_docx_pack(root, "{% include '/etc/passwd' %}"), "docx",
                          "Error: form.docx: '/etc/passwd': a Word template cannot include, import or"),
    "form-docx-recursion": (lambda root: paragraph_docx_pack(root, RECURSIVE_MACRO), "docx",
                            "Error: form.docx: the template goes round without end"),
}


@pytest.mark.parametrize("case", sorted(TEMPLATE_CASES))
def test_a_pack_template_that_fails_is_an_error_naming_it(tmp_path, capsys, case):
    """A pack's form.html, overlay.html or form.docx that recurses (into to_pdf, a macro calling itself,
    extending itself), imports or includes a file, or raises a Python error: `consent render` exits 1
    with `Error: <template>: ...`, no traceback, and writes nothing."""
    make, fmt, expected = TEMPLATE_CASES[case]
    pack = make(tmp_path / "pack")
    code, out, err = run(capsys, *render_args(pack, tmp_path / "out", fmt))
    assert (code, out) == (1, "")
    assert err.startswith(expected), err
    assert "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_command_itself_prints_no_traceback(tmp_path):
    """The real `consent` command (its early PDF process included): a pack's form.html with `{{ 1/0 }}`
    prints exactly one Error line and exits 1."""
    pack = html_pack(tmp_path / "pack", "{{ 1/0 }}")
    launch = "import sys; from consent.__main__ import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", launch, *render_args(pack, tmp_path / "out")],  # noqa: S603
                            capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, "CONSENT_CACHE_DIR": "off"})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "Error: form.html: ZeroDivisionError: division by zero\n"
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- files from outside


def _consent_pdf() -> bytes:
    return consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE).to_pdf(fillable=True)


def deep_name_tree(depth: int) -> bytes:
    """A consent PDF whose embedded files sit at the end of a chain of /Kids ``depth`` long."""
    with pikepdf.open(io.BytesIO(_consent_pdf())) as doc:
        node = doc.Root.Names.EmbeddedFiles
        for _ in range(depth):
            node = doc.make_indirect(pikepdf.Dictionary(Kids=pikepdf.Array([node])))
        doc.Root.Names.EmbeddedFiles = node
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def deep_arrays(depth: int) -> bytes:
    """A PDF with a value nested ``depth`` arrays deep where its embedded files should be."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
               b"<< /Names [(consent-form.json) " + b"[" * depth + b"]" * depth + b"] >>"]
    out, offsets = b"%PDF-1.7\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def deep_fields(depth: int) -> bytes:
    """A fillable consent PDF with one more form field, at the end of a chain of /Kids ``depth`` long."""
    with pikepdf.open(io.BytesIO(_consent_pdf())) as doc:
        node = doc.make_indirect(pikepdf.Dictionary(T=pikepdf.String("x"), FT=pikepdf.Name.Tx))
        for n in range(depth):
            kid = pikepdf.Dictionary(T=pikepdf.String(f"k{n}"), Kids=pikepdf.Array([node]))
            node = doc.make_indirect(kid)
        doc.Root.AcroForm.Fields.append(node)
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def _locale(pdf: bytes) -> bytes:
    """Crafted form data: a locale Babel does not know (it stopped the DOCX with a traceback)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        data = json.loads(doc.attachments["consent-form.json"].get_file().read_bytes())
        data["document"]["locale"] = "zz_ZZ"
        doc.attachments["consent-form.json"] = pikepdf.AttachedFileSpec(doc, json.dumps(data).encode(),
                                                                        filename="consent-form.json")
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("case", "make", "expected"), [
    ("crafted-locale", lambda: _locale(_consent_pdf()), "locale must be a locale dates and amounts"),
    ("deep-arrays", lambda: deep_arrays(100_000), "Error: this PDF has no consent form data"),
    ("deep-name-tree", lambda: deep_name_tree(5_000), None),
    ("deep-field-tree", lambda: deep_fields(3_000), None),
])
def test_a_crafted_pdf_given_to_rerender_is_an_error(tmp_path, capsys, case, make, expected):
    """Crafted form data and deep object chains (nested arrays where the attachments should be; a name
    tree or a field tree thousands of levels deep): `consent rerender` exits 1 with an Error and no
    traceback, writing nothing, or (a deep name tree, which qpdf reads; a field tree, which rerender does
    not read) makes the form again."""
    path = tmp_path / "in.pdf"
    path.write_bytes(make())
    code, out, err = run(capsys, "rerender", str(path), "--out", str(tmp_path / "out"))
    assert "Traceback" not in out + err and "internal error" not in err
    if expected is None:
        assert code == 0, err
        return
    assert (code, out) == (1, "")
    assert expected in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["verify", "record"])
def test_a_deep_field_tree_given_to_verify_or_record_is_no_traceback(tmp_path, capsys, command):
    """A consent PDF with a form field 3,000 levels down a /Kids chain: `consent verify` and `consent
    record` exit 1 with their own verdict or error (the field reader walks the tree without recursion: not
    the boundary's internal error, no traceback) and write nothing."""
    path = tmp_path / "in.pdf"
    path.write_bytes(deep_fields(3_000))
    argv = [command, str(path)] + (["--out", str(tmp_path / "out")] if command == "record" else [])
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert "Traceback" not in out + err and "internal error" not in err
    assert err.startswith("Error: ") or out.startswith("NOT A CONSENT FORM") or out.startswith("ALTERED")
    assert not (tmp_path / "out").exists()
