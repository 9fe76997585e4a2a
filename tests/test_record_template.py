"""`consent record` of forms made from a `pdf-form` template (issue 24, point 1): each filled, signed
instance is recorded under an identity of its own, with its own Observations and the patient fields the EHR
filled in. Done as a clinic does it with outside tools: the template exported with `consent template`, its
merge fields and the patient's fields filled in with pypdf, signed with pyHanko."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from fhir_tools import assert_valid_r4
from helpers import EXAMPLES
from helpers import run_cli as run
from signing import P12_PASSWORD, fill, sign

import consent
from consent.cli import main
from consent.ehr._fhir_out import FORM_ID_SYSTEM

TEMPLATE_SYSTEM = "urn:consent:template-form-id"
PATIENTS = {  # the guillemet profile's merge fields, as an EHR fills them in
    "ada": {"Patient_Name": "Ada O'Connor", "Patient_DOB": "12/01/1985", "Patient_MRN": "SRH-000101",
            "Today_Date": "11/21/2026"},
    "jose": {"Patient_Name": "José Núñez", "Patient_DOB": "03/03/1970", "Patient_MRN": "SRH-000202",
             "Today_Date": "11/21/2026"},
}
LIBREOFFICE = pytest.mark.skipif(shutil.which("soffice") is None,
                                 reason="LibreOffice is installed by ./dev test")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> bytes:
    """The clinic's PDF template, as `consent template --format pdf-form --fields guillemet` writes it."""
    out = tmp_path_factory.mktemp("template")
    code = main(["template", "knee-injection", "--clinic", str(EXAMPLES / "clinic.yaml"),
                 "--format", "pdf-form", "--fields", "guillemet", "--out", str(out)])
    assert code == 0
    (path,) = out.iterdir()
    return path.read_bytes()


def _instance(template: bytes, pki, merge: dict[str, str], *, allergy: str = "/No") -> bytes:
    """The template as one patient's form: the EHR fills in the merge fields; the patient their initials,
    answers, printed name, date and time, then signs; the provider dates and signs."""
    names = [f.name for f in consent.read_signed(template).fields]
    pdf = fill(template, merge)
    values = {n: "AO" for n in names if n.startswith("initials.")}
    values.update({n: "/No" for n in names if n.startswith("screening.")})
    values.update({"screening.allergy": allergy, "patient.name": merge.get("Patient_Name", ""),
                   "patient.date": "2026-11-21", "patient.time": "09:30"})
    pdf = sign(fill(pdf, values), "patient.signature", pki.patient_p12)
    return sign(fill(pdf, {"provider.date": "2026-11-21"}), "provider.signature", pki.clinic_p12)


@pytest.fixture(scope="module")
def signed(template, pki) -> dict[str, bytes]:
    return {"ada": _instance(template, pki, PATIENTS["ada"], allergy="/Yes"),
            "jose": _instance(template, pki, PATIENTS["jose"])}


def _record(capsys, tmp_path: Path, name: str, data: bytes, *args: str) -> dict:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"), "--timezone",
                         "America/Boise", *args)
    assert (code, err) == (0, ""), err
    written = tmp_path / "fhir" / f"{name}.record.fhir.json"
    assert out.strip() == str(written)
    bundle = json.loads(written.read_text())
    assert_valid_r4(bundle, strict_url=True)
    return bundle


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_two_patients_filled_from_one_template_are_two_records(template, signed, tmp_path, capsys):
    """The same template filled in for two patients and signed: two Consents under two identities of their
    own (the template's form id, a dot, a digest), each conditional update finding its own; the template's
    form id kept as a second identifier; each patient the MRN filled in; Observations of their own; no
    reference to an unsigned DocumentReference that no batch made."""
    template_id = consent.read_signed(template).form_id
    bundles = {name: _record(capsys, tmp_path, name, data) for name, data in signed.items()}
    ids, observed = {}, {}
    for name, bundle in bundles.items():
        (entry,) = resources(bundle, "Consent")
        c = entry["resource"]
        own = c["identifier"][0]["value"]
        assert own.startswith(f"{template_id}.") and own != template_id
        assert c["identifier"] == [{"system": FORM_ID_SYSTEM, "value": own},
                                   {"system": TEMPLATE_SYSTEM, "value": template_id}]
        assert entry["request"] == {"method": "PUT", "url": f"Consent?identifier={FORM_ID_SYSTEM}|{own}"}
        assert c["status"] == "active" and c["dateTime"] == "2026-11-21T09:30:00-07:00"
        mrn = PATIENTS[name]["Patient_MRN"]
        assert c["patient"]["identifier"]["value"] == mrn
        (doc,) = resources(bundle, "DocumentReference")
        assert "relatesTo" not in doc["resource"]
        assert doc["resource"]["subject"]["identifier"]["value"] == mrn
        assert doc["resource"]["content"][0]["attachment"]["creation"] == "2026-11-21"  # Today_Date, read
        (o,) = resources(bundle, "Observation")
        assert o["resource"]["subject"]["identifier"]["value"] == mrn
        (identifier,) = o["resource"]["identifier"]
        assert identifier["value"] == f"{own}/screening"
        assert o["request"]["ifNoneExist"] == f"identifier={identifier['system']}|{identifier['value']}"
        ids[name] = own
        observed[name] = {identifier["value"]}
        answers = {a["code"]["coding"][0]["code"]: a["valueBoolean"] for a in o["resource"]["component"]}
        assert answers["allergy"] is (name == "ada")
        text = json.dumps(bundle, ensure_ascii=False)
        assert PATIENTS[name]["Patient_Name"] not in text and PATIENTS[name]["Patient_DOB"] not in text
    assert ids["ada"] != ids["jose"]
    assert not observed["ada"] & observed["jose"] and len(observed["ada"]) == len(observed["jose"])


