"""The FHIR test tools (tests/fhir_tools.py, tests/fhir/) can fail, and do what the FHIR tests rely on.

The validators: a valid R4 Consent, DocumentReference and transaction Bundle pass both; R5/R4B-only content,
a malformed date, an unknown code, an empty array fail, each in the validator(s) that can see it. The server
(Medplum's FHIR router, in memory): transactions, conditional update, ifNoneExist, conditional references,
urn:uuid rewriting, search by identifier / patient / subject, validation of what is written, atomicity; and
what the bare router lacks, shown with --pure. tests/fhir/README.md has the findings in prose.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir_tools import (
    FhirServer,
    Validation,
    assert_valid_r4,
    start_fhir_server,
    stop_fhir_server,
    validate_r4,
)

FORM_ID = "urn:consent:form-id"
SIGNED = "urn:consent:signed-pdf-sha256"
LOINC_CONSENT = {"system": "http://loinc.org", "code": "59284-0", "display": "Consent Document"}
TREATMENT = {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment",
             "display": "Treatment"}
OPT_IN = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in"}
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}

JSON = dict[str, Any]


def unique(prefix: str = "CF") -> str:
    """An identifier no other test of the session uses (the server lives for the session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def patient(pid: str = "p1") -> JSON:
    return {"reference": f"Patient/{pid}", "identifier": {"type": MR, "value": f"MRN-{pid}"}}


def document_reference(form_id: str, pid: str = "p1", *, url: str = "https://ehr.example/f/x.pdf") -> JSON:
    return {
        "resourceType": "DocumentReference",
        "identifier": [{"system": FORM_ID, "value": form_id}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [LOINC_CONSENT]},
        "category": [{"coding": [TREATMENT]}],
        "subject": patient(pid),
        "date": "2026-11-21T00:00:00Z",
        "custodian": {"display": "Sunrise Clinic"},
        "description": "Knee injection consent",
        "content": [{"attachment": {"contentType": "application/pdf", "language": "en", "url": url,
                                    "size": 1234, "hash": "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
                                    "title": "Knee injection consent", "creation": "2026-11-21"}}],
        "context": {"event": [{"coding": [{"system": "urn:consent:treatment-id", "code": "knee"}]}]},
    }


def consent(form_id: str, source: str, pid: str = "p1", status: str = "proposed") -> JSON:
    return {
        "resourceType": "Consent",
        "identifier": [{"system": FORM_ID, "value": form_id}],
        "status": status,
        "scope": {"coding": [TREATMENT]},
        "category": [{"coding": [LOINC_CONSENT]}],
        "patient": patient(pid),
        "dateTime": "2026-11-21",
        "organization": [{"display": "Sunrise Clinic"}],
        "sourceReference": {"reference": source},
        "policyRule": {"coding": [OPT_IN]},
        "provision": {"type": "permit", "period": {"start": "2026-11-21"}},
    }


def entry(resource: JSON, method: str, url: str, *, full_url: str | None = None,
          if_none_exist: str | None = None) -> JSON:
    request = {"method": method, "url": url} | ({"ifNoneExist": if_none_exist} if if_none_exist else {})
    return {"fullUrl": full_url or urn(), "resource": resource, "request": request}


def transaction(*entries: JSON) -> JSON:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def batch_bundle(*form_ids: str, pid: str = "p1") -> JSON:
    """As consent batch sends forms: per form a DocumentReference and a proposed Consent, ifNoneExist."""
    entries = []
    for form_id in form_ids:
        doc_url = urn()
        once = f"identifier={FORM_ID}|{form_id}"
        entries.append(entry(document_reference(form_id, pid), "POST", "DocumentReference", full_url=doc_url,
                             if_none_exist=once))
        entries.append(entry(consent(form_id, doc_url, pid), "POST", "Consent", if_none_exist=once))
    return transaction(*entries)


def failing_transaction(form: str) -> JSON:
    """A transaction whose first entry is fine and whose second fails while it is processed (not before):
    a POST to Consent of an Observation."""
    wrong = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    return transaction(entry(consent(form, "DocumentReference/x"), "POST", "Consent"),
                       entry(wrong, "POST", "Consent"))


def statuses(response: JSON) -> list[str]:
    return [e["response"]["status"] for e in response["entry"]]


def messages(findings: list[JSON]) -> str:
    return "\n".join(f"{f['path']}: {f['message']}" for f in findings)


def only(validation: Validation) -> tuple[str, str]:
    """What each validator said, as text, for assertions."""
    return messages(validation.models), messages(validation.schema)


# --------------------------------------------------------------------------- the validators


def test_valid_r4_consent_document_reference_and_bundle_pass_both_validators(tmp_path: Path) -> None:
    docref = document_reference("CF-1")
    bundle = batch_bundle("CF-1", "CF-2")
    on_disk = tmp_path / "bundle.json"
    on_disk.write_text(json.dumps(bundle), encoding="utf-8")
    assert_valid_r4(docref, consent("CF-1", "DocumentReference/1"), bundle, on_disk, str(on_disk))
    embedded = document_reference("CF-1")
    embedded["content"][0]["attachment"] = {"contentType": "application/pdf", "data": "JVBERi0xLjcK"}
    assert_valid_r4(embedded)


def test_r5_and_r4b_content_fails_both_validators() -> None:
    r5_consent = {"resourceType": "Consent", "status": "active", "subject": {"reference": "Patient/p1"},
                  "date": "2026-11-21", "decision": "permit", "category": [{"coding": [LOINC_CONSENT]}]}
    r5_docref = document_reference("CF-1") | {"version": "1", "context": [{"reference": "Encounter/e1"}]}
    r4b_only = {"resourceType": "Citation", "status": "active"}  # R4B and R5 have it, R4 does not
    findings = validate_r4(r5_consent, r5_docref, r4b_only)
    for validation in findings:
        assert validation.models and validation.schema, validation.report()
    models, schema = only(findings[0])
    assert "/decision: extra fields not permitted" in models and "/subject: extra fields" in models
    assert "should NOT have additional properties: decision" in schema
    assert "should have required property 'scope'" in schema
    models, schema = only(findings[1])
    assert "/version: extra fields not permitted" in models and "/context" in models
    # The official schema has no "type": "object": an array where R4 has one object passes it. The tool adds
    # the type, and says so (source fhir-json).
    assert {"path": "/context", "source": "fhir-json"}.items() <= next(
        e for e in findings[1].schema if e["path"] == "/context").items()
    assert "unknown resourceType \"Citation\"" in messages(findings[2].schema)
    assert "'Citation' is not valid FHIRModel" in messages(findings[2].models)


def test_relative_attachment_url_is_r4_and_only_fhir_resources_refuses_it() -> None:
    """R4's url type is \\S* and Attachment.url "may be relative references"; fhir.resources 6.4.0 takes only
    absolute URLs and "/..." paths: a warning by default, an error with strict_url."""
    relative = document_reference("CF-1", url="forms/x.pdf")
    [lenient] = validate_r4(relative)
    assert not lenient.errors
    assert [w["path"] for w in lenient.warnings] == ["/content/0/attachment/url"]
    assert "invalid or missing URL scheme" in lenient.warnings[0]["message"]
    rooted = document_reference("CF-1", url="/forms/x.pdf")
    strict, rooted_strict = validate_r4(relative, rooted, strict_url=True)
    assert [e["path"] for e in strict.models] == ["/content/0/attachment/url"] and not strict.schema
    assert not rooted_strict.errors and not rooted_strict.warnings


def test_empty_entry_array_fails_the_json_rules_not_the_models() -> None:
    empty = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    [found] = validate_r4(empty)
    assert messages(found.schema) == ("/entry: empty array (FHIR JSON has no empty arrays: leave the property"
                                      " out)")
    assert found.schema[0]["source"] == "fhir-json"
    assert not found.models  # fhir.resources 6.4.0 takes an empty list
    with pytest.raises(pytest.fail.Exception, match=r"\[fhir-json\] /entry: empty array"):
        assert_valid_r4(empty)


BAD_DATE_TIMES = {  # value: whether fhir.resources 6.4.0 refuses it too (the schema refuses them all)
    "2026-13-45": True,  # no 13th month
    "21/11/2026": True,
    "2026-11-21Z": True,  # a zone without a time
    "2026-11-21T10:30": False,  # R4: a time has seconds and a zone; fhir.resources 6.4.0 takes it
    "2026-11-21T10:30:00": False,
}


def test_bad_date_times_fail() -> None:
    found = validate_r4(*(consent("CF-1", "DocumentReference/1") | {"dateTime": v} for v in BAD_DATE_TIMES))
    for (value, models_refuse), validation in zip(BAD_DATE_TIMES.items(), found, strict=True):
        assert [(e["path"], e["value"]) for e in validation.schema] == [("/dateTime", json.dumps(value))]
        assert bool(validation.models) == models_refuse, validation.report()
    with pytest.raises(pytest.fail.Exception, match="/dateTime"):
        assert_valid_r4(consent("CF-1", "DocumentReference/1") | {"dateTime": "2026-11-21T10:30"})


def test_codes_outside_the_required_value_set_fail_the_schema_only() -> None:
    [found] = validate_r4(consent("CF-1", "DocumentReference/1", status="signed"))
    assert "/status: should be equal to one of the allowed values" in messages(found.schema)
    assert not found.models  # fhir.resources checks a code's form, not its value set


def test_every_entry_of_a_bundle_is_checked_on_its_own() -> None:
    bad = batch_bundle("CF-1", "CF-2")
    bad["entry"][0]["resource"]["date"] = "yesterday"
    bad["entry"][3]["resource"]["scope"] = None
    bad["entry"][2]["resource"] = {"resourceType": "Foo"}
    [found] = validate_r4(bad)
    models, schema = only(found)
    for text in (models, schema):
        assert "/entry/0/resource/date" in text
        assert "/entry/2/resource" in text
        assert "/entry/3/resource/scope" in text
    assert "oneOf" not in schema  # the schema's 146-way oneOf is replaced by the entry's own type


def test_assert_valid_r4_lists_every_error_of_both_validators() -> None:
    broken = consent("CF-1", "DocumentReference/1") | {"dateTime": "2026-13-45", "colour": "blue"}
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_valid_r4(document_reference("CF-2"), broken)
    text = str(failure.value)
    assert "#2 Consent" in text and "#1 " not in text
    for line in ("[fhir.resources-6.4.0] /dateTime: invalid date format",
                 "[fhir.resources-6.4.0] /colour: extra fields not permitted",
                 "[json-schema] /dateTime: not a valid R4 dateTime (pattern",
                 "[json-schema] /: should NOT have additional properties: colour"):
        assert line in text, text


def _without(resource: JSON, key: str) -> JSON:
    return {k: v for k, v in resource.items() if k != key}


def _matrix() -> list[tuple[str, JSON, str]]:
    """tests/fhir/README.md's table: content, and which of fhir.resources, the JSON schema and the server
    reject it ("R-R": the first and the third)."""
    c, d = consent("CF-1", "DocumentReference/1"), document_reference("CF-1")
    attachment = d["content"][0]["attachment"]
    return [
        ("an element R4 does not have", c | {"decision": "permit"}, "RRR"),
        ("a type R4 does not have", {"resourceType": "Citation", "status": "active"}, "RRR"),
        ("an array for one object", d | {"context": [{"period": {"start": "2026-11-21"}}]}, "RRR"),
        ("no Consent.scope", _without(c, "scope"), "RRR"),
        ("no Consent.status", _without(c, "status"), "R-R"),
        ("ppc-1", _without(c, "policyRule"), "--R"),
        ("a code outside its value set", c | {"status": "signed"}, "-R-"),
        ("a Bundle.type outside it", {"resourceType": "Bundle", "type": "transactionx"}, "-R-"),
        ("an impossible date", c | {"dateTime": "2026-13-45"}, "RRR"),
        ("another date format", c | {"dateTime": "21/11/2026"}, "RRR"),
        ("hours and minutes only", c | {"dateTime": "2026-11-21T10:30"}, "-RR"),
        ("a time without a zone", c | {"dateTime": "2026-11-21T10:30:00"}, "-R-"),
        ("a date with a zone", c | {"dateTime": "2026-11-21Z"}, "RR-"),
        ("an empty array", c | {"performer": []}, "-R-"),
        ("an empty object", d | {"custodian": {}}, "-R-"),
        ("an empty string", d | {"description": ""}, "RR-"),
        ("null", c | {"dateTime": None}, "-RR"),
        ("a number as a string", d | {"content": [{"attachment": attachment | {"size": "12"}}]}, "-RR"),
        ("base64 that is not", d | {"content": [{"attachment": attachment | {"hash": "!!x"}}]}, "--R"),
        ("a relative url", document_reference("CF-1", url="forms/x.pdf"), "---"),
    ]


def test_what_each_validator_and_the_server_reject_is_as_documented(fhir_server: FhirServer) -> None:
    """The table of tests/fhir/README.md: a test that fails here means that table is out of date."""
    rows = _matrix()
    found = validate_r4(*(resource for _, resource, _ in rows))
    wrong = []
    for (label, resource, expected), validation in zip(rows, found, strict=True):
        status, _ = fhir_server.create(resource)
        assert status in (201, 400)
        seen = "".join("R" if it else "-" for it in (validation.models, validation.schema, status == 400))
        if seen != expected:
            wrong.append(f"{label}: fhir.resources, schema, server reject {seen!r}, README: {expected!r}")
    assert wrong == []


# --------------------------------------------------------------------------- the server


def test_server_runs_medplum_on_loopback_with_its_additions(fhir_server: FhirServer) -> None:
    assert fhir_server.base.startswith("http://127.0.0.1:")
    assert fhir_server.ready["medplum"] == "4.5.2"
    assert fhir_server.ready["shims"] == ["validate", "atomic", "condref", "server-ids"]
    assert fhir_server.process.poll() is None
    status, missing = fhir_server.get(f"Consent/{uuid.uuid4()}")
    assert status == 404 and missing["resourceType"] == "OperationOutcome"


def test_conditional_updates_create_then_update_never_duplicate(fhir_server: FhirServer) -> None:
    a, b = unique(), unique()
    doc_url = urn()
    record = transaction(
        entry(document_reference(a), "POST", "DocumentReference", full_url=doc_url,
              if_none_exist=f"identifier={FORM_ID}|{a}"),
        entry(consent(a, doc_url, status="active"), "PUT", f"Consent?identifier={FORM_ID}|{a}"),
        entry(consent(b, doc_url, status="active"), "PUT", f"Consent?identifier={FORM_ID}|{b}"),
    )
    status, first = fhir_server.post(record)
    assert status == 200 and first["type"] == "transaction-response", first
    assert statuses(first) == ["201", "201", "201"]
    ids = {form: fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}") for form in (a, b)}
    assert [len(found) for found in ids.values()] == [1, 1]
    status, second = fhir_server.post(record)
    assert status == 200 and statuses(second) == ["200", "200", "200"]
    for form, [before] in ids.items():
        [after] = fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}")
        assert after["id"] == before["id"] and after["meta"]["versionId"] != before["meta"]["versionId"]
        assert after["status"] == "active"
    assert len(fhir_server.search("DocumentReference", identifier=f"{FORM_ID}|{a}")) == 1


