"""Layout rules of state notices, proved on rendered output.

A notice clause may ask for a page of its own (``own_page``) and a smallest type size (``min_type_pt``),
as Utah Code 58-1-512(3)(a) does (paper at least 8.5 x 11 inches, type no smaller than 40 point). The
renderers lay the notice out so; only the output can prove it, and this module reads it back. For every
such notice it makes a sample form for a clinic in the notice's state, in each language, renders the PDF
and the DOCX, and checks:

- PDF (read with pypdf): the notice's words are drawn as one run on one page of at least 8.5 x 11 in;
  each of their characters is at least ``min_type_pt`` (font size times the text and page matrices); with
  ``own_page``, nothing but the notice is drawn on that page apart from the page header and footer.
- DOCX (read with python-docx): every page of the document is at least 8.5 x 11 in; the notice is one
  paragraph whose runs are at least ``min_type_pt``; with ``own_page``, it starts a page and whatever
  follows it starts the next one. (Whether the paragraph fits on one page depends on the fonts of the
  machine that opens the file; the test suite checks that with LibreOffice.)

It sits above the renderers, so the ``consent check`` command runs it after :func:`consent.check.check`
(which cannot render: it is below them).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..assemble.assembly import assemble
from ..check import Finding, Report
from ..check import SAMPLE_CLINIC, SAMPLE_DATE, SAMPLE_PATIENT
from ..content import ClauseSpec
from ..document import Form, Notice
from ..speedups.render import render_docx
from ..errors import ConsentError
from ..inputs.loaders import Study
from ..library.loader import get_library
from ..speedups.render import render_pdf

LETTER_PT = (612.0, 792.0)  # 8.5 x 11 inches
TOLERANCE_PT = 0.05


# A Han character (or CJK mark) is a word of its own: Chinese has no spaces, and a PDF draws the digits
# of "1980年4月30日" in one font and its Han characters in another, as separate runs.
_TOKEN = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f]|[^\s\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


def _words(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text))


@attrs.frozen
class _Run:
    """Text drawn by one text operator of a PDF page, with its size on the page in points."""

    text: str
    size: float


def _pdf_runs(page: Any) -> list[_Run]:
    runs: list[_Run] = []

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], _font: Any, font_size: float) -> None:
        if not text.strip():
            return
        a, b, c, d = tm[0], tm[1], tm[2], tm[3]
        m = (a * cm[0] + b * cm[2], a * cm[1] + b * cm[3], c * cm[0] + d * cm[2], c * cm[1] + d * cm[3])
        runs.append(_Run(text, float(font_size) * math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))))

    page.extract_text(visitor_text=visit)
    return runs


def _furniture(form: Form, page_count: int) -> list[list[str]]:
    """The lines the page header and footer print (they may stay on a notice's own page), as words."""
    h, labels = form.header, form.labels
    lines = [
        h.clinic_name,
        f"{h.patient_name} · {labels['header_date_of_birth']} {h.birth_date}",
        f"{labels['form_id']} {form.form_id} · {labels['version']} {form.manifest.template_version}",
        *(f"{labels['page']} {n} {labels['page_of']} {page_count}" for n in range(1, page_count + 1)),
    ]
    return [_words(line) for line in lines]


def pdf_problems(form: Form, pdf: bytes, notice: Notice, min_type_pt: float | None) -> list[str]:
    """What keeps ``notice`` from being laid out as its clause asks, in this PDF (nothing: [])."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    want = _words(notice.text)
    furniture = _furniture(form, len(reader.pages))
    for number, page in enumerate(reader.pages, 1):
        body = [r for r in _pdf_runs(page) if not any(_within(_words(r.text), line) for line in furniture)]
        start = _find(body, want)
        if start is None:
            continue
        run = _take(body, start, len(want))
        problems = []
        box = page.mediabox
        unit = float(page.get("/UserUnit", 1))
        width, height = float(box.width) * unit, float(box.height) * unit
        if width + TOLERANCE_PT < LETTER_PT[0] or height + TOLERANCE_PT < LETTER_PT[1]:
            problems.append(f"page {number} is {width / 72:.2f} x {height / 72:.2f} in, "
                            "smaller than 8.5 x 11 in")
        if min_type_pt is not None:
            small = sorted({round(r.size, 2) for r in run if r.size + TOLERANCE_PT < min_type_pt})
            if small:
                sizes = ", ".join(f"{s:g}" for s in small)
                problems.append(f"the notice is drawn in {sizes} pt type on page {number}, "
                                f"smaller than {min_type_pt:g} pt")
        if notice.own_page and len(run) != len(body):
            others = " ".join(w for r in body if r not in run for w in _words(r.text))
            problems.append(f"page {number} holds more than the notice: {others[:80]!r}")
        return problems
    return ["the notice's words are not drawn as one run of text on one page (split across pages, "
            "or missing)"]


def _within(words: list[str], among: list[str]) -> bool:
    """``words`` occur, in order and together, in ``among``."""
    n = len(words)
    return any(among[k:k + n] == words for k in range(len(among) - n + 1))


def _find(runs: list[_Run], want: list[str]) -> int | None:
    """The index of the first run from which the runs' words are exactly ``want`` (then maybe more)."""
    flat = [(i, w) for i, r in enumerate(runs) for w in _words(r.text)]
    words = [w for _, w in flat]
    for k in range(len(words) - len(want) + 1):
        if words[k:k + len(want)] == want and (k == 0 or flat[k - 1][0] != flat[k][0]):
            return flat[k][0]
    return None


def _take(runs: list[_Run], start: int, count: int) -> list[_Run]:
    out, seen = [], 0
    for r in runs[start:]:
        if seen >= count:
            break
        out.append(r)
        seen += len(_words(r.text))
    return out


def docx_problems(docx_bytes: bytes, notice: Notice, min_type_pt: float | None) -> list[str]:
    """What keeps ``notice`` from being laid out as its clause asks, in this DOCX (nothing: [])."""
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(docx_bytes))
    problems = []
    for section in document.sections:
        width = section.page_width.pt if section.page_width is not None else 0.0
        height = section.page_height.pt if section.page_height is not None else 0.0
        if width + TOLERANCE_PT < LETTER_PT[0] or height + TOLERANCE_PT < LETTER_PT[1]:
            problems.append(f"the pages are {width / 72:.2f} x {height / 72:.2f} in, "
                            "smaller than 8.5 x 11 in")
    body = [el for el in document.element.body.iterchildren() if el.tag in (qn("w:p"), qn("w:tbl"))]
    want = _words(notice.text)
    at = next((i for i, el in enumerate(body)
               if el.tag == qn("w:p") and _words(Paragraph(el, document).text) == want), None)
    if at is None:
        return [*problems, "the notice is not one paragraph of its own"]
    paragraph = Paragraph(body[at], document)
    if min_type_pt is not None:
        small = sorted({s for s in (_run_size(run, paragraph, document) for run in paragraph.runs)
                        if s + TOLERANCE_PT < min_type_pt})
        if small:
            problems.append(f"the notice's runs are {', '.join(f'{s:g}' for s in small)} pt, smaller than "
                            f"{min_type_pt:g} pt")
    if notice.own_page:
        if not _starts_page(body[at]):
            problems.append("the notice does not start a page")
        if at + 1 < len(body) and not _starts_page(body[at + 1]) and not _ends_with_break(body[at]):
            problems.append("what follows the notice does not start a new page")
    return problems


