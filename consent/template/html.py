"""Template export, HTML: one self-contained body fragment for the rich-text consent module of an EHR.

Only the tags, attributes and style properties in :data:`SANITIZER` are written, with inline styles (no
``<style>``, no classes, no script, no link or image), so the body passes the same sanitizer unchanged
(``nh3.clean(body, **SANITIZER) == body``) and pastes into a system that strips anything else. Every
string is escaped; the patient's values and the form date are placeholders in the profile's syntax.
"""

from __future__ import annotations

from collections.abc import Iterable

import nh3

from ..document import (
    Block,
    BulletList,
    Checklist,
    FeeTable,
    Heading,
    Notice,
    Paragraph,
    ProductTable,
    Signatures,
)
from ..errors import RenderError
from ..speedups.tokens import TOKENS
from .form import DATE_TOKEN, PATIENT_TOKENS, TemplateForm

_TAGS = {"div", "p", "br", "h1", "h2", "h3", "ul", "li", "table", "tbody", "tr", "th", "td", "strong", "span"}
SANITIZER = {
    "tags": _TAGS,
    "attributes": {tag: {"style"} for tag in _TAGS} | {"div": {"style", "lang"}},
    "filter_style_properties": {
        "border", "border-bottom", "border-collapse", "color", "font-family", "font-size", "font-style",
        "font-weight", "height", "line-height", "margin", "max-width", "padding", "text-align",
        "vertical-align", "width", "background-color",
    },
    "url_schemes": set(),
    "link_rel": None,
    "strip_comments": True,
}
# Styles in the form the sanitizer writes them (property:value;...), so that cleaning changes nothing.
_BODY = ("font-family:Arial , Helvetica , sans-serif;font-size:11pt;line-height:1.45;color:#1d1d1f;"
         "max-width:7.5in")
_P = "margin:0 0 8px 0"
_GREY = "margin:0 0 8px 0;color:#4a4f57;font-size:9.5pt"
_H1 = "font-size:16pt;margin:14px 0 10px 0"
_H2 = "font-size:13pt;margin:18px 0 6px 0;color:#12263a"
_H3 = "font-size:11.5pt;margin:12px 0 4px 0"
_TABLE = "border-collapse:collapse;width:100%;margin:0 0 10px 0"
_EDGE = "border:1px solid #8a9099;padding:4px 6px;vertical-align:top"
_CELL, _RIGHT = _EDGE + ";text-align:left", _EDGE + ";text-align:right"
_MARK = _EDGE + ";text-align:center;width:3.5em"
# Header cells: "th:" before a cell's style makes it a <th> (see _Body.table).
_HEAD, _HEAD_CENTER, _HEAD_RIGHT = (f"th:{s};background-color:#e3e8ee" for s in (_CELL, _MARK, _RIGHT))
_NOTE = "font-weight:normal;font-size:9.5pt;color:#4a4f57"
_NOTICE = "border:2px solid #12263a;padding:8px 10px;margin:0 0 10px 0"
_SIGN_LABEL = "th:padding:10px 8px 2px 0;text-align:left;vertical-align:bottom;width:30%;font-weight:normal"
_SIGN_LINE = "border-bottom:1px solid #1d1d1f;padding:10px 0 2px 0;vertical-align:bottom;height:1.6em"
EMPTY_BOX = "☐"


