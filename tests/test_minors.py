"""Minors (issue 24): a patient under the age of majority of the clinic's state
(templates/rules/majority.yaml) gets a form signed by a parent or legal guardian, with the patient's assent
line where the clinic wants it, in the PDF, the fillable PDF and the DOCX alike; an adult's form is as it
was."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import attrs
import pikepdf
import pytest
from helpers import DATE, EXAMPLES, build_tree, docx_body_lines, make_clinic, pdf_pages, words

import consent
from consent.assemble.assembly import assemble
from consent.cli import main
from consent.document import Minor, Signatures, content_id
from consent.ehr import read_records
from consent.inputs import US_STATES
from consent.library.loader import builtin_root

GUARDIAN = "Parent or legal guardian"
ASSENT = "Patient's assent"
REPRESENTATIVE = "Legally authorized representative"
REQUIRED = 1 << 1  # the /Ff bit of a required field


def _born(years: int, days: int = 0) -> dt.date:
    """The birth date of someone whose ``years``-th birthday is DATE, moved by ``days`` (-10: ten days
    older, ``years`` old; 1: a day younger, one year less until tomorrow)."""
    return DATE.replace(year=DATE.year - years) + dt.timedelta(days=days)


def _form(born: dt.date, *, state: str = "CA", date: dt.date = DATE, build: bool = False, **options: object):
    clinic = make_clinic(state=state, **options.pop("clinic", {}))  # type: ignore[arg-type]
    patient = consent.Patient(full_name="Mia Ortega", birth_date=born, mrn="SRH-9")
    if build:
        return consent.build("hair", patient=patient, clinic=clinic, date=date, **options)  # type: ignore[arg-type]
    return assemble("hair", patient=patient, clinic=clinic, date=date, **options)[0]  # type: ignore[arg-type]


def _parties(form: consent.Form) -> list[tuple[str, str]]:
    return [(p.role, p.title) for s in form.sections for b in s.blocks if isinstance(b, Signatures)
            for p in b.parties]


def _text(words_of: str) -> str:
    return " ".join(words(words_of))


# --------------------------------------------------------------------------- who is a minor


@pytest.mark.parametrize(
    ("state", "born", "minor"),
    [
        ("CA", _born(18, 1), True),  # the day before the 18th birthday
        ("CA", _born(18), False),  # the 18th birthday
        ("CA", _born(18, -1), False),  # the day after
        ("AL", _born(18, -200), True),  # Alabama: 19
        ("AL", _born(19), False),
        ("NE", _born(18), True),  # Nebraska: 19
        ("MS", _born(20, -300), True),  # Mississippi: 21
        ("MS", _born(21), False),
        ("TX", _born(6), True),
    ],
)
def test_a_minor_is_under_the_age_of_majority_of_the_clinics_state_on_the_form_date(state, born, minor):
    """Age in whole years on the form's date against the state's age of majority (18; 19 in Alabama and
    Nebraska; 21 in Mississippi): the manifest records the age that applied, and the signature section asks
    for a parent or guardian exactly for a minor."""
    form = _form(born, state=state)
    if minor:
        expected = {"AL": 19, "NE": 19, "MS": 21}.get(state, 18)
        assert form.manifest_dict()["minor"] == {"age_of_majority": expected, "state": state,
                                                 "assent": state != "TX"}  # (the 6-year-old: no assent line)
        assert (("representative", GUARDIAN)) in _parties(form)
    else:
        assert form.manifest.minor is None and "minor" not in form.manifest_dict()
        assert ("representative", REPRESENTATIVE) in _parties(form)


def test_a_29_february_birthday_is_had_on_1_march_in_other_years():
    """Born on 29 February 2008: still a minor on 28 February 2026, an adult on 1 March 2026."""
    born = dt.date(2008, 2, 29)
    assert _form(born, date=dt.date(2026, 2, 28)).manifest.minor is not None
    assert _form(born, date=dt.date(2026, 3, 1)).manifest.minor is None
    assert _form(born, date=dt.date(2028, 2, 29)).manifest.minor is None


@pytest.mark.parametrize(
    ("age", "setting", "assent"),
    [(9, None, True), (6, None, False), (7, None, True), (6, {"assent_from_age": 0}, True),
     (17, {"assent_from_age": None}, False), (12, {"assent_from_age": 14}, False)],
)
def test_the_clinic_decides_the_assent_line(age, setting, assent):
    """A parent or guardian always signs first; the patient's own line is an optional assent from the
    clinic's minors.assent_from_age (default 7), and is left out below it (None: never)."""
    clinic = {} if setting is None else {"minors": consent.Minors(**setting)}
    form = _form(_born(age, -10), clinic=clinic)
    expected = [("representative", GUARDIAN), *([("patient", ASSENT)] if assent else []),
                ("witness", "Witness"), ("provider", "Provider who explained this form")]
    assert _parties(form) == expected
    assert form.manifest.minor is not None and form.manifest.minor.assent is assent
    assert form.labels["initials"] == "Initials of parent or guardian"
    signature = next(s for s in form.sections if any(isinstance(b, Signatures) for b in s.blocks))
    assert signature.blocks[0].text == (  # type: ignore[union-attr]
        "The patient is under 18, the age of majority in California, so a parent or legal guardian signs "
        "this form and agrees for the patient; in this section, “you” means that parent or guardian.")


