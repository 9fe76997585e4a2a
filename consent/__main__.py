"""The ``consent`` command's entry point, above :mod:`consent.cli`.

A one-form ``consent render`` spends most of its time starting up: this process imports the command
line, the assembly and the check, and the PDF needs WeasyPrint, its stylesheet, fonts and templates.
So the process that makes the PDF (consent/speedups/pdf_process.py) is forked here, first of all, before
anything else is imported: the two import at once, each only what it uses; and neither runs Python's
cycle collector (see :func:`main`). ``render`` takes it over (consent/speedups/one_form.py), or stops
it if no PDF is asked for; if no command takes it (a usage error, ``--help``), it is
stopped on the way out.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command (``argv``: the arguments, by default the process's); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["render"]:
        # One form, in a process that ends within seconds: Python's cycle collector would walk the
        # objects of every import and of the layout again and again (about 0.1 s in all) to free a few
        # megabytes. Reference counting still frees the rest; the PDF process inherits this.
        gc.disable()
    forked = _renders_a_pdf(args)
    if forked:
        from .speedups.pdf_process import start_early

        start_early()
    from .cli.commands import main as cli_main

    try:
        return cli_main(args)
    finally:
        if forked:
            from .speedups.pdf_process import stop_early

            stop_early()


def _renders_a_pdf(args: list[str]) -> bool:
    """Whether these arguments are a ``consent render`` that makes a PDF (read without click, which is not
    imported yet; a wrong guess only costs the time of a process started for nothing, or not at all)."""
    if args[:1] != ["render"] or any(a in ("-h", "--help") for a in args):
        return False
    formats = "pdf"  # the default: pdf,docx
    for i, arg in enumerate(args):
        if arg == "--format" and i + 1 < len(args):
            formats = args[i + 1]
        elif arg.startswith("--format="):
            formats = arg.partition("=")[2]
    return "pdf" in formats.split(",")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
