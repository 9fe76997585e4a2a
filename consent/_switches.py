"""The words that turn an environment switch off (``CONSENT_CACHE_DIR``, ``CONSENT_PDF_PROCESS``).

A module of its own, with no imports, so that the command line can read a switch before it has
imported anything else (see consent/_launch.py)."""

OFF = ("off", "none", "0", "false", "no")


def is_off(value: str | None) -> bool:
    """Whether an environment variable's value turns its feature off (case and spaces do not count)."""
    return value is not None and value.strip().lower() in OFF
