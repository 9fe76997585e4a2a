"""Templates are given data, never live objects (the security issue, point 1).

A clinic pack's form.html, overlay.html, form.docx and clause text run in Jinja's sandbox, which lets a
template call any public method of what it is given: given the Form, `{{ form.write("/dir", ["docx"]) }}`
wrote a form outside --out; given docxtpl's Subdoc, `{{ body.subdocx.save("/file") }}` overwrote any file.
These tests capture the context of every template a form is made with and walk every object reachable from
it; they make the attacks as a pack would, and check that the sandbox itself refuses a call to anything
but a pure formatter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
import pytest
from helpers import DATE, EXAMPLES, build_tree, docx_body_lines, make_clinic, make_study, paragraph_docx_pack
from helpers import run_cli as run

import consent
from consent._jinja_data import View, template_data, view_fields
from consent._text import Sandbox
from consent.library.loader import builtin_root

BUILTIN_TEMPLATES = builtin_root() / "templates"
PATIENT = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1), mrn="MRN-1")

# Values a template may hold: each of their methods returns a new value and changes nothing.
LEAVES = (str, int, float, bool, type(None), Decimal, dt.date)
CONTAINERS = (tuple, frozenset, MappingProxyType)
# Callables a template may be given, each a pure formatter (text in, text out). None today: the renderers
# format dates and amounts before the template runs.
ALLOWED_FORMATTERS: frozenset[Any] = frozenset()


def reachable_problems(context: dict[str, Any]) -> Iterator[str]:
    """Every object reachable from a template's context (attributes, mapping keys and values, sequence
    items) that is a callable other than an allowed formatter, or of a type that is not plain data."""
    stack: list[tuple[str, Any]] = [(f"context[{name!r}]", value) for name, value in context.items()]
    seen: set[int] = set()
    while stack:
        path, value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if callable(value) and not any(value is allowed for allowed in ALLOWED_FORMATTERS):
            yield f"{path} is callable ({type(value).__name__} {getattr(value, '__qualname__', '')})"
            continue
        if isinstance(value, LEAVES):
            continue
        if isinstance(value, View):
            stack += [(f"{path}.{name}", item) for name, item in view_fields(value).items()]
        elif isinstance(value, MappingProxyType):
            stack += [(f"{path} key", key) for key in value]
            stack += [(f"{path}[{key!r}]", item) for key, item in value.items()]
        elif isinstance(value, tuple | frozenset):
            stack += [(f"{path}[{i}]", item) for i, item in enumerate(value)]
        else:
            yield f"{path} is a {type(value).__module__}.{type(value).__qualname__}, not data"
            # ... and what a template could reach through it
            for name in dir(value):
                if not name.startswith("_"):
                    try:
                        stack.append((f"{path}.{name}", getattr(value, name)))
                    except Exception:  # noqa: S112 - a property that fails is nothing a template gets
                        continue


@pytest.fixture
def contexts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any], jinja2.Environment]]:
    """The context of every template rendered while in use: (template name, context, environment)."""
    seen: list[tuple[str, dict[str, Any], jinja2.Environment]] = []
    new_context = jinja2.environment.Template.new_context

    def record(self: jinja2.Template, vars: Any = None, shared: bool = False, locals: Any = None) -> Any:
        if vars is not None and not shared:
            seen.append((self.name or "<string>", dict(vars), self.environment))
        return new_context(self, vars, shared, locals)

    monkeypatch.setattr(jinja2.environment.Template, "new_context", record)
    return seen


def test_every_template_context_is_data_only(contexts):
    """The forms of every path (clause text; the PDF laid out on its own (a template export), as a shared
    body and as one form's layer, fillable and with e-signature tags; the DOCX, of a form with a study
    and a state notice) give their templates text, numbers, dates, tuples, read-only mappings and
    read-only records only: no object reachable from any context is callable or anything but data, and
    every template ran in consent's sandbox."""
    clinic = make_clinic(name="Context Walk Clinic", state="CA", study=make_study())  # no body made before
    form = consent.build("knee-injection", patient=PATIENT, clinic=clinic, date=DATE,
                         screening={"pregnant": False}, allow_check_errors=True)
    assert form.to_pdf()[:5] == b"%PDF-"
    assert form.to_pdf(fillable=True, esign="docusign")[:5] == b"%PDF-"
    assert form.to_docx(esign="adobe")[:2] == b"PK"
    assert consent.export_template("hair", clinic=clinic, format="pdf-form")[:5] == b"%PDF-"
    names = {name for name, _, _ in contexts}
    assert {"form.html", "overlay.html", "<string>"} <= names  # clause text and the DOCX parts: strings
    assert any("body" in context for _, context, _ in contexts)  # the DOCX's document.xml
    assert any("patient" in context for _, context, _ in contexts)  # clause text
    problems = sorted({f"{name}: {p}" for name, context, _ in contexts for p in reachable_problems(context)})
    assert problems == []
    assert all(isinstance(env, Sandbox) for _, _, env in contexts)


