"""What several commands share: the options (--pack, --fillable, --large-print, --esign) and how a date and
a list of formats are read from the command line."""

from __future__ import annotations

import datetime as dt

import click

from ..errors import InputError

PACK_HELP = "A clinic pack folder (with clauses/ and/or templates/) searched before the built-in files. Repeatable."


def parse_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--date must be a date like 2026-11-21 (got {value!r})") from None


def parse_formats(value: str) -> tuple[str, ...]:
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
