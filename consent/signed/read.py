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
  afterwards (:func:`_after_signing`); any other change to a field's value, appearance, place or flags, a
  field added or removed, is named with its update. Updates after the seal are the seal's to report;
- every text and radio field's appearance shows the value it holds (:func:`_unshown`): the value the EHR
  gets is the one the signer saw;
- a field added since the form was made may only be a signature field that draws nothing (on a form made
  with fields), and a widget of no field is drawn over the page (:func:`_overlays`);
- the embedded files are the ones consent stamped (``/consentdatahash``), and the facts of
  consent-form.json that ``consent record`` sends are printed on the pages (:func:`_unprinted`).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import json
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import pikepdf

from .._pdf_bounds import measured_first
from ..errors import NotAConsentForm
from ..pdf.acroform import Field, FormField, dictionaries, draws_nothing, form_fields, same_text, shown, text
from ..pdf.stamp import (
    DATA_KEY,
    FIELDS_KEY,
    FORM_ID_KEY,
    HASH_KEY,
    PAGES_KEY,
    content_hash,
    digests_without,
    embedded_files,
    page_hashes,
)
from ..template.signers import MERGE_FIELDS_KEY, incomplete_reasons, merge_fields, missing
from .signatures import History, Signature, read_history

SEAL_FIELD = "consent-seal"  #: the clinic's seal: a signature field of its own, never one of the patient's
_MANIFESTS = ("consent-manifest.json", "consent-form.json")
# Annotations that are the form's fields, or draw nothing of their own over the page.
_NOT_DRAWN = ("/Widget", "/Link", "/Popup")
# Who fills a field in: the signer whose signature covers it (see _after_signing).
_ROLES = ("patient", "representative", "witness", "provider")
_PATIENTS = ("initials", "screening")
# A form is signed by at most four signers and sealed once; each may sign in an update of their own after
# filling in their fields in another. More updates than this after the first signature are refused rather
# than each read (a file of a thousand updates would take minutes).
_MAX_UPDATES_AFTER_SIGNING = 32

__all__ = ["SEAL_FIELD", "Field", "SignedForm", "Verdict", "describe", "read_signed"]


@attrs.frozen
class _Stamp:
    form_id: str
    pages: tuple[str, ...]  # page hashes
    fields: tuple[str, ...] | None  # field layouts (None: not recorded)
    data: tuple[tuple[str, str], ...] | None = None  # embedded files and their digests (None: not recorded)
    merge: str | None = None  # a pdf-form template's merge fields (see consent.template.signers); None: not recorded


@attrs.frozen
class _State:
    """A field at one revision of the file: what :func:`_after_signing` compares."""

    kind: str
    value: str  # as Field.value; a signature: "signed <its object>" or ""
    layout: str
    look: bytes  # the digest of its dictionaries but the page links (and a signature's value)
    buttons: tuple[bytes, ...]  # each widget's /AP digest (what a radio button looks like in each state)
    drawn: int | None  # the page one of its widgets draws on; None: no widget draws anything


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
    first = _first_revision_stamp(pdf)
    history = read_history(pdf, trust_roots)
    with _open(pdf) as doc:
        try:
            last: _Stamp | None = _stamp(doc)
        except NotAConsentForm:
            if first is None:
                raise
            last = None
        made = first or last
        assert made is not None  # one of them is there, or _stamp raised
        now = page_hashes(doc)
        manifest = _manifest(doc)
        everything = form_fields(doc)
        entries = [e for e in everything if e.field.name != SEAL_FIELD]
        fields = [e.field for e in entries]
        overlays = _overlays(doc, everything)
        try:
            states = _states(everything)
            unshown = _unshown(entries, states, _made_states(pdf, history) or states)
        # A damaged or hostile field tree meets qpdf's errors (and pikepdf's RuntimeErrors) anywhere in it.
        except Exception as exc:  # noqa: BLE001
            states, unshown = {}, (f"(the fields' appearances cannot be read: {exc})",)
        data_changes = None if made.data is None else _data_changes(dict(made.data), embedded_files(doc))
        merge = merge_fields(made.merge, [f.name for f in fields if f.kind == "text"])
        unprinted = _unprinted(pdf, doc, entries, merged=set(merge))
    changed = tuple(n for n, (a, b) in enumerate(zip(made.pages, now, strict=False), 1) if a != b)
    original_pages, original_problem = None, ""
    if original is not None:
        original_pages, original_problem = _compare(made.form_id, now, original)
    signatures = history.signatures
    if history.revisions == 0 and not any(f.kind == "signature" and f.filled for f in fields):
        signatures = ()  # pyHanko cannot read this file, and there is no signature for it to read
    signers = {s.field: s.signer or "(signed)" for s in signatures}
    return SignedForm(
        form_id=made.form_id,
        manifest=manifest,
        page_count=len(now),
        changed_pages=changed,
        fields=tuple(
            attrs.evolve(f, value=signers.get(f.name, f.value)) if f.kind == "signature"
            else attrs.evolve(f, required=True) if f.name in merge.values() and f.kind == "text"
            else f
            for f in fields
        ),
        pages_added=len(now) - len(made.pages),
        revisions=history.revisions,
        signatures=signatures,
        trust_checked=trust_roots is not None,
        stamp_replaced=first is not None and last not in (None, first),
        original_pages=original_pages,
        original_problem=original_problem,
        changed_in=_changed_in(pdf, made.pages, changed) if changed else {},
        field_changes=_field_changes(made.fields, fields, states),
        overlays=overlays,
        after_signing=_after_signing(pdf, history, signatures),
        unshown=unshown,
        data_changes=data_changes,
        data_unprinted=unprinted,
        merge_fields=merge,
    )


