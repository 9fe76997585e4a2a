"""Sandboxed Jinja for clinic-editable text, and locale formatting of dates and money (Babel)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import types
import weakref
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal
from jinja2 import BaseLoader, StrictUndefined, Template, TemplateError, TemplateNotFound
from jinja2.defaults import DEFAULT_NAMESPACE
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.runtime import BlockReference, LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import Cycler, Joiner

from ._jinja_data import PURE_VALUE_TYPES, READ_ONLY_CONTAINERS, View, view_name
from ._limits import MAX_TEMPLATE_CHARS
from .errors import ConsentError, RenderError

_WS = re.compile(r"\s+")
RECURSION = ("the template goes round without end (a macro that calls itself, or a template that includes or "
             "extends itself)")


_WIDE = re.compile(r"\d{4,}")  # a field width or precision of 1,000 or more in a format string


# What a template may call (besides its own macros and blocks, and Jinja's loop, cycler and joiner): the
# methods of plain values (str.upper, date.isoformat, mapping.get; the immutable sandbox already hides the
# methods of a dict or list made by the template that would change it), and Jinja's own globals.
_VALUE_METHOD_OWNERS = (*PURE_VALUE_TYPES, *READ_ONLY_CONTAINERS, dict, list, set)
_JINJA_RUNTIME = (Macro, BlockReference, LoopContext, Cycler, Joiner)
_JINJA_GLOBALS = (safe_range, *DEFAULT_NAMESPACE.values())
_METHOD_TYPES = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)
_ALLOWED_FUNCTIONS: weakref.WeakSet[Any] = weakref.WeakSet()  # str.format as the sandbox wraps it


def template_callable(obj: Any) -> bool:
    """Whether a template may call ``obj``: a pure formatter or Jinja's own machinery, never a method of
    an object that could write a file or change the form (see consent/_jinja_data.py)."""
    if isinstance(obj, (*_JINJA_RUNTIME, Undefined)) or any(obj is allowed for allowed in _JINJA_GLOBALS):
        return True  # calling an undefined value raises its own "is undefined" error
    if isinstance(obj, _METHOD_TYPES):
        owner = getattr(obj, "__self__", None)
        return isinstance(owner, _VALUE_METHOD_OWNERS + _JINJA_RUNTIME)
    try:
        return obj in _ALLOWED_FUNCTIONS
    except TypeError:  # not weakly referenceable: not one of ours
        return False


class TemplateUndefined(StrictUndefined):
    """Jinja's StrictUndefined (a misspelt name is an error, never a blank), naming a template's data as
    its author knows it: a record by what it is a view of (``'Form object' has no attribute 'x'``), a
    read-only mapping as a ``'dict object'``."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        ours = isinstance(obj, View | types.MappingProxyType)
        if ours and not self._undefined_hint and isinstance(name, str):
            kind = view_name(obj) if isinstance(obj, View) else "dict"
            return f"'{kind} object' has no attribute {name!r}"
        return str(super()._undefined_message)


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, also bounded in size: a clinic template cannot make a string of a
    gigabyte (``'a' * 10**9``, ``'%999999999d' % 1``, ``'x'|center(10**9)``) or a number of a million
    digits, and a range over the sandbox's limit is a template error rather than a crash. It calls only
    what :func:`template_callable` allows: templates are given data (consent/_jinja_data.py), and a
    method that writes or changes something is refused even if an object with one ever reaches them."""

    def is_safe_callable(self, obj: Any) -> bool:
        return super().is_safe_callable(obj) and template_callable(obj)

    def get_template(self, name: Any, parent: str | None = None, globals: Any = None) -> Template:
        """As Jinja's, but a template that includes, imports or extends itself is an error at once (it would
        go round until Python's recursion limit, each round slower than the last)."""
        if parent is not None and isinstance(name, str) and self.join_path(name, parent) == parent:
            raise TemplateRuntimeError(f"{parent} includes, imports or extends itself: it would go round "
                                       "without end")
        return super().get_template(name, parent, globals)

    def handle_exception(self, source: str | None = None) -> Any:
        """A template that went round without end (a macro calling itself, a template extending itself)
        stops with a TemplateRuntimeError at once: Jinja would first rewrite the traceback of every one of
        its thousand frames, which takes seconds."""
        if isinstance(sys.exc_info()[1], RecursionError):
            raise TemplateRuntimeError(RECURSION) from None
        return super().handle_exception(source)

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
        if not __self.is_safe_callable(__obj):  # named by its kind, never its repr (may hold patient data)
            raise SecurityError(f"a template may not call {_describe(__obj)}: templates are given data only, "
                                "and may call only the methods of text, numbers, dates and mappings")
        try:
            return super().call(__context, __obj, *args, **kwargs)
        except OverflowError as exc:  # range() over the sandbox's MAX_RANGE
            raise SecurityError(str(exc)) from None

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_format(value.__self__)
        _ALLOWED_FUNCTIONS.add(wrapped)
        return wrapped

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("center", "indent", "wordwrap", "truncate", "format"):
            self.filters[name] = _bounded(name, self.filters[name])


