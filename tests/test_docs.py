"""Docs that cannot drift: every public symbol has a docstring, every check is in the guide."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import rlcheck
import rlcheck.checks

DOCS = Path(__file__).resolve().parents[1] / "docs"
MODULES = ["rlcheck", *sorted(m.name for m in pkgutil.walk_packages(rlcheck.__path__, "rlcheck.")
                              if not m.name.rsplit(".", 1)[-1].startswith("_"))]


def public_symbols(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    return [(name, obj) for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == module_name]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_function_and_class_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert inspect.getdoc(module), f"module {module_name} has no docstring"
    missing = [name for name, obj in public_symbols(module_name) if not inspect.getdoc(obj)]
    assert not missing, f"{module_name}: public symbols without a docstring: {missing}"


def test_every_public_check_is_in_the_user_guide() -> None:
    guide = (DOCS / "usage.md").read_text()
    checks = [name for name in dir(rlcheck.checks) if name.startswith("check_")]
    assert checks, "rlcheck.checks exports no check_* function"
    missing = [name for name in checks if name not in guide]
    assert not missing, f"docs/usage.md does not mention {missing}"


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown page."""
    blocks, current = [], None
    for line in path.read_text().splitlines():
        if current is None and line.strip() == "```python":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


@pytest.mark.slow
@pytest.mark.parametrize("block", python_blocks(DOCS / "usage.md"),
                         ids=lambda b: b.split("import ")[-1].split("\n")[0][:40])
def test_user_guide_examples_run(block: str) -> None:
    exec(compile(block, "docs/usage.md", "exec"), {"__name__": "usage_example"})