def _overlays(doc: pikepdf.Pdf, entries: list[FormField]) -> tuple[str, ...]:
    """Annotations drawn over the pages that are not the form's fields: any but a link or a popup, and a
    widget that belongs to no field (a viewer shows it all the same); an XFA form, which some viewers
    show instead of the fields."""
    widgets = {w.objgen for e in entries for w in e.widgets if w.is_indirect}
    out = []
    for n, page in enumerate(doc.pages, 1):
        for a in dictionaries(page.obj.get("/Annots")):
            subtype = text(a.get("/Subtype"))
            orphan = subtype == "/Widget" and not (a.is_indirect and a.objgen in widgets)
            if subtype not in _NOT_DRAWN:
                out.append(f"page {n}: {subtype.removeprefix('/') or '?'}")
            elif orphan and not draws_nothing(a):
                out.append(f"page {n}: a widget of no form field")
    acroform = doc.Root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary) and "/XFA" in acroform:
        out.append("an XFA form, which some viewers show instead of the form's fields")
    return tuple(out)


def _states(entries: list[FormField]) -> dict[str, _State]:
    """Every field of ``entries`` (all of a document's, the seal's included) as it is now."""
    objects: list[tuple[Any, frozenset[str]]] = []
    for entry in entries:
        skip = frozenset({"/P", "/Parent", "/Kids", *(("/V",) if entry.field.kind == "signature" else ())})
        node = entry.node
        widgets = [w for w in entry.widgets if not (w.is_indirect and w.objgen == node.objgen)]
        objects.append((node, skip))
        objects.extend((w, skip) for w in widgets)
        objects.extend((w.get("/AP"), frozenset()) for w in entry.widgets)
    digests = iter(digests_without(objects))
    out = {}
    for entry in entries:
        f = entry.field
        node = entry.node
        parts = 1 + sum(1 for w in entry.widgets if not (w.is_indirect and w.objgen == node.objgen))
        look = hashlib.sha256(b"".join(next(digests) for _ in range(parts))).digest()
        buttons = tuple(next(digests) for _ in entry.widgets)
        value = f.value
        if f.kind == "signature":
            v = entry.node.get("/V")
            signed = isinstance(v, pikepdf.Dictionary)
            value = f"signed {v.objgen if v.is_indirect else ''}" if signed else ""
        drawn = next((f.page for w in entry.widgets if not draws_nothing(w)), None) if f.page else None
        out[f.name] = _State(f.kind, value, f.layout, look, buttons, drawn)
    return out


def _revision(pdf: bytes, history: History, k: int) -> dict[str, _State] | None:
    """The fields as they were at revision ``k`` (1 = as the file was first written); None when that
    revision cannot be read."""
    return _states_of(pdf[: history.ends[k - 1]]) if k <= len(history.ends) else None


def _states_of(pdf: bytes) -> dict[str, _State] | None:
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            return _states(form_fields(doc))
    except Exception:  # noqa: BLE001 - as in read_signed: a revision that cannot be read is reported as such
        return None


