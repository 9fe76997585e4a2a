"""Record a signed form in the EHR: a FHIR R4 transaction Bundle that makes the form's Consent active.

    bundle = consent.record_signed(Path("signed.pdf").read_bytes(), timezone="America/Boise")

``consent batch`` sent a ``proposed`` Consent per form (consent/ehr/_fhir_out.py), identified by the form
id. The signed form, read back with :func:`consent.read_signed` (its content intact, every required field
filled, signed by the patient or by a representative for them, no field changed after a signature unless
the signature that followed covers it, every value shown by its field's appearance, and its embedded data as
stamped and printed on its pages: otherwise it is refused, with the reasons), gives:

- a DocumentReference of the signed PDF (``POST``, created once: ``ifNoneExist`` on the SHA-256 of the
  file), with ``hash`` (base64 SHA-1) and ``size``, dated by its last signature (an instant with its
  offset); ``relatesTo`` ``replaces`` the unsigned form's DocumentReference, found by the form id (a
  conditional reference, resolved by the server);
- the Consent again, ``active`` (``PUT Consent?identifier=<form-id system>|<form id>``: a conditional
  update of the proposed one), ``dateTime`` the signer's date and time of signing (the patient's, or the
  representative's who signed for them), ``performer`` the patient if they signed, the representative when
  one signed (a RelatedPerson, contained, with the relationship; one named who did not sign is refused) and
  the provider (a Practitioner, by name), ``sourceReference`` the signed PDF. It carries no ``id``: the
  server assigned the proposed Consent's id, and a conditional update finds it by the identifier;
- a Provenance: who signed, in what role and when (:mod:`consent.signed.provenance`);
- the screening answers as one Observation (``POST``, once per form), not as Consent provisions. A
  provision is a rule (permit or deny an action, for an actor, on data); "is the patient pregnant: no" is
  not a rule but a fact the patient stated, which clinicians and decision support look for among the
  patient's Observations. So: status ``final``, category ``survey``, ``code`` the form's screening
  (:data:`SCREENING_SYSTEM` ``screening``), one ``component`` per answered question (``code`` its id in
  :data:`SCREENING_SYSTEM` with its printed text, ``valueBoolean`` the answer), ``effectiveDateTime`` the
  time of signing, ``derivedFrom`` the signed PDF's DocumentReference. One Observation with components,
  not one per question: a transaction with conditional entries (``ifNoneExist``, a conditional update)
  must run with strict isolation, and servers cap how many entries such a transaction may have (Medplum:
  8); a form asks up to 12 questions, and the Bundle stays at four entries whatever the form asks.

A filled ``pdf-form`` template (:mod:`consent.template.signers`) is not one form but one of many made from the
template: it is recorded under an identity of its own (:func:`consent.template.signers.instance_id`: the template's
form id, a dot and a digest of the filled patient fields and the consenter's signature), its patient the MRN
filled in (unless ``patient`` is given), with the template's form id as a second identifier
(:data:`TEMPLATE_SYSTEM`). No batch made a proposed Consent or an unsigned DocumentReference for it: the
conditional update creates the Consent, and the DocumentReference replaces nothing.

The witness signs that the patient signed: not a performer of the Consent (the Provenance names them).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import Any

import attrs

from .._form_data import read_form_data
from .._output import write_files
from ..document import Checklist, Form
from ..ehr import (
    FORM_ID_SYSTEM,
    FormDocument,
    bundle_entry,
    consent_resource,
    document_reference,
    patient_reference,
)
from ..errors import InputError, Problem
from ..template.signers import MERGE_KEYS, consenter, instance_id, signature_bytes
from .provenance import (
    SigningTimeWarning,
    Typed,
    check_dates,
    completed,
    provenance,
    representative,
    representative_reference,
    signers,
    typed,
    zone,
)
from .read import Field, SignedForm, read_signed

__all__ = ["SCREENING_ANSWER_SYSTEM", "SCREENING_SYSTEM", "SIGNED_PDF_SYSTEM", "TEMPLATE_SYSTEM",
           "SigningTimeWarning", "record_file_name", "record_signed", "write_record"]

SIGNED_PDF_SYSTEM = "urn:consent:signed-pdf-sha256"
"""Identifier system of a signed PDF's DocumentReference: the SHA-256 of the file, in hex."""
SCREENING_SYSTEM = "urn:consent:screening-question"
"""Code system of the screening questions' ids (``pregnant``), and of ``screening``, the Observation that
holds a form's answers."""
SCREENING_ANSWER_SYSTEM = "urn:consent:screening-answer"
"""Identifier system of a form's screening-answers Observation: ``<form id>/screening``."""
TEMPLATE_SYSTEM = "urn:consent:template-form-id"
"""Identifier system, in a filled template's Consent, of the form id of the template it was filled from."""

