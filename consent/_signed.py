"""The return path: read a consent form back after it was filled in, signed and perhaps sealed.

    import consent

    signed = consent.read_signed(Path("signed.pdf").read_bytes())
    signed.form_id          # "CF-7017-A7D6-C860"
    signed.manifest         # the clauses, versions and checks behind the form (dict)
    signed.fields           # (Field("patient.date", "text", "2026-11-21", required=True, page=11), ...)
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
import re
from collections.abc import Sequence
from typing import Any

import attrs
import pikepdf

from ._acroform import Field, dictionaries, read_fields, text
from ._pdf_stamp import FIELDS_KEY, FORM_ID_KEY, HASH_KEY, PAGES_KEY, content_hash, page_hashes
from ._signatures import Signature, read_signatures
from .errors import NotAConsentForm

SEAL_FIELD = "consent-seal"  #: the clinic's seal: a signature field of its own, never one of the patient's
_MANIFESTS = ("consent-manifest.json", "consent-form.json")
# Annotations that are the form's fields, or draw nothing of their own over the page.
_NOT_DRAWN = ("/Widget", "/Link", "/Popup")

__all__ = ["SEAL_FIELD", "Field", "SignedForm", "Verdict", "describe", "read_signed"]


@attrs.frozen
class _Stamp:
    form_id: str
    pages: tuple[str, ...]  # page hashes
    fields: tuple[str, ...] | None  # field layouts (None: not recorded)


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
    #: pages differing from the original given (None: no original given)
    original_pages: tuple[int, ...] | None = None
    original_problem: str = ""  #: why the original does not match at all (another form)
    #: an update after the first revision rewrote the stamp (dropping it is no change)
    stamp_replaced: bool = False
    #: changed page -> the incremental update that changed it (when the file's history shows it)
    changed_in: dict[int, int] = attrs.field(factory=dict)
    field_changes: tuple[str, ...] = ()  #: fields removed, added, moved or made optional since it was made
    #: annotations drawn over the pages that are not form fields ("page 3: FreeText")
    overlays: tuple[str, ...] = ()

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
        # The seal is the clinic's word for the whole file: it must chain to a trust root given. The
        # patient's and provider's certificates may come from anywhere; their trust is shown, not judged.
        if self.trust_checked and seal is not None and not seal.trusted:
            reason = f"sealed by {seal.signer}, whom the given trust roots do not vouch for"
            return Verdict("UNTRUSTED", (reason,))
        if self.missing:
            return Verdict("INCOMPLETE", (f"required fields not filled: {', '.join(self.missing)}",))
        if not self.fields and not any(s.field != SEAL_FIELD for s in self.signatures):
            return Verdict(
                "INCOMPLETE",
                (
                    "nothing filled in or signed: a flat form, without fields "
                    "(make it with --fillable to sign it on screen)",
                ),
            )
        return Verdict("INTACT", ("sealed" if seal else "not sealed",))

    def to_dict(self) -> dict[str, Any]:
        """Everything ``consent verify --format json`` prints: the verdict, the form and its signatures."""
        verdict = self.verdict
        return {
            "verdict": verdict.status,
            "reasons": list(verdict.reasons),
            "exit_code": verdict.exit_code,
            "form_id": self.form_id,
            "manifest": self.manifest,
            "page_count": self.page_count,
            "incremental_updates": max(self.revisions - 1, 0),
            "content_intact": self.intact,
            "changed_pages": list(self.changed_pages),
            "fields": [
                {"name": f.name, "kind": f.kind, "value": f.value, "required": f.required, "page": f.page}
                for f in self.fields
            ],
            "missing": list(self.missing),
            "signatures": [
                {
                    **attrs.asdict(s, filter=lambda a, _: a.name != "signed_at"),
                    "signed_at": s.signed_at.isoformat() if s.signed_at else None,
                    "seal": s.field == SEAL_FIELD,
                }
                for s in self.signatures
            ],
        }

    def _alterations(self) -> list[str]:
        out = []
        by_update: dict[int | None, list[int]] = {}
        for page in self.changed_pages:
            by_update.setdefault(self.changed_in.get(page), []).append(page)
        for update, pages in by_update.items():
            where = f" (in incremental update {update})" if update else ""
            plural = "s" if len(pages) > 1 else ""
            out.append(f"page{plural} {', '.join(map(str, pages))} content changed since it was made{where}")
        if self.pages_added:
            n = abs(self.pages_added)
            out.append(
                f"{n} page{'s' if n > 1 else ''} {'added' if self.pages_added > 0 else 'removed'} "
                f"since it was made"
            )
        if self.field_changes:
            out.append(f"fields changed since it was made: {'; '.join(self.field_changes)}")
        if self.overlays:
            out.append(f"drawn over the pages, not a form field: {', '.join(self.overlays)}")
        if self.stamp_replaced:
            out.append("the form id or content hash written when it was made was replaced in a later update")
        if self.original_problem:
            out.append(self.original_problem)
        elif self.original_pages:
            out.append(f"differs from the original on page {', '.join(map(str, self.original_pages))}")
        validated = {s.field for s in self.signatures}
        for f in self.fields:
            if f.kind == "signature" and f.filled and f.name not in validated:
                out.append(f"signature {f.name} cannot be validated: it is not a complete signature")
        for sig in self.signatures:
            if sig.problem:
                out.append(f"signature {sig.field}: {sig.problem}")
            elif not sig.intact or not sig.valid:
                out.append(f"signature {sig.field} is broken: what it signed was changed")
            elif sig.field == SEAL_FIELD and not sig.covers_whole_file:
                out.append(f"changed after it was sealed ({sig.changes_after})")
            elif not sig.changes_allowed:
                out.append(
                    f"changed after {sig.field} was signed, beyond filling in the form ({sig.changes_after})"
                )
        return out


def read_signed(
    pdf: bytes, *, original: bytes | None = None, trust_roots: Sequence[Any] | None = None
) -> SignedForm:
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
            last: _Stamp | None = _stamp(doc)
        except NotAConsentForm:
            if first is None:
                raise
            last = None
        now = page_hashes(doc)
        manifest = _manifest(doc)
        fields = [f for f in read_fields(doc) if f.name != SEAL_FIELD]
        overlays = tuple(
            f"page {n}: {subtype.removeprefix('/') or '?'}"
            for n, page in enumerate(doc.pages, 1)
            for a in dictionaries(page.obj.get("/Annots"))
            if (subtype := text(a.get("/Subtype"))) not in _NOT_DRAWN
        )
    made = first or last
    assert made is not None  # one of them is there, or _stamp raised
    changed = tuple(n for n, (a, b) in enumerate(zip(made.pages, now, strict=False), 1) if a != b)
    original_pages, original_problem = None, ""
    if original is not None:
        original_pages, original_problem = _compare(made.form_id, now, original)
    revisions, signatures = read_signatures(pdf, trust_roots)
    if revisions == 0 and not any(f.kind == "signature" and f.filled for f in fields):
        signatures = ()  # pyHanko cannot read this file, and there is no signature for it to read
    signers = {s.field: s.signer or "(signed)" for s in signatures}
    return SignedForm(
        form_id=made.form_id,
        manifest=manifest,
        page_count=len(now),
        changed_pages=changed,
        fields=tuple(
            attrs.evolve(f, value=signers.get(f.name, f.value)) if f.kind == "signature" else f
            for f in fields
        ),
        pages_added=len(now) - len(made.pages),
        revisions=revisions,
        signatures=signatures,
        trust_checked=trust_roots is not None,
        stamp_replaced=first is not None and last not in (None, first),
        original_pages=original_pages,
        original_problem=original_problem,
        changed_in=_changed_in(pdf, made.pages, changed) if changed else {},
        field_changes=_field_changes(made.fields, fields),
        overlays=overlays,
    )


def _changed_in(pdf: bytes, stamped: tuple[str, ...], changed: tuple[int, ...]) -> dict[int, int]:
    """For each changed page, the incremental update that changed it (1 = the first update after the form
    was made), from the file's history: each revision ends at a %%EOF. A page that differs already in the
    first revision (the file rewritten, or edited in place) has no such update and is left out."""
    ends = [m.end() for m in re.finditer(rb"%%EOF", pdf)]
    found: dict[int, int] = {}
    for update, end in enumerate(ends):
        try:
            with pikepdf.open(io.BytesIO(pdf[:end])) as doc:
                hashes = page_hashes(doc)
        except pikepdf.PdfError:
            continue
        for page in changed:
            if page not in found and page <= len(hashes) and hashes[page - 1] != stamped[page - 1]:
                found[page] = update
    return {page: update for page, update in found.items() if update}


def _field_changes(made: tuple[str, ...] | None, now: list[Field]) -> tuple[str, ...]:
    """What changed in the fields themselves (not their values) since the form was made. A signature field
    added by a signer's software is no change (it shows in the signatures)."""
    if made is None:
        return ()
    before = {line.split(" ", 1)[0]: line for line in made}
    after = {f.name: f for f in now}
    out = [f"{name} removed" for name in before if name not in after]
    out += [f"{name} added" for name, f in after.items() if name not in before and f.kind != "signature"]
    out += [
        f"{name} moved, or its kind or required flag changed"
        for name, f in after.items()
        if name in before and before[name] != f.layout
    ]
    return tuple(out)


