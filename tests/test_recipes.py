"""Every recipe of docs/recipes.md runs as written and catches its planted bug.

False-failure probabilities, declared per block for the flakiness budget: each statistical check
of correct code runs at ``alpha=1e-7`` (counted in the block's text), and each planted bug of a
statistical check is caught with a p-value below ``1e-12`` at the default ``alpha`` (measured:
the recipes' bugs give p <= 1e-20), so another seed misses it with probability below
``BUG_MISS_ALPHA``. Blocks whose checks are exact (TD targets, value iteration) declare nothing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from markdown_blocks import python_blocks

from rlcheck.trust.levels import BUG_MISS_ALPHA

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


EXACT_CHECKS = ("check_td_targets", "check_bellman_backup")


def _param(block: str) -> object:
    marks = [pytest.mark.slow]
    if not any(f"{check}(" in block for check in EXACT_CHECKS):
        alpha = block.count("alpha=1e-7") * 1e-7 + block.count("assert not result.passed") * \
            BUG_MISS_ALPHA
        marks.append(pytest.mark.statistical(alpha=alpha))
    return pytest.param(block, id=_id(block), marks=marks)


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS])
def test_recipe_runs_as_written(block: str) -> None:
    if "stable_baselines3" in block and not HAS_SB3:
        pytest.skip("stable-baselines3 is not installed (pip install -e '.[test]')")
    exec(compile(block, str(RECIPES), "exec"), {"__name__": "recipe"})