def test_the_walk_finds_live_objects():
    """The walk above fails on what main used to give templates: the Form (whose write and to_pdf are
    methods), a dict, and an object reached through an attribute."""
    form = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE)
    found = list(reachable_problems({"form": form}))
    assert any(p.startswith("context['form'].write is callable") for p in found), found
    assert any(p.startswith("context['form'].to_pdf is callable") for p in found)
    assert list(reachable_problems({"L": {"a": "b"}})) != []
    assert list(reachable_problems({"form": template_data(form), "L": template_data(form.labels)})) == []


def html_pack(root: Path, body: str, name: str = "form.html") -> Path:
    """A pack whose ``name`` (form.html or overlay.html) has ``body`` inserted after <body ...>."""
    html = (BUILTIN_TEMPLATES / name).read_text()
    for tag in ("<body>", '<body class="overlay">'):
        html = html.replace(tag, tag + body, 1)
    return build_tree(root, {f"templates/{name}": html})


def render_args(pack: Path, out: Path, fmt: str) -> list[str]:
    return ["render", "hair", "--patient", str(EXAMPLES / "patient-jose.yaml"), "--clinic",
            str(EXAMPLES / "clinic.yaml"), "--date", "2026-11-21", "--format", fmt, "--out", str(out),
            "--pack", str(pack)]


@pytest.mark.parametrize("name", ["form.html", "overlay.html"])
def test_a_pack_html_template_cannot_write_a_form(tmp_path, capsys, name):
    """A pack's form.html (or overlay.html) calling `form.write(DIR, ["docx"])`: `consent render` exits 1
    with an Error naming the template, writes nothing into --out, and nothing appears in DIR."""
    target = tmp_path / "elsewhere"
    pack = html_pack(tmp_path / "pack", "{{ form.write(" + repr(str(target)) + ", ['docx']) }}", name)
    code, out, err = run(capsys, *render_args(pack, tmp_path / "out", "pdf"))
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: {name}: ") and "has no attribute 'write'" in err and "Traceback" not in err
    assert not target.exists()
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("call", ["body.subdocx.save(PATH)", "body.save(PATH)", "body.tpl.save(PATH)"])
def test_a_pack_word_template_cannot_save_a_file(tmp_path, capsys, call):
    """A pack's form.docx calling save() on the body (`body.subdocx.save('/path')` overwrote any file the
    user could write): `consent render` exits 1 with an Error naming form.docx, the file is untouched and
    --out stays empty."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    pack = paragraph_docx_pack(tmp_path / "pack", "{{ " + call.replace("PATH", repr(str(victim))) + " }}")
    code, out, err = run(capsys, *render_args(pack, tmp_path / "out", "docx"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: form.docx: ") and "Traceback" not in err
    assert victim.read_text() == "precious"
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_pack_word_template_still_prints_the_body(tmp_path, capsys):
    """The body, given to form.docx as its finished XML, prints every clause as before: a pack's form.docx
    with one more paragraph gives that paragraph, then exactly the stock DOCX's text."""
    pack = paragraph_docx_pack(tmp_path / "pack", "Clinic letterhead")
    code, out, err = run(capsys, *render_args(pack, tmp_path / "pack-out", "docx"))
    assert code == 0, err
    with_pack = docx_body_lines(Path(out.strip()).read_bytes())
    args = render_args(pack, tmp_path / "stock-out", "docx")[:-2]  # no --pack
    code, out, err = run(capsys, *args)
    assert code == 0, err
    stock = docx_body_lines(Path(out.strip()).read_bytes())
    assert with_pack == ["Clinic letterhead", *stock]
    assert any("Núñez" in line for line in stock)


class Live:
    """An object with a method that writes: what a template must never be able to call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, text: str) -> str:
        self.path.write_text(text)
        return "written"


def test_the_sandbox_calls_only_pure_formatters(tmp_path):
    """Defence in depth: if a live object ever reached a template, the sandbox still refuses to call its
    methods (a SecurityError naming the method, not the object's contents), while the methods of text,
    numbers, dates and mappings, macros, loops, range, cycler and str.format work."""
    env = Sandbox(undefined=jinja2.StrictUndefined)
    target = tmp_path / "x"
    with pytest.raises(jinja2.exceptions.SecurityError, match=r"a template may not call Live\.write"):
        env.from_string("{{ obj.write('x') }}").render(obj=Live(target))
    assert not target.exists()
    with pytest.raises(jinja2.exceptions.SecurityError, match="a template may not call"):
        env.from_string("{{ f() }}").render(f=lambda: "x")
    ok = ("{% macro m(x) %}[{{ x|upper }}]{% endmacro %}{{ m('a') }} {{ 'b'.upper() }} {{ d.get('k') }} "
          "{{ day.isoformat() }} {{ '{}-{}'.format(1, 2) }} {% for i in range(2) %}{{ loop.cycle('x', 'y') }}"
          "{% endfor %} {% set c = cycler('p', 'q') %}{{ c.next() }} {{ (2).bit_length() }}")
    out = env.from_string(ok).render(d=MappingProxyType({"k": "v"}), day=dt.date(2026, 1, 2))
    assert out == "[A] B v 2026-01-02 1-2 xy p 2"
