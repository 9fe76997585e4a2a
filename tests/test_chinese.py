"""Chinese (Simplified, zh-Hans) forms, end to end (issue 27, point 7): chosen from the patient's or the EHR
record's language, complete, drawn in Noto Sans CJK SC, dates and money in the zh_Hans_CN locale, and
checked for sentence length only (no established grade-level measure for Chinese). Traditional Chinese
(zh-TW, zh-Hant, zh-HK) never silently gets the Simplified form."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import warnings
from pathlib import Path

import pytest
from helpers import DATE, TREATMENTS, docx_all_text, docx_document, pdf_pages

import consent
from consent.check import check
from consent.check._readability import chinese_sentences, scores
from consent.ehr import read_records
from consent.library.loader import get_library, resolve_language

# A section title of every stock clause a plain form carries, and two treatment-dependent ones.
TITLES = ("关于这项治疗的要点", "关于这项治疗", "这项治疗没有得到 FDA 批准", "副作用和风险", "谁不应该接受这项治疗",
          "怀孕和喂母乳", "研究显示了什么", "可能的好处", "其他选择", "费用", "由您决定", "治疗后的护理",
          "您的隐私和病历", "问题，以及如果您受到伤害", "您的签名")
NAMES = {"knee-injection": "膝关节外泌体注射", "iv-infusion": "外泌体静脉输液", "hair": "头发和头皮外泌体治疗"}
# Closing marks that Chinese typesetting keeps off the start of a line (kinsoku).
NO_LINE_START = "，。、；：！？）》」』】"


def chinese_patient(code: str = "zh") -> consent.Patient:
    return consent.Patient(full_name="王小明", birth_date=dt.date(1980, 4, 30), preferred_language=code)


def pdftotext(data: bytes, tmp_path, *args: str) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def squeeze(text: str) -> str:
    """Text without line breaks between Han characters (a title may wrap in the extracted text)."""
    return re.sub(r"\s*\n\s*", "", text)


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_each_treatment_builds_and_renders_in_chinese(treatment, clinic, render_both, tmp_path):
    """The PDF (pdftotext) and the DOCX (python-docx) show the Chinese title and every section title;
    no English clause text slipped in; the PDF draws Han characters in Noto Sans CJK SC only."""
    form = consent.build(treatment, patient=chinese_patient(), clinic=clinic, date=DATE)
    assert form.language == "zh-Hans"
    assert all(ref.language == "zh-Hans" for ref in form.manifest.clauses)
    pdf, docx_bytes = render_both(form)
    pdf_text = squeeze(pdftotext(pdf, tmp_path))
    docx_text = docx_all_text(docx_bytes)
    for title in (f"知情同意书：{NAMES[treatment]}", *TITLES):
        assert squeeze(title) in pdf_text, title
        assert title in docx_text, title
    for english in ("Side effects and risks", "Your signature", "Key information", "Costs"):
        assert english not in pdf_text and english not in docx_text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "form.pdf")], check=True, capture_output=True,
                           text=True).stdout
    assert "Noto-Sans-CJK-SC" in fonts
    assert "CJK-JP" not in fonts and "CJK-KR" not in fonts


def test_pdf_lines_never_start_with_closing_punctuation(clinic, tmp_path):
    """Line breaking follows the Chinese rules: no line of the PDF starts with ，。、 or a closing bracket,
    and no line runs past the page (pdftotext -layout keeps each line in its column)."""
    form = consent.build("iv-infusion", patient=chinese_patient(), clinic=clinic, date=DATE)
    text = pdftotext(form.to_pdf(), tmp_path, "-layout")
    starts = [line for line in text.splitlines() if line.strip() and line.strip()[0] in NO_LINE_START]
    assert starts == []
    # Letter paper at 11.5 pt leaves room for about 44 Han characters a line: a longer line overflowed.
    han = re.compile(r"[\u4e00-\u9fff]")
    assert max(len(han.findall(line)) for line in text.splitlines()) <= 46


def test_docx_runs_name_the_chinese_font_and_language(clinic):
    """Every DOCX run with Han characters names Noto Sans CJK SC as its East Asian font, language zh-CN."""
    form = consent.build("hair", patient=chinese_patient(), clinic=clinic, date=DATE)
    document = docx_document(form.to_docx())
    runs = [r for p in document.paragraphs for r in p.runs if re.search(r"[\u4e00-\u9fff]", r.text)]
    assert len(runs) > 50
    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for run in runs:
        fonts = run._r.find(f"{ns}rPr/{ns}rFonts")
        lang = run._r.find(f"{ns}rPr/{ns}lang")
        assert fonts is not None and fonts.get(f"{ns}eastAsia") == "Noto Sans CJK SC", run.text
        assert lang is not None and lang.get(f"{ns}eastAsia") == "zh-CN", run.text


def test_dates_and_money_in_the_chinese_locale(clinic, tmp_path):
    """Babel's zh_Hans_CN: "2026年11月21日", and dollars marked as US dollars (never mistaken for yuan)."""
    from babel.numbers import format_currency

    form = consent.build("knee-injection", patient=chinese_patient(), clinic=clinic, date=DATE)
    fees = clinic.fees["knee-injection"]
    total = format_currency(fees.price_per_session * fees.planned_sessions, "USD", locale="zh_Hans_CN")
    assert total.startswith("US$")
    text = pdftotext(form.to_pdf(), tmp_path)
    assert "2026年11月21日" in text and "1980年4月30日" in text
    assert total in text
    assert total in docx_all_text(form.to_docx())


