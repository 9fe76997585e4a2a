"""Every in-process cache of the package, and :func:`clear_caches`, which empties them all.

A cache here is anything a module keeps so that the next form is made faster: the ``functools.lru_cache``
functions and methods (found by looking, in every loaded module of the package: a new one is cleared
without being listed), the shared work of the renderers (:class:`~consent.speedups.tokens.SharedWork`,
found the same way), and the dicts and lists named in :data:`MEMOS`. Clearing them never changes what a
form looks like: the next form is made again from its files (the tests use it to start each test cold).
It does not touch the disk cache (``consent cache clear``), the batch's folder, a loaded WeasyPrint or the
process the command line forked first. Imports nothing of the package: it looks in ``sys.modules``, so a
module not yet imported has nothing to clear.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

MEMOS: dict[str, tuple[str, ...]] = {  # module -> the names of its memo dicts and lists
    "consent.speedups.disk_cache": ("_KNOWN",),  # digests of the code, templates and fonts
    "consent.speedups.tokens": ("_LAST",),  # the last form tokenised, and its twin
    "consent.speedups.layers": ("_TEXT_LINES",),  # the text slots' line counts, per group
    "consent.pdf.glyphs": ("_KNOWN",),  # the fonts' coverage, handed over by the command's own process
    "consent.pdf.html": ("_COMPILED",),  # the templates' compiled code
    "consent.docx.package": ("_DEFLATED",),  # the DOCX parts deflated, by content
}


def _modules() -> list[Any]:
    return [m for name, m in list(sys.modules.items()) if m is not None and (name == "consent" or name.startswith("consent."))]


def _empty(value: Any) -> None:
    if hasattr(value, "code") and isinstance(value.code, dict):  # the compiled templates (consent/pdf/html.py)
        value.code.clear()
    elif isinstance(value, list):
        value[:] = [None] * len(value)
    else:
        value.clear()


def clear_caches() -> None:
    """Empty every in-process cache of the package (see the module): the next form is made from scratch,
    with the same bytes."""
    for module in _modules():
        for value in list(vars(module).values()):
            for candidate in (value, *(vars(value).values() if isinstance(value, type) else ())):
                if isinstance(candidate, functools._lru_cache_wrapper):
                    candidate.cache_clear()
            if type(value).__name__ == "SharedWork":
                value.done.clear()
            elif isinstance(value, type) and value.__name__ == "SharedWork":
                value.folder, value.defer = None, False
        for name in MEMOS.get(module.__name__, ()):
            _empty(getattr(module, name))
