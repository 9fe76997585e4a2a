"""Template and pack attacks: sandbox escapes, size bombs, URLs, paths out of the pack, hostile Word templates.

Each is refused with a clear ConsentError or printed literally. A subprocess with an audit hook proves
that no file outside the pack, the template folders and Python's own installation is opened, and a
listener on 127.0.0.1 proves that nothing tries to connect.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import DATE, build_tree, clause_pack, make_clinic

import consent

BUILTIN_TEMPLATES = Path(consent.__file__).parent / "templates"
PATIENT = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1), mrn="MRN-1")


@contextlib.contextmanager
def listener() -> Iterator[tuple[int, list[int]]]:
    """A TCP listener on 127.0.0.1 that counts connection attempts; it stops with the block."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    hits: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            hits.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], hits
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ '{0.__class__.__base__}'.format(patient) }}",
    "{{ '{0[full_name].__class__}'.format(patient) }}",
    "{{ patient|attr('__class__') }}",
    "{{ patient|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ '%s'|format(patient.__class__) }}",
    "{{ patient.update({'full_name': 'x'}) }}",
    "{{ config.items() }}",
    "{{ self._TemplateReference__context }}",
]
BOMBS = [
    "{{ 'a' * 1000000000 }}",
    "{{ [0] * 1000000000 }}",
    "{{ 2 ** 100000000 }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'x'|center(999999999) }}",
    "{{ range(1000000000)|list }}",
]


@pytest.mark.parametrize("text", ESCAPES + BOMBS)
def test_clause_text_escapes_and_bombs_are_content_errors(tmp_path, text):
    """Known Jinja sandbox escapes (attribute walks, cycler/joiner/namespace/lipsum globals, str.format and
    |attr tricks, mutation) and size bombs in a pack's clause: a ContentError naming the file and line."""
    pack = clause_pack(tmp_path / "pack", text)
    with pytest.raises(consent.ContentError) as info:
        consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
    assert f"{pack}/clauses/benefits.yaml:6: body[0]:" in str(info.value)


@pytest.mark.parametrize("text", ["{% raw %}{{ patient.__class__ }}{% endraw %}", "{{ '{{ 7*7 }}' }}"])
def test_template_syntax_that_only_prints_is_printed(tmp_path, text):
    pack = clause_pack(tmp_path / "pack", "You may get no benefit. " + text)
    form = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
    benefits = next(s for s in form.sections if s.clause_id == "benefits")
    assert benefits.blocks[0].text.startswith("You may get no benefit. {{")


def html_pack(root: Path, head: str = "", body: str = "", css: str | None = None) -> Path:
    """A pack whose form.html adds ``head``/``body`` markup (and whose form.css adds ``css``)."""
    html = (BUILTIN_TEMPLATES / "form.html").read_text()
    html = html.replace("<body>", "<body>" + body, 1).replace("</head>", head + "</head>", 1)
    files = {"templates/form.html": html}
    if css is not None:
        stock = (BUILTIN_TEMPLATES / "form.css").read_text()
        # @import counts only before every other rule; anything else goes last, to win.
        files["templates/form.css"] = css + "\n" + stock if css.startswith("@import") else stock + "\n" + css
    pack = build_tree(root, files)
    if css is not None:
        (pack / "templates" / "fonts").symlink_to(BUILTIN_TEMPLATES / "fonts")
    return pack


def hostile_html(port: int, secret: Path) -> dict[str, dict[str, str]]:
    url = f"http://127.0.0.1:{port}"
    return {
        "img-http": {"body": f'<img src="{url}/pixel.png">'},
        "img-file": {"body": f'<img src="{secret.as_uri()}">'},
        "img-dotdot": {"body": '<img src="../../../../../../../../../../' + str(secret).lstrip("/") + '">'},
        "stylesheet-http": {"head": f'<link rel="stylesheet" href="{url}/a.css">'},
        "attachment-file": {"head": f'<link rel="attachment" href="{secret.as_uri()}">'},
        "object-file": {"body": f'<object data="{secret.as_uri()}" type="text/plain"></object>'},
        "svg-image": {"body": f'<svg width="10" height="10"><image href="{url}/x.png" width="10" height="10"/></svg>'},
        "css-import": {"css": f"@import url({url}/b.css);"},
        "css-background": {"css": f"body {{ background: url({secret.as_uri()}); }}"},
        "css-font": {"css": f"@font-face {{ font-family: X; src: url({url}/f.ttf); }} body {{ font-family: X; }}"},
        "include-dotdot": {"body": '{% include "../../../../../../../../etc/passwd" %}'},
        "include-absolute": {"body": "{% include '" + str(secret) + "' %}"},
    }


# WeasyPrint draws an inline SVG without the <image> it could not fetch, instead of stopping: nothing is
# fetched or read, but the form does not fail loudly either (reported; WeasyPrint's SVG code swallows it).
DROPPED = {"svg-image"}