@pytest.mark.parametrize(("code", "expected"), [
    ("zh", "zh-Hans"), ("zh-CN", "zh-Hans"), ("zh_CN", "zh-Hans"), ("zh-Hans", "zh-Hans"), ("zh-SG", "zh-Hans"),
    ("zh-Hans-CN", "zh-Hans"), ("zho", "zh-Hans"), ("chi", "zh-Hans"), ("cmn", "zh-Hans"),
    ("zh-TW", None), ("zh-HK", None), ("zh-MO", None), ("zh-Hant", None), ("zh-Hant-TW", None),
    ("cmn-Hant-TW", None), ("zh-US", None), ("es", "es"),
])
def test_chinese_codes_resolve_by_script(code, expected):
    """Simplified codes give the zh-Hans form; Traditional ones (and a region that does not say) none."""
    assert resolve_language(code, get_library().languages) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("Chinese", "zh"), ("chinese", "zh"), ("Chinese (Simplified)", "zh-Hans"), ("Simplified Chinese", "zh-Hans"),
    ("中文", "zh"), ("简体中文", "zh-Hans"), ("Chinese (Traditional)", "zh-Hant"), ("Chinese (Taiwan)", "zh-TW"),
    ("繁体中文", "zh-Hant"), ("Chinese (Mandarin)", None), ("chino", "zh"),
])
def test_chinese_language_names(name, expected):
    """Names as EHRs write them; a bracket after "Chinese" is kept when it names a script or a place."""
    from consent.ehr._languages import language_code

    assert language_code(name) == expected


def _fhir_patient(tmp_path, code: str | None, text: str | None = None):
    language: dict = {}
    if code:
        language["coding"] = [{"system": "urn:ietf:bcp:47", "code": code}]
    if text:
        language["text"] = text
    resource = {"resourceType": "Patient", "id": "p1", "name": [{"family": "王", "given": ["小明"]}],
                "birthDate": "1980-04-30",
                "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}},
                                  {"language": language, "preferred": True}]}
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(resource, ensure_ascii=False), encoding="utf-8")
    [record] = read_records([path])
    assert record.patient is not None, record.problems
    return record.patient