def _made_states(pdf: bytes, history: History) -> dict[str, _State] | None:
    """The fields as consent made them: the first revision's (None: the file has no earlier revision).
    When pyHanko cannot read the file's history, the first revision is what ends at the first %%EOF."""
    if history.ends:
        return _revision(pdf, history, 1) if len(history.ends) > 1 else None
    end = pdf.find(b"%%EOF")
    return _states_of(pdf[: end + 5]) if end >= 0 and pdf[end + 5 :].strip() else None


def _owner(name: str) -> str | None:
    """The signer a field belongs to: ``provider.date`` the provider, the initials and the screening answers
    the patient; None for a field of no signer."""
    first = name.split(".", 1)[0]
    return "patient" if first in _PATIENTS else first if first in _ROLES and "." in name else None


def _after_signing(pdf: bytes, history: History, signatures: tuple[Signature, ...]) -> tuple[str, ...]:
    """What changed in the form's fields after its first signature, beyond what the signatures that
    followed account for. Each incremental update after the first signed revision may:

    - sign a signature field that was empty (the signature validated, and signed in that very update);
    - add a signature field that draws nothing (the clinic's seal) and sign it in that update;
    - fill in a field that was empty when the form was first signed, if it belongs to a signer who has not
      signed yet and whose signature, made in that update or a later one, covers it (the provider dates the
      form after the patient signed it, then signs).

    Anything else (a value changed, a field added, removed or restyled, a signature replaced) is named, by
    the update that made it. Updates after the seal are not looked at here: the seal reports them.
    """
    valid = {s.field: s.revision for s in signatures if s.intact and s.valid and not s.problem and s.revision}
    if not valid or not history.ends:
        return ()
    first = min(valid.values())
    seal = valid.get(SEAL_FIELD)
    last = min(len(history.ends), seal or len(history.ends))
    if last - first > _MAX_UPDATES_AFTER_SIGNING:
        return (
            f"{last - first} incremental updates after the first signature, more than the "
            f"{_MAX_UPDATES_AFTER_SIGNING} a signed form can need: what changed in them is not checked",
        )
    states = {k: _revision(pdf, history, k) for k in range(first, last + 1)}
    out = []
    for k in range(first + 1, last + 1):
        before, after = states[k - 1], states[k]
        who = " and ".join(name for name, rev in sorted(valid.items(), key=lambda i: i[1]) if rev < k)
        were = "were" if " and " in who else "was"
        where = f"changed after {who} {were} signed (in incremental update {k - 1})"
        if before is None or after is None:
            out.append(f"{where}: the update cannot be read")
            continue
        at_first = states[first]
        items = [
            item
            for name in [*before, *(n for n in after if n not in before)]
            if before.get(name) != after.get(name)
            and (item := _change(name, k, before, after, at_first, valid))
        ]
        if items:
            out.append(f"{where}: {'; '.join(items)}")
    return tuple(out)


def _change(  # noqa: PLR0911 - one return per kind of change
    name: str, k: int, before: dict[str, _State], after: dict[str, _State],
    at_first: dict[str, _State] | None, valid: dict[str, int],
) -> str:
    """How field ``name`` changed in update ``k``, or "" when a signature that followed accounts for it
    (see :func:`_after_signing`)."""
    was, now = before.get(name), after.get(name)
    if now is None:
        return f"{name} removed"
    if was is None:
        if now.kind == "signature" and valid.get(name) == k and now.value and now.drawn is None:
            return ""  # the seal: added and signed in this update, drawing nothing
        drawn = f", drawn over page {now.drawn}" if now.drawn else ""
        return f"{name} added ({now.kind}{drawn})"
    if was.kind == now.kind == "signature" and was.layout == now.layout:
        if not was.value and now.value and valid.get(name) == k:
            return ""  # signed in this update
        return f"{name} {'signed again' if was.value and now.value else 'changed'}"
    if was.layout == now.layout and _filled_by_its_signer(name, k, at_first, before, valid):
        return ""
    if was.layout != now.layout or was.kind != now.kind:
        return f"{name} (its kind, place or required flag)"
    if was.value == now.value:
        return f"{name} (its appearance or other entries)"
    # A signer's own field, filled in before they signed: say that their signature is missing.
    signature = f"{_owner(name)}.signature"
    pending = signature in before and not before[signature].value and valid.get(signature, 0) < k
    unsigned = f", which {signature} does not sign" if pending else ""
    return f"{name} from {_quoted(was.value)} to {_quoted(now.value)}{unsigned}"


