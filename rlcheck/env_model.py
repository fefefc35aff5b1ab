"""Gymnasium toy-text models (``env.unwrapped.P``) as arrays, and random models in that format.

FrozenLake, Taxi, CliffWalking and most tutorials describe their MDP as nested lists:
``env_P[s][a] = [(prob, next_state, reward, done), ...]``. The episode *ends* after a transition
with ``done = True``, whatever ``next_state`` is (Taxi's successful drop-off lands in an ordinary
state), so its future value is 0. :func:`model_from_env_P` returns the equivalent arrays over
``S + 1`` states, the last one an absorbing zero-reward state entered by every ``done``
transition:

    ``P[s, a, s'] = sum of prob over outcomes (prob, s', r, False)``,
    ``P[s, a, S] = sum of prob over outcomes with done``, ``R[s, a] = sum of prob * reward``,

so ``V(s) = max_a sum prob [r + gamma (1 - done) V(next_state)]`` is the Bellman equation of the
arrays, and :mod:`rlcheck.bellman` solves it exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rlcheck.validation import ATOL_DISTRIBUTION

Outcome = tuple[float, int, float, bool]
"""``(prob, next_state, reward, done)``."""


def _rows(name: str, table: Any) -> list[Any]:
    if isinstance(table, Mapping):
        keys = sorted(table)
        if keys != list(range(len(keys))):
            raise ValueError(f"{name} must be indexed 0..n-1, got keys {keys[:8]}")
        return [table[k] for k in keys]
    if isinstance(table, Sequence) and not isinstance(table, str):
        return list(table)
    raise ValueError(f"{name} must be a dict or list, got {type(table).__name__}")


def model_from_env_P(env_P: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(P [S+1, A, S+1], R [S+1, A])`` of ``env_P[s][a] = [(prob, next_state, reward, done)]``
    (see the module docstring); ``ValueError`` naming ``env_P[s][a]`` for malformed entries."""
    states = _rows("env_P", env_P)
    if not states:
        raise ValueError("env_P has no states")
    S = len(states)
    actions = [_rows(f"env_P[{s}]", row) for s, row in enumerate(states)]
    A = len(actions[0])
    if A == 0 or any(len(a) != A for a in actions):
        counts = sorted({len(a) for a in actions})
        raise ValueError(f"every state of env_P must have the same actions, got counts {counts}")
    P = np.zeros((S + 1, A, S + 1))
    R = np.zeros((S + 1, A))
    P[S, :, S] = 1.0
    for s in range(S):
        for a in range(A):
            where = f"env_P[{s}][{a}]"
            outcomes = actions[s][a]
            if not isinstance(outcomes, Sequence) or not outcomes:
                raise ValueError(f"{where} must be a non-empty list of (prob, next_state, reward, "
                                 f"done), got {outcomes!r}")
            for outcome in outcomes:
                if len(outcome) != 4:
                    raise ValueError(f"{where} holds {outcome!r}: expected (prob, next_state, "
                                     "reward, done)")
                prob, nxt, reward, done = outcome
                prob, reward = float(prob), float(reward)
                if not (0.0 <= prob <= 1.0) or not np.isfinite(reward):
                    raise ValueError(f"{where} holds {outcome!r}: prob must lie in [0, 1] and "
                                     "reward be finite")
                if int(nxt) != nxt or not 0 <= int(nxt) < S:
                    raise ValueError(f"{where} holds next_state {nxt!r} outside [0, {S})")
                P[s, a, S if done else int(nxt)] += prob
                R[s, a] += prob * reward
            total = P[s, a].sum()
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"{where} probabilities sum to {total:.9g}, not 1")
            P[s, a] /= total  # remove rounding (FrozenLake's thirds) below ATOL_DISTRIBUTION
    assert np.abs(P.sum(axis=2) - 1.0).max() <= ATOL_DISTRIBUTION
    return P, R


def random_env_P(n_states: int, n_actions: int,
                 rng: np.random.Generator) -> dict[int, dict[int, list[Outcome]]]:
    """A random model in ``env.P`` format where ``done`` matters: up to three outcomes per
    ``(s, a)``, rewards ``N(0, 1)`` (done outcomes ``N(5, 1)``, Taxi's drop-off style), and a done
    outcome that lands in an *ordinary* state, whose value must not be bootstrapped."""
    env_P: dict[int, dict[int, list[Outcome]]] = {}
    for s in range(n_states):
        env_P[s] = {}
        for a in range(n_actions):
            k = int(rng.integers(1, 4))
            probs = rng.dirichlet(np.ones(k))
            done = rng.random(k) < 0.3
            env_P[s][a] = [(float(p), int(rng.integers(n_states)),
                            float(rng.normal(5.0 if d else 0.0, 1.0)), bool(d))
                           for p, d in zip(probs, done, strict=True)]
    return env_P
