"""The ``consent`` command: a thin shell over the library. Each command parses, calls one function, prints.

Errors the user can fix (ConsentError) print ``Error: ...`` on stderr and exit 1; usage mistakes exit 2.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import ConsentError, InputError
from ..inputs.loaders import load_clinic, load_patient, load_screening
from ..library import loader as library
from .batch import batch
from .options import esign_option, fillable_option, large_print_option, pack_option, parse_date, parse_formats
from .signed import archive, record, rerender, seal, verify

def _library_for(packs: Sequence[str]) -> library.Library:
    lib = library.get_library(packs)
    lib.raise_problems()
    return lib


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

    chosen = parse_formats(formats)
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
            treatment, patient=loaded["patient"], clinic=loaded["clinic"], date=parse_date(date_text),
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


def _refuse_fillable_pdf_a(fillable: bool, esign: str | None, pdf_variant: str | None) -> None:
    """As ``consent batch`` refuses it, before any work: a PDF to fill in or sign cannot be a PDF/A."""
    if (fillable or esign) and pdf_variant:
        raise click.UsageError("--fillable or --esign and --pdf-variant cannot be used together: a PDF to fill "
                               "in or sign cannot be an archival PDF/A (make the archival copy of the signed "
                               "form separately: consent archive SIGNED.pdf --out DIR)")


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


for _command in (batch, rerender, record, verify, seal, archive):
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
