"""Template export (issue 9): the clinic's form with the patient's values left as merge fields, as a
fillable PDF, a Word mail-merge document or a sanitized HTML body, named by a field profile."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import textwrap
import zipfile
from pathlib import Path

import attrs
import docx
import nh3
import pikepdf
import pypdf
import pytest
from helpers import DATE, EXAMPLES, PRODUCT, field_name, make_clinic

import consent
from consent.cli import main
from consent.template.form import PLACEHOLDER
from consent.template.html import SANITIZER
from consent.template.profiles import KEYS, get_profile

GUILLEMET = {
    "patient.full_name": "Patient_Name",
    "patient.birth_date": "Patient_DOB",
    "patient.mrn": "Patient_MRN",
    "form.date": "Today_Date",
}
# What a merged or filled-in form must never show: the strings of the patient the template was built for.
PLACEHOLDER_STRINGS = (
    PLACEHOLDER.full_name,
    PLACEHOLDER.mrn,
    "January 1, 1950",
    "1 de enero de 1950",
    "QxCONSENTx",
)
LIBREOFFICE = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice is installed by ./dev test"
)


def export(fmt: str, profile: str = "generic", **kw: object) -> bytes:
    kw.setdefault("clinic", consent.load_clinic(EXAMPLES / "clinic.yaml"))
    return consent.export_template("knee-injection", format=fmt, profile=profile, date=DATE, **kw)  # type: ignore[arg-type]


def docx_text(data: bytes) -> str:
    """Every paragraph a reader sees in a DOCX: body, table cells, page headers and footers."""
    doc = docx.Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs]
    lines += [c.text for t in doc.tables for r in t.rows for c in r.cells]
    for section in doc.sections:
        lines += [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
    return "\n".join(lines)


def xml_parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {
            n: z.read(n).decode()
            for n in z.namelist()
            if re.match(r"word/(document|header\d*|footer\d*)\.xml$", n)
        }


def merge_fields(data: bytes) -> list[str]:
    return re.findall(r"MERGEFIELD\s+(\w+)", "".join(xml_parts(data).values()))


# ------------------------------------------------------------------ field profiles


def test_built_in_profiles_map_every_value_a_template_needs():
    """generic, curly-camel and guillemet load; each names the birth date, MRN, form date and the name
    (whole, or first and last), in its own placeholder syntax."""
    expected = {
        "generic": "{{patient_full_name}}",
        "curly-camel": "{{PatientFirstName}}",
        "guillemet": "«Patient_Name»",
    }
    for name, first in expected.items():
        profile = get_profile(name)
        assert set(profile.fields) <= set(KEYS)
        assert profile.placeholder_for(profile.name_fields()[0]) == first
        assert {"patient.birth_date", "patient.mrn", "form.date"} <= set(profile.fields)


def pack_with_profile(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "pack" / "templates" / "fields"
    folder.mkdir(parents=True)
    (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path / "pack"


def test_unknown_profile_names_the_known_ones():
    """--fields with a name that no pack or built-in file has: the known names in the hint."""
    with pytest.raises(consent.UnknownNameError) as info:
        export("html", profile="epic")
    assert str(info.value) == (
        "unknown field profile 'epic'\nHint: known field profiles: curly-camel, generic, guillemet"
    )


def test_unknown_internal_key_in_a_profile_is_a_clear_error(tmp_path):
    """A misspelt key names the file, the key and the known keys, and nothing is made."""
    pack = pack_with_profile(
        tmp_path,
        "ours",
        """\
        placeholder: "[[%s]]"
        fields:
          patient.full_name: Patient_Name
          patient.dob: Patient_DOB
          patient.birth_date: DOB
          patient.mrn: Chart
          form.date: Today
        """,
    )
    with pytest.raises(consent.ContentError) as info:
        export("html", profile="ours", packs=[pack])
    message = str(info.value)
    assert message.startswith(
        f"{pack / 'templates' / 'fields' / 'ours.yaml'}: unknown internal key(s) "
        "'patient.dob' in fields; the known keys are patient.full_name, patient.first_name, "
        "patient.last_name, patient.birth_date, patient.mrn, form.date"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "placeholder: '{{%s}}'\nfields: {patient.full_name: N, patient.mrn: M, form.date: D}\n",
            "fields lacks patient.birth_date; the known keys are",
        ),
        (
            "placeholder: '{{%s}}'\nfields: {patient.first_name: F, patient.birth_date: B, patient.mrn: M, form.date: D}\n",
            "fields lacks patient.full_name (or both patient.first_name and patient.last_name)",
        ),
        (
            "placeholder: '{{x}}'\nfields: {patient.full_name: N, patient.birth_date: B, patient.mrn: M, form.date: D}\n",
            "placeholder must contain %s once",
        ),
        (
            "placeholder: '{{%s}}'\nfields: {patient.full_name: 'Patient Name', patient.birth_date: B, patient.mrn: M, "
            "form.date: D}\n",
            "fields.patient.full_name: 'Patient Name' is not a usable field name",
        ),
        (
            "placeholder: '{{%s}}'\nsyntax: x\nfields: {patient.full_name: N, patient.birth_date: B, patient.mrn: M, "
            "form.date: D}\n",
            "not a field profile (extra fields found (syntax) @ $)",
        ),
        ("placeholder: '{{%s}}'\nfields: [a, b]\n", "not a field profile"),
    ],
)
def test_bad_profiles_are_refused_with_what_is_wrong(tmp_path, text, says):
    """A missing key, a placeholder without %s, a field name Word cannot merge, an unknown setting or a
    profile of the wrong shape: a ContentError naming the file and the fault."""
    pack = pack_with_profile(tmp_path, "ours", text)
    with pytest.raises(consent.ContentError) as info:
        get_profile("ours", packs=[pack])
    assert str(info.value).startswith(str(pack / "templates" / "fields" / "ours.yaml") + ": ")
    assert says in str(info.value)


def test_the_example_pack_profile_names_the_fields():
    """examples/templates/pack adds the clinic-portal profile: [[Patient_Name]]-style placeholders."""
    pack = EXAMPLES.parent / "templates" / "pack"
    body = export("html", profile="clinic-portal", packs=[pack]).decode()
    for field in ("Patient_Name", "Date_of_Birth", "Chart_Number", "Today"):
        assert f"[[{field}]]" in body


def test_a_pack_adds_a_profile_but_cannot_replace_a_built_in_one(tmp_path):
    """A clinic's own profile in its pack is used by name; one named like a built-in profile is refused."""
    pack = pack_with_profile(
        tmp_path,
        "ours",
        """\
        placeholder: "[[%s]]"
        fields: {patient.full_name: Patient_Name, patient.birth_date: Date_of_Birth, patient.mrn: Chart_No,
                 form.date: Today}
        """,
    )
    body = export("html", profile="ours", packs=[pack]).decode()
    assert "[[Patient_Name]]" in body and "[[Date_of_Birth]]" in body and "[[Chart_No]]" in body
    assert "[[Today]]" in body
    (pack / "templates" / "fields" / "generic.yaml").write_text("placeholder: x\n", encoding="utf-8")
    with pytest.raises(
        consent.ContentError, match=r"generic\.yaml: a field profile named 'generic' already exists"
    ):
        export("html", profile="ours", packs=[pack])


