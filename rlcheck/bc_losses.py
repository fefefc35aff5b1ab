"""Behaviour-cloning losses for a Gaussian policy ``pi(. | s)`` and expert actions ``a``.

Two losses, each with a ``mean`` (default) and a ``sum`` reduction over the batch of ``B``
expert actions:

* :func:`nll`, the negative log-likelihood ``-1/B sum_i log pi(a_i | s_i)``, where the joint
  log-density of a diagonal Gaussian is the sum over action dimensions
  (``-dist.log_prob(a).sum(-1).mean()`` for a per-dimension ``Normal``).
* :func:`mse_rsample`, the squared error of a reparameterised sample,
  ``1/B sum_i ||x_i - a_i||²`` with ``x_i = mu_i + sigma_i * eps_i`` and ``eps_i ~ N(0, I)``.
  Its expectation is ``||mu - a||² + tr Sigma``, so minimising it also drives ``sigma`` to 0.
  (``torch.nn.functional.mse_loss`` averages over the ``d`` action dimensions as well, which
  divides this loss by ``d`` and leaves its minimiser unchanged.)

With the ``mean`` reduction a batch's gradient is an average, whose expectation does not depend
on ``B``; the ``sum`` reduction multiplies the gradient, and so the effective learning rate, by
``B``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor
from torch.distributions import Distribution

__all__ = [
    "LOSSES",
    "SUM_LOSSES",
    "BCLoss",
    "mse_rsample",
    "mse_rsample_sum",
    "nll",
    "nll_sum",
    "per_sample_log_prob",
]

Reduction = Literal["mean", "sum"]
BCLoss = Callable[[Distribution, Tensor], Tensor]
"""The signature every BC loss has: ``loss(dist, expert_actions [B, d]) -> scalar Tensor``."""


def _check_actions(dist: Distribution, expert_actions: Tensor) -> None:
    """Shapes must match ``[B, d]`` (batch ``[B]``, event ``[d]``; or batch ``[B, d]`` for a
    per-dimension ``Normal``); NaN is refused."""
    if not isinstance(dist, Distribution):
        raise ValueError(f"dist must be a torch Distribution, got {type(dist).__name__}")
    if not isinstance(expert_actions, Tensor):
        raise ValueError(f"expert_actions must be a Tensor, got {type(expert_actions).__name__}")
    if expert_actions.ndim != 2:
        raise ValueError("expert_actions must have shape [B, d], got "
                         f"{tuple(expert_actions.shape)}")
    if torch.isnan(expert_actions).any():
        raise ValueError("expert_actions contain NaN")
    full = tuple(dist.batch_shape + dist.event_shape)
    if full != tuple(expert_actions.shape):
        raise ValueError(f"distribution of batch shape {tuple(dist.batch_shape)} and event shape "
                         f"{tuple(dist.event_shape)} does not match expert_actions of shape "
                         f"{tuple(expert_actions.shape)}")


def _reduce(per_sample: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


def per_sample_log_prob(dist: Distribution, expert_actions: Tensor) -> Tensor:
    """Joint log-density ``log pi(a_i | s_i) = sum_k log pi_k(a_ik | s_i)`` per sample, ``[B]``.

    Works for ``Independent(Normal, 1)`` (whose ``log_prob`` already sums over the event
    dimension) and for a per-dimension ``Normal`` with batch shape ``[B, d]`` (summed here).
    """
    _check_actions(dist, expert_actions)
    log_prob = dist.log_prob(expert_actions)
    return log_prob.sum(-1) if log_prob.ndim == 2 else log_prob


def nll(dist: Distribution, expert_actions: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Negative log-likelihood ``-1/B sum_i log pi(a_i | s_i)`` (``reduction="mean"``) or
    ``-sum_i log pi(a_i | s_i)`` (``"sum"``), with the joint log-density summed over action
    dimensions.

    Raises:
        ValueError: shapes of ``dist`` and ``expert_actions [B, d]`` disagree, or NaN.
    """
    return _reduce(-per_sample_log_prob(dist, expert_actions), reduction)


def mse_rsample(dist: Distribution, expert_actions: Tensor, *,
                reduction: Reduction = "mean") -> Tensor:
    """Squared error of a reparameterised sample, ``1/B sum_i ||x_i - a_i||²`` with
    ``x = dist.rsample()`` (``reduction="mean"``; ``"sum"`` drops the ``1/B``).

    ``E[||x - a||²] = ||mu - a||² + tr Sigma``: the loss penalises the policy's own variance.

    Raises:
        ValueError: shapes of ``dist`` and ``expert_actions [B, d]`` disagree, or NaN.
    """
    _check_actions(dist, expert_actions)
    x = dist.rsample()
    return _reduce(((x - expert_actions) ** 2).sum(-1), reduction)


def nll_sum(dist: Distribution, expert_actions: Tensor) -> Tensor:
    """:func:`nll` with the ``sum`` reduction: ``-sum_i log pi(a_i | s_i)`` (grows with ``B``)."""
    return nll(dist, expert_actions, reduction="sum")


def mse_rsample_sum(dist: Distribution, expert_actions: Tensor) -> Tensor:
    """:func:`mse_rsample` with the ``sum`` reduction: ``sum_i ||x_i - a_i||²`` (grows with
    ``B``)."""
    return mse_rsample(dist, expert_actions, reduction="sum")


LOSSES: dict[str, BCLoss] = {"nll": nll, "mse_rsample": mse_rsample}
"""The two BC losses compared by the ``bc-loss`` claim, with the ``mean`` reduction."""

SUM_LOSSES: dict[str, BCLoss] = {"nll_sum": nll_sum, "mse_rsample_sum": mse_rsample_sum}
"""The same losses with the ``sum`` reduction (their gradient scales with the batch size)."""
