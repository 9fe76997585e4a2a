"""The return path on the command line: `consent rerender`, `record`, `verify` and `seal`, for forms that
come back (filled in, signed) or must be made again. Registered on the `consent` group by
:mod:`consent.cli`, which owns the error boundary (``main``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..errors import InputError


@click.command()
@click.argument("form_file", metavar="FORM", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="pdf, docx or pdf,docx.")
@click.option("--pack", "packs", multiple=True, type=click.Path(file_okay=False),
              help="A clinic pack folder for the form's templates. The folders the form names are never loaded "
                   "unless given here (they are listed in the report). Repeatable.")
def rerender(form_file: str, out_dir: str, formats: str, packs: Sequence[str]) -> None:
    """Make FORM (a PDF or DOCX made by consent) again from the data embedded in it.

    With the same consent version the files are byte-identical to the originals (a signed form gives
    the form as it was made, unsigned); otherwise the clauses whose versions differ from the installed
    library are listed, and the form is still made from its own text.
    """
    from .._output import check_formats
    from ..signed.rerender import rerender as make_again

    path = Path(form_file)
    data = _read_bounded(path, "the form")
    result = make_again(data, packs=packs or None, formats=check_formats(formats.split(",")))
    for line in result.report():
        click.echo(line)
    for written in result.write(out_dir, input_path=path):
        click.echo(str(written))


@click.command()
@click.argument("signed_file", metavar="SIGNED.pdf", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--patient", "patient_ref", metavar="Patient/ID",
              help="The patient's reference in the EHR (default: the MRN printed on the form).")
@click.option("--pdf-url", metavar="URL",
              help="The absolute http(s) URL where the EHR finds the signed PDF (default: inside the Bundle).")
@click.option("--timezone", metavar="ZONE", help="IANA time zone of the time of signing (default: this computer's).")
def record(signed_file: str, out_dir: str, patient_ref: str | None, pdf_url: str | None,
           timezone: str | None) -> None:
    """Make the FHIR R4 transaction Bundle that records a signed form: its Consent made active, the
    signed PDF, who signed it (a Provenance), and the screening answers. Prints the path written.

    The form must be intact, every required field filled, and signed by the patient or by a representative
    for them; otherwise nothing is written. A form filled in from a pdf-form template is recorded under an
    identity of its own. A typed date more than a day from its signature's own time is a warning.
    """
    from ..signed.record import record_file_name, record_signed, write_record

    path = Path(signed_file)
    data = _read_bounded(path, "the signed form")
    bundle = record_signed(data, patient=patient_ref, pdf_url=pdf_url, timezone=timezone)
    click.echo(str(write_record(bundle, out_dir, record_file_name(path))))


VERIFY_EXIT = """Exit status: 0 intact and every required field filled; 3 intact but required fields
empty (INCOMPLETE); 1 altered, not a consent form, or a seal the --trust roots do not vouch for."""


@click.command(epilog=VERIFY_EXIT)
@click.argument("signed_pdf", type=click.Path(exists=True, dir_okay=False))
@click.option("--original", type=click.Path(exists=True, dir_okay=False),
              help="The form as consent made it: also compare the pages one by one.")
@click.option("--trust", "trust", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A CA certificate (PEM or DER) the clinic's seal must chain to; every signature's "
                   "trust is shown too. Repeatable.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts (same verdict and exit status).")
def verify(signed_pdf: str, original: str | None, trust: Sequence[str], fmt: str) -> None:
    """Check a filled-in, signed consent form: is it the form consent made, unchanged, and complete?

    Prints the verdict (INTACT, INCOMPLETE, ALTERED, UNTRUSTED or NOT A CONSENT FORM), then the form's
    fields and signatures. Nothing is fetched from the network.
    """
    import json

    from ..errors import NotAConsentForm
    from ..signed.read import describe, read_signed
    from ..signed.signatures import load_trust_roots

    roots = load_trust_roots(trust) if trust else None
    try:
        made = _read(original, "the original") if original else None
        signed = read_signed(_read(signed_pdf, "the signed form"), original=made, trust_roots=roots)
    except NotAConsentForm as exc:
        if fmt == "json":
            verdict = {"verdict": "NOT A CONSENT FORM", "reasons": [exc.summary], "exit_code": 1}
            click.echo(json.dumps(verdict))
        else:
            click.echo(f"NOT A CONSENT FORM: {exc}")
        raise click.exceptions.Exit(1) from None
    if fmt == "json":
        click.echo(json.dumps(signed.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(describe(signed))
    raise click.exceptions.Exit(signed.verdict.exit_code)


@click.command()
@click.argument("signed_pdf", type=click.Path(exists=True, dir_okay=False))
@click.option("--cert", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The clinic's key and certificate, as PKCS#12 (.p12 or .pfx).")
@click.option("--password-env", metavar="VAR",
              help="Environment variable holding the .p12 password (default: asked for on a terminal).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Where to write the sealed form (default: SIGNED_PDF with -sealed before .pdf).")
@click.option("--in-place", is_flag=True, help="Replace SIGNED_PDF with the sealed form.")
@click.option("--tsa", metavar="URL", help="A timestamp authority (RFC 3161) for a trusted signing time: "
                                           "contacted over the network (PAdES B-T). Default: none (B-B).")
def seal(signed_pdf: str, cert: str, password_env: str | None, out_file: str | None, in_place: bool,
         tsa: str | None) -> None:
    """Seal a filled-in, signed consent form with the clinic's certificate (a PAdES signature).

    Any later change to the file is then reported by `consent verify`. The form must be one consent made,
    with its pages unchanged. Prints the path written.
    """
    import os

    from .._output import atomic_write
    from ..signed.seal import seal as seal_pdf

    source = Path(signed_pdf)
    default = source.with_name(f"{source.stem}-sealed.pdf")
    target = source if in_place else Path(out_file) if out_file else default
    if target.resolve() == source.resolve() and not in_place:
        raise InputError(f"{target} is the form itself; give --in-place to replace it")
    if password_env:
        if password_env not in os.environ:
            raise InputError(f"the environment variable {password_env} is not set")
        password: str | None = os.environ[password_env]
    elif sys.stdin.isatty():
        password = click.prompt("Password of the .p12", hide_input=True, default="", show_default=False)
    else:
        password = None
    sealed = seal_pdf(_read(signed_pdf, "the signed form"), cert, password or None, tsa_url=tsa)
    try:
        atomic_write(target, sealed)
    except OSError as exc:
        reason = exc.strerror or exc
        raise InputError(f"{target}: cannot be written ({reason}); nothing was written") from None
    click.echo(str(target))


@click.command()
@click.argument("signed_pdf", metavar="SIGNED.pdf", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write SIGNED.archive.pdf into.")
@click.option("--pdf-variant", "variant", type=click.Choice(["pdf/a-3u", "pdf/a-3b"]), default="pdf/a-3u",
              show_default=True, help="The PDF/A-3 conformance level of the copy.")
@click.option("--trust", "trust", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A CA certificate (PEM or DER) the clinic's seal must chain to, as for `consent verify`: "
                   "the copy shows each signature's trust. Repeatable.")
@click.option("--pack", "packs", multiple=True, type=click.Path(file_okay=False),
              help="A clinic pack folder for the form's templates, as for `consent rerender`. Repeatable.")
def archive(signed_pdf: str, out_dir: str, variant: str, trust: Sequence[str], packs: Sequence[str]) -> None:
    """Make the archival copy of a filled-in, signed consent form: a PDF/A-3 whose pages show the form
    as it was filled in and signed, with SIGNED.pdf attached byte for byte (so its signatures can still
    be verified). Prints the verification result, then the path written (OUT/SIGNED.archive.pdf).

    A form that is not a consent form, or is ALTERED, is refused and nothing is written. An INCOMPLETE
    form (or one whose seal the --trust roots do not vouch for) is archived, and the copy says so.
    """
    from .._output import write_files
    from ..signed.archive import archive_file_name, make_archive
    from ..signed.signatures import load_trust_roots

    source = Path(signed_pdf)
    roots = load_trust_roots(trust) if trust else None
    made = make_archive(_read(signed_pdf, "the signed form"), variant=variant, trust_roots=roots,
                        packs=packs or None, original_name=source.name)
    click.echo(str(made.signed.verdict))
    if made.substituted:
        click.echo(f"Warning: shown as \"?\" in the copy (the fonts cannot draw some of their characters): "
                   f"{', '.join(made.substituted)}", err=True)
    for written in write_files(Path(out_dir), {archive_file_name(source): made.pdf}):
        click.echo(str(written))


def _read(path: str, what: str) -> bytes:
    return _read_bounded(Path(path), what)


def _read_bounded(path: Path, what: str) -> bytes:
    """A form read back: at most MAX_FORM_FILE_BYTES, read before anything is parsed (``/dev/zero`` stops
    there)."""
    from .._limits import MAX_FORM_FILE_BYTES, read_bounded

    try:
        return read_bounded(path, MAX_FORM_FILE_BYTES, what)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