def test_an_instance_keeps_its_identity_when_sealed_and_given_a_patient(signed, pki, tmp_path, capsys):
    """The identity comes from the template, the patient fields and the patient's signature: recording
    the same form again, or the clinic's sealed copy of it (a new file, so a new DocumentReference), updates
    the same Consent. --patient names the EHR's Patient and keeps the MRN filled in beside it."""
    first = _record(capsys, tmp_path, "ada", signed["ada"])
    sealed = consent.seal(signed["ada"], str(pki.clinic_p12), P12_PASSWORD)
    again = _record(capsys, tmp_path, "ada-sealed", sealed, "--patient", "Patient/123")
    (before,), (after,) = resources(first, "Consent"), resources(again, "Consent")
    assert after["request"] == before["request"]
    assert after["resource"]["identifier"] == before["resource"]["identifier"]
    assert after["resource"]["patient"] == {"reference": "Patient/123",
                                            "identifier": before["resource"]["patient"]["identifier"]}
    (doc_before,) = resources(first, "DocumentReference")
    (doc_after,) = resources(again, "DocumentReference")
    assert doc_after["resource"]["identifier"] != doc_before["resource"]["identifier"]


def test_the_patient_fields_are_required(template, pki, tmp_path, capsys):
    """A form whose MRN field the EHR left empty: `verify` says INCOMPLETE naming the field (exit 3), and
    `record` refuses it (exit 1) with nothing written, where it used to say the form has no MRN."""
    data = _instance(template, pki, {k: v for k, v in PATIENTS["ada"].items() if k != "Patient_MRN"})
    path = tmp_path / "no-mrn.pdf"
    path.write_bytes(data)
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 3 and out.startswith("INCOMPLETE: required fields not filled: Patient_MRN\n")
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert (code, out) == (1, "")
    assert "Patient_MRN" in err and "cannot be recorded" in err
    assert not (tmp_path / "fhir").exists()


def test_a_patient_field_changed_after_signing_is_an_alteration(signed, tmp_path, capsys):
    """The MRN changed after both signatures (the Consent would go to another patient): refused like any
    field changed after a signature, naming it and both values; nothing written."""
    changed = fill(signed["ada"], {"Patient_MRN": "SRH-999999"})
    path = tmp_path / "changed.pdf"
    path.write_bytes(changed)
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert (code, out) == (1, "")
    assert "Patient_MRN from 'SRH-000101' to 'SRH-999999'" in err and "cannot be recorded" in err
    assert not (tmp_path / "fhir").exists()


def test_a_template_made_before_its_fields_were_named_is_read_by_its_profile(template, pki, tmp_path, capsys):
    """A template exported before it recorded which field is which (no /consentmergefields): its fields are
    found by the built-in profile whose names they carry, and the instance is recorded as its own."""
    with pikepdf.open(io.BytesIO(template)) as doc:
        del doc.docinfo["/consentmergefields"]
        older = io.BytesIO()
        doc.save(older)
    data = _instance(older.getvalue(), pki, PATIENTS["jose"])
    assert consent.read_signed(data).merge_fields == {
        "patient.full_name": "Patient_Name", "patient.birth_date": "Patient_DOB", "patient.mrn": "Patient_MRN",
        "form.date": "Today_Date",
    }
    bundle = _record(capsys, tmp_path, "older", data)
    (c,) = (e["resource"] for e in resources(bundle, "Consent"))
    assert c["patient"]["identifier"]["value"] == "SRH-000202"
    assert c["identifier"][0]["value"] != consent.read_signed(data).form_id


