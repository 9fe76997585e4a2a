"""`consent record SIGNED.pdf`: the FHIR R4 transaction Bundle that makes a signed form's Consent active
(issue 10, point 3), validated as FHIR R4 like the batch's Bundles (tests/fhir_tools.py)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import warnings

import pikepdf
import pytest
from fhir_tools import assert_valid_r4
from helpers import DATE, EHR_SAMPLES, EXAMPLES, make_clinic
from helpers import run_cli as run
from signing import (
    attachment_edited_in_update,
    body_stream,
    change_one_glyph,
    fill,
    sign,
    signature_field_over,
    value_changed_in_update,
)

import consent
from consent.batch.run import run_batch
from consent.ehr import read_records
from consent.ehr._fhir_out import FORM_ID_SYSTEM

ANSWERS = {"pregnant": False, "allergy": True}


@pytest.fixture(scope="module")
def made():
    """A fillable knee-injection form, made with two screening answers (the others left to the patient)."""
    patient = consent.Patient(full_name="Ada O'Connor", birth_date=DATE.replace(year=1985), mrn="SRH-000101")
    form = consent.build("knee-injection", patient=patient, clinic=make_clinic(), date=DATE, screening=ANSWERS)
    return form, form.to_pdf(fillable=True)


def _values(form: consent.Form | bytes, *, representative: bool = False) -> dict[str, str]:
    """Every field of the fillable form (a Form, or its PDF) filled in: initials, screening answers (no,
    but allergy yes), the patient's date and time, the provider's date."""
    pdf = form if isinstance(form, bytes) else form.to_pdf(fillable=True)
    fields = {f.name: f for f in consent.read_signed(pdf).fields}
    values = {name: "AO" for name in fields if name.startswith("initials.")}
    values.update({name: "/No" for name in fields if name.startswith("screening.")})
    values.update({"screening.allergy": "/Yes", "patient.date": "2026-11-21", "patient.time": "09:30",
                   "provider.date": "2026-11-21"})
    if representative:
        values.update({"representative.name": "Bea O'Connor", "representative.relationship": "Daughter"})
    return values


def _by_representative(made, pki, **values: str) -> bytes:
    """Filled in and signed by a representative instead of the patient (the patient's own signature, date and
    time left empty), then by the provider. ``values``: fields to fill in otherwise."""
    form, pdf = made
    filled = {k: v for k, v in _values(form).items() if k not in ("patient.date", "patient.time")}
    filled.update({"representative.name": "Bea O'Connor", "representative.relationship": "Daughter",
                   "representative.date": "2026-11-21", "representative.time": "09:45", **values})
    pdf = sign(fill(pdf, filled), "representative.signature", pki.patient_p12)
    return sign(pdf, "provider.signature", pki.clinic_p12)


def _signed(made, pki, **kw) -> bytes:
    """Filled in (with a representative: their name and relationship too) and signed by the patient, the
    representative (if any) and the provider, in that order."""
    form, pdf = made
    pdf = fill(pdf, _values(form, **kw))
    pdf = sign(pdf, "patient.signature", pki.patient_p12)
    if kw.get("representative"):
        pdf = sign(pdf, "representative.signature", pki.patient_p12)
    return sign(pdf, "provider.signature", pki.clinic_p12)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_record_bundle_validates_and_makes_the_consent_active(made, pki, tmp_path, capsys):
    """`consent record SIGNED.pdf --out DIR`: a transaction Bundle that validates as FHIR R4:
    the Consent, active, put by a conditional update on the form id the batch's proposed Consent has; its
    dateTime the patient's date and time of signing; the patient and the provider as performers; the
    signed PDF's DocumentReference with its SHA-1 and size; one Observation per screening answer."""
    form, _ = made
    signed = _signed(made, pki)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"), "--timezone",
                         "America/Boise")
    assert code == 0, err
    written = tmp_path / "fhir" / "signed.record.fhir.json"
    assert out.strip() == str(written)
    data = json.loads(written.read_text())
    assert_valid_r4(data, strict_url=True)
    assert data["type"] == "transaction"

    (entry,) = resources(data, "Consent")
    assert entry["request"] == {"method": "PUT", "url": f"Consent?identifier={FORM_ID_SYSTEM}|{form.form_id}"}
    c = entry["resource"]
    assert "id" not in c and c["identifier"] == [{"system": FORM_ID_SYSTEM, "value": form.form_id}]
    assert c["status"] == "active" and c["dateTime"] == "2026-11-21T09:30:00-07:00"
    assert c["patient"]["identifier"]["value"] == "SRH-000101"
    assert [p.get("type") for p in c["performer"]] == [None, "Practitioner"]
    assert c["performer"][1]["display"] == "Sam Lee, DO"

    (doc_entry,) = resources(data, "DocumentReference")
    assert doc_entry["request"]["method"] == "POST"
    # Dated by the last signature (signing.SIGNED_AT, 10:31 UTC), an instant with its offset in the zone.
    assert doc_entry["resource"]["date"] == "2026-11-21T03:31:00-07:00"
    assert c["sourceReference"]["reference"] == doc_entry["fullUrl"]
    attachment = doc_entry["resource"]["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf" and attachment["size"] == len(signed)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(signed).digest()).decode()  # noqa: S324
    assert base64.b64decode(attachment["data"]) == signed
    assert doc_entry["resource"]["relatesTo"][0]["code"] == "replaces"

    (observation,) = resources(data, "Observation")  # one, whatever the form asks: see _record
    o = observation["resource"]
    assert o["derivedFrom"] == [{"reference": doc_entry["fullUrl"]}]
    assert o["effectiveDateTime"] == c["dateTime"]
    assert o["code"]["coding"][0] == {"system": "urn:consent:screening-question", "code": "screening",
                                      "display": "Screening questions answered on the consent form"}
    key = f"{form.form_id}/screening"
    assert observation["request"]["ifNoneExist"] == f"identifier=urn:consent:screening-answer|{key}"
    answers = {a["code"]["coding"][0]["code"]: a["valueBoolean"] for a in o["component"]}
    assert answers["allergy"] is True and answers["pregnant"] is False
    assert len(answers) == len([n for n in _values(form) if n.startswith("screening.")])
    assert len(data["entry"]) == 4  # a server caps transactions with conditional entries (Medplum: 8)

    (prov,) = resources(data, "Provenance")
    tag = f"_tag=urn:consent:signed-pdf-sha256|{hashlib.sha256(signed).hexdigest()}"
    assert prov["request"] == {"method": "POST", "url": "Provenance", "ifNoneExist": tag}
    p = prov["resource"]
    assert p["target"] == [{"reference": entry["fullUrl"]}, {"reference": doc_entry["fullUrl"]}]
    assert p["occurredDateTime"] == c["dateTime"] and p["recorded"] == doc_entry["resource"]["date"]
    assert [(a["type"]["coding"][0]["code"], a["who"].get("type")) for a in p["agent"]] == [
        ("author", "Patient"), ("verifier", "Practitioner")]
    assert p["agent"][0]["who"]["identifier"]["value"] == "SRH-000101"
    assert [s["type"][0]["display"] for s in p["signature"]] == ["Consent Signature", "Verification Signature"]
    assert all(s["when"] == "2026-11-21T03:31:00-07:00" for s in p["signature"])
    text = json.dumps(data)
    assert "Ada O'Connor" not in text and "1985" not in text  # only the MRN leaves with the form