@pytest.mark.parametrize(("code", "text"), [("zh", None), ("zh-CN", None), (None, "Chinese"), (None, "中文")])
def test_fhir_record_preferring_chinese_gets_the_chinese_form(code, text, clinic, tmp_path):
    """Patient.communication with Chinese marked preferred: the form is Chinese, without a warning."""
    patient = _fhir_patient(tmp_path, code, text)
    with warnings.catch_warnings():
        warnings.simplefilter("error", consent.LanguageFallbackWarning)
        form = consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)
    assert form.language == "zh-Hans"
    assert "您的签名" in docx_all_text(form.to_docx())


@pytest.mark.parametrize(("code", "text"), [("zh-TW", None), ("zh-Hant", None), ("zh-HK", None),
                                            (None, "Chinese (Traditional)")])
def test_traditional_chinese_record_is_not_given_simplified(code, text, clinic, tmp_path):
    """A zh-TW record gets the English form with a LanguageFallbackWarning, never the Simplified one."""
    patient = _fhir_patient(tmp_path, code, text)
    with pytest.warns(consent.LanguageFallbackWarning, match=r"is not available; the form is in English "
                      r"\(available: en, es, zh-Hans\)"):
        form = consent.build("knee-injection", patient=patient, clinic=clinic, date=DATE)
    assert form.language == "en"
    assert "您的签名" not in docx_all_text(form.to_docx())


def test_readability_says_sentence_length_only_and_check_passes():
    """consent check on the Chinese forms: 0 errors, and for each form a finding that says no
    grade-level measure exists for Chinese and that sentence length only was checked."""
    report = check(languages=["zh-Hans"])
    assert report.errors == ()
    said = [f for f in report.findings if f.rule == "readability.sentence-length-only"]
    assert {f.treatment for f in said} == set(TREATMENTS)
    for finding in said:
        assert "sentence length only" in finding.message
        assert "no established grade-level" in finding.message
    figures = [f for f in report.figures if f.language == "zh-Hans"]
    assert figures and all({name for name, _ in f.scores} == {"sentence-chars-mean", "sentence-chars-max"}
                           for f in figures)


def test_sentence_length_counts_characters_and_can_fail(tmp_path):
    """Han characters count one each, a Latin word or a number one; a too-long sentence in a pack's
    Chinese clause is a readability error."""
    assert chinese_sentences("这项治疗没有得到 FDA 批准。它不是药！123 次？") == [11, 4, 2]
    assert dict(scores("一二三。四五六七八九。", "zh-Hans")) == {"sentence-chars-mean": 4.5,
                                                          "sentence-chars-max": 6.0}
    long = "这项治疗" * 20 + "。"
    pack = tmp_path / "pack"
    (pack / "clauses" / "zh-Hans").mkdir(parents=True)
    english = Path(consent.__file__).parent / "clauses" / "benefits.yaml"
    text = english.read_text(encoding="utf-8").replace('version: "1.0"', 'version: "1.0-pack"')
    (pack / "clauses" / "benefits.yaml").write_text(text, encoding="utf-8")
    (pack / "clauses" / "zh-Hans" / "benefits.yaml").write_text(
        f'id: benefits\ntranslates: "1.0-pack"\ntitle: 可能的好处\nbody:\n  - p: {long}\n', encoding="utf-8")
    report = check(["knee-injection"], packs=[pack], languages=["zh-Hans"])
    bad = [f for f in report.errors if f.rule == "readability.clause-longest-sentence"]
    assert bad and bad[0].clause == "benefits" and "80 characters" in bad[0].message


