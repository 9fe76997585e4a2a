"""The ``consent`` command: a thin shell over the library. Each command parses, calls one function, prints.

Errors the user can fix (ConsentError) print ``Error: ...`` on stderr and exit 1; usage mistakes exit 2.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import ConsentError, InputError
from ..inputs.loaders import load_clinic, load_patient, load_screening
from ..library import loader as library
from .signed import archive, record, rerender, seal, verify

PACK_HELP = "A clinic pack folder (with clauses/ and/or templates/) searched before the built-in files. Repeatable."


def _library_for(packs: Sequence[str]) -> library.Library:
    lib = library.get_library(packs)
    lib.raise_problems()
    return lib


def _parse_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--date must be a date like 2026-11-21 (got {value!r})") from None


def _formats(value: str) -> tuple[str, ...]:
    from .._output import check_formats

    return check_formats(value.split(","))


pack_option = click.option("--pack", "packs", multiple=True, type=click.Path(file_okay=False), help=PACK_HELP)
fillable_option = click.option("--fillable", is_flag=True,
                               help="PDF with form fields to fill in and sign (see the README: Fillable and "
                                    "signable PDFs).")
large_print_option = click.option(
    "--large-print", is_flag=True,
    help="Large print: body text of at least 18 points, larger headings, wider line spacing, on letter paper "
         "(a state notice keeps a larger size the law gives it).")
esign_option = click.option("--esign", type=click.Choice(["docusign", "adobe"]),
                            help="Print that e-signature service's anchor tags, invisibly, at each signature, "
                                 "initials and date place of the PDF.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="consent")
def cli() -> None:
    """Make informed-consent forms (PDF and Word) for regenerative-medicine treatments.

    Start with `consent treatments` to see what forms are available, then
    `consent render` to make one for a patient.
    """
    from ..speedups.disk_cache import use_disk_cache

    use_disk_cache()  # the work shared by forms, kept between runs (CONSENT_CACHE_DIR; off turns it off)


@cli.command()
@pack_option
def treatments(packs: Sequence[str]) -> None:
    """List the treatments you can make a consent form for."""
    lib = _library_for(packs)
    for spec in sorted(lib.treatments.values(), key=lambda s: s.id):
        click.echo(f"{spec.id:<18} {spec.name}: {spec.description}")


@cli.command()
@pack_option
def clauses(packs: Sequence[str]) -> None:
    """List every clause (section of text) with its version and title."""
    lib = _library_for(packs)
    for spec in sorted(lib.clauses.values(), key=lambda s: s.id):
        origin = "" if spec.source == "built-in" else f"  [{spec.source}]"
        click.echo(f"{spec.id:<22} v{spec.version:<6} {spec.title}{origin}")


@cli.command()
@click.argument("treatment")
@click.option("--state", help="Two-letter state code of the clinic, to show the state notice it adds.")
@pack_option
def show(treatment: str, state: str | None, packs: Sequence[str]) -> None:
    """Show the sections of TREATMENT's form, in order."""
    lib = _library_for(packs)
    spec = lib.treatment(treatment)
    click.echo(f"{spec.name} ({spec.id}, version {spec.version})")
    ids = list(spec.clauses)
    if state:
        from ..assemble.selection import notice_rules

        notices = [r.clause.id for r in notice_rules(lib, state, ()) if not r.left_out]  # a clinic with no study
        ids = ids[:1] + notices + ids[1:]
    for n, cid in enumerate(ids, 1):
        clause = lib.clause(cid)
        when = "  [only when the clinic lists a study]" if clause.when == "study" else ""
        click.echo(f"{n:>3}. {clause.title}  ({clause.id} v{clause.version}){when}")


@cli.command()
@click.argument("treatment")
@click.option("--patient", "patient_file", required=True, type=click.Path(dir_okay=False),
              help="Patient file (YAML or JSON): full_name, birth_date, optional mrn and preferred_language.")
@click.option("--clinic", "clinic_file", required=True, type=click.Path(dir_okay=False),
              help="Clinic file (YAML or JSON): name, address, phone, state, provider, products, fees.")
@click.option("--date", "date_text", metavar="YYYY-MM-DD", help="Date printed on the form (default: today).")
@click.option("--screening", "screening_file", type=click.Path(dir_okay=False),
              help="Screening answers (YAML or JSON): question id -> true/false.")
@click.option("--language", help="Form language, e.g. en or es (default: the patient's preferred language).")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="pdf, docx or pdf,docx.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--allow-check-errors", is_flag=True,
              help="Render even if the compliance check finds errors; the errors are listed in the form's manifest.")