def test_a_representative_who_signed_is_a_performer_and_a_patient_reference_can_be_given(made, pki):
    """With a representative's name filled in, the Consent lists them (RelatedPerson, with the
    relationship); --patient Patient/123 is the Consent's and the Observations' patient."""
    url = "https://files.example.org/signed/form.pdf"
    bundle = consent.record_signed(_signed(made, pki, representative=True), patient="Patient/123",
                                   pdf_url=url, timezone="UTC")
    assert_valid_r4(bundle, strict_url=True)
    (c,) = (e["resource"] for e in resources(bundle, "Consent"))
    assert c["patient"]["reference"] == "Patient/123"
    assert {"reference": "#representative", "type": "RelatedPerson",
            "display": "Bea O'Connor (Daughter)"} in c["performer"]
    (related,) = c["contained"]
    assert related["relationship"] == [{"text": "Daughter"}] and related["name"] == [{"text": "Bea O'Connor"}]
    assert c["dateTime"] == "2026-11-21T09:30:00+00:00"
    (d,) = (e["resource"] for e in resources(bundle, "DocumentReference"))
    assert d["content"][0]["attachment"]["url"] == url and "data" not in d["content"][0]["attachment"]
    assert all(o["resource"]["subject"]["reference"] == "Patient/123" for o in resources(bundle, "Observation"))


