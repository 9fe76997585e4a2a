"""Property-based tests (hypothesis) over everything a clinic or an EHR export feeds in.

The one property everywhere: a bad input is a ``ConsentError`` (an InputError or ContentError naming
what is wrong), never another exception, a hang or a corrupt file. Text comes from every script (RTL
Arabic and Hebrew, combining marks, emoji with zero-width joiners, CJK, Thai), control characters,
unpaired surrogates, very long strings and dates at the ends of the calendar.

Examples are few and derandomized (the same ones on every run), so the file stays quick on 2 cores;
only a handful of examples render a PDF.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import tempfile
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DATE, docx_all_text, make_clinic, pdf_pages
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

import consent
from consent.assemble.assembly import LanguageFallbackWarning, assemble
from consent.check._settings import settings_for
from consent.ehr import read_records
from consent.library.loader import Library, _cached, get_library
from consent.pdf.glyphs import font_coverage

BUILTIN_TEMPLATES = Path(consent.__file__).parent / "templates"
FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported at once, time stays bounded
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FAST, max_examples=20)

# Strings a form must survive: every script, joiners, direction marks, controls, surrogates, lengths.
SPECIAL = [
    "محمد عبد الله",  # Arabic (RTL)
    "דוד כהן",  # Hebrew (RTL)
    "José Núñez-Łukasiewicz",
    "Jose\u0301 Nun\u0303ez",  # combining marks
    "Zoë Ærøskøbing-Şahin",
    "Nguyễn Thị Minh Khai",
    "Αλέξανδρος Παπαδόπουλος",
    "Иван Петров",
    "王小明",  # CJK
    "สมชาย ใจดี",  # Thai
    "राहुल शर्मा",  # Devanagari
    "Ana 👩\u200d⚕️ Ruiz",  # emoji with a zero-width joiner and a variation selector
    "A\u200dB\u200cC",  # zero-width joiner and non-joiner
    "\u202eevil\u202c",  # right-to-left override
    "\ufeffBOM",
    "A\x00B", "A\x07B", "A\x1b[31mB", "A\x7fB", "A\x85B",  # control characters
    "A\ud800B",  # an unpaired surrogate (reachable from JSON: "\ud800")
    "A\ufffeB", "\uffff",  # noncharacters
    "line\nbreak", "tab\there",
    "",
    " ",
    "QxCONSENTxNAMExQ",  # the renderer's own token
    "<b>x</b> & {{ 7*7 }} {% raw %} ]]>",
    "A" * 201,
    "A" * 5_000,
    "x" * 20_000,
]
texts = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40), st.text(st.characters(codec="utf-8"), max_size=300))
dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
HUGE = "HUGE-NUMBER"  # written into JSON files as a number of 5,000 digits (more than Python reads)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts, dates.map(str),
                    st.just(HUGE), st.just(float("nan")), st.just("1e999"))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(texts, inner, max_size=4)),
                           max_leaves=12)

ALLOWED = (consent.ConsentError,)


def _json(data: Any) -> str:
    return json.dumps(data, default=str).replace(f'"{HUGE}"', "1" + "0" * 5000)


def _files(suffix: str, data: Any) -> list[Path]:
    """``data`` written as JSON and as YAML (when YAML can hold it) into a fresh folder."""
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    out = []
    try:
        path = folder / f"{suffix}.json"
        path.write_text(_json(data), encoding="utf-8", errors="surrogatepass")
        out.append(path)
    except (ValueError, TypeError):
        pass
    try:
        path = folder / f"{suffix}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        out.append(path)
    except (yaml.YAMLError, UnicodeEncodeError, ValueError):
        pass
    return out


def _docx_is_well_formed(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if name.endswith(".xml") or name.endswith(".rels"):
                etree.fromstring(package.read(name))  # raises on a control character or broken markup


def _form_or_consent_error(patient: Any, clinic: Any = None, *, date: Any = DATE, screening: Any = None,
                           packs: tuple[Path, ...] = (), docx: bool = True) -> consent.Form | None:
    """Assemble (and render the DOCX of) a form; None when a ConsentError refuses it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LanguageFallbackWarning)  # an unknown preferred language: English
        return _assemble_and_render(patient, clinic, date, screening, packs, docx)


