"""Behaviour-cloning losses as people write them, adapted to :func:`rlcheck.checks.check_bc_loss`.

* ``loss(policy, obs, actions)``: most code computes the loss from a policy module
  (``dist = policy(obs)``), not from a distribution. :func:`as_distribution_loss` wraps it: the
  policy it receives returns the check's distribution for any observations, and ``obs`` are
  placeholder observations ``[B, OBS_DIM]`` (the check's policy does not depend on them).
* The distribution *type* matters: ``-dist.log_prob(a).sum(-1).mean()`` is the mean NLL for a
  per-dimension ``Normal`` (``log_prob`` is ``[B, d]``), but for ``Independent(Normal, 1)``
  ``log_prob`` is already ``[B]`` and ``.sum(-1)`` sums over the *batch*. :func:`explain_failure`
  detects that case (the loss on ``Independent`` equals ``B`` times the loss on ``Normal``) and
  says so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal

from rlcheck.result import CheckResult

OBS_DIM = 4
"""Width of the placeholder observations handed to ``loss(policy, obs, actions)``."""


class FixedPolicy(nn.Module):
    """A policy module that returns one given distribution whatever the observations."""

    def __init__(self, dist: Distribution) -> None:
        super().__init__()
        self.dist = dist

    def forward(self, obs: Tensor) -> Distribution:
        """The distribution (its batch is the expert actions' batch)."""
        return self.dist


def _n_required_positional(fn: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume (dist, actions)
        return 2
    return sum(p.default is inspect.Parameter.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def as_distribution_loss(loss_fn: Callable[..., Tensor]) -> Callable[[Distribution, Tensor], Tensor]:
    """``loss_fn`` as ``loss(dist, actions)``: unchanged if it takes two arguments; a
    ``loss(policy, obs, actions)`` gets a :class:`FixedPolicy` returning ``dist`` and placeholder
    observations ``[B, OBS_DIM]``."""
    if _n_required_positional(loss_fn) != 3:
        return loss_fn

    def on_distribution(dist: Distribution, actions: Tensor) -> Tensor:
        obs = torch.zeros(actions.shape[0], OBS_DIM, dtype=actions.dtype)
        return loss_fn(FixedPolicy(dist), obs, actions)
    return on_distribution


def _loss_on(loss_fn: Callable[[Distribution, Tensor], Tensor], kind: str, batch: int) -> float:
    generator = torch.Generator().manual_seed(0)
    loc = torch.randn(batch, 3, generator=generator, dtype=torch.float64)
    scale = 0.5 + torch.rand(batch, 3, generator=generator, dtype=torch.float64)
    actions = loc + scale * torch.randn(batch, 3, generator=generator, dtype=torch.float64)
    dist: Distribution = Normal(loc, scale)
    if kind == "independent":
        dist = Independent(dist, 1)
    with torch.no_grad():
        return float(loss_fn(dist, actions))


def explain_failure(result: CheckResult, loss_fn: Callable[[Distribution, Tensor], Tensor],
                    distribution: str) -> CheckResult:
    """If ``result`` failed on ``Independent(Normal)`` and the loss there is ``B`` times its value
    on a per-dimension ``Normal`` (for two batch sizes), say that the loss sums over the batch
    because it was written for a per-dimension ``Normal``."""
    if result.passed or distribution != "independent":
        return result
    try:
        ratios = [_loss_on(loss_fn, "independent", B) / _loss_on(loss_fn, "normal", B)
                  for B in (5, 11)]
    except Exception:  # the loss does not run on a per-dimension Normal: nothing to explain
        return result
    if not all(abs(r - B) <= 1e-6 * B for r, B in zip(ratios, (5, 11), strict=True)):
        return result
    why = ("the loss was written for a per-dimension Normal (log_prob [B, d]): on this "
           "Independent(Normal) log_prob is already [B] (summed over action dimensions), so "
           ".sum(-1) sums over the batch and the loss is B times the mean NLL. Use "
           "-dist.log_prob(a).mean() for Independent, or check with distribution='normal' if your "
           "policy returns a per-dimension Normal")
    return replace(result, verdict=f"{result.verdict}; {why}",
                   details={**result.details, "written_for": "normal"})