def test_an_unsigned_or_incomplete_form_is_refused(made, pki, tmp_path, capsys):
    """A form with a required field empty (here: the provider has not signed) is refused: exit 1, the
    missing field named, nothing written."""
    form, pdf = made
    partly = sign(fill(pdf, _values(form)), "patient.signature", pki.patient_p12)
    path = tmp_path / "partly.pdf"
    path.write_bytes(partly)
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert code == 1 and out == ""
    assert err.startswith("Error: ") and "provider.signature" in err and "cannot be recorded" in err
    assert not (tmp_path / "fhir").exists()


def test_an_altered_form_is_refused(made, pki, tmp_path, capsys):
    """A signed form whose page text was changed after it was made is refused: exit 1, nothing written."""
    signed = _signed(made, pki)
    with pikepdf.open(io.BytesIO(signed)) as doc:
        stream = body_stream(doc, 1)
        stream.write(change_one_glyph(stream.read_bytes()))
        out = io.BytesIO()
        doc.save(out)
    path = tmp_path / "altered.pdf"
    path.write_bytes(out.getvalue())
    code, _, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert code == 1 and "changed since it was made" in err and "cannot be recorded" in err
    assert not (tmp_path / "fhir").exists()


def test_a_flat_form_and_a_bad_time_of_signing_are_refused(made, pki, tmp_path, capsys):
    """A form made without fields cannot say who signed when; a time of signing that is not HH:MM is
    named. Both exit 1 with nothing written."""
    form, pdf = made
    flat = tmp_path / "flat.pdf"
    flat.write_bytes(form.to_pdf())
    code, _, err = run(capsys, "record", str(flat), "--out", str(tmp_path / "fhir"))
    assert code == 1 and "has no form fields" in err
    values = {**_values(form), "patient.time": "half past nine"}
    bad = sign(sign(fill(pdf, values), "patient.signature", pki.patient_p12), "provider.signature", pki.clinic_p12)
    path = tmp_path / "bad.pdf"
    path.write_bytes(bad)
    code, _, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert code == 1 and "'half past nine'" in err
    assert not (tmp_path / "fhir").exists()


def test_record_updates_the_proposed_consent_the_batch_wrote(pki, tmp_path):
    """A batch (--fillable) writes a proposed Consent per form; the same form, filled in and signed, gives
    a Bundle whose conditional update finds that Consent by its identifier, and whose new DocumentReference
    replaces the batch's (found by the same identifier)."""
    result = run_batch("knee-injection", read_records([EHR_SAMPLES / "hl7_r4_patient-example.json"]),
                       clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), out_dir=tmp_path, date=DATE,
                       formats=["pdf"], fillable=True, jobs=1)
    assert result.written == 1
    pdf = next((tmp_path / "forms").glob("*.pdf")).read_bytes()
    proposed = json.loads(next((tmp_path / "forms").glob("*.fhir.json")).read_text())
    (batch_consent,) = (e["resource"] for e in proposed["entry"] if e["resource"]["resourceType"] == "Consent")
    (batch_doc,) = (e["resource"] for e in proposed["entry"]
                    if e["resource"]["resourceType"] == "DocumentReference")
    assert batch_consent["status"] == "proposed"
    values = _values(pdf)
    signed = sign(sign(fill(pdf, values), "patient.signature", pki.patient_p12), "provider.signature",
                  pki.clinic_p12)
    bundle = consent.record_signed(signed, patient=batch_consent["patient"]["reference"], timezone="UTC")
    assert_valid_r4(bundle, strict_url=True)
    (entry,) = resources(bundle, "Consent")
    (system_value,) = (f"{i['system']}|{i['value']}" for i in batch_consent["identifier"])
    assert entry["request"]["url"] == f"Consent?identifier={system_value}"
    assert entry["resource"]["identifier"] == batch_consent["identifier"]
    assert entry["resource"]["patient"] == batch_consent["patient"]
    (doc,) = resources(bundle, "DocumentReference")
    (doc_identifier,) = (f"{i['system']}|{i['value']}" for i in batch_doc["identifier"])
    assert doc["resource"]["relatesTo"] == [{"code": "replaces",
                                            "target": {"reference": f"DocumentReference?identifier={doc_identifier}"}}]


# --- issue 13: record sends what the signers saw and signed, and the data the pages print -----------------