def test_pdf_template_fetches_nothing(tmp_path):
    """A pack's form.html and form.css pointing at http://, file:// and ../ (images, stylesheets,
    attachments, objects, SVG, @import, fonts, Jinja includes): the PDF stops with a RenderError, no
    connection is attempted, and the secret never reaches the PDF."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"TOP-SECRET")
    with listener() as (port, hits):
        for name, parts in hostile_html(port, secret).items():
            pack = html_pack(tmp_path / name, **parts)
            form = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
            if name in DROPPED:
                assert b"TOP-SECRET" not in form.to_pdf()
                continue
            with pytest.raises(consent.RenderError) as info:
                form.to_pdf()
            message = str(info.value)
            assert ("refusing" in message or "outside the template folders" in message
                    or "not found" in message or message == "form.html: ../../../../../../../../etc/passwd"), (name, message)
        assert hits == []


def test_pack_links_out_of_the_pack_are_refused(tmp_path):
    """A symbolic link from a pack to a file or folder outside it (a clause, a template, a folder of
    fonts), or a loop of links, is refused before anything is read; a link into the built-in library is
    allowed (test_template_resources_outside_the_template_folder_are_refused links the stock fonts)."""
    secret = tmp_path / "outside" / "benefits.yaml"
    secret.parent.mkdir()
    secret.write_text("id: benefits\nversion: '1'\n")
    for link, target in (("clauses/benefits.yaml", secret), ("templates/form.html", Path("/etc/passwd")),
                         ("templates/fonts", secret.parent)):
        pack = build_tree(tmp_path / f"pack-{link.replace('/', '-')}", {"clauses/.keep": "", "templates/.keep": ""})
        (pack / link).symlink_to(target)
        with pytest.raises(consent.ContentError) as info:
            consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
        assert str(info.value) == (
            f"{pack}: clinic pack refused\n  - {pack / link}: is a symbolic link to a place outside the pack; "
            "copy the file into the pack instead"
        )
    loop = build_tree(tmp_path / "pack-loop", {"templates/.keep": ""})
    (loop / "clauses").symlink_to(loop / "clauses")
    with pytest.raises(consent.ContentError, match="is a symbolic link that cannot be followed"):
        consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[loop])


# --------------------------------------------------------------------------- Word templates

FIELD = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">{a}</w:instrText>'
         '</w:r><w:r><w:instrText xml:space="preserve">{b}</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/>'
         "</w:r></w:p>")


def docx_pack(root: Path, *, rel: str | None = None, body: str = "", header: str = "") -> Path:
    """A pack with the stock form.docx plus a relationship and markup in the body and the header."""
    src = zipfile.ZipFile(BUILTIN_TEMPLATES / "form.docx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/_rels/document.xml.rels" and rel:
                data = data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            if info.filename == "word/document.xml" and body:
                data = data.replace(b"<w:body>", b"<w:body>" + body.encode(), 1)
            if info.filename == "word/header1.xml" and header:
                data = data.replace(b"</w:hdr>", header.encode() + b"</w:hdr>", 1)
            dst.writestr(info, data)
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "form.docx").write_bytes(out.getvalue())
    return root


def hostile_docx(port: int) -> dict[str, tuple[dict[str, str], str]]:
    url = f"http://127.0.0.1:{port}/track.png"
    image = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
    template = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"
    return {
        "external-image": ({"rel": f'<Relationship Id="rId900" Type="{image}" Target="{url}" TargetMode="External"/>'},
                           "an external image ('http://127.0.0.1"),
        "external-template": ({"rel": f'<Relationship Id="rId901" Type="{template}" Target="file:///C:/x.dotm" '
                                      'TargetMode="External"/>'}, "an external attachedTemplate"),
        "includetext": ({"body": FIELD.format(a=' INCLUDETEXT "C:\\\\secret.txt" ', b="")}, "the field INCLUDETEXT"),
        "includepicture-split": ({"body": FIELD.format(a=" INCLUDEPIC", b=f'TURE "{url}" \\d ')},
                                 "the field INCLUDEPICTURE"),
        "ddeauto-header": ({"header": FIELD.format(a=' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc" ', b="")},
                           "word/header1.xml: the field DDEAUTO"),
        "dde-simple": ({"body": '<w:p><w:fldSimple w:instr=" DDE cmd /c calc "/></w:p>'}, "the field DDE"),
    }


def test_hostile_word_templates_are_refused(tmp_path):
    """A pack's form.docx with an external picture or attached template, or an INCLUDETEXT,
    INCLUDEPICTURE (even split over two runs), DDE or DDEAUTO field: a ContentError naming the part and
    what it would do; the PDF is unaffected; no connection is attempted."""
    with listener() as (port, hits):
        for name, (parts, expected) in hostile_docx(port).items():
            pack = docx_pack(tmp_path / name, **parts)
            form = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
            with pytest.raises(consent.ContentError) as info:
                form.to_docx()
            assert str(info.value).startswith(f"{pack}/templates/form.docx: the Word template is refused"), name
            assert expected in str(info.value), (name, str(info.value))
        assert hits == []


def test_hyperlinks_and_page_fields_in_a_word_template_are_fine(tmp_path):
    link = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
    pack = docx_pack(tmp_path / "ok", rel=f'<Relationship Id="rId902" Type="{link}" Target="https://clinic.example" '
                                         'TargetMode="External"/>',
                     body=FIELD.format(a=" PAGE ", b=""))
    form = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
    assert form.to_docx()[:2] == b"PK"


def test_jinja_escape_in_a_word_template_is_a_render_error(tmp_path):
    run = "<w:p><w:r><w:t>{{ ''.__class__.__mro__ }}</w:t></w:r></w:p>"
    pack = docx_pack(tmp_path / "jinja", body=run)
    form = consent.build("hair", patient=PATIENT, clinic=make_clinic(), date=DATE, packs=[pack])
    with pytest.raises(consent.RenderError, match="access to attribute '__class__' of 'str' object is unsafe"):
        form.to_docx()


# --------------------------------------------------------------------------- no reads, no connections

AUDIT = textwrap.dedent("""
    import json, os, sys
    opened, connects = [], []
    def hook(event, args):
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2]
            reading = ("r" in mode or "+" in mode) if isinstance(mode, str) else (
                flags is None or (flags & os.O_ACCMODE != os.O_WRONLY and not flags & os.O_CREAT))
            if reading:  # a file written by the process itself (a temporary font copy) is not a leak
                opened.append(os.fsdecode(args[0]))
        elif event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
            connects.append([event, repr(args)[:200]])
    sys.addaudithook(hook)
    import datetime as dt, consent
    from helpers import make_clinic
    patient = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1), mrn="MRN-1")
    outcomes = {}
    for pack in sys.argv[2:]:
        try:
            form = consent.build("hair", patient=patient, clinic=make_clinic(), date=dt.date(2026, 11, 21),
                                 packs=[pack])
            form.to_docx()
            form.to_pdf()
            outcomes[pack] = "made"
        except consent.ConsentError as exc:
            outcomes[pack] = type(exc).__name__
    with open(sys.argv[1], "w") as fh:
        json.dump({"opened": opened, "connects": connects, "outcomes": outcomes}, fh)
