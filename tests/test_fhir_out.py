"""Delivering forms to the EHR: FHIR R4 DocumentReference + Consent in a transaction Bundle, and an HL7
v2.5 MDM^T02 message.

Every resource and Bundle is validated as FHIR R4 (4.0.1) by two independent validators
(tests/fhir_tools.py: fhir.resources 6.4.0, the last release of its R4 models, and the official R4 JSON
schema), with relative urls refused (``strict_url``: an EHR cannot fetch them)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

import attrs
import pytest
from fhir_tools import assert_valid_r4
from helpers import EHR_SAMPLES

import consent.ehr
from consent.ehr import (
    FormDocument,
    consent_resource,
    document_reference,
    mdm_t02,
    patient_reference,
    read_records,
    transaction_bundle,
)
from consent.ehr._fhir_out import base_url_problem, url_in, url_problem
from consent.errors import ConsentError, InputError

SAMPLES = EHR_SAMPLES
GUSTAVO = SAMPLES / "synthea_r4_bundle_Gustavo_Mejia_es.json"
PETER = SAMPLES / "hl7_r4_patient-example.json"
GUSTAVO_SECRETS = ("999-68-8566", "S99973062", "X19986051X")  # SSN, driver's licence, passport
PDF = b"%PDF-1.7 test"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MR_TYPE = {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}]}
LOINC_CONSENT = {"system": "http://loinc.org", "code": "59284-0", "display": "Consent Document"}
CONSENTSCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
TREATMENT_SCOPE = {"system": CONSENTSCOPE, "code": "treatment", "display": "Treatment"}
TITLE = "Informed Consent for Exosome knee injection"
WHEN = dt.datetime(2026, 11, 21, 9, 30, 5)
BOISE = dt.timezone(dt.timedelta(hours=-7))
MADE = dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=BOISE)  # when the PDF was made, in Boise (MST)
PDF_URL = "https://files.example.org/consent/batch-1/forms/rec-000001_CF-2216-E510-1BD3.pdf"


def make_doc(**changes: Any) -> FormDocument:
    fields: dict[str, Any] = {
        "form_id": "CF-2216-E510-1BD3",
        "title": TITLE,
        "date": dt.date(2026, 11, 21),
        "language": "en",
        "treatment_id": "knee-injection",
        "patient_reference": {
            "reference": "Patient/123",
            "identifier": {"type": MR_TYPE, "value": "SRH-000101"},
        },
        "organization_name": "Harbor Clinic",
        "pdf": PDF,
        "pdf_url": PDF_URL,
        "created": MADE,
    }
    fields.update(changes)
    return FormDocument(**fields)


def valid_r4(resource: dict[str, Any]) -> bool:
    """True when both R4 validators accept the resource (else the test fails, listing their errors)."""
    assert_valid_r4(resource, strict_url=True)
    return True


def segments(message: str) -> dict[str, list[str]]:
    assert message.endswith("\r") and "\n" not in message
    return {line.split("|", 1)[0]: line.split("|") for line in message.split("\r") if line}


# --------------------------------------------------------------------------- public names


def test_names_are_exported_from_consent_ehr() -> None:
    """The FHIR output API is importable from consent.ehr and listed, sorted, in __all__."""
    for name in ("FormDocument", "consent_resource", "document_reference", "mdm_t02", "patient_reference",
                 "transaction_bundle"):
        assert name in consent.ehr.__all__
    assert consent.ehr.__all__ == sorted(consent.ehr.__all__)


# --------------------------------------------------------------------------- DocumentReference


def test_embedded_document_reference_has_data_size_and_sha1_hash() -> None:
    """embed=True: base64 data that decodes to the PDF, size == len(pdf), hash == base64(sha1(pdf)),
    creation the moment the PDF was made; the resource validates as R4 and
    round-trips unchanged."""
    resource = document_reference(make_doc(), embed=True)
    assert valid_r4(resource)
    attachment = resource["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"], validate=True) == PDF
    assert "url" not in attachment
    assert attachment["size"] == len(PDF)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(PDF).digest()).decode()  # noqa: S324
    assert attachment | {"data": "", "hash": ""} == {
        "contentType": "application/pdf",
        "language": "en",
        "data": "",
        "size": 13,
        "hash": "",
        "title": TITLE,
        "creation": "2026-11-21T09:30:05-07:00",
    }


def test_document_reference_metadata() -> None:
    """Status current/final, LOINC 59284-0 type, treatment category, subject, identifier, and ``date`` the
    moment the PDF was made with its own offset (not midnight UTC: the evening before in US zones)."""
    resource = document_reference(make_doc(), embed=False)
    assert {k: v for k, v in resource.items() if k != "content"} == {
        "resourceType": "DocumentReference",
        "id": "docref-cf-2216-e510-1bd3",
        "identifier": [{"system": "urn:consent:form-id", "value": "CF-2216-E510-1BD3"}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [LOINC_CONSENT]},
        "category": [{"coding": [TREATMENT_SCOPE]}],
        "subject": {"reference": "Patient/123", "identifier": {"type": MR_TYPE, "value": "SRH-000101"}},
        "date": "2026-11-21T09:30:05-07:00",
        "custodian": {"display": "Harbor Clinic"},
        "description": TITLE,
        "context": {"event": [{"coding": [{"system": "urn:consent:treatment-id", "code": "knee-injection"}],
                               "text": TITLE}]},
    }


def test_document_reference_by_url_has_url_and_no_data() -> None:
    """embed=False: the attachment points at pdf_url and carries no data, still with size and hash."""
    resource = document_reference(make_doc(), embed=False)
    assert valid_r4(resource)
    attachment = resource["content"][0]["attachment"]
    assert attachment["url"] == PDF_URL
    assert "data" not in attachment
    assert attachment["size"] == len(PDF)


def test_not_embedding_without_pdf_url_is_an_error() -> None:
    """embed=False with no pdf_url: a ValueError (InputError) naming the field and the form."""
    with pytest.raises(ValueError, match="pdf_url") as caught:
        document_reference(make_doc(pdf_url=None), embed=False)
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == (
        "pdf_url is needed when the PDF is not embedded (embed=False) [form CF-2216-E510-1BD3]"
    )


# --------------------------------------------------------------------------- Consent


def test_consent_is_a_valid_proposed_treatment_consent_pointing_at_its_document() -> None:
    """Consent: proposed (ready to sign, not signed), treatment scope, LOINC category, the patient,
    OPTIN policyRule (R4 ppc-1) and a permit provision from the form date."""
    resource = consent_resource(make_doc(), "DocumentReference/docref-cf-2216-e510-1bd3")
    assert valid_r4(resource)
    assert resource == {
        "resourceType": "Consent",
        "id": "consent-cf-2216-e510-1bd3",
        "identifier": [{"system": "urn:consent:form-id", "value": "CF-2216-E510-1BD3"}],
        "status": "proposed",
        "scope": {"coding": [TREATMENT_SCOPE]},
        "category": [{"coding": [LOINC_CONSENT]}],
        "patient": {"reference": "Patient/123", "identifier": {"type": MR_TYPE, "value": "SRH-000101"}},
        "dateTime": "2026-11-21",
        "organization": [{"display": "Harbor Clinic"}],
        "sourceReference": {"reference": "DocumentReference/docref-cf-2216-e510-1bd3"},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "OPTIN", "display": "opt-in"}]},
        "provision": {"type": "permit", "period": {"start": "2026-11-21"}},
    }


# --------------------------------------------------------------------------- transaction Bundle


def test_transaction_bundle_validates_and_links_each_consent_to_its_document() -> None:
    """Two forms -> DocumentReference, Consent, DocumentReference, Consent; each POSTed (conditionally,
    on the form id) under a urn:uuid fullUrl; each Consent's source is its own document's fullUrl."""
    docs = [make_doc(), make_doc(form_id="CF-0000-0000-0002", pdf=b"%PDF-1.7 other")]
    bundle = transaction_bundle(docs, embed=True)
    assert valid_r4(bundle)
    assert bundle["type"] == "transaction"
    entries = bundle["entry"]
    assert [e["resource"]["resourceType"] for e in entries] == ["DocumentReference", "Consent"] * 2
    for docref, agreement, doc in ((entries[0], entries[1], docs[0]), (entries[2], entries[3], docs[1])):
        assert docref["fullUrl"].startswith("urn:uuid:") and agreement["fullUrl"].startswith("urn:uuid:")
        assert agreement["resource"]["sourceReference"] == {"reference": docref["fullUrl"]}
        assert docref["request"] == {"method": "POST", "url": "DocumentReference",
                                     "ifNoneExist": f"identifier=urn:consent:form-id|{doc.form_id}"}
        assert agreement["request"]["url"] == "Consent"
        data = docref["resource"]["content"][0]["attachment"]["data"]
        assert base64.b64decode(data) == doc.pdf
    assert len({e["fullUrl"] for e in entries}) == 4


def test_transaction_bundle_reports_every_problem_at_once() -> None:
    """Missing and relative pdf_urls (embed=False) and a repeated form id are all listed in one InputError."""
    docs = [make_doc(pdf_url=None), make_doc(form_id="CF-2", pdf_url=None), make_doc(pdf_url="a.pdf")]
    with pytest.raises(InputError) as caught:
        transaction_bundle(docs, embed=False)
    assert [str(p) for p in caught.value.problems] == [
        "pdf_url is needed when the PDF is not embedded (embed=False) [form CF-2216-E510-1BD3]",
        "pdf_url is needed when the PDF is not embedded (embed=False) [form CF-2]",
        "pdf_url: must be an absolute http:// or https:// URL such as https://files.example.org/consent/ (got "
        "'a.pdf', a relative path: an EHR would look for it under its own base URL, not in the folder of the "
        "forms) [form CF-2216-E510-1BD3]",
        "form_id: form id CF-2216-E510-1BD3 appears 2 times; a Bundle needs each form once",
    ]


@pytest.mark.parametrize("url", ["forms/rec-000001_CF-2216-E510-1BD3.pdf", "/forms/rec-1.pdf", "rec-1.pdf",
                                 "//files.example.org/rec-1.pdf", "file:///srv/forms/rec-1.pdf",
                                 "ftp://files.example.org/rec-1.pdf", "https://", "https://files.example.org/a b.pdf",
                                 "https://files.example.org/rec-1.pdf#page=2"])
def test_a_pdf_url_an_ehr_cannot_fetch_is_refused(url: str) -> None:
    """R4 ``Attachment.url`` is where the EHR fetches the PDF: a relative path (resolved against the EHR's
    own base, not the batch folder), another scheme, no host, spaces or a fragment are refused, by
    document_reference and transaction_bundle alike, naming the field and the form."""
    doc = make_doc(pdf_url=url)
    for make in (lambda: document_reference(doc, embed=False), lambda: transaction_bundle([doc], embed=False)):
        with pytest.raises(InputError) as caught:
            make()
        [problem] = caught.value.problems
        assert (problem.field, problem.record) == ("pdf_url", "form CF-2216-E510-1BD3")
        assert "absolute http:// or https:// URL" in problem.message or "#fragment" in problem.message
    assert document_reference(doc, embed=True)["content"][0]["attachment"]["data"]  # embedded: no url needed


def test_document_reference_date_is_the_moment_made_with_its_offset() -> None:
    """``date`` (an R4 instant) and ``attachment.creation`` are ``created`` with its own UTC offset (``Z``
    for UTC, milliseconds only when there are some); without ``created`` there is no ``date`` rather than
    an invented one; a datetime without offset is refused (an instant needs one)."""
    def dated(created: dt.datetime | None) -> tuple[str | None, str]:
        resource = document_reference(make_doc(created=created), embed=True)
        return resource.get("date"), resource["content"][0]["attachment"]["creation"]

    assert dated(MADE) == ("2026-11-21T09:30:05-07:00", "2026-11-21T09:30:05-07:00")
    utc = dt.datetime(2026, 11, 22, 2, 30, 5, 250_000, tzinfo=dt.UTC)
    assert dated(utc) == ("2026-11-22T02:30:05.250Z", "2026-11-22T02:30:05.250Z")
    assert dated(None) == (None, "2026-11-21")
    with pytest.raises(ValueError, match="created must carry its UTC offset"):
        make_doc(created=dt.datetime(2026, 11, 21, 9, 30))
    with pytest.raises(TypeError, match=r"created must be a datetime\.datetime"):
        make_doc(created=dt.date(2026, 11, 21))


def test_base_urls_and_the_urls_of_forms_under_them() -> None:
    """url_in puts a form's path under a base URL with one slash, whatever the base ends with;
    base_url_problem refuses what url_problem refuses, and a ?query (the path would land in it)."""
    for base in ("https://files.example.org/consent/batch-1", "https://files.example.org/consent/batch-1/"):
        assert url_in(base, "forms/rec-1.pdf") == "https://files.example.org/consent/batch-1/forms/rec-1.pdf"
    assert base_url_problem("https://files.example.org/consent/") is None
    assert base_url_problem("HTTP://files.example.org:8080") is None
    problem = base_url_problem("https://files.example.org/get?file=")
    assert problem is not None and problem.message.startswith("must not have a ?query")
    assert url_problem("https://files.example.org/get?file=rec-1.pdf", "pdf_url") is None
    assert base_url_problem("out/batch") is not None


def test_empty_transaction_bundle_is_valid() -> None:
    """No forms: a valid transaction Bundle with no entry array (FHIR JSON has no empty arrays)."""
    bundle = transaction_bundle([], embed=True)
    assert bundle == {"resourceType": "Bundle", "type": "transaction"}
    assert valid_r4(bundle)


def test_output_is_deterministic() -> None:
    """Same inputs give byte-identical JSON (no uuid4, no clock); another form id gives other URLs."""
    first = json.dumps(transaction_bundle([make_doc()], embed=False), sort_keys=True)
    again = json.dumps(transaction_bundle([make_doc()], embed=False), sort_keys=True)
    other = transaction_bundle([make_doc(form_id="CF-0000-0000-0002")], embed=False)
    assert first == again
    assert {e["fullUrl"] for e in json.loads(first)["entry"]}.isdisjoint(e["fullUrl"] for e in other["entry"])
    assert mdm_t02(make_doc(), sending_facility="HC", message_time=WHEN) == mdm_t02(
        make_doc(), sending_facility="HC", message_time=WHEN
    )


# --------------------------------------------------------------------------- patient references


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("123", "urn:uuid:abc", None), {"reference": "Patient/123"}),
        ((None, "urn:uuid:abc", None), {"reference": "urn:uuid:abc"}),
        (("not a valid id!", "urn:uuid:abc", None), {"reference": "urn:uuid:abc"}),
        ((None, None, " MRN-7 "), {"identifier": {"type": MR_TYPE, "value": "MRN-7"}}),
        (("123", "urn:uuid:abc", "MRN-7"),
         {"reference": "Patient/123", "identifier": {"type": MR_TYPE, "value": "MRN-7"}}),
        ((None, "urn:uuid:abc", "MRN-7"),
         {"reference": "urn:uuid:abc", "identifier": {"type": MR_TYPE, "value": "MRN-7"}}),
        ((None, None, None), None),
        (("", " ", "  "), None),
    ],
)
def test_patient_reference_prefers_id_then_full_url_then_mrn(
    args: tuple[str | None, str | None, str | None], expected: dict[str, Any] | None
) -> None:
    """Patient/<id> first, else the fullUrl, else a logical MR reference; the MRN rides along as
    identifier next to a literal reference; None when nothing is known."""
    assert patient_reference(*args) == expected


def test_form_document_checks_its_fields() -> None:
    """A FormDocument without a patient reference is a ConsentError (ppc-5: a treatment Consent needs
    a patient); a form id that cannot make a FHIR id or a datetime for the date are rejected."""
    with pytest.raises(ConsentError, match="needs a patient reference"):
        make_doc(patient_reference={})
    with pytest.raises(ValueError, match="form_id"):
        make_doc(form_id="CF 1/2")
    with pytest.raises(TypeError, match=r"date must be a datetime\.date"):
        make_doc(date=dt.datetime(2026, 11, 21, 8, 0))
    with pytest.raises(ValueError, match="created must carry its UTC offset"):
        make_doc(created=dt.datetime(2026, 11, 21, 8, 0))
    assert "pdf=" not in repr(make_doc())  # no bytes dumped into logs
    assert attrs.evolve(make_doc(), pdf_url=None).pdf_url is None


# --------------------------------------------------------------------------- HL7 v2 MDM^T02


def test_mdm_t02_carries_the_mrn_and_no_name_or_other_identifier() -> None:
    """MSH/EVN/PID/TXA/OBX; PID-3 is the MRN typed MR; PID-5 (name) and other ids stay empty."""
    message = mdm_t02(make_doc(), sending_facility="Harbor Clinic", message_time=WHEN)
    seg = segments(message)
    assert list(seg) == ["MSH", "EVN", "PID", "TXA", "OBX"]
    assert "|".join(seg["MSH"]) == (
        "MSH|^~\\&|CONSENT|Harbor Clinic|||20261121093005||MDM^T02^MDM_T02|CF-2216-E510-1BD3|P|2.5"
        "||||||UNICODE UTF-8"
    )
    assert seg["EVN"] == ["EVN", "T02", "20261121093005"]
    assert seg["PID"] == ["PID", "1", "", "SRH-000101^^^^MR"]
    txa = seg["TXA"]
    assert (txa[2], txa[3], txa[4], txa[12], txa[16], txa[17]) == (
        "CONSENT", "AP", "20261121", "CF-2216-E510-1BD3^CONSENT", "rec-000001_CF-2216-E510-1BD3.pdf", "DO"
    )
    assert seg["OBX"][2] == "ED" and seg["OBX"][11] == "F"


def test_mdm_t02_obx_decodes_to_the_pdf() -> None:
    """OBX-5 is ED ^application^pdf^Base64^<data>, and the data decodes to the PDF bytes."""
    seg = segments(mdm_t02(make_doc(), sending_facility="HC", message_time=WHEN))
    source, kind, subtype, encoding, data = seg["OBX"][5].split("^")
    assert (source, kind, subtype, encoding) == ("", "application", "pdf", "Base64")
    assert base64.b64decode(data, validate=True) == PDF


def test_mdm_t02_escapes_delimiters_in_text() -> None:
    """| ^ ~ \\ & in the facility, title and ids become \\F\\ \\S\\ \\R\\ \\E\\ \\T\\, so no field splits."""
    doc = make_doc(
        title="Knee | hip ^ PRP ~ stem\\cells & more",
        patient_reference={"identifier": {"type": MR_TYPE, "value": "A|B^C"}},
    )
    seg = segments(mdm_t02(doc, sending_facility="Harbor & Sons | East", message_time=WHEN))
    assert seg["MSH"][3] == "Harbor \\T\\ Sons \\F\\ East"
    assert seg["PID"][3] == "A\\F\\B\\S\\C^^^^MR"
    assert seg["OBX"][3] == (
        "59284-0^Consent Document^LN^knee-injection^"
        "Knee \\F\\ hip \\S\\ PRP \\R\\ stem\\E\\cells \\T\\ more^L"
    )
    assert len(seg["OBX"]) == 15


def test_mdm_t02_without_mrn_is_an_error() -> None:
    """A v2 receiver matches on the MRN: with only Patient/<id> the message is refused, loudly."""
    doc = make_doc(patient_reference={"reference": "Patient/123"})
    with pytest.raises(InputError, match="needs the patient's MRN"):
        mdm_t02(doc, sending_facility="HC", message_time=WHEN)


def test_mdm_t02_time_keeps_its_utc_offset() -> None:
    """An aware message time is written with its offset (YYYYMMDDHHMMSS+ZZZZ)."""
    when = WHEN.replace(tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    seg = segments(mdm_t02(make_doc(), sending_facility="HC", message_time=when))
    assert seg["EVN"][2] == "20261121093005-0700"


# --------------------------------------------------------------------------- real EHR samples


def test_imported_records_know_where_the_patient_was() -> None:
    """read_records fills resource_id and full_url: from a Bundle both, from a bare Patient the id."""
    [gustavo] = read_records([GUSTAVO])
    [peter] = read_records([PETER])
    assert (gustavo.resource_id, gustavo.full_url) == (
        "cdf500b9-7cc4-424d-a86c-a18e6620d6e7",
        "urn:uuid:cdf500b9-7cc4-424d-a86c-a18e6620d6e7",
    )
    assert (peter.resource_id, peter.full_url) == ("example", None)


def test_synthea_sample_to_bundle_and_mdm_without_ssn_licence_passport_or_name() -> None:
    """Gustavo Mejía's Synthea Bundle -> patient reference -> a valid transaction Bundle and an MDM
    message; neither holds his SSN, driver's licence, passport number, name or birth date."""
    [record] = read_records([GUSTAVO])
    assert record.patient is not None
    ref = patient_reference(record.resource_id, record.full_url, record.patient.mrn)
    assert ref == {
        "reference": "Patient/cdf500b9-7cc4-424d-a86c-a18e6620d6e7",
        "identifier": {"type": MR_TYPE, "value": "59a8543c-e24f-4a01-b28b-47ccde6bc11d"},
    }
    doc = make_doc(patient_reference=ref, language=record.patient.preferred_language,
                   title="Consentimiento informado: inyección de exosomas en la rodilla")
    bundle = transaction_bundle([doc], embed=True)
    assert valid_r4(bundle)
    outputs = [json.dumps(bundle, ensure_ascii=False), json.dumps(bundle),
               mdm_t02(doc, sending_facility="Harbor Clinic", message_time=WHEN)]
    for text in outputs:
        for secret in (*GUSTAVO_SECRETS, "Gustavo", "Mejía", "Mej\\u00eda", "1986-11-27", "19861127"):
            assert secret not in text
    assert bundle["entry"][0]["resource"]["content"][0]["attachment"]["language"] == "es"
