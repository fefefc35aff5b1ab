"""Sampling episodes from a :class:`~rlcheck.mdp.TabularMDP`, with their exact values attached.

The sampler is vectorised over episodes (the only Python loop runs over the ``T`` time steps)
and draws by inverse CDF from one ``numpy`` ``Generator``. Each batch carries the exact
``V_t(s_t)`` of the sampling policy from :func:`rlcheck.exact.values`, so baselines can be
tested against the truth; that is why this module sits above :mod:`rlcheck.exact`, which sits
above :mod:`rlcheck.mdp`.
"""

from __future__ import annotations

import numpy as np

from rlcheck.exact import values as exact_values
from rlcheck.mdp import TabularMDP, TrajectoryBatch, validate_policy
from rlcheck.validation import validate_positive_int, validate_rng


def _categorical(cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: the index of the first entry of each cdf row exceeding ``u``."""
    index = (cdf_rows <= u[:, None]).sum(axis=1)
    return np.minimum(index, cdf_rows.shape[1] - 1)


def sample(mdp: TabularMDP, probs: np.ndarray, n: int, rng: np.random.Generator) -> TrajectoryBatch:
    """Sample ``n`` episodes under the stationary policy ``probs[s, a] = pi(a|s)``.

    Vectorised over episodes: the only Python loop is over the ``T`` time steps.
    ``values`` holds the exact ``V_t(s_t)`` from :func:`rlcheck.exact.values`.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    probs = validate_policy(mdp, probs)
    n = validate_positive_int(n, "n")
    rng = validate_rng(rng)
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    policy_cdf = np.cumsum(probs, axis=1)
    transition_cdf = np.cumsum(mdp.P, axis=2).reshape(S * A, S)
    states = np.empty((n, T), dtype=np.int64)
    actions = np.empty((n, T), dtype=np.int64)
    s = _categorical(np.broadcast_to(np.cumsum(mdp.init), (n, S)), rng.random(n))
    for t in range(T):
        a = _categorical(policy_cdf[s], rng.random(n))
        states[:, t] = s
        actions[:, t] = a
        s = _categorical(transition_cdf[s * A + a], rng.random(n))
    V = exact_values(mdp, probs)
    return TrajectoryBatch(
        states=states,
        actions=actions,
        rewards=mdp.R[states, actions],
        gamma=mdp.gamma,
        values=V[np.arange(T)[None, :], states],
        final_states=s,
    )
