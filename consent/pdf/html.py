"""Render stage, PDF: the document model -> HTML (sandboxed Jinja) -> PDF (WeasyPrint).

Work shared by every form is done once per process and reused: the HTML template is compiled once,
and the stylesheet is parsed once with one font configuration (the @font-face fonts are loaded once).
WeasyPrint may only read files inside the template folders; any other URL stops the render.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import attrs
from jinja2 import BytecodeCache, FileSystemLoader, Template, TemplateError

from .._form_data import MANIFEST_ATTACHMENT, PDF_ATTACHMENT, form_data_json
from .._jinja_data import template_data
from .._scripts import script_lang, text_direction
from .._text import Sandbox, TemplateUndefined, long_date, run_template
from .._version import __version__
from ..document import Form, printed
from ..errors import RenderError
from ..library.loader import template_folders
from .finish import finish
from .places import HEADER_FIELD_PT
from .tags import install as install_tags

# WeasyPrint and fontTools are chatty at INFO/WARNING about fonts; keep their records out of the
# application's logs unless asked for (they never contain patient data, but they are noise).
logging.getLogger("fontTools").setLevel(logging.ERROR)


_IMPORTING = threading.Lock()
_LOADED: list[Any] = []

# WeasyPrint is not thread-safe: two threads laying out or writing at once share Pango, HarfBuzz and a
# font configuration, and crash (SIGABRT in Pango's line breaking, seen with a batch on a thread pool)
# or give one document the fonts of another. Every call into WeasyPrint holds this lock; a batch on a
# thread pool still makes its DOCX files, stamps and checks in parallel. Process pools (the default)
# are not affected: each worker has its own lock.
WEASYPRINT = threading.RLock()


def weasyprint_module() -> Any:
    """WeasyPrint, imported at first use: it is slow to import and only the PDF path needs it.

    One thread imports it while the others wait: "weasyprint" is in sys.modules from the moment its import
    starts, and a second thread that took that half-imported module went on to import its submodules
    itself, which Python stops as a deadlock (the threads of a batch on a ThreadPoolExecutor)."""
    if _LOADED:
        return _LOADED[0]
    with _IMPORTING:
        if not _LOADED:
            wp = _import_weasyprint()
            install_tags(wp)
            _LOADED.append(wp)
    return _LOADED[0]


def _import_weasyprint() -> Any:
    if "weasyprint" in sys.modules:
        return sys.modules["weasyprint"]
    if sys.platform != "linux":
        import weasyprint

        return weasyprint
    # WeasyPrint finds Pango and HarfBuzz by trying names one after another (libpango-1.0-0, pango-1.0-0,
    # ..., libpango-1.0.so.0); the Linux soname near the end loads directly, but every name before it
    # makes cffi call ctypes.util.find_library, which runs ldconfig, gcc and ld: about fifty processes,
    # a quarter of a second. On Linux the dynamic loader finds the sonames itself, so skip the search
    # (and import again with it if that ever fails).
    import ctypes.util

    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        import weasyprint
    except OSError:
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
        ctypes.util.find_library = search
        import weasyprint
    finally:
        ctypes.util.find_library = search
    return weasyprint


class _Fetcher:
    """Lets WeasyPrint read files inside the template folders and nothing else."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        wp = weasyprint_module()
        self._response = wp.urls.URLFetcherResponse
        self._fatal = wp.urls.FatalURLFetchingError

    def fetch(self, url: str, headers: Any = None) -> Any:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        if parts.scheme != "file":
            raise self._fatal(f"refusing to fetch {url!r}: only files in the template folder may be used")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise self._fatal(f"refusing to read {path}: it is outside the template folders")
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise self._fatal(f"template resource {path.name!r} cannot be read: {exc}") from None
        return self._response(url=url, body=body)

    __call__ = fetch


@attrs.frozen
class _Resources:
    """Everything shared by all PDFs of one set of packs: parsed once per process."""

    form: Template
    overlay: Template
    css: Any
    font_config: Any
    fetcher: _Fetcher


