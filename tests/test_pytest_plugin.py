"""The pytest plugin: --rlcheck-seed reseeds every check, failed checks are rendered, fixtures.

Runs pytest in-process with pytester on small generated test files (the plugin loaded with
``-p rlcheck.pytest_plugin``, since rlcheck is not installed in every environment the suite runs
in). The modules the generated tests use are imported here first: an in-process run unloads
what it imported, and numpy's compiled modules cannot be loaded twice. No statistical test here:
the generated tests use exact checks or print seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

import rlcheck.checks  # imported once here: pytester's in-process runs share it
import rlcheck.tabular_env  # noqa: F401
from rlcheck.pytest_plugin import render_failure
from rlcheck.result import CheckFailed, CheckResult, combine

pytest_plugins = ("pytester",)
PLUGIN = ("-p", "rlcheck.pytest_plugin", "-p", "no:cacheprovider")

SEEDS_SEEN = '''
import numpy as np
import torch
from rlcheck.checks.td import make_td_batches

def test_seeds():
    first = make_td_batches("dqn", 0)[0][2]
    print("NUMPY", np.random.default_rng(0).integers(1_000_000), "TORCH",
          int(torch.manual_seed(0).initial_seed()), "TD", float(first[0]))
'''


def _seen(result) -> str:
    line = next(line for line in result.outlines if "NUMPY" in line)
    return line[line.index("NUMPY"):]


def test_rlcheck_seed_reseeds_numpy_torch_and_the_checks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_seeds=SEEDS_SEEN)
    plain = pytester.runpytest(*PLUGIN, "-s", "--rlcheck-seed=0")
    one = pytester.runpytest(*PLUGIN, "-s", "--rlcheck-seed=1")
    two = pytester.runpytest(*PLUGIN, "-s", "--rlcheck-seed=2")
    for run in (plain, one, two):
        run.assert_outcomes(passed=1)
    # K = 0 leaves the seeds alone: numpy's default_rng(0) and torch's seed 0 as without plugin
    reference = np.random.Generator(np.random.PCG64(0)).integers(1_000_000)
    assert _seen(plain).startswith(f"NUMPY {reference} TORCH 0 ")
    assert len({_seen(plain), _seen(one), _seen(two)}) == 3
    assert "TORCH 1000003" in _seen(one)
    assert "rlcheck: every seed mixed with --rlcheck-seed=1" in "\n".join(one.outlines)
    # the reseeding ends with the run
    assert np.random.default_rng(0).integers(1_000_000) == reference


def test_a_failed_check_is_rendered_in_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fail='''
from rlcheck.checks import check_td_targets

def test_done_mask():
    def target(b):
        q = b.q_target(b.next_obs).max(dim=1).values
        return b.rewards + b.gamma * (1 - b.dones.float()) * q
    check_td_targets(target, kind="dqn").assert_passed()
''')
    result = pytester.runpytest(*PLUGIN, "--rlcheck-seed=3")
    result.assert_outcomes(failed=1)
    text = "\n".join(result.outlines)
    assert "rlcheck" in text and "check_td_targets: FAIL" in text
    assert "failing parts (3 of 3)" in text and "max absolute error" in text
    assert "seeds mixed with --rlcheck-seed=3" in text


def test_fixtures_give_a_time_limited_env_policy_and_critic(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures='''
import torch

def test_fixtures(tabular_problem, tabular_env, tabular_policy, tabular_critic):
    obs, _ = tabular_env.reset(seed=0)
    dist = tabular_policy(torch.tensor([obs]))
    assert dist.probs.shape == (1, tabular_problem.mdp.n_actions)
    assert tabular_critic(torch.tensor([obs])).shape == (1,)
    for _ in range(tabular_problem.mdp.time_limit):
        obs, reward, terminated, truncated, _ = tabular_env.step(0)
        if terminated or truncated:
            break
    assert terminated or truncated
''')
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=2)


def test_render_failure_lists_numbers_and_failing_parts() -> None:
    bad = CheckResult(name="part", passed=False, verdict="biased", alpha=1e-3, p_value=1e-9,
                      effect=0.4, ci=(0.2, 0.6), n=100, detectable_effect=0.1, seed=5,
                      effect_name="Mahalanobis distance")
    ok = CheckResult(name="other", passed=True, verdict="fine", alpha=1e-3)
    text = render_failure(combine("check_x", [bad, ok], seed=5))
    assert "check_x: FAIL" in text and "failing parts (1 of 2)" in text
    assert "Mahalanobis distance = 0.4 (CI [0.2, 0.6])" in text and "other" not in text
    with pytest.raises(CheckFailed) as error:
        combine("check_x", [bad, ok]).assert_passed()
    assert error.value.result.name == "check_x" and isinstance(error.value, AssertionError)