def test_the_minors_setting_is_checked_like_the_rest_of_the_clinic_file(tmp_path):
    """clinic.minors: an unknown key or a bad age is an InputError naming the field; null means no assent."""
    text = (EXAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    for extra, message in (("minors: {assent_age: 7}", "clinic.minors has unknown key(s): assent_age"),
                           ("minors: {assent_from_age: -1}",
                            "clinic.minors.assent_from_age must be a whole number"),
                           ("minors: {assent_from_age: seven}", "clinic.minors.assent_from_age"),
                           ("minors: {assent_from_age: true}", "clinic.minors.assent_from_age")):
        path = tmp_path / "clinic.yaml"
        path.write_text(text + "\n" + extra + "\n", encoding="utf-8")
        with pytest.raises(consent.InputError) as caught:
            consent.load_clinic(path)
        assert message in str(caught.value), str(caught.value)
    path.write_text(text + "\nminors: {assent_from_age: null}\n", encoding="utf-8")
    assert consent.load_clinic(path).minors == consent.Minors(assent_from_age=None)


def test_a_state_without_an_age_of_majority_is_refused_for_a_young_patient():
    """A territory the data does not list (PR): a patient under 21 is an InputError saying how to give
    the age; a patient of 21 or more is an adult in every state and gets the form."""
    with pytest.raises(consent.InputError) as caught:
        _form(_born(20), state="PR")
    assert "clinic.state PR: no age of majority is known for it" in str(caught.value)
    assert "templates/rules/majority.yaml" in str(caught.value)
    assert _form(_born(21), state="PR").manifest.minor is None


def test_the_age_of_majority_data_covers_every_state_with_its_sources():
    """The built-in data lists the 50 states and DC; 19 in Alabama and Nebraska, 21 in Mississippi, 18
    elsewhere; each exception cites its statute next to it."""
    library = consent.get_library()
    states = US_STATES - {"PR", "GU", "VI", "AS", "MP"}
    assert set(library.majority) == states and len(states) == 51
    assert {s: m.age for s, m in library.majority.items() if m.age != 18} == {"AL": 19, "NE": 19, "MS": 21}
    text = (builtin_root() / "templates" / "rules" / "majority.yaml").read_text(encoding="utf-8")
    for line, citation in (("AL:", "Ala. Code § 26-1-1"), ("NE:", "Neb. Rev. Stat. § 43-2101"),
                           ("MS:", "Miss. Code Ann. § 1-3-27")):
        assert citation in next(x for x in text.splitlines() if x.strip().startswith(line))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("states:\n  TX: {age: 18, name: Texas, note: x}\n", "states.TX has unknown key(s) note"),
        ("states:\n  TX: {age: 17, name: Texas}\n",
         "states.TX.age must be a whole number of years from 18 to 21"),
        ("states:\n  TX: {age: '18', name: Texas}\n", "states.TX.age must be a whole number"),
        ("states:\n  XX: {age: 18, name: Nowhere}\n", "'XX' is not a two-letter US state code"),
        ("states:\n  TX: {age: 18}\n", "states.TX.name must be the state's name"),
        ("majority:\n  TX: 18\n", "unknown key(s) majority"),
    ],
)
def test_a_bad_majority_file_is_a_loud_error_naming_the_file(tmp_path, content, message):
    """A pack's templates/rules/majority.yaml with an unknown key, a bad age or state, or no name stops every
    form with a ContentError naming the file and line, and `consent check` reports it."""
    pack = build_tree(tmp_path / "pack", {"templates/rules/majority.yaml": content})
    with pytest.raises(consent.ContentError) as caught:
        _form(_born(40), packs=[pack])
    assert message in str(caught.value)
    assert str(pack / "templates" / "rules" / "majority.yaml") in str(caught.value)
    report = consent.check.check(["hair"], packs=[pack], languages=["en"])
    assert any(message in f.message for f in report.errors)


