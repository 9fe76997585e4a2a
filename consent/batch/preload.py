"""Imported by the fork server that starts a batch's worker processes (consent/batch/run.py): the code and
data every worker needs, loaded once and shared by the workers forked from it. Nothing that holds a
file or a font (WeasyPrint's fonts and stylesheet are loaded by each worker).

All of it lives as long as the workers, so it is frozen last (``gc.freeze``): the workers' cycle
collections never walk it, and its memory pages stay shared rather than copied into each worker."""

import datetime as dt
import gc

from .._text import long_date
from . import run, worker  # noqa: F401 - imported to be shared
from ..check import preload as preload_check
from ..library.loader import get_library
from ..pdf.html import weasyprint_module
from ..pdf import whole  # noqa: F401 - imported to be shared (the PDF renderer)
from ..speedups import layers, render, shared_docx  # noqa: F401 - imported to be shared (the fast path, the DOCX)

weasyprint_module()
preload_check(get_library())  # the syllable table, the claims check's rules, their patterns compiled
for language in get_library().languages:  # each language's dates and numbers (Babel's locale data)
    long_date(dt.date(2000, 1, 1), get_library().locale(language))

gc.freeze()
