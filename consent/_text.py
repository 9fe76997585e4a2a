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
from jinja2.sandbox import ImmutableSandboxedEnvironment

_WS = re.compile(r"\s+")


@functools.lru_cache(maxsize=1)
def text_env() -> ImmutableSandboxedEnvironment:
    """Environment for clause text: plain-text output, errors on any undefined name."""
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> Template:
    return text_env().from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    """Render one clause string and fold its whitespace (YAML line breaks, Jinja blocks) to single spaces.

    Raises jinja2.TemplateError (including UndefinedError); the caller adds file and line.
    """
    return _WS.sub(" ", _compile(source).render(context)).strip()


def money(amount: Decimal, currency: str, locale: str) -> str:
    return str(format_currency(amount, currency, locale=locale))


def long_date(value: dt.date, locale: str) -> str:
    return str(format_date(value, format="long", locale=locale))


def number(value: int, locale: str) -> str:
    return str(format_decimal(value, locale=locale))


__all__ = ["TemplateError", "long_date", "money", "number", "render_text", "text_env"]