def _assemble_and_render(patient: Any, clinic: Any, date: Any, screening: Any, packs: tuple[Path, ...],
                         docx: bool) -> consent.Form | None:
    try:
        form, _ = assemble("hair", patient=patient, clinic=clinic or make_clinic(), date=date,
                           screening=screening, packs=packs)
        if docx:
            _docx_is_well_formed(form.to_docx())
        return form
    except ALLOWED:
        return None


# --------------------------------------------------------------------------- patient


@FAST
@given(name=texts, born=dates, mrn=st.one_of(st.none(), texts), lang=st.one_of(st.none(), texts))
def test_any_patient_in_python_is_a_form_or_an_input_error(name, born, mrn, lang):
    """A Patient built in Python with any text and any date: a well-formed DOCX, or a ConsentError."""
    patient = consent.Patient(full_name=name, birth_date=born, mrn=mrn, preferred_language=lang)
    form = _form_or_consent_error(patient)
    if form is not None:
        assert form.header.patient_name == name


@FAST
@given(data=st.one_of(json_values, st.fixed_dictionaries(
    {"full_name": scalars, "birth_date": st.one_of(scalars, dates)},
    optional={"mrn": scalars, "preferred_language": scalars, "ssn": scalars})))
def test_any_patient_file_loads_or_is_an_input_error(data):
    """A patient file (JSON and YAML) holding anything: a Patient, or an InputError naming the file."""
    for path in _files("patient", data):
        try:
            patient = consent.load_patient(path)
        except consent.InputError as exc:
            assert str(path) in str(exc) or any(p.path == str(path) for p in exc.problems)
            continue
        _form_or_consent_error(patient, docx=False)


@FAST
@given(raw=st.one_of(st.binary(max_size=300), st.sampled_from([
    b"[" * 3_000, b"{a: " * 3_000, b"\xef\xbb\xbf{}", b"\xff\xfe", b"&a [*a]", b"!!python/object:os.system x",
    b"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e]\n",
    b'{"full_name": "A", "birth_date": "1970-01-01", "mrn": 1' + b"0" * 5000 + b"}",
])), suffix=st.sampled_from([".json", ".yaml", ".yml", ""]))
def test_any_bytes_as_a_patient_clinic_or_screening_file(raw, suffix):
    """Arbitrary bytes, deep nesting, huge numbers and YAML alias bombs: an InputError, quickly."""
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    path = folder / f"input{suffix}"
    path.write_bytes(raw)
    for loader in (consent.load_patient, consent.load_clinic, consent.load_screening):
        try:
            loader(path)
        except consent.InputError:
            pass


# --------------------------------------------------------------------------- clinic, fees, screening


def _clinic_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((Path(__file__).parents[1] / "examples/sunrise-clinic/clinic.yaml")
                                          .read_text())
    data.update(changes)
    return data


fee_values = st.one_of(scalars, st.decimals(allow_nan=True, allow_infinity=True).map(str),
                       st.integers(-10**30, 10**30), st.sampled_from(["1,850.00", "-1", "0", "1e6", "١٢٣", "NaN"]))


@FAST
@given(name=texts, address=texts, phone=texts, state=st.one_of(texts, st.sampled_from(["CA", "ut", "XX"])),
       price=fee_values, sessions=fee_values, currency=st.one_of(texts, st.sampled_from(["USD", "EUR", "JPY", "usd"])),
       included=st.one_of(scalars, st.lists(texts, max_size=3)), refund=st.one_of(st.none(), texts))
def test_any_clinic_and_fee_schedule_file(name, address, phone, state, price, sessions, currency, included, refund):
    """Clinic files with any names, states, prices, session counts, currencies and fee lists: a clinic
    whose forms assemble and render, or an InputError."""
    fees = {"price_per_session": price, "planned_sessions": sessions, "currency": currency, "included": included}
    if refund is not None:
        fees["refund_policy"] = refund
    data = _clinic_data(name=name, address=address, phone=phone, state=state, fees=fees)
    for path in _files("clinic", data):
        try:
            clinic = consent.load_clinic(path)
        except consent.InputError:
            continue
        patient = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1))
        _form_or_consent_error(patient, clinic)


