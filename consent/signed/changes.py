"""What changed in a signed form's fields: since consent made it, and after each signature.

A signature's own difference analysis lets "form filling" through, and with it an answer changed after the
patient signed (issue 13: pdf-insecurity.org's incremental-save attacks). So the fields are read as they
were at each revision of the file (:class:`FieldState`: kind, value, layout, the digests of their
dictionaries and appearances, the page they draw on) and compared update by update: after the first
signature an update may only sign the next signature field, add the clinic's invisible seal, or fill in a
field left empty until then whose signer signs it afterwards (:func:`after_signing`); anything else is
named with the update that made it. :func:`field_changes` compares the fields with the layouts stamped when
the form was made (a field added, removed, moved or made optional). :mod:`consent.signed.read` turns what
they find into the verdict.
"""

from __future__ import annotations

import collections
import hashlib
import io
from typing import Any

import attrs
import pikepdf

from ..pdf.acroform import Field, FormField, draws_nothing, form_fields
from ..pdf.stamp import digests_without
from .signatures import History, Signature

SEAL_FIELD = "consent-seal"  #: the clinic's seal: a signature field of its own, never one of the patient's
# Who fills a field in: the signer whose signature covers it (see after_signing).
_ROLES = ("patient", "representative", "witness", "provider")
_PATIENTS = ("initials", "screening")
# A form is signed by at most four signers and sealed once; each may sign in an update of their own after
# filling in their fields in another. More updates than this after the first signature are refused rather
# than each read (a file of a thousand updates would take minutes).
_MAX_UPDATES_AFTER_SIGNING = 32


@attrs.frozen
class FieldState:
    """A field at one revision of the file: what :func:`after_signing` compares."""

    kind: str
    value: str  # as Field.value; a signature: "signed <its object>" or ""
    layout: str
    look: bytes  # the digest of its dictionaries but the page links (and a signature's value)
    buttons: tuple[bytes, ...]  # each widget's /AP digest (what a radio button looks like in each state)
    drawn: int | None  # the page one of its widgets draws on; None: no widget draws anything


def field_states(entries: list[FormField]) -> dict[str, FieldState]:
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
        out[f.name] = FieldState(f.kind, value, f.layout, look, buttons, drawn)
    return out


def _revision(pdf: bytes, history: History, k: int) -> dict[str, FieldState] | None:
    """The fields as they were at revision ``k`` (1 = as the file was first written); None when that
    revision cannot be read."""
    return _states_of(pdf[: history.ends[k - 1]]) if k <= len(history.ends) else None


def _states_of(pdf: bytes) -> dict[str, FieldState] | None:
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            return field_states(form_fields(doc))
    except Exception:  # noqa: BLE001 - as in read_signed: a revision that cannot be read is reported as such
        return None


def made_states(pdf: bytes, history: History) -> dict[str, FieldState] | None:
    """The fields as consent made them: the first revision's (None: the file has no earlier revision).
    When pyHanko cannot read the file's history, the first revision is what ends at the first %%EOF."""
    if history.ends:
        return _revision(pdf, history, 1) if len(history.ends) > 1 else None
    end = pdf.find(b"%%EOF")
    return _states_of(pdf[: end + 5]) if end >= 0 and pdf[end + 5 :].strip() else None


def field_changes(
    made: tuple[str, ...] | None, now: list[Field], states: dict[str, FieldState]
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


def _owner(name: str) -> str | None:
    """The signer a field belongs to: ``provider.date`` the provider, the initials and the screening answers
    the patient; None for a field of no signer."""
    first = name.split(".", 1)[0]
    return "patient" if first in _PATIENTS else first if first in _ROLES and "." in name else None


def after_signing(pdf: bytes, history: History, signatures: tuple[Signature, ...]) -> tuple[str, ...]:
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
    name: str, k: int, before: dict[str, FieldState], after: dict[str, FieldState],
    at_first: dict[str, FieldState] | None, valid: dict[str, int],
) -> str:
    """How field ``name`` changed in update ``k``, or "" when a signature that followed accounts for it
    (see :func:`after_signing`)."""
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
    return f"{name} from {quoted(was.value)} to {quoted(now.value)}{unsigned}"


def _filled_by_its_signer(name: str, k: int, at_first: dict[str, FieldState] | None,
                          before: dict[str, FieldState], valid: dict[str, int]) -> bool:
    """``name`` was empty when the form was first signed, and belongs to a signer who had not signed before
    update ``k`` and whose valid signature, made in update ``k`` or later, covers it."""
    owner = _owner(name)
    signature = f"{owner}.signature"
    if owner is None or at_first is None or signature not in before or before[signature].value:
        return False
    empty = name in at_first and not at_first[name].value.strip()
    return empty and valid.get(signature, 0) >= k


def quoted(value: str) -> str:
    """A field's value as a change or a verdict names it: quoted, or "nothing"."""
    return repr(value) if value else "nothing"