def _starts_page(element: Any) -> bool:
    from docx.oxml.ns import qn

    p = element if element.tag == qn("w:p") else next(element.iter(qn("w:p")), None)
    if p is None:
        return False
    ppr = p.find(qn("w:pPr"))
    flag = ppr.find(qn("w:pageBreakBefore")) if ppr is not None else None
    if flag is not None and flag.get(qn("w:val"), "true") not in ("0", "false", "off"):
        return True
    first = next(p.iter(qn("w:br"), qn("w:t")), None)
    return first is not None and first.tag == qn("w:br") and first.get(qn("w:type")) == "page"


def _ends_with_break(p: Any) -> bool:
    from docx.oxml.ns import qn

    last = None
    for last in p.iter(qn("w:br"), qn("w:t")):  # noqa: B007 - the last one is what counts
        pass
    return last is not None and last.tag == qn("w:br") and last.get(qn("w:type")) == "page"


def _run_size(run: Any, paragraph: Any, document: Any) -> float:
    """The type size a run is drawn at: its own, else its paragraph style's (and their bases), else the
    document default (Word's own default is 10 pt)."""
    if run.font.size is not None:
        return float(run.font.size.pt)
    style = paragraph.style
    while style is not None:
        if style.font.size is not None:
            return float(style.font.size.pt)
        style = style.base_style
    from docx.oxml.ns import qn

    defaults = document.styles.element.find(qn("w:docDefaults"))
    size = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:sz')}") if defaults is not None else None
    return int(size.get(qn("w:val"))) / 2 if size is not None else 10.0


