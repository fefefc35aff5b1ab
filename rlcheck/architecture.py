"""The floors of the package and the import graph between its modules, read from the source.

rlcheck is built in floors; a module may import modules on its own floor or below, never above:

====  ========  ==============================================================================
 0    core      models, exact oracles, samplers, estimators, statistics, ``CheckResult``,
                validation, paths (everything not listed on a higher floor)
 1    checks    :mod:`rlcheck.checks`: the public checks users call on their own code
 2    trust     :mod:`rlcheck.trust`: planted bugs, calibration, power, flakiness budget
 3    app       claims registry, ``verify``, report, benchmarks, command line, this module
====  ========  ==============================================================================

:func:`import_graph` parses every module under ``rlcheck/`` with :mod:`ast` (nothing is
imported or executed) and returns the edges ``importer -> imported`` between rlcheck modules,
including imports inside functions (a lazy import is still a dependency). ``docs/conf.py`` renders
the graph on the architecture page at every build; ``tests/test_architecture.py`` fails on an
import cycle or an upward import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
"""The ``rlcheck/`` source folder this module reads."""

FLOORS: tuple[str, ...] = ("core", "checks", "trust", "app")
"""Floor names from the bottom up."""

APP_MODULES = frozenset({"rlcheck.claims", "rlcheck.verify", "rlcheck.report", "rlcheck.bench",
                         "rlcheck.cli", "rlcheck.architecture", "rlcheck.pytest_plugin"})
"""Top-floor modules and packages (their submodules are on the same floor)."""


@dataclass(frozen=True)
class Edge:
    """``importer`` imports ``imported`` (both rlcheck module names) at source line ``line``."""

    importer: str
    imported: str
    line: int


def module_name(path: Path, package_dir: Path = PACKAGE_DIR) -> str:
    """``rlcheck/trust/bugs/pg.py -> rlcheck.trust.bugs.pg``; a package's ``__init__.py`` is the
    package itself."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the package by name (``__main__`` modules left out: nothing imports
    them)."""
    return {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))
            if p.name != "__main__.py" and "_build" not in p.parts}


def floor_of(name: str) -> int:
    """The floor index (into :data:`FLOORS`) of an rlcheck module."""
    def within(prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    if any(within(m) for m in APP_MODULES):
        return 3
    if within("rlcheck.trust"):
        return 2
    if within("rlcheck.checks"):
        return 1
    return 0


def _resolve(target: str, known: Iterable[str]) -> str | None:
    """The longest known module that ``target`` names or lies inside."""
    names = set(known)
    while target and target not in names:
        target = target.rpartition(".")[0]
    return target or None


def _imports_of(name: str, path: Path, known: Mapping[str, Path]) -> list[Edge]:
    """The rlcheck modules ``name`` imports, anywhere in its body."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    edges = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # ``from pkg import sub`` imports the submodule when there is one
            targets = [f"{module}.{alias.name}" for alias in node.names]
        for target in targets:
            if not target.startswith("rlcheck"):
                continue
            resolved = _resolve(target, known)
            if resolved is not None and resolved != name:
                edges.append(Edge(name, resolved, node.lineno))
    return edges


def import_graph(package_dir: Path = PACKAGE_DIR) -> list[Edge]:
    """Every import between rlcheck modules, sorted by importer, imported and line."""
    known = modules(package_dir)
    edges = [e for name, path in known.items() for e in _imports_of(name, path, known)]
    return sorted(set(edges), key=lambda e: (e.importer, e.imported, e.line))


def upward_imports(edges: Iterable[Edge]) -> list[Edge]:
    """The edges whose imported module sits on a higher floor than its importer."""
    return [e for e in edges if floor_of(e.imported) > floor_of(e.importer)]


def import_cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm): each
    is a set of modules that import each other, directly or through others."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.importer, set()).add(e.imported)
        graph.setdefault(e.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components)


