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
verdict says what is wrong with it. The content hash is recomputed as :mod:`consent.pdf.stamp` stamped
it; signatures are validated offline by :mod:`consent.signed.signatures`.

What a signature is taken to cover (issue 13: pdf-insecurity.org's incremental-save and shadow attacks,
which a signature's own difference analysis lets through as "form filling"):

- after the first signature, each incremental update may only sign the next signature field, add the
  clinic's invisible seal, or fill in a field left empty until then that belongs to a signer who signs it
  afterwards (:func:`consent.signed.changes.after_signing`); any other change to a field's value,
  appearance, place or flags, a field added or removed, is named with its update. Updates after the seal
  are the seal's to report;
- every text and radio field's appearance shows the value it holds (:func:`consent.signed.seen.unshown`):
  the value the EHR gets is the one the signer saw;
- a field added since the form was made may only be a signature field that draws nothing (on a form made
  with fields), and a widget of no field is drawn over the page (:func:`consent.signed.seen.overlays`);
- the embedded files are the ones consent stamped (``/consentdatahash``), and the facts of
  consent-form.json that ``consent record`` sends are printed on the pages
  (:func:`consent.signed.seen.unprinted`).

This module reads the form and gives the verdict; :mod:`consent.signed.stamped` reads the stamp and checks
the pages and embedded files against it, :mod:`consent.signed.changes` says what changed in the fields, and
:mod:`consent.signed.seen` whether the pages show what the file holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import pikepdf

from .._pdf_bounds import measured_first
from ..errors import NotAConsentForm
from ..pdf.acroform import Field, FormField, form_fields
from ..pdf.stamp import embedded_files, page_hashes
from ..template.signers import incomplete_reasons, merge_fields, missing
from .changes import SEAL_FIELD, FieldState, after_signing, field_changes, field_states, made_states
from .seen import overlays, unprinted, unshown
from .signatures import History, Signature, read_history
from .stamped import (
    Stamp,
    changed_in,
    compare_with_original,
    data_changes,
    first_revision_stamp,
    open_pdf,
    read_manifest,
    read_stamp,
)

__all__ = ["SEAL_FIELD", "Field", "SignedForm", "Verdict", "describe", "read_signed"]


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
    #: changes made after a signature that no later signature accounts for (see the README)
    after_signing: tuple[str, ...] = ()
    #: fields whose appearance does not show the value they hold ("screening.pregnant (holds No, shows Yes)")
    unshown: tuple[str, ...] = ()
    #: the embedded files (consent-form.json, ...) changed since the form was made (None: not stamped, a
    #: form made before consent stamped them)
    data_changes: tuple[str, ...] | None = None
    #: facts of the embedded form data that no page prints ("MRN SRH-999999")
    data_unprinted: tuple[str, ...] = ()
    #: a filled ``pdf-form`` template's merge fields, internal key -> field name ("patient.mrn" ->
    #: "Patient_MRN"; required, see consent.template.signers); empty for any other form
    merge_fields: dict[str, str] = attrs.field(factory=dict)

    @property
    def intact(self) -> bool:
        """The pages show exactly what they showed when consent made the form."""
        return not self.changed_pages and self.pages_added == 0

    @property
    def missing(self) -> tuple[str, ...]:
        """Required fields left empty (a signature field counts when it holds a signature), but the patient's
        signature and date when a representative signed for them (see :mod:`consent.template.signers`)."""
        return missing(self.fields)

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
            return Verdict("INCOMPLETE", incomplete_reasons(self.fields))
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
            "data_intact": (
                None if self.data_changes is None else not self.data_changes and not self.data_unprinted
            ),
            "changed_pages": list(self.changed_pages),
            "fields": [
                {"name": f.name, "kind": f.kind, "value": f.value, "required": f.required, "page": f.page}
                for f in self.fields
            ],
            "missing": list(self.missing),
            "merge_fields": dict(self.merge_fields),
            "signatures": [
                {
                    **attrs.asdict(s, filter=lambda a, _: a.name not in ("signed_at", "timestamp_at")),
                    "signed_at": s.signed_at.isoformat() if s.signed_at else None,
                    "timestamp_at": s.timestamp_at.isoformat() if s.timestamp_at else None,
                    "seal": s.field == SEAL_FIELD,
                }
                for s in self.signatures
            ],
        }

    def _unsigned_changes(self) -> list[str]:
        """What the signers did not see or sign: changes after a signature, values the page does not show,
        embedded data changed or not printed (issue 13)."""
        out = list(self.after_signing)
        if self.unshown:
            out.append(f"fields whose appearance does not show their value: {'; '.join(self.unshown)}")
        if self.data_changes:
            out.append(f"embedded data changed since it was made: {', '.join(self.data_changes)}")
        if self.data_unprinted:
            out.append(
                "the embedded form data (consent-form.json) is not the printed form: no page prints its "
                + ", ".join(self.data_unprinted)
            )
        return out

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
        out.extend(self._unsigned_changes())
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


