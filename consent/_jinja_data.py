"""What templates are given: data, never live objects.

A clinic's ``form.html``, ``overlay.html``, ``form.docx`` and clause text run in Jinja's sandbox, which
stops attribute tricks (``__class__``, ``__globals__``) but lets a template call any public method of what
it is given. Given the Form, a pack's ``form.html`` could call ``form.write("/anywhere")``; given docxtpl's
Subdoc, a pack's ``form.docx`` could call ``body.subdocx.save("/any/file")``.

So every template context is made of data only (:func:`template_data`):

- text (``str``, and ``markupsafe.Markup`` for the DOCX body's XML), numbers, booleans, ``None``, dates;
- tuples and frozensets of data;
- read-only mappings of data (``types.MappingProxyType``);
- :class:`View`: a read-only record whose attributes are data (what an attrs object of the document model
  becomes), with no methods a template can reach.

The methods such values have compute a new value and change nothing (``str.upper``, ``date.isoformat``,
``mapping.get``). :data:`PURE_VALUE_TYPES` names them; ``consent._text.Sandbox`` refuses to call anything
else that a template did not define itself (defence in depth), and ``tests/test_template_context.py`` walks
every object reachable from each template's context and fails on any other.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
from markupsafe import Markup

# Values whose every method is a pure formatter or query: they return a new value and change nothing.
PURE_VALUE_TYPES: tuple[type, ...] = (str, int, float, bool, type(None), Decimal, dt.date, dt.time)
# Containers whose methods only read (MappingProxyType has get/keys/items/values/copy, no setter).
READ_ONLY_CONTAINERS: tuple[type, ...] = (tuple, frozenset, MappingProxyType)


class View:
    """A read-only record for a template: attributes, each of them data; no methods.

    Each attrs class of the document model (and of the PDF's layout) has a subclass of its own, named after
    it (``Form``, ``Paragraph``), with a slot per attribute: reading one is as fast as reading any object's.
    A name it does not have is an AttributeError (Jinja: undefined). Setting or deleting an attribute is an
    AttributeError: a template cannot change it."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a template's data cannot be changed ({name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a template's data cannot be changed ({name})")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and view_fields(self) == view_fields(other)  # type: ignore[arg-type]

    def __hash__(self) -> int:
        return hash((type(self).__name__, type(self).__slots__))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in view_fields(self).items()) + ")"


@functools.cache
def _view_class(name: str, names: tuple[str, ...]) -> type[View]:
    return type(name, (View,), {"__slots__": names, "__module__": __name__})


def make_view(name: str, fields: Mapping[str, Any]) -> View:
    """A :class:`View` named ``name`` with these attributes (their values as they are: give it data)."""
    view = object.__new__(_view_class(name, tuple(fields)))
    for key, value in fields.items():
        object.__setattr__(view, key, value)
    return view


def view_fields(view: View) -> dict[str, Any]:
    """The attributes of a View (for tests and tools)."""
    return {name: getattr(view, name) for name in type(view).__slots__}


def view_name(view: View) -> str:
    """What a View is a view of (the attrs class's name: ``Form``, ``Paragraph``)."""
    return type(view).__name__


@functools.cache
def _shape(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """For an attrs class: the attributes to read (its fields and public properties: computed values),
    the View's attributes (those, and ``kind`` for a block, whose kind is a ClassVar that attrs leaves out)
    and that kind."""
    names = [f.name for f in attrs.fields(cls)]
    names += [name for name in dir(cls)
              if not name.startswith("_") and isinstance(getattr(cls, name), property)]
    kind = getattr(cls, "kind", None)
    kind = kind if isinstance(kind, str) and "kind" not in names else None
    return tuple(names), (*names, "kind") if kind is not None else tuple(names), kind


def template_data(value: Any) -> Any:
    """``value`` as data a template may be given: attrs objects become :class:`View` records (their fields
    and properties, and their class's ``kind``, for a document block), mappings read-only mappings, lists
    and tuples tuples, sets frozensets; text, numbers, booleans, None and dates stay as they are. Anything
    else is a TypeError: a template is never given an object with methods."""
    if isinstance(value, (*PURE_VALUE_TYPES, View)):
        return value
    cls = type(value)
    if attrs.has(cls):
        names, slots, kind = _shape(cls)
        view = object.__new__(_view_class(cls.__name__, slots))
        for name in names:
            object.__setattr__(view, name, template_data(getattr(value, name)))
        if kind is not None:
            object.__setattr__(view, "kind", kind)
        return view
    if isinstance(value, Mapping):
        return MappingProxyType({key: template_data(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(template_data(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(template_data(item) for item in value)
    raise TypeError(f"a template may be given data only, not {type(value).__name__}")


def markup(text: str) -> Markup:
    """Text that is already escaped for its target (the DOCX body's XML): a ``str``, printed as it is."""
    return Markup(text)  # noqa: S704 - XML that python-docx wrote (escaped), not a template's input


__all__ = ["PURE_VALUE_TYPES", "READ_ONLY_CONTAINERS", "View", "make_view", "markup", "template_data",
           "view_fields", "view_name"]
