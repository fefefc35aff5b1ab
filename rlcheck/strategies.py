"""Hypothesis strategies for property tests over small MDPs and softmax policies.

Sizes stay small so exact oracles run in microseconds, and every drawn number shrinks towards a
readable counterexample (uniform transitions, zero rewards, zero logits)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rlcheck.mdp import TabularMDP

_weights = st.floats(0.0, 1.0, allow_nan=False, width=32)


def _distribution(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    """Rows drawn as non-negative weights, normalised; an all-zero row becomes uniform."""
    w = draw(hnp.arrays(np.float64, shape, elements=_weights)) + 0.0
    w = np.where(w.sum(axis=-1, keepdims=True) > 0, w, 1.0)
    return w / w.sum(axis=-1, keepdims=True)


@st.composite
def mdps(draw: st.DrawFn, max_states: int = 4, max_actions: int = 3, max_horizon: int = 6,
         gamma: st.SearchStrategy[float] | None = None,
         reward_bound: float = 10.0) -> TabularMDP:
    """Random :class:`~rlcheck.mdp.TabularMDP` with 1..max_states states, 1..max_actions actions,
    horizon 1..max_horizon, gamma in [0, 1] (by default) and rewards in ``[-reward_bound, reward_bound]``."""
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(1, max_actions))
    T = draw(st.integers(1, max_horizon))
    g = draw(gamma if gamma is not None else st.floats(0.0, 1.0, allow_nan=False))
    R = draw(hnp.arrays(np.float64, (S, A),
                        elements=st.floats(-reward_bound, reward_bound, allow_nan=False, width=32)))
    return TabularMDP(_distribution(draw, (S, A, S)), R + 0.0, _distribution(draw, (S,)), g, T)


def softmax_logits(mdp: TabularMDP, bound: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """Logits ``[S, A]`` in ``[-bound, bound]`` for a softmax policy on ``mdp``."""
    return hnp.arrays(np.float64, (mdp.n_states, mdp.n_actions),
                      elements=st.floats(-bound, bound, allow_nan=False, width=32))