def test_conditional_update_updates_the_proposed_consent_made_by_a_batch(fhir_server: FhirServer) -> None:
    form = unique()
    assert statuses(fhir_server.post(batch_bundle(form))[1]) == ["201", "201"]
    [proposed] = fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}")
    assert proposed["status"] == "proposed"
    active = consent(form, "DocumentReference/x", status="active")
    update = entry(active, "PUT", f"Consent?identifier={FORM_ID}|{form}")
    status, response = fhir_server.post(transaction(update))
    assert status == 200 and statuses(response) == ["200"]
    assert response["entry"][0]["response"]["location"] == f"Consent/{proposed['id']}"
    [active] = fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}")
    assert active["id"] == proposed["id"] and active["status"] == "active"


def test_if_none_exist_creates_once_and_points_references_at_the_existing(fhir_server: FhirServer) -> None:
    form = unique()
    status, first = fhir_server.post(batch_bundle(form))
    assert status == 200 and statuses(first) == ["201", "201"]
    docref_id = first["entry"][0]["resource"]["id"]
    # The resource's own id ("docref-...") is the sender's: the server assigns its own.
    assert first["entry"][1]["resource"]["sourceReference"] == {"reference": f"DocumentReference/{docref_id}"}
    status, again = fhir_server.post(batch_bundle(form))
    assert status == 200 and statuses(again) == ["200", "200"]
    locations = [e["response"]["location"] for e in first["entry"]]
    assert [e["response"]["location"] for e in again["entry"]] == locations
    assert len(fhir_server.search("DocumentReference", identifier=f"{FORM_ID}|{form}")) == 1
    assert len(fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}")) == 1


