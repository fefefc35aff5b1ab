"""Planted bugs in behaviour-cloning losses, for :func:`rlcheck.checks.check_bc_loss`.

A loss maps ``(dist, expert_actions [B, d])`` to a scalar tensor, where ``dist`` is the policy's
action distribution at the batch's observations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlcheck.trust.bugs import Must, Mutant


def _joint_log_prob(dist: Any, actions: Any) -> Any:
    """``log pi(a|s)`` per sample ``[B]`` for an ``Independent`` or a per-dimension ``Normal``."""
    log_prob = dist.log_prob(actions)
    return log_prob.sum(-1) if log_prob.ndim == 2 else log_prob


def loss_nll(dist: Any, actions: Any) -> Any:
    """``-1/B sum_i log pi(a_i|s_i)`` (correct)."""
    return -_joint_log_prob(dist, actions).mean()


def _loss_nll_sum(dist: Any, actions: Any) -> Any:
    return -_joint_log_prob(dist, actions).sum()


def _loss_nll_fixed_divisor(dist: Any, actions: Any) -> Any:
    return -_joint_log_prob(dist, actions).sum() / 100.0


def _loss_sign_flipped(dist: Any, actions: Any) -> Any:
    return _joint_log_prob(dist, actions).mean()


def _loss_mse_sample(dist: Any, actions: Any) -> Any:
    return ((dist.sample() - actions) ** 2).sum(-1).mean()


def _loss_log_prob_of_mean(dist: Any, actions: Any) -> Any:
    return -_joint_log_prob(dist, dist.mean).mean()


def _loss_mse_mean_detached(dist: Any, actions: Any) -> Any:
    return ((dist.mean.detach() - actions) ** 2).sum(-1).mean().requires_grad_()


def _loss_nll_std_detached(dist: Any, actions: Any) -> Any:
    from torch.distributions import Normal

    return -Normal(dist.mean, dist.stddev.detach()).log_prob(actions).sum(-1).mean()


def _loss_mse_rsample(dist: Any, actions: Any) -> Any:
    """``1/B sum_i ||rsample_i - a_i||²`` (correct for the mean; also shrinks sigma)."""
    return ((dist.rsample() - actions) ** 2).sum(-1).mean()


def _loss_nll_no_constant(dist: Any, actions: Any) -> Any:
    """NLL written out without the ``log 2 pi / 2`` constant (same gradient)."""
    import torch

    mean, std = dist.mean, dist.stddev
    per_dim = torch.log(std) + 0.5 * ((actions - mean) / std) ** 2
    return per_dim.sum(-1).mean()


def _loss_nll_mean_over_dims(dist: Any, actions: Any) -> Any:
    """NLL averaged over action dimensions too: the gradient divided by ``d`` (a learning-rate
    rescaling, not a bias)."""
    return -_joint_log_prob(dist, actions).mean() / actions.shape[-1]


def _bc(name: str, description: str, must: Must, loss_fn: Callable[..., Any],
        **options: Any) -> Mutant:
    return Mutant(name, description, "bc-loss", must, "check_bc_loss", loss_fn, options)


def mutants() -> list[Mutant]:
    """The behaviour-cloning loss mutants (area ``bc-loss``)."""
    return [
        _bc("bc-sum-reduction", "-log_prob(a).sum() over the batch: the gradient (and the "
            "effective learning rate) grows with the batch size", "catch", _loss_nll_sum),
        _bc("bc-fixed-divisor", "sum divided by a hard-coded batch size of 100: wrong for every "
            "other batch size", "catch", _loss_nll_fixed_divisor),
        _bc("bc-sign-flipped", "+log_prob(a).mean(): maximises the loss", "catch",
            _loss_sign_flipped),
        _bc("bc-sample-not-rsample", "MSE of dist.sample() (not rsample): no gradient reaches "
            "the policy", "catch", _loss_mse_sample),
        _bc("bc-log-prob-of-own-mean", "log_prob of the policy's own mean instead of the "
            "expert's action", "catch", _loss_log_prob_of_mean),
        _bc("bc-detached-prediction", "prediction detached before the loss (.detach() on the "
            "policy output)", "catch", _loss_mse_mean_detached),
        _bc("bc-std-detached", "the policy's std detached when the Normal is rebuilt: sigma "
            "never learns", "catch", _loss_nll_std_detached),
        _bc("bc-nll", "-log_prob(a).mean() with the joint log-density", "pass", loss_nll),
        _bc("bc-nll-per-dimension-normal", "-log_prob(a).sum(-1).mean() on a per-dimension "
            "Normal", "pass", loss_nll, distribution="normal"),
        _bc("bc-mse-rsample", "MSE of a reparameterised sample (correct for the mean)", "pass",
            _loss_mse_rsample),
        _bc("bc-nll-without-constant", "NLL written by hand without the log(2 pi)/2 constant",
            "pass", _loss_nll_no_constant),
        _bc("bc-nll-mean-over-dims", "NLL averaged over action dimensions as well (a 1/d "
            "rescaling)", "pass", _loss_nll_mean_over_dims),
    ]
