"""The return path: read a consent form back after it was filled in, signed and perhaps sealed.

    import consent

    signed = consent.read_signed(Path("signed.pdf").read_bytes())
    signed.form_id          # "CF-7017-A7D6-C860"
    signed.manifest         # the clauses, versions and checks behind the form (dict)
    signed.fields           # Field(name="patient.date", kind="text", value="2026-11-21", required=True, page=12), ...
    signed.intact           # the pages show what they showed when the form was made
    signed.verdict.status   # "INTACT", "ALTERED", "INCOMPLETE" or "UNTRUSTED"; .exit_code; .reasons

A file that is not a PDF, an encrypted PDF, or a PDF that consent did not make (a scan) raises
:class:`consent.errors.NotAConsentForm`; a form that consent made is always read, altered or not, and the
verdict says what is wrong with it. The content hash is recomputed as :mod:`consent._pdf_stamp` stamped
it; signatures are validated offline by :mod:`consent._signatures`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import attrs
import pikepdf

from ._pdf_stamp import FORM_ID_KEY, HASH_KEY, PAGES_KEY, content_hash, page_hashes
from ._signatures import Signature, read_signatures
from .errors import NotAConsentForm

SEAL_FIELD = "consent-seal"  #: the clinic's seal: a signature field of its own, never one of the patient's
_MANIFESTS = ("consent-manifest.json", "consent-form.json")
_RADIO = 1 << 15
_REQUIRED = 1 << 1


@attrs.frozen
class Field:
    """A form field as filled in."""

    name: str  #: fully qualified, e.g. ``patient.signature``, ``initials.risks``, ``screening.pregnant``
    kind: str  #: "text", "signature", "radio", "checkbox" or "choice"
    value: str  #: the text, the chosen option ("Yes"/"No"), or the signer's name; "" when empty
    required: bool
    page: int | None  #: 1-based page of its first widget

    @property
    def filled(self) -> bool:
        return bool(self.value.strip())


@attrs.frozen
class Verdict:
    """What ``consent verify`` prints first, and its exit code."""

    status: str  #: "INTACT", "ALTERED", "INCOMPLETE" or "UNTRUSTED"
    reasons: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 intact and complete, 3 intact but incomplete, 1 anything else (altered, untrusted seal)."""
        return {"INTACT": 0, "INCOMPLETE": 3}.get(self.status, 1)

    def __str__(self) -> str:
        return f"{self.status}: {'; '.join(self.reasons)}" if self.reasons else self.status