def test_another_programs_pdf_is_not_a_consent_form_and_says_so(pki, tmp_path, capsys):
    """A Word document saved as PDF and signed carries none of consent's stamp: `record` says it is not a
    consent form, names the program that made it, points to the pdf-form template; nothing written."""
    with pikepdf.new() as doc:
        doc.add_blank_page()
        doc.docinfo["/Producer"] = "Microsoft® Word for Microsoft 365"
        out = io.BytesIO()
        doc.save(out)
    path = tmp_path / "word.pdf"
    path.write_bytes(sign(out.getvalue(), "patient.signature", pki.patient_p12))
    code, out_text, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert (code, out_text) == (1, "")
    assert err.startswith("Error: it carries no consent form id: a scan, or a PDF another program made "
                          "(Microsoft® Word for Microsoft 365; pyHanko")  # the program, then the signer's
    assert "docx-merge template" in err and "--format pdf-form" in err
    assert not (tmp_path / "fhir").exists()


@pytest.mark.slow
@LIBREOFFICE
def test_a_docx_merge_form_exported_to_pdf_and_signed_is_refused(pki, tmp_path, capsys):
    """The docx-merge path: the template merged (docx-mailmerge2), exported to PDF by LibreOffice, signed
    with pyHanko. The PDF carries no consent stamp (no form id, content hash or embedded form data), so
    `verify` says NOT A CONSENT FORM and `record` refuses it naming the program and the pdf-form template;
    nothing written."""
    from mailmerge import MailMerge

    source = tmp_path / "template.docx"
    clinic = consent.load_clinic(EXAMPLES / "clinic.yaml")
    source.write_bytes(consent.export_template("knee-injection", clinic=clinic, format="docx-merge",
                                               profile="guillemet"))
    merger = MailMerge(str(source))
    merger.merge(**PATIENTS["ada"])
    merger.write(str(tmp_path / "ada.docx"))
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), str(tmp_path / "ada.docx")],
                   check=True, capture_output=True, timeout=180)
    path = tmp_path / "signed.pdf"
    path.write_bytes(sign((tmp_path / "pdf" / "ada.pdf").read_bytes(), "patient.signature", pki.patient_p12))
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 1 and out.startswith("NOT A CONSENT FORM: it carries no consent form id")
    code, out, err = run(capsys, "record", str(path), "--out", str(tmp_path / "fhir"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: it carries no consent form id: a scan, or a PDF another program made (")
    assert "LibreOffice" in err.splitlines()[0] and "docx-merge template" in err
    assert not (tmp_path / "fhir").exists()


def test_a_fhir_server_holds_two_records_for_two_patients_of_one_template(signed, tmp_path, capsys, fhir_server):
    """Both Bundles POSTed to a real FHIR server (tests/fhir/: Medplum's router), twice over: the EHR holds
    two active Consents, one per patient, each with its own Observation and its own signed PDF; the second
    patient's record overwrote nothing, and posting again duplicated nothing."""
    template_id = consent.read_signed(signed["ada"]).form_id.partition(".")[0]
    for _ in range(2):
        for name, data in signed.items():
            status, body = fhir_server.post(_record(capsys, tmp_path, name, data))
            assert status == 200, body
    held = fhir_server.search("Consent", identifier=f"{TEMPLATE_SYSTEM}|{template_id}")
    assert len(held) == 2 and {c["status"] for c in held} == {"active"}
    mrns = sorted(c["patient"]["identifier"]["value"] for c in held)
    assert mrns == sorted(p["Patient_MRN"] for p in PATIENTS.values())
    for c in held:
        own = c["identifier"][0]["value"]
        (o,) = fhir_server.search("Observation", identifier=f"urn:consent:screening-answer|{own}/screening")
        assert o["subject"]["identifier"]["value"] == c["patient"]["identifier"]["value"]
        source = fhir_server.read(c["sourceReference"]["reference"])
        assert source["subject"]["identifier"] == c["patient"]["identifier"]
