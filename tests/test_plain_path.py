"""The plain path and the speed-ups make the same forms (consent/speedups/__init__.py, invariant 1).

With every speed-up switched off (``CONSENT_SPEEDUPS=off``) a form is rendered by the obvious route:
consent/pdf/whole.py and consent/docx/render.py. The fast path gives, for every stock treatment and
language, fillable and not: the same DOCX bytes, and a PDF with the same pages (the same words on each
page, the same pixels at 40 dpi). The PDF's bytes differ (the shared layout stacks form XObjects); the
disk cache and the PDF process change no byte (benchmarks/output_digests.py compares every stock output
made through the command with them on and off). :func:`consent.clear_caches` empties every in-process
cache, and the next form has the same bytes.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import CLINIC, DATE, TREATMENTS, pdf_pages

import consent
from consent.docx.render import docx_bytes
from consent.pdf.whole import checked, whole_pdf
from consent.speedups.render import laid_out_pdf

PATIENT = consent.Patient(full_name="Mariana Quintero-Ávila", birth_date=DATE.replace(year=1961), mrn="SRH-88")


def _gray_pages(pdf: bytes, folder: Path, name: str) -> list[bytes]:
    (folder / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(folder / f"{name}.pdf"), str(folder / name)],
                   check=True, timeout=120)
    return [p.read_bytes() for p in sorted(folder.glob(f"{name}-*.pgm"))]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is installed by ./dev test")
@pytest.mark.parametrize("fillable", [False, True], ids=["plain-pdf", "fillable"])
@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("treatment", TREATMENTS)
def test_the_fast_path_and_the_plain_path_make_the_same_form(treatment, language, fillable, monkeypatch,
                                                              tmp_path):
    clinic = consent.load_clinic(CLINIC)
    form = consent.build(treatment, patient=PATIENT, clinic=clinic, date=DATE, language=language)
    consent.clear_caches()
    fast_pdf, how = laid_out_pdf(form, fillable=fillable)
    fast_docx = consent.render_docx(form)
    assert how == "shared"

    consent.clear_caches()
    monkeypatch.setenv("CONSENT_SPEEDUPS", "off")
    plain_pdf, how = laid_out_pdf(form, fillable=fillable)
    assert how == "whole"
    assert consent.render_docx(form) == docx_bytes(form) == fast_docx
    # The door, switched off, is the plain function and nothing else.
    assert plain_pdf == whole_pdf(checked(form, fillable=fillable), fillable=fillable)

    # The same words on each page; a text extractor meets them in another order (the shared layout draws
    # the patient's strings last, in the form's own layer).
    assert [sorted(page.split()) for page in pdf_pages(fast_pdf)] == [sorted(page.split()) for page in
                                                                      pdf_pages(plain_pdf)]
    fast_pages, plain_pages = _gray_pages(fast_pdf, tmp_path, "fast"), _gray_pages(plain_pdf, tmp_path, "plain")
    assert len(fast_pages) == len(plain_pages) >= 8
    assert [i for i, (a, b) in enumerate(zip(fast_pages, plain_pages, strict=True)) if a != b] == []


def test_the_door_switched_off_renders_no_shared_work(monkeypatch):
    """With ``CONSENT_SPEEDUPS=off`` nothing is tokenised or shared: the door calls the plain path only."""
    from consent.speedups import layers, shared_docx

    form = consent.build("hair", patient=PATIENT, clinic=consent.load_clinic(CLINIC), date=DATE)
    consent.clear_caches()
    monkeypatch.setenv("CONSENT_SPEEDUPS", "off")

    def refuse(*args, **kwargs):
        raise AssertionError("a speed-up was used")

    monkeypatch.setattr("consent.speedups.layers.layered_pdf", refuse)
    monkeypatch.setattr("consent.speedups.shared_docx.shared_docx", refuse)
    consent.render_pdf(form)
    consent.render_docx(form)
    form.write(Path(__import__("tempfile").mkdtemp()), formats=("pdf", "docx"))
    assert not layers._BODIES.done and not shared_docx._PARTS.done


def _lru_caches() -> list[str]:
    """Every ``functools.lru_cache`` of the loaded package, by name."""
    import sys

    names = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "consent" or name.startswith("consent.")):
            continue
        for attr, value in vars(module).items():
            for key, candidate in ((attr, value), *((f"{attr}.{k}", v) for k, v in
                                                    (vars(value).items() if isinstance(value, type) else ()))):
                if isinstance(candidate, functools._lru_cache_wrapper) and candidate.__module__ == name:
                    names.append(f"{name}.{key}")
    return sorted(names)


def test_clear_caches_empties_every_in_process_cache(tmp_path):
    """After a batch's worth of work every kind of cache holds something; :func:`consent.clear_caches`
    empties them all, and the next form has the same bytes."""
    import consent.speedups.caches as caches
    from consent.speedups import disk_cache, layers, shared_docx

    form = consent.build("knee-injection", patient=PATIENT, clinic=consent.load_clinic(CLINIC), date=DATE)
    before = (form.to_pdf(), form.to_docx())
    assert layers._BODIES.done and shared_docx._PARTS.done
    filled = [name for name in _lru_caches() if eval_cache(name).cache_info().currsize]
    assert len(filled) >= 5
    consent.clear_caches()
    assert [name for name in _lru_caches() if eval_cache(name).cache_info().currsize] == []
    assert not layers._BODIES.done and not shared_docx._PARTS.done
    for module, names in caches.MEMOS.items():
        for name in names:
            value = getattr(__import__("sys").modules[module], name)
            held = value.code if hasattr(value, "code") else value
            assert not any(held) if isinstance(held, list) else not held, f"{module}.{name}"
    assert disk_cache._KNOWN == {}
    assert (form.to_pdf(), form.to_docx()) == before


def eval_cache(name: str):  # noqa: ANN201 - a functools cache wrapper
    """The cache named ``module.function`` or ``module.Class.method``."""
    import sys

    for split in range(name.count("."), 0, -1):
        module = ".".join(name.split(".")[:split])
        if module in sys.modules:
            value = sys.modules[module]
            for part in name.split(".")[split:]:
                value = vars(value)[part] if isinstance(value, type) else getattr(value, part)
            return value
    raise LookupError(name)


def test_every_memo_named_for_clear_caches_exists():
    """A memo renamed or removed would make clear_caches fail: each name in MEMOS is real."""
    import importlib

    import consent.speedups.caches as caches

    for module, names in caches.MEMOS.items():
        loaded = importlib.import_module(module)
        for name in names:
            assert hasattr(loaded, name), f"{module}.{name}"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is installed by ./dev test")
@pytest.mark.parametrize("fillable", [False, True], ids=["plain-pdf", "fillable"])
def test_a_large_print_form_is_the_same_by_either_path(fillable, monkeypatch, tmp_path):
    """A large-print form (issue 27, point 4) has its own shared body (its twin's key holds the option), and
    gives the same pages by the fast path as by the plain one; Utah's 40-point notice page among them."""
    import attrs

    clinic = attrs.evolve(consent.load_clinic(CLINIC), state="UT")
    form = consent.build("hair", patient=PATIENT, clinic=clinic, date=DATE, large_print=True)
    ordinary = consent.build("hair", patient=PATIENT, clinic=clinic, date=DATE)
    consent.clear_caches()
    fast_pdf, how = laid_out_pdf(form, fillable=fillable)
    fast_docx = consent.render_docx(form)
    assert how == "shared"
    assert laid_out_pdf(ordinary, fillable=fillable)[0] != fast_pdf  # not the ordinary form's shared body

    consent.clear_caches()
    monkeypatch.setenv("CONSENT_SPEEDUPS", "off")
    plain_pdf, how = laid_out_pdf(form, fillable=fillable)
    assert how == "whole"
    assert docx_bytes(form) == fast_docx
    assert [sorted(page.split()) for page in pdf_pages(fast_pdf)] == [sorted(page.split()) for page in
                                                                      pdf_pages(plain_pdf)]
    fast_pages, plain_pages = _gray_pages(fast_pdf, tmp_path, "fast"), _gray_pages(plain_pdf, tmp_path, "plain")
    assert len(fast_pages) == len(plain_pages) >= 20
    assert [i for i, (a, b) in enumerate(zip(fast_pages, plain_pages, strict=True)) if a != b] == []