def _filled_by_its_signer(name: str, k: int, at_first: dict[str, _State] | None,
                          before: dict[str, _State], valid: dict[str, int]) -> bool:
    """``name`` was empty when the form was first signed, and belongs to a signer who had not signed before
    update ``k`` and whose valid signature, made in update ``k`` or later, covers it."""
    owner = _owner(name)
    signature = f"{owner}.signature"
    if owner is None or at_first is None or signature not in before or before[signature].value:
        return False
    empty = name in at_first and not at_first[name].value.strip()
    return empty and valid.get(signature, 0) >= k


def _quoted(value: str) -> str:
    return repr(value) if value else "nothing"


def _unshown(entries: list[FormField], states: dict[str, _State], made: dict[str, _State]) -> tuple[str, ...]:
    """Fields whose appearance does not show the value they hold (what the signer saw is not what is
    recorded). A text field shows the text its appearance writes; one that writes nothing may hold the
    value consent gave it when it made the form (a pre-filled name, printed on the page under it). A radio
    button shows the states its widgets are in, drawn with the appearances consent made for them."""
    out = []
    for entry in entries:
        f = entry.field
        if f.kind not in ("text", "radio", "checkbox"):
            continue
        if any("/OC" in w for w in entry.widgets):
            out.append(f"{f.name} (its widget is in an optional-content layer, which a viewer may hide)")
            continue
        showing, problem = shown(entry)
        if problem:
            out.append(f"{f.name} ({problem})")
            continue
        as_made = made.get(f.name)
        if f.kind == "text":
            ok = same_text(showing, f.value) or (
                not showing.strip() and as_made is not None and as_made.look == states[f.name].look
            )
        else:
            if as_made is not None and as_made.buttons != states[f.name].buttons:
                out.append(f"{f.name} (the appearance of its buttons was changed since the form was made)")
                continue
            ok = showing == f.value
        if not ok:
            out.append(f"{f.name} (holds {_quoted(f.value)}, shows {_quoted(showing)})")
    return tuple(out)


def _data_changes(made: dict[str, str], now: dict[str, str]) -> tuple[str, ...]:
    out = [f"{name} {'changed' if name in now else 'removed'}" for name, digest in made.items()
           if now.get(name) != digest]
    return tuple(out + [f"{name} added" for name in now if name not in made])


def _unprinted(
    pdf: bytes, doc: pikepdf.Pdf, entries: list[FormField], *, merged: set[str]
) -> tuple[str, ...]:
    """The facts of the embedded form data (consent-form.json: the data ``consent record`` sends) that no
    page prints: the form id, the patient's name, birth date and MRN, the form's date, title and clinic,
    and each screening question. Nothing when the form carries no such data (made before it was embedded:
    ``record`` refuses it) or it cannot be read (its stamped digest then says it changed)."""
    from .._form_data import MAX_FORM_DATA_BYTES, PDF_ATTACHMENT, parse_form_data
    from .._text import long_date
    from ..document import Checklist

    try:
        data = doc.attachments[PDF_ATTACHMENT].get_file().read_bytes()
        if len(data) > MAX_FORM_DATA_BYTES:  # refused by record as it reads it
            return ()
        form = parse_form_data(data).document
    except (KeyError, ValueError, pikepdf.PdfError):
        return ()
    h = form.header
    try:
        when = long_date(form.date, form.locale)
    except Exception:  # noqa: BLE001 - a locale Babel does not know (the data's, perhaps edited)
        when = form.date.isoformat()
    facts = [("form id", form.form_id), ("patient name", h.patient_name), ("birth date", h.birth_date),
             ("MRN", h.mrn), ("form date", when), ("title", form.title), ("clinic", h.clinic_name)]
    # A template's merge fields hold those facts instead: its data has the date it was made, which its pages
    # leave to the form-date field (whose appearance shows what it holds: see _unshown).
    facts = [(what, value) for what, value in facts if not (what == "form date" and "form.date" in merged)]
    facts += [("screening question", row.question) for section in form.sections for block in section.blocks
              if isinstance(block, Checklist) for row in block.rows]
    wanted = [(what, value, _printed(value)) for what, value in facts if value and value.strip()]
    # Page 1 prints the form's facts, and the screening questions are where their fields are: those first.
    at = {e.field.page for e in entries if e.field.name.startswith("screening.") and e.field.page}
    try:
        with _pypdf_quietly():
            import pypdf

            reader = pypdf.PdfReader(io.BytesIO(pdf))
            order = [1, *sorted(at - {1}), *(n for n in range(2, len(reader.pages) + 1) if n not in at)]
            for number in order:
                page = reader.pages[number - 1].extract_text() or ""
                # Also as if hyphenated words and numbers were not broken at the end of a line.
                seen = "\n".join(_normal(page.replace("-\n", joint)) for joint in ("-\n", "", "-"))
                wanted = [w for w in wanted if not w[2].search(seen)]
                if not wanted:
                    break
    except Exception:  # noqa: BLE001 - pypdf meets a damaged page with many kinds of error
        return ("facts (the pages' text cannot be read)",)
    return tuple(f"{what} {value!r}" for what, value, _ in wanted)


