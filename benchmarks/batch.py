"""Batch benchmark: `consent batch` against docxtpl + LibreOffice, side by side, on three record mixes.

    .venv/bin/python benchmarks/batch.py                                   # the full set (long)
    .venv/bin/python benchmarks/batch.py --records 200 --mixes realistic --runs 1 --flat none   # a short run

For each mix and size, each run times both sides one after the other on the same records (the order
alternates from run to run, so a change in the machine's load hits both sides alike), and the ratio
is taken per run: theirs / ours. Reported per mix: the ratio (min / median / max over the runs), our
forms per second, the share of our PDFs that took the shared-layout path (from manifest.jsonl), and
the peak memory (PSS, summed over every process of a side, sampled every 0.2 s).

Ours is what a clinic runs: the `consent batch` command as a new process (cold: nothing cached, an
empty output folder), DOCX + PDF + FHIR per record, every core (or --jobs). Theirs is the pipeline a
clinic would otherwise script: docxtpl renders each record's DOCX from a template (a form of ours
with the patient's strings and screening boxes turned into placeholders), then LibreOffice converts
them with `--convert-to pdf`, 100 files per call (one call for thousands of files can stop early:
LibreOffice 7.4 ends a call after about 250 files with exit status 0).

The mixes (records built here; nothing is read from a network):
- uniform:   knee-injection, English, every patient with an MRN, no screening answers; a FHIR NDJSON
             bulk export, one `consent batch` call;
- realistic: the three treatments in one CSV export, each row naming its treatment in a `treatment`
             column, and one `consent batch` call without TREATMENT, as a clinic runs its EHR's
             export of upcoming procedures; about a third of the patients Spanish-speaking, one in
             ten without an MRN, one in thirty with a long name (wrapping on the form), every
             screening question of the patient's treatment answered (most "no", some with one
             "yes"; the other treatments' question columns left blank);
- worst:     knee-injection with a clinic pack whose "benefits" clause prints the patient's name, and
             every record with its own screening answers: every form's text differs.
--flat runs ours alone on the realistic mix at more sizes, to show memory does not grow with the batch.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLINIC = ROOT / "examples" / "sunrise-clinic" / "clinic.yaml"
DATE = "2026-11-21"
TREATMENTS = ("knee-injection", "iv-infusion", "hair")
CHUNK = 100  # files per LibreOffice call

GIVEN = ["Ada", "José", "Minh", "Chidinma", "Rosa María", "Peter", "Łucja", "Sven", "Aiyana", "Kwame", "Mei",
         "Jürgen", "Fatima", "Liam", "Noor", "Gustavo", "Ingrid", "Tomás", "Yuki", "Olu"]
FAMILY = ["Okafor", "Núñez", "Nguyen", "Castillo", "Chalmers", "O'Connor", "Kowalski", "Andersson", "Mejía",
          "Kreiger", "Schmidt", "Haddad", "Tanaka", "Walker", "Dubois", "Reyes", "Hansen", "Singh"]
LONG_NAMES = [  # a few real-world shapes that wrap on the form (and a long one that fits)
    "María de los Ángeles Fernández-Gutiérrez y Rodríguez-Montenegro de la Vega",
    "Alexandrina Konstantinopoulou-Vasilakopoulou Papadimitriou",
    "Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Senior",
]


# --------------------------------------------------------------------------- records


def questions(treatment: str) -> list[tuple[str, str]]:
    """(id, question text) of the treatment's screening questions, in form order."""
    import consent
    from consent.document import Checklist

    form = consent.build(treatment, patient=consent.Patient(full_name="X", birth_date=dt.date(1970, 1, 1)),
                         clinic=consent.load_clinic(CLINIC), date=dt.date.fromisoformat(DATE), language="en",
                         allow_check_errors=True)
    return [(row.id, row.question) for s in form.sections for b in s.blocks if isinstance(b, Checklist)
            for row in b.rows]