@FAST
@given(price=st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=Decimal("0.01"),
                         max_value=Decimal("1e15")),
       sessions=st.integers(1, 50), currency=st.sampled_from(["USD", "EUR", "JPY", "MXN", "GBP"]),
       date=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(2025, 12, 31)))  # not after today
def test_any_valid_fee_schedule_prints_its_own_total(price, sessions, currency, date):
    """Every valid price, session count, currency and form date assembles; the total is the product."""
    fees = consent.FeeSchedule(price_per_session=price, planned_sessions=sessions, currency=currency)
    patient = consent.Patient(full_name="Ada Lovelace", birth_date=date)  # born that day: a plausible age
    form = _form_or_consent_error(patient, make_clinic(fees=fees), date=date, docx=False)
    assert form is not None
    table = next(b for s in form.sections for b in s.blocks if b.kind == "fees")
    assert any(ch.isdigit() for ch in table.total[1])


@FAST
@given(answers=st.one_of(json_values, st.dictionaries(st.one_of(texts, st.sampled_from(
    ["pregnant", "blood-thinners", "active-infection", "cancer"])), st.one_of(st.booleans(), scalars), max_size=5)))
def test_any_screening_file(answers):
    """Screening answers of any shape: answers on the form, or an InputError naming the question."""
    patient = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1))
    for path in _files("screening", answers):
        try:
            screening = consent.load_screening(path)
        except consent.InputError:
            continue
        _form_or_consent_error(patient, screening=screening, docx=False)


# --------------------------------------------------------------------------- FHIR


human_names = st.one_of(scalars, st.lists(st.one_of(scalars, st.fixed_dictionaries({}, optional={
    "use": st.one_of(scalars, st.sampled_from(["official", "usual", "old", "maiden"])),
    "given": st.one_of(scalars, st.lists(st.one_of(texts, scalars), max_size=3)),
    "family": st.one_of(texts, scalars, st.lists(texts, max_size=2)),
    "text": st.one_of(texts, scalars)})), max_size=3))
identifiers = st.one_of(scalars, st.lists(st.one_of(scalars, st.fixed_dictionaries({}, optional={
    "use": st.one_of(scalars, st.sampled_from(["usual", "old"])),
    "type": st.one_of(scalars, st.fixed_dictionaries({"coding": st.one_of(scalars, st.lists(
        st.fixed_dictionaries({"code": st.one_of(st.sampled_from(["MR", "SS", "DL"]), scalars)},
                              optional={"system": st.one_of(st.just("http://terminology.hl7.org/CodeSystem/v2-0203"),
                                                            scalars)}), max_size=2))})),
    "value": st.one_of(texts, scalars)})), max_size=3))
fhir_dates = st.one_of(scalars, dates.map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
                       st.sampled_from(["1970", "1970-02", "1970-02-30", "0000-01-01", "１９７０-01-01", "1970-01-01T00:00"]))
patients = st.fixed_dictionaries({"resourceType": st.just("Patient")}, optional={
    "id": st.one_of(texts, scalars), "name": human_names, "birthDate": fhir_dates, "identifier": identifiers,
    "communication": st.one_of(scalars, st.lists(st.one_of(scalars, st.fixed_dictionaries({
        "language": st.one_of(scalars, st.fixed_dictionaries({}, optional={
            "coding": st.one_of(scalars, st.lists(st.fixed_dictionaries({"code": st.one_of(texts, scalars)}),
                                                  max_size=2)),
            "text": st.one_of(texts, scalars)}))}, optional={"preferred": scalars})), max_size=2)),
    "managingOrganization": st.one_of(scalars, st.fixed_dictionaries({"reference": st.one_of(texts, scalars)}))})
bundles = st.fixed_dictionaries({"resourceType": st.just("Bundle")}, optional={
    "type": st.one_of(st.sampled_from(["transaction", "collection", "searchset"]), scalars),
    "entry": st.one_of(scalars, st.lists(st.one_of(scalars, st.fixed_dictionaries({}, optional={
        "fullUrl": st.one_of(texts, scalars),
        "resource": st.one_of(patients, scalars, st.fixed_dictionaries({
            "resourceType": st.sampled_from(["Organization", "Practitioner", "Observation"])},
            optional={"id": texts}))})), max_size=4))})