""")


@pytest.mark.slow
def test_no_file_outside_the_pack_is_opened_and_nothing_connects(tmp_path):
    """Every attack above, in one subprocess with an audit hook on open and on sockets: the secret files
    are never opened, every file opened is in a pack, the template folders or Python's installation, and
    no socket connects (the listener on 127.0.0.1 counts zero)."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"TOP-SECRET")
    outside = tmp_path / "outside" / "benefits.yaml"
    outside.parent.mkdir()
    outside.write_text("id: benefits\n")
    packs = tmp_path / "packs"
    with listener() as (port, hits):
        names = []
        for name, parts in hostile_html(port, secret).items():
            if "http" in name:
                continue  # fetching is refused before any socket (test_pdf_template_fetches_nothing); here: reads
            html_pack(packs / name, **parts)
            names.append(name)
        for name, (parts, _) in hostile_docx(port).items():
            docx_pack(packs / name, **parts)
            names.append(name)
        linked = build_tree(packs / "symlink", {"templates/.keep": ""})
        (linked / "clauses").mkdir()
        (linked / "clauses" / "benefits.yaml").symlink_to(outside)
        names.append("symlink")
        escape = clause_pack(packs / "escape", ESCAPES[1])
        names.append(escape.name)
        log = tmp_path / "audit.json"
        result = subprocess.run([sys.executable, "-c", AUDIT, str(log), *(str(packs / n) for n in names)],
                                capture_output=True, text=True, timeout=300, cwd=tmp_path,
                                env={"PYTHONPATH": str(Path(__file__).parent), "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, result.stderr
        assert hits == []
    audit = json.loads(log.read_text())
    assert audit["connects"] == []
    refused = {Path(p).name: o for p, o in audit["outcomes"].items() if Path(p).name not in DROPPED}
    assert set(refused.values()) <= {"RenderError", "ContentError"}, refused
    opened = {str(Path(p).resolve()) for p in audit["opened"]}
    assert str(secret) not in opened and str(outside) not in opened and "/etc/passwd" not in opened
    allowed = (str(packs), str(Path(sys.prefix).resolve()), str(Path(sys.base_prefix).resolve()),
               str(Path(__file__).parent), "/dev/", "/proc/", "/etc/mime.types", "/usr/share/zoneinfo",
               "/etc/localtime", "/usr/lib/python3", "/usr/share/fonts", "/etc/fonts", "/var/cache/fontconfig")
    temp = Path(tempfile.gettempdir()).resolve()

    def own(path: Path) -> bool:  # WeasyPrint's own copies of the fonts it loaded, and cleaning them up
        return path == temp or any(p.parent == temp and p.name.startswith("weasyprint-") for p in (path, path.parent))

    strays = sorted(p for p in opened if not p.startswith(allowed) and not own(Path(p)))
    assert strays == [], strays