def test_a_pack_may_give_a_states_age(tmp_path):
    """A pack's majority file replaces the states it lists (here: Puerto Rico, which the built-in data
    does not list), and the form prints the pack's name for it."""
    pack = build_tree(tmp_path / "pack", {"templates/rules/majority.yaml": """
        states:
          PR: {age: 21, name: Puerto Rico}
    """})
    form = _form(_born(20), state="PR", packs=[pack])
    assert form.manifest.minor == Minor(21, "PR", True)
    assert "the age of majority in Puerto Rico" in _text(" ".join(
        b.text for s in form.sections for b in s.blocks if b.kind == "paragraph"))


# --------------------------------------------------------------------------- what the outputs say


@pytest.fixture(scope="module")
def minor() -> consent.Form:
    return _form(_born(9, -10), build=True)


@pytest.fixture(scope="module")
def young() -> consent.Form:
    return _form(_born(6, -10), build=True)


@pytest.fixture(scope="module")
def adult() -> consent.Form:
    return _form(_born(40), build=True)


def _pdf_text(pdf: bytes) -> str:
    return _text(" ".join(pdf_pages(pdf)))


def test_pdf_and_docx_of_a_minor_show_the_guardian_and_the_assent_line(minor, young):
    """The PDF and the DOCX of a 9-year-old's form say who signs, then ask for the parent or legal guardian
    (required, with the relationship) and for the patient's optional assent; a 6-year-old's has no
    assent line; neither has the adult's optional representative, and the initials are the parent's or
    guardian's. Both outputs say the same words."""
    who = ("The patient is under 18, the age of majority in California, so a parent or legal guardian signs "
           "this form and agrees for the patient; in this section, “you” means that parent or guardian.")
    for form, assent in ((minor, True), (young, False)):
        docx_lines = docx_body_lines(form.to_docx())
        for text in (_pdf_text(form.to_pdf()), _text(" ".join(docx_lines))):
            assert _text(who) in text
            assert "Parent or legal guardian Required: the patient is a minor. Printed name" in text
            assert "Relationship to the patient" in text
            assert ("Patient's assent Optional. The patient may sign to show they agree to have the "
                    "treatment." in text) is assent
            assert REPRESENTATIVE not in text and "Fill in only if someone signs" not in text
            assert "Initials of parent or guardian" in text and "Patient initials" not in text
        if assent:  # (the PDF draws the patient's name over the shared page: its text comes last)
            at = docx_lines.index(ASSENT)
            assert docx_lines[at + 2:at + 4] == ["Printed name", "Mia Ortega"]


def test_the_spanish_form_of_a_minor(tmp_path):
    """In Spanish: the sentence (with the state's Spanish name), the guardian's block and the assent."""
    form = _form(_born(20), state="MS", build=True, language="es")
    for text in (_pdf_text(form.to_pdf()), _text(" ".join(docx_body_lines(form.to_docx())))):
        assert _text("Como el paciente es menor de 21 años (la mayoría de edad en Misisipi), uno de sus "
                     "padres o su tutor legal firma este formulario y acepta el tratamiento en nombre del "
                     "paciente; en esta sección, «usted» es esa persona.") in text
        assert "Padre, madre o tutor legal Obligatorio: el paciente es menor de edad." in text
        assert "Asentimiento del paciente Opcional." in text
        assert "Iniciales del padre, la madre o el tutor" in text
        assert "Representante legal autorizado" not in text


def test_an_adults_form_is_as_it_was(adult):
    """An adult's form carries nothing new: no minor in its manifest or embedded data, no minor_* labels, the
    representative's optional block, and a form id computed exactly as before the minor record existed."""
    assert "minor" not in adult.manifest_dict()
    assert ("representative", REPRESENTATIVE) in _parties(adult) and ("patient", "Patient") in _parties(adult)
    assert not any(key.startswith("minor_") for key in adult.labels)
    assert adult.labels["initials"] == "Patient initials"
    legacy = json.loads(json.dumps(attrs.asdict(adult.manifest), default=str))
    assert legacy.pop("minor") is None
    assert legacy.pop("large_print") is False  # added later too (large print), left out when false
    before = content_id(adult.sections, title=adult.title, header=adult.header, date=adult.date,
                        manifest=_Legacy(**legacy))
    assert adult.form_id == before
    with pikepdf.open(io.BytesIO(adult.to_pdf())) as pdf:
        data = json.loads(pdf.attachments["consent-form.json"].get_file().read_bytes())
    assert "minor" not in data["manifest"] and "minor" not in data["document"]["manifest"]