@click.option("--pdf-variant", type=click.Choice(["pdf/a-3a", "pdf/a-3u", "pdf/a-3b"]),
              help="Archival PDF/A-3 with the form's data and manifest attached as JSON (for a signed form's "
                   "archival copy, see `consent archive`).")
@fillable_option
@esign_option
@large_print_option
@pack_option
def render(
    treatment: str,
    patient_file: str,
    clinic_file: str,
    date_text: str | None,
    screening_file: str | None,
    language: str | None,
    formats: str,
    out_dir: str,
    allow_check_errors: bool,
    pdf_variant: str | None,
    fillable: bool,
    esign: str | None,
    large_print: bool,
    packs: Sequence[str],
) -> None:
    """Make the consent form for TREATMENT and print the paths of the files written.

    The form is checked first (consent elements, readability, forbidden claims); a form with check
    errors is not written unless --allow-check-errors is given.
    """
    from ..speedups.one_form import OneForm

    chosen = _formats(formats)
    _refuse_fillable_pdf_a(fillable, esign, pdf_variant)
    # The PDF is made in a second process (forked first of all), which imports while this one reads the
    # files, then lays the form out while this one checks it and makes the DOCX.
    with OneForm(packs, chosen) as one:
        errors: list[ConsentError] = []
        loaded: dict[str, Any] = {}
        files = (("patient", load_patient, patient_file), ("clinic", load_clinic, clinic_file))
        for key, loader, path in files:
            try:
                loaded[key] = loader(path)
            except ConsentError as exc:
                errors.append(exc)
        if errors:  # report the patient and the clinic file together
            raise InputError(problems=[p for e in errors for p in (e.problems or [_as_problem(e)])])
        screening = load_screening(screening_file) if screening_file else None
        form, paths = one.build_and_write(
            treatment, patient=loaded["patient"], clinic=loaded["clinic"], date=_parse_date(date_text),
            screening=screening, language=language, allow_check_errors=allow_check_errors, out_dir=out_dir,
            pdf_variant=pdf_variant, fillable=fillable, esign=esign, large_print=large_print,
        )
    for error in form.manifest.check_errors:
        click.echo(f"Warning: written despite a check error: {error}", err=True)
    for path in paths:
        click.echo(str(path))


@cli.command()
@click.argument("treatment")
@click.option("--clinic", "clinic_file", required=True, type=click.Path(dir_okay=False),
              help="Clinic file (YAML or JSON): name, address, phone, state, provider, products, fees.")
@click.option("--format", "fmt", required=True, type=click.Choice(["pdf-form", "docx-merge", "html"]),
              help="pdf-form: fillable PDF; docx-merge: Word with MERGEFIELDs; html: rich-text body.")
@click.option("--fields", "profile", default="generic", show_default=True,
              help="Field profile naming the merge fields: templates/fields/<name>.yaml, built in or in a pack.")