@attrs.frozen
class SignedForm:
    """A consent form read back (see the module docstring)."""

    form_id: str
    manifest: dict[str, Any]
    fields: tuple[Field, ...]  #: the form's fields, without the clinic's seal
    page_count: int
    changed_pages: tuple[int, ...]  #: 1-based pages whose content differs from what was stamped
    pages_added: int  #: pages now minus pages stamped (negative: removed)
    revisions: int  #: 1 + the incremental updates appended since the file was first written
    signatures: tuple[Signature, ...]  #: every signature, the seal included, in signing order
    trust_checked: bool = False  #: trust roots were given, so ``Signature.trusted`` means something
    original_pages: tuple[int, ...] | None = None  #: pages differing from the original given (None: none given)
    original_problem: str = ""  #: why the original does not match at all (another form)
    stamp_replaced: bool = False  #: an update after the first revision rewrote the stamp (dropping it is no change)

    @property
    def intact(self) -> bool:
        """The pages show exactly what they showed when consent made the form."""
        return not self.changed_pages and self.pages_added == 0

    @property
    def missing(self) -> tuple[str, ...]:
        """Required fields left empty (a signature field counts when it holds a signature)."""
        return tuple(f.name for f in self.fields if f.required and not f.filled)

    @property
    def seal(self) -> Signature | None:
        return next((s for s in self.signatures if s.field == SEAL_FIELD), None)

    @property
    def verdict(self) -> Verdict:
        altered = self._alterations()
        if altered:
            return Verdict("ALTERED", tuple(altered))
        seal = self.seal
        if self.trust_checked and any(s.trusted is False for s in self.signatures):
            names = ", ".join(s.field for s in self.signatures if s.trusted is False)
            return Verdict("UNTRUSTED", (f"signed by a certificate the given trust roots do not vouch for: {names}",))
        if self.missing:
            return Verdict("INCOMPLETE", (f"required fields not filled: {', '.join(self.missing)}",))
        return Verdict("INTACT", ("sealed" if seal else "not sealed",))

    def _alterations(self) -> list[str]:
        out = []
        if self.changed_pages:
            pages = ", ".join(map(str, self.changed_pages))
            out.append(f"page{'s' if len(self.changed_pages) > 1 else ''} {pages} content changed since it was made")
        if self.pages_added:
            n = abs(self.pages_added)
            out.append(f"{n} page{'s' if n > 1 else ''} {'added' if self.pages_added > 0 else 'removed'} "
                       f"since it was made")
        if self.stamp_replaced:
            out.append("the form id or content hash written when it was made was replaced in a later update")
        if self.original_problem:
            out.append(self.original_problem)
        elif self.original_pages:
            out.append(f"differs from the original on page {', '.join(map(str, self.original_pages))}")
        for sig in self.signatures:
            if sig.problem:
                out.append(f"signature {sig.field}: {sig.problem}")
            elif not sig.intact or not sig.valid:
                out.append(f"signature {sig.field} is broken: what it signed was changed")
            elif sig.field == SEAL_FIELD and not sig.covers_whole_file:
                out.append(f"changed after it was sealed ({sig.changes_after})")
            elif not sig.changes_allowed:
                out.append(f"changed after {sig.field} was signed, beyond filling in the form ({sig.changes_after})")
        return out


def read_signed(pdf: bytes, *, original: bytes | None = None, trust_roots: Sequence[Any] | None = None) -> SignedForm:
    """Read a consent form back: its id and manifest, its fields, whether its pages still show what they
    showed when it was made, and its signatures (checked against ``trust_roots``, certificates as loaded by
    :func:`consent._signatures.load_trust_roots`; without them the signer's trust is not judged).
    ``original``: the form as made, to compare page by page too.

    Raises :class:`~consent.errors.NotAConsentForm` for a file that is not a PDF, is encrypted, or was not
    made by consent (no form id or content hash): a scan, or another program's PDF.
    """
    first = _first_revision_stamp(pdf)
    with _open(pdf) as doc:
        try:
            last: tuple[str, list[str]] | None = _stamp(doc)
        except NotAConsentForm:
            if first is None:
                raise
            last = None
        now = page_hashes(doc)
        manifest = _manifest(doc)
        fields = _fields(doc)
    form_id, stamped = first or last  # type: ignore[misc]  # one of them is there, or _stamp raised
    changed = tuple(n for n, (a, b) in enumerate(zip(stamped, now, strict=False), 1) if a != b)
    original_pages, original_problem = None, ""
    if original is not None:
        original_pages, original_problem = _compare(form_id, now, original)
    revisions, signatures = read_signatures(pdf, trust_roots)
    signers = {s.field: s.signer or "(signed)" for s in signatures}
    fields = tuple(attrs.evolve(f, value=signers.get(f.name, "")) if f.kind == "signature" else f
                   for f in fields if f.name != SEAL_FIELD)
    return SignedForm(form_id=form_id, manifest=manifest, fields=fields, page_count=len(now),
                      changed_pages=changed, pages_added=len(now) - len(stamped), revisions=revisions,
                      signatures=signatures, trust_checked=trust_roots is not None, stamp_replaced=None not in (first, last)
                      and first != last,
                      original_pages=original_pages, original_problem=original_problem)


