"""Patient-specific strings as tokens, so work shared by many forms is done once.

Every form of a batch differs only in a few things: the patient's name, birth date and MRN, the form
id, and the patient's screening answers. :func:`tokenise` replaces the strings (in one pass, longest
first) with fixed tokens, puts a token where a form without an MRN prints a dash, and clears the
screening answers, so that all those forms have one tokenised twin; the renderers render the twin
once and put each form's own strings and ticks back into the finished output.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from ..document import Checklist, Form, unanswered_section
from .disk_cache import disk_cache

TOKENS = {
    "name": "QxCONSENTxNAMExQ",
    "birth": "QxCONSENTxBIRTHxQ",
    "mrn": "QxCONSENTxMRNxQ",
    "id": "QxCONSENTxFORMIDxQ",
}
TOKEN_MARK = "QxCONSENTx"
NO_MRN = "—"  # what a form prints for a patient without an MRN


T = TypeVar("T")


class Busy(Exception):
    """Another process of the batch is making the shared work this form needs (see :class:`SharedWork`)."""


class SharedWork(Generic[T]):
    """What a renderer made once for a tokenised form, kept for the next forms with the same key
    (least recently used first out: a batch has a few groups, one process may see many).

    Without one, and with a disk cache (consent/speedups/disk_cache.py, the ``consent`` command), the work is
    kept there for the next run; ``scope`` names what it depends on besides the form.

    With a folder (:func:`share_with`: the workers of a batch), the work is also kept on disk for the
    other processes: the first to need it makes it and the others read it. While one process is making
    it, another that needs it raises :class:`Busy` (``defer``: the batch puts the form back in its
    queue and the worker takes another form, rather than sit idle or make the same work twice), or
    waits for it (``defer`` False: a form put back once, so that no form can go round for ever).
    """

    folder: ClassVar[Path | None] = None
    defer: ClassVar[bool] = False  # set by the batch worker for each form (consent/batch/worker.py)

    def __init__(self, name: str, make: Callable[..., T], size: int,
                 encode: Callable[[T], bytes], decode: Callable[[bytes], T],
                 scope: Callable[..., bytes] | None = None) -> None:
        self.name, self.make, self.size, self.encode, self.decode = name, make, size, encode, decode
        self.scope = scope  # scope(*args): what the work depends on besides the key (consent/speedups/disk_cache.py)
        self.done: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str, *args: Any, private: bool = False) -> T:
        """The work for ``key`` (a hex digest), made with ``make(*args)`` the first time (see the class
        for :class:`Busy`). ``private``: work that may hold patient data, kept in this process only
        (never written to the batch's folder or the disk cache)."""
        if key in self.done:
            self.done.move_to_end(key)
            return self.done[key]
        if private:
            value = self.make(*args)
        elif self.folder:
            value = self._shared(key, args)
        elif (cache := disk_cache()) is not None and self.scope is not None:
            named = hashlib.sha256(self.scope(*args) + key.encode()).hexdigest()
            value = cache.get(self.name, named, lambda: self.make(*args), self.encode, self.decode)
        else:
            value = self.make(*args)
        self.done[key] = value
        while len(self.done) > self.size:
            self.done.popitem(last=False)
        return value

    def _shared(self, key: str, args: tuple[Any, ...]) -> T:
        import fcntl

        assert self.folder is not None
        path = self.folder / f"{self.name}-{key}"
        with open(f"{path}.lock", "a") as lock:  # released by the system if the process dies
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is making it
                if self.defer:
                    raise Busy(self.name) from None
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if path.exists():
                    return self.decode(path.read_bytes())
                value = self.make(*args)
                part = Path(f"{path}.part")
                part.write_bytes(self.encode(value))
                os.replace(part, path)
                return value
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def share_with(folder: str | Path | None) -> None:
    """Keep shared work in ``folder`` too, for the other processes of a batch (None: this process only).
    Only where files can be locked (not on Windows)."""
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows
        folder = None
    SharedWork.folder = Path(folder) if folder is not None else None


def patient_values(form: Form) -> dict[str, str]:
    """The strings that differ between the forms of one batch, by token name, as the form prints them."""
    h = form.header
    return {"name": h.patient_name, "birth": h.birth_date, "mrn": h.mrn or NO_MRN, "id": form.form_id}


def box_alts(form: Form) -> tuple[str | None, ...]:
    """What a screen reader says of each screening box (its /Alt), in :func:`box_marks`' order, as
    form.html's ``aria-label`` has it: "Yes: marked", "No: not marked"; None for an unanswered question."""
    ticked, empty = form.labels["box_ticked"], form.labels["box_empty"]
    return tuple(
        None if row.answer is None else f"{column}: {ticked if row.answer is value else empty}"
        for section in form.sections
        for block in section.blocks
        if isinstance(block, Checklist)
        for row in block.rows
        for column, value in ((block.yes, True), (block.no, False))
    )


def box_marks(form: Form) -> tuple[bool, ...]:
    """Whether each screening box of the form is ticked, in document order: for every question of every
    checklist, its "yes" box then its "no" box."""
    return tuple(
        mark
        for section in form.sections
        for block in section.blocks
        if isinstance(block, Checklist)
        for row in block.rows
        for mark in (row.answer is True, row.answer is False)
    )


def _as_json(form: Form) -> str:
    return json.dumps(attrs.asdict(form), default=str, sort_keys=True)


def replace_values(value: Any, pattern: re.Pattern[str], to_token: dict[str, str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(lambda m: to_token[m.group(0)], value)
    if isinstance(value, tuple):
        return tuple(replace_values(v, pattern, to_token) for v in value)
    if isinstance(value, dict):
        return {k: replace_values(v, pattern, to_token) for k, v in value.items()}
    if attrs.has(type(value)):
        changes = {
            f.name: replace_values(getattr(value, f.name), pattern, to_token)
            for f in attrs.fields(type(value))
            if f.init
        }
        return attrs.evolve(value, **changes)
    return value


_LAST: list[Any] = [None, None]  # (form, result): the PDF and the DOCX of one form tokenise it once


def tokenise(form: Form) -> tuple[Form, str] | None:
    """The form with its patient strings replaced by tokens and its screening answers cleared, and a
    key naming its content.

    None when a token already occurs in the real text: then nothing may be substituted.
    """
    if _LAST[0] is form:
        return _LAST[1]  # type: ignore[no-any-return]
    result = _tokenise(form)
    _LAST[:] = [form, result]
    return result


def _tokenise(form: Form) -> tuple[Form, str] | None:
    if TOKEN_MARK in _as_json(form):
        return None
    values = patient_values(form)
    if not form.header.mrn:
        del values["mrn"]  # printed as a dash, which is also ordinary text: only the header gets the token
    to_token = {values[k]: TOKENS[k] for k in sorted(values, key=lambda k: -len(values[k]))}
    pattern = re.compile("|".join(re.escape(v) for v in to_token))
    token_form = replace_values(form, pattern, to_token)
    token_form = attrs.evolve(
        token_form,
        header=attrs.evolve(token_form.header, mrn=TOKENS["mrn"]),
        sections=tuple(unanswered_section(s) for s in token_form.sections),
        labels=dict(token_form.labels),
    )
    return token_form, hashlib.sha256(_as_json(token_form).encode()).hexdigest()
