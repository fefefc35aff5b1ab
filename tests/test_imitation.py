"""Tests of rlcheck.imitation: BC training, seeded evaluation, DAgger's loop (Pendulum, Ant)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from rlcheck import imitation
from rlcheck.distributions import gaussian_policy
from rlcheck.imitation import BetaMixture, beta_schedule, dagger, train_bc

ENV = "Pendulum-v1"  # classic control: fast, no MuJoCo; obs 3, action 1, 200-step limit
GAIN = np.array([[-2.0], [0.3], [-0.5]])


def pendulum_expert(obs: np.ndarray) -> np.ndarray:
    """A fixed linear controller standing in for an expert."""
    return np.clip(np.asarray(obs) @ GAIN, -2.0, 2.0)


class SpyExpert:
    """Records every batch of observations it labels."""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        self.calls.append(np.array(obs))
        return pendulum_expert(obs)


def _linear_data(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 3))
    M = rng.normal(size=(3, 2))
    return obs, obs @ M + 0.05 * rng.normal(size=(n, 2)), M


def test_train_bc_fits_and_is_deterministic() -> None:
    obs, act, _ = _linear_data()
    before = torch.get_rng_state()
    p1 = gaussian_policy(3, 2, seed=0)
    losses = train_bc(p1, obs, act, steps=200, seed=1)
    assert torch.equal(before, torch.get_rng_state())  # global RNG untouched
    assert len(losses) == 200 and np.mean(losses[-20:]) < np.mean(losses[:20]) - 1.0
    fitted = imitation.mean_action(p1)(obs)
    assert np.mean((fitted - act) ** 2) < 0.1 * np.mean(act**2)
    p2 = gaussian_policy(3, 2, seed=0)
    assert train_bc(p2, obs, act, steps=200, seed=1) == losses
    for a, b in zip(p1.parameters(), p2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_gaussian_policy_seeds() -> None:
    a, b, c = gaussian_policy(3, 2, seed=0), gaussian_policy(3, 2, seed=0), gaussian_policy(3, 2, seed=1)
    assert torch.equal(a.mean_net[0].weight, b.mean_net[0].weight)
    assert not torch.equal(a.mean_net[0].weight, c.mean_net[0].weight)


def test_train_bc_rejects_bad_data() -> None:
    obs, act, _ = _linear_data(10)
    p = gaussian_policy(3, 2)
    with pytest.raises(ValueError, match="as many observations as actions"):
        train_bc(p, obs, act[:5], steps=1)
    with pytest.raises(ValueError, match="NaN"):
        train_bc(p, np.full_like(obs, np.nan), act, steps=1)
    with pytest.raises(ValueError, match="2 dimensions"):
        train_bc(p, obs[:, 0], act, steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        train_bc(p, obs, act, steps=1, batch_size=0)


def test_seeded_evaluation() -> None:
    returns = imitation.evaluate_policy(pendulum_expert, ENV, 3, seed=5, max_steps=50)
    again = imitation.evaluate_policy(pendulum_expert, ENV, 3, seed=5, max_steps=50)
    np.testing.assert_array_equal(returns, again)
    assert returns.shape == (3,) and len(set(returns.tolist())) == 3  # distinct episode seeds
    data = imitation.rollout_episodes(pendulum_expert, ENV, 2, seed=5, max_steps=50)
    assert data["observations"].shape == (100, 3) and data["actions"].shape == (100, 1)
    assert data["truncated"].sum() == 2 and not data["terminals"].any()
    np.testing.assert_allclose(data["episode_returns"], returns[:2])
    np.testing.assert_array_equal(data["next_observations"][:49], data["observations"][1:50])
    with pytest.raises(ValueError, match="unknown environment id 'Pendulum-v9'"):
        imitation.evaluate_policy(pendulum_expert, "Pendulum-v9", 1, 0)


def test_beta_mixture_and_schedule() -> None:
    learner = gaussian_policy(3, 1, seed=0)
    obs = np.random.default_rng(0).normal(size=(6, 3))
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(BetaMixture(learner, pendulum_expert, 1.0)(obs, rng),
                               pendulum_expert(obs))
    mean = imitation.mean_action(learner)(obs)
    noisy = BetaMixture(learner, pendulum_expert, 0.0)(obs, rng)
    assert noisy.shape == (6, 1) and not np.allclose(noisy, pendulum_expert(obs))
    assert np.abs(noisy - mean).max() < 6.0  # learner's sampled actions (std 1)
    rngs = [np.random.default_rng(i) for i in range(6)]
    rows = BetaMixture(learner, pendulum_expert, 1.0).act_rows(obs, rngs)
    np.testing.assert_allclose(rows, pendulum_expert(obs))
    with pytest.raises(ValueError, match="beta"):
        BetaMixture(learner, pendulum_expert, 1.5)
    np.testing.assert_allclose(beta_schedule(4, 0.5, 0.5), [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(beta_schedule(3), [1.0, 0.0, 0.0])


def test_dagger_relabels_visited_states_and_aggregates() -> None:
    expert_data = imitation.make_expert_data(pendulum_expert, ENV, n_episodes=1, seed=0,
                                             max_steps=100)
    spy = SpyExpert()
    result = dagger(ENV, spy, expert_data, n_iterations=3, steps_per_iteration=20,
                    env_steps_per_iteration=60, seed=0, eval_episodes=1, eval_at=[1, 3],
                    max_episode_steps=30, progress=False)
    assert result.n_labels == [100, 160, 220]
    assert [len(c) for c in spy.calls] == [60, 60]  # every visited state, expert-labelled
    assert len(result.losses) == 3 and all(len(x) == 20 for x in result.losses)
    assert result.evaluated_at == [1, 3] and [r.shape for r in result.returns] == [(1,), (1,)]
    again = dagger(ENV, pendulum_expert, expert_data, n_iterations=3, steps_per_iteration=20,
                   env_steps_per_iteration=60, seed=0, progress=False)
    for a, b in zip(result.policy.parameters(), again.policy.parameters(), strict=True):
        assert torch.equal(a, b)
    shorter = dagger(ENV, pendulum_expert, expert_data, n_iterations=2, steps_per_iteration=20,
                     env_steps_per_iteration=60, seed=0, progress=False)
    assert shorter.losses == again.losses[:2]  # a longer run continues a shorter one exactly
    with pytest.raises(ValueError, match="eval_at"):
        dagger(ENV, pendulum_expert, expert_data, n_iterations=2, eval_episodes=1,
               eval_at=[3], progress=False)
    with pytest.raises(ValueError, match="betas"):
        dagger(ENV, pendulum_expert, expert_data, n_iterations=2, betas=[1.0], progress=False)


def test_compare_bc_dagger_rows() -> None:
    expert_data = imitation.make_expert_data(pendulum_expert, ENV, n_episodes=1, seed=0,
                                             max_steps=100)
    rows = imitation.compare_bc_dagger(ENV, pendulum_expert, expert_data, 0, iterations=2,
                                       many_iterations=3, steps_per_iteration=10,
                                       env_steps_per_iteration=40, eval_episodes=1,
                                       max_episode_steps=20)
    table = {r["method"]: (r["grad_steps"], r["labels"]) for r in rows}
    assert table == {"bc_1iter": (10, 100), "bc": (20, 100), "dagger": (20, 140),
                     "dagger_many": (30, 180), "bc_equal_data": (20, 140)}


@pytest.mark.mujoco
def test_dagger_on_ant_with_the_padded_expert(experts_mirror: Path) -> None:
    from rlcheck import experts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        expert = experts.load_expert("Ant-v4", mirror=experts_mirror)
        data = experts.load_expert_data("Ant-v4", mirror=experts_mirror)
        result = dagger("Ant-v4", expert, data, n_iterations=2, steps_per_iteration=10,
                        env_steps_per_iteration=50, seed=0, progress=False)
    assert result.n_labels == [2000, 2050]
