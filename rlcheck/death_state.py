"""Discounting as a death state (CS285, "Actor-Critic Algorithms", aside on discount factors).

Given a discounted MDP ``M = (S, A, P, R, gamma)``, build the undiscounted MDP ``M'`` on
``S + {dead}``:

* ``P'(s' | s, a) = gamma P(s' | s, a)`` for ``s'`` in ``S`` and ``P'(dead | s, a) = 1 - gamma``;
* ``dead`` is absorbing, with reward 0 under every action; ``M'`` has ``gamma' = 1``.

The reward ``r_t`` is collected before the death draw of step ``t``. By induction
``Pr_M'(s_t = s) = gamma^t Pr_M(s_t = s)`` on ``S`` for every Markov policy, hence

* finite horizon ``T``: ``E_M'[sum_{t<T} r_t] = E_M[sum_{t<T} gamma^t r_t]``, and the values
  ``V'_t(s) = V_t(s)`` and ``Q'_t = Q_t`` agree on ``S`` for every ``t``;
* infinite horizon (``gamma < 1``): the expected total reward until absorption in ``M'``,
  ``(I - Q'_pi)^(-1) r_pi`` with ``Q'_pi = gamma P_pi`` the transient block of ``M'``'s chain,
  equals ``V_pi = (I - gamma P_pi)^(-1) r_pi``;
* so ``J`` and its gradient in the policy parameters agree, and so do the optimal policies.

Only expectations match. The return of ``M'`` is a sum of a random number of undiscounted rewards
(the lifetime is Geometric(1 - gamma) on ``{1, 2, ...}``, independent of the process), the return
of ``M`` a fixed-length discounted sum: their distributions differ (e.g. in variance, and with
infinite horizon the support of ``M'``'s return is unbounded while ``M``'s is bounded by
``max|R| / (1 - gamma)``). :func:`return_moments` computes both first and second moments exactly.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rlcheck.bellman import check_model, policy_matrices
from rlcheck.mdp import TabularMDP, validate_policy


def with_death_state(mdp: TabularMDP) -> TabularMDP:
    """The undiscounted MDP ``M'`` with an absorbing zero-reward death state (the last index).

    ``P'[s, a, :S] = gamma P[s, a]``, ``P'[s, a, S] = 1 - gamma``, ``P'[S, a, S] = 1``,
    ``R'[S, a] = 0``, ``init' = (init, 0)``, ``gamma' = 1`` and the same horizon.
    """
    S, A = mdp.n_states, mdp.n_actions
    P = np.zeros((S + 1, A, S + 1))
    P[:S, :, :S] = mdp.gamma * mdp.P
    P[:S, :, S] = 1.0 - mdp.gamma
    P[S, :, S] = 1.0
    R = np.vstack([mdp.R, np.zeros((1, A))])
    init = np.append(mdp.init, 0.0)
    return TabularMDP(P, R, init, 1.0, mdp.horizon)


def extend_policy(probs: np.ndarray) -> np.ndarray:
    """Extend ``pi [S, A]`` to ``S + 1`` states (uniform in the death state, where it is irrelevant)."""
    probs = np.asarray(probs, dtype=np.float64)
    return np.vstack([probs, np.full((1, probs.shape[1]), 1.0 / probs.shape[1])])


def extend_logits(logits: np.ndarray) -> np.ndarray:
    """Extend softmax logits ``[S, A]`` with a zero row for the death state."""
    logits = np.asarray(logits, dtype=np.float64)
    return np.vstack([logits, np.zeros((1, logits.shape[1]))])


def absorbing_chain_values(P_chain: ArrayLike, r: ArrayLike, absorbing: ArrayLike) -> np.ndarray:
    """Expected total (undiscounted) reward until absorption of a Markov chain with absorbing
    states, ``v = N r_T`` with the fundamental matrix ``N = (I - Q)^(-1)`` of the transient block
    ``Q`` (Kemeny & Snell 1960). Absorbing states get value 0. Shapes ``[S, S]``, ``[S]``, ``[S]``.

    Raises:
        ValueError: if absorption is not certain (``I - Q`` singular).
    """
    P_chain = np.asarray(P_chain, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    absorbing = np.asarray(absorbing, dtype=bool)
    transient = ~absorbing
    Q = P_chain[np.ix_(transient, transient)]
    lhs = np.eye(int(transient.sum())) - Q
    if np.linalg.matrix_rank(lhs) < lhs.shape[0]:
        raise ValueError("absorption is not certain: I - Q is singular")
    v = np.zeros(P_chain.shape[0])
    v[transient] = np.linalg.solve(lhs, r[transient])
    return v


def infinite_horizon_death_values(mdp: TabularMDP, probs: np.ndarray) -> np.ndarray:
    """``V'(s)``: expected undiscounted reward until death in ``M'`` for every living state
    (``M'``'s horizon is ignored; ``gamma < 1`` so death is certain). Shape ``[S]``."""
    if not mdp.gamma < 1.0:
        raise ValueError(f"the infinite-horizon death MDP needs gamma < 1, got {mdp.gamma}")
    probs = validate_policy(mdp, probs)
    dead = with_death_state(mdp)
    P_chain, r = policy_matrices(dead.P, dead.R, extend_policy(probs))
    absorbing = np.zeros(mdp.n_states + 1, dtype=bool)
    absorbing[-1] = True
    return absorbing_chain_values(P_chain, r, absorbing)[:-1]


def return_moments(mdp: TabularMDP, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact first and second moments of the return ``G_0 = sum_{t<T} gamma^t r_t`` from each
    state, ``(E[G_0 | s_0 = s], E[G_0^2 | s_0 = s])``, each ``[S]``.

    Backward recursion with ``G_t = r_t + gamma G_{t+1}`` and ``r_t = R(s_t, a_t)``:
    ``m1_t(s) = sum_a pi(a|s) [R + gamma P m1_{t+1}]`` and
    ``m2_t(s) = sum_a pi(a|s) [R^2 + 2 gamma R P m1_{t+1} + gamma^2 P m2_{t+1}]``.
    """
    probs = validate_policy(mdp, probs)
    m1 = np.zeros(mdp.n_states)
    m2 = np.zeros(mdp.n_states)
    R, P, g = mdp.R, mdp.P, mdp.gamma
    for _ in range(mdp.horizon):
        next1, next2 = P @ m1, P @ m2
        m1, m2 = ((probs * (R + g * next1)).sum(axis=1),
                  (probs * (R**2 + 2.0 * g * R * next1 + g**2 * next2)).sum(axis=1))
    return m1, m2


