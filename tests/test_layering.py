"""Dependencies point one way down the pipeline: the stages (subpackages and the base modules) in one
order, no import cycle of any length, no private name taken across a subpackage's wall (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "consent"

# No upward edge is allowed: the document model's shortcuts (``Form.to_pdf()``, ``to_docx()``, ``write()``)
# call the package front (``consent.render_pdf`` ...), which imports nothing when it loads (its names are
# looked up by string when first used). Imports under ``if TYPE_CHECKING:`` are for type hints and do not count.
ALLOWED_UPWARD: set[tuple[str, str]] = set()

# The stages, lowest first: a subpackage (its modules and __init__) or a module of the base (a module of the
# top folder). A stage imports only stages before it, and itself. The package front (consent/__init__.py)
# is above them all; only the document model's shortcuts name it (test_the_front_is_named_only_by_...).
STAGES = (
    "errors", "_limits", "_version", "_yaml", "_pdf_bounds", "_jinja_data", "_text", "_scripts", "_esign", "document",
    "content", "approved_products", "inputs", "ehr", "library", "assemble", "check", "_build", "_form_data", "pdf", "docx",
    "_output", "speedups", "template", "signed", "batch", "cli", "__main__",
)


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
    assert "consent._build" in graph and "consent.speedups.render" in graph  # the test reads the real package
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
        ("consent.assemble.assembly", "consent.check"),
        ("consent.assemble.assembly", "consent._build"),
        ("consent.pdf.html", "consent.speedups.layers"),
        ("consent.pdf.html", "consent.speedups.render"),
        ("consent.speedups.layers", "consent.speedups.render"),
        ("consent.pdf.acroform", "consent.pdf.stamp"),
        ("consent.pdf.stamp", "consent.speedups.render"),
        ("consent.pdf.stamp", "consent.signed.read"),
        ("consent.signed.signatures", "consent.signed.read"),
        ("consent.signed.read", "consent.signed.seal"),
        ("consent.signed.seal", "consent.cli"),
        ("consent._form_data", "consent.pdf.html"),
        ("consent._form_data", "consent.signed.rerender"),
        ("consent.pdf.html", "consent.signed.rerender"),
        ("consent.signed.read", "consent.signed.record"),
        ("consent.ehr._fhir_out", "consent.signed.record"),
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


def _stage(module: str) -> str:
    """The stage of a module: its subpackage, or the module itself in the top folder ("" for the front)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_belongs_to_a_named_stage() -> None:
    stages = {_stage(m) for m in _graph()} - {""}
    assert sorted(stages - set(STAGES)) == []  # a new subpackage or base module: give it its place
    assert sorted(set(STAGES) - stages) == []


def test_stages_import_only_the_stages_before_them() -> None:
    """The subpackages and base modules, in STAGES order: every import points down (or stays inside a
    stage). "consent.pdf imports consent.speedups" would be a speed-up hook inside a stage."""
    order = {stage: i for i, stage in enumerate(STAGES)}
    upward = sorted(
        f"{a} -> {b}"
        for a, targets in _graph().items()
        for b in targets
        if _stage(a) and _stage(b) and order[_stage(b)] > order[_stage(a)]
    )
    assert upward == []


def test_the_stage_order_test_can_fail() -> None:
    """The check above, on a made-up import: pdf (a stage) importing speedups (above it)."""
    order = {stage: i for i, stage in enumerate(STAGES)}
    assert order[_stage("consent.speedups.layers")] > order[_stage("consent.pdf.html")]
    assert order[_stage("consent.pdf.html")] > order[_stage("consent._form_data")]


def test_the_front_is_named_only_by_the_document_models_shortcuts() -> None:
    """``import consent`` inside the package is the document model's shortcuts (Form.to_pdf ...) calling
    the front's lazy names; no other module goes through the front, and the front imports only the version
    when it loads."""
    users = sorted(a for a, targets in _graph().items() if "consent" in targets and a != "consent")
    assert users == ["consent.document"]
    assert _graph()["consent"] == {"consent._version"}


def _private_imports() -> list[str]:
    """Every import of an underscore name (a function, class, constant or module) from another stage's
    module: ``from ..pdf.html import _context`` or ``from ..check._report import merge``. The base modules
    of the top folder (``_limits``, ``_text`` ...) are the package's shared base, imported by name."""
    found = []
    for path in SOURCE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")
                target = ".".join([*base[: len(base) - node.level + 1], *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith("consent") or _stage(target) == _stage(name):
                continue
            inner = target.split(".")[2:]  # the modules inside the target's subpackage
            names = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"
                     and not (target == "consent" and (SOURCE / f"{a.name}.py").exists())]
            if any(part.startswith("_") for part in inner) or names:
                found.append(f"{name}: from {target} import {', '.join(a.name for a in node.names)}")
    return sorted(found)


def test_no_private_name_is_imported_across_a_subpackage_wall() -> None:
    """What one stage uses of another has a public name (no underscore), in a public module: a subpackage
    with private modules (check, ehr) offers it from its __init__."""
    assert _private_imports() == []


def test_the_public_names_agree() -> None:
    """One list of public names: the front's ``__all__``, its lazy table and the public API that
    ARCHITECTURE.md lists (each name once, in backticks)."""
    import re

    import consent

    assert sorted(consent.__all__) == consent.__all__
    assert set(consent.__all__) == (set(consent._LAZY) - {"check", "ehr"}) | {"__version__"}
    for name in consent.__all__:
        assert getattr(consent, name) is not None
    text = (SOURCE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    api = text[text.index("## The public API"):]
    api = api[: api.find("\n## ", 3) if "\n## " in api[3:] else len(api)]
    documented = set(re.findall(r"`consent\.([A-Za-z_]+)`", api))
    assert sorted(documented ^ (set(consent.__all__) | {"check", "ehr"})) == []


def _map_bullets() -> dict[str, str]:
    """ARCHITECTURE.md's bullets, by what each opens with: ``pdf/``, ``_limits.py``, ``__main__.py``."""
    text = (SOURCE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    bullets = {}
    for chunk in text.split("\n- `")[1:]:
        head, _, rest = chunk.partition("`")
        bullets[head] = rest.split("\n\n")[0]
    return bullets


def test_every_module_is_named_in_the_map() -> None:
    """ARCHITECTURE.md has a bullet for every subpackage and every module of the top folder, and a
    subpackage's bullet names each of its modules."""
    bullets = _map_bullets()
    missing = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        if relative.name == "__init__.py" and len(relative.parts) == 1:
            continue  # the front, drawn above the stages
        if len(relative.parts) == 1:
            if relative.name not in bullets:
                missing.append(str(relative))
        elif f"{relative.parts[0]}/" not in bullets:
            missing.append(f"{relative.parts[0]}/")
        elif relative.name != "__init__.py" and f"`{relative.name}`" not in bullets[f"{relative.parts[0]}/"]:
            missing.append(str(relative))
    assert sorted(set(missing)) == []


def test_the_map_test_can_fail() -> None:
    bullets = _map_bullets()
    assert "pdf/" in bullets and "`whole.py`" in bullets["pdf/"] and "`nothing.py`" not in bullets["pdf/"]
