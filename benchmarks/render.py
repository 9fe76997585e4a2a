"""Single-form figures: pages per treatment and language, and milliseconds per form in a warm process.

    ./dev bench            (or: .venv/bin/python benchmarks/render.py [--repeat 10])

Run by hand; the figures go into the issue notes. Not a test: timings vary with the machine's load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import time
import warnings
from pathlib import Path

import pypdf

import consent

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sunrise-clinic"


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    warnings.simplefilter("ignore", consent.LanguageFallbackWarning)
    clinic = consent.load_clinic(EXAMPLES / "clinic.yaml")
    print(f"{'treatment':<16}{'lang':<6}{'pages':>6}{'build ms':>10}{'DOCX ms':>10}{'PDF ms':>9}")
    for treatment in ("knee-injection", "iv-infusion", "hair"):
        for language in ("en", "es"):
            counter = iter(range(10**6))

            def build(treatment=treatment, language=language, counter=counter):  # type: ignore[no-untyped-def]
                n = next(counter)  # a different patient each time, as in real use
                patient = consent.Patient(full_name=f"Patient Number {n}", birth_date=dt.date(1960, 1, 1 + n % 28))
                return consent.build(treatment, patient=patient, clinic=clinic, date=dt.date(2026, 11, 21),
                                     language=language)

            form = build()
            form.to_pdf(), form.to_docx()  # warm: library, templates, fonts, stylesheet
            pages = len(pypdf.PdfReader(io.BytesIO(form.to_pdf())).pages)
            build_ms = timed(build, args.repeat)
            docx_ms = timed(lambda: build().to_docx(), args.repeat) - build_ms
            pdf_ms = timed(lambda: build().to_pdf(), args.repeat) - build_ms
            print(f"{treatment:<16}{language:<6}{pages:>6}{build_ms:>10.1f}{docx_ms:>10.1f}{pdf_ms:>9.1f}")


if __name__ == "__main__":
    main()