# ------------------------------------------------------------------ docx-merge


def test_docx_has_a_mergefield_for_every_value_and_no_placeholder_text():
    """The DOCX has real MERGEFIELD field codes (not «» text alone) for the name (header, page header and
    signature line), birth date, MRN and form date; python-docx opens it and shows «Field» where each
    goes, and none of the placeholder patient's strings."""
    data = export("docx-merge", "guillemet")
    assert sorted(merge_fields(data)) == sorted(
        ["Patient_Name"] * 3 + ["Patient_DOB"] * 2 + ["Patient_MRN", "Today_Date"]
    )
    document = xml_parts(data)["word/document.xml"]
    assert document.count('w:fldCharType="begin"') == document.count('w:fldCharType="end"') == 5
    text = docx_text(data)
    for field in GUILLEMET.values():
        assert f"«{field}»" in text
    for placeholder in PLACEHOLDER_STRINGS:
        assert placeholder not in text


def test_docx_first_and_last_name_profile_writes_two_fields():
    """A profile with first and last name instead of a full name: the name is both fields, a space apart."""
    text = docx_text(export("docx-merge", "curly-camel"))
    assert "«PatientFirstName» «PatientLastName»" in text
    assert "«PatientDOB»" in text and "«PatientChartNumber»" in text and "«CurrentDate»" in text