def test_cli_render_follows_the_preferred_language(tmp_path, capsys):
    """`consent render` with a patient file that prefers zh-CN writes a Chinese PDF and DOCX."""
    from consent.cli import main
    from helpers import CLINIC

    path = tmp_path / "p.yaml"
    path.write_text("full_name: 王小明\nbirth_date: 1980-04-30\npreferred_language: zh-CN\n", encoding="utf-8")
    code = main(["render", "hair", "--patient", str(path), "--clinic", str(CLINIC), "--date", "2026-11-21",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    [pdf] = (tmp_path / "out").glob("*.pdf")
    assert "知情同意书" in "".join(pdf_pages(pdf.read_bytes()))


def test_state_notice_courtesy_translation_follows_the_english_words(clinic, tmp_path):
    """A California form in Chinese: the statute's English words, then the Chinese courtesy translation
    under its label, and the citation glossed in Chinese."""
    import attrs

    ca = attrs.evolve(clinic, state="CA")
    form = consent.build("knee-injection", patient=chinese_patient(), clinic=ca, date=DATE)
    text = squeeze(pdftotext(form.to_pdf(), tmp_path))
    english = text.index("THIS NOTICE MUST BE PROVIDED TO YOU UNDER CALIFORNIA LAW")
    label = text.index("礼节性翻译（上面的英文是法定通知）")
    assert english < label < text.index("根据加州法律，必须向您提供这份通知。")
    assert "加州商业与职业法第 684 条" in text


# Claims a Chinese form must never make (REFERENCE.md section 4), and the honest sentences of the stock
# Chinese text that look like them.
CHINESE_CLAIMS = [
    ("这个产品已获得 FDA 批准。", "claim.fda-approved"), ("我们的外泌体是 FDA 批准的。", "claim.fda-approved"),
    ("我们不收咨询费，FDA 已批准我们的产品。", "claim.fda-approved"),
    ("本产品在 FDA 注册过，请放心。", "claim.fda-registered"), ("我们的实验室符合 FDA 规定。", "claim.fda-compliant"),
    ("外泌体不是药品。", "claim.not-regulated"), ("外泌体不受 FDA 监管。", "claim.not-regulated"),
    ("这种治疗可以治愈关节炎。", "claim.cure"), ("我们保证效果。", "claim.guarantee"),
    ("它已被临床证明有效。", "claim.proven"), ("这项治疗完全安全。", "claim.absolutely-safe"),
    ("没有任何副作用。", "claim.no-side-effects"), ("零风险。", "claim.no-risk"), ("这是一种奇迹疗法。", "claim.hype"),
    ("发烧说明治疗起作用了。", "claim.infection-as-working"), ("您放弃所有法律权利。", "claim.waiver"),
    ("诊所概不负责。", "claim.release-liability"), ("您同意不起诉诊所。", "claim.no-suit"),
    ("付款后概不退款。", "claim.non-refundable"),
]
HONEST = ["这项治疗没有得到 FDA（美国食品药品监督管理局）批准。", "FDA 没有批准任何外泌体产品用于任何用途。",
          "FDA 已批准米诺地尔用于脱发。", "一个产品可能在 FDA 登记过，但仍然没有得到批准。", "我们不能保证任何结果。",
          "它没有被证明有效。", "治疗后发烧、发冷或感觉不舒服，并不表示身体正在好转。",
          "签这份表格，并不表示您放弃任何法律权利。", "付钱之前，请问我们能不能退款。"]


@pytest.mark.parametrize(("sentence", "rule"), CHINESE_CLAIMS)
def test_chinese_claims_are_found(sentence, rule):
    from consent.check._claims import scan
    from consent.check._settings import settings_for

    rules = settings_for(get_library())[0].rules
    assert rule in [hit.rule.id for hit in scan(sentence, rules, "zh-Hans")]


@pytest.mark.parametrize("sentence", HONEST)
def test_honest_chinese_sentences_are_not_claims(sentence):
    from consent.check._claims import scan
    from consent.check._settings import settings_for

    rules = settings_for(get_library())[0].rules
    assert scan(sentence, rules, "zh-Hans") == []


def test_every_claim_rule_has_chinese_patterns():
    """`consent check --language zh-Hans` reports no claim left unchecked in Chinese."""
    report = check(languages=["zh-Hans"])
    assert [f for f in report.findings if f.rule == "structure.claim-language-missing"] == []