def person(i: int, rng: random.Random, *, long_share: float = 0.0) -> dict[str, Any]:
    if long_share and rng.random() < long_share:
        name = LONG_NAMES[i % len(LONG_NAMES)]
    else:
        name = f"{GIVEN[i % len(GIVEN)]} {FAMILY[(i * 7) % len(FAMILY)]}-{i:05d}"
    born = dt.date(1940, 1, 1) + dt.timedelta(days=(i * 37) % 25000)
    return {"name": name, "dob": born.isoformat(), "mrn": f"SRH-{100000 + i}"}


def write_ndjson(path: Path, people: Sequence[dict[str, Any]]) -> None:
    """A FHIR R4 bulk export: one Patient per line, with an MR identifier."""
    with path.open("w", encoding="utf-8") as fh:
        for i, p in enumerate(people):
            given, _, family = p["name"].rpartition(" ")
            resource = {
                "resourceType": "Patient", "id": f"bench-{i:06d}", "birthDate": p["dob"],
                "name": [{"use": "official", "family": family, "given": given.split()}],
                "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                     "code": "MR"}]}, "value": p["mrn"]}],
            }
            fh.write(json.dumps(resource, ensure_ascii=False) + "\n")


def write_csv(path: Path, people: Sequence[dict[str, Any]], qids: Sequence[str]) -> Path:
    """A CSV export with screening columns (yes, no, or blank for a question not asked of the patient)
    and, when the people have one, a `treatment` column; and its mapping file (returned). The treatment
    column needs no mapping: `consent batch` reads a column named "treatment" as each row's treatment."""
    mixed = any("treatment" in p for p in people)
    answer = {True: "yes", False: "no", None: ""}
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "DOB", "MRN", "Language", *(["treatment"] if mixed else []), *qids])
        for p in people:
            writer.writerow([p["name"], p["dob"], p.get("mrn") or "", p.get("language") or "",
                             *([p["treatment"]] if mixed else []), *(answer[p["answers"].get(q)] for q in qids)])
    mapping = path.with_suffix(".mapping.yaml")
    mapping.write_text("columns:\n  full_name: Name\n  birth_date: DOB\n  mrn: MRN\n  preferred_language: Language\n"
                       "screening:\n" + "".join(f"  {q}: {q}\n" for q in qids), encoding="utf-8")
    return mapping


NAMED_PACK = {"clauses/benefits.yaml": """\
id: benefits
version: "1.1-named"
title: Possible benefits
elements: [benefits]
body:
  - p: We hope this treatment helps you, {{ patient.full_name }}. We cannot promise that it will.
  - p: It may do nothing for you. Some people feel better and some do not.
"""}


class Batch:
    """One `consent batch` call: its treatment (None: each person's own, ``person["treatment"]``),
    export, mapping, pack, the people in it and the screening questions of each treatment."""

    def __init__(self, treatment: str | None, export: Path, people: list[dict[str, Any]], *,
                 mapping: Path | None = None, pack: Path | None = None,
                 qs: dict[str, list[tuple[str, str]]] | None = None) -> None:
        self.treatment, self.export, self.people, self.mapping, self.pack = treatment, export, people, mapping, pack
        self.questions = qs or {}

    def treatment_of(self, person: dict[str, Any]) -> str:
        return str(person.get("treatment") or self.treatment)