class _Compiled(BytecodeCache):
    """The templates' compiled code, kept in memory. ``consent render`` compiles them in its own process
    (:func:`compiled_templates`) while its PDF process imports WeasyPrint, and hands the code over
    (:func:`use_compiled_templates`). Jinja checks each against its template's source: a template that
    differs is compiled again."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Any) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Any) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _Compiled()


def _template_env(packs: tuple[str, ...]) -> Sandbox:
    env = Sandbox(
        loader=FileSystemLoader([str(root) for root in template_folders(packs).template_roots]),
        undefined=TemplateUndefined,
        autoescape=True,
        bytecode_cache=_COMPILED,
    )
    env.filters["script_lang"] = script_lang
    env.filters["text_direction"] = text_direction
    return env


def compiled_templates(packs: tuple[str, ...]) -> dict[str, bytes]:
    """Every HTML template of these packs compiled (one that does not compile is left to the render,
    which reports it), as code for :func:`use_compiled_templates` in another process."""
    env = _template_env(packs)
    for name in env.list_templates(extensions=["html"]):
        try:
            env.get_template(name)
        except TemplateError:
            pass
    return dict(_COMPILED.code)


def use_compiled_templates(code: dict[str, bytes]) -> None:
    _COMPILED.code.update(code)


def resources(packs: tuple[str, ...]) -> _Resources:
    """Compiled HTML templates, parsed CSS, font configuration and fetcher for one set of packs."""
    with WEASYPRINT:
        return _resources(packs)


@functools.lru_cache(maxsize=8)
def _resources(packs: tuple[str, ...]) -> _Resources:
    library = template_folders(packs)
    wp = weasyprint_module()
    from weasyprint.text.fonts import FontConfiguration

    css_path = library.template("form.css")
    env = _template_env(packs)
    try:
        form_template = env.get_template("form.html")
        overlay_template = env.get_template("overlay.html")
    except TemplateError as exc:
        raise RenderError(f"broken PDF template: {exc}") from None
    fetcher = _Fetcher(library.template_roots)
    font_config = FontConfiguration()
    try:
        css = wp.CSS(
            string=css_path.read_text(encoding="utf-8"),
            base_url=css_path.parent.as_uri() + "/",
            url_fetcher=fetcher,
            font_config=font_config,
        )
    except wp.urls.FatalURLFetchingError as exc:
        raise RenderError(f"{css_path}: {exc}") from None
    return _Resources(form_template, overlay_template, css, font_config, fetcher)


def manifest_json(form: Form) -> str:
    """The manifest as the PDF's document information holds it (``/consentmanifest``)."""
    return json.dumps(form.manifest_dict(), ensure_ascii=False, sort_keys=True)


def html_context(form: Form, *, manifest: bool = True) -> dict[str, Any]:
    """What the HTML templates get: data only, never the Form (whose methods write files; see
    consent/_jinja_data.py). ``manifest`` False: no manifest ``<meta>`` (a shared layout's layer, whose
    manifest consent/speedups/stack.py writes)."""
    return {
        "form": template_data(form),
        "L": template_data(form.labels),
        "form_date": long_date(form.date, form.locale),
        "manifest_json": manifest_json(form) if manifest else "",
        "generator_version": __version__,
    }


def form_html(form: Form, *, skeleton: bool = False, text_slots: dict[str, int] | None = None,
              slot_lines: dict[str, int] | None = None, template: bool = False) -> str:
    """The HTML the PDF is made from (useful for debugging a clinic's template). ``skeleton`` leaves the
    slots empty (``slot_lines``: the named slots made higher than form.html has them), and the paragraphs
    named in ``text_slots`` ("<section>.<block>") as many empty lines high as given (see
    consent/speedups/layers.py). ``template``: a template export's (``part`` "template"), whose form date is
    a form field: the date is not printed under it, and the page header prints the birth-date label
    between the places of the patient's fields (see :func:`consent.pdf.places.header_places`)."""
    form_template = resources(form.packs).form
    form = printed(form)  # in large print, the notices' type sizes
    context = {**html_context(form), "skeleton": skeleton,
               "part": "template" if template else "body" if skeleton else "whole",
               "text_slots": template_data(text_slots or {}), "slot_lines": template_data(slot_lines or {})}
    if template:
        context["form_date"] = ""
    return run_template(lambda: form_template.render(context), "form.html")


@functools.lru_cache(maxsize=8)
def large_print_css(packs: tuple[str, ...]) -> Any:
    """templates/large-print.css (a pack's own first), laid over form.css for a large-print form."""
    wp = weasyprint_module()
    res = resources(packs)
    path = template_folders(packs).template("large-print.css")
    try:
        return wp.CSS(string=path.read_text(encoding="utf-8"), base_url=path.parent.as_uri() + "/",
                      url_fetcher=res.fetcher, font_config=res.font_config)
    except wp.urls.FatalURLFetchingError as exc:
        raise RenderError(f"{path}: {exc}") from None


