"""YAML reading that remembers where each value came from, so errors can name a file and line."""

from __future__ import annotations

from typing import Any

import attrs
import yaml


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
    """A key given twice in one mapping (YAML would silently keep the second)."""

    def __init__(self, key: str, mark: yaml.Mark) -> None:
        self.problem = f"duplicate key {key!r}"
        self.problem_mark = mark
        super().__init__(f"line {mark.line + 1}: {self.problem}")


def _walk(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise DuplicateKeyError(name, key.start_mark)
            seen.add(name)
            _walk(value, f"{path}.{name}" if path else name, lines)
            lines[f"{path}.{name}" if path else name] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, f"{path}[{i}]", lines)


def load_located(text: str) -> Located:
    """Parse one YAML document with the safe loader; duplicate keys are errors."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {})
        lines: dict[str, int] = {}
        _walk(node, "", lines)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return Located(data, lines)
