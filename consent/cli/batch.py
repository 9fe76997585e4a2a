"""``consent batch``: a form for every patient of an EHR export, with its progress on the screen and, after it,
the records that got no form and the notes on forms made (never patient data). Registered on the
``consent`` group by consent/cli/commands.py, which owns the error boundary (``main``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from ..inputs.loaders import load_clinic
from .options import esign_option, fillable_option, large_print_option, pack_option, parse_date, parse_formats


def _base_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--base-url: an absolute http(s) URL, else a usage error (exit 2) before anything is read or written."""
    from ..ehr import base_url_problem

    if value is None:
        return None
    problem = base_url_problem(value, "--base-url")
    if problem is not None:
        raise click.BadParameter(problem.message, ctx=ctx, param=param)
    return value


@click.command()
@click.argument("treatment", required=False)
@click.option("--from", "sources", multiple=True, required=True, type=click.Path(dir_okay=False),
              help="EHR export to read: FHIR R4 JSON (a Patient or a Bundle), FHIR NDJSON bulk export, "
                   "or CSV (with --mapping). DSTU2 and STU3 are read, with a note. Repeatable.")
@click.option("--mapping", type=click.Path(dir_okay=False),
              help="Column mapping for CSV exports (YAML); it may map a column to treatment.")
@click.option("--clinic", "clinic_file", required=True, type=click.Path(dir_okay=False),
              help="Clinic file (YAML or JSON): name, address, phone, state, provider, products, fees.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the forms, manifest.jsonl, errors.csv and fhir-bundle.json.")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="pdf, docx or pdf,docx.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: every core).")
@click.option("--date", "date_text", metavar="YYYY-MM-DD", help="Date printed on the forms (default: today).")
@click.option("--language", help="Form language for everyone (default: each patient's preferred language).")
@click.option("--pdf-variant", type=click.Choice(["pdf/a-3a", "pdf/a-3u", "pdf/a-3b"]),
              help="Archival PDF/A-3 with the form's data and manifest attached as JSON.")
@click.option("--base-url", "base_url", metavar="URL", callback=_base_url,
              help="Where OUT will be published (absolute http(s) URL): each FHIR DocumentReference gives "
                   "its PDF as URL/forms/rec-....pdf instead of holding it (base64, the default).")
@click.option("--embed-pdf", is_flag=True,
              help="Put each PDF inside its FHIR DocumentReference (base64): the default, kept for old "
                   "scripts.")
@click.option("--executor", "executor_url", metavar="dask://HOST:PORT",
              help="Run on a dask.distributed cluster instead of local processes (needs: pip install 'consent[dask]').")
@click.option("--replace", is_flag=True,
              help="OUT holds another export's forms: make this export's there anyway, the other's files "
                   "moved, whole, into OUT/replaced-<export>/ (nothing is deleted).")
@fillable_option
@esign_option
@large_print_option
@pack_option
def batch(treatment: str | None, sources: Sequence[str], mapping: str | None, clinic_file: str, out_dir: str,
          formats: str, jobs: int | None, date_text: str | None, language: str | None, pdf_variant: str | None,
          base_url: str | None, embed_pdf: bool, executor_url: str | None, replace: bool, fillable: bool,
          esign: str | None, large_print: bool, packs: Sequence[str]) -> None:
    """Make a form for every patient in EHR exports, with FHIR resources to load back into the record.

    Every form is of TREATMENT; without it, each record's form is of the treatment id in the CSV
    export's column "treatment" (or the column the mapping maps to treatment), so one export can mix
    treatments:

    \b
        name,dob,treatment
        Ana Ruiz,1970-01-01,knee-injection
        Bo Lind,1971-02-02,hair

    --large-print makes every form in large print; without it, a CSV column "large_print" (yes/no,
    true/false, 1/0; blank: no) asks for it record by record (any other value: that record goes to
    errors.csv).

    A record that cannot be used (a bad patient; a deceased patient or an animal; no treatment, an
    unknown one or one other than TREATMENT; a treatment the clinic file has no product or fees for)
    goes to errors.csv and the others go on; the exit status is 1 if any record failed. The records
    without a form, and the notes on forms made (a form in English because the patient's language has
    none, a DSTU2 or STU3 export), are listed at the end by record number, without patient data. A
    file with no FHIR Patient in it stops the batch before anything is written. Running the same
    command again skips the forms already complete. OUT belongs to one export (the --from files):
    another export into it is refused unless --replace, and so is a second batch while one is writing
    to it. SOURCE_DATE_EPOCH (seconds) pins the DocumentReferences' date, for reproducible output.
    """
    from ..batch.run import run_batch
    from ..ehr import read_records

    chosen = parse_formats(formats)
    if (fillable or esign) and pdf_variant:
        raise click.UsageError("--fillable or --esign and --pdf-variant cannot be used together: a PDF to fill "
                               "in or sign cannot be an archival PDF/A (make the archival copy of the signed "
                               "form separately)")
    if embed_pdf and base_url:
        raise click.UsageError("--embed-pdf and --base-url cannot be used together: each DocumentReference "
                               "holds its PDF (the default) or gives its URL under --base-url")
    made_at = _source_date_epoch()
    clinic = load_clinic(clinic_file)
    records = read_records(sources, mapping=mapping)  # each pass reads the files: memory stays flat
    total = sum(1 for _ in records)  # a first pass, for the progress bar; then the batch streams them
    executor = _executor(executor_url) if executor_url else None
    report = _RecordReport()
    with _sigterm_as_interrupt(), _progress(total, report) as progress:
        result = run_batch(treatment, records, clinic=clinic, out_dir=out_dir, date=parse_date(date_text),
                           formats=chosen, language=language, packs=packs, pdf_variant=pdf_variant,
                           pdf_base_url=base_url, made_at=made_at, executor=executor, jobs=jobs,
                           progress=progress, total=total, fillable=fillable, esign=esign, replace=replace,
                           large_print=large_print)
    click.echo(f"{result.total} record(s): {result.written} form(s) written, {result.skipped} already complete, "
               f"{result.failed} failed, in {result.seconds:.1f} s")
    if result.replaced is not None:
        click.echo(f"The other export's files that were in {out_dir} are now in {result.replaced}")
    report.print(Path(out_dir))
    if result.failed:
        click.echo(f"Failed records are listed in {Path(out_dir) / 'errors.csv'}", err=True)
        raise click.exceptions.Exit(1)


