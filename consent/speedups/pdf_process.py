"""A form's PDF made in a second process, started before the form is built (``consent render``).

Most of a one-form ``consent render`` is waiting: importing WeasyPrint and loading the stylesheet,
fonts and templates (about 0.4 s), then importing the rest and building the form (about 0.3 s), then
laying out. :func:`start` forks a process that does the first while this one does the second. The
command line forks it first of all, before it has imported anything else (consent/__main__.py), so
that both processes import at once.

The process is then told the packs (:meth:`PdfProcess.begin`), and sent the form as soon as it is
assembled (:meth:`PdfProcess.send`): it lays the form out while this process checks it and makes the
DOCX. The checked form is then settled (:meth:`PdfProcess.settle`): the same form as a rule (a check
with nothing to record returns it unchanged), or a new one with the check's findings in its manifest,
which the process then makes instead. It sends the PDF back (the same code, so the same bytes).
Nothing is written by it: the files are written here, atomically, once both are made.

It is only an accelerator, used by consent/speedups/one_form.py. Where a fork is not safe (not Linux,
or another thread running) or ``CONSENT_PDF_PROCESS=off`` (or ``CONSENT_SPEEDUPS=off``), it is not started; and if it fails in any way (an error in the form, a
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
from typing import TYPE_CHECKING, Any

from .switches import all_off, is_off

if TYPE_CHECKING:
    from ..document import Form

TIMEOUT = 300.0
ENV = "CONSENT_PDF_PROCESS"  # a value in OFF ("off", "no", ...): make the PDF here (to compare, or to debug)
_log = logging.getLogger(__name__)
_EARLY: list[PdfProcess] = []  # the process the command line started first of all (start_early)


class PdfProcess:
    """The second process: :meth:`begin` with the packs, :meth:`send` it the assembled form,
    :meth:`settle` the checked form, then :meth:`pdf` waits for its PDF."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid, self.to_child, self.from_child = pid, to_child, from_child
        self.sent: tuple[Form, dict[str, Any]] | None = None

    def begin(self, packs: Sequence[str]) -> None:
        """Tell the process the packs (it loads their stylesheet, fonts and templates), the disk cache
        this process uses (it may have been forked before the command turned it on), and a head start:
        work on the packs that this process has time for while that one imports WeasyPrint (the
        templates compiled, the digests of the code and templates, the fonts' coverage)."""
        from pathlib import Path

        resolved = tuple(str(Path(p).resolve()) for p in packs)
        self._write((resolved, *_head_start(resolved)))

    def send(self, form: Form, **options: Any) -> None:
        """Hand over the assembled form and the options of :func:`consent.render_pdf`: it starts on the PDF."""
        self.sent = (form, options)
        self._write((form, options))

    def settle(self, form: Form) -> None:
        """The checked form: the PDF is made of this one (without a second layout when it is the form
        sent, as it is unless the check recorded something in its manifest)."""
        assert self.sent is not None, "send() a form first"
        if form is not self.sent[0]:
            self.sent = (form, self.sent[1])
            self._write(self.sent)
        else:
            self._write(None)

    def pdf(self) -> bytes:
        """The PDF of the form settled, made there, or here if it could not be."""
        assert self.sent is not None, "send() a form first"
        data = _read_framed(self.from_child, time.monotonic() + TIMEOUT) if self.from_child >= 0 else None
        if data is not None:
            return data
        self.close()
        form, options = self.sent
        from .render import render_pdf

        return render_pdf(form, **options)  # raises the error, if there is one, as it would without the process

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

    def _write(self, message: Any) -> None:
        if self.to_child < 0:
            return
        try:
            _write_all(self.to_child, _framed(pickle.dumps(message, pickle.HIGHEST_PROTOCOL)))
        except Exception:  # noqa: BLE001 - it has gone, or the form cannot be sent: pdf() makes the PDF here
            self.close()


@contextlib.contextmanager
def started(packs: Sequence[str], wanted: bool = True) -> Iterator[PdfProcess | None]:
    """The process started first of all by the command line (:func:`start_early`), or else :func:`start`,
    if ``wanted`` (a PDF is to be made), told the packs; and stopped on the way out."""
    helper = _EARLY.pop() if _EARLY else None
    if helper is None and wanted:
        helper = start()
    if helper is not None and not wanted:
        helper.close()
        helper = None
    if helper is not None:
        helper.begin(packs)
    try:
        yield helper
    finally:
        if helper is not None:
            helper.close()


def start_early() -> PdfProcess | None:
    """:func:`start`, for the next :func:`started` (``consent render`` forks before it imports the rest)."""
    helper = start()
    if helper is not None:
        _EARLY.append(helper)
    return helper


def stop_early() -> None:
    """Stop the process :func:`start_early` started if no command took it (a usage error, ``--help``)."""
    while _EARLY:
        _EARLY.pop().close()


def start() -> PdfProcess | None:
    """Fork the process that makes the PDF of the form sent to it; None where a fork is not safe."""
    if sys.platform != "linux" or threading.active_count() > 1 or is_off(os.environ.get(ENV)) or all_off():
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
        _serve(to_child_r, from_child_w)
        status = 0
    except BaseException:  # noqa: BLE001 - the parent makes the PDF itself, and reports any error
        pass
    finally:
        os._exit(status)


def _serve(job: int, reply: int) -> None:
    from ..pdf.html import resources, weasyprint_module

    weasyprint_module()
    import pikepdf  # noqa: F401 - the stamp's, loaded while the form is built

    packs, cache, templates, digests, coverage = _message(job)
    _take_head_start(cache, templates, digests, coverage)
    resources(packs)
    from .render import render_pdf

    form, options = _message(job)
    pdf = render_pdf(form, **options)
    settled = _message(job)
    if settled is not None:  # the check recorded something in the manifest: its form is another
        form, options = settled
        pdf = render_pdf(form, **options)
    _write_all(reply, _framed(pdf))


def _head_start(packs: tuple[str, ...]) -> tuple[Any, ...]:
    """What :meth:`PdfProcess.begin` hands over besides the packs (see :func:`_take_head_start`)."""
    from ..library.loader import template_folders
    from ..pdf.glyphs import font_coverage
    from ..pdf.html import compiled_templates
    from .disk_cache import digests, disk_cache

    cache = disk_cache()
    roots = template_folders(packs).template_roots
    return (cache.folder if cache else None, compiled_templates(packs), digests(packs) if cache else {},
            (roots, font_coverage(roots)))


def _take_head_start(cache: Any, templates: dict[str, bytes], digests: dict[tuple[Any, ...], bytes],
                     coverage: tuple[Any, frozenset[int]]) -> None:
    from ..pdf.glyphs import use_font_coverage
    from ..pdf.html import use_compiled_templates
    from .disk_cache import use_digests, use_disk_cache

    use_disk_cache(cache)
    use_compiled_templates(templates)
    use_digests(digests)
    use_font_coverage(*coverage)


def _message(fd: int) -> Any:
    """The next message from the parent; EOFError when it has closed the pipe (nothing to make)."""
    data = _read_framed(fd, None)
    if data is None:
        raise EOFError("the parent has closed the pipe")
    return pickle.loads(data)  # noqa: S301 - from the parent, through a pipe only it holds


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