def _refused(capsys, tmp_path, data: bytes) -> str:
    """`consent record` on ``data``: exit 1, nothing on stdout, nothing written; its error output."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: ") and "cannot be recorded" in err
    assert not (tmp_path / "fhir").exists()
    return err


AFTER_BOTH = "changed after patient.signature and provider.signature were signed (in incremental update 4)"


def test_an_answer_changed_after_both_signatures_is_not_recorded(made, pki, tmp_path, capsys):
    """Issue 13, point 3: the allergy answer the patient gave and the page shows ("Yes") changed to "No" in
    the stored value (/V) after both signatures: refused, naming the field and both values, where the
    Bundle used to carry valueBoolean false."""
    attacked = value_changed_in_update(_signed(made, pki), "screening.allergy", "/No")
    err = _refused(capsys, tmp_path, attacked)
    assert f"  - {AFTER_BOTH}: screening.allergy from 'Yes' to 'No'\n" in err
    unshown = "fields whose appearance does not show their value: screening.allergy (holds 'No', shows 'Yes')"
    assert f"  - {unshown}\n" in err


def test_the_date_or_a_representative_filled_in_after_signing_is_not_recorded(made, pki):
    """Issue 13, point 3: the patient's date (the Consent's dateTime) changed after both signatures, and a
    representative filled in who never signed (who would be a performer): each refused, naming it."""
    signed = _signed(made, pki)
    with pytest.raises(consent.InputError) as dated:
        consent.record_signed(fill(signed, {"patient.date": "2026-11-01"}))
    assert [str(p) for p in dated.value.problems] == [
        f"{AFTER_BOTH}: patient.date from '2026-11-21' to '2026-11-01'"
    ]
    with pytest.raises(consent.InputError) as represented:
        consent.record_signed(fill(signed, {"representative.name": "Mallory Doe"}))
    assert [str(p) for p in represented.value.problems] == [
        f"{AFTER_BOTH}: representative.name from nothing to 'Mallory Doe', which representative.signature "
        "does not sign"
    ]


def test_a_representative_named_but_not_signing_is_not_recorded(made, pki):
    """A representative's name and relationship filled in before the patient signed, but the representative
    never signed: the form is intact, but the Consent would name a performer who did not sign: refused,
    naming both fields."""
    form, pdf = made
    unsigned = sign(sign(fill(pdf, _values(form, representative=True)), "patient.signature", pki.patient_p12),
                    "provider.signature", pki.clinic_p12)
    assert consent.read_signed(unsigned).verdict.status == "INTACT"
    with pytest.raises(consent.InputError) as refused:
        consent.record_signed(unsigned)
    assert refused.value.summary == (
        "representative.name is filled in, but representative.signature is not signed"
    )


def test_a_value_the_signer_did_not_see_is_not_recorded(made, pki):
    """Issue 13, point 3: before anyone signed, the allergy answer's stored value set to "No" while its
    appearance still shows "Yes"; then signed by both: refused, the signer saw "Yes"."""
    form, pdf = made
    shadowed = value_changed_in_update(fill(pdf, _values(form)), "screening.allergy", "/No")
    signed = sign(sign(shadowed, "patient.signature", pki.patient_p12), "provider.signature", pki.clinic_p12)
    with pytest.raises(consent.InputError) as refused:
        consent.record_signed(signed)
    assert [str(p) for p in refused.value.problems] == [
        "fields whose appearance does not show their value: screening.allergy (holds 'No', shows 'Yes')"
    ]


def test_a_field_painted_over_the_answers_is_not_recorded(made, pki, tmp_path, capsys):
    """Issue 13, point 4: a new, empty signature field painting a white box over the screening table
    after both signatures: refused, naming the field and the page."""
    signed = _signed(made, pki)
    page = next(f.page for f in consent.read_signed(signed).fields if f.name == "screening.allergy")
    err = _refused(capsys, tmp_path, signature_field_over(signed, page, (60, 120, 560, 700)))
    assert f"  - {AFTER_BOTH}: Signature2 added (signature, drawn over page {page})\n" in err


def test_form_data_that_is_not_the_printed_form_is_not_recorded(made, pki, tmp_path, capsys):
    """Issue 13, point 5: the embedded consent-form.json edited before signing so the Consent would be made
    active for MRN SRH-999999, while page 1 prints SRH-000101: refused, naming the embedded file and the
    MRN no page prints; nothing written."""
    form, pdf = made
    edited = attachment_edited_in_update(pdf, "consent-form.json",
                                         lambda data: data.replace(b"SRH-000101", b"SRH-999999"))
    signed = sign(sign(fill(edited, _values(form)), "patient.signature", pki.patient_p12),
                  "provider.signature", pki.clinic_p12)
    err = _refused(capsys, tmp_path, signed)
    assert "  - embedded data changed since it was made: consent-form.json changed\n" in err
    assert ("  - the embedded form data (consent-form.json) is not the printed form: no page prints its MRN "
            "'SRH-999999'\n") in err


def test_the_provider_dating_and_signing_after_the_patient_is_recorded(made, pki):
    """The provider's date, empty when the patient signed, filled in afterwards and covered by the
    provider's signature: recorded, the Consent active with the patient's date of signing."""
    form, pdf = made
    values = {k: v for k, v in _values(form).items() if k != "provider.date"}
    patient_signed = sign(fill(pdf, values), "patient.signature", pki.patient_p12)
    signed = sign(fill(patient_signed, {"provider.date": "2026-11-22"}), "provider.signature", pki.clinic_p12)
    bundle = consent.record_signed(signed, timezone="UTC")
    assert_valid_r4(bundle, strict_url=True)
    (c,) = (e["resource"] for e in resources(bundle, "Consent"))
    assert (c["status"], c["dateTime"]) == ("active", "2026-11-21T09:30:00+00:00")


# --- issue 24: a representative signs for the patient; the typed dates; the PDF's URL --------------------


def test_a_representative_signing_for_the_patient_completes_the_loop(made, pki, tmp_path, capsys):
    """Issue 24, point 2: the representative signs instead of the patient (name, relationship, signature,
    date and time filled in; the patient's own signature and date empty): recorded. The Consent's performers
    are the representative (a contained RelatedPerson, with the relationship) and the provider, not the
    patient; its dateTime the representative's; a Provenance says who signed: the representative (author, on
    behalf of the patient, with a consent signature), the provider (verifier)."""
    signed = _by_representative(made, pki)
    assert consent.read_signed(signed).verdict.status == "INTACT"
    path = tmp_path / "representative.pdf"
    path.write_bytes(signed)
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"), "--timezone",
                         "America/Boise")
    assert (code, err) == (0, ""), err
    data = json.loads((tmp_path / "fhir" / "representative.record.fhir.json").read_text())
    assert_valid_r4(data, strict_url=True)
    (entry,) = resources(data, "Consent")
    c = entry["resource"]
    assert c["performer"] == [{"reference": "#representative", "type": "RelatedPerson",
                               "display": "Bea O'Connor (Daughter)"},
                              {"type": "Practitioner", "display": "Sam Lee, DO"}]
    assert c["contained"] == [{"resourceType": "RelatedPerson", "id": "representative", "patient": c["patient"],
                               "relationship": [{"text": "Daughter"}], "name": [{"text": "Bea O'Connor"}]}]
    assert c["dateTime"] == "2026-11-21T09:45:00-07:00"
    assert all(o["resource"]["effectiveDateTime"] == c["dateTime"] for o in resources(data, "Observation"))
    (doc,) = resources(data, "DocumentReference")
    (prov,) = resources(data, "Provenance")
    p = prov["resource"]
    assert p["target"] == [{"reference": entry["fullUrl"]}, {"reference": doc["fullUrl"]}]
    assert p["occurredDateTime"] == "2026-11-21T09:45:00-07:00"
    representative, provider = p["agent"]
    assert representative["type"]["coding"][0]["code"] == "author"
    assert representative["who"] == c["performer"][0] and representative["role"] == [{"text": "Daughter"}]
    assert representative["onBehalfOf"] == {**c["patient"], "type": "Patient"}
    assert provider["type"]["coding"][0]["code"] == "verifier" and provider["who"] == c["performer"][1]
    assert p["contained"] == c["contained"]
    consents = [s for s in p["signature"] if s["type"][0]["code"] == "1.2.840.10065.1.12.1.7"]
    assert [s["who"] for s in consents] == [representative["who"]]
    assert consents[0]["onBehalfOf"] == representative["onBehalfOf"]


def test_a_form_signed_by_neither_the_patient_nor_a_representative_is_refused(made, pki, tmp_path, capsys):
    """Only the provider signed: refused (exit 1, nothing written), saying what the patient, or else a
    representative, has left to fill in."""
    form, pdf = made
    only_provider = sign(fill(pdf, _values(form)), "provider.signature", pki.clinic_p12)
    err = _refused(capsys, tmp_path, only_provider)
    assert "  - required fields not filled: patient.signature\n" in err
    assert ("  - or a representative signs for the patient: representative.name, representative.relationship, "
            "representative.signature, representative.date not filled\n") in err


def test_a_representative_who_did_not_date_their_signature_is_not_signing_for_the_patient(made, pki, tmp_path,
                                                                                         capsys):
    """The representative signed but left their date empty, and the patient did not sign: refused, naming
    the representative's date; nothing written."""
    signed = _by_representative(made, pki, **{"representative.date": ""})
    err = _refused(capsys, tmp_path, signed)
    assert "required fields not filled: patient.signature, patient.date" in err
    assert "  - or a representative signs for the patient: representative.date not filled\n" in err


