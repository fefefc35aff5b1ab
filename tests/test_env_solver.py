"""gymnasium env.P lists as arrays, and check_bellman_backup(solver, env_P=...) (exact)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlcheck.bellman import optimal_values
from rlcheck.checks import check_bellman_backup
from rlcheck.env_model import model_from_env_P, random_env_P


def solve(P, gamma, *, theta=1e-11, bootstrap_after_done=False, sweeps=None, policy=True):
    """Value iteration on env.P lists."""
    nS, nA = len(P), len(P[0])
    V = np.zeros(nS)
    k = 0
    while True:
        Q = np.array([[sum(p * (r + gamma * (1.0 if bootstrap_after_done else 1.0 - d) * V[s2])
                           for p, s2, r, d in P[s][a]) for a in range(nA)] for s in range(nS)])
        k += 1
        done = np.abs(Q.max(1) - V).max() < theta or (sweeps is not None and k >= sweeps)
        V = Q.max(1)
        if done:
            return (V, Q.argmax(1)) if policy else V


def test_done_transitions_go_to_an_absorbing_zero_state() -> None:
    env_P = {0: {0: [(0.5, 1, 1.0, False), (0.5, 0, 10.0, True)]},
             1: {0: [(1.0, 1, 2.0, False)]}}
    P, R = model_from_env_P(env_P)
    assert P.shape == (3, 1, 3) and np.allclose(P[0, 0], [0.0, 0.5, 0.5])
    assert np.allclose(R[:, 0], [5.5, 2.0, 0.0]) and P[2, 0, 2] == 1.0
    V = optimal_values(P, R, 0.5)
    assert np.allclose(V[:2], [5.5 + 0.5 * 0.5 * 4.0, 4.0])


def test_frozen_lake_and_taxi_convert_and_their_v_star_is_the_solvers() -> None:
    for name in ("FrozenLake-v1", "FrozenLake8x8-v1"):
        P_lists = gym.make(name).unwrapped.P
        P, R = model_from_env_P(P_lists)
        assert np.allclose(solve(P_lists, 0.95)[0], optimal_values(P, R, 0.95)[:-1], atol=1e-8)


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "Taxi-v4"])
def test_converged_solvers_pass(env_id: str) -> None:
    env_P = gym.make(env_id).unwrapped.P
    check_bellman_backup(solve, env_P=env_P, gamma=0.9).assert_passed()
    check_bellman_backup(lambda P, g: solve(P, g, policy=False), env_P="random").assert_passed()


def test_solver_bugs_fail() -> None:
    frozen = gym.make("FrozenLake-v1").unwrapped.P
    taxi = gym.make("Taxi-v4").unwrapped.P
    after_done = check_bellman_backup(lambda P, g: solve(P, g, bootstrap_after_done=True),
                                      env_P=frozen, gamma=0.9)
    assert not after_done.passed
    assert [c.passed for c in after_done.children[:2]] == [True, True]  # harmless on FrozenLake
    assert not check_bellman_backup(lambda P, g: solve(P, g, bootstrap_after_done=True),
                                    env_P=taxi, gamma=0.9).children[0].passed
    early = check_bellman_backup(lambda P, g: solve(P, g, sweeps=5), env_P=frozen, gamma=0.9)
    assert not early.passed and "not converged" in early.children[0].verdict

    def wrong_policy(P, g):
        V, pi = solve(P, g)
        return V, (pi + 1) % len(P[0])

    result = check_bellman_backup(wrong_policy, env_P="random")
    assert not result.passed and "not optimal" in result.children[1].verdict
    crash = check_bellman_backup(lambda P, g: 1 / 0, env_P="random")
    assert not crash.passed and "ZeroDivisionError" in crash.children[0].verdict


def test_bad_env_P_is_named() -> None:
    with pytest.raises(ValueError, match=r"env_P\[0\]\[0\] probabilities sum to 0.5"):
        check_bellman_backup(solve, env_P={0: {0: [(0.5, 0, 0.0, False)]}})
    with pytest.raises(ValueError, match=r"env_P\[0\]\[1\] holds next_state 3"):
        model_from_env_P({0: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 3, 0.0, False)]}})
    with pytest.raises(ValueError, match="same actions"):
        model_from_env_P([[[(1.0, 0, 0.0, False)]], [[(1.0, 0, 0.0, False)]] * 2])
    with pytest.raises(ValueError, match=r"expected \(prob, next_state, reward, done\)"):
        model_from_env_P([[[(1.0, 0, 0.0)]]])
    with pytest.raises(ValueError, match="gamma"):
        check_bellman_backup(solve, env_P="random", gamma=1.0)


def test_random_models_have_done_outcomes_that_land_in_ordinary_states() -> None:
    env_P = random_env_P(6, 3, np.random.default_rng(0))
    outcomes = [o for s in env_P.values() for a in s.values() for o in a]
    assert any(o[3] for o in outcomes) and any(not o[3] for o in outcomes)