@functools.lru_cache(maxsize=32)
def _hide(packs: tuple[str, ...], boxes: tuple[str, ...]) -> Any:
    """A stylesheet that empties these page margin boxes, and "page" the page's own border and
    background (used by consent/speedups/layers.py: the shared body draws the page, the clinic and the
    page numbers; each form's layer only the patient and the form id)."""
    rules = " ".join(f"@{box} {{ content: none !important; }}" for box in boxes if box != "page")
    if "page" in boxes:
        # Transparent, not none: the page area must keep its geometry, or the layer's slots would
        # land a border's width away from the body's.
        rules += " border-color: transparent !important; background: none !important;"
    return weasyprint_module().CSS(string=f"@page {{ {rules} }}", font_config=resources(packs).font_config)


@functools.lru_cache(maxsize=8)
def _template_header(packs: tuple[str, ...]) -> Any:
    """A template export's page header: the patient's box (@top-right) keeps room at its right for the
    birth-date field, within its width (the clinic's box does not move); the label is printed right-
    aligned before it, and the name field takes the rest of the box."""
    rule = f"@top-right {{ box-sizing: border-box; padding-right: {HEADER_FIELD_PT}pt; }}"
    return weasyprint_module().CSS(string=f"@page {{ {rule} }}", font_config=resources(packs).font_config)


def layout(html: str, packs: tuple[str, ...], *, hide: tuple[str, ...] = (), template: bool = False,
           large_print: bool = False) -> Any:
    """Lay out HTML with the shared stylesheet and fonts; a refused resource stops with a RenderError.
    ``template``: with a template export's page header (see :func:`form_html`); ``large_print``: with
    templates/large-print.css after form.css (a large-print form, :attr:`Form.large_print`)."""
    wp = weasyprint_module()
    with WEASYPRINT:
        res = resources(packs)
        sheets = [res.css, large_print_css(packs)] if large_print else [res.css]
        if hide:
            sheets.append(_hide(packs, hide))
        if template:
            sheets.append(_template_header(packs))
        try:
            return wp.HTML(string=html, base_url=res.css.base_url, url_fetcher=res.fetcher).render(
                stylesheets=sheets, font_config=res.font_config
            )
        except wp.urls.FatalURLFetchingError as exc:
            raise RenderError(f"PDF rendering stopped: {exc}") from None


UA = "pdf/ua-1"  # every PDF's variant when no archival PDF/A is asked for


def tagged(variant: str | None) -> dict[str, Any]:
    """WeasyPrint's options for a tagged PDF (see consent/pdf/tags.py): PDF/UA-1 (its identification in
    the XMP metadata, the title shown by the viewer, the structure tree), or an archival PDF/A with its
    structure tree."""
    return {"pdf_variant": UA} if variant is None else {"pdf_variant": variant, "pdf_tags": True}


def write_document(document: Any, form: Form, variant: str | None, *, fillable: bool = False,
                   esign: str | None = None, claim_ua: bool = True) -> bytes:
    """Write a laid-out document with the form's identifier, attachments and metadata. ``fillable`` and
    ``esign`` are the options the finished PDF is made with (consent/pdf/fields.py adds the form
    fields and e-signature tags afterwards); they are passed here so that the form's data records them.

    Every PDF carries ``consent-manifest.json`` (the manifest) and ``consent-form.json`` (the form's whole
    data, with ``variant`` and the other render options, for ``consent rerender``: see
    :mod:`consent._form_data`); in a PDF/A-3 both are associated files (relationship Data). A tagged
    PDF/A says it is PDF/UA-1 too unless ``claim_ua`` is false (see consent/pdf/finish.py)."""
    wp = weasyprint_module()
    res = resources(form.packs)
    stamp = dt.datetime.combine(form.date, dt.time(0, 0), tzinfo=dt.UTC)
    render = {"pdf_variant": variant, "fillable": fillable, "esign": esign}
    files = (
        (MANIFEST_ATTACHMENT, "Clauses, versions and checks behind this consent form",
         json.dumps(form.manifest_dict(), ensure_ascii=False, sort_keys=True, indent=2)),
        (PDF_ATTACHMENT, "The data and manifest of this consent form (consent rerender makes it again from them)",
         form_data_json(form, __version__, render)),
    )
    attachments = [
        wp.Attachment(string=text, name=name, description=description, created=stamp, modified=stamp,
                      relationship="Data" if variant else "Unspecified", url_fetcher=res.fetcher)
        for name, description, text in files
    ]
    try:
        with WEASYPRINT:
            return bytes(
                document.write_pdf(
                    finisher=finish if claim_ua else functools.partial(finish, claim_ua=False),
                    pdf_identifier=hashlib.sha256(form.form_id.encode()).digest()[:16],
                    **tagged(variant),
                    attachments=attachments,
                    custom_metadata=True,
                )
            )
    except wp.urls.FatalURLFetchingError as exc:
        raise RenderError(f"PDF rendering stopped: {exc}") from None
