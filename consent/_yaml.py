"""YAML reading that remembers where each value came from, so errors can name a file and line."""

from __future__ import annotations

from typing import Any

import attrs
import yaml

from ._limits import MAX_NESTING, MAX_YAML_NODES, LimitExceeded, check_shape, nesting_error


@attrs.frozen
class Located:
    """Parsed YAML plus the line (1-based) of every key path, e.g. ``lines["body[2].p"] == 14``."""

    data: Any
    lines: dict[str, int]

    def line(self, path: str) -> int | None:
        """The line of ``path`` or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("", 1)


class DuplicateKeyError(yaml.YAMLError, ValueError):
    """A key given twice in one mapping (YAML would silently keep the second). ``first``: where it was
    given first; the message names both lines."""

    def __init__(self, key: str, mark: yaml.Mark, first: yaml.Mark | None = None) -> None:
        self.problem = f"duplicate key {key!r}"
        self.problem_mark = mark
        self.first_line = first.line + 1 if first is not None else None
        also = f" (first given on line {self.first_line})" if self.first_line is not None else ""
        super().__init__(f"line {mark.line + 1}: {self.problem}{also}")


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader, refusing a key given twice in one mapping (:class:`DuplicateKeyError`).
    A key a merge (``<<: *base``) brings in may be given again: that is what a merge is for."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Mark] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # an unhashable key: the constructor says so
                if first is not key_node.start_mark:
                    raise DuplicateKeyError(str(key), key_node.start_mark, first)
        return super().construct_mapping(node, deep=deep)


class LimitError(yaml.YAMLError, ValueError):
    """The file is over a limit of :mod:`consent._limits` (nesting depth, number of values)."""

    def __init__(self, message: str, mark: yaml.Mark | None = None) -> None:
        self.problem = message
        self.problem_mark = mark
        super().__init__(f"line {mark.line + 1}: {message}" if mark else message)


def _walk(root: yaml.Node, lines: dict[str, int]) -> None:
    """Record the line of every key path; refuse duplicate keys and files over the limits. Iterative, and
    each alias is walked again where it is used, so a "billion laughs" file stops at MAX_YAML_NODES."""
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", 0)]
    nodes = 0
    while stack:
        node, path, depth = stack.pop()
        nodes += 1
        if nodes > MAX_YAML_NODES:
            raise LimitError(f"more than {MAX_YAML_NODES:,} values (aliases counted each time they are "
                             f"used); the limit is {MAX_YAML_NODES:,}", node.start_mark)
        if depth > MAX_NESTING:
            raise LimitError(f"nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}",
                             node.start_mark)
        lines.setdefault(path, node.start_mark.line + 1)
        children: list[tuple[yaml.Node, str, int]] = []
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value)
                if name in seen:
                    raise DuplicateKeyError(name, key.start_mark)
                seen.add(name)
                child = f"{path}.{name}" if path else name
                lines[child] = key.start_mark.line + 1
                children.append((value, child, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        stack.extend(reversed(children))


# libyaml's parser (PyYAML's C binding, in the manylinux wheels) reads the library about 25 times faster
# than the pure-Python one, and gives the same nodes with the same line marks; the pure-Python loader
# remains for a PyYAML built without it.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_located(text: str) -> Located:
    """Parse one YAML document with the safe loader; duplicate keys are errors, and so are files deeper
    or larger than the limits in :mod:`consent._limits`."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {})
        lines: dict[str, int] = {}
        _walk(node, lines)
        data = loader.construct_document(node)
    except RecursionError:
        raise LimitError(f"nesting deeper than {MAX_NESTING} levels; the limit is {MAX_NESTING}") from None
    except ValueError as exc:
        if isinstance(exc, yaml.YAMLError):
            raise
        raise LimitError(f"a value cannot be read ({exc})") from None  # e.g. an integer of 5,000 digits
    finally:
        loader.dispose()
    return Located(data, lines)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` within the limits: raises yaml.YAMLError for bad YAML (a key given twice in one
    mapping is :class:`DuplicateKeyError`, naming both lines), LimitExceeded for nesting
    deeper than MAX_NESTING, more than MAX_YAML_NODES values or an over-long integer."""
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except RecursionError:
        raise nesting_error() from None
    except yaml.YAMLError:
        raise
    except ValueError as exc:
        raise LimitExceeded(f"a value cannot be read ({exc})") from None
    check_shape(data, max_nodes=MAX_YAML_NODES)
    return data