@pytest.mark.parametrize("url", ["signed/form.pdf", "/files/form.pdf", "ftp://files.example.org/form.pdf",
                                 "https://", "https://files.example.org/signed form.pdf", ""])
def test_a_pdf_url_that_is_not_an_absolute_http_url_is_refused(made, pki, tmp_path, capsys, url):
    """--pdf-url is where the EHR fetches the signed PDF: a relative URL (resolved against the EHR's base,
    where the PDF is not), another scheme, no host or a space is refused with exit 1 and nothing written;
    pdf_url= in the library too."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(_signed(made, pki))
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"), "--pdf-url", url)
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: --pdf-url (pdf_url) must be an absolute http or https URL (got {url!r})")
    assert not (tmp_path / "fhir").exists()
    with pytest.raises(consent.InputError, match="absolute http or https URL"):
        consent.record_signed(path.read_bytes(), pdf_url=url)


BOISE = "America/Boise"
TYPED = dt.datetime(2026, 11, 21, 16, 30, tzinfo=dt.UTC)  # patient.date and .time, 09:30 in Boise


def _signed_at(made, pki, at: dt.datetime) -> bytes:
    form, pdf = made
    return sign(sign(fill(pdf, _values(form)), "patient.signature", pki.patient_p12, at=at),
                "provider.signature", pki.clinic_p12, at=at)


def test_a_typed_date_more_than_a_day_from_the_signature_is_a_warning(made, pki, tmp_path, capsys):
    """Issue 24, point 6: the patient typed 2026-11-21 09:30 but their signature says it was made on
    2026-12-07: `record` writes the Bundle (the typed date is what the signer wrote) and warns on stderr for
    each signer; a library caller gets a consent.SigningTimeWarning. 23 hours apart is no warning, 25 are."""
    late = _signed_at(made, pki, dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC))
    path = tmp_path / "late.pdf"
    path.write_bytes(late)
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"), "--timezone", BOISE)
    assert code == 0 and out.strip() == str(tmp_path / "fhir" / "late.record.fhir.json")
    assert ("Warning: patient.date says 2026-11-21T09:30:00-07:00, but patient.signature was made at "
            "2026-12-07 08:00 -0700 (the signer's software): more than a day apart") in err
    assert "Warning: provider.date says 2026-11-21, but provider.signature was made at 2026-12-07" in err
    bundle = json.loads((tmp_path / "fhir" / "late.record.fhir.json").read_text())
    (c,) = (e["resource"] for e in resources(bundle, "Consent"))
    assert c["dateTime"] == "2026-11-21T09:30:00-07:00"
    (d,) = (e["resource"] for e in resources(bundle, "DocumentReference"))
    assert d["date"] == "2026-12-07T08:00:00-07:00"
    with pytest.warns(consent.SigningTimeWarning) as caught:
        consent.record_signed(late, timezone=BOISE)
    assert [str(w.message).split(" says ")[0] for w in caught] == ["patient.date", "provider.date"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        consent.record_signed(_signed_at(made, pki, TYPED + dt.timedelta(hours=23)), timezone=BOISE)
    with pytest.warns(consent.SigningTimeWarning) as caught:
        consent.record_signed(_signed_at(made, pki, TYPED + dt.timedelta(hours=25)), timezone=BOISE)
    assert [str(w.message).split(" says ")[0] for w in caught] == ["patient.date"]