def make_mix(mix: str, size: int, work: Path) -> list[Batch]:
    rng = random.Random(f"{mix}-{size}")  # the same records on every run
    folder = work / f"{mix}-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    if mix == "uniform":
        people = [person(i, rng) for i in range(size)]
        write_ndjson(folder / "export.ndjson", people)
        return [Batch("knee-injection", folder / "export.ndjson", people)]
    if mix == "realistic":
        asked = {treatment: questions(treatment) for treatment in TREATMENTS}
        people = []
        for i in range(size):
            treatment = TREATMENTS[i % len(TREATMENTS)]
            own = [q for q, _ in asked[treatment]]
            common = [q for q in own if q in ("blood-thinners", "autoimmune", "allergy", "bleeding")]
            p = person(i, rng, long_share=1 / 30)
            p["treatment"] = treatment
            p["language"] = "es" if rng.random() < 1 / 3 else rng.choice(["en", "en-US", ""])
            if rng.random() < 0.1:
                p["mrn"] = None
            p["answers"] = dict.fromkeys(own, False) | ({rng.choice(common): True} if rng.random() < 0.25 else {})
            people.append(p)
        qids = list(dict.fromkeys(q for qs in asked.values() for q, _ in qs))  # each question's column once
        export = folder / "export.csv"
        return [Batch(None, export, people, mapping=write_csv(export, people, qids), qs=asked)]
    if mix == "worst":
        qs = questions("knee-injection")
        people = []
        for i in range(size):
            p = person(i, rng)
            p["answers"] = {q: bool((i >> n) & 1) for n, (q, _) in enumerate(qs)}  # every record its own
            people.append(p)
        pack = folder / "pack"
        for rel, text in NAMED_PACK.items():
            (pack / rel).parent.mkdir(parents=True, exist_ok=True)
            (pack / rel).write_text(text, encoding="utf-8")
        export = folder / "export.csv"
        return [Batch("knee-injection", export, people, mapping=write_csv(export, people, [q for q, _ in qs]),
                      pack=pack, qs={"knee-injection": qs})]
    raise SystemExit(f"unknown mix {mix!r} (known: uniform, realistic, worst)")


# --------------------------------------------------------------------------- measuring


class PeakMemory:
    """Polls /proc for the memory of a process and all its descendants; keeps the peak of the sum.

    ``peak`` sums PSS (proportional set size: a page shared by n processes counts 1/n in each), the
    memory the processes really take together; ``peak_rss`` sums RSS, which counts shared pages once
    per process."""

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
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def run_measured(argv: list[str], *, ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Wall time and peak PSS of all the processes of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakMemory(proc.pid) as mem:
        _, err = proc.communicate()
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(argv[:3])} ... failed ({proc.returncode}): {err.decode()[-2000:]}")
    return time.perf_counter() - start, mem.peak


class Side:
    seconds: float
    peak: int
    shared: float | None = None


def ours(batches: list[Batch], out: Path, jobs: int | None) -> Side:
    """One `consent batch` process per batch, as a clinic runs it; times and peaks add up."""
    side = Side()
    side.seconds, side.peak, shared, pdfs = 0.0, 0, 0, 0
    for n, batch in enumerate(batches):
        folder = out / f"batch-{n}"
        treatment = [batch.treatment] if batch.treatment else []  # none: each row names its own
        argv = [str(Path(sys.executable).with_name("consent")), "batch", *treatment, "--from", str(batch.export),
                "--clinic", str(CLINIC), "--out", str(folder), "--date", DATE, "--format", "pdf,docx"]
        argv += ["--mapping", str(batch.mapping)] if batch.mapping else []
        argv += ["--pack", str(batch.pack)] if batch.pack else []
        argv += ["--jobs", str(jobs)] if jobs else []
        seconds, peak = run_measured(argv)
        side.seconds, side.peak = side.seconds + seconds, max(side.peak, peak)
        errors = (folder / "errors.csv").read_text(encoding="utf-8").splitlines()
        if len(errors) != 1:
            raise SystemExit(f"ours: records failed: {errors[1:4]}")
        for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
            layout = json.loads(line).get("pdf_layout")
            pdfs += layout is not None
            shared += layout == "shared"
    side.shared = shared / pdfs if pdfs else None
    shutil.rmtree(out)
    return side


BASELINE_SCRIPT = r'''
import json, sys
from pathlib import Path
from docxtpl import DocxTemplate
records, out = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
for i, rec in enumerate(records):
    doc = DocxTemplate(rec.pop("template"))
    doc.render(rec)
    doc.save(out / f"form-{i:06d}.docx")
'''

MARK = {"name": "PATIENTNAMEMARK", "mrn": "MRNMARK", "birth": "February 3, 1901"}


