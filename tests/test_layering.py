"""Dependencies point one way down the pipeline: no two modules of ``consent`` import each other."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "consent"

# ``Form.to_pdf()`` and ``Form.to_docx()`` are the public shortcuts of the document model: they import
# their renderer inside the method, at call time (and ``Form.write()`` the writer). Those are the only upward
# edges, and they are named here. Imports under ``if TYPE_CHECKING:`` are for type hints and do not count.
ALLOWED_UPWARD = {
    ("consent.document", "consent._pdf"),
    ("consent.document", "consent._render_docx"),
    ("consent.document", "consent._output"),  # Form.write()
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every consent module ``path`` imports, at the top or inside a function."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hints = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in hints:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("consent"):
                if node.module:  # "from . import _csv" imports the submodule, not the package
                    out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("consent"))
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SOURCE.rglob("*.py")}
    return {name: {t for t in _imports(path) if t in files and t != name} for name, path in files.items()}


def test_no_two_modules_import_each_other() -> None:
    """A pair of modules that import each other is a design asking for a module above both (issue 11)."""
    graph = _graph()
    assert "consent._build" in graph and "consent._pdf" in graph  # the test reads the real package
    pairs = [
        (a, b)
        for a, b in itertools.combinations(sorted(graph), 2)
        if b in graph[a] and a in graph[b] and (a, b) not in ALLOWED_UPWARD and (b, a) not in ALLOWED_UPWARD
    ]
    # A package importing its own submodules (consent.check -> consent.check._form) is not a cycle.
    pairs = [(a, b) for a, b in pairs if not b.startswith(a + ".") and not a.startswith(b + ".")]
    assert pairs == []


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("consent._assemble", "consent.check"),
        ("consent._assemble", "consent._build"),
        ("consent._render_pdf", "consent._pdf_layers"),
        ("consent._render_pdf", "consent._pdf"),
        ("consent._pdf_layers", "consent._pdf"),
        ("consent._acroform", "consent._pdf_stamp"),
        ("consent._pdf_stamp", "consent._pdf"),
        ("consent._pdf_stamp", "consent._signed"),
        ("consent._signatures", "consent._signed"),
        ("consent._signed", "consent._seal"),
        ("consent._seal", "consent.cli"),
        ("consent._form_data", "consent._render_pdf"),
        ("consent._form_data", "consent._rerender"),
        ("consent._render_pdf", "consent._rerender"),
        ("consent._signed", "consent._record"),
        ("consent.ehr._fhir_out", "consent._record"),
    ],
)
def test_lower_stage_does_not_import_the_stage_above(lower: str, upper: str) -> None:
    """Assembly never calls the check; the PDF renderer never calls the shared-layout path; the content
    stamp knows nothing of the return path (verify, seal) that reads it; the form data (embedded by the
    renderers) knows nothing of rerender or the renderers, nor the EHR output of record."""
    imported = _graph()[lower]
    assert not any(t == upper or t.startswith(upper + ".") for t in imported)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of any length: each strongly connected set of two or more modules (Tarjan's
    algorithm, iterative), the allowed upward edges and a package's imports of its own submodules left out."""
    edges = {a: sorted(b for b in targets if (a, b) not in ALLOWED_UPWARD and not b.startswith(a + "."))
             for a, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_of_any_length() -> None:
    """No circle of imports, however long (a -> b -> c -> a), not only pairs; the only upward edges are
    the document model's shortcuts named in ALLOWED_UPWARD."""
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_long_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_module_imports_the_version_from_the_package_front() -> None:
    """``consent._version`` holds the version; ``from . import __version__`` would run the package front
    (its lazy table) from inside a stage below it."""
    offenders = [
        str(path.relative_to(SOURCE.parent))
        for path in SOURCE.rglob("*.py")
        if path.name != "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module is None and node.level
        and any(alias.name == "__version__" for alias in node.names)
    ]
    assert offenders == []