def test_conditional_reference_resolves_to_the_one_match(fhir_server: FhirServer) -> None:
    a, b, sha = unique(), unique(), uuid.uuid4().hex
    fhir_server.post(batch_bundle(a, b))
    [unsigned_b] = fhir_server.search("DocumentReference", identifier=f"{FORM_ID}|{b}")
    signed = document_reference(b) | {"identifier": [{"system": SIGNED, "value": sha}], "relatesTo": [
        {"code": "replaces", "target": {"reference": f"DocumentReference?identifier={FORM_ID}|{b}"}}]}
    status, response = fhir_server.post(transaction(
        entry(signed, "POST", "DocumentReference", if_none_exist=f"identifier={SIGNED}|{sha}")))
    assert status == 200, response
    made = response["entry"][0]["resource"]
    assert made["relatesTo"][0]["target"] == {"reference": f"DocumentReference/{unsigned_b['id']}"}
    assert fhir_server.read(f"DocumentReference/{made['id']}")["relatesTo"] == made["relatesTo"]
    # No match, or more than one: the transaction fails, and nothing of it is left.
    for query, text in ((f"identifier={FORM_ID}|{unique()}", "did not match any"),
                        ("subject=Patient/p1", "matched multiple")):
        other = unique()
        bundle = transaction(
            entry(consent(other, "DocumentReference/x"), "POST", "Consent"),
            entry(signed | {"identifier": [{"system": SIGNED, "value": other}], "relatesTo": [
                {"code": "replaces", "target": {"reference": f"DocumentReference?{query}"}}]},
                  "POST", "DocumentReference"))
        status, outcome = fhir_server.post(bundle)
        assert status == 400 and text in json.dumps(outcome), outcome
        assert fhir_server.search("Consent", identifier=f"{FORM_ID}|{other}") == []