def floor_table(edges: Iterable[Edge], package_dir: Path = PACKAGE_DIR) -> str:
    """A Markdown table: per floor, its modules and the modules each imports (by short name)."""
    edges = list(edges)
    imports: dict[str, set[str]] = {}
    for e in edges:
        imports.setdefault(e.importer, set()).add(e.imported)
    lines = ["| floor | module | imports (rlcheck modules) |", "|---|---|---|"]
    names = sorted(modules(package_dir), key=lambda n: (floor_of(n), n))
    for name in names:
        short = sorted(i.removeprefix("rlcheck.") for i in imports.get(name, ()))
        lines.append(f"| {floor_of(name)} {FLOORS[floor_of(name)]} | `{name}` | "
                     f"{', '.join(f'`{s}`' for s in short) or '-'} |")
    return "\n".join(lines)


def floor_summary(edges: Iterable[Edge]) -> dict[tuple[str, str], int]:
    """Number of import edges from each floor to each floor (``(from, to) -> count``)."""
    counts: dict[tuple[str, str], int] = {}
    for e in edges:
        key = (FLOORS[floor_of(e.importer)], FLOORS[floor_of(e.imported)])
        counts[key] = counts.get(key, 0) + 1
    return counts


def draw_floors(edges: Iterable[Edge], path: Path) -> Path:
    """Save a figure of the floors (bottom up) with the number of imports between them: an
    arrow from floor ``a`` to floor ``b`` labelled ``n`` means ``n`` import statements in ``a``'s
    modules name a module of ``b``; arrows within a floor are written beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = list(edges)
    counts = floor_summary(edges)
    per_floor = {f: sum(1 for m in modules() if FLOORS[floor_of(m)] == f) for f in FLOORS}
    fig, ax = plt.subplots(figsize=(7.0, 5.2))
    y = {f: 1.6 * i for i, f in enumerate(FLOORS)}
    for f in FLOORS:
        ax.add_patch(plt.Rectangle((0.0, y[f] - 0.4), 3.0, 0.8, facecolor="#e8eef7",
                                   edgecolor="#33507a", zorder=2))
        ax.text(1.5, y[f], f"{f}\n{per_floor[f]} modules", ha="center", va="center",
                fontsize=10, zorder=3)
        within = counts.get((f, f), 0)
        if within:
            ax.text(3.15, y[f], f"{within} imports within", va="center", fontsize=8)
    for (src, dst), n in sorted(counts.items()):
        if src == dst:
            continue
        offset = 0.35 * (FLOORS.index(src) - FLOORS.index(dst) - 1)
        x = 0.25 + offset
        colour = "#b22222" if FLOORS.index(dst) > FLOORS.index(src) else "#33507a"
        ax.annotate("", xy=(x, y[dst] + 0.4), xytext=(x, y[src] - 0.4),
                    arrowprops={"arrowstyle": "->", "color": colour}, zorder=1)
        ax.text(x + 0.04, y[src] - 0.6, str(n), fontsize=8, color=colour)
    ax.set_xlim(-0.2, 4.4)
    ax.set_ylim(-0.7, y[FLOORS[-1]] + 0.7)
    ax.axis("off")
    ax.set_title("rlcheck's floors and the imports between them (arrows point to the imported)",
                 fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def write_architecture_page_data(out_dir: Path) -> list[Path]:
    """What ``docs/architecture.md`` includes, generated at every docs build: ``floors.png``
    (:func:`draw_floors`) and ``import_graph.md`` (the floor-to-floor counts, any cycle or
    upward import, and :func:`floor_table`)."""
    edges = import_graph()
    counts = floor_summary(edges)
    upward = upward_imports(edges)
    cycles = import_cycles(edges)
    lines = ["| from \\ to | " + " | ".join(FLOORS) + " |", "|---" * (len(FLOORS) + 1) + "|"]
    for src in FLOORS:
        lines.append(f"| **{src}** | " + " | ".join(str(counts.get((src, dst), 0) or "")
                                                   for dst in FLOORS) + " |")
    status = [f"{len(edges)} imports between {len(modules())} modules; "
              f"{len(cycles)} import cycles; {len(upward)} upward imports."]
    status += [f"- cycle: {' <-> '.join(c)}" for c in cycles]
    status += [f"- upward: `{e.importer}` imports `{e.imported}` (line {e.line})" for e in upward]
    text = "\n".join([*status, "", *lines, "", floor_table(edges), ""])
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / "import_graph.md"
    table.write_text(text)
    return [draw_floors(edges, out_dir / "floors.png"), table]
