"""A form's PDF made in a second process, started before the form is built (``consent render``).

Most of a one-form ``consent render`` is waiting: importing WeasyPrint and pikepdf and loading the
stylesheet and fonts (about 0.4 s), then building and checking the form (about 0.3 s), then laying
out. :func:`start` forks a process that does the first while this one does the second; the form is
then sent to it, it makes the PDF (the same code, so the same bytes) while this process makes the DOCX,
and it sends the PDF back. Nothing is written by it: the files are written here, atomically, once
both are made.

It is only an accelerator. Where a fork is not safe (not Linux, or another thread running) or
``CONSENT_PDF_PROCESS=off``, it is not started; and if it fails in any way (an error in the form, a
crash, no answer in :data:`TIMEOUT` seconds) the PDF is made again here, so that an error is raised
as it would be without it, with its own message.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ._disk_cache import OFF
from .document import Form

TIMEOUT = 300.0
ENV = "CONSENT_PDF_PROCESS"  # a value in OFF ("off", "no", ...): make the PDF here (to compare, or to debug)
_log = logging.getLogger(__name__)


class PdfProcess:
    """The second process: :meth:`send` it a form, then :meth:`pdf` waits for its PDF."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid, self.to_child, self.from_child = pid, to_child, from_child
        self.sent: tuple[Form, dict[str, Any]] | None = None

    def send(self, form: Form, **options: Any) -> None:
        """Hand over the built (and checked) form and the options of ``form.to_pdf``."""
        self.sent = (form, options)
        try:
            _write_all(self.to_child, _framed(pickle.dumps((form, options), pickle.HIGHEST_PROTOCOL)))
        except Exception:  # noqa: BLE001 - it has gone, or the form cannot be sent: pdf() makes the PDF here
            self.close()

    def pdf(self) -> bytes:
        """The PDF of the form sent, made there, or here if it could not be."""
        assert self.sent is not None, "send() a form first"
        data = _read_framed(self.from_child, time.monotonic() + TIMEOUT) if self.from_child >= 0 else None
        if data is not None:
            return data
        self.close()
        form, options = self.sent
        return form.to_pdf(**options)  # raises the error, if there is one, as it would without the process

    def close(self) -> None:
        """Stop the process (if it still runs) and wait for it; safe to call more than once."""
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.to_child = self.from_child = -1
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0


@contextlib.contextmanager
def started(packs: Sequence[str], wanted: bool = True) -> Iterator[PdfProcess | None]:
    """:func:`start` (if ``wanted``: a PDF is to be made), and the process stopped on the way out."""
    helper = start(packs) if wanted else None
    try:
        yield helper
    finally:
        if helper is not None:
            helper.close()


def start(packs: Sequence[str]) -> PdfProcess | None:
    """Fork the process that makes the PDF of the form sent to it; None where a fork is not safe."""
    turned_off = os.environ.get(ENV, "").strip().lower() in OFF
    if sys.platform != "linux" or threading.active_count() > 1 or turned_off:
        return None
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    try:  # room for the whole form, so that sending it never waits for the child's imports
        import fcntl

        fcntl.fcntl(to_child_w, 1031, 1 << 20)  # F_SETPIPE_SZ
    except OSError:
        pass
    pid = os.fork()
    if pid:
        os.close(to_child_r)
        os.close(from_child_w)
        return PdfProcess(pid, to_child_w, from_child_r)
    # The child: never returns, never writes a file or to the terminal.
    status = 1
    try:
        os.close(to_child_w)
        os.close(from_child_r)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _serve(tuple(packs), to_child_r, from_child_w)
        status = 0
    except BaseException:  # noqa: BLE001 - the parent makes the PDF itself, and reports any error
        pass
    finally:
        os._exit(status)


def _serve(packs: tuple[str, ...], job: int, reply: int) -> None:
    from pathlib import Path

    from ._render_pdf import _resources, _weasyprint

    _weasyprint()
    import pikepdf  # noqa: F401 - the stamp's, loaded while the form is built

    _resources(tuple(str(Path(p).resolve()) for p in packs))
    data = _read_framed(job, None)
    if data is None:
        return
    form, options = pickle.loads(data)  # noqa: S301 - from the parent, through a pipe only it holds
    _write_all(reply, _framed(form.to_pdf(**options)))


def _framed(data: bytes) -> bytes:
    return struct.pack(">Q", len(data)) + data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_framed(fd: int, deadline: float | None) -> bytes | None:
    """One framed message, or None at the end of the pipe or past ``deadline``."""
    head = _read_exactly(fd, 8, deadline)
    if head is None:
        return None
    return _read_exactly(fd, struct.unpack(">Q", head)[0], deadline)


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                _log.warning("the PDF process did not answer in %.0f s; making the PDF here", TIMEOUT)
                return None
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except OSError:
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