def test_urn_uuid_references_are_rewritten(fhir_server: FhirServer) -> None:
    pid_urn, doc_urn, form = urn(), urn(), unique()
    new_patient = {"resourceType": "Patient", "identifier": [{"system": "urn:test:mrn", "value": form}]}
    doc = document_reference(form) | {"subject": {"reference": pid_urn}}
    status, response = fhir_server.post(transaction(
        entry(new_patient, "POST", "Patient", full_url=pid_urn),
        entry(doc, "POST", "DocumentReference", full_url=doc_urn),
        entry(consent(form, doc_urn) | {"patient": {"reference": pid_urn}}, "POST", "Consent")))
    assert status == 200, response
    patient_id, doc_id = (e["resource"]["id"] for e in response["entry"][:2])
    made = response["entry"][2]["resource"]
    assert made["patient"] == {"reference": f"Patient/{patient_id}"}
    assert made["sourceReference"] == {"reference": f"DocumentReference/{doc_id}"}
    assert "urn:uuid" not in json.dumps(fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}"))


def test_read_back_by_id_identifier_patient_and_subject(fhir_server: FhirServer) -> None:
    pid, form = unique("pat"), unique()
    fhir_server.post(batch_bundle(form, pid=pid))
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "pregnant"},
                   "subject": patient(pid), "valueBoolean": False,
                   "identifier": [{"system": "urn:consent:screening-answer", "value": f"{form}/pregnant"}]}
    assert fhir_server.create(observation)[0] == 201
    [by_identifier] = fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}")
    assert fhir_server.read(f"Consent/{by_identifier['id']}") == by_identifier
    assert fhir_server.search("Consent", patient=f"Patient/{pid}") == [by_identifier]
    [docref] = fhir_server.search("DocumentReference", subject=f"Patient/{pid}")
    assert fhir_server.search("DocumentReference", patient=f"Patient/{pid}") == [docref]
    assert [o["valueBoolean"] for o in fhir_server.search("Observation", subject=f"Patient/{pid}")] == [False]
    both = {"identifier": f"{FORM_ID}|{form}", "status": "proposed"}
    assert fhir_server.search("Consent", both) == [by_identifier]
    assert fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}", status="active") == []


