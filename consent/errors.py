"""Errors raised by consent.

Every error the library raises on purpose is a :class:`ConsentError`. The CLI turns one into
``Error: ...`` on stderr and exit code 1; a library caller catches ``ConsentError``.

    ConsentError                      base; carries a list of Problem lines
    ├── InputError (ValueError)       patient, clinic or screening data is missing or malformed
    ├── ContentError (ValueError)     a clause, treatment, label or template file is invalid
    ├── UnknownNameError (LookupError)  an unknown treatment, clause or language was asked for
    ├── RenderError (RuntimeError)    a renderer failed (missing font, broken template)
    ├── CheckFailed                   render refused because the compliance check has errors
    ├── NotAConsentForm (ValueError)  verify/seal: not a PDF, encrypted, or not made by consent (a scan)
    └── SealError                     seal: the certificate cannot be used, or the form may not be sealed

Validation collects every problem first and raises once, so a clinic fixes its file in one pass.
Messages never contain patient data beyond what the caller passed in the field being reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs


@attrs.frozen
class Problem:
    """One thing wrong: where (``path``/``line``/``field``), what was expected, what was found."""

    message: str
    path: str | None = None
    line: int | None = None
    field: str | None = None
    record: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        # Name the field the problem is at, unless the message already starts with it.
        what = f"{self.field}: " if self.field and not self.message.startswith(self.field) else ""
        tail = f" [{self.record}]" if self.record else ""
        return f"{where}{what}{self.message}{tail}"


class ConsentError(Exception):
    """Base error. ``problems`` lists every problem found; ``str()`` shows them all."""

    def __init__(
        self,
        message: str | None = None,
        *,
        problems: Iterable[Problem] = (),
        hint: str | None = None,
    ) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.hint = hint
        if message is None:
            if len(self.problems) == 1:
                message = str(self.problems[0])
            else:
                message = f"{len(self.problems)} problems found"
        self.summary = message
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [self.summary]
        if len(self.problems) > 1 or (self.problems and str(self.problems[0]) != self.summary):
            lines += [f"  - {p}" for p in self.problems]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)


class InputError(ConsentError, ValueError):
    """Patient, clinic, fee or screening input is missing or malformed."""


class ContentError(ConsentError, ValueError):
    """A clause, treatment, label or template file is invalid."""


class UnknownNameError(ConsentError, LookupError):
    """A treatment, clause or language that does not exist was asked for."""

    @classmethod
    def for_name(cls, kind: str, name: str, known: Sequence[str]) -> UnknownNameError:
        return cls(
            f"unknown {kind} {name!r}",
            hint=f"known {kind}s: {', '.join(sorted(known)) or '(none)'}",
        )


class RenderError(ConsentError, RuntimeError):
    """A renderer could not produce its output."""


class CheckFailed(ConsentError):
    """The form's compliance check found errors and rendering was not allowed to go on."""


class NotAConsentForm(ConsentError, ValueError):
    """A file given to verify or seal is not a PDF, is encrypted, or was not made by consent (a scan)."""


class SealError(ConsentError):
    """A form cannot be sealed: the certificate cannot be used, or the form is altered or not ours."""