def _source_date_epoch() -> dt.datetime | None:
    """The instant SOURCE_DATE_EPOCH names (seconds since 1970, UTC), to pin the moment written in the FHIR
    output (reproducible builds' convention); None when it is not set."""
    import os

    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or not value.strip():
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise InputError(f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 (got {value!r})"
                         ) from None


class _RecordReport:
    """What the screen says about single records after a batch: those that got no form (field and reason,
    as in errors.csv) and the notes on forms made in this run (a form in English, an older FHIR version).
    Each line names the record by number and source file only: never a name or other patient data (the
    messages are the library's, which quote none)."""

    SHOWN = 20  # lines of each kind; the rest are counted, and are in errors.csv / manifest.jsonl

    def __init__(self) -> None:
        self.refused: list[tuple[int, str, str]] = []
        self.noted: list[tuple[int, str, str]] = []

    def add(self, outcome: Any) -> None:
        where = f"record {outcome.number}" + (f" ({outcome.source})" if outcome.source else "")
        if outcome.entry is None:
            for field, message in outcome.problems or (("", "no form was made"),):
                self.refused.append((outcome.number, where, f"{field}: {message}" if field else message))
        elif not outcome.skipped:
            for note in outcome.entry.get("notes") or ():
                self.noted.append((outcome.number, where, str(note)))

    def print(self, out: Path) -> None:
        for lines, title, listed in (
                (self.refused, "No form for {n} record(s)", None),
                (self.noted, "Notes on {n} form(s)", out / "manifest.jsonl")):
            if not lines:
                continue
            records = len({number for number, _, _ in lines})
            click.echo(f"{title.format(n=records)}" + (f" (also in {listed}):" if listed else ":"), err=True)
            for _, where, text in sorted(lines)[:self.SHOWN]:
                click.echo(f"  {where}: {text}", err=True)
            if len(lines) > self.SHOWN:
                click.echo(f"  ... and {len(lines) - self.SHOWN} more", err=True)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a service manager) stops a batch like Ctrl-C: the forms in progress finish, the
    manifest stays whole, and the same command finishes the rest."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _executor(url: str) -> Any:
    if not url.startswith("dask://"):
        raise InputError(f"--executor must look like dask://HOST:PORT (got {url!r})")
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--executor dask://... needs dask: pip install 'consent[dask]'") from None
    return Client("tcp://" + url.removeprefix("dask://"), timeout="10s").get_executor()


class _progress:
    """A progress bar (count, rate, time left) on a terminal; plain lines otherwise. Each outcome also
    goes to ``report``, for the lines printed after the batch."""

    def __init__(self, total: int, report: _RecordReport | None = None) -> None:
        self.total = total
        self.report = report
        self.started = 0.0
        self.bar: Any = None
        self.step = max(1, total // 20)

    def __enter__(self) -> _progress:
        import time

        self.started = time.perf_counter()
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("forms"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]:.1f}/s"), TimeRemainingColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("forms", total=self.total, rate=0.0)
        return self

    def __call__(self, done: int, total: int | None, outcome: Any) -> None:
        import time

        if self.report is not None:
            self.report.add(outcome)
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        rate = done / elapsed
        if self.bar is not None:
            self.bar.update(self.task, completed=done, rate=rate)
        elif done % self.step == 0 or done == self.total:
            left = (self.total - done) / rate if rate else 0
            click.echo(f"{done}/{self.total} forms, {rate:.1f}/s, about {left:.0f} s left", err=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
