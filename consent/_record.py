"""Record a signed form in the EHR: a FHIR R4 transaction Bundle that makes the form's Consent active.

    bundle = consent.record_signed(Path("signed.pdf").read_bytes(), timezone="America/Boise")

``consent batch`` sent a ``proposed`` Consent per form (consent/ehr/_fhir_out.py), identified by the form
id. The signed form, read back with :func:`consent.read_signed` (its content intact, every required field
filled and signed, no field changed after a signature unless the signature that followed covers it, every
value shown by its field's appearance, and its embedded data as stamped and printed on its pages: otherwise
it is refused, with the reasons), gives:

- a DocumentReference of the signed PDF (``POST``, created once: ``ifNoneExist`` on the SHA-256 of the
  file), with ``hash`` (base64 SHA-1) and ``size``; ``relatesTo`` ``replaces`` the unsigned form's
  DocumentReference, found by the form id (a conditional reference, resolved by the server);
- the Consent again, ``active`` (``PUT Consent?identifier=<form-id system>|<form id>``: a conditional
  update of the proposed one), ``dateTime`` the patient's date and time of signing, ``performer`` the
  patient, the representative when one signed (a RelatedPerson, by name; one named who did not sign is
  refused) and the provider (a Practitioner, by name), ``sourceReference`` the signed PDF. It carries no
  ``id``: the server assigned the proposed Consent's id, and a conditional update finds it by the
  identifier;
- each screening answer as an Observation (``POST``, once per form and question), not as a Consent
  provision. A provision is a rule (permit or deny an action, for an actor, on data); "is the patient
  pregnant: no" is not a rule but a fact the patient stated, which clinicians and decision support look
  for among the patient's Observations. So: status ``final``, category ``survey``, ``code`` the question
  (its id in :data:`SCREENING_SYSTEM`, its printed text as display), ``valueBoolean`` the answer,
  ``effectiveDateTime`` the time of signing, ``derivedFrom`` the signed PDF's DocumentReference.

The witness signs that the patient signed: not a performer of the Consent, so not in the Bundle (the
signed PDF holds the witness's signature).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

from ._form_data import read_form_data
from ._output import write_files
from ._signed import Field, SignedForm, read_signed
from .document import Checklist, Form
from .ehr._fhir_out import (
    FORM_ID_SYSTEM,
    FormDocument,
    consent_resource,
    document_reference,
    patient_reference,
)
from .errors import InputError, Problem

SIGNED_PDF_SYSTEM = "urn:consent:signed-pdf-sha256"
"""Identifier system of a signed PDF's DocumentReference: the SHA-256 of the file, in hex."""
SCREENING_SYSTEM = "urn:consent:screening-question"
"""Code system of the screening questions' ids (``pregnant``) in the Observations."""
SCREENING_ANSWER_SYSTEM = "urn:consent:screening-answer"
"""Identifier system of a screening answer's Observation: ``<form id>/<question id>``."""

_SURVEY = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey",
           "display": "Survey"}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SIGNED_PDF_SYSTEM)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{1,2}:\d{2}")


def record_signed(pdf: bytes, *, patient: str | None = None, pdf_url: str | None = None,
                  timezone: str | None = None) -> dict[str, Any]:
    """The transaction Bundle that records the signed form ``pdf`` (see the module docstring).

    ``patient``: the EHR's reference to the patient (``Patient/123``); default: the MRN printed on the
    form, as a logical reference. ``pdf_url``: where the EHR finds the signed PDF; default: the PDF
    inside the DocumentReference (base64). ``timezone``: an IANA name (``America/Boise``) for the time
    of signing; default: this computer's. Raises :class:`~consent.errors.InputError` for a form that is
    altered, incomplete or unsigned, and :class:`~consent.errors.NotAConsentForm` for another PDF.
    """
    signed = read_signed(pdf)
    _refuse_unless_complete(signed)
    form = read_form_data(pdf)[0].document
    if form.form_id != signed.form_id:
        raise InputError(f"the form data attached is form {form.form_id}, the pages are form {signed.form_id}",
                         hint="the file was put together from two forms; it cannot be recorded")
    fields = {f.name: f for f in signed.fields}
    when = _signed_at(fields, timezone)
    reference = _patient(form, patient)
    doc = FormDocument(form_id=form.form_id, title=form.title, date=form.date, language=form.language,
                       treatment_id=form.manifest.treatment_id, patient_reference=reference,
                       organization_name=form.header.clinic_name, pdf=pdf, pdf_url=pdf_url)
    sha256 = hashlib.sha256(pdf).hexdigest()
    doc_url = _full_url(f"DocumentReference/{sha256}")
    docref = _signed_document(doc, sha256, when, embed=pdf_url is None)
    entries = [_entry(docref, doc_url, "POST", "DocumentReference",
                      if_none_exist=f"identifier={SIGNED_PDF_SYSTEM}|{sha256}")]
    active = _active_consent(doc, doc_url, when, _performers(fields, reference))
    entries.append(_entry(active, _full_url(f"Consent/{form.form_id}"), "PUT",
                          f"Consent?identifier={FORM_ID_SYSTEM}|{form.form_id}"))
    for question, answer in _answers(form, fields):
        observation = _observation(form.form_id, question, answer, reference, when, doc_url)
        key = f"{form.form_id}/{question[0]}"
        entries.append(_entry(observation, _full_url(f"Observation/{key}"), "POST", "Observation",
                              if_none_exist=f"identifier={SCREENING_ANSWER_SYSTEM}|{key}"))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def record_file_name(signed_pdf: Path) -> str:
    return f"{signed_pdf.stem}.record.fhir.json"