def _open(pdf: bytes) -> pikepdf.Pdf:
    if b"%PDF-" not in pdf[:1024]:  # readers accept a header anywhere in the first kilobyte
        raise NotAConsentForm("this file is not a PDF")
    try:
        doc = pikepdf.open(io.BytesIO(pdf))
    except pikepdf.PasswordError:
        raise NotAConsentForm("it is encrypted (password protected); consent never encrypts a form") from None
    except pikepdf.PdfError as exc:
        reason = re.sub(r"^.*?object at 0x[0-9a-f]+>\)?:?\s*", "", str(exc))  # qpdf names the buffer first
        raise NotAConsentForm(f"it is not a readable PDF ({reason})") from None
    if doc.is_encrypted:
        doc.close()
        raise NotAConsentForm("it is encrypted; consent never encrypts a form")
    return doc


def _first_revision_stamp(pdf: bytes) -> _Stamp | None:
    """The stamp as consent wrote it: read from the file's first revision (everything up to its first
    %%EOF), which later incremental updates cannot change. None when the file has one revision only, or
    the first one is not a stamped consent form."""
    end = pdf.find(b"%%EOF")
    if end < 0 or not pdf[end + 5 :].strip():
        return None
    try:
        with pikepdf.open(io.BytesIO(pdf[: end + 5])) as doc:
            return _stamp(doc)
    except (pikepdf.PdfError, NotAConsentForm):
        return None


def _stamp(doc: pikepdf.Pdf) -> _Stamp:
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
            hint="forms made by an earlier version of consent carry no content hash; make the form again",
        )
    fields = info.get(FIELDS_KEY)
    return _Stamp(form_id, tuple(stamped), None if fields is None else tuple(str(fields).splitlines()))


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


def _compare(form_id: str, now: list[str], original: bytes) -> tuple[tuple[int, ...], str]:
    """Pages that differ from the original form, or why the original is not this form at all."""
    try:
        with _open(original) as doc:
            other_id = _stamp(doc).form_id
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
        differs = f"differs on page {', '.join(map(str, signed.original_pages))}"
        same = "same pages"
        lines.append("Original: " + (signed.original_problem or (differs if signed.original_pages else same)))
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
    return (
        f"{state}, signed by {s.signer}{when}{stamp}; {trust}\n"
        f"    covers {s.coverage}; changes after it: {s.changes_after}"
    )
