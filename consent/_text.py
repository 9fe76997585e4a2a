"""Sandboxed Jinja for clinic-editable text, and locale formatting of dates and money (Babel)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ._limits import MAX_TEMPLATE_CHARS

_WS = re.compile(r"\s+")


_WIDE = re.compile(r"\d{4,}")  # a field width or precision of 1,000 or more in a format string


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, also bounded in size: a clinic template cannot make a string of a
    gigabyte (``'a' * 10**9``, ``'%999999999d' % 1``, ``'x'|center(10**9)``) or a number of a million
    digits, and a range over the sandbox's limit is a template error rather than a crash."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if sized and len(seq) * n > MAX_TEMPLATE_CHARS:
                    raise SecurityError(f"a repeated value would be {len(seq) * n:,} long; the limit is "
                                        f"{MAX_TEMPLATE_CHARS:,} (MAX_TEMPLATE_CHARS)")
        if operator == "**" and isinstance(right, int) and abs(right) > 1_000:
            raise SecurityError(f"an exponent of {right:,} is over the limit of 1,000")
        if operator == "%" and isinstance(left, str):
            _check_format(left)
        try:
            return super().call_binop(context, operator, left, right)
        except OverflowError as exc:
            raise SecurityError(str(exc)) from None

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().call(__context, __obj, *args, **kwargs)
        except OverflowError as exc:  # range() over the sandbox's MAX_RANGE
            raise SecurityError(str(exc)) from None

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_format(value.__self__)
        return wrapped

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("center", "indent", "wordwrap", "truncate", "format"):
            self.filters[name] = _bounded(name, self.filters[name])


def _bounded(name: str, func: Any) -> Any:
    """A filter that refuses a width over MAX_TEMPLATE_CHARS (and, for format, a wide format string)."""

    @functools.wraps(func)  # keeps Jinja's pass_environment / pass_eval_context marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, int) and a > MAX_TEMPLATE_CHARS for a in (*args, *kwargs.values())):
            raise SecurityError(f"the {name} filter's width is over the limit of {MAX_TEMPLATE_CHARS:,}")
        if name == "format" and args and isinstance(args[0], str):
            _check_format(args[0])
        return func(*args, **kwargs)

    return bounded


def _check_format(template: str) -> None:
    if _WIDE.search(template):
        raise SecurityError("a field width or precision of 1,000 or more in a format string")


@functools.lru_cache(maxsize=1)
def text_env() -> ImmutableSandboxedEnvironment:
    """Environment for clause text: plain-text output, errors on any undefined name."""
    return Sandbox(undefined=StrictUndefined, autoescape=False)


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> Template:
    return text_env().from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    """Render one clause string and fold its whitespace (YAML line breaks, Jinja blocks) to single spaces.

    Raises jinja2.TemplateError (including UndefinedError); the caller adds file and line. Most clause
    strings hold no Jinja at all (no "{"): Jinja would print them as they are, so they are not rendered.
    """
    if "{" not in source:
        return _plain(source)
    return _WS.sub(" ", _compile(source).render(context)).strip()


@functools.lru_cache(maxsize=4096)
def _plain(source: str) -> str:
    return _WS.sub(" ", source).strip()


def money(amount: Decimal, currency: str, locale: str) -> str:
    return str(format_currency(amount, currency, locale=locale))


def long_date(value: dt.date, locale: str) -> str:
    return str(format_date(value, format="long", locale=locale))


def number(value: int, locale: str) -> str:
    return str(format_decimal(value, locale=locale))


__all__ = ["Sandbox", "TemplateError", "long_date", "money", "number", "render_text", "text_env"]
