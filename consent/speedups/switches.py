"""The switches that turn speed-ups off, read from the environment.

``CONSENT_SPEEDUPS=off`` turns every speed-up off at once (the plain path: see consent/speedups/__init__.py);
``CONSENT_CACHE_DIR=off`` only the disk cache, ``CONSENT_PDF_PROCESS=off`` only the PDF process forked
first. A module of its own, importing nothing of this package, so that the command line can read a switch
before it has imported anything else (see consent/__main__.py)."""

import os

OFF = ("off", "none", "0", "false", "no")
ALL = "CONSENT_SPEEDUPS"


def is_off(value: str | None) -> bool:
    """Whether an environment variable's value turns its feature off (case and spaces do not count)."""
    return value is not None and value.strip().lower() in OFF


def all_off() -> bool:
    """Whether ``CONSENT_SPEEDUPS`` turns every speed-up off."""
    return is_off(os.environ.get(ALL))