_SURVEY = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey",
           "display": "Survey"}
_SCREENING = "Screening questions answered on the consent form"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SIGNED_PDF_SYSTEM)


@attrs.frozen
class _Instance:
    """A filled template: its own identity, and the patient fields filled in."""

    form_id: str
    mrn: str
    date: dt.date


def record_signed(pdf: bytes, *, patient: str | None = None, pdf_url: str | None = None,
                  timezone: str | None = None) -> dict[str, Any]:
    """The transaction Bundle that records the signed form ``pdf`` (see the module docstring).

    ``patient``: the EHR's reference to the patient (``Patient/123``); default: the MRN printed on the
    form (filled in, on a template), as a logical reference. ``pdf_url``: the absolute http(s) URL where the
    EHR finds the signed PDF; default: the PDF inside the DocumentReference (base64). ``timezone``: an IANA
    name (``America/Boise``) for the time of signing; default: this computer's. Raises
    :class:`~consent.errors.InputError` for a form that is altered, incomplete or unsigned, and
    :class:`~consent.errors.NotAConsentForm` for another PDF. Warns (:class:`SigningTimeWarning`) when a
    signer's typed date is more than a day from the time their signature says it was made.
    """
    url = _pdf_url(pdf_url)
    where = zone(timezone)
    signed = read_signed(pdf)
    _refuse_unless_complete(signed)
    form = read_form_data(pdf)[0].document
    if form.form_id != signed.form_id:
        raise InputError(f"the form data attached is form {form.form_id}, the pages are form {signed.form_id}",
                         hint="the file was put together from two forms; it cannot be recorded")
    fields = {f.name: f for f in signed.fields}
    who = consenter(fields)
    if who is None:
        raise InputError(f"form {signed.form_id} is signed neither by the patient nor by a representative",
                         hint="the patient signs (patient.signature, patient.date), or a representative "
                              "(representative.name, .relationship, .signature and .date)")
    _refuse_unsigned_representative(fields)
    when = typed(fields, who, where)
    instance = _instance(signed, pdf, fields, who, when, form) if signed.merge_fields else None
    reference = _patient(instance.mrn if instance else form.header.mrn, patient)
    form_id = instance.form_id if instance else form.form_id
    doc = FormDocument(form_id=form_id, title=form.title, date=instance.date if instance else form.date,
                       language=form.language, treatment_id=form.manifest.treatment_id,
                       patient_reference=reference, organization_name=form.header.clinic_name, pdf=pdf,
                       pdf_url=url)
    sha256 = hashlib.sha256(pdf).hexdigest()
    doc_url = _full_url(f"DocumentReference/{sha256}")
    finished = completed(signed.signatures, when, where)
    docref = _signed_document(doc, sha256, finished, embed=url is None, replaces=instance is None)
    entries = [bundle_entry(docref, doc_url, "POST", "DocumentReference",
                            if_none_exist=f"identifier={SIGNED_PDF_SYSTEM}|{sha256}")]
    active = _active_consent(doc, doc_url, when.fhir(), fields, reference,
                             template=form.form_id if instance else None)
    consent_url = _full_url(f"Consent/{form_id}")
    entries.append(bundle_entry(active, consent_url, "PUT", f"Consent?identifier={FORM_ID_SYSTEM}|{form_id}"))
    tag = {"system": SIGNED_PDF_SYSTEM, "code": sha256}
    who_signed = provenance(fields, signed.signatures, roles=signers(fields, signed.signatures, who),
                            patient=reference, targets=(consent_url, doc_url), occurred=when.fhir(),
                            recorded=finished, tag=tag, where=where)
    entries.append(bundle_entry(who_signed, _full_url(f"Provenance/{sha256}"), "POST", "Provenance",
                                if_none_exist=f"_tag={SIGNED_PDF_SYSTEM}|{sha256}"))
    answers = _answers(form, fields)
    if answers:
        observation = _observation(form_id, answers, reference, when.fhir(), doc_url)
        key = f"{form_id}/screening"
        entries.append(bundle_entry(observation, _full_url(f"Observation/{key}"), "POST", "Observation",
                                    if_none_exist=f"identifier={SCREENING_ANSWER_SYSTEM}|{key}"))
    check_dates(fields, signed.signatures, where)  # last: a refused form warns of nothing
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def record_file_name(signed_pdf: Path) -> str:
    return f"{signed_pdf.stem}.record.fhir.json"