@attrs.frozen
class _Legacy:  # the manifest as it was before issue 24: the same fields but ``minor``
    treatment_id: str
    treatment_version: str
    language: str
    template_version: str
    clauses: list
    study: bool
    acknowledged: list
    check_errors: list


def _fields(pdf: bytes) -> dict[str, int]:
    """Fully qualified field name -> its /Ff flags."""
    out: dict[str, int] = {}
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        def walk(node, prefix):
            name = f"{prefix}.{node.T}" if prefix else str(node.T)
            kids = [k for k in node.get("/Kids", []) if "/T" in k]
            if kids:
                for kid in kids:
                    walk(kid, name)
            else:
                out[name] = int(node.get("/Ff", 0))

        for root in doc.Root.AcroForm.Fields:
            walk(root, "")
    return out


def test_the_fillable_pdf_of_a_minor_requires_the_guardian_not_the_patient(minor, young, adult):
    """The field names stay the same; on a minor's form the representative's name, relationship, signature
    and date are required and the patient's signature and date (the assent) are not; a 6-year-old's form
    has no patient fields at all; an adult's required fields are as before."""
    fields = _fields(minor.to_pdf(fillable=True))
    required = {n for n, flags in fields.items() if flags & REQUIRED and n.split(".")[0] in (
        "patient", "representative", "witness", "provider")}
    assert required == {"representative.name", "representative.relationship", "representative.signature",
                        "representative.date", "provider.signature", "provider.date"}
    assert {"patient.signature", "patient.date", "patient.name", "representative.time"} <= set(fields)
    assert all(flags & REQUIRED for name, flags in fields.items()
               if name.startswith(("initials.", "screening.")))
    assert not any(name.startswith("patient.") for name in _fields(young.to_pdf(fillable=True)))
    adults = _fields(adult.to_pdf(fillable=True))
    signers = ("patient", "representative", "witness", "provider")
    assert {n for n, flags in adults.items() if flags & REQUIRED and n.split(".")[0] in signers} == {
        "patient.signature", "patient.name", "patient.date", "provider.signature", "provider.date"}


def test_esign_initials_of_a_minor_go_to_the_guardian(young):
    """DocuSign tags: the initials places of a minor's form are the parent's or guardian's (recipient 3),
    in the PDF and the DOCX, and the guardian signs and dates as recipient 3."""
    pdf = " ".join(pdf_pages(young.to_pdf(esign="docusign")))
    docx = " ".join(docx_body_lines(young.to_docx(esign="docusign")))
    for text in (pdf, docx):
        assert "\\i3\\" in text and "\\i1\\" not in text and "\\s3\\" in text and "\\d3\\" in text
        assert "\\s1\\" not in text


def test_a_minors_form_rerenders_byte_identical(minor):
    """The minor record travels in the embedded data: the PDF and the DOCX made again are the same bytes."""
    pdf, docx = minor.to_pdf(), minor.to_docx()
    again = consent.rerender(pdf)
    assert again.form == minor and again.form.manifest.minor == minor.manifest.minor
    assert again.pdf == pdf and again.docx == docx and again.identical is True
    assert consent.rerender(docx).identical is True


def test_embedded_minor_record_is_checked(minor):
    """Embedded data with a minor record no form could hold (an age of majority of 12) is refused."""
    from consent._form_data import form_data_json, parse_form_data

    data = json.loads(form_data_json(minor, "0", {}))
    for manifest in (data["manifest"], data["document"]["manifest"]):
        manifest["minor"]["age_of_majority"] = 12
    with pytest.raises(consent.InputError) as caught:
        parse_form_data(json.dumps(data))
    assert "manifest.minor.age_of_majority must be a whole number from 18 to 21 (got 12)" in str(caught.value)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is installed by ./dev test")
