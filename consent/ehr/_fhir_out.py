"""Deliver rendered forms to the EHR: FHIR R4 DocumentReference + Consent, or an HL7 v2 MDM^T02.

    doc = FormDocument(form_id=form.form_id, title=form.title, date=form.date, language="es",
                       treatment_id="knee-injection", organization_name="Harbor Clinic", pdf=pdf,
                       patient_reference=patient_reference(record.resource_id, record.full_url, mrn))
    bundle = transaction_bundle([doc], embed=True)      # POST it to the EHR's FHIR base URL

Each form becomes a DocumentReference (the PDF, inline or by URL) and a Consent that points at it.
Output is plain JSON-ready dicts, valid FHIR R4 (4.0.1), and deterministic: ids and ``urn:uuid`` full
URLs are derived from the form id (uuid5), and nothing reads the clock (the moment the form was made,
``FormDocument.created``, is given by the caller). Only the patient reference leaves with the form:
no name, birth date or identifier other than the MRN is ever written.

- The PDF goes inside the DocumentReference (``attachment.data``, base64) or, by reference, as an
  absolute ``http(s)`` URL (``attachment.url``). R4 defines ``url`` as a URL the EHR fetches: a
  relative path (``forms/rec-1.pdf``) would be resolved against the EHR's own base, not the folder
  the forms are in, so it is refused (:func:`url_problem`).
- ``DocumentReference.date`` is an ``instant``: the moment the document was made, with its UTC
  offset. Without ``created`` it is left out (it is optional) rather than invented.

Coding choices, and why:

- ``DocumentReference.status`` ``current`` and ``docStatus`` ``final``: the rendered PDF is a
  finished document, even before anyone signs it.
- ``Consent.status`` ``proposed``, not ``active``: R4 defines ``active`` as "to be followed and
  enforced", which would tell the EHR the patient has agreed. The form is ready to sign, not signed:
  it is proposed until the signed copy comes back (the clinic then sets ``active``).
- ``type`` and ``Consent.category`` LOINC 59284-0, display "Consent Document" (LOINC's current
  name; R4's example value set still shows the older "Patient Consent"). Consent.category is 1..*.
- ``DocumentReference.category`` is consentscope ``treatment``: it says "consent to a treatment",
  which is what sets this document apart in an index. LOINC 57016-8 is a privacy-policy
  acknowledgement (IHE BPPC) and would file the form as a privacy consent, so it is not used.
- ``Consent.scope`` consentscope ``treatment`` (invariant ppc-5: such a Consent needs a patient, so
  a FormDocument must have a patient reference) and ``policyRule`` v3-ActCode ``OPTIN``
  (ppc-1: a policy or a policyRule is required; no code of R4's consent-policy value set fits a
  treatment consent and the binding is extensible; the R4 examples use OPTIN).
- The form id is the business identifier (system :data:`FORM_ID_SYSTEM`) of both resources, and
  the transaction creates them with ``ifNoneExist`` on it, so sending a batch twice adds nothing.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..errors import InputError, Problem

FORM_ID_SYSTEM = "urn:consent:form-id"
"""Identifier system of a form id (``CF-2216-E510-1BD3``) in FHIR output."""
TREATMENT_SYSTEM = "urn:consent:treatment-id"
"""Code system of treatment ids (``knee-injection``) in ``DocumentReference.context.event``."""

_LOINC = "http://loinc.org"
_CONSENT_DOCUMENT = {"system": _LOINC, "code": "59284-0", "display": "Consent Document"}
_TREATMENT_SCOPE = {
    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
    "code": "treatment",
    "display": "Treatment",
}
_OPT_IN = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in"}
_MR = {
    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
    "code": "MR",
    "display": "Medical record number",
}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, FORM_ID_SYSTEM)
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


# --------------------------------------------------------------------------- the form, as data


def _patient_reference_ok(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    literal = isinstance(value, dict) and isinstance(value.get("reference"), str) and value["reference"]
    logical = isinstance(value, dict) and isinstance(value.get("identifier"), dict)
    if not (literal or logical):
        raise InputError(
            problems=[Problem("a consent form needs a patient reference (a FHIR id, a fullUrl or an MRN)",
                              field=attribute.name)],
            hint="build it with consent.ehr.patient_reference(resource_id, full_url, mrn)",
        )


def _plain_date(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise TypeError(f"{attribute.name} must be a datetime.date (got {type(value).__name__})")


def _aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{attribute.name} must be a datetime.datetime (got {type(value).__name__})")
    if value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must carry its UTC offset (a FHIR instant has one): "
                         "use datetime.now().astimezone() or give tzinfo")


_URL_TEXT = re.compile(r"[^\s\x00-\x1f\x7f]+")


def url_problem(url: str, field: str) -> Problem | None:
    """Why ``url`` cannot be where an EHR fetches a file from (a FHIR ``attachment.url``), or None: it
    must be an absolute ``http://`` or ``https://`` URL with a host, no spaces or control characters,
    no fragment. A relative path (``forms/rec-1.pdf``) is refused: an EHR would resolve it against its
    own base URL, not the folder the forms are in."""
    wanted = "must be an absolute http:// or https:// URL such as https://files.example.org/consent/"
    if not isinstance(url, str) or not _URL_TEXT.fullmatch(url):
        return Problem(f"{wanted} (without spaces or control characters)", field=field)
    try:
        parts = urlsplit(url)
    except ValueError:
        return Problem(f"{wanted} (got {url!r})", field=field)
    if not parts.scheme:
        return Problem(f"{wanted} (got {url!r}, a relative path: an EHR would look for it under its own base "
                       "URL, not in the folder of the forms)", field=field)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return Problem(f"{wanted} (got {url!r})", field=field)
    if parts.fragment:
        return Problem(f"must not have a #fragment (got {url!r})", field=field)
    return None


def url_in(base_url: str, relative: str) -> str:
    """``relative`` (a path such as ``forms/rec-000001_CF-....pdf``) under ``base_url``: the base with one
    slash after it, then the path, whether or not the base ended with a slash. A base with a query string
    is refused by the caller (:func:`base_url_problem`)."""
    return base_url.rstrip("/") + "/" + relative.lstrip("/")


def base_url_problem(base_url: str, field: str = "base_url") -> Problem | None:
    """Why ``base_url`` cannot be the folder URL the forms are published under, or None (see
    :func:`url_problem`; a ``?query`` is refused too, as the forms' paths are put after the base)."""
    problem = url_problem(base_url, field)
    if problem is None and urlsplit(base_url).query:
        problem = Problem(f"must not have a ?query: the forms' paths are put after it (got {base_url!r})",
                          field=field)
    return problem


_TEXT = attrs.validators.and_(attrs.validators.instance_of(str), attrs.validators.min_len(1))


@attrs.frozen
class FormDocument:
    """What the EHR needs about one rendered consent form: plain data, no renderer objects.

    ``patient_reference`` is a FHIR Reference (see :func:`patient_reference`). ``pdf_url`` is where the
    EHR fetches the PDF when it is not embedded: an absolute http(s) URL (checked when the
    DocumentReference is made, :func:`url_problem`). ``created`` is the moment the PDF was made (a
    timezone-aware datetime), the DocumentReference's ``date``; None leaves that out.
    """

    form_id: str = attrs.field(validator=attrs.validators.matches_re(r"[A-Za-z0-9\-.]{1,50}"))
    title: str = attrs.field(validator=_TEXT)
    date: dt.date = attrs.field(validator=_plain_date)
    language: str = attrs.field(validator=attrs.validators.matches_re(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*"))
    treatment_id: str = attrs.field(validator=_TEXT)
    # A dict: left out of hash() (unhashable).
    patient_reference: dict[str, Any] = attrs.field(validator=_patient_reference_ok, hash=False)
    organization_name: str = attrs.field(validator=_TEXT)
    pdf: bytes = attrs.field(
        validator=attrs.validators.and_(attrs.validators.instance_of(bytes), attrs.validators.min_len(1)),
        repr=False,
    )
    pdf_url: str | None = attrs.field(default=None, validator=attrs.validators.optional(_TEXT))
    created: dt.datetime | None = attrs.field(default=None, validator=_aware)


def patient_reference(
    record_resource_id: str | None, full_url: str | None, mrn: str | None
) -> dict[str, Any] | None:
    """A FHIR Reference to the patient: ``Patient/<id>``, else the Bundle ``fullUrl``, else the MRN.

    When there is an MRN it also rides along as ``identifier`` next to a literal reference: the id
    and ``urn:uuid`` of a Patient read from a *transaction* Bundle are the sender's, not the EHR's,
    and the MRN is what the EHR (and an HL7 v2 message) can match on. None when there is nothing.
    """
    identifier = {"type": {"coding": [dict(_MR)]}, "value": mrn.strip()} if mrn and mrn.strip() else None
    reference: dict[str, Any] = {}
    if record_resource_id and _FHIR_ID.fullmatch(record_resource_id):
        reference["reference"] = f"Patient/{record_resource_id}"
    elif full_url and full_url.strip():
        reference["reference"] = full_url.strip()
    if identifier:
        reference["identifier"] = identifier
    return reference or None


# --------------------------------------------------------------------------- FHIR R4 resources


def _full_url(form_id: str, kind: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{form_id}')}"


def _identifier(doc: FormDocument) -> list[dict[str, str]]:
    return [{"system": FORM_ID_SYSTEM, "value": doc.form_id}]


def _url_problems(doc: FormDocument) -> list[Problem]:
    """Why ``doc.pdf_url`` cannot be the attachment's url (when the PDF is not embedded)."""
    where = f"form {doc.form_id}"
    if not doc.pdf_url:
        return [Problem("pdf_url is needed when the PDF is not embedded (embed=False)", field="pdf_url",
                        record=where)]
    problem = url_problem(doc.pdf_url, "pdf_url")
    return [attrs.evolve(problem, record=where)] if problem else []


def _instant(moment: dt.datetime) -> str:
    """A FHIR instant: seconds (milliseconds when there are any) and the UTC offset (``Z`` for UTC)."""
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def document_reference(doc: FormDocument, *, embed: bool) -> dict[str, Any]:
    """The form as an R4 DocumentReference; the PDF inline (``embed``) or by ``doc.pdf_url``.

    The attachment carries ``size`` and ``hash`` (base64 of the PDF's SHA-1, as FHIR defines it), and
    ``creation`` the moment it was made (``doc.created``; else the form's date). The resource's ``date``
    is ``doc.created`` as an instant, with its offset; without it there is no ``date``.
    Raises :class:`InputError` (a ValueError) when not embedding and ``pdf_url`` is missing or is not
    an absolute http(s) URL.
    """
    attachment: dict[str, Any] = {"contentType": "application/pdf", "language": doc.language}
    if embed:
        attachment["data"] = base64.b64encode(doc.pdf).decode("ascii")
    else:
        problems = _url_problems(doc)
        if problems:
            raise InputError(problems=problems)
        attachment["url"] = doc.pdf_url
    attachment |= {
        "size": len(doc.pdf),
        "hash": base64.b64encode(hashlib.sha1(doc.pdf).digest()).decode("ascii"),
        "title": doc.title,
        "creation": _instant(doc.created) if doc.created else doc.date.isoformat(),
    }
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": f"docref-{doc.form_id.lower()}",
        "identifier": _identifier(doc),
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [dict(_CONSENT_DOCUMENT)]},
        "category": [{"coding": [dict(_TREATMENT_SCOPE)]}],
        "subject": copy.deepcopy(doc.patient_reference),
    }
    if doc.created:
        resource["date"] = _instant(doc.created)
    return resource | {
        "custodian": {"display": doc.organization_name},
        "description": doc.title,
        "content": [{"attachment": attachment}],
        "context": {
            "event": [{"coding": [{"system": TREATMENT_SYSTEM, "code": doc.treatment_id}], "text": doc.title}]
        },
    }


def consent_resource(doc: FormDocument, document_reference_url: str) -> dict[str, Any]:
    """The form as a proposed R4 treatment Consent whose source is the DocumentReference at the URL.

    ``document_reference_url`` is ``DocumentReference/<id>`` or, inside a transaction, that entry's
    ``fullUrl``.
    """
    if not document_reference_url:
        raise ValueError("document_reference_url must not be empty")
    return {
        "resourceType": "Consent",
        "id": f"consent-{doc.form_id.lower()}",
        "identifier": _identifier(doc),
        "status": "proposed",
        "scope": {"coding": [dict(_TREATMENT_SCOPE)]},
        "category": [{"coding": [dict(_CONSENT_DOCUMENT)]}],
        "patient": copy.deepcopy(doc.patient_reference),
        "dateTime": doc.date.isoformat(),
        "organization": [{"display": doc.organization_name}],
        "sourceReference": {"reference": document_reference_url},
        "policyRule": {"coding": [dict(_OPT_IN)]},
        "provision": {"type": "permit", "period": {"start": doc.date.isoformat()}},
    }


def _entry(resource: dict[str, Any], full_url: str, form_id: str) -> dict[str, Any]:
    return bundle_entry(resource, full_url, "POST", resource["resourceType"],
                        if_none_exist=f"identifier={FORM_ID_SYSTEM}|{form_id}")


def bundle_entry(resource: dict[str, Any], full_url: str, method: str, url: str, *,
                 if_none_exist: str | None = None) -> dict[str, Any]:
    """A transaction Bundle's entry: the resource, its ``fullUrl`` and the request that stores it (with
    ``ifNoneExist``: created once)."""
    request = {"method": method, "url": url}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {"fullUrl": full_url, "resource": resource, "request": request}


def transaction_bundle(docs: Sequence[FormDocument], *, embed: bool) -> dict[str, Any]:
    """One transaction Bundle: per form a DocumentReference entry, then a Consent entry pointing at it.

    Checks every form first and raises one :class:`InputError` listing each problem (a missing or
    relative ``pdf_url`` when not embedding, a form id given twice). No forms give a Bundle without
    ``entry`` (FHIR JSON has no empty arrays).
    """
    problems = [p for doc in docs if not embed for p in _url_problems(doc)]
    counts = Counter(doc.form_id for doc in docs)
    problems += [
        Problem(f"form id {form_id} appears {n} times; a Bundle needs each form once", field="form_id")
        for form_id, n in counts.items()
        if n > 1
    ]
    if problems:
        raise InputError(problems=problems)
    entries: list[dict[str, Any]] = []
    for doc in docs:
        doc_url = _full_url(doc.form_id, "DocumentReference")
        entries.append(_entry(document_reference(doc, embed=embed), doc_url, doc.form_id))
        entries.append(_entry(consent_resource(doc, doc_url), _full_url(doc.form_id, "Consent"), doc.form_id))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction"}
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return bundle


# --------------------------------------------------------------------------- HL7 v2.5 MDM^T02

_V2_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"),
               ("\r", "\\X0D\\"), ("\n", "\\X0A\\"))


def _v2(text: str) -> str:
    """Escape text for an HL7 v2 field (the escape character first)."""
    for char, escaped in _V2_ESCAPES:
        text = text.replace(char, escaped)
    return text


def _v2_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S%z")


def _mrn(doc: FormDocument) -> str:
    identifier = doc.patient_reference.get("identifier")
    type_ = identifier.get("type") if isinstance(identifier, dict) else None
    codings = type_.get("coding") if isinstance(type_, dict) else None
    is_mr = isinstance(codings, list) and any(isinstance(c, dict) and c.get("code") == "MR" for c in codings)
    value = identifier.get("value") if isinstance(identifier, dict) else None
    if not (is_mr and isinstance(value, str) and value):
        raise InputError(problems=[Problem("an HL7 v2 message needs the patient's MRN",
                                           field="patient_reference", record=f"form {doc.form_id}")],
                         hint="build the reference with patient_reference(..., mrn=...)")
    return value


def mdm_t02(doc: FormDocument, *, sending_facility: str, message_time: dt.datetime) -> str:
    """The form as an HL7 v2.5 MDM^T02 message (document notification with content), UTF-8 text.

    Segments MSH, EVN, PID, TXA, OBX, each ended by ``\\r``. PID carries only the MRN (PID-3): no
    name (PID-5, required by the standard, is left empty on purpose), birth date or other id. TXA-12
    is the form id, TXA-17 ``DO`` (documented, not yet signed); OBX-5 is the PDF as ED
    ``^application^pdf^Base64^...``. Text fields are escaped (``| ^ ~ \\ &``). Raises
    :class:`InputError` when the patient reference has no MRN.
    """
    mrn = _mrn(doc)
    when = _v2_time(message_time)
    day = doc.date.strftime("%Y%m%d")
    # MSH-10 holds 20 characters: a longer form id is replaced by a digest of it.
    digest = hashlib.sha256(doc.form_id.encode()).hexdigest()
    control_id = doc.form_id if len(doc.form_id) <= 20 else digest[:20]
    pdf = base64.b64encode(doc.pdf).decode("ascii")  # the base64 alphabet has no HL7 delimiter
    code = f"59284-0^Consent Document^LN^{_v2(doc.treatment_id)}^{_v2(doc.title)}^L"
    filename = doc.pdf_url.rsplit("/", 1)[-1] if doc.pdf_url else ""
    segments = [
        ["MSH", "^~\\&", "CONSENT", _v2(sending_facility), "", "", when, "", "MDM^T02^MDM_T02",
         _v2(control_id), "P", "2.5", "", "", "", "", "", "UNICODE UTF-8"],
        ["EVN", "T02", when],
        ["PID", "1", "", f"{_v2(mrn)}^^^^MR"],
        ["TXA", "1", "CONSENT", "AP", day, "", day, "", "", "", "", "", f"{_v2(doc.form_id)}^CONSENT",
         "", "", "", _v2(filename), "DO", "", "AV"],
        ["OBX", "1", "ED", code, "", f"^application^pdf^Base64^{pdf}", "", "", "", "", "", "F", "", "", day],
    ]
    return "".join("|".join(fields) + "\r" for fields in segments)
