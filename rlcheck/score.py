"""Score-function (likelihood-ratio) gradient estimates for tabular softmax policies."""

from __future__ import annotations

import numpy as np

from rlcheck.mdp import TrajectoryBatch


def score_function_gradients(batch: TrajectoryBatch, probs: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Per-trajectory estimates ``g_i = sum_t grad_theta log pi(a_t|s_t) psi_t``, shape ``[N, S, A]``.

    For the softmax policy ``pi = softmax(theta)``,
    ``d log pi(a|s') / d theta[s, b] = 1[s = s'] (1[a = b] - pi(b|s))``, hence
    ``g_i[s, b] = sum_t psi_t 1[s_t = s] (1[a_t = b] - pi(b|s))``.
    Vectorised with one weighted ``bincount`` over all ``N * T`` steps.

    Args:
        batch: sampled episodes (states and actions ``[N, T]``).
        probs: the sampling policy ``pi(a|s)``, shape ``[S, A]``.
        psi: per-step weights ``[N, T]`` (e.g. returns, reward-to-go, advantages).
    """
    probs = np.asarray(probs, dtype=np.float64)
    psi = np.asarray(psi, dtype=np.float64)
    if psi.shape != batch.states.shape:
        raise ValueError(f"psi must have shape [N, T] = {batch.states.shape}, got {psi.shape}")
    if not np.isfinite(psi).all():
        raise ValueError("psi contains a non-finite weight")
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape [S, A], got {probs.shape}")
    S, A = probs.shape
    N = batch.n
    flat = (np.arange(N)[:, None] * S + batch.states) * A + batch.actions
    counts = np.bincount(flat.ravel(), weights=psi.ravel(), minlength=N * S * A).reshape(N, S, A)
    return counts - counts.sum(axis=2, keepdims=True) * probs[None]
