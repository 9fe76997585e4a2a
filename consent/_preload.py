"""Imported by the fork server that starts a batch's worker processes (consent/_batch.py): the code and
data every worker needs, loaded once and shared by the workers forked from it. Nothing that holds a
file or a font (WeasyPrint's fonts and stylesheet are loaded by each worker)."""

from . import _batch, _batch_worker, _pdf, _render_docx  # noqa: F401 - imported to be shared
from ._library import get_library
from ._render_pdf import _weasyprint
from .check import _english

_weasyprint()
_english.syllable_table()
get_library()
