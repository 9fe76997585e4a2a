"""The return path, who signed: the patient or a representative for them, and a filled template's own fields.

Used by :mod:`consent.signed.read` (what a complete form is) and :mod:`consent.signed.record` (who consented, and
the identity of a filled template).

Who consents. The form asks the patient to sign, or a legally authorised representative when the patient
cannot (and, on a minor's form, the parent or guardian in the ``representative.*`` fields, marked required,
the patient's own signature then being an optional assent). So a form is complete when every field marked
required is filled and the patient or the representative has signed with their name and date:

- the patient: ``patient.signature`` and ``patient.date``;
- the representative: ``representative.name``, ``.relationship``, ``.signature`` and ``.date``, all filled.
  The patient's own signature and date are then not required (:func:`missing`).

A template's merge fields. A ``pdf-form`` template (``consent template --format pdf-form``) leaves the
patient's name, birth date and MRN and the form's date to the EHR, as text fields named by a field
profile (``Patient_MRN``). The template records which field is which in its document information,
``/consentmergefields`` (:data:`MERGE_FIELDS_KEY`: one ``<internal key> <field name>`` a line), written
in its first revision, which later updates cannot change. A template made before that key is recognised by
the built-in profiles' names (:func:`merge_fields`). A filled template's merge fields are required like
the signers' fields, and a change after a signature is an alteration like any other field's.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence

from ..pdf.acroform import Field

MERGE_FIELDS_KEY = "/consentmergefields"
#: The internal keys of a PDF template's merge fields (:mod:`consent.template.profiles`), in this order.
MERGE_KEYS = ("patient.full_name", "patient.birth_date", "patient.mrn", "form.date")
PATIENT_SIGNS = ("patient.signature", "patient.date")
REPRESENTATIVE_SIGNS = ("representative.name", "representative.relationship", "representative.signature",
                        "representative.date")
# The name spaces of the fields consent puts on a fillable form; any other field is a template's merge field.
_OWN = ("patient.", "representative.", "witness.", "provider.", "initials.", "screening.")


def has_signed(fields: Mapping[str, Field], role: str) -> bool:
    """``role`` ("patient" or "representative") signed, with the name and date the form asks of them."""
    wanted = PATIENT_SIGNS if role == "patient" else REPRESENTATIVE_SIGNS
    return all(name in fields and fields[name].filled for name in wanted)


def consenter(fields: Mapping[str, Field]) -> str | None:
    """Who consented: "patient" when the patient signed, else "representative" when a representative signed
    for them, else None."""
    return next((role for role in ("patient", "representative") if has_signed(fields, role)), None)


def missing(fields: Sequence[Field]) -> tuple[str, ...]:
    """The fields a complete form still needs: those marked required and empty, but the patient's own
    signature and date when a representative signed for them. On a form where neither signature is marked
    required (a clinic's own layout), the patient's signature and date are needed when no one signed."""
    by_name = {f.name: f for f in fields}
    out = [f.name for f in fields if f.required and not f.filled]
    who = consenter(by_name)
    if who == "representative":
        return tuple(n for n in out if n not in PATIENT_SIGNS)
    asked = [n for n in ("patient.signature", "representative.signature") if n in by_name]
    if who is None and asked and not any(by_name[n].required for n in asked):
        out += [n for n in PATIENT_SIGNS if n in by_name and not by_name[n].filled and n not in out]
    return tuple(out)


def incomplete_reasons(fields: Sequence[Field]) -> tuple[str, ...]:
    """Why a form is not complete (nothing when it is): the required fields not filled, and, when the
    patient has not signed and a representative may sign instead, what the representative has left empty."""
    needed = missing(fields)
    if not needed:
        return ()
    by_name = {f.name: f for f in fields}
    reasons = [f"required fields not filled: {', '.join(needed)}"]
    instead = "representative.signature" in by_name and not by_name["representative.signature"].required
    if instead and any(n in needed for n in PATIENT_SIGNS):
        empty = [n for n in REPRESENTATIVE_SIGNS if n not in by_name or not by_name[n].filled]
        reasons.append(f"or a representative signs for the patient: {', '.join(empty)} not filled")
    return tuple(reasons)


# --------------------------------------------------------------------------- a template's merge fields


def merge_fields_entry(fields: Mapping[str, str]) -> str:
    """The value of :data:`MERGE_FIELDS_KEY` for a template whose merge fields are ``fields`` (internal key
    -> field name)."""
    return "\n".join(f"{key} {fields[key]}" for key in MERGE_KEYS if key in fields)


def merge_fields(recorded: str | None, names: Sequence[str]) -> dict[str, str]:
    """A template's merge fields, internal key -> field name, among the form's text fields ``names``: as the
    template recorded them (``recorded``, the value of :data:`MERGE_FIELDS_KEY`), or, for a template made
    before it was recorded, the built-in field profile whose names are text fields other than consent's own.
    Empty for a form that is not a template (every text field is consent's own), and for fields no profile
    names."""
    present = set(names)
    if recorded is not None:
        pairs = (line.split(" ", 1) for line in recorded.splitlines() if " " in line)
        return {key: name for key, name in pairs if key in MERGE_KEYS and name in present}
    foreign = {n for n in names if not n.startswith(_OWN)}
    if not foreign:
        return {}
    from .profiles import load_profile_file, profile_paths

    for path in profile_paths().values():  # built-in profiles only: no pack is loaded on a form's word
        profile = load_profile_file(path)
        named = {key: profile.fields.get(key) for key in MERGE_KEYS}
        if all(named.values()) and set(named.values()) <= foreign:
            return {key: str(name) for key, name in named.items()}
    return {}


def instance_id(template_id: str, patient: Mapping[str, str], signature: bytes) -> str:
    """The identity of one filled, signed instance of a template: the template's form id, a dot, and 16 hex
    digits (in groups of four) of the SHA-256 of the template's form id, the filled patient fields (the
    merge fields' values, spaces normalised) and the SHA-256 of the consenter's signature (its CMS bytes).
    Two patients, or the same patient signing twice, give two identities; the same signed file (sealed
    later, or recorded again) gives the same one."""
    facts = [" ".join(patient.get(key, "").split()) for key in MERGE_KEYS]
    signed = hashlib.sha256(signature).hexdigest()
    data = json.dumps(["consent-template-instance/1", template_id, *facts, signed], ensure_ascii=False)
    digest = hashlib.sha256(data.encode()).hexdigest()[:16].upper()
    return f"{template_id}.{'-'.join(digest[i:i + 4] for i in range(0, 16, 4))}"


def signature_bytes(pdf: bytes, field: str) -> bytes:
    """The signature (its /Contents, the CMS object) held by the signature field ``field``; empty when the
    field holds none."""
    import pikepdf

    from ..pdf.acroform import form_fields

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for entry in form_fields(doc):
            if entry.field.name == field:
                value = entry.node.get("/V")
                contents = value.get("/Contents") if isinstance(value, pikepdf.Dictionary) else None
                return bytes(contents) if isinstance(contents, pikepdf.String) else b""
    return b""