def write_record(bundle: dict[str, Any], out_dir: str | Path, name: str) -> Path:
    """Write the Bundle as ``out_dir/name``, atomically."""
    import json

    text = json.dumps(bundle, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    return write_files(Path(out_dir), {name: text.encode()})[0]


def _refuse_unless_complete(signed: SignedForm) -> None:
    verdict = signed.verdict
    if not signed.fields:
        raise InputError(f"form {signed.form_id} has no form fields: it was not made fillable, or was flattened",
                         hint="record a form made with --fillable and signed in its fields")
    if verdict.status in ("ALTERED", "INCOMPLETE"):
        what = "was changed after it was made or signed" if verdict.status == "ALTERED" else "is not complete"
        raise InputError(problems=[Problem(reason) for reason in verdict.reasons],
                         hint=f"form {signed.form_id} {what}; it cannot be recorded as signed")


def _signed_at(fields: dict[str, Field], timezone: str | None) -> str:
    """The patient's date (and time) of signing as a FHIR dateTime (a time needs a zone in FHIR)."""
    date_text = fields["patient.date"].value.strip() if "patient.date" in fields else ""
    time_text = fields["patient.time"].value.strip() if "patient.time" in fields else ""
    try:
        if not _DATE.fullmatch(date_text):
            raise ValueError
        day = dt.date.fromisoformat(date_text)
        if not time_text:
            return day.isoformat()
        if not _TIME.fullmatch(time_text):
            raise ValueError
        hour, minute = (int(n) for n in time_text.split(":"))
        moment = dt.datetime.combine(day, dt.time(hour, minute))
    except ValueError:
        raise InputError(f"the date and time of signing cannot be read: patient.date {date_text!r}, "
                         f"patient.time {time_text!r}", hint="dates are YYYY-MM-DD and times HH:MM") from None
    if timezone is None:
        return moment.astimezone().isoformat()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {timezone!r}", hint="give an IANA name such as America/Boise") from None
    return moment.replace(tzinfo=zone).isoformat()


def _patient(form: Form, given: str | None) -> dict[str, Any]:
    if given:
        ref = patient_reference(given.removeprefix("Patient/"), None, form.header.mrn)
        if ref is None or "reference" not in ref:
            raise InputError(f"--patient must be a reference like Patient/123 (got {given!r})")
        return ref
    ref = patient_reference(None, None, form.header.mrn)
    if ref is None:
        raise InputError("the form has no MRN to find the patient by",
                         hint="give the patient's reference in the EHR: --patient Patient/<id>")
    return ref


def _full_url(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"


def _entry(resource: dict[str, Any], full_url: str, method: str, url: str, *,
           if_none_exist: str | None = None) -> dict[str, Any]:
    request = {"method": method, "url": url}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {"fullUrl": full_url, "resource": resource, "request": request}


def _signed_document(doc: FormDocument, sha256: str, when: str, *, embed: bool) -> dict[str, Any]:
    resource = document_reference(doc, embed=embed)
    resource["id"] = f"signed-{sha256[:32]}"
    resource["identifier"] = [{"system": SIGNED_PDF_SYSTEM, "value": sha256}]
    resource["date"] = when if "T" in when else f"{when}T00:00:00Z"
    resource["description"] = f"{doc.title} (signed)"
    resource["relatesTo"] = [{"code": "replaces", "target": {
        "reference": f"DocumentReference?identifier={FORM_ID_SYSTEM}|{doc.form_id}"}}]
    return resource


def _active_consent(doc: FormDocument, doc_url: str, when: str,
                    performers: list[dict[str, Any]]) -> dict[str, Any]:
    resource = consent_resource(doc, doc_url)
    del resource["id"]  # the server's id of the proposed Consent: found by the identifier
    resource["status"] = "active"
    resource["dateTime"] = when
    resource["performer"] = performers
    resource["provision"] = {"type": "permit", "period": {"start": when}}
    return resource


def _performers(fields: dict[str, Field], patient: dict[str, Any]) -> list[dict[str, Any]]:
    """Who agreed: the patient, the representative who signed for them, and the provider. A representative
    named but not signing is refused: the form would name someone as consenting who did not sign it."""
    out = [copy.deepcopy(patient)]
    name = fields.get("representative.name")
    signature = fields.get("representative.signature")
    if name is not None and name.filled and (signature is None or not signature.filled):
        raise InputError("representative.name is filled in, but representative.signature is not signed",
                         hint="a representative is recorded as consenting only with their signature; have "
                              "them sign the form, or clear their name before the patient signs")
    if name is not None and name.filled:
        relationship = fields.get("representative.relationship")
        shown = name.value.strip() + (f" ({relationship.value.strip()})" if relationship and relationship.filled
                                      else "")
        out.append({"type": "RelatedPerson", "display": shown})
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


def _observation(form_id: str, question: tuple[str, str], answer: bool, patient: dict[str, Any], when: str,
                 doc_url: str) -> dict[str, Any]:
    qid, text = question
    return {
        "resourceType": "Observation",
        "identifier": [{"system": SCREENING_ANSWER_SYSTEM, "value": f"{form_id}/{qid}"}],
        "status": "final",
        "category": [{"coding": [dict(_SURVEY)]}],
        "code": {"coding": [{"system": SCREENING_SYSTEM, "code": qid, "display": text}], "text": text},
        "subject": copy.deepcopy(patient),
        "effectiveDateTime": when,
        "valueBoolean": answer,
        "derivedFrom": [{"reference": doc_url}],
    }
