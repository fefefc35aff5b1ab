"""Tests of rlcheck.pg: exact identities, exact expectations by enumerating every trajectory of
small MDPs (hypothesis), and statistical tests of the fitted baselines with planted bugs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rlcheck import exact, pg
from rlcheck.checks import check_pg_weights
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP
from rlcheck.score import score_function_gradients
from rlcheck.strategies import mdps, softmax_logits
from rlcheck.trust.calibration import leaf_p_values
from rlcheck.trust.levels import BUG_MISS_ALPHA, CORRECT_ALPHA, DECISIVE_P

ATOL = 1e-10
floats = st.floats(-10, 10, allow_nan=False, width=32)
reward_arrays = hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 7)), elements=floats)
gammas = st.floats(0.0, 1.0, allow_nan=False)


def exact_mean(mdp: TabularMDP, logits: np.ndarray, weights_fn) -> np.ndarray:
    """``E[sum_t grad log pi(a_t|s_t) psi_t]`` computed exactly by enumeration, ``[S, A]``."""
    return exact.exact_moments(mdp, logits, weights_fn)[0]


small_mdps = mdps(max_states=3, max_actions=3, max_horizon=4)


# ----------------------------------------------------------------------------- exact identities

@given(reward_arrays, gammas)
def test_reward_to_go_matches_its_definition(rewards, gamma):
    N, T = rewards.shape
    restart = pg.reward_to_go(rewards, gamma, restart=True)
    absolute = pg.reward_to_go(rewards, gamma, restart=False)
    for t in range(T):
        expected = sum(gamma ** (k - t) * rewards[:, k] for k in range(t, T))
        np.testing.assert_allclose(restart[:, t], expected, atol=1e-9, rtol=1e-12)
        np.testing.assert_allclose(absolute[:, t], gamma**t * expected, atol=1e-9, rtol=1e-12)
    np.testing.assert_allclose(absolute[:, 0], pg.total_return(rewards, gamma), atol=1e-9)
    assert pg.total_return(rewards, gamma, per_step=True).shape == (N, T)


@given(reward_arrays, gammas)
def test_torch_and_numpy_agree(rewards, gamma):
    r = torch.tensor(rewards)
    values = np.cos(np.arange(rewards.size)).reshape(rewards.shape)
    for restart in (True, False):
        out = pg.reward_to_go(r, gamma, restart=restart)
        assert isinstance(out, torch.Tensor)
        np.testing.assert_allclose(out.numpy(), pg.reward_to_go(rewards, gamma, restart=restart),
                                   atol=ATOL)
    np.testing.assert_allclose(pg.total_return(r, gamma).numpy(), pg.total_return(rewards, gamma),
                               atol=ATOL)
    np.testing.assert_allclose(
        pg.gae_advantages(r, torch.tensor(values), gamma, 0.7).numpy(),
        pg.gae_advantages(rewards, values, gamma, 0.7), atol=1e-9)


def test_reward_to_go_keeps_gradients_in_torch():
    r = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    pg.reward_to_go(r, 0.5).sum().backward()
    np.testing.assert_allclose(r.grad.numpy(), [[1.0, 1.5, 1.75]])


@given(reward_arrays, gammas, st.data())
def test_gae_one_is_reward_to_go_minus_value_and_gae_zero_is_td_error(rewards, gamma, data):
    values = data.draw(hnp.arrays(np.float64, rewards.shape, elements=floats))
    last = data.draw(hnp.arrays(np.float64, rewards.shape[:1], elements=floats))
    rtg = pg.reward_to_go(rewards, gamma)
    np.testing.assert_allclose(pg.gae_advantages(rewards, values, gamma, 1.0), rtg - values,
                               atol=1e-8)
    next_values = np.concatenate([values[:, 1:], last[:, None]], axis=1)
    np.testing.assert_allclose(pg.gae_advantages(rewards, values, gamma, 0.0, last_values=last),
                               rewards + gamma * next_values - values, atol=1e-8)


def test_gae_dones_cut_bootstrap_and_recursion():
    rewards = np.array([[1.0, 2.0, 4.0]])
    values = np.array([[10.0, 20.0, 40.0]])
    dones = np.array([[False, True, False]])
    adv = pg.gae_advantages(rewards, values, 0.5, 0.5, last_values=np.array([8.0]), dones=dones)
    d2 = 4.0 + 0.5 * 8.0 - 40.0
    d1 = 2.0 - 20.0  # terminated: no bootstrap from V(s_2) and nothing flows back from t=2
    d0 = 1.0 + 0.5 * 20.0 - 10.0
    np.testing.assert_allclose(adv, [[d0 + 0.25 * d1, d1, d2]])


def test_gae_rejects_bad_input():
    r = np.zeros((2, 3))
    with pytest.raises(ValueError, match="lam"):
        pg.gae_advantages(r, r, 0.9, 1.5)
    with pytest.raises(ValueError, match="gamma"):
        pg.gae_advantages(r, r, -0.1, 0.5)
    with pytest.raises(ValueError, match=r"\[N, T\]"):
        pg.gae_advantages(r, np.zeros((2, 4)), 0.9, 0.5)
    with pytest.raises(ValueError, match="dones"):
        pg.gae_advantages(r, r, 0.9, 0.5, dones=np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="last_values"):
        pg.gae_advantages(r, r, 0.9, 0.5, last_values=np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        pg.reward_to_go(np.array([[1.0, np.nan]]), 0.9)
    with pytest.raises(ValueError, match="gamma"):
        pg.reward_to_go(r, float("nan"))


def test_baseline_helpers():
    x = np.arange(12.0).reshape(4, 3)
    loo = pg.mean_baseline(x)
    np.testing.assert_allclose(loo[0], x[1:].mean(0))
    np.testing.assert_allclose(pg.mean_baseline(x, leave_one_out=False), np.broadcast_to(x.mean(0), x.shape))
    np.testing.assert_allclose(pg.next_state_baseline(x, last_values=np.ones(4))[1], [4, 5, 1])
    np.testing.assert_allclose(pg.own_return_baseline(x, 1.0)[:, 0], x.sum(1))
    np.testing.assert_allclose(pg.value_baseline(x, 0.5, restart=False)[0], [0, 0.5, 0.5])
    adv = pg.normalise_advantages(x)
    assert abs(adv.mean()) < ATOL and abs(adv.std() - 1) < 1e-6
    phi = np.array([[0.0, 1.0], [2.0, 3.0]])
    s, a = np.array([[0, 1]]), np.array([[1, 1]])
    np.testing.assert_allclose(pg.action_dependent_baseline(s, a, phi), [[1.0, 3.0]])
    b = pg.time_state_baseline(lambda t, s: 10 * t + s, np.array([[2, 0, 1]]))
    np.testing.assert_allclose(b, [[2, 10, 21]])
    with pytest.raises(ValueError, match="shape"):
        pg.time_state_baseline(lambda t, s: t[:, :1], np.array([[2, 0, 1]]))
    features = pg.tabular_features(np.array([[0, 1], [1, 1]]), 2)
    assert features.shape == (2, 2, 4) and (features.sum(-1) == 1).all()
    with pytest.raises(ValueError, match="states"):
        pg.tabular_features(np.array([[0, 2]]), 2)


def test_fitted_tabular_value_is_the_cell_mean():
    states = np.array([[0, 1], [0, 0], [1, 1]])
    targets = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    features = pg.tabular_features(states, 2)
    w = pg.fit_value(features, targets, ridge=0.0)
    np.testing.assert_allclose(w, [2.0, 5.0, 4.0, 4.0], atol=1e-12)  # V[t, s] cell means
    crossed = pg.cross_fitted_value(features, targets, folds=3, ridge=1e-9)
    np.testing.assert_allclose(crossed[0], [3.0, 6.0], atol=1e-6)  # from episodes 1 and 2 only


# ----------------------------------------------------------------------------- exact expectations

@settings(max_examples=40, deadline=None)
@given(small_mdps.flatmap(lambda m: st.tuples(st.just(m), softmax_logits(m))))
def test_estimators_have_the_expectations_the_docs_state(case):
    mdp, logits = case
    discounted = exact.policy_gradient(mdp, logits, "discounted")
    causal = exact.policy_gradient(mdp, logits, "causal")
    checks = {
        "total_return": (lambda b: pg.total_return(b.rewards, b.gamma, per_step=True), discounted),
        "rtg_absolute": (lambda b: pg.reward_to_go(b.rewards, b.gamma, restart=False), discounted),
        "rtg_restart": (lambda b: pg.reward_to_go(b.rewards, b.gamma), causal),
        "rtg_minus_V": (lambda b: pg.reward_to_go(b.rewards, b.gamma) - b.values, causal),
        "gae_exact_V": (lambda b: pg.gae_advantages(b.rewards, b.values, b.gamma, 0.6), causal),
        "discounted_gae": (lambda b: pg.value_baseline(
            pg.gae_advantages(b.rewards, b.values, b.gamma, 0.3), b.gamma, restart=False),
            discounted),
    }
    for name, (fn, target) in checks.items():
        np.testing.assert_allclose(exact_mean(mdp, logits, fn), target, atol=1e-8, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(small_mdps.flatmap(lambda m: st.tuples(
    st.just(m), softmax_logits(m),
    hnp.arrays(np.float64, (m.horizon, m.n_states), elements=floats), floats)))
def test_constant_and_time_state_baselines_have_zero_expectation(case):
    """E[sum_t grad log pi(a_t|s_t) b(t, s_t)] = 0 for ANY table b and any constant c."""
    mdp, logits, table, c = case
    zero = np.zeros((mdp.n_states, mdp.n_actions))
    scale = 1 + np.abs(table).max() * mdp.horizon
    mean = exact_mean(mdp, logits, lambda b: pg.time_state_baseline(lambda t, s: table[t, s], b.states))
    np.testing.assert_allclose(mean, zero, atol=1e-10 * scale)
    np.testing.assert_allclose(exact_mean(mdp, logits, lambda b: np.full(b.states.shape, c)), zero,
                               atol=1e-10 * (1 + abs(c)) * mdp.horizon)


@settings(max_examples=40, deadline=None)
@given(small_mdps.flatmap(lambda m: st.tuples(st.just(m), softmax_logits(m))))
def test_past_rewards_have_zero_expectation_whatever_their_offset(case):
    """E[grad log pi(a_t|s_t) r_t'] = 0 for every t' < t, also with rewards shifted by +100."""
    mdp, logits = case
    past = lambda b: np.cumsum(b.rewards + 100.0, axis=1) - (b.rewards + 100.0)  # noqa: E731
    np.testing.assert_allclose(exact_mean(mdp, logits, past), 0.0, atol=1e-8 * 110 * mdp.horizon)


@settings(max_examples=30, deadline=None)
@given(small_mdps.flatmap(lambda m: st.tuples(
    st.just(m), softmax_logits(m),
    hnp.arrays(np.float64, (m.n_states, m.n_actions), elements=floats))))
def test_action_dependent_baseline_bias_has_its_closed_form(case):
    """E[sum_t grad log pi(a_t|s_t) phi(s_t, a_t)] = sum_t mu_t(s) pi(b|s) (phi(s,b) - phi_bar(s))."""
    mdp, logits, phi = case
    probs = exact.softmax(logits)
    mu = exact.state_distributions(mdp, probs).sum(0)
    expected = mu[:, None] * probs * (phi - (probs * phi).sum(1, keepdims=True))
    mean = exact_mean(mdp, logits, lambda b: pg.action_dependent_baseline(b.states, b.actions, phi))
    np.testing.assert_allclose(mean, expected, atol=1e-9 * (1 + np.abs(phi).max()) * mdp.horizon)


def test_action_dependent_and_next_state_baselines_are_biased_on_a_chain():
    P = np.zeros((2, 2, 2))
    P[:, 0, 0], P[:, 1, 1] = 1.0, 1.0
    mdp = TabularMDP(P, np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([1.0, 0.0]), 1.0, 3)
    logits = np.zeros((2, 2))
    assert np.abs(exact_mean(mdp, logits, lambda b: pg.next_state_baseline(b.values))).max() > 0.1
    phi = np.array([[0.0, 1.0], [0.0, 1.0]])
    biased = exact_mean(mdp, logits, lambda b: pg.action_dependent_baseline(b.states, b.actions, phi))
    assert np.abs(biased).max() > 0.1


def test_optimal_constant_baseline_minimises_exact_variance():
    rng = np.random.default_rng(3)
    mdp = TabularMDP(rng.dirichlet(np.ones(2), size=(2, 2)), rng.standard_normal((2, 2)) + 5.0,
                     np.array([0.5, 0.5]), 0.9, 3)
    logits = rng.standard_normal((2, 2))
    probs = exact.softmax(logits)
    batch, prob = exact.enumerate_trajectories(mdp, probs)
    psi = pg.reward_to_go(batch.rewards, batch.gamma, restart=False)
    X = score_function_gradients(batch, probs, psi).reshape(len(prob), -1)
    Y = score_function_gradients(batch, probs, np.ones_like(psi)).reshape(len(prob), -1)
    w = prob[:, None] * len(prob)  # exact expectations as weighted means
    b_star = pg.optimal_constant_baseline(X * np.sqrt(w), Y * np.sqrt(w))
    per_coord = pg.optimal_constant_baseline(X * np.sqrt(w), Y * np.sqrt(w), per_coordinate=True)

    def trace_var(b):
        g = X - b * Y
        mean = prob @ g
        return float(prob @ ((g - mean) ** 2).sum(1))

    grid = b_star + np.linspace(-2, 2, 41)
    assert trace_var(b_star) <= min(trace_var(b) for b in grid) + 1e-12
    assert trace_var(b_star) < trace_var(0.0)
    assert trace_var(per_coord) <= trace_var(b_star) + 1e-12
    with pytest.raises(ValueError, match="share a shape"):
        pg.optimal_constant_baseline(X, Y[:, :2])


# ----------------------------------------------------------------------------- fitted baselines

def _rtg_minus(baseline):
    def weights(b):
        psi = pg.reward_to_go(b.rewards, b.gamma, restart=False)
        return psi - baseline(b, psi)
    return weights


def _cross_fitted(b, psi, folds=2):
    features = pg.tabular_features(b.states, int(b.states.max()) + 1)
    return pg.cross_fitted_value(features, psi, folds=folds)


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
def test_cross_fitted_tabular_value_baseline_is_unbiased():
    check_pg_weights(_rtg_minus(_cross_fitted), seed=11, alpha=CORRECT_ALPHA).assert_passed()


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
def test_cross_fitted_linear_value_baseline_is_unbiased():
    def linear(b, psi):
        t = np.broadcast_to(np.arange(b.horizon), b.states.shape)
        features = np.stack([np.ones(b.states.shape), t, b.states, b.states * t], axis=-1)
        return pg.cross_fitted_value(features.astype(float), psi, folds=5)
    check_pg_weights(_rtg_minus(linear), seed=12, alpha=CORRECT_ALPHA).assert_passed()


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
def test_leave_one_out_mean_baseline_is_unbiased():
    check_pg_weights(_rtg_minus(lambda b, psi: pg.mean_baseline(psi)), seed=13,
                     alpha=CORRECT_ALPHA).assert_passed()


def _caught_decisively(result) -> None:
    """The planted bug fails the check with a p-value far below its threshold, so that another
    seed would miss it with negligible probability (declared ``BUG_MISS_ALPHA``)."""
    assert not result.passed, result.verdict
    assert min(leaf_p_values(result)) < DECISIVE_P, f"caught only narrowly: {result.verdict}"


@pytest.mark.statistical(alpha=BUG_MISS_ALPHA)
def test_fitted_value_on_next_states_is_caught():
    """Planted bug for the fitted-baseline tests: the regression evaluated at s_{t+1}."""
    def next_state(b, psi):
        return pg.next_state_baseline(_cross_fitted(b, psi))
    _caught_decisively(check_pg_weights(_rtg_minus(next_state), seed=11))


@pytest.mark.statistical(alpha=BUG_MISS_ALPHA)
def test_own_return_baseline_is_caught():
    own = _rtg_minus(lambda b, psi: pg.own_return_baseline(b.rewards, b.gamma))
    _caught_decisively(check_pg_weights(own, seed=13))


def test_enumeration_probabilities_sum_to_one_and_match_sampling():
    rng = np.random.default_rng(0)
    mdp = TabularMDP(rng.dirichlet(np.ones(2), size=(2, 3)), rng.standard_normal((2, 3)),
                     np.array([0.3, 0.7]), 0.9, 3)
    probs = exact.softmax(rng.standard_normal((2, 3)))
    batch, prob = exact.enumerate_trajectories(mdp, probs)
    assert len(prob) == 6**3 and abs(prob.sum() - 1) < 1e-12
    np.testing.assert_allclose(prob @ batch.rewards @ batch.discounts(), exact.evaluate(mdp, probs),
                               atol=1e-12)
    with pytest.raises(ValueError, match="MAX_ENUMERATED"):
        exact.enumerate_trajectories(TabularMDP(np.ones((4, 4, 4)) / 4, np.zeros((4, 4)),
                                             np.ones(4) / 4, 1.0, 6), np.ones((4, 4)) / 4)


@pytest.mark.statistical(alpha=1e-9)
def test_exact_covariance_matches_sampled_covariance():
    """The enumerated covariance agrees with 200000 sampled episodes (relative error of the trace
    within 5%). The relative error's standard deviation was 1.2% at 20000 episodes (40 seeds), a
    4.2-sd tolerance; at 200000 it is about 0.38%, a 13-sd tolerance (still 8.8 sd were the
    sd 50% larger: a normal tail far below the declared 1e-9)."""
    rng = np.random.default_rng(1)
    mdp = TabularMDP(rng.dirichlet(np.ones(2), size=(2, 2)), rng.standard_normal((2, 2)),
                     np.array([0.5, 0.5]), 0.8, 4)
    logits = rng.standard_normal((2, 2))
    fn = lambda b: pg.reward_to_go(b.rewards, b.gamma, restart=False)  # noqa: E731
    _, cov = exact.exact_moments(mdp, logits, fn)
    probs = exact.softmax(logits)
    n = 200_000
    batch = sample(mdp, probs, n, np.random.default_rng(2))
    g = score_function_gradients(batch, probs, fn(batch)).reshape(n, -1)
    assert abs(np.trace(np.cov(g, rowvar=False)) / np.trace(cov) - 1) < 0.05