def test_the_shared_layout_and_the_whole_layout_give_the_same_pages(minor, young, tmp_path):
    """A minor's form with an assent line takes the shared layout (the batch path), and its pages are those
    of a whole layout, pixel for pixel at 40 dpi; a form without the patient's line (no place for the
    signer's name, which the shared layout expects) is laid out whole."""
    from consent.pdf.html import form_html, layout, write_document
    from consent.speedups.render import laid_out_pdf

    pdf, how = laid_out_pdf(minor)
    assert how == "shared"
    whole = write_document(layout(form_html(minor), minor.packs), minor, None)
    pages = []
    for name, data in (("shared", pdf), ("whole", whole)):
        (tmp_path / f"{name}.pdf").write_bytes(data)
        subprocess.run(["pdftoppm", "-r", "40", "-gray", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                       check=True, timeout=120)
        pages.append([p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.pgm"))])
    assert len(pages[0]) == len(pages[1]) >= 10 and pages[0] == pages[1]
    assert laid_out_pdf(young)[1] == "whole"


# --------------------------------------------------------------------------- the checks, render, batch


def test_a_minors_form_passes_the_check_and_one_without_a_guardian_line_does_not(tmp_path):
    """The stock minor's form passes `check`; a pack whose signature clause has no representative cannot
    give a minor a parent's or guardian's block: the check says so and the form is refused (an adult's
    form from that pack is fine), and `consent check` of the pack finds it on its sample minor's form."""
    assert _form(_born(9), build=True).manifest.check_errors == ()
    library = consent.get_library()
    ack = library.clauses["acknowledgement"]
    text = Path(ack.path).read_text(encoding="utf-8").replace('version: "1.1"', 'version: "1.1-no-rep"')
    text = text.replace("signatures: [patient, representative, witness, provider]",
                        "signatures: [patient, provider]")
    pack = build_tree(tmp_path / "pack", {"clauses/acknowledgement.yaml": text})
    with pytest.raises(consent.CheckFailed) as caught:
        _form(_born(9), build=True, packs=[pack], language="en")
    assert "the form has no signature block for a parent or legal guardian" in str(caught.value)
    assert _form(_born(40), build=True, packs=[pack], language="en").manifest.check_errors == ()
    report = consent.check.check(["hair"], packs=[pack], languages=["en"])  # before any form is made
    assert [(f.rule, f.treatment, f.language, f.variant) for f in report.errors] == [
        ("coverage.guardian-signature", "hair", "en", "minor")]
    assert consent.check.check(["hair"], languages=["en"]).ok


def test_cli_render_of_a_minor(tmp_path, capsys):
    """`consent render` of a child's patient file writes the guardian's form (PDF and DOCX)."""
    patient = tmp_path / "child.yaml"
    patient.write_text("full_name: Leo Park\nbirth_date: 2020-03-01\n", encoding="utf-8")
    code = main(["render", "hair", "--patient", str(patient), "--clinic", str(EXAMPLES / "clinic.yaml"),
                 "--date", DATE.isoformat(), "--out", str(tmp_path / "out"), "--fillable"])
    out, err = capsys.readouterr()
    assert code == 0, err
    pdf_path, docx_path = (Path(line) for line in out.splitlines())
    pdf = pdf_path.read_bytes()
    assert GUARDIAN in _pdf_text(pdf) and ASSENT not in _pdf_text(pdf)
    assert _fields(pdf)["representative.signature"] & REQUIRED
    assert GUARDIAN in docx_body_lines(docx_path.read_bytes())


def test_a_batch_makes_the_guardians_form_for_each_minor(tmp_path):
    """A CSV export with children of 6 and 9 and an adult: each child's form asks for a parent or guardian
    (the 9-year-old's with the assent line), the adult's does not, and the batch's PDF of a child is the
    same bytes as the library's."""
    export = tmp_path / "export.csv"
    rows = f"Leo Park,{_born(6, -10)}\nMia Ortega,{_born(9, -10)}\nAna Ruiz,1970-01-01\n"
    export.write_text("name,dob\n" + rows, encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\n", encoding="utf-8")
    clinic = consent.load_clinic(EXAMPLES / "clinic.yaml")
    result = consent.run_batch("hair", read_records([export], mapping=mapping), clinic=clinic,
                               out_dir=tmp_path / "out", date=DATE, formats=["pdf", "docx"], jobs=1)
    assert (result.written, result.failed) == (3, 0)
    lines = [docx_body_lines(next((tmp_path / "out").glob(f"forms/rec-00000{n}_*.docx")).read_bytes())
             for n in (1, 2, 3)]
    assert [GUARDIAN in x for x in lines] == [True, True, False]
    assert [ASSENT in x for x in lines] == [False, True, False]
    mia = consent.build("hair", patient=consent.Patient(full_name="Mia Ortega", birth_date=_born(9, -10)),
                        clinic=clinic, date=DATE)
    assert next((tmp_path / "out").glob("forms/rec-000002_*.pdf")).read_bytes() == mia.to_pdf()
