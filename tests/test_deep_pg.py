"""Tests of rlcheck.deep_pg: padding, weights, per-batch gradients against hand-computed ones, and
a small statistical comparison on CartPole (equal means with a baseline, the biased control
caught)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcheck import deep_pg, pg
from rlcheck.distributions import policy_for_env
from rlcheck.sampling import Rollouts


def toy_rollouts() -> Rollouts:
    """Two episodes (lengths 3 and 2) of a 2-d observation, discrete actions; the second is cut."""
    obs = np.arange(10, dtype=np.float64).reshape(5, 2)
    return Rollouts(observations=obs, actions=np.array([0, 1, 1, 0, 1]),
                    rewards=np.array([1.0, 2.0, 3.0, 4.0, 5.0]), next_observations=obs + 100,
                    terminated=np.array([False, False, True, False, False]),
                    truncated=np.array([False, False, False, False, True]),
                    episode=np.array([0, 0, 0, 1, 1]))


def test_episodes_are_padded_in_time_order():
    batch = deep_pg.episodes_from_rollouts(toy_rollouts())
    assert batch.rewards.shape == (2, 3)
    np.testing.assert_array_equal(batch.rewards.numpy(), [[1, 2, 3], [4, 5, 0]])
    np.testing.assert_array_equal(batch.mask.numpy(), [[1, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(batch.terminated.numpy(), [True, False])
    np.testing.assert_array_equal(batch.truncated.numpy(), [False, True])
    np.testing.assert_array_equal(batch.final_observations.numpy(), [[104, 105], [108, 109]])
    np.testing.assert_array_equal(batch.lengths.numpy(), [3, 2])
    np.testing.assert_array_equal(batch.complete.numpy(), [True, False])


class ConstantValue(torch.nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, obs):
        return torch.full(obs.shape[:1], self.value, dtype=torch.float64)


def test_estimator_weights():
    batch = deep_pg.episodes_from_rollouts(toy_rollouts())
    w = deep_pg.estimator_weights(batch, 0.5, constant=1.0, value_net=ConstantValue(2.0))
    rtg = np.array([[1 + 1 + 0.75, 2 + 1.5, 3], [4 + 2.5, 5, 0]])
    np.testing.assert_allclose(w["reward-to-go"].numpy(), rtg)
    np.testing.assert_allclose(w["reward-to-go - constant"].numpy(), (rtg - 1) * [[1, 1, 1], [1, 1, 0]])
    np.testing.assert_allclose(w["reward-to-go - V(s)"].numpy(), (rtg - 2) * [[1, 1, 1], [1, 1, 0]])
    np.testing.assert_allclose(w["total return"].numpy()[:, 0], [2.75, 6.5])
    # GAE(0.95) with V = 2: the terminated episode gets no bootstrap, the cut one gets V(s_T) = 2
    gae = w["GAE(0.95) with V"].numpy()
    d = np.array([[1 + 1 - 2, 2 + 1 - 2, 3 - 2], [4 + 1 - 2, 5 + 1 - 2, 0]])
    lam = 0.5 * 0.95
    np.testing.assert_allclose(gae[0], [d[0, 0] + lam * (d[0, 1] + lam * d[0, 2]),
                                        d[0, 1] + lam * d[0, 2], d[0, 2]])
    np.testing.assert_allclose(gae[1], [d[1, 0] + lam * d[1, 1], d[1, 1], 0])
    with pytest.raises(ValueError, match="unknown estimator"):
        deep_pg.estimator_weights(batch, 0.5, estimators=("nope",))
    with pytest.raises(ValueError, match="value_net"):
        deep_pg.estimator_weights(batch, 0.5)


def test_batch_gradients_match_a_hand_written_loss():
    torch.manual_seed(0)
    from rlcheck.distributions import CategoricalPolicy

    policy = CategoricalPolicy(2, 2, (8,)).double()  # float64 for a tight comparison
    batch = deep_pg.episodes_from_rollouts(toy_rollouts())
    psi = {"a": torch.ones(2, 3, dtype=torch.float64), "b": batch.rewards.clone()}
    grads = deep_pg.batch_gradients(policy, batch, psi)
    # by hand: (1/E) sum over the 5 real steps of psi * grad log pi(a|s)
    obs = torch.as_tensor(toy_rollouts().observations)
    acts = torch.as_tensor(toy_rollouts().actions)
    weights = torch.as_tensor(toy_rollouts().rewards)
    policy.zero_grad()
    (policy(obs).log_prob(acts) * weights).sum().div(2).backward()
    expected = torch.cat([p.grad.reshape(-1) for p in policy.parameters()]).numpy()
    np.testing.assert_allclose(grads["b"], expected, atol=1e-12)
    assert grads["a"].shape == expected.shape


def test_value_net_fits_a_linear_target():
    batch = deep_pg.episodes_from_rollouts(toy_rollouts())
    targets = batch.observations[..., 0].double() * 0.1
    net = deep_pg.fit_value_net(batch, targets, hidden=(16,), steps=300, lr=2e-2, seed=0)
    pred = net(batch.observations[batch.mask])
    np.testing.assert_allclose(pred.detach().numpy(), targets[batch.mask].numpy(), atol=0.05)


def test_gae_one_equals_reward_to_go_minus_value_on_padded_episodes():
    batch = deep_pg.episodes_from_rollouts(toy_rollouts())
    v = torch.arange(6, dtype=torch.float64).reshape(2, 3) * batch.mask
    gae = pg.gae_advantages(batch.rewards, v, 0.9, 1.0)
    rtg = pg.reward_to_go(batch.rewards, 0.9)
    np.testing.assert_allclose((gae * batch.mask).numpy(), ((rtg - v) * batch.mask).numpy(),
                               atol=1e-12)


CARTPOLE_ALPHA = 1e-7
"""Level of every test in the CartPole baseline comparison below."""


@pytest.mark.slow
# two paired tests of correct baselines and one variance test at 1e-7 each, plus the chance of
# missing the planted bug (1e-6, see the docstring)
@pytest.mark.statistical(alpha=3 * CARTPOLE_ALPHA + 1e-6)
def test_cartpole_baseline_keeps_the_mean_and_does_not_inflate_variance():
    """Every test at alpha = 1e-7: the constant and V baselines keep the mean of reward-to-go
    (paired Hotelling tests on 32 batches), V does not increase the variance (one-sided
    variance-ratio test on independent halves), and the action-dependent control is caught.

    The point estimate of the variance ratio of V to reward-to-go was 0.29-0.80 over seeds 0-5,
    but 1.26 under a re-seeded run (the old assertion ``ratio < 1`` was flaky). With 16 batches
    per half the log-ratio's standard error is about 0.6 (99.9% interval about 0.1 to 4), so a
    variance *cut* cannot be asserted here at a controlled error rate (one-sided p = 0.17 at
    seed 0; the exact variances are compared in the ``baselines`` analysis). What is asserted
    is weaker: no significant *increase* (at 1e-7 it takes a ratio of about 20 to be flagged).
    The planted bug's paired p-value was 6e-28 to 3e-20 over seeds 0-5 (log10 p: mean -21.7,
    sd 2.9), 12 or more orders below 1e-7: a normal model of log10 p puts the chance of a miss
    near 2e-7, declared as 1e-6."""
    rows = deep_pg.compare_baselines(
        "CartPole-v1", n_batches=32, batch_steps=300, seed=0, alpha=CARTPOLE_ALPHA,
        estimators=("reward-to-go", "reward-to-go - constant", "reward-to-go - V(s)",
                    "reward-to-go - action (biased control)"))
    by = {r["estimator"]: r for r in rows}
    assert by["reward-to-go - constant"]["paired_equal_means"]
    assert by["reward-to-go - V(s)"]["paired_equal_means"]
    v = by["reward-to-go - V(s)"]
    # one-sided p-value of H0: tr Cov(g_V) <= tr Cov(g_rtg) from the two-sided delta-method test
    p_greater = v["variance_p"] / 2 if v["variance_ratio_halves"] > 1 else 1 - v["variance_p"] / 2
    assert p_greater > CARTPOLE_ALPHA, (
        f"V(s) increases the variance: ratio {v['variance_ratio_halves']:.3g} "
        f"(interval {v['variance_ratio_ci_low']:.3g}-{v['variance_ratio_ci_high']:.3g})")
    # planted bug: an action-dependent baseline changes the mean
    assert not by["reward-to-go - action (biased control)"]["paired_equal_means"]
    assert "variance x" in deep_pg.summarise(rows)


@pytest.mark.slow
def test_training_curve_smoke():
    rows = deep_pg.training_curves("CartPole-v1", iterations=2, seeds=1, batch_steps=200,
                                   estimators=("reward-to-go - V(s)",))
    assert len(rows) == 2 and all(np.isfinite(r["mean_return"]) for r in rows)


def test_compare_baselines_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_batches"):
        deep_pg.compare_baselines("CartPole-v1", n_batches=2)
    with pytest.raises(ValueError, match="reference"):
        deep_pg.compare_baselines("CartPole-v1", n_batches=30, estimators=("total return",))


@pytest.mark.mujoco
@pytest.mark.slow
def test_inverted_pendulum_gaussian_policy_gradients():
    policy = policy_for_env("InvertedPendulum-v5", seed=0)
    batch = deep_pg.collect_episodes(policy, "InvertedPendulum-v5", 200, seed=0)
    assert batch.actions.ndim == 3
    w = deep_pg.estimator_weights(batch, 0.99, estimators=("reward-to-go", "total return"))
    grads = deep_pg.batch_gradients(policy, batch, w)
    assert all(np.isfinite(g).all() for g in grads.values())
