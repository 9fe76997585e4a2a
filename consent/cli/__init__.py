"""The command line, ``consent ...`` (the entry point that starts it is consent/__main__.py).

``commands`` holds the commands and :func:`main`; ``signed`` the commands for a signed form that comes
back (``verify``, ``seal``, ``record``, ``rerender``, ``archive``); ``notice_layout`` the check that each
notice a state requires prints as the law asks, in a rendered PDF and DOCX (``consent check --layout``).
"""

from .commands import main

__all__ = ["main"]