def _open(pdf: bytes) -> pikepdf.Pdf:
    if not pdf.lstrip()[:5].startswith(b"%PDF"):
        raise NotAConsentForm("this file is not a PDF")
    try:
        doc = pikepdf.open(io.BytesIO(pdf))
    except pikepdf.PasswordError:
        raise NotAConsentForm("it is encrypted (password protected); consent never encrypts a form") from None
    except pikepdf.PdfError as exc:
        raise NotAConsentForm(f"it is not a readable PDF ({exc})") from None
    if doc.is_encrypted:
        doc.close()
        raise NotAConsentForm("it is encrypted; consent never encrypts a form")
    return doc


def _first_revision_stamp(pdf: bytes) -> tuple[str, list[str]] | None:
    """The stamp as consent wrote it: read from the file's first revision (everything up to its first
    %%EOF), which later incremental updates cannot change. None when the file has one revision only, or
    the first one is not a stamped consent form."""
    end = pdf.find(b"%%EOF")
    if end < 0 or not pdf[end + 5:].strip():
        return None
    try:
        with pikepdf.open(io.BytesIO(pdf[: end + 5])) as doc:
            return _stamp(doc)
    except (pikepdf.PdfError, NotAConsentForm):
        return None


def _stamp(doc: pikepdf.Pdf) -> tuple[str, list[str]]:
    info = doc.docinfo
    form_id = str(info.get(FORM_ID_KEY, "")).strip()
    if not form_id:
        raise NotAConsentForm(
            "it carries no consent form id: a scan, or a PDF another program made",
            hint="only a PDF made by consent (and then filled in or signed) can be verified",
        )
    stamped = str(info.get(PAGES_KEY, "")).split()
    if not stamped or content_hash(stamped) != str(info.get(HASH_KEY, "")):
        raise NotAConsentForm(
            f"form {form_id} carries no valid content hash, so what it showed cannot be proved",
            hint="forms made by consent before version 0.2 are not stamped; make the form again",
        )
    return form_id, stamped


def _manifest(doc: pikepdf.Pdf) -> dict[str, Any]:
    """The manifest attached to the form (the archival attachment holds it under "manifest")."""
    for name in _MANIFESTS:
        if name in doc.attachments:
            try:
                data = json.loads(doc.attachments[name].get_file().read_bytes())
            except (ValueError, pikepdf.PdfError):
                continue
            if isinstance(data, dict):
                inner = data.get("manifest")
                return inner if isinstance(inner, dict) else data
    try:
        data = json.loads(str(doc.docinfo.get("/consentmanifest", "{}")))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _fields(doc: pikepdf.Pdf) -> list[Field]:
    acroform = doc.Root.get("/AcroForm")
    if not isinstance(acroform, pikepdf.Dictionary):
        return []
    pages = {annot.objgen: n for n, page in enumerate(doc.pages, 1)
             for annot in page.obj.get("/Annots", pikepdf.Array()) if isinstance(annot, pikepdf.Dictionary)}
    out: list[Field] = []
    seen: set[tuple[int, int]] = set()

    def walk(node: Any, prefix: str, inherited: dict[str, Any]) -> None:
        if not isinstance(node, pikepdf.Dictionary) or (node.is_indirect and node.objgen in seen):
            return
        if node.is_indirect:
            seen.add(node.objgen)
        attrs_ = {**inherited, **{k: node[k] for k in ("/FT", "/Ff", "/V") if k in node}}
        name = prefix + (str(node["/T"]) if "/T" in node else "")
        kids = [k for k in node.get("/Kids", pikepdf.Array()) if isinstance(k, pikepdf.Dictionary)]
        named_kids = [k for k in kids if "/T" in k]
        if named_kids:
            for kid in named_kids:
                walk(kid, name + ".", attrs_)
            return
        widgets = kids or [node]
        page = next((pages[w.objgen] for w in widgets if w.is_indirect and w.objgen in pages), None)
        out.append(_field(name, attrs_, page))

    for top in acroform.get("/Fields", pikepdf.Array()):
        walk(top, "", {})
    return out