def _esc(text: str) -> str:
    """Text escaped as the sanitizer's serializer writes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\xa0", "&nbsp;")


class _Body:
    def __init__(self, made: TemplateForm) -> None:
        self.form = made.tokens
        self.labels = made.tokens.labels
        profile = made.profile
        self.values = {token: _esc(profile.placeholder_for(profile.field(key)))
                       for token, key in PATIENT_TOKENS.items() if key != "patient.full_name"}
        name = " ".join(profile.placeholder_for(field) for field in profile.name_fields())
        self.values[TOKENS["name"]] = _esc(name)
        self.values[TOKENS["id"]] = _esc(made.form.form_id)
        self.out: list[str] = []

    def text(self, value: str) -> str:
        """``value`` escaped, with each token replaced by its placeholder."""
        escaped = _esc(value)
        for token, placeholder in self.values.items():
            escaped = escaped.replace(token, placeholder)
        return escaped

    def add(self, tag: str, style: str, content: str) -> None:
        self.out.append(f'<{tag} style="{style}">{content}</{tag}>')

    def table(self, rows: Iterable[Iterable[tuple[str, str]]]) -> None:
        """A table of rows of (cell style, cell HTML); a style starting "th:" makes a header cell."""
        body = "".join(
            "<tr>" + "".join(
                f'<th style="{s[3:]}">{c}</th>' if s.startswith("th:") else f'<td style="{s}">{c}</td>'
                for s, c in row
            ) + "</tr>"
            for row in rows
        )
        self.out.append(f'<table style="{_TABLE}"><tbody>{body}</tbody></table>')

    def html(self) -> str:
        form, L = self.form, self.labels
        h = form.header
        self.add("p", "margin:0;font-weight:bold;font-size:13pt", self.text(h.clinic_name))
        self.add("p", _GREY, self.text(f"{h.clinic_address} · {h.clinic_phone}"))
        self.add("h1", _H1, self.text(form.title))
        self.table([
            [(_HEAD, self.text(L["patient"])), (_CELL, self.text(h.patient_name)),
             (_HEAD, self.text(L["date_of_birth"])), (_CELL, self.text(h.birth_date))],
            [(_HEAD, self.text(L["form_date"])), (_CELL, self.text(DATE_TOKEN)),
             (_HEAD, self.text(L["mrn"])), (_CELL, self.text(h.mrn or "—"))],
        ])
        self.add("p", _P, self.text(L["intro"]))
        for section in form.sections:
            self.add("h2", _H2, self.text(section.title))
            for block in section.blocks:
                self.block(block)
            if section.initials:
                self.add("p", "margin:6px 0 10px 0;text-align:right",
                         f'{self.text(L["initials"])} <span style="border-bottom:1px solid #1d1d1f">'
                         + "&nbsp;" * 16 + "</span>")
        self.add("p", _GREY, self.text(f'{L["form_id"]} {form.form_id} · {L["version"]} '
                                       f"{form.manifest.template_version}"))
        return f'<div lang="{_esc(form.language)}" style="{_BODY}">' + "".join(self.out) + "</div>"

    def block(self, block: Block) -> None:  # noqa: PLR0912 - one branch per kind of block
        if isinstance(block, Paragraph):
            text = self.text(block.text)
            self.add("p", _P, f"<strong>{text}</strong>" if block.style == "strong" else text)
        elif isinstance(block, Heading):
            self.add("h3", _H3, self.text(block.text))
        elif isinstance(block, BulletList):
            self.list(block.items)
        elif isinstance(block, Notice):
            self.notice(block)
        elif isinstance(block, Checklist):
            self.table([
                [(_HEAD, self.text(block.header)), (_HEAD_CENTER, self.text(block.yes)),
                 (_HEAD_CENTER, self.text(block.no))],
                *([(_CELL, self.text(r.question)), (_MARK, EMPTY_BOX), (_MARK, EMPTY_BOX)]
                  for r in block.rows),
            ])
        elif isinstance(block, FeeTable):
            self.table([
                [(_HEAD, self.text(block.item_header)), (_HEAD_RIGHT, self.text(block.amount_header))],
                *([(_CELL, self.text(label)), (_RIGHT, self.text(value))] for label, value in block.rows),
                [(_CELL, f"<strong>{self.text(block.total[0])}</strong>"),
                 (_RIGHT, f"<strong>{self.text(block.total[1])}</strong>")],
            ])
            lists = ((block.included_label, block.included), (block.excluded_label, block.excluded))
            for label, items in lists:
                self.add("p", "margin:6px 0 4px 0;font-weight:bold", self.text(label))
                if items:
                    self.list(items)
                else:
                    self.add("p", _P, self.text(self.labels["fee_none"]))
        elif isinstance(block, ProductTable):
            self.table(
                [(_HEAD + ";width:35%", self.text(row.label)
                  + (f'<br><span style="{_NOTE}">{self.text(row.note)}</span>' if row.note else "")),
                 (_CELL, self.text(row.value))]
                for row in block.rows
            )
        elif isinstance(block, Signatures):
            for party in block.parties:
                self.add("h3", _H3, self.text(party.title))
                if party.note:
                    self.add("p", _GREY + ";font-style:italic", self.text(party.note))
                self.table([(_SIGN_LABEL, self.text(label)), (_SIGN_LINE, self.text(value))]
                           for label, value in party.fields)
        else:  # pragma: no cover - a new kind of block must be added here
            raise RenderError(f"the HTML template cannot write a {block.kind} block")

    def list(self, items: Iterable[str]) -> None:
        self.out.append('<ul style="margin:0 0 8px 0;padding:0 0 0 22px">'
                        + "".join(f'<li style="margin:0 0 3px 0">{self.text(i)}</li>' for i in items)
                        + "</ul>")

    def notice(self, block: Notice) -> None:
        law = self.labels["notice_paraphrase" if block.wording == "paraphrase" else "notice_citation"]
        size = f";font-size:{block.type_pt:.1f}pt" if block.type_pt else ""
        content = f'<p style="margin:0;font-weight:bold{size}">{self.text(block.text)}</p>'
        if block.citation:
            content += f'<p style="margin:6px 0 0 0;{_NOTE}">{self.text(f"{law} {block.citation}")}</p>'
        self.add("div", _NOTICE, content)


def html_body(made: TemplateForm) -> str:
    """The HTML body of the template ``made``. Raises RenderError if the sanitizer would change it (a
    defect: the body would not paste into a system as written)."""
    body = _Body(made).html()
    if nh3.clean(body, **SANITIZER) != body:  # type: ignore[arg-type]
        raise RenderError("the HTML template does not pass its sanitizer unchanged",
                          hint="report this with the command that made it")
    return body