def test_rest_interactions_and_status_codes(fhir_server: FhirServer) -> None:
    form = unique()
    status, made = fhir_server.create(consent(form, "DocumentReference/x") | {"id": "chosen-by-client"})
    assert status == 201 and made["id"] != "chosen-by-client"  # create: the server assigns the id
    once = f"identifier={FORM_ID}|{form}"
    assert fhir_server.create(consent(form, "DocumentReference/x"), if_none_exist=once) == (200, made)
    status, updated = fhir_server.put(f"Consent/{made['id']}", made | {"status": "active"})
    assert status == 200 and updated["status"] == "active"
    other = unique()
    status, created = fhir_server.put(f"Consent?identifier={FORM_ID}|{other}",
                                      consent(other, "DocumentReference/x"))
    assert status == 201
    status, same = fhir_server.put(f"Consent?identifier={FORM_ID}|{other}",
                                   consent(other, "DocumentReference/x", status="active"))
    assert status == 200 and same["id"] == created["id"]
    status, outcome = fhir_server.put(f"Consent/{made['id']}", made | {"id": "another"})
    assert status == 400 and outcome["resourceType"] == "OperationOutcome"


def test_server_validates_what_is_written_and_transactions_are_atomic(fhir_server: FhirServer) -> None:
    form = unique()
    no_scope = {k: v for k, v in consent(form, "DocumentReference/x").items() if k != "scope"}
    status, outcome = fhir_server.create(no_scope)
    assert status == 400 and outcome["issue"][0]["expression"] == ["Consent.scope"]
    status, outcome = fhir_server.create(consent(form, "DocumentReference/x") | {"decision": "permit"})
    assert status == 400
    assert outcome["issue"][0]["details"]["text"] == 'Invalid additional property "decision"'
    bundle = batch_bundle(form)
    bundle["entry"][1]["resource"]["dateTime"] = "2026-13-45"
    status, outcome = fhir_server.post(bundle)
    assert status == 400 and "Invalid dateTime format" in json.dumps(outcome)
    assert fhir_server.search("DocumentReference", identifier=f"{FORM_ID}|{form}") == []  # entry 0 neither
    status, outcome = fhir_server.post(failing_transaction(form))
    assert status == 400 and "Incorrect resource type" in json.dumps(outcome)
    assert fhir_server.search("Consent", identifier=f"{FORM_ID}|{form}") == []  # rolled back
    status, outcome = fhir_server.post({"resourceType": "Bundle", "type": "transaction", "entry": []})
    assert status == 400 and "Missing bundle entries" in json.dumps(outcome)


