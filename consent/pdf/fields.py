"""A fillable, signable PDF: AcroForm fields added to the finished PDF of a form (issue 9).

The renderers only mark and measure the places (form.html's ``data-field``, read by
:mod:`consent.pdf.places` from the whole layout or the shared body); this module, called by
:mod:`consent.speedups.render` after the PDF is written, adds with pikepdf:

- the form fields named as in the README ("Fillable and signable PDFs"): a signature field (/Sig) and
  printed name, date and time text fields per signer, the patient's initials at each section that asks
  for them, a Yes/No radio group per screening question (pre-selected where the form was made with
  answers), a template export's text fields (``merge_fields``);
- widgets with appearance streams (/AP) for every state, so every viewer shows them, a /DA and the
  AcroForm's /DR (Helvetica: the font a viewer fills the fields in; the appearances made here draw no
  text, so no font that is not embedded draws anything in the form as made);
- each field's accessible name (/TU: "Patient: Signature", a screening question) and, in the tagged
  PDF, each widget in the structure tree where its place is (a /Form element, consent/pdf/tags.py), so
  the tab order follows the structure (/Tabs /S); the widgets are also in /Annots from the top of the
  page down, left to right;
- date and time format actions (AFDate/AFTime JavaScript);
- e-signature anchor tags (DocuSign, Adobe Acrobat Sign), printed in white, very small, at each
  signature, initials and date place, in an embedded subset of Noto Sans (:mod:`consent.pdf.tag_font`).

Deterministic: objects are made in a fixed order and saved with qpdf's deterministic /ID.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._esign import check_esign, tag
from ..document import Checklist, Form, Signatures
from ..errors import RenderError
from .places import FieldPlace
from .tag_font import embed, tag_font

MERGE_KEYS = ("patient.full_name", "patient.birth_date", "patient.mrn", "form.date")
PRINTED_ONLY = ("patient.first_name", "patient.last_name")  # the PDF prints the full name only
REQUIRED = {"patient.signature", "patient.name", "patient.date", "provider.signature", "provider.date"}
# A minor's form (consent/inputs/majority.py): the parent or guardian signs; the patient's assent is optional.
MINOR_REQUIRED = {"representative.signature", "representative.name", "representative.relationship",
                  "representative.date", "provider.signature", "provider.date"}
LABEL_KEYS = {"sig_name": "name", "sig_relationship": "relationship", "sig_signature": "signature",
              "sig_date": "date", "sig_time": "time"}
FIELD_FORMATS = {  # field name's last part -> (keystroke, format) JavaScript
    "date": ('AFDate_KeystrokeEx("yyyy-mm-dd");', 'AFDate_FormatEx("yyyy-mm-dd");'),
    "time": ('AFTime_KeystrokeEx("HH:MM");', 'AFTime_FormatEx("HH:MM");'),
}
FONT_SIZE = 10.0
HEADER_FONT_SIZE = 8.5  # a template's header fields: the page header's type (form.css: @top-right)
HEADER_COLOUR = "0.29 0.31 0.341"  # ... and its colour, #4a4f57
TICK = b"0.114 0.114 0.122 rg"  # the colour of a ticked screening box (form.css: .box.checked)

# A template's merge fields: their accessible names, the labels of the patient table.
_MERGE_LABELS = {"patient.full_name": "patient", "patient.birth_date": "date_of_birth", "patient.mrn": "mrn",
                 "form.date": "form_date"}
_REQUIRED_FLAG = 1 << 1
_NO_TOGGLE_TO_OFF = 1 << 14
_RADIO = 1 << 15


def check_options(*, variant: str | None, fillable: bool, esign: str | None,
                  merge_fields: Mapping[str, str] | None) -> None:
    """Refuse what cannot be made, before any work."""
    check_esign(esign)
    if variant and (fillable or merge_fields or esign):
        what = "e-signature tags" if esign and not (fillable or merge_fields) else "a fillable PDF"
        raise RenderError(
            f"{what} cannot be an archival PDF/A",
            hint="PDF/A forbids the JavaScript of the date fields and needs every font embedded, also the "
                 "font a viewer fills the fields in (Helvetica), and a form sent for e-signature comes back "
                 "changed by the service; make the form to sign and the archival copy separately (the "
                 "archival copy of the signed form is the one to keep)",
        )
    if merge_fields:
        unknown = sorted(set(merge_fields) - set(MERGE_KEYS) - set(PRINTED_ONLY))
        if unknown:
            raise RenderError(f"merge fields: no place on the PDF form for {', '.join(unknown)}",
                              hint=f"the PDF form has text fields for {', '.join(MERGE_KEYS)}")
        names = [n for k, n in merge_fields.items() if k in MERGE_KEYS]
        bad = [n for n in names if not n or any(not part for part in n.split("."))]
        if bad or len(set(names)) != len(names):
            raise RenderError(f"merge fields: field names must be unique and not empty (got {names})")


def expected_fields(form: Form) -> dict[str, tuple[str, ...]]:
    """The fields a fillable PDF of ``form`` has, by name: the export values of a radio group (Yes,
    No), or () for a text or signature field. In the order of the form."""
    labels = {form.labels.get(key): name for key, name in LABEL_KEYS.items() if form.labels.get(key)}
    out: dict[str, tuple[str, ...]] = {}
    for section in form.sections:
        for block in section.blocks:
            if isinstance(block, Checklist):
                out.update({f"screening.{row.id}": ("Yes", "No") for row in block.rows})
            elif isinstance(block, Signatures):
                for party in block.parties:
                    out.update({f"{party.role}.{labels[label]}": ()
                                for label, _ in party.fields if label in labels})
        if section.initials:
            out[f"initials.{section.clause_id}"] = ()
    return out


def required_fields(form: Form) -> set[str]:
    """The fields of ``form`` that must be filled in: the signer's (the patient's; on a minor's form the
    parent's or guardian's) and the provider's signature and date, the printed name (and the relationship of
    a parent or guardian), every initials line and every screening question."""
    signers = REQUIRED if form.manifest.minor is None else MINOR_REQUIRED
    return signers | {n for n in expected_fields(form) if n.startswith(("initials.", "screening."))}


def prefilled(form: Form) -> dict[str, str]:
    """The printed names the flat form prints on the signature lines (the patient's, the provider's)."""
    labels = {form.labels.get("sig_name")}
    return {f"{party.role}.name": value
            for section in form.sections for block in section.blocks if isinstance(block, Signatures)
            for party in block.parties for label, value in party.fields if label in labels and value}


def accessible_names(form: Form) -> dict[str, str]:
    """Each field's accessible name (/TU), in the form's language: the signer and the line ("Patient:
    Signature"), the question of a screening group, the initials line with its section's title."""
    labels = {form.labels.get(key): name for key, name in LABEL_KEYS.items() if form.labels.get(key)}
    out: dict[str, str] = {}
    for section in form.sections:
        for block in section.blocks:
            if isinstance(block, Checklist):
                out.update({f"screening.{row.id}": row.question for row in block.rows})
            elif isinstance(block, Signatures):
                for party in block.parties:
                    out.update({f"{party.role}.{labels[label]}": f"{party.title}: {label}"
                                for label, _ in party.fields if label in labels})
        if section.initials:
            out[f"initials.{section.clause_id}"] = f"{form.labels.get('initials', '')} ({section.title})".strip()
    return out


def option_names(form: Form) -> dict[tuple[str, str], str]:
    """Each radio button's name (its /Form element's /Alt): the question's column, "Yes" or "No"."""
    return {(f"screening.{row.id}", value): label
            for section in form.sections for block in section.blocks if isinstance(block, Checklist)
            for row in block.rows for value, label in (("Yes", block.yes), ("No", block.no))}


def answers(form: Form) -> dict[str, str]:
    """The screening answers the form was made with, as radio states."""
    return {f"screening.{row.id}": "Yes" if row.answer else "No"
            for section in form.sections for block in section.blocks if isinstance(block, Checklist)
            for row in block.rows if row.answer is not None}


def add_fields(pdf: bytes, form: Form, places: Sequence[FieldPlace], *, fillable: bool = False,
               esign: str | None = None, merge_fields: Mapping[str, str] | None = None) -> bytes:
    """``pdf`` with the form fields (``fillable``), the e-signature tags (``esign``) and a template
    export's text fields (``merge_fields``) at ``places``. A place that is missing (a clinic's
    form.html without the ``data-field`` marks) stops with a RenderError naming it."""
    import pikepdf

    wanted: dict[str, tuple[str, ...]] = expected_fields(form) if fillable or esign else {}
    merge = {key: name for key, name in (merge_fields or {}).items() if key in MERGE_KEYS}
    found = {(p.name, p.value) for p in places}
    missing = [name for name, values in wanted.items() for v in values or ("",) if (name, v) not in found]
    missing += [key for key in merge if (key, "") not in found]
    if missing:
        raise RenderError(
            "the PDF template has no place for these form fields: " + ", ".join(dict.fromkeys(missing)),
            hint='mark each place in the pack\'s form.html with data-field="<name>" as the built-in '
                 "templates/form.html does (see the README: Fillable and signable PDFs)",
        )
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        builder = _Builder(doc, form)
        if fillable:
            values = {**prefilled(form), **answers(form)}
            for place in places:
                if place.name in wanted:
                    builder.add(place, place.name, values.get(place.name, ""))
        merged: dict[str, list[FieldPlace]] = {}
        for place in places:
            if place.name in merge and not place.value:
                merged.setdefault(place.name, []).append(place)
        for key, at in merged.items():
            builder.add_merge(merge[key], at, form.labels.get(_MERGE_LABELS[key], key))
        if esign:
            _tags(doc, [p for p in places if p.name in wanted], esign,
                  "patient" if form.manifest.minor is None else "representative")
        builder.finish()
        out = io.BytesIO()
        doc.save(out, deterministic_id=True)
    return out.getvalue()


class _Builder:
    """The AcroForm of one document: a field tree ("patient" > "signature"), widgets per page."""

    def __init__(self, doc: Any, form: Form) -> None:
        import pikepdf

        self.pikepdf = pikepdf
        self.doc = doc
        self.form = form
        self.helv = doc.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding))
        self.zadb = doc.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.ZapfDingbats))
        self.nodes: dict[str, Any] = {}  # fully qualified name -> field dictionary
        self.roots: list[Any] = []
        self.widgets: dict[int, list[tuple[FieldPlace, Any]]] = {}
        self.required = required_fields(form)
        self.names = accessible_names(form)
        self.options = option_names(form)
        self.tree = _Tree(doc) if "/StructTreeRoot" in doc.Root else None

    def _node(self, name: str) -> Any:
        """The (non-terminal) field ``name``, made with its parents the first time."""
        if name in self.nodes:
            return self.nodes[name]
        parent, _, partial = name.rpartition(".")
        node = self.doc.make_indirect(self.pikepdf.Dictionary(T=self.pikepdf.String(partial),
                                                              Kids=self.pikepdf.Array()))
        self._attach(node, parent)
        self.nodes[name] = node
        return node

    def _attach(self, node: Any, parent: str) -> None:
        if parent:
            up = self._node(parent)
            node.Parent = up
            up.Kids.append(node)
        else:
            self.roots.append(node)

    def add(self, place: FieldPlace, name: str, value: str, *, cover: bool = False,
            label: str | None = None) -> None:
        """One widget at ``place``: of a new field ``name``, or a radio button of its group."""
        pd = self.pikepdf
        page = self.doc.pages[place.page]
        widget = pd.Dictionary(Type=pd.Name.Annot, Subtype=pd.Name.Widget, F=4, P=page.obj,
                               Rect=pd.Array([place.x0, place.y0, place.x1, place.y1]))
        flags = _REQUIRED_FLAG if name in self.required else 0
        last = name.rpartition(".")[2]
        if place.value:  # a radio button: the group is the field, the buttons its widgets
            group = self.nodes.get(name)
            if group is None:
                group = self._node(name)
                group.TU = pd.String(self.names.get(name, name))
                group.FT = pd.Name.Btn
                group.Ff = flags | _RADIO | _NO_TOGGLE_TO_OFF
                group.V = pd.Name("/" + value) if value else pd.Name.Off
            on = pd.Name("/" + place.value)
            tick = self._stream(place, TICK + b" 0 0 %.3f %.3f re f" % (place.width, place.height))
            blank = self._stream(place, b"")
            widget.AS = on if value == place.value else pd.Name.Off
            widget.AP = pd.Dictionary(N=pd.Dictionary({str(on): tick, "/Off": blank}),
                                      D=pd.Dictionary({str(on): tick, "/Off": blank}))
            widget.MK = pd.Dictionary(CA=pd.String("n"))  # a filled square, as the printed tick
            widget.DA = pd.String("/ZaDb 0 Tf 0.114 0.114 0.122 rg")
            widget.Parent = group
            widget = self.doc.make_indirect(widget)
            group.Kids.append(widget)
            self._tag(widget, place, self.options.get((name, place.value)))
        else:  # one field, one widget (merged dictionaries)
            parent = name.rpartition(".")[0]
            widget.T = pd.String(last)
            widget.TU = pd.String(label or self.names.get(name, name))
            widget.Ff = flags
            if last == "signature" and not cover:
                widget.FT = pd.Name.Sig
                widget.AP = pd.Dictionary(N=self._stream(place, b""))
            else:
                widget.FT = pd.Name.Tx
                widget.DA = pd.String(f"/Helv {FONT_SIZE:g} Tf 0 g")
                if value:
                    widget.V = pd.String(value)
                # A value printed under the field (a pre-filled name, a template's placeholder) is hidden
                # by a white background once the field holds another value.
                background = b"1 g 0 0 %.3f %.3f re f " % (place.width, place.height) if cover else b""
                widget.AP = pd.Dictionary(N=self._stream(place, background + b"/Tx BMC EMC"))
                if value or cover:
                    widget.MK = pd.Dictionary(BG=pd.Array([1]))
                if last in FIELD_FORMATS and not cover:
                    keystroke, shown = FIELD_FORMATS[last]
                    widget.AA = pd.Dictionary(
                        K=pd.Dictionary(S=pd.Name.JavaScript, JS=pd.String(keystroke)),
                        F=pd.Dictionary(S=pd.Name.JavaScript, JS=pd.String(shown)))
            widget = self.doc.make_indirect(widget)
            self._attach(widget, parent)
            self._tag(widget, place)
        self.widgets.setdefault(place.page, []).append((place, widget))

    def _tag(self, widget: Any, place: FieldPlace, alt: str | None = None) -> None:
        """The widget in the structure tree, at its place (a tagged PDF; see :class:`_Tree`)."""
        if self.tree is not None:
            self.tree.add(widget, self.doc.pages[place.page].obj, place, alt)

    def add_merge(self, name: str, places: Sequence[FieldPlace], label: str) -> None:
        """A template export's empty text field ``name`` (a field profile's name) with a widget at each of
        ``places``: the patient's table on page 1, and for the name and birth date every page's header
        too. One field: filled once (its /V), every widget shows the value, each in the style of its
        place (the header's smaller grey type)."""
        # 3 pt wider on the left (into the label cell's padding): the field's text, set 2 pt in, starts
        # where the form prints a value.
        table = [attrs.evolve(p, x0=p.x0 - 3) for p in places if not p.header]
        if len(places) == 1 and table:
            self.add(table[0], name, "", cover=True, label=label)
            return
        pd = self.pikepdf
        parent, _, partial = name.rpartition(".")
        field = self.doc.make_indirect(pd.Dictionary(
            T=pd.String(partial), TU=pd.String(label),
            FT=pd.Name.Tx, Ff=0, DA=pd.String(f"/Helv {FONT_SIZE:g} Tf 0 g"), Kids=pd.Array()))
        self._attach(field, parent)
        for place in [*table, *(p for p in places if p.header)]:
            page = self.doc.pages[place.page]
            widget = pd.Dictionary(Type=pd.Name.Annot, Subtype=pd.Name.Widget, F=4, P=page.obj, Parent=field,
                                   Rect=pd.Array([place.x0, place.y0, place.x1, place.y1]))
            if place.header:
                widget.DA = pd.String(f"/Helv {HEADER_FONT_SIZE:g} Tf {HEADER_COLOUR} rg")
                widget.AP = pd.Dictionary(N=self._stream(place, b"/Tx BMC EMC"))
            else:
                widget.DA = field.DA
                widget.AP = pd.Dictionary(N=self._stream(
                    place, b"1 g 0 0 %.3f %.3f re f /Tx BMC EMC" % (place.width, place.height)))
                widget.MK = pd.Dictionary(BG=pd.Array([1]))
            widget = self.doc.make_indirect(widget)
            field.Kids.append(widget)
            self._tag(widget, place)
            self.widgets.setdefault(place.page, []).append((place, widget))

    def _stream(self, place: FieldPlace, content: bytes) -> Any:
        pd = self.pikepdf
        stream = pd.Stream(self.doc, content)
        stream.Type = pd.Name.XObject
        stream.Subtype = pd.Name.Form
        stream.BBox = pd.Array([0, 0, place.width, place.height])
        stream.Resources = pd.Dictionary()  # it draws no text: the fonts a viewer fills in with are the /DR's
        return stream

    def finish(self) -> None:
        """The AcroForm, and each page's widgets in tab order: from the top down, then left to right."""
        pd = self.pikepdf
        if not self.roots:
            return
        for number, widgets in sorted(self.widgets.items()):
            page = self.doc.pages[number].obj
            ordered = sorted(widgets, key=lambda pw: (-round(pw[0].y1, 0), pw[0].x0))
            annots = [a for a in page.get("/Annots", pd.Array()) if a.get("/Subtype") != pd.Name.Widget]
            page.Annots = pd.Array([*annots, *(w for _, w in ordered)])
            page.Tabs = pd.Name.S if self.tree is not None else pd.Name.R
        self.doc.Root.AcroForm = self.doc.make_indirect(pd.Dictionary(
            Fields=pd.Array(self.roots), DA=pd.String(f"/Helv {FONT_SIZE:g} Tf 0 g"),
            DR=pd.Dictionary(Font=pd.Dictionary(Helv=self.helv, ZaDb=self.zadb))))