def test_docx_signature_places_are_tagged_content_controls():
    """Every empty signature, date, time, name and relationship place is a content control tagged with
    the fillable-PDF field name; dates are date pickers."""
    document = xml_parts(export("docx-merge"))["word/document.xml"]
    tags = re.findall(r'<w:tag w:val="([a-z.]+)"/>', document)
    assert tags == [
        "patient.signature",
        "patient.date",
        "patient.time",
        "representative.name",
        "representative.relationship",
        "representative.signature",
        "representative.date",
        "representative.time",
        "witness.name",
        "witness.signature",
        "witness.date",
        "witness.time",
        "provider.signature",
        "provider.date",
        "provider.time",
    ]
    assert document.count("<w:date>") == 4


def test_docx_escapes_the_clinic_text_around_a_field():
    """Clinic text with XML specials stays text in the DOCX (escaped), and the form still opens."""
    clinic = attrs.evolve(consent.load_clinic(EXAMPLES / "clinic.yaml"), name='Sun & <Moon> "Clinic"')
    data = export("docx-merge", clinic=clinic)
    assert 'Sun & <Moon> "Clinic"' in docx_text(data)


@pytest.mark.slow
@LIBREOFFICE
def test_docx_merge_fields_survive_libreoffice_and_merge(tmp_path):
    """LibreOffice opens the DOCX and saves it again with every MERGEFIELD; a mail merge of that file
    (docx-mailmerge2) fills in the patient, and no merge field or placeholder is left. (LibreOffice's own
    merge: test_libreoffice_mail_merge_fills_in_each_patient_from_a_csv.)"""
    from mailmerge import MailMerge

    source = tmp_path / "template.docx"
    source.write_bytes(export("docx-merge", "guillemet"))
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "docx",
            "--outdir",
            str(tmp_path / "lo-out"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    saved = (tmp_path / "lo-out" / "template.docx").read_bytes()
    assert sorted(merge_fields(saved)) == sorted(merge_fields(source.read_bytes()))
    assert (
        xml_parts(saved)["word/document.xml"].count("<w:date>") == 4
    )  # LibreOffice 7.4 keeps the date pickers
    merger = MailMerge(str(tmp_path / "lo-out" / "template.docx"))
    assert merger.get_merge_fields() == set(GUILLEMET.values())
    merger.merge(
        Patient_Name="Ada O'Connor",
        Patient_DOB="December 1, 1985",
        Patient_MRN="SRH-000101",
        Today_Date="November 21, 2026",
    )
    merger.write(str(tmp_path / "merged.docx"))
    merged = (tmp_path / "merged.docx").read_bytes()
    text = docx_text(merged)
    assert (
        "Patient\nAda O'Connor\nDate of birth\nDecember 1, 1985\nDate of this form\nNovember 21, 2026\n"
        "Medical record number\nSRH-000101" in text
    )
    assert "Ada O'Connor · Date of birth December 1, 1985" in text  # the page header
    assert "«" not in text and merge_fields(merged) == []
    for placeholder in PLACEHOLDER_STRINGS:
        assert placeholder not in text


SYSTEM_PYTHON = "/usr/bin/python3"  # LibreOffice's Python binding (python3-uno) is for the system Python


@pytest.mark.slow
def test_libreoffice_mail_merge_fills_in_each_patient_from_a_csv(tmp_path, capsys):
    """LibreOffice's own mail merge (the MailMerge service behind Tools > Mail Merge Wizard, run headless by
    tests/lo_mailmerge.py) of the DOCX `consent template --format docx-merge --fields guillemet` writes,
    with a CSV of two patients: one Word file with the form twice, each patient's name (header, page header,
    signature line), birth date, MRN and form date where the fields were, and no merge field, «Field» or
    placeholder patient left."""
    if subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} cannot import uno: install python3-uno (./dev test does)")
    args = ["--format", "docx-merge", "--fields", "guillemet", "--out", str(tmp_path / "template")]
    assert main(["template", "knee-injection", "--clinic", str(EXAMPLES / "clinic.yaml"), *args]) == 0
    template = Path(capsys.readouterr().out.strip())
    columns = ("Patient_Name", "Patient_DOB", "Patient_MRN", "Today_Date")
    patients = [
        dict(zip(columns, ("Ada O'Connor", "December 1, 1985", "SRH-000101", "November 21, 2026"))),
        dict(zip(columns, ("José Núñez", "March 3, 1970", "SRH-000202", "November 22, 2026"))),
    ]
    (tmp_path / "data").mkdir()
    with (tmp_path / "data" / "patients.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, delimiter=";", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(patients)
    pipe = f"consent-mailmerge-{os.getpid()}"
    profile = f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}"
    office = subprocess.Popen(
        ["soffice", "--headless", "--norestore", "--nodefault", profile, f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    script = Path(__file__).with_name("lo_mailmerge.py")
    data = tmp_path / "data" / "patients.csv"
    try:
        merge = subprocess.run(
            [SYSTEM_PYTHON, str(script), pipe, str(template), str(data), str(tmp_path / "merged")],
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        os.killpg(office.pid, signal.SIGKILL)  # soffice and its children: its own process group
        office.wait(timeout=30)
    assert merge.returncode == 0, merge.stderr
    [merged_file] = (tmp_path / "merged").iterdir()
    merged = merged_file.read_bytes()
    text = docx_text(merged)
    assert text.count("Informed Consent for Exosome knee injection") == 2
    for p in patients:
        name, dob = p["Patient_Name"], p["Patient_DOB"]
        assert (
            f"Patient\n{name}\nDate of birth\n{dob}\nDate of this form\n{p['Today_Date']}\n"
            f"Medical record number\n{p['Patient_MRN']}" in text
        )
        assert f"{name} · Date of birth {dob}" in text  # the page header
        assert text.count(name) == 3  # header, page header, signature line
    assert "«" not in text and "»" not in text and merge_fields(merged) == []
    for placeholder in PLACEHOLDER_STRINGS:
        assert placeholder not in text


# ------------------------------------------------------------------ html


def test_html_passes_its_sanitizer_unchanged_and_refers_to_nothing_outside():
    """The body is one <div> that nh3 (with the same allow-list) leaves unchanged, with inline styles
    only: no script, style element, class, link, image, url() or external reference."""
    for profile in ("generic", "curly-camel", "guillemet"):
        body = export("html", profile).decode()
        assert nh3.clean(body, **SANITIZER) == body
        assert body.startswith('<div lang="en" style=') and body.endswith("</div>")
        for banned in (
            "<script",
            "<style",
            "<link",
            "<img",
            "src=",
            "href=",
            "url(",
            "class=",
            "http:",
            "https:",
            "@import",
            "javascript:",
        ):
            assert banned not in body.lower()


def test_html_placeholders_are_in_the_profiles_syntax():
    """Each value is a placeholder in the profile's syntax where the form prints it; the placeholder
    patient's strings appear nowhere."""
    body = export("html", "curly-camel").decode()
    assert body.count("{{PatientFirstName}} {{PatientLastName}}") == 2  # header and signature line
    assert (
        body.count("{{PatientDOB}}")
        == body.count("{{PatientChartNumber}}")
        == body.count("{{CurrentDate}}")
        == 1
    )
    guillemet = export("html", "guillemet").decode()
    assert guillemet.count("«Patient_Name»") == 2
    for placeholder in PLACEHOLDER_STRINGS:
        assert placeholder not in body and placeholder not in guillemet


def test_html_escapes_every_string():
    """Clinic text that looks like markup is shown as text, and the result still passes the sanitizer."""
    clinic = attrs.evolve(
        consent.load_clinic(EXAMPLES / "clinic.yaml"), name="Sun & <script>alert(1)</script> Clinic"
    )
    body = export("html", clinic=clinic).decode()
    assert "Sun &amp; &lt;script&gt;alert(1)&lt;/script&gt; Clinic" in body
    assert "<script" not in body and nh3.clean(body, **SANITIZER) == body


def test_html_in_spanish():
    """--language es: the Spanish form, its date a placeholder too."""
    body = consent.export_template(
        "hair", clinic=consent.load_clinic(EXAMPLES / "clinic.yaml"), format="html", language="es", date=DATE
    ).decode()
    assert '<div lang="es"' in body and "Fecha de este formulario" in body and "{{form_date}}" in body
    assert "1 de enero de 1950" not in body and nh3.clean(body, **SANITIZER) == body


@pytest.mark.parametrize("state", ["CA", "UT"])
@pytest.mark.parametrize("treatment", ["knee-injection", "iv-infusion", "hair"])
def test_every_treatment_with_state_notices_exports(state, treatment):
    """Each treatment, with California's notice or Utah's own-page notice, exports as docx-merge and
    html: every field is there once per place, the notice's words are kept, no placeholder is left."""
    clinic = make_clinic(state=state)
    data = consent.export_template(
        treatment, clinic=clinic, format="docx-merge", profile="guillemet", date=DATE
    )
    body = consent.export_template(
        treatment, clinic=clinic, format="html", profile="guillemet", date=DATE
    ).decode()
    assert sorted(set(merge_fields(data))) == sorted(GUILLEMET.values())
    notice = {
        "CA": "THIS NOTICE MUST BE PROVIDED TO YOU UNDER CALIFORNIA LAW",
        "UT": "THIS NOTICE MUST BE PROVIDED TO YOU UNDER UTAH LAW",
    }[state]
    assert notice in docx_text(data) and notice in body
    assert nh3.clean(body, **SANITIZER) == body
    for placeholder in PLACEHOLDER_STRINGS:
        assert placeholder not in docx_text(data) and placeholder not in body


# ------------------------------------------------------------------ the compliance check


def test_a_template_is_checked_like_a_form():
    """A clinic whose own words break the claims check gets no template, in any format."""
    product = attrs.evolve(PRODUCT, donor_screening="HIV and hepatitis, so the product is 100% safe")
    clinic = make_clinic(products={"knee-injection": product})
    for fmt in ("html", "docx-merge", "pdf-form"):
        with pytest.raises(consent.CheckFailed, match="claim.absolutely-safe"):
            export(fmt, clinic=clinic)


# ------------------------------------------------------------------ pdf-form


def test_pdf_form_has_text_fields_named_by_the_profile():
    """The PDF's text fields for the patient's name, birth date, MRN and the form date carry the
    profile's names, and its text shows none of the placeholder patient's strings."""
    data = export("pdf-form", "guillemet")
    fields = pypdf.PdfReader(io.BytesIO(data)).get_fields() or {}
    for name in GUILLEMET.values():
        assert fields[name].get("/FT") == "/Tx"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    for placeholder in PLACEHOLDER_STRINGS:
        assert placeholder not in text


def pdf_widgets(data: bytes) -> dict[str, list[tuple[int, list[float]]]]:
    """Each terminal field's widgets, by the field's full name: (page index, rectangle in points)."""
    out: dict[str, list[tuple[int, list[float]]]] = {}
    with pikepdf.open(io.BytesIO(data)) as doc:
        for number, page in enumerate(doc.pages):
            for annot in page.obj.get("/Annots", []):
                if annot.get("/Subtype") != "/Widget":
                    continue
                out.setdefault(field_name(annot), []).append((number, [float(v) for v in annot.Rect]))
    return out


def text_in(data: bytes, page: int, rect: list[float], height: float) -> str:
    """What pdftotext reads inside ``rect`` (PDF points, from the page's lower left) on ``page`` (from
    0), a point in from each side."""
    x0, y0, x1, y1 = rect
    box = [str(round(v)) for v in (x0 + 1, height - y1 + 1, x1 - x0 - 2, y1 - y0 - 2)]
    return subprocess.run(
        ["pdftotext", "-f", str(page + 1), "-l", str(page + 1), "-x", box[0], "-y", box[1], "-W", box[2],
         "-H", box[3], "-", "-"],
        input=data, capture_output=True, check=True,
    ).stdout.decode()


def test_pdf_form_header_has_the_patient_fields_on_every_page():
    """Like a rendered form, whose page header prints the patient's name and birth date on every page,
    the PDF template has the name and birth-date fields in every page's header (in the top margin,
    beside the printed label "Date of birth"): one widget a page of the same field as page 1's, so that
    filling the field once (pypdf, as an EHR does) shows the patient on every page."""
    data = export("pdf-form", "guillemet")
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages > 2
    height = float(reader.pages[0].mediabox.height)
    top_margin = 0.72 * 72  # form.css: @page margin-top
    widgets = pdf_widgets(data)
    for name in ("Patient_Name", "Patient_DOB"):
        in_header = sorted(n for n, (_, y0, _, _) in widgets[name] if y0 >= height - top_margin)
        assert in_header == list(range(pages)), name
        assert len(reader.get_fields()[name]["/Kids"]) == pages + 1  # the header's and page 1's table
    for name in ("Patient_MRN", "Today_Date"):
        assert [n for n, _ in widgets[name]] == [0]
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
    values = {"Patient_Name": "Ada O'Connor", "Patient_DOB": "12/01/1985", "Patient_MRN": "SRH-000101",
              "Today_Date": "11/22/2026"}
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    filled = io.BytesIO()
    writer.write(filled)
    full = [0.0, height - top_margin, float(reader.pages[0].mediabox.width), height]
    for number in range(pages):
        header = " ".join(text_in(filled.getvalue(), number, full, height).split())
        assert "Ada O'Connor" in header and "Date of birth 12/01/1985" in header, (number, header)


def test_pdf_form_prints_no_value_under_its_fields():
    """Where a merge field lies, the page's own text holds nothing: not the form date the template was
    made on, nor the placeholder patient's name, birth date or MRN (a text layer that pdftotext, a
    search or a screen reader would read under the empty field). Each of the four fields, every widget."""
    data = export("pdf-form", "guillemet")
    height = float(pypdf.PdfReader(io.BytesIO(data)).pages[0].mediabox.height)
    widgets = pdf_widgets(data)
    assert set(GUILLEMET.values()) <= set(widgets)
    for name in GUILLEMET.values():
        for page, rect in widgets[name]:
            assert text_in(data, page, rect, height).strip() == "", (name, page)
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
    for value in ("November 21, 2026", *PLACEHOLDER_STRINGS):
        assert value not in text.decode()


def test_pdf_form_needs_a_whole_name_field():
    """A profile with only first and last names cannot name the PDF's one name field: a clear error."""
    with pytest.raises(consent.ContentError, match="a PDF form has one text field for the patient's name"):
        export("pdf-form", "curly-camel")


# ------------------------------------------------------------------ CLI


def test_cli_writes_the_template_and_prints_its_path(tmp_path, capsys):
    """`consent template` writes one file named after treatment, language and profile, and prints its path."""
    code = main(
        [
            "template",
            "knee-injection",
            "--clinic",
            str(EXAMPLES / "clinic.yaml"),
            "--format",
            "docx-merge",
            "--fields",
            "guillemet",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = tmp_path / "out" / "knee-injection_en_guillemet.docx"
    assert code == 0 and capsys.readouterr().out == f"{out}\n"
    assert "MERGEFIELD Patient_Name" in xml_parts(out.read_bytes())["word/document.xml"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [out.name]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--format", "html", "--fields", "nope"], 1, "Error: unknown field profile 'nope'"),
        (["--format", "pdf-form", "--fields", "curly-camel"], 1, "Error: "),
        (["--format", "rtf"], 2, "Invalid value for '--format'"),
    ],
)
def test_cli_errors_write_nothing(tmp_path, capsys, args, code, says):
    """A bad profile or format: exit 1 (2 for usage), the reason on stderr, no file and no folder."""
    result = main(
        [
            "template",
            "knee-injection",
            "--clinic",
            str(EXAMPLES / "clinic.yaml"),
            "--out",
            str(tmp_path / "out"),
            *args,
        ]
    )
    assert result == code and says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
