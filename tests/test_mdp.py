"""TabularMDP validation and the vectorised sampler."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from rlcheck import exact, stats
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP, random_mdp
from rlcheck.strategies import mdps

P_OK = np.full((2, 2, 2), 0.5)
R_OK = np.zeros((2, 2))
INIT_OK = np.array([1.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"P": np.full((2, 2, 3), 1 / 3)}, r"P must have shape \[S, A, S\]"),
        ({"P": np.full((2, 2), 0.5)}, "P must have 3 dimensions"),
        ({"P": np.full((2, 2, 2), 0.6)}, "sums to 1.2"),
        ({"P": np.array([[[1.5, -0.5], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]]])}, "negative"),
        ({"P": np.array([[[np.nan, 1.0], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]]])}, "non-finite"),
        ({"R": np.zeros((2, 3))}, "R must have shape"),
        ({"R": np.array([[0.0, np.inf], [0.0, 0.0]])}, "non-finite reward"),
        ({"init": np.array([0.5, 0.6])}, "init row"),
        ({"init": np.ones(3) / 3}, "init must have shape"),
        ({"gamma": 1.5}, "gamma must lie in"),
        ({"gamma": -0.1}, "gamma must lie in"),
        ({"gamma": float("nan")}, "gamma must lie in"),
        ({"horizon": 0}, "horizon must be >= 1"),
        ({"horizon": 2.5}, "horizon must be an integer"),
    ],
)
def test_constructor_rejects_bad_input(kwargs: dict, message: str) -> None:
    args = {"P": P_OK, "R": R_OK, "init": INIT_OK, "gamma": 0.9, "horizon": 3} | kwargs
    with pytest.raises(ValueError, match=message):
        TabularMDP(**args)


def test_mdp_arrays_are_read_only_copies() -> None:
    P = P_OK.copy()
    mdp = TabularMDP(P, R_OK, INIT_OK, 0.9, 3)
    P[0, 0, 0] = 7.0
    assert mdp.P[0, 0, 0] == 0.5
    with pytest.raises(ValueError):
        mdp.R[0, 0] = 1.0


def test_sample_shapes_dtypes_and_exact_values() -> None:
    mdp = random_mdp(4, 3, 5, 0.8, np.random.default_rng(0))
    probs = exact.softmax(np.random.default_rng(1).standard_normal((4, 3)))
    batch = sample(mdp, probs, 64, np.random.default_rng(2))
    assert batch.states.shape == batch.actions.shape == batch.rewards.shape == (64, 5)
    assert batch.states.dtype.kind == batch.actions.dtype.kind == "i"
    assert batch.final_states.shape == (64,)
    np.testing.assert_array_equal(batch.rewards, mdp.R[batch.states, batch.actions])
    V = exact.values(mdp, probs)
    np.testing.assert_array_equal(batch.values, V[np.arange(5), batch.states])


def test_sample_is_deterministic_given_the_seed() -> None:
    mdp = random_mdp(3, 2, 4, 0.9, np.random.default_rng(0))
    probs = np.full((3, 2), 0.5)
    a = sample(mdp, probs, 10, np.random.default_rng(7))
    b = sample(mdp, probs, 10, np.random.default_rng(7))
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.actions, b.actions)


def test_sample_never_visits_impossible_states_or_actions() -> None:
    P = np.zeros((3, 2, 3))
    P[:, 0, 1] = 1.0
    P[:, 1, 2] = 1.0
    mdp = TabularMDP(P, np.zeros((3, 2)), np.array([1.0, 0, 0]), 1.0, 6)
    probs = np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5]])
    batch = sample(mdp, probs, 500, np.random.default_rng(0))
    assert (batch.states[:, 0] == 0).all()
    assert (batch.actions == 0).all()
    assert (batch.states[:, 1:] == 1).all()


def test_sample_rejects_bad_policy_and_n() -> None:
    mdp = random_mdp(2, 2, 3, 0.9, np.random.default_rng(0))
    with pytest.raises(ValueError, match="policy must have shape"):
        sample(mdp, np.full((2, 3), 1 / 3), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="policy row"):
        sample(mdp, np.full((2, 2), 0.4), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        sample(mdp, np.full((2, 2), 0.5), 0, np.random.default_rng(0))


# Each statistical test below fails falsely with probability alpha (family-wise over Bonferroni parts).

@pytest.mark.statistical(alpha=1e-6)
def test_sampled_visitation_matches_exact_state_action_distribution() -> None:
    """Per-step one-hot (s_t, a_t) indicators have mean mu_t(s) pi(a|s): Hotelling at alpha=1e-6."""
    mdp = random_mdp(3, 2, 4, 0.9, np.random.default_rng(10))
    probs = exact.softmax(np.random.default_rng(11).standard_normal((3, 2)))
    batch = sample(mdp, probs, 20_000, np.random.default_rng(12))
    onehot = np.zeros((batch.n, mdp.horizon, 3, 2))
    n_idx, t_idx = np.indices(batch.states.shape)
    onehot[n_idx, t_idx, batch.states, batch.actions] = 1.0
    expected = exact.state_distributions(mdp, probs)[:, :, None] * probs[None]
    stats.hotelling_test(onehot, expected, alpha=1e-6).assert_passed()


@pytest.mark.statistical(alpha=1e-6)
def test_sampler_with_wrong_transitions_is_caught() -> None:
    """The same test rejects a sampler that draws from a perturbed transition matrix."""
    mdp = random_mdp(3, 2, 4, 0.9, np.random.default_rng(10))
    P = mdp.P.copy()
    P[:, 0] = 0.7 * P[:, 0] + 0.3 * np.eye(3)[2]  # action 0 drifts towards state 2
    wrong = TabularMDP(P, mdp.R, mdp.init, mdp.gamma, mdp.horizon)
    probs = exact.softmax(np.random.default_rng(11).standard_normal((3, 2)))
    batch = sample(wrong, probs, 20_000, np.random.default_rng(12))
    onehot = np.zeros((batch.n, mdp.horizon, 3, 2))
    n_idx, t_idx = np.indices(batch.states.shape)
    onehot[n_idx, t_idx, batch.states, batch.actions] = 1.0
    expected = exact.state_distributions(mdp, probs)[:, :, None] * probs[None]
    assert not stats.hotelling_test(onehot, expected, alpha=1e-6).passed


@pytest.mark.statistical(alpha=1e-6)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(mdps(max_states=4, max_actions=3, max_horizon=5))
def test_monte_carlo_return_lies_in_interval_of_exact_J(mdp: TabularMDP) -> None:
    """Over 10 derandomised hypothesis MDPs, each t-test at alpha=1e-7 (family-wise 1e-6)."""
    probs = np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)
    returns = sample(mdp, probs, 4_000, np.random.default_rng(0)).returns()
    J = exact.evaluate(mdp, probs)
    if returns.std() == 0:
        assert returns[0] == pytest.approx(J, abs=1e-9)
        return
    stats.t_test(returns, J, alpha=1e-7).assert_passed()


@settings(max_examples=30, deadline=None)
@given(mdps())
def test_strategy_draws_valid_mdps(mdp: TabularMDP) -> None:
    assert 1 <= mdp.n_states <= 4 and 1 <= mdp.n_actions <= 3 and 1 <= mdp.horizon <= 6
    assert 0.0 <= mdp.gamma <= 1.0


# ----------------------------------------------------------------------------- bad input (#16)


def _chain() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    P = np.zeros((2, 1, 2))
    P[:, 0, 1] = 1.0
    return P, np.zeros((2, 1)), np.array([1.0, 0.0])


@pytest.mark.parametrize("which", ["P", "R", "init"])
def test_complex_arrays_are_refused_not_truncated(which: str) -> None:
    """Complex P/R/init lost their imaginary part silently."""
    arrays = dict(zip(("P", "R", "init"), _chain(), strict=True))
    arrays[which] = arrays[which] + 1e-3j
    with pytest.raises(TypeError, match=f"{which} must hold real numbers, got complex"):
        TabularMDP(arrays["P"], arrays["R"], arrays["init"], 0.9, 3)


@pytest.mark.parametrize("gamma, error", [
    (None, TypeError), (True, TypeError), ("0.9", TypeError), (0.9 + 0j, TypeError),
    (float("nan"), ValueError), (1.5, ValueError), (np.array([0.9]), TypeError),
])
def test_bad_gamma_names_gamma(gamma: object, error: type) -> None:
    """gamma=None gave "float() argument must be ..."; gamma=True and "0.9" were coerced."""
    with pytest.raises(error, match="gamma"):
        TabularMDP(*_chain(), gamma, 3)


@pytest.mark.parametrize("horizon, error", [
    (float("inf"), ValueError), (float("nan"), ValueError), (2.5, ValueError),
    (0, ValueError), (True, TypeError), ("3", TypeError), (None, TypeError),
])
def test_bad_horizon_names_horizon(horizon: object, error: type) -> None:
    """horizon=inf raised OverflowError."""
    with pytest.raises(error, match="horizon"):
        TabularMDP(*_chain(), 0.9, horizon)


def test_arrays_are_owned_and_cannot_be_made_writeable() -> None:
    """The caller could flip mdp.P.flags.writeable back on and break a row sum."""
    P, R, init = _chain()
    mdp = TabularMDP(P, R, init, 0.9, 3)
    P[0, 0, 0] = 5.0  # the caller's array is not the MDP's
    assert mdp.P[0, 0, 0] == 0.0
    for array in (mdp.P, mdp.R, mdp.init):
        with pytest.raises(ValueError):
            array.flags.writeable = True
        with pytest.raises(ValueError):
            array[...] = 0.0
    with pytest.raises(ValueError, match="P must have 3 dimensions"):
        TabularMDP(P[0], R, init, 0.9, 3)
    with pytest.raises(TypeError, match="R must hold real numbers, got dtype <U"):
        TabularMDP(P, np.array([["a"], ["b"]]), init, 0.9, 3)


def test_random_mdp_and_sample_name_their_arguments() -> None:
    """rng=None raised AttributeError."""
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        random_mdp(2, 2, 3, 0.9, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_states must be an integer"):
        random_mdp(2.5, 2, 3, 0.9, np.random.default_rng(0))  # type: ignore[arg-type]
    mdp = random_mdp(2, 2, 3, 0.9, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be"):
        sample(mdp, np.full((2, 2), 0.5), 5, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be an integer, got inf"):
        sample(mdp, np.full((2, 2), 0.5), float("inf"), np.random.default_rng(0))
