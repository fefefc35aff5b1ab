"""Every recipe of docs/recipes.md runs as written and catches its planted bug.

Each block checks correct code at ``alpha = 1e-7`` (at most three such calls per block) and
asserts that planted bugs fail, which they do with p-values below ``1e-12`` at the checks'
default ``alpha`` (measured; see the blocks' verdicts): declared ``1e-6`` per block, an upper
bound on ``3e-7`` for the correct calls plus the bugs' miss probabilities.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown page, as tests/test_docs.py reads usage.md."""
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

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"
BLOCKS = python_blocks(RECIPES)
HAS_SB3 = importlib.util.find_spec("stable_baselines3") is not None


def _id(block: str) -> str:
    for line in block.splitlines():
        if line.startswith(("def ", "class ")):
            return line.split()[1].split("(")[0]
    return "block"


def test_the_page_has_a_recipe_per_library_style() -> None:
    names = [_id(b) for b in BLOCKS]
    assert len(BLOCKS) >= 6, names
    for needle in ("RolloutBuffer", "collect_rollouts", "cleanrl_gae", "GAEBuffer",
                   "_discounted_reward_to_go", "dqn_td_target", "FrozenLake",
                   "check_collection_loop"):
        assert any(needle in b for b in BLOCKS), needle
    assert all("assert not result.passed" in b for b in BLOCKS)


@pytest.mark.slow
@pytest.mark.statistical(alpha=1e-6)
@pytest.mark.parametrize("block", BLOCKS, ids=_id)
def test_recipe_runs_as_written(block: str) -> None:
    if "stable_baselines3" in block and not HAS_SB3:
        pytest.skip("stable-baselines3 is not installed (pip install -e '.[test]')")
    exec(compile(block, str(RECIPES), "exec"), {"__name__": "recipe"})