def docx_template(batch: Batch, treatment: str, language: str, path: Path) -> None:
    """Our form of ``treatment`` for this batch as a docxtpl template: the patient's strings and the
    screening boxes of each question become placeholders."""
    import io
    import re
    import zipfile
    from xml.sax.saxutils import escape

    import consent
    from consent.document import Checklist

    marker = consent.Patient(full_name=MARK["name"], birth_date=dt.date(1901, 2, 3), mrn=MARK["mrn"])
    form = consent.build(treatment, patient=marker, clinic=consent.load_clinic(CLINIC),
                         date=dt.date.fromisoformat(DATE), language=language,
                         packs=[batch.pack] if batch.pack else [], allow_check_errors=True)
    rows = {row.question: row.id for s in form.sections for b in s.blocks if isinstance(b, Checklist)
            for row in b.rows}
    birth = form.header.birth_date
    with zipfile.ZipFile(io.BytesIO(form.to_docx())) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not info.filename.endswith(".xml"):
                dst.writestr(info, src.read(info.filename))
                continue
            part = src.read(info.filename).decode("utf-8")
            for old, new in ((MARK["name"], "{{ name }}"), (birth, "{{ dob }}"), (MARK["mrn"], "{{ mrn }}"),
                             (form.form_id, "{{ form_id }}")):
                part = part.replace(old, new)
            for question, qid in rows.items():  # the two boxes after each question: yes, no
                at = part.find(escape(question))
                if at >= 0:
                    key = qid.replace("-", "_")
                    head, tail = part[:at], part[at:]
                    tail = re.sub("☐", f"{{{{ {key}_yes }}}}", tail, count=1)
                    tail = re.sub("☐", f"{{{{ {key}_no }}}}", tail, count=1)
                    part = head + tail
            dst.writestr(info, part.encode("utf-8"))


def theirs(batches: list[Batch], work: Path, profile: Path) -> Side:
    """docxtpl for every record (a template per batch, treatment and language), then LibreOffice on 100
    files per call."""
    if work.exists():
        shutil.rmtree(work)
    docx_dir, pdf_dir = work / "docx", work / "pdf"
    docx_dir.mkdir(parents=True)
    pdf_dir.mkdir()
    templates: dict[tuple[int, str, str], str] = {}
    records = []
    for b, batch in enumerate(batches):
        for n, p in enumerate(batch.people):
            language = "es" if (p.get("language") or "").startswith("es") else "en"
            treatment = batch.treatment_of(p)
            if (b, treatment, language) not in templates:
                path = work / f"template-{b}-{treatment}-{language}.docx"
                docx_template(batch, treatment, language, path)
                templates[(b, treatment, language)] = str(path)
            record = {"template": templates[(b, treatment, language)], "name": p["name"], "dob": p["dob"],
                      "mrn": p.get("mrn") or "—", "form_id": f"REC-{b}-{n}"}
            for qid, _ in batch.questions.get(treatment, []):
                answer = p.get("answers", {}).get(qid)
                key = qid.replace("-", "_")
                record[f"{key}_yes"], record[f"{key}_no"] = ("☒" if answer else "☐"), ("☐" if answer else "☒")
            records.append(record)
    (work / "records.json").write_text(json.dumps(records, ensure_ascii=False))
    script = work / "render.py"
    script.write_text(BASELINE_SCRIPT)
    side = Side()
    side.seconds, side.peak = run_measured([sys.executable, str(script), str(work / "records.json"), str(docx_dir)])
    files = sorted(str(p) for p in docx_dir.glob("*.docx"))
    for start in range(0, len(files), CHUNK):
        chunk = files[start:start + CHUNK]
        seconds, peak = run_measured(["libreoffice", "--headless", f"-env:UserInstallation={profile.as_uri()}",
                                      "--convert-to", "pdf", "--outdir", str(pdf_dir), *chunk])
        side.seconds, side.peak = side.seconds + seconds, max(side.peak, peak)
    made = len(list(pdf_dir.glob("*.pdf")))
    if made != len(files):
        raise SystemExit(f"theirs: LibreOffice converted {made} of {len(files)} files")
    shutil.rmtree(work)
    return side