class _Tree:
    """The structure tree of a tagged PDF, for its widgets: each one's /Form element goes under the element
    of its place (``/ConsentField``, consent/pdf/tags.py), or at the end of the document for a place
    outside the tree (a template's header fields, in the page header: an artifact); its /StructParent
    entry in the parent tree."""

    def __init__(self, doc: Any) -> None:
        import pikepdf

        from .tags import FIELD_KEY, elements

        self.pikepdf = pikepdf
        self.doc = doc
        self.root = doc.Root.StructTreeRoot
        self.document = self.root.K[0] if isinstance(self.root.K, pikepdf.Array) else self.root.K
        self.at: dict[str, list[Any]] = {}
        for element in elements(self.root):
            key = element.get("/" + FIELD_KEY)
            if key is not None:
                self.at.setdefault(str(key), []).append(element)
        self.used: dict[str, int] = {}
        tree = self.root.ParentTree
        self.nums = tree.Nums
        self.next = int(self.root.get("/ParentTreeNextKey", len(self.nums) // 2))

    def add(self, widget: Any, page: Any, place: FieldPlace, alt: str | None) -> None:
        pd = self.pikepdf
        key = f"{place.name}={place.value}" if place.value else place.name
        found = self.at.get(key, [])
        index = self.used.get(key, 0)
        parent = found[index] if index < len(found) and not place.header else self.document
        self.used[key] = index + 1
        element = pd.Dictionary(Type=pd.Name.StructElem, S=pd.Name.Form, P=parent, Pg=page,
                                K=pd.Dictionary(Type=pd.Name.OBJR, Obj=widget, Pg=page))
        if alt:
            element.Alt = pd.String(alt)
        element = self.doc.make_indirect(element)
        kids = parent.get("/K")
        if isinstance(kids, pd.Array):
            kids.append(element)
        else:
            parent.K = pd.Array([element] if kids is None else [kids, element])
        widget.StructParent = self.next
        self.nums.append(self.next)
        self.nums.append(element)
        self.next += 1
        self.root.ParentTreeNextKey = self.next


def _tags(doc: Any, places: Sequence[FieldPlace], esign: str, initials_by: str = "patient") -> None:
    """Print each place's tag in white, under everything the page draws: 1 pt for DocuSign (an
    anchor: only its position counts), and for Acrobat Sign as high as the field it makes and squeezed
    to the place's width (the tag's size is the field's size). ``initials_by``: whose the initials are."""
    import pikepdf

    by_page: dict[int, list[bytes]] = {}
    count = 0
    for place in places:
        text = tag(place.name, esign, count + 1, initials_by=initials_by)
        if text is None:
            continue
        count += 1
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        if esign == "docusign":
            size, scale, y = 1.0, 100.0, place.y1 - 2
        else:
            size = max(4.0, min(place.height * 0.6, 12.0))
            scale = 100 * (place.width - 2) / tag_font().width(text, size)
            y = place.y0 + 1 + 0.3 * size  # the braces' descent stays above the rule under the place
        by_page.setdefault(place.page, []).append(
            b"BT /ConsentTag %.2f Tf %.2f Tz 1 0 0 1 %.3f %.3f Tm (%s) Tj ET"
            % (size, scale, place.x0 + 1, y, escaped))
    font = embed(doc)  # embedded, as PDF/UA-1 requires of every font that draws (consent/pdf/tag_font.py)
    for number, lines in sorted(by_page.items()):
        page = doc.pages[number]
        resources = page.obj.get("/Resources")
        resources = pikepdf.Dictionary() if resources is None else pikepdf.Dictionary(resources)
        fonts = resources.get("/Font")
        fonts = pikepdf.Dictionary() if fonts is None else pikepdf.Dictionary(fonts)
        fonts.ConsentTag = font
        resources.Font = fonts
        page.obj.Resources = resources
        # Drawn first, under the page: a box's background (the key facts' blue) hides the tag as well.
        # An artifact: for the e-signature service, not for the reader.
        page.contents_add(pikepdf.Stream(doc, b"/Artifact BMC q 1 g\n" + b"\n".join(lines) + b"\nQ EMC\n"),
                          prepend=True)