def _sample_study(clause: ClauseSpec) -> Study | None:
    """A study that makes the notice apply (one with what ``only_with`` asks for), or none."""
    if not clause.only_with:
        return None
    names = {"ind": "ind_number", "ide": "ide_number", "irb": "irb_name"}
    return Study(**{names[kind]: "Sample" for kind in clause.only_with if kind not in clause.exempt_with})


def _cases(treatments: Sequence[str] | None, packs: Sequence[str | Path],
           languages: Sequence[str] | None) -> Iterator[tuple[ClauseSpec, str, str]]:
    library = get_library(packs)
    chosen = [t for t in (treatments or sorted(library.treatments)) if t in library.treatments]
    for clause in sorted(library.clauses.values(), key=lambda c: c.id):
        if clause.kind != "state-notice" or not (clause.own_page or clause.min_type_pt):
            continue
        # The notice is the same on every treatment's form unless its clause has per-treatment variants.
        for language in languages or library.languages:
            for tid in chosen if clause.variants else chosen[:1]:
                yield clause, tid, language


def notice_layout_report(
    treatments: Sequence[str] | None = None,
    *,
    packs: Sequence[str | Path] = (),
    languages: Sequence[str] | None = None,
) -> Report:
    """Render a sample form for every notice with layout rules, in every language, and report each
    rule the PDF or the DOCX breaks (``notice.layout``, an error)."""
    findings: list[Finding] = []
    for clause, tid, language in _cases(treatments, packs, languages):
        clinic = attrs.evolve(SAMPLE_CLINIC, state=clause.states[0], study=_sample_study(clause))
        try:
            form, _ = assemble(tid, patient=SAMPLE_PATIENT, clinic=clinic, date=SAMPLE_DATE,
                               language=language, packs=packs)
            pdf, docx_bytes = render_pdf(form), render_docx(form)
        except ConsentError:
            continue  # the content's own problems are reported by the other checks
        where: dict[str, Any] = {"clause": clause.id, "file": clause.path, "line": 1, "treatment": tid,
                                 "language": language}
        section = next((s for s in form.sections if s.clause_id == clause.id), None)
        # The notice's own blocks (a courtesy translation's have no wording: they keep normal type).
        notices = [b for b in section.blocks if isinstance(b, Notice) and b.wording] if section else []
        if not notices:
            findings.append(Finding("notice.layout", "error", "the sample form does not carry the notice",
                                    **where))
        wanted = [("a page of its own" if clause.own_page else ""),
                  (f"{clause.min_type_pt:g}-point type" if clause.min_type_pt else "")]
        rules = f"({', '.join(w for w in wanted if w)}, {clause.citation or 'its law'})"
        for notice in notices:
            for name, problems in (("PDF", pdf_problems(form, pdf, notice, clause.min_type_pt)),
                                   ("DOCX", docx_problems(docx_bytes, notice, clause.min_type_pt))):
                findings += [Finding("notice.layout", "error",
                                     f"the {name} breaks the notice's layout rule {rules}: {problem}",
                                     **where)
                             for problem in problems]
    return Report(tuple(findings))