def test_a_batch_succeeds_or_fails_entry_by_entry(fhir_server: FhirServer) -> None:
    good, bad = unique(), unique()
    invalid = consent(bad, "DocumentReference/x") | {"dateTime": "2026-13-45"}
    status, response = fhir_server.post({"resourceType": "Bundle", "type": "batch", "entry": [
        entry(consent(good, "DocumentReference/x"), "POST", "Consent"), entry(invalid, "POST", "Consent")]})
    assert status == 200 and response["type"] == "batch-response"
    assert statuses(response) == ["201", "400"]
    assert "Invalid dateTime format" in json.dumps(response["entry"][1]["response"]["outcome"])
    assert len(fhir_server.search("Consent", identifier=f"{FORM_ID}|{good}")) == 1


def test_what_medplum_refuses_or_ignores_is_as_documented(fhir_server: FhirServer) -> None:
    """tests/fhir/README.md, 'Limits': a test that fails here means that README is out of date."""
    forms = [unique() for _ in range(5)]
    status, outcome = fhir_server.post(batch_bundle(*forms))  # 10 conditional creates
    assert status == 400
    too_many = "Transaction requires strict isolation but has too many entries"
    assert outcome["issue"][0]["details"]["text"] == too_many
    assert fhir_server.post(batch_bundle(*forms[:4]))[0] == 200  # 8 is the most
    pid = unique("pat")
    fhir_server.post(batch_bundle(unique(), pid=pid))
    assert fhir_server.search("Consent", {"patient:identifier": f"|MRN-{pid}"}) == []  # no :identifier search
    assert fhir_server.search("Consent", patient=pid) == []  # a bare id does not match Patient/<id>
    assert fhir_server.search("Consent", colour="blue") == []  # an unknown parameter matches nothing, no 400
    assert len(fhir_server.search("Consent", identifier=f"{FORM_ID}|{forms[0].lower()}")) == 1  # case-blind
    loose = consent(unique(), "DocumentReference/x") | {"status": "signed", "dateTime": "2026-11-21T10:30:00"}
    assert fhir_server.create(loose)[0] == 201  # value sets and a time's zone are not checked