def _describe(obj: Any) -> str:
    """A callable named by its type and name: ``Form.write``, ``Document.save``."""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    owner = getattr(obj, "__self__", None)
    if isinstance(name, str) and owner is not None and not isinstance(owner, type | types.ModuleType):
        return f"{type(owner).__name__}.{name.rpartition('.')[2]}"
    return name if isinstance(name, str) else f"a {type(obj).__name__} object"


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


class NoFiles(BaseLoader):
    """For a template that stands alone (clause text, a Word template's parts): ``{% include %}``,
    ``{% import %}`` and ``{% extends %}`` name no file, and say so (a TemplateNotFound)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def get_source(self, environment: Any, template: str) -> Any:
        raise TemplateNotFound(template, f"{template!r}: {self.what} cannot include, import or extend a file")


@functools.lru_cache(maxsize=1)
def text_env() -> ImmutableSandboxedEnvironment:
    """Environment for clause text: plain-text output, errors on any undefined name."""
    return Sandbox(undefined=TemplateUndefined, autoescape=False, loader=NoFiles("clause text"))


def template_failure(exc: Exception) -> str:
    """What stopped a template, for an error message: Jinja's own message; that it went round without end
    (a macro calling itself, a template extending or including itself); or the Python error one of its
    expressions raised (``{{ 1/0 }}``: "ZeroDivisionError: division by zero")."""
    if isinstance(exc, TemplateError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return RECURSION
    return f"{type(exc).__name__}: {exc}"


_T = TypeVar("_T")


def run_template(render: Callable[[], _T], name: str) -> _T:
    """``render()`` (a render of the template file ``name``: form.html, overlay.html, form.docx); whatever
    stops it, a Jinja error or a Python error one of its expressions raised, is a RenderError naming the
    file, never a traceback. A ConsentError raised under it is raised as it is."""
    try:
        return render()
    except ConsentError:
        raise
    except Exception as exc:  # anything a clinic's template can make Python raise
        raise RenderError(f"{name}: {template_failure(exc)}") from None


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> Template:
    return text_env().from_string(source)


def render_text(source: str, context: Mapping[str, Any]) -> str:
    """Render one clause string and fold its whitespace (YAML line breaks, Jinja blocks) to single spaces.

    Raises jinja2.TemplateError (including UndefinedError), also for a Python error one of its expressions
    raised (``{{ 1/0 }}``) or a macro that calls itself without end; the caller adds file and line. Most
    clause strings hold no Jinja at all (no "{"): Jinja would print them as they are, so they are not
    rendered.
    """
    if "{" not in source:
        return _plain(source)
    try:
        return _WS.sub(" ", _compile(source).render(context)).strip()
    except TemplateError:
        raise
    except Exception as exc:  # anything a clinic's clause can make Python raise
        raise TemplateRuntimeError(template_failure(exc)) from None


@functools.lru_cache(maxsize=4096)
def _plain(source: str) -> str:
    return _WS.sub(" ", source).strip()


def money(amount: Decimal, currency: str, locale: str) -> str:
    return str(format_currency(amount, currency, locale=locale))


def long_date(value: dt.date, locale: str) -> str:
    return str(format_date(value, format="long", locale=locale))


def month_year(value: dt.date, locale: str) -> str:
    """A month and year as ``locale`` writes them: "March 2025", "marzo de 2025"."""
    return str(format_skeleton("yMMMM", value, locale=locale))


def number(value: int, locale: str) -> str:
    return str(format_decimal(value, locale=locale))


__all__ = ["NoFiles", "Sandbox", "TemplateError", "TemplateUndefined", "long_date", "money", "number",
           "render_text", "run_template", "template_callable", "template_failure", "text_env"]
