"""The package's import graph: no cycle between modules or packages, and imports only go downstream.

Every import statement counts (module level, inside functions, under TYPE_CHECKING), and so do the
names a package face loads lazily (its `_LAZY` table): a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from lesps_deploy._lazy import parse_table

ROOT = Path(__file__).resolve().parents[1] / "lesps_deploy"
PACKAGE = "lesps_deploy"

# Lowest first. A module may import its own layer and those below it, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "_lazy",
        "errors",
        "error_boundary",
        "io",
        "metadata",
        "progress",
        "timing",
        "urls",
        "formats",
        "threads",
        "options",
    ),
    ("data",),
    ("sources",),
    ("models",),
    ("metrics",),
    ("runtime",),
    ("tracking",),
    ("streams", "training"),
    ("export",),
    ("serving",),
    ("benchmark",),
    ("apis",),
    ("demo",),
    ("commands",),
    ("cli",),
)


# Top-level folders installed as subpackages (pyproject.toml, package-dir).
MAPPED = {"training": ROOT.parent / "training", "export": ROOT.parent / "export"}


def _module_name(path: Path, top: Path, prefix: tuple[str, ...] = ()) -> str:
    parts = [*prefix, *path.relative_to(top).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _modules() -> dict[str, ast.Module]:
    """Every module of the package, training/ and export/ under the names they install as."""
    tops = [(ROOT, ())] + [(folder, (name,)) for name, folder in MAPPED.items()]
    return {
        _module_name(Path(d, f), top, prefix): ast.parse(
            Path(d, f).read_text(encoding="utf-8"), str(Path(d, f))
        )
        for top, prefix in tops
        for d, _, names in os.walk(top)
        for f in names
        if f.endswith(".py")
    }


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - level + 1]
    return ".".join(base + ([name] if name else []))


def _imported(module: str, tree: ast.Module, is_package: bool, known: set[str]) -> set[str]:
    """Modules `module` imports: statements anywhere, plus its lazy table's modules.

    `from pkg import name` imports the module `pkg.name` when there is one, else `pkg` itself.
    """
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module) if node.level else node.module or ""
            for alias in node.names:
                out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_LAZY" for t in node.targets):
            for name in set(parse_table(node.value.value).values()):  # type: ignore[attr-defined]
                out.add(_absolute(module, is_package, 1, name[1:]) if name.startswith(".") else name)
    return out & known


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imported(name, tree, _is_package(name), known) - {name} for name, tree in modules.items()}


def _is_package(name: str) -> bool:
    rel = name.split(".")[1:]
    return (ROOT.joinpath(*rel) / "__init__.py").is_file() if rel else True


def _package_of(module: str) -> str:
    """`lesps_deploy.data.norm` -> `lesps_deploy.data`; top-level modules and the face stand alone."""
    return ".".join(module.split(".")[:2])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _layer(package: str) -> int:
    short = package.split(".")[1]
    return next(i for i, names in enumerate(LAYERS) if short in names)


def test_every_subpackage_has_a_layer():
    names = {_package_of(m).split(".")[1] for m in _graph() if m != PACKAGE}
    assert names <= {n for layer in LAYERS for n in layer}


def test_no_module_cycle():
    assert _find_cycle(_graph()) is None


def test_no_package_cycle():
    packages: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        if module == PACKAGE:
            continue  # the face may load anything; the cycle test of modules covers what imports it
        edges = packages.setdefault(_package_of(module), set())
        edges.update(_package_of(t) for t in targets if _package_of(t) != _package_of(module))
    assert _find_cycle(packages) is None


def test_imports_only_go_downstream():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if module != PACKAGE
        for target in targets
        if target == PACKAGE or _layer(_package_of(target)) > _layer(_package_of(module))
    )
    assert upward == []


@pytest.mark.parametrize("module", ["lesps_deploy.data.components", "lesps_deploy.data.padding"])
def test_image_primitives_sit_in_the_data_layer(module):
    graph = _graph()
    assert module in graph and all(_layer(_package_of(t)) == 0 for t in graph[module])


def test_the_top_level_holds_only_faces_and_the_bottom_layer():
    top = {p.stem for p in ROOT.glob("*.py")} - {"__init__", "cli"}
    assert top <= set(LAYERS[0])