@measured_first(NotAConsentForm)  # a compression bomb is refused before it is read (MAX_DECODED_BYTES)
def read_signed(
    pdf: bytes, *, original: bytes | None = None, trust_roots: Sequence[Any] | None = None
) -> SignedForm:
    """Read a consent form back: its id and manifest, its fields, whether its pages still show what they
    showed when it was made, and its signatures (checked against ``trust_roots``, certificates as loaded by
    :func:`consent.signed.signatures.load_trust_roots`; without them the signer's trust is not judged).
    ``original``: the form as made, to compare page by page too.

    Raises :class:`~consent.errors.NotAConsentForm` for a file that is not a PDF, is encrypted, or was not
    made by consent (no form id or content hash): a scan, or another program's PDF.
    """
    first = first_revision_stamp(pdf)
    history = read_history(pdf, trust_roots)
    with open_pdf(pdf) as doc:
        last = _last_stamp(doc, first)
        made = first or last
        assert made is not None  # one of them is there, or read_stamp raised
        now = page_hashes(doc)
        manifest = read_manifest(doc)
        held = _fields_now(pdf, doc, made, history)
    changed = tuple(n for n, (a, b) in enumerate(zip(made.pages, now, strict=False), 1) if a != b)
    original_pages, original_problem = None, ""
    if original is not None:
        original_pages, original_problem = compare_with_original(made.form_id, now, original)
    signatures = _signatures(history, held.fields)
    return SignedForm(
        form_id=made.form_id,
        manifest=manifest,
        page_count=len(now),
        changed_pages=changed,
        fields=_as_read(held.fields, signatures, held.merge),
        pages_added=len(now) - len(made.pages),
        revisions=history.revisions,
        signatures=signatures,
        trust_checked=trust_roots is not None,
        stamp_replaced=first is not None and last not in (None, first),
        original_pages=original_pages,
        original_problem=original_problem,
        changed_in=changed_in(pdf, made.pages, changed) if changed else {},
        field_changes=field_changes(made.fields, held.fields, held.states),
        overlays=held.overlays,
        after_signing=after_signing(pdf, history, signatures),
        unshown=held.unshown,
        data_changes=held.data_changes,
        data_unprinted=held.unprinted,
        merge_fields=held.merge,
    )


def _last_stamp(doc: pikepdf.Pdf, first: Stamp | None) -> Stamp | None:
    """The stamp as the file holds it now, after any update; None when it holds none but its first revision
    was stamped (``first``: the stamp is then the first revision's). Raises
    :class:`~consent.errors.NotAConsentForm` when neither is stamped."""
    try:
        return read_stamp(doc)
    except NotAConsentForm:
        if first is None:
            raise
        return None


@attrs.frozen
class _FieldsNow:
    """The form's fields as the file holds them now, and what its pages and embedded files say of them: what
    :func:`read_signed` reads while the file is open."""

    fields: list[Field]  # the form's fields, without the clinic's seal
    states: dict[str, FieldState]  # every field, the seal's included ({}: they cannot be read)
    overlays: tuple[str, ...]
    unshown: tuple[str, ...]
    data_changes: tuple[str, ...] | None
    merge: dict[str, str]  # a pdf-form template's merge fields ({}: another form)
    unprinted: tuple[str, ...]


def _fields_now(pdf: bytes, doc: pikepdf.Pdf, made: Stamp, history: History) -> _FieldsNow:
    """The fields of the open file ``doc`` (``pdf``, its bytes) and what its pages show of them, and its
    embedded files against the stamp ``made``."""
    everything = form_fields(doc)
    entries = [e for e in everything if e.field.name != SEAL_FIELD]
    fields = [e.field for e in entries]
    drawn_over = overlays(doc, everything)
    states, not_shown = _appearances(pdf, history, everything, entries)
    changed_data = None if made.data is None else data_changes(dict(made.data), embedded_files(doc))
    merge = merge_fields(made.merge, [f.name for f in fields if f.kind == "text"])
    not_printed = unprinted(pdf, doc, entries, merged=set(merge))
    return _FieldsNow(fields, states, drawn_over, not_shown, changed_data, merge, not_printed)


def _appearances(
    pdf: bytes, history: History, everything: list[FormField], entries: list[FormField]
) -> tuple[dict[str, FieldState], tuple[str, ...]]:
    """Every field as it is now (``everything``: the seal's included), and the fields of ``entries`` whose
    appearance does not show the value they hold (compared with the fields as consent made them), or why
    the appearances cannot be read."""
    try:
        states = field_states(everything)
        return states, unshown(entries, states, made_states(pdf, history) or states)
    # A damaged or hostile field tree meets qpdf's errors (and pikepdf's RuntimeErrors) anywhere in it.
    except Exception as exc:  # noqa: BLE001
        return {}, (f"(the fields' appearances cannot be read: {exc})",)


def _signatures(history: History, fields: list[Field]) -> tuple[Signature, ...]:
    """The file's signatures, the seal included, in signing order."""
    if history.revisions == 0 and not any(f.kind == "signature" and f.filled for f in fields):
        return ()  # pyHanko cannot read this file, and there is no signature for it to read
    return history.signatures


def _as_read(
    fields: list[Field], signatures: tuple[Signature, ...], merge: dict[str, str]
) -> tuple[Field, ...]:
    """The fields as :class:`SignedForm` holds them: a signed signature field's value is its signer (as its
    signature names them), and a template's merge field is required."""
    signers = {s.field: s.signer or "(signed)" for s in signatures}
    return tuple(
        attrs.evolve(f, value=signers.get(f.name, f.value)) if f.kind == "signature"
        else attrs.evolve(f, required=True) if f.name in merge.values() and f.kind == "text"
        else f
        for f in fields
    )


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
        "Embedded data: "
        + (
            "not stamped when it was made (an earlier version of consent); compared with the printed pages"
            if signed.data_changes is None
            else "CHANGED since it was made" if signed.data_changes else "unchanged since it was made"
        ),
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
