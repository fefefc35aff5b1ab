"""The package keeps its floors: no import cycle, no upward import, a light top-level import.

The graph is read from the source with ``ast`` (``rlcheck.architecture``), lazy imports inside
functions included, so a cycle hidden behind a function-level import fails here too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from rlcheck import architecture
from rlcheck.architecture import Edge, floor_of, import_cycles, import_graph, upward_imports

ROOT = Path(__file__).resolve().parents[1]


def test_no_import_cycle() -> None:
    cycles = import_cycles(import_graph())
    assert not cycles, f"modules that import each other: {cycles}"


def test_no_upward_import() -> None:
    upward = [f"{e.importer} (floor {floor_of(e.importer)}) imports {e.imported} (floor "
              f"{floor_of(e.imported)}) at line {e.line}" for e in upward_imports(import_graph())]
    assert not upward, "\n".join(upward)


def test_the_floors_are_what_the_architecture_page_says() -> None:
    assert floor_of("rlcheck.mdp") == floor_of("rlcheck.exact") == floor_of("rlcheck.pg") == 0
    assert floor_of("rlcheck.sampling.samplers") == 0
    assert floor_of("rlcheck.checks") == floor_of("rlcheck.checks.pg") == 1
    assert floor_of("rlcheck.trust.bugs.pg") == floor_of("rlcheck.trust.flakiness") == 2
    for name in ("rlcheck.claims", "rlcheck.verify", "rlcheck.report", "rlcheck.bench.run",
                 "rlcheck.cli"):
        assert floor_of(name) == 3, name
    names = architecture.modules()
    assert "rlcheck.trust.catalogue" in names and "rlcheck.bench.__main__" not in names


def test_the_detectors_fire_on_a_planted_cycle_and_upward_import(tmp_path: Path) -> None:
    """The test above can fail: a fake package with a lazy cycle and an upward import."""
    pkg = tmp_path / "rlcheck"
    (pkg / "checks").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mdp.py").write_text("def f():\n    from rlcheck.exact import g\n")
    (pkg / "exact.py").write_text("from rlcheck import mdp\n\ndef g():\n    pass\n")
    (pkg / "checks" / "__init__.py").write_text("from .pg import check\n")
    (pkg / "checks" / "pg.py").write_text("from rlcheck.verify import x\n\ndef check():\n    pass\n")
    (pkg / "verify.py").write_text("x = 1\n")
    edges = import_graph(pkg)
    assert Edge("rlcheck.checks", "rlcheck.checks.pg", 1) in edges  # relative import resolved
    assert import_cycles(edges) == [["rlcheck.exact", "rlcheck.mdp"]]
    assert [(e.importer, e.imported) for e in upward_imports(edges)] == [
        ("rlcheck.checks.pg", "rlcheck.verify")]


def test_importing_the_core_does_not_load_the_registry_or_torch() -> None:
    code = textwrap.dedent("""
        import sys
        from rlcheck import exact, mdp  # noqa: F401
        heavy = [m for m in ("rlcheck.claims", "rlcheck.checks", "rlcheck.trust", "torch")
                 if m in sys.modules]
        print(",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"`from rlcheck import exact` loaded {out}"


LONG_MODULE_LINES = 400
"""A module longer than this states why at its top (the architecture page's rule)."""


def test_long_modules_state_why_at_their_top() -> None:
    """Over ~400 lines a module says why in its docstring ("Longer than 400 lines because ...");
    to fix a failure, split the module or add that sentence with the real reason."""
    import ast

    silent = []
    for name, path in architecture.modules().items():
        text = path.read_text()
        if text.count("\n") <= LONG_MODULE_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "Longer than 400 lines because" not in doc:
            silent.append(f"{name} ({text.count(chr(10))} lines)")
    assert not silent, f"long modules without a stated reason: {silent}"
