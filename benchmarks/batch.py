"""Batch benchmark: `consent batch` against the pipeline a clinic would otherwise script.

    .venv/bin/python benchmarks/batch.py                     # 1,000 records
    .venv/bin/python benchmarks/batch.py --records 1000,5000 # memory stays flat as the batch grows

One run reports side by side, on the same records (built from ../shared/ehr-samples/):
  1. ours: `consent batch` (DOCX + PDF per record, all cores), forms per second and the peak memory of
     all its processes together;
  2. the plain pipeline: docxtpl renders the same DOCX for each record, then ONE LibreOffice headless
     call converts all the DOCX files to PDF;
  3. WeasyPrint alone: the same HTML rendered to PDF with nothing reused between forms (new stylesheet
     and font configuration each time), in one process, on a sample of the records.
Run by hand; the figures go into the issue notes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "ehr-samples"
CLINIC = ROOT / "examples" / "sunrise-clinic" / "clinic.yaml"
TREATMENT = "knee-injection"
DATE = "2026-11-21"


def sample_patients() -> list[dict]:  # type: ignore[type-arg]
    out = []
    for path in sorted(SAMPLES.glob("*.json")):
        data = json.loads(path.read_text())
        entries = [e["resource"] for e in data.get("entry", [])] if data["resourceType"] == "Bundle" else [data]
        out += [r for r in entries if r["resourceType"] == "Patient"]
    return out


def write_export(path: Path, count: int) -> None:
    """An NDJSON bulk export of ``count`` patients, cloned from the samples with other names and dates."""
    base = sample_patients()
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            patient = json.loads(json.dumps(base[i % len(base)]))
            patient["id"] = f"bench-{i:06d}"
            for name in patient.get("name", []):
                if "family" in name:
                    name["family"] = f"{name['family']}-{i:05d}"
            patient["birthDate"] = (dt.date(1940, 1, 1) + dt.timedelta(days=(i * 37) % 25000)).isoformat()
            fh.write(json.dumps(patient, ensure_ascii=False) + "\n")


class PeakMemory:
    """Polls /proc for the memory of a process and all its descendants; keeps the peak of the sum.

    ``peak`` sums PSS (proportional set size: a page shared by n processes counts 1/n in each), the
    memory the processes really take together; ``peak_rss`` sums RSS, which counts shared pages (the
    Python interpreter and libraries a forked worker shares with its parent) once per process."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.peak_rss, self._stop = pid, 0, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo += children.get(pid, [])
        return out

    @staticmethod
    def _field(path: str, name: str) -> int:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = self._tree()
            self.peak = max(self.peak, sum(self._field(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree))
            self.peak_rss = max(self.peak_rss, sum(self._field(f"/proc/{p}/status", "VmRSS:") for p in tree))
            time.sleep(0.1)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


LAST_RSS = [0]


def run_measured(argv: list[str], **kwargs) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Wall time and peak PSS of all the processes of a command (peak RSS sum kept in LAST_RSS)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    with PeakMemory(proc.pid) as mem:
        _, err = proc.communicate()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed: {err.decode()[-2000:]}")
    LAST_RSS[0] = mem.peak_rss
    return time.perf_counter() - start, mem.peak


def ours(export: Path, out: Path, jobs: int | None) -> tuple[float, int]:
    argv = [str(Path(sys.executable).with_name("consent")), "batch", TREATMENT, "--from", str(export),
            "--clinic", str(CLINIC), "--out", str(out), "--date", DATE, "--format", "pdf,docx"]
    return run_measured(argv + (["--jobs", str(jobs)] if jobs else []))


BASELINE_SCRIPT = r'''
import json, sys
from pathlib import Path
from docxtpl import DocxTemplate
template, records, out = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()), Path(sys.argv[3])
for i, rec in enumerate(records):
    doc = DocxTemplate(template)
    doc.render(rec)
    doc.save(out / f"form-{i:06d}.docx")
'''


def baseline(export: Path, work: Path) -> tuple[float, float, int]:
    """docxtpl render of the same DOCX per record, then one LibreOffice call for all of them."""
    import consent
    from consent.ehr import read_records

    clinic = consent.load_clinic(CLINIC)
    marker = consent.Patient(full_name="PATIENTNAMEMARK", birth_date=dt.date(1901, 2, 3), mrn="MRNMARK")
    form = consent.build(TREATMENT, patient=marker, clinic=clinic, date=dt.date.fromisoformat(DATE), language="en")
    data = form.to_docx()
    import io
    import zipfile

    work.mkdir(parents=True, exist_ok=True)
    template = work / "template.docx"
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(template, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info.filename)
            for old, new in ((b"PATIENTNAMEMARK", b"{{ name }}"), (b"February 3, 1901", b"{{ dob }}"),
                             (b"MRNMARK", b"{{ mrn }}"), (form.form_id.encode(), b"{{ form_id }}")):
                part = part.replace(old, new)
            dst.writestr(info, part)
    records = [{"name": r.patient.full_name, "dob": r.patient.birth_date.isoformat(), "mrn": r.patient.mrn or "",
                "form_id": f"REC-{r.number}"} for r in read_records([export]) if r.patient]
    (work / "records.json").write_text(json.dumps(records))
    docx_dir, pdf_dir = work / "docx", work / "pdf"
    docx_dir.mkdir()
    pdf_dir.mkdir()
    script = work / "render.py"
    script.write_text(BASELINE_SCRIPT)
    t1, m1 = run_measured([sys.executable, str(script), str(template), str(work / "records.json"), str(docx_dir)])
    files = sorted(str(p) for p in docx_dir.glob("*.docx"))
    calls, t2, m2 = 0, 0.0, 0
    while True:
        done = {p.stem for p in pdf_dir.glob("*.pdf")}
        todo = [f for f in files if Path(f).stem not in done]
        if not todo:
            break
        if calls and calls > len(files) // 100 + 5:
            raise SystemExit(f"LibreOffice keeps stopping early: {len(done)} of {len(files)} converted")
        # One call for all files, as a clinic would script it. LibreOffice 7.4 ends such a call after
        # about 250 files with exit status 0; the rest then need more calls, which are timed too.
        seconds, peak = run_measured(["libreoffice", "--headless", f"-env:UserInstallation=file://{work}/lo-profile",
                                      "--convert-to", "pdf", "--outdir", str(pdf_dir), *todo])
        calls, t2, m2 = calls + 1, t2 + seconds, max(m2, peak)
    print(f"  (LibreOffice needed {calls} call(s) to convert {len(files)} files)")
    return t1, t2, max(m1, m2)


def weasyprint_alone(export: Path, sample: int) -> float:
    """Seconds per form: the same HTML, a fresh HTML + CSS + font configuration each time."""
    import weasyprint

    import consent
    from consent._render_pdf import form_html
    from consent.ehr import read_records

    clinic = consent.load_clinic(CLINIC)
    templates = Path(consent.__file__).parent / "templates"
    htmls = []
    for record in list(read_records([export]))[:sample]:
        form = consent.build(TREATMENT, patient=record.patient, clinic=clinic, date=dt.date.fromisoformat(DATE),
                             language="en")
        htmls.append(form_html(form).replace("<head>", '<head><link rel="stylesheet" href="form.css">', 1))
    start = time.perf_counter()
    for html in htmls:
        weasyprint.HTML(string=html, base_url=str(templates) + "/").write_pdf()
    return (time.perf_counter() - start) / len(htmls)


def main() -> None:
    parser = argparse.ArgumentParser(description="Batch benchmark (see the module docstring).")
    parser.add_argument("--records", default="1000", help="comma-separated batch sizes, e.g. 1000,5000")
    parser.add_argument("--jobs", type=int, help="workers for our batch (default: every core)")
    parser.add_argument("--sample", type=int, default=100, help="forms for the WeasyPrint-alone run")
    parser.add_argument("--no-baseline", action="store_true", help="only run our batch")
    args = parser.parse_args()
    import warnings

    warnings.simplefilter("ignore")
    sizes = [int(s) for s in args.records.split(",")]
    print(f"machine: {os.cpu_count()} cores; treatment {TREATMENT}; DOCX + PDF per record")
    with tempfile.TemporaryDirectory(prefix="consent-bench-") as tmp:
        work = Path(tmp)
        for n, size in enumerate(sizes):
            export = work / f"export-{size}.ndjson"
            write_export(export, size)
            seconds, peak = ours(export, work / f"ours-{size}", args.jobs)
            print(f"ours        {size:>6} records: {seconds:8.1f} s  {size / seconds:6.2f} forms/s  "
                  f"peak memory {peak / 2**20:6.0f} MB PSS, {LAST_RSS[0] / 2**20:.0f} MB RSS (all processes)")
            shutil.rmtree(work / f"ours-{size}")
            if n or args.no_baseline:
                continue
            if shutil.which("libreoffice"):
                t1, t2, peak_b = baseline(export, work / "baseline")
                print(f"docxtpl+LO  {size:>6} records: {t1 + t2:8.1f} s  {size / (t1 + t2):6.2f} forms/s  "
                      f"(docxtpl {t1:.1f} s, LibreOffice {t2:.1f} s)  peak memory {peak_b / 2**20:6.0f} MB")
                print(f"ratio: ours / docxtpl+LibreOffice = {(t1 + t2) / seconds:.2f}x")
            else:
                print("docxtpl+LO: LibreOffice is not installed (./dev bench installs it)")
            per = weasyprint_alone(export, min(args.sample, size))
            print(f"WeasyPrint alone, no reuse, 1 process: {per * 1000:.0f} ms per PDF ({1 / per:.2f} PDFs/s), "
                  f"sample of {min(args.sample, size)}")


if __name__ == "__main__":
    main()