@click.option("--language", help="Form language, e.g. en or es (default: en).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@pack_option
def template(treatment: str, clinic_file: str, fmt: str, profile: str, language: str | None, out_dir: str,
             packs: Sequence[str]) -> None:
    """Make TREATMENT's form as a template for an EHR's form library and print the path written.

    The patient's name, birth date and MRN and the form date are merge fields named by the field
    profile (--fields); the form is checked as for `consent render`.
    """
    from .._output import write_bytes
    from ..template.export import export_template, template_file_name

    data = export_template(treatment, clinic=load_clinic(clinic_file), format=fmt, profile=profile,
                           language=language, packs=packs)
    click.echo(str(write_bytes(Path(out_dir), template_file_name(treatment, fmt, profile, language), data)))


def _base_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--base-url: an absolute http(s) URL, else a usage error (exit 2) before anything is read or written."""
    from ..ehr import base_url_problem

    if value is None:
        return None
    problem = base_url_problem(value, "--base-url")
    if problem is not None:
        raise click.BadParameter(problem.message, ctx=ctx, param=param)
    return value


@cli.command()
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

    chosen = _formats(formats)
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
        result = run_batch(treatment, records, clinic=clinic, out_dir=out_dir, date=_parse_date(date_text),
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


def _refuse_fillable_pdf_a(fillable: bool, esign: str | None, pdf_variant: str | None) -> None:
    """As ``consent batch`` refuses it, before any work: a PDF to fill in or sign cannot be a PDF/A."""
    if (fillable or esign) and pdf_variant:
        raise click.UsageError("--fillable or --esign and --pdf-variant cannot be used together: a PDF to fill "
                               "in or sign cannot be an archival PDF/A (make the archival copy of the signed "
                               "form separately: consent archive SIGNED.pdf --out DIR)")


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


@cli.command(name="check")
@click.argument("treatments", nargs=-1)
@pack_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.option("--figures", is_flag=True, help="Also print the readability figures of every clause and form.")
@click.option("--language", "languages", multiple=True, help="Check only these form languages (default: all).")
@click.option("--clinic", "clinic_file", type=click.Path(dir_okay=False),
              help="Check the forms as this clinic would make them (YAML or JSON): its fee schedules and its "
                   "text in every language checked, too. Default: a sample clinic.")
@click.option("--state", help="Check the forms as made for a clinic in this state (its notices and rules).")
def check_command(treatments: Sequence[str], packs: Sequence[str], fmt: str, figures: bool,
                  languages: Sequence[str], clinic_file: str | None, state: str | None) -> None:
    """Check the clause library and the forms of TREATMENTS (default: all).

    Reports missing consent elements, hard-to-read text, forbidden claims (such as "FDA approved" or
    "risk-free"), exculpatory wording, state notices that counsel must confirm, and state rules a form
    breaks (with --state); with --clinic, also what the clinic's file lacks for a form. Notices that
    must stand on their own page in large type (Utah) are rendered as a sample PDF and DOCX and read
    back. Exits 1 when there are errors; warnings never fail.
    """
    from ..check import check, merge
    from .notice_layout import notice_layout_report

    report = check(treatments or None, packs=packs, languages=languages or None, clinic=clinic_file, state=state)
    layout = notice_layout_report(treatments or None, packs=packs, languages=languages or None)
    report = merge([report, layout], report.rule_count)
    click.echo(report.to_json() if fmt == "json" else report.to_text(figures=figures))
    if not report.ok:
        raise click.exceptions.Exit(1)


@cli.command()
@click.option("--clear", is_flag=True, help="Remove every entry.")
def cache(clear: bool) -> None:
    """Show (or --clear) the folder where the work shared by forms is kept between runs.

    It holds each form's layout without the patient's name, birth date, MRN or answers, so that the
    next `consent render` need not lay it out again. CONSENT_CACHE_DIR names the folder (default:
    $XDG_CACHE_HOME/consent or ~/.cache/consent); CONSENT_CACHE_DIR=off turns the cache off.
    """
    from ..speedups.disk_cache import disk_cache

    kept = disk_cache()
    if kept is None:
        click.echo("The cache is off (CONSENT_CACHE_DIR=off).")
        return
    if clear:
        removed = kept.clear()
        click.echo(f"{kept.folder}: removed {removed} entr{'y' if removed == 1 else 'ies'}")
        return
    entries = kept.entries()
    size = sum(p.stat().st_size for p in entries) / 1e6
    click.echo(f"{kept.folder}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {size:.1f} MB")


def _as_problem(exc: ConsentError) -> Any:
    from ..errors import Problem

    return Problem(exc.summary)


for _command in (rerender, record, verify, seal, archive):
    cli.add_command(_command)


REPORT_HINT = ("Hint: this is a bug in consent, not in your files: please report it, with the command and "
               "this message (leave out any patient data)")


def internal_error(exc: BaseException) -> str:
    """The message for an error consent did not expect: ``Error: internal error: <type>: <message>``, and a
    hint to report it (an error the user can fix is a ConsentError, printed as ``Error: ...`` alone)."""
    message = str(exc).strip() or "(no message)"
    return f"Error: internal error: {type(exc).__name__}: {message}\n{REPORT_HINT}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Returns the exit code: 0 ok, 1 a ConsentError (or an error consent did not expect:
    ``Error: internal error: ...``, never a traceback), 2 a usage error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            result = cli.main(
                args=list(argv) if argv is not None else None, prog_name="consent", standalone_mode=False
            )
            code = result if isinstance(result, int) else 0
        except ConsentError as exc:
            click.echo(f"Error: {exc}", err=True)
            code = 1
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.Abort:
            click.echo("Aborted.", err=True)
            code = 1
        except Exception as exc:  # the one boundary: no traceback ever reaches the user
            click.echo(internal_error(exc), err=True)
            code = 1
    for w in caught:
        click.echo(f"Warning: {w.message}", err=True)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