def _field(name: str, a: dict[str, Any], page: int | None) -> Field:
    ft, flags, value = str(a.get("/FT", "")), int(a.get("/Ff", 0)), a.get("/V")
    if ft == "/Sig":
        return Field(name, "signature", "", bool(flags & _REQUIRED), page)
    if ft == "/Btn":
        # A Name, as the standard says; some writers (pypdf) store the name as a string "/No".
        chosen = str(value).removeprefix("/") if isinstance(value, pikepdf.Name | pikepdf.String) else ""
        kind = "radio" if flags & _RADIO else "checkbox"
        return Field(name, kind, "" if chosen == "Off" else chosen, bool(flags & _REQUIRED), page)
    if isinstance(value, pikepdf.Array):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value) if isinstance(value, pikepdf.String | pikepdf.Name) else ""
    return Field(name, "choice" if ft == "/Ch" else "text", text, bool(flags & _REQUIRED), page)


def _compare(form_id: str, now: list[str], original: bytes) -> tuple[tuple[int, ...], str]:
    """Pages that differ from the original form, or why the original is not this form at all."""
    try:
        with _open(original) as doc:
            other_id, _ = _stamp(doc)
            then = page_hashes(doc)
    except NotAConsentForm as exc:
        return (), f"the original given is not a consent form: {exc.summary}"
    if other_id != form_id:
        return (), f"the original given is form {other_id}, not {form_id}"
    if len(then) != len(now):
        return (), f"the original has {len(then)} pages, this file {len(now)}"
    return tuple(n for n, (a, b) in enumerate(zip(then, now, strict=True), 1) if a != b), ""


def describe(signed: SignedForm) -> str:
    """The report ``consent verify`` prints: the verdict first, then the form, its fields and signatures."""
    manifest = signed.manifest
    treatment = manifest.get("treatment") or {}
    what = f"{treatment.get('id', '?')} {treatment.get('version', '')}".strip()
    updates = signed.revisions - 1
    lines = [
        str(signed.verdict),
        f"Form {signed.form_id} ({what}, template {manifest.get('template_version', '?')}), "
        f"{signed.page_count} page{'s' if signed.page_count != 1 else ''}, "
        f"{updates} incremental update{'s' if updates != 1 else ''} since it was written",
        "Content: " + ("unchanged since it was made" if signed.intact else "CHANGED since it was made"),
    ]
    if signed.original_pages is not None:
        same = not signed.original_pages and not signed.original_problem
        lines.append("Original: " + ("same pages" if same else signed.original_problem or "differs"))
    lines.append("Fields:" if signed.fields else "Fields: none (a flat form, signed on paper?)")
    width = max((len(f.name) for f in signed.fields), default=0)
    for f in signed.fields:
        shown = f.value if f.filled else "(empty)"
        flag = "  required" if f.required else ""
        lines.append(f"  {f.name:<{width}}  {f.kind:<9}  {shown}{flag}")
    if signed.signatures:
        lines.append("Signatures:")
    for s in signed.signatures:
        lines.append(f"  {s.field}: {_signature_line(s, signed.trust_checked)}")
    return "\n".join(lines)


def _signature_line(s: Signature, trust_checked: bool) -> str:
    if s.problem:
        return s.problem
    state = "valid" if s.intact and s.valid else "BROKEN"
    if not trust_checked:
        trust = "signer not checked against a trust root (give --trust CA.pem)"
    else:
        trust = "signer trusted" if s.trusted else "signer NOT trusted by the given roots"
    when = f" at {s.signed_at:%Y-%m-%d %H:%M %Z}" if s.signed_at else ""
    stamp = ", timestamped" if s.timestamped else ""
    return (f"{state}, signed by {s.signer}{when}{stamp}; {trust}; covers {s.coverage}; "
            f"changes after it: {s.changes_after}")