def _import_and_assemble(paths: list[Path], mapping: Path | None = None) -> list[Any]:
    try:
        records = list(read_records(paths, mapping=mapping))
    except consent.InputError:
        return []
    for record in records:
        assert (record.patient is None) == bool(record.problems)
        if record.patient is not None:
            _form_or_consent_error(record.patient)
    return records


@FAST
@given(resource=st.one_of(patients, bundles, json_values))
def test_any_fhir_json_file_gives_records_or_problems(resource):
    """A FHIR JSON file holding any Patient or Bundle shape: records with a patient (whose form is made or
    refused with a ConsentError) or records with problems; never a crash."""
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    path = folder / "export.json"
    path.write_text(_json(resource), encoding="utf-8", errors="surrogatepass")
    _import_and_assemble([path])


@FAST
@given(lines=st.lists(st.one_of(patients.map(lambda r: _json(r).encode("utf-8", "surrogatepass")),
                                st.binary(max_size=40), st.just(b"[" * 5_000), st.just(b"")), max_size=5))
def test_any_ndjson_export(lines):
    """NDJSON bulk exports with good, broken, binary and absurdly nested lines."""
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    path = folder / "Patient.ndjson"
    path.write_bytes(b"\n".join(lines))
    _import_and_assemble([path])


# --------------------------------------------------------------------------- CSV


cells = st.one_of(texts, st.sampled_from(['"', '""', ",", ";", "\t", "\r\n", "1970-01-01", "01/02/1970", "x" * 140_000]))


@FAST
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=5), max_size=4),
       header=st.lists(st.sampled_from(["name", "dob", "mrn", "lang", "Name", ""]), max_size=5),
       mapping=st.one_of(json_values, st.fixed_dictionaries({"columns": st.one_of(scalars, st.dictionaries(
           st.sampled_from(["full_name", "given_name", "family_name", "birth_date", "mrn", "preferred_language", "x"]),
           st.one_of(st.sampled_from(["name", "dob", "mrn", "lang"]), scalars), max_size=4))},
           optional={"date_format": st.one_of(scalars, st.sampled_from(["%m/%d/%Y", "%Y-%m-%d", "%y", "%d.%m.%Y"]))})),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_any_csv_export_and_mapping(rows, header, mapping, delimiter):
    """CSV exports with quotes, delimiters, line breaks and huge cells, read through any mapping."""
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    export = folder / "export.csv"
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    export.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    for path in _files("mapping", mapping):
        _import_and_assemble([export], path)


@FEW
@given(names=st.lists(st.sampled_from([n for n in SPECIAL if "\n" not in n and '"' not in n]), min_size=1, max_size=4))
def test_csv_names_of_every_script_reach_the_form_exactly(names):
    """Names typed in every script come out of a CSV export unchanged (or are refused with an InputError
    naming the record, never the name)."""
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    export = folder / "export.csv"
    export.write_text("name,dob\n" + "".join(f'"{n}",1970-01-01\n' for n in names), encoding="utf-8",
                      errors="surrogatepass")
    mapping = folder / "mapping.yaml"
    mapping.write_text("columns:\n  full_name: name\n  birth_date: dob\n")
    for record in _import_and_assemble([export], mapping):
        if record.patient is not None:
            assert record.patient.full_name == " ".join(record.patient.full_name.split())
        else:
            for problem in record.problems:
                assert all(n not in problem.message for n in names if len(n) > 2)


# --------------------------------------------------------------------------- pack clause files


CLAUSE = {"id": "benefits", "version": "fuzz", "title": "Benefits", "elements": ["benefits"],
          "body": [{"p": "You may get no benefit."}]}
block_values = st.one_of(texts, scalars, st.lists(st.one_of(texts, scalars), max_size=3), st.sampled_from([
    "{{ patient.full_name }}", "{{ patient.__class__ }}", "{{ undefined_name }}", "{% for %}", "{{ 1/0 }}",
    "{{ 'a' * 100 }}", "{{ clinic.name|upper }}", "{% raw %}{{ x }}{% endraw %}", "{{ fees.total }}"]))