def write_record(bundle: dict[str, Any], out_dir: str | Path, name: str) -> Path:
    """Write the Bundle as ``out_dir/name``, atomically."""
    import json

    text = json.dumps(bundle, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    return write_files(Path(out_dir), {name: text.encode()})[0]


def _pdf_url(url: str | None) -> str | None:
    """The signed PDF's URL, as given: an absolute http or https URL (a relative one resolves against the
    EHR's base URL, where the PDF is not)."""
    if url is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host or \
            any(c.isspace() or not c.isprintable() for c in url):
        raise InputError(f"--pdf-url (pdf_url) must be an absolute http or https URL (got {url!r})",
                         hint="give where the EHR fetches the signed PDF, such as "
                              "https://files.example.org/consent/signed.pdf, or leave it out to send the PDF "
                              "inside the Bundle")
    return url


def _refuse_unless_complete(signed: SignedForm) -> None:
    verdict = signed.verdict
    if not signed.fields:
        raise InputError(f"form {signed.form_id} has no form fields: it was not made fillable, or was flattened",
                         hint="record a form made with --fillable and signed in its fields")
    if verdict.status in ("ALTERED", "INCOMPLETE"):
        what = "was changed after it was made or signed" if verdict.status == "ALTERED" else "is not complete"
        raise InputError(problems=[Problem(reason) for reason in verdict.reasons],
                         hint=f"form {signed.form_id} {what}; it cannot be recorded as signed")


def _refuse_unsigned_representative(fields: dict[str, Field]) -> None:
    """A representative named but not signing is refused: the form would name someone as consenting who did
    not sign it."""
    name = fields.get("representative.name")
    signature = fields.get("representative.signature")
    if name is not None and name.filled and (signature is None or not signature.filled):
        raise InputError("representative.name is filled in, but representative.signature is not signed",
                         hint="a representative is recorded as consenting only with their signature; have "
                              "them sign the form, or clear their name before the patient signs")


def _instance(signed: SignedForm, pdf: bytes, fields: dict[str, Field], who: str, when: Typed,
              form: Form) -> _Instance:
    """A filled template's identity and patient fields (the merge fields, required by the verdict)."""
    values = {key: fields[name].value.strip() for key, name in signed.merge_fields.items() if name in fields}
    empty = [signed.merge_fields.get(key, key) for key in MERGE_KEYS if not values.get(key)]
    if empty:
        raise InputError(f"form {signed.form_id} is a template whose patient fields are not filled in: "
                         f"{', '.join(empty)}", hint="the EHR fills them in when it makes the patient's form")
    signature = signature_bytes(pdf, f"{who}.signature")
    return _Instance(instance_id(signed.form_id, values, signature), values["patient.mrn"],
                     _form_date(values["form.date"], form.locale) or when.day)


def _form_date(value: str, locale: str) -> dt.date | None:
    """The form date an EHR filled in: ISO (2026-11-21), or numeric in the form's locale (11/21/2026);
    None when it cannot be read (the record then takes the day of signing)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    if not value or any(c.isalpha() for c in value):
        return None
    from babel.dates import parse_date

    try:
        return parse_date(value, locale=locale)
    except (ValueError, IndexError, TypeError, LookupError):
        return None


def _patient(mrn: str | None, given: str | None) -> dict[str, Any]:
    if given:
        ref = patient_reference(given.removeprefix("Patient/"), None, mrn)
        if ref is None or "reference" not in ref:
            raise InputError(f"--patient must be a reference like Patient/123 (got {given!r})")
        return ref
    ref = patient_reference(None, None, mrn)
    if ref is None:
        raise InputError("the form has no MRN to find the patient by",
                         hint="give the patient's reference in the EHR: --patient Patient/<id>")
    return ref


def _full_url(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"


def _signed_document(doc: FormDocument, sha256: str, finished: str, *, embed: bool,
                     replaces: bool) -> dict[str, Any]:
    """The signed PDF's DocumentReference; ``replaces``: the unsigned form's, which a batch sent (a filled
    template has none: a conditional reference that finds nothing fails the whole transaction)."""
    resource = document_reference(doc, embed=embed)
    resource["id"] = f"signed-{sha256[:32]}"
    resource["identifier"] = [{"system": SIGNED_PDF_SYSTEM, "value": sha256}]
    resource["date"] = finished
    resource["description"] = f"{doc.title} (signed)"
    if replaces:
        resource["relatesTo"] = [{"code": "replaces", "target": {
            "reference": f"DocumentReference?identifier={FORM_ID_SYSTEM}|{doc.form_id}"}}]
    return resource


def _active_consent(doc: FormDocument, doc_url: str, when: str, fields: dict[str, Field],
                    patient: dict[str, Any], *, template: str | None) -> dict[str, Any]:
    resource = consent_resource(doc, doc_url)
    del resource["id"]  # the server's id of the proposed Consent: found by the identifier
    if template:
        resource["identifier"].append({"system": TEMPLATE_SYSTEM, "value": template})
    performers = _performers(fields, patient)
    if any(p.get("type") == "RelatedPerson" for p in performers):
        resource = {"resourceType": "Consent", "contained": [representative(fields, patient)],
                    **{k: v for k, v in resource.items() if k != "resourceType"}}
    resource["status"] = "active"
    resource["dateTime"] = when
    resource["performer"] = performers
    resource["provision"] = {"type": "permit", "period": {"start": when}}
    return resource


def _performers(fields: dict[str, Field], patient: dict[str, Any]) -> list[dict[str, Any]]:
    """Who agreed: the patient if they signed, the representative who signed for them, and the provider."""
    out = []
    if "patient.signature" in fields and fields["patient.signature"].filled:
        out.append(copy.deepcopy(patient))
    name, signature = fields.get("representative.name"), fields.get("representative.signature")
    if name is not None and name.filled and signature is not None and signature.filled:
        out.append(representative_reference(fields))
    provider = fields.get("provider.name")
    if provider is not None and provider.filled:
        out.append({"type": "Practitioner", "display": provider.value.strip()})
    return out


def _answers(form: Form, fields: dict[str, Field]) -> list[tuple[tuple[str, str], bool]]:
    """Each screening question (id, printed text) answered in the form's fields, with its answer."""
    questions = {row.id: row.question for section in form.sections for block in section.blocks
                 if isinstance(block, Checklist) for row in block.rows}
    out = []
    for qid, text in questions.items():
        field = fields.get(f"screening.{qid}")
        if field is not None and field.value in ("Yes", "No"):
            out.append(((qid, text), field.value == "Yes"))
    return out


def _observation(form_id: str, answers: list[tuple[tuple[str, str], bool]], patient: dict[str, Any], when: str,
                 doc_url: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": SCREENING_ANSWER_SYSTEM, "value": f"{form_id}/screening"}],
        "status": "final",
        "category": [{"coding": [dict(_SURVEY)]}],
        "code": {"coding": [{"system": SCREENING_SYSTEM, "code": "screening", "display": _SCREENING}],
                 "text": _SCREENING},
        "subject": copy.deepcopy(patient),
        "effectiveDateTime": when,
        "derivedFrom": [{"reference": doc_url}],
        "component": [
            {"code": {"coding": [{"system": SCREENING_SYSTEM, "code": qid, "display": text}], "text": text},
             "valueBoolean": answer}
            for (qid, text), answer in answers
        ],
    }
