"""Imported by the fork server that starts a batch's worker processes (consent/_batch.py): the code and
data every worker needs, loaded once and shared by the workers forked from it. Nothing that holds a
file or a font (WeasyPrint's fonts and stylesheet are loaded by each worker).

All of it lives as long as the workers, so it is frozen last (``gc.freeze``): the workers' cycle
collections never walk it, and its memory pages stay shared rather than copied into each worker."""

import datetime as dt
import gc

from . import _batch, _batch_worker, _pdf, _render_docx  # noqa: F401 - imported to be shared
from ._library import get_library
from ._render_pdf import _weasyprint
from ._text import long_date
from .check import _english
from .check._settings import settings_for

_weasyprint()
_english.syllable_table()
settings_for(get_library())  # the claims check's rules, their patterns compiled
for language in get_library().languages:  # each language's dates and numbers (Babel's locale data)
    long_date(dt.date(2000, 1, 1), get_library().locale(language))

gc.freeze()