clause_blocks = st.lists(st.one_of(json_values, st.dictionaries(
    st.sampled_from(["p", "strong", "h", "ul", "ul_from", "notice", "checklist", "fees", "signatures", "only", "x"]),
    block_values, min_size=1, max_size=2)), max_size=4)


@FEW
@given(changes=st.dictionaries(st.sampled_from(["id", "version", "title", "elements", "body", "variants", "kind",
                                                "states", "citation", "verbatim", "initials", "screening", "x"]),
                               st.one_of(scalars, clause_blocks, json_values), max_size=3),
       body=st.one_of(st.none(), clause_blocks))
def test_any_pack_clause_file_is_loaded_or_a_content_error(changes, body):
    """A clinic pack's clause file with any keys, values, blocks and Jinja: the library reports problems
    (ContentError) or the form assembles; never another exception."""
    data = {**CLAUSE, **changes}
    if body is not None:
        data["body"] = body
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    (folder / "clauses").mkdir()
    try:
        (folder / "clauses" / "benefits.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    except (yaml.YAMLError, UnicodeEncodeError):
        assume(False)
    library = Library([folder])
    if library.problems:
        with pytest.raises(consent.ContentError):
            library.raise_problems()
        return
    patient = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1))
    _form_or_consent_error(patient, packs=(folder,), docx=False)
    _cached.cache_clear()  # one pack folder per example: do not keep them all


