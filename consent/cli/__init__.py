"""The command line, ``consent ...`` (the entry point that starts it is consent/__main__.py).

``commands`` holds the commands and :func:`main`; ``batch`` the batch command (its progress and report);
``options`` what several commands share (--pack, --fillable, --large-print, --esign, dates, formats);
``signed`` the commands for a signed form that comes back (``verify``, ``seal``, ``record``,
``rerender``, ``archive``); ``notice_layout`` the check that each
notice a state requires prints as the law asks, in a rendered PDF and DOCX (``consent check --layout``).
"""

from .commands import main

__all__ = ["main"]
