"""The import layers of the tree: which module may import which, and no import cycles.

The rules are data: the table under "## Layers" in docs/architecture.md (layer, modules, may
import) and the list of module patterns it says are checked. `check` walks every import of
the checked modules with `ast` (module level, inside functions and under TYPE_CHECKING: all
of them count) and returns what breaks the table. Run it to see the whole tree against the
table, checked or not:

    python -m tests.layering            # violations and cycles of the checked modules (exit 1 if any)
    python -m tests.layering --all      # the same for every module of the tree

A pattern `a.b` is that module; `a.b.*` is the package a.b and every module under it. A module
belongs to the layer of its most specific pattern (exact before `.*`, longer before shorter).
A module may import its own layer and the layers its row names (`*`: any); within the checked
modules no import cycle is allowed.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "agents", "sandboxes")
DOC = ROOT / "docs" / "architecture.md"
SECTION = "## Layers"
CHECKED_PREFIX = "Checked by `tests/test_layers.py`:"
ANY = "*"


class TableError(ValueError):
    """The layer table could not be read."""


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]  # patterns: `a.b` one module, `a.b.*` a package and everything under it
    may_import: frozenset[str]  # names of other layers, or ANY


def _specificity(pattern: str, module: str) -> tuple[int, int] | None:
    """How closely a pattern names a module (higher wins), None when it does not match."""
    if pattern == module:
        return (1, len(pattern))
    if pattern.endswith(".*"):
        base = pattern[:-2]
        if module == base or module.startswith(base + "."):
            return (0, len(base))
    return None


@dataclass(frozen=True)
class LayerTable:
    layers: tuple[Layer, ...]
    checked: tuple[str, ...]  # module patterns held to the table

    def layer_of(self, module: str) -> Layer | None:
        best: tuple[tuple[int, int], Layer] | None = None
        for layer in self.layers:
            for pattern in layer.modules:
                score = _specificity(pattern, module)
                if score is not None and (best is None or score > best[0]):
                    best = (score, layer)
        return None if best is None else best[1]

    def is_checked(self, module: str) -> bool:
        return any(_specificity(pattern, module) is not None for pattern in self.checked)

    def allows(self, importer: Layer, imported: Layer) -> bool:
        return importer == imported or ANY in importer.may_import or imported.name in importer.may_import


# ---------------------------------------------------------------- the table in the docs


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def parse_table(markdown: str) -> LayerTable:
    """The layer table and the checked patterns from the "## Layers" section of a Markdown page."""
    lines = markdown.splitlines()
    try:
        start = lines.index(SECTION)
    except ValueError:
        raise TableError(f"no '{SECTION}' section") from None
    section = lines[start + 1:]
    end = next((i for i, line in enumerate(section) if line.startswith("## ")), len(section))
    section = section[:end]
    rows = [line for line in section if line.lstrip().startswith("|")]
    if len(rows) < 3 or [c.lower() for c in _cells(rows[0])] != ["layer", "modules", "may import"]:
        raise TableError("the Layers section needs a table with columns: layer | modules | may import")
    layers = []
    for row in rows[2:]:
        name, modules, may = _cells(row)
        patterns = _names(modules)
        if not name or not patterns:
            raise TableError(f"layer row without a name or module patterns: {row!r}")
        allowed = frozenset(part.strip() for part in may.split(",") if part.strip() not in ("", "—", "-"))
        layers.append(Layer(name, tuple(patterns), allowed))
    known = {layer.name for layer in layers} | {ANY}
    for layer in layers:
        if layer.may_import - known:
            raise TableError(f"layer {layer.name!r} may import unknown layers: {sorted(layer.may_import - known)}")
    checked = _names(_paragraph_after(section, CHECKED_PREFIX))
    if not checked:
        raise TableError(f"no line starting with {CHECKED_PREFIX!r} names what is checked")
    return LayerTable(tuple(layers), tuple(checked))


def _paragraph_after(lines: list[str], prefix: str) -> str:
    """The text of the paragraph that starts with `prefix` (its continuation lines too), without the prefix."""
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            end = next((j for j in range(i + 1, len(lines)) if not lines[j].strip()), len(lines))
            return " ".join([line[len(prefix):], *lines[i + 1:end]])
    return ""


def load_table(path: Path = DOC) -> LayerTable:
    return parse_table(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the import graph


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the packages under root."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The most specific module of the tree that `name` is or lies in (a.b.C -> a.b)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, path: Path, tree: ast.AST) -> Iterator[str]:
    """Every dotted name an import statement of the module reaches, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of the tree it imports (itself excluded)."""
    modules = module_files(root, packages)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        reached = {_known(name, modules) for name in _imported_names(module, path, tree)}
        # `from a.b import c` reaches a.b and, when it is a module, a.b.c: both are imported.
        graph[module] = {name for name in reached if name is not None and name != module}
    return graph


# ---------------------------------------------------------------- checking


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.cycles

    def render(self) -> str:
        lines = list(self.violations) + [f"import cycle: {' -> '.join(cycle + cycle[:1])}" for cycle in self.cycles]
        return "\n".join(lines) or "no violations, no cycles"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module (or one importing itself), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _one_cycle(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """A shortest cycle through the first member of a component (breadth first inside it)."""
    inside, start = set(members), members[0]
    parents: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            if start in graph[node]:
                path = [node]
                while parents[path[-1]] is not None:
                    path.append(parents[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for nxt in sorted(graph[node] & inside):
                if nxt not in parents:
                    parents[nxt] = node
                    following.append(nxt)
        frontier = following
    return members  # unreachable for a strongly connected component


def check(table: LayerTable, graph: dict[str, set[str]], every_module: bool = False) -> Report:
    """What the checked modules (every module with every_module) do against the table."""
    report = Report()
    checked = {m for m in graph if every_module or table.is_checked(m)}
    for module in sorted(checked):
        layer = table.layer_of(module)
        if layer is None:
            report.violations.append(f"{module} is in no layer of the table")
            continue
        for target in sorted(graph[module]):
            target_layer = table.layer_of(target)
            if target_layer is None:
                report.violations.append(f"{module} imports {target}, which is in no layer of the table")
            elif not table.allows(layer, target_layer):
                allowed = ", ".join(sorted(layer.may_import)) or "nothing below it"
                report.violations.append(f"{module} ({layer.name}) imports {target} ({target_layer.name}); "
                                         f"{layer.name} may import only its own layer and: {allowed}")
    inner = {m: graph[m] & checked for m in checked}
    report.cycles = [_one_cycle(inner, members) for members in _strongly_connected(inner)]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="check every module of the tree, not only the checked ones")
    args = parser.parse_args(argv)
    report = check(load_table(), import_graph(), every_module=args.all)
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