@pytest.fixture(scope="module")
def pure_server() -> Iterator[FhirServer]:
    server = start_fhir_server("--pure")
    try:
        yield server
    finally:
        stop_fhir_server(server)


def test_the_bare_router_lacks_the_additions(pure_server: FhirServer) -> None:
    """What server.mjs adds to @medplum/fhir-router + MemoryRepository, shown by --pure: without it a
    conditional reference is stored as written, a failed transaction leaves its first entries behind,
    nothing is validated, and a create keeps the client's id."""
    assert pure_server.ready["shims"] == []
    form = unique()
    fhir = pure_server
    fhir.post(batch_bundle(form))
    signed = document_reference(form) | {"identifier": [{"system": SIGNED, "value": form}], "relatesTo": [
        {"code": "replaces", "target": {"reference": f"DocumentReference?identifier={FORM_ID}|{form}"}}]}
    status, response = fhir.post(transaction(entry(signed, "POST", "DocumentReference")))
    assert status == 200
    target = response["entry"][0]["resource"]["relatesTo"][0]["target"]
    assert target["reference"].startswith("DocumentReference?identifier=")
    other = unique()
    status, outcome = fhir.post(failing_transaction(other))
    assert status == 400 and "Incorrect resource type" in json.dumps(outcome)
    assert len(fhir.search("Consent", identifier=f"{FORM_ID}|{other}")) == 1  # left behind
    status, made = fhir.create(consent(unique(), "DocumentReference/x") | {"colour": "blue", "id": "mine"})
    assert status == 201 and made["colour"] == "blue" and made["id"] == "mine"
    fhir.reset()
    assert fhir.search("Consent") == []