@settings(FAST, max_examples=8)  # each example loads the whole library again (~0.3 s)
@given(raw=st.one_of(st.binary(max_size=200), st.sampled_from([
    b"[" * 2_000, b"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    b"id: benefits\nid: benefits\n", b"\xff\xfe\x00", b"!!python/name:os.system"])),
       where=st.sampled_from(["clauses/benefits.yaml", "templates/treatments/hair.yaml", "templates/labels/en.yaml",
                              "clauses/es/benefits.yaml", "templates/rules/settings.yaml",
                              "templates/rules/claims-extra.yaml"]))
def test_any_bytes_in_any_pack_file(raw, where):
    """Arbitrary bytes, deep nesting and alias bombs in any YAML file of a pack: a ContentError."""
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    path = folder / where
    path.parent.mkdir(parents=True)
    (folder / "clauses").mkdir(exist_ok=True)
    path.write_bytes(raw)
    library = Library([folder])
    _, problems = settings_for(library)  # the pack's thresholds, acknowledgements and claim rules
    if library.problems or problems:
        with pytest.raises(consent.ContentError):
            library.raise_problems()
            raise consent.ContentError(problems=problems)
    _cached.cache_clear()


# --------------------------------------------------------------------------- rendered: the name in both files


def _drawable(name: str) -> bool:
    coverage = font_coverage(get_library().template_roots)
    return all(ord(ch) in coverage for ch in name if not ch.isspace())


printable_names = st.lists(
    st.text(st.characters(categories=["L", "M", "N", "Pd", "Po"], codec="utf-8"), min_size=1, max_size=12),
    min_size=1, max_size=3).map(" ".join)


@pytest.mark.slow
@settings(FAST, max_examples=8)
@given(name=st.one_of(printable_names, st.sampled_from([n for n in SPECIAL[:13]])))
def test_printable_names_appear_exactly_in_pdf_and_docx(name):
    """A printable name (letters, marks, digits of any script) appears exactly in the DOCX text; in the PDF
    text when the shipped fonts can draw every character, and otherwise the PDF is refused with a
    RenderError naming patient.full_name and the script (never the name)."""
    patient = consent.Patient(full_name=name, birth_date=dt.date(1970, 1, 2), mrn="MRN-1")
    try:
        form = consent.build("hair", patient=patient, clinic=make_clinic(), date=DATE)
    except consent.InputError:
        assume(False)
        return
    docx = form.to_docx()
    assert name in docx_all_text(docx)
    visible = "".join(ch for ch in name if ch not in "\u200c\u200d\ufe0f")
    if _drawable(visible):
        text = " ".join(" ".join(pdf_pages(form.to_pdf())).split())
        assert " ".join(visible.split()) in text
    else:
        with pytest.raises(consent.RenderError) as info:
            form.to_pdf()
        assert [p.field for p in info.value.problems] == ["patient.full_name"]
        assert name not in str(info.value)


def test_clinic_and_clause_text_the_fonts_cannot_draw(tmp_path):
    """Clinic and clause text the PDF fonts cannot draw is named by field or clause and code point (it is
    not patient data); the DOCX is still made."""
    pack = tmp_path / "pack"
    (pack / "clauses").mkdir(parents=True)
    clause = {**CLAUSE, "body": [{"p": "You may get no benefit. \ue000\ue001\ue002\ue003\ue004\ue005\ue006\ue007"}]}
    (pack / "clauses" / "benefits.yaml").write_text(yaml.safe_dump(clause, allow_unicode=True), encoding="utf-8")
    patient = consent.Patient(full_name="Ada Lovelace", birth_date=dt.date(1985, 12, 1))
    form = consent.build("hair", patient=patient, clinic=make_clinic(name="𐀀𐀁𐀂𐀃𐀄 Harbor"), date=DATE, packs=[pack])
    with pytest.raises(consent.RenderError) as info:
        form.to_pdf()
    assert [str(p) for p in info.value.problems] == [
        "clinic.name has 5 character(s) that the PDF fonts cannot draw (U+10000, U+10001, U+10002, U+10003, U+10004)",
        "clause benefits has 8 character(s) that the PDF fonts cannot draw (U+E000, U+E001, U+E002, U+E003, U+E004)",
    ]
    assert "𐀀𐀁𐀂𐀃𐀄 Harbor" in docx_all_text(form.to_docx())


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.skipif(not DEJAVU.is_file(), reason="needs DejaVu Sans (fonts-dejavu-core), which has Arabic glyphs")
def test_a_pack_font_lets_the_pdf_print_another_script(tmp_path):
    """The documented way out: a pack that ships a font with Arabic glyphs and names it in its form.css
    prints an Arabic name in the PDF, exactly."""
    fonts = tmp_path / "pack" / "templates" / "fonts"
    shutil.copytree(BUILTIN_TEMPLATES / "fonts", fonts)
    shutil.copy(DEJAVU, fonts / "DejaVuSans.ttf")
    css = (BUILTIN_TEMPLATES / "form.css").read_text() + (
        '\n@font-face { font-family: "Pack Arabic"; src: url(fonts/DejaVuSans.ttf); }\n'
        'html { font-family: "Consent Sans", "Pack Arabic"; }\n')
    (fonts.parent / "form.css").write_text(css)
    name = "محمد عبد الله"
    patient = consent.Patient(full_name=name, birth_date=dt.date(1970, 1, 2))
    form = consent.build("hair", patient=patient, clinic=make_clinic(), date=DATE, packs=[tmp_path / "pack"])
    text = " ".join(pdf_pages(form.to_pdf()))
    assert name in text or name[::-1] in text  # extraction order of right-to-left text depends on the reader


@pytest.mark.parametrize("value", ['"abc"', ".nan", "true", "[1]"])
def test_a_readability_threshold_that_is_not_a_number_is_a_check_error(tmp_path, value):
    """A pack's threshold of the wrong type crashed the check (TypeError), and NaN switched the check off
    silently: each is now a problem in the check's report, naming the key."""
    rules = tmp_path / "pack" / "templates" / "rules"
    rules.mkdir(parents=True)
    (rules / "settings.yaml").write_text(f"readability: {{en: {{clause_max_grade: {value}}}}}\n")
    report = consent.check.check(["hair"], packs=[tmp_path / "pack"], languages=["en"])
    assert not report.ok
    assert "readability.en.clause_max_grade must be a number" in report.to_text()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="{"), max_size=200))
def test_clause_text_without_jinja_is_printed_as_jinja_would_print_it(source):
    """render_text skips Jinja for a string with no "{" (most clause text): the result is the same."""
    from consent._text import _WS, _compile, render_text

    assert render_text(source, {"clinic": {}}) == _WS.sub(" ", _compile(source).render({"clinic": {}})).strip()