def warm_libreoffice(profile: Path, work: Path) -> None:
    """LibreOffice's first start makes its user profile (several seconds): done once, untimed."""
    import docx

    work.mkdir(parents=True, exist_ok=True)
    docx.Document().save(str(work / "warm.docx"))
    subprocess.run(["libreoffice", "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to",
                    "pdf", "--outdir", str(work), str(work / "warm.docx")], capture_output=True, check=True, timeout=300)


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Batch benchmark: ours against docxtpl + LibreOffice "
                                                 "(see the module docstring).")
    parser.add_argument("--records", default="200,1000", help="comma-separated batch sizes (default 200,1000)")
    parser.add_argument("--mixes", default="uniform,realistic,worst", help="comma-separated record mixes")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side per mix and size (default 3)")
    parser.add_argument("--jobs", type=int, help="workers for our batch (default: every core)")
    parser.add_argument("--flat", default="1000,5000",
                        help="sizes at which to measure our memory alone, realistic mix ('none' to skip)")
    parser.add_argument("--no-baseline", action="store_true", help="only run our side")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sizes = [int(s) for s in args.records.split(",") if s]
    mixes = [m for m in args.mixes.split(",") if m]
    baseline = not args.no_baseline
    if baseline and not shutil.which("libreoffice"):
        raise SystemExit("LibreOffice is not installed (./dev bench installs it), or use --no-baseline")
    mem_total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"# {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, {mem_total:.1f} GiB; "
          f"load average at start {load()}; {args.runs} run(s) each; DOCX + PDF per record")
    rows = []
    with tempfile.TemporaryDirectory(prefix="consent-bench-") as tmp:
        work = Path(tmp)
        profile = work / "lo-profile"
        if baseline:
            warm_libreoffice(profile, work / "warm")
        for size in sizes:
            for mix in mixes:
                batches = make_mix(mix, size, work / "data")
                mine: list[Side] = []
                other: list[Side] = []
                for run in range(args.runs):
                    order = ("ours", "theirs") if run % 2 == 0 else ("theirs", "ours")
                    for who in order:
                        if who == "ours":
                            mine.append(ours(batches, work / "ours", args.jobs))
                        elif baseline:
                            other.append(theirs(batches, work / "theirs", profile))
                    print(f"  {mix} {size} run {run + 1}: ours {mine[-1].seconds:.1f} s"
                          + (f", theirs {other[-1].seconds:.1f} s" if other else "")
                          + f"  (load {load()})", flush=True)
                rows.append((mix, size, mine, other))
        print()
        print(f"{'mix':<10}{'records':>8}  {'ours s min/med/max':<20}{'forms/s':>8}  {'theirs s (median)':>18}"
              f"  {'ratio min/med/max':<18}{'shared':>7}  {'peak PSS ours/theirs':>21}")
        for mix, size, mine, other in rows:
            ours_s = [s.seconds for s in mine]
            ratio = spread([o.seconds / m.seconds for m, o in zip(mine, other, strict=False)]) if other else "-"
            theirs_s = f"{statistics.median([o.seconds for o in other]):.1f}" if other else "-"
            shared = mine[0].shared
            share = f"{shared:.0%}" if shared is not None else "-"
            peak_theirs = f"{max(o.peak for o in other) / 2**20:.0f}" if other else "-"
            print(f"{mix:<10}{size:>8}  {spread(ours_s, '{:.1f}'):<20}{size / statistics.median(ours_s):>8.1f}  "
                  f"{theirs_s:>18}  {ratio:<18}{share:>7}  {max(m.peak for m in mine) / 2**20:>10.0f} / "
                  f"{peak_theirs:>4} MB")
        flat = [int(s) for s in args.flat.split(",") if s.isdigit()]
        if flat:
            print("\nmemory as the batch grows (ours, realistic mix, one run):")
            for size in flat:
                side = ours(make_mix("realistic", size, work / "data"), work / "ours", args.jobs)
                print(f"  {size:>6} records: {side.seconds:7.1f} s, {size / side.seconds:5.1f} forms/s, "
                      f"peak {side.peak / 2**20:.0f} MB PSS (all processes)", flush=True)
    print(f"# load average at end {load()}")


if __name__ == "__main__":
    main()