def return_variance(mdp: TabularMDP, probs: np.ndarray) -> float:
    """Exact ``Var[G_0]`` with ``s_0 ~ init`` (law of total variance over the start state)."""
    m1, m2 = return_moments(mdp, probs)
    mean = mdp.init @ m1
    return float(mdp.init @ m2 - mean**2)


def infinite_horizon_return_moments(P: ArrayLike, R: ArrayLike, gamma: float, probs: ArrayLike,
                                    undiscounted_until_death: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """First and second moments of the infinite-horizon return from each state, ``[S]`` each.

    Discounted (``M``): ``m1 = r_pi + gamma P_pi m1`` and ``m2 = E[R^2] + 2 gamma E[R P m1] +
    gamma^2 P_pi m2``. Undiscounted until death (``M'``, ``undiscounted_until_death=True``): the
    same equations with ``gamma`` inside the transition only, ``m2 = E[R^2] + 2 gamma E[R P m1] +
    gamma P_pi m2`` (survival has probability ``gamma`` and the future is not shrunk).
    """
    P, R, gamma = check_model(P, R, gamma)
    probs = np.asarray(probs, dtype=np.float64)
    P_pi, r_pi = policy_matrices(P, R, probs)
    eye = np.eye(P.shape[0])
    m1 = np.linalg.solve(eye - gamma * P_pi, r_pi)
    cross = (probs * (R**2 + 2.0 * gamma * R * (P @ m1))).sum(axis=1)
    decay = gamma if undiscounted_until_death else gamma**2
    m2 = np.linalg.solve(eye - decay * P_pi, cross)
    return m1, m2


def sample_death_returns(mdp: TabularMDP, probs: np.ndarray, n: int,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` episodes of ``M' = with_death_state(mdp)`` and return their undiscounted
    returns ``sum_{t<T} r_t`` and lifetimes (steps taken alive, ``min(tau, T)``), each ``[n]``."""
    from rlcheck.episodes import sample

    batch = sample(with_death_state(mdp), extend_policy(validate_policy(mdp, probs)), n, rng)
    alive = batch.states < mdp.n_states
    return batch.rewards.sum(axis=1), alive.sum(axis=1)


def check_death_state_sampling(mdp: TabularMDP, probs: np.ndarray, n: int, *, alpha: float,
                               seed: int = 0, death_mdp: TabularMDP | None = None):
    """Statistical check that sampling the death MDP reproduces the discounted objective.

    Two tests, each at level ``alpha / 2`` (Bonferroni): a one-sample t-test of
    ``H0: E_M'[sum_{t<T} r_t] = J_M`` (the exact discounted objective of ``mdp`` from
    :func:`rlcheck.exact.evaluate`), and an exact binomial test that the fraction of episodes
    dead after their first step is ``1 - gamma`` (needs ``horizon >= 2``). ``death_mdp`` defaults
    to :func:`with_death_state` of ``mdp``; pass another construction (its last state must be
    the death state) to check it.
    """
    from scipy import stats as sps

    from rlcheck import exact
    from rlcheck.episodes import sample
    from rlcheck.result import POWER, CheckResult, combine
    from rlcheck.stats import rate_interval, t_test

    if mdp.horizon < 2:
        raise ValueError("check_death_state_sampling needs horizon >= 2 to observe deaths")
    probs = validate_policy(mdp, probs)
    dead = with_death_state(mdp) if death_mdp is None else death_mdp
    rng = np.random.default_rng(seed)
    batch = sample(dead, extend_policy(probs), n, rng)
    returns = batch.rewards.sum(axis=1)
    mean_test = t_test(returns, exact.evaluate(mdp, probs), alpha=alpha / 2,
                       name="death-MDP return vs exact discounted J", seed=seed)
    death_state_index = dead.n_states - 1
    k = int((batch.states[:, 1] == death_state_index).sum())
    p0 = 1.0 - mdp.gamma
    p_value = float(sps.binomtest(k, n, p0).pvalue)
    a = alpha / 2
    sd = np.sqrt(max(p0 * (1 - p0), 1.0 / n) / n)
    detectable = float((sps.norm.isf(a / 2) + sps.norm.ppf(POWER)) * sd)
    low, high = rate_interval(k, n, a)
    rate_test = CheckResult(
        name="first-step death rate vs 1 - gamma", passed=p_value > a, alpha=a, p_value=p_value,
        statistic=float(k), effect=k / n - p0, ci=(low - p0, high - p0), n=n,
        detectable_effect=detectable, effect_name="death rate minus (1 - gamma)", seed=seed,
        verdict=(f"{k}/{n} = {k / n:.4f} episodes dead after step 0 vs 1 - gamma = {p0:.4f}, "
                 f"binomial p={p_value:.3g} {'>' if p_value > a else '<='} alpha={a:g}"))
    return combine("check_death_state_sampling", [mean_test, rate_test], seed=seed)