@contextlib.contextmanager
def _pypdf_quietly() -> Iterator[None]:
    """pypdf logs what it finds wrong in a damaged file as warnings (and may warn): the verdict says what
    matters, so they do not reach the user, for the call in hand only."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="pypdf")
            yield
    finally:
        logger.setLevel(level)


def _normal(text: str) -> str:
    """Text as compared with the pages: NFKC, case folded, each run of spaces and line breaks one space."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _printed(value: str) -> re.Pattern[str]:
    """A fact as the pages print it: its words in order, with a line break or one space between them (or
    none: a text extractor may drop it), and whole: after a space, a line break, "(" or "·", and before
    one of those or ".,;:)", so that "SRH-0042" is not found in "SRH-004211", nor "SRH" in it."""
    words = _normal(value).split()
    return re.compile(r"(?<![^\s(·])" + r" ?".join(re.escape(w) for w in words) + r"(?![^\s.,;:)·])")


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


def _field_changes(
    made: tuple[str, ...] | None, now: list[Field], states: dict[str, _State]
) -> tuple[str, ...]:
    """What changed in the fields themselves (not their values) since the form was made. A signature field
    added by a signer's software is no change (it shows in the signatures), unless it is drawn over a page of
    a form made with fields of its own: the form's signature fields are where they were made, and a new
    field that shows anything covers what the form prints."""
    if made is None:
        return ()
    before = {line.split(" ", 1)[0]: line for line in made}
    after = {f.name: f for f in now}
    out = [f"{name} removed" for name in before if name not in after]
    counts = collections.Counter(f.name for f in now)
    out += [f"{name} is there {n} times" for name, n in counts.items() if n > 1]
    for name, f in after.items():
        if name in before:
            continue
        drawn = states[name].drawn if name in states else None
        if f.kind != "signature":
            out.append(f"{name} added")
        elif made and drawn is not None:
            out.append(f"{name} added, a signature field drawn over page {drawn}")
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
        maker = " ".join(dict.fromkeys(_printable(info.get(k)) for k in ("/Creator", "/Producer"))).strip()
        raise NotAConsentForm(
            "it carries no consent form id: a scan, or a PDF another program made"
            + (f" ({maker})" if maker else ""),
            hint="only a PDF made by consent (and then filled in or signed) can be verified or recorded. A "
                 "Word document saved as PDF (a docx-merge template merged in Word or LibreOffice, then "
                 "exported) is such a PDF: it carries none of the form's stamp; for forms signed on screen "
                 "and recorded, use a pdf-form template (consent template --format pdf-form)",
        )
    stamped = str(info.get(PAGES_KEY, "")).split()
    if not stamped or content_hash(stamped) != str(info.get(HASH_KEY, "")):
        raise NotAConsentForm(
            f"form {form_id} carries no valid content hash, so what it showed cannot be proved",
            hint="forms made by an earlier version of consent carry no content hash; make the form again",
        )
    fields, data = info.get(FIELDS_KEY), info.get(DATA_KEY)
    files = None if data is None else tuple(
        (name, digest) for line in str(data).splitlines() for name, _, digest in [line.rpartition(" ")]
    )
    merge = info.get(MERGE_FIELDS_KEY)
    return _Stamp(
        form_id, tuple(stamped), None if fields is None else tuple(str(fields).splitlines()), files,
        None if merge is None else str(merge),
    )


def _printable(value: Any) -> str:
    """A document information entry of another program's PDF, as a short line of printable text."""
    shown = "".join(c for c in text(value) if c.isprintable())
    return shown[:60]


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
