"""``check_bc_loss``: is a behaviour-cloning loss a correct, batch-size-invariant fit to the expert?

The check feeds the loss a diagonal Gaussian policy ``N(mu, diag(sigma)²)`` whose mean ``mu`` and
log standard deviation ``log sigma`` are the parameters (leaf tensors), and batches of expert
actions ``a_i ~ N(m, s² I)`` drawn around an expert mean ``m``. It takes the gradient
``g = d loss / d(mu, log sigma)`` of many independent batches and tests:

1. *scalar*: the loss is a finite 0-d tensor (exact).
2. *gradient reaches the mean*: ``d loss / d mu`` exists, is finite and non-zero at
   ``mu != m`` (exact; a non-reparameterised ``dist.sample()`` or a detached mean fails).
3. *gradient reaches the std*: ``d loss / d log sigma`` exists, is finite and non-zero at
   ``sigma != s`` (exact). A loss without it (the std detached when the distribution is
   rebuilt, or a plain squared error of the mean) leaves ``sigma`` at its initialisation: a
   Gaussian policy trained with it never learns its spread, so its samples are as noisy as the
   initial std says however well the mean fits.
4. *batch-size invariance*: ``E[g]`` at batch size ``B`` equals ``E[g]`` at ``k B``
   (two-sample Hotelling T²). A mean over the batch keeps the expected gradient fixed; a sum
   multiplies it by the batch size, i.e. by ``k`` between the two arms.
5. *stationary at the expert*: ``E[d loss / d mu] = 0`` when ``mu = m`` (Hotelling T²): the
   expert's mean action is a stationary point of the expected loss.
6. *descent moves towards the expert*: the gradient step ``-g`` shortens ``||mu - m||``, i.e.
   ``E[g_mu · (mu - m)] >= 0`` (one-sided t-test of ``H0: E >= 0``; a flipped sign fails).

The three statistical parts share ``alpha`` by Bonferroni (``alpha / 3`` each), so a correct
loss fails the whole check with probability at most ``alpha``. Each part reports the smallest
effect it detects with 95% power at its sample size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Distribution, Normal

from rlcheck.checks.bc_signatures import as_distribution_loss, explain_failure
from rlcheck.checks.guard import guards_user_function
from rlcheck.distributions import diagonal_gaussian
from rlcheck.result import CheckResult, combine
from rlcheck.stats import bonferroni, hotelling_test, t_test, two_sample_test
from rlcheck.validation import validate_alpha, validate_positive_int, validate_seed

__all__ = ["check_bc_loss"]

LossFn = Callable[[Distribution, Tensor], Tensor]

ACTION_DIM = 3
POLICY_STD = (0.3, 0.5, 0.8)
EXPERT_STD = 0.4
OFFSET = 0.5
"""The policy mean sits ``OFFSET`` (per dimension, random signs) away from the expert's mean."""


class _Problem:
    """A fixed diagonal Gaussian policy with leaf parameters ``mu`` and ``log_std`` (float64)
    and an isotropic Gaussian expert ``N(m, EXPERT_STD² I)``."""

    def __init__(self, rng: np.random.Generator, distribution: str) -> None:
        self.rng = rng
        self.distribution = distribution
        self.expert_mean = rng.normal(0.0, 1.0, ACTION_DIM)
        signs = rng.choice([-1.0, 1.0], ACTION_DIM)
        self.offset_mean = self.expert_mean + OFFSET * signs
        self.log_std = np.log(np.asarray(POLICY_STD))

    def gradient(self, loss_fn: LossFn, mean: np.ndarray,
                 batch: int) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Loss and its gradients with respect to ``mu`` and ``log_std`` for one fresh batch."""
        mu = torch.tensor(mean, dtype=torch.float64, requires_grad=True)
        log_std = torch.tensor(self.log_std, dtype=torch.float64, requires_grad=True)
        actions = torch.as_tensor(
            self.expert_mean + EXPERT_STD * self.rng.standard_normal((batch, ACTION_DIM)))
        loc, log_scale = mu.expand(batch, ACTION_DIM), log_std.expand(batch, ACTION_DIM)
        dist: Distribution = (diagonal_gaussian(loc, log_scale)
                              if self.distribution == "independent"
                              else Normal(loc, torch.exp(log_scale)))
        loss = loss_fn(dist, actions)
        if not isinstance(loss, Tensor) or loss.ndim != 0 or not loss.requires_grad:
            return loss, None, None
        g_mu, g_log_std = torch.autograd.grad(loss, [mu, log_std], allow_unused=True)
        return loss, g_mu, g_log_std

    def gradients(self, loss_fn: LossFn, mean: np.ndarray, batch: int, n: int) -> np.ndarray:
        """``n`` independent gradients ``[n, 2 d]`` (``mu`` then ``log_std`` components)."""
        out = np.zeros((n, 2 * ACTION_DIM))
        for i in range(n):
            _, g_mu, g_log_std = self.gradient(loss_fn, mean, batch)
            if g_mu is not None:
                out[i, :ACTION_DIM] = g_mu.detach().numpy()
            if g_log_std is not None:
                out[i, ACTION_DIM:] = g_log_std.detach().numpy()
        return out


def _exact(name: str, passed: bool, verdict: str, seed: int, **details: object) -> CheckResult:
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=0.0, n=1,
                       detectable_effect=0.0, seed=seed, details=details)


def _scalar_and_reach(problem: _Problem, loss_fn: LossFn, seed: int) -> list[CheckResult]:
    """The exact parts: a finite scalar loss, and a finite non-zero gradient reaching ``mu``,
    then (if it does) ``log sigma``."""
    loss, g_mu, g_log_std = problem.gradient(loss_fn, problem.offset_mean, 8)
    if not isinstance(loss, Tensor):
        got = type(loss).__name__
    elif loss.ndim != 0:
        got = f"a tensor of shape {tuple(loss.shape)} (reduce over the batch)"
    elif not torch.isfinite(loss):
        got = f"the value {loss.item()}"
    else:
        got = ""
    if got:
        return [_exact("scalar_loss", False,
                       f"loss_fn must return a finite scalar tensor, got {got}", seed)]
    results = [_exact("scalar_loss", True, f"finite scalar loss {loss.item():.4g}", seed)]
    if g_mu is None:
        why = ("the loss does not depend on the policy parameters (no grad_fn): was it computed "
               "from dist.sample() instead of dist.rsample(), or from detached tensors?"
               if not loss.requires_grad else
               "the loss has a gradient, but none reaches the policy mean")
        results.append(_exact("gradient_reaches_mean", False, why, seed))
        return results
    g = g_mu.detach().numpy()
    norm = float(np.linalg.norm(g))
    ok = bool(np.isfinite(g).all() and norm > 0)
    verdict = (f"|d loss / d mu| = {norm:.3g} at a policy mean {OFFSET} per dimension from the "
               "expert's" + ("" if ok else ": the gradient must be finite and non-zero there"))
    results.append(_exact("gradient_reaches_mean", ok, verdict, seed, grad_mu=g.tolist(),
                          grad_log_std=(None if g_log_std is None
                                        else g_log_std.detach().numpy().tolist())))
    if ok:
        results.append(_std_reach(g_log_std, seed))
    return results


def _std_reach(g_log_std: Tensor | None, seed: int) -> CheckResult:
    """Exact part: a finite non-zero ``d loss / d log sigma`` at ``sigma != s`` (the policy's
    std :data:`POLICY_STD` differs from the expert's :data:`EXPERT_STD` in every dimension)."""
    consequence = ("sigma stays at its initialisation: a Gaussian policy trained with this loss "
                   "never learns its spread (use the NLL -dist.log_prob(a).mean(), or a squared "
                   "error of dist.rsample(); do not detach dist.stddev)")
    if g_log_std is None:
        return _exact("gradient_reaches_std", False,
                      "no gradient reaches the policy's std (log sigma): was the std detached, "
                      "or does the loss use only the mean (a squared error of dist.mean)? "
                      + consequence, seed)
    g = g_log_std.detach().numpy()
    norm = float(np.linalg.norm(g))
    ok = bool(np.isfinite(g).all() and norm > 0)
    verdict = (f"|d loss / d log sigma| = {norm:.3g} at a policy std {POLICY_STD} against the "
               f"expert's {EXPERT_STD}" + ("" if ok else ": the gradient must be finite and "
                                             "non-zero there; otherwise " + consequence))
    return _exact("gradient_reaches_std", ok, verdict, seed, grad_log_std=g.tolist())


@guards_user_function("loss_fn")
def check_bc_loss(loss_fn: LossFn, *, alpha: float = 1e-3, seed: int = 0,
                  n_batches: int = 300, batch_size: int = 8, batch_factor: int = 4,
                  distribution: Literal["independent", "normal"] = "independent") -> CheckResult:
    """Check a behaviour-cloning loss ``loss_fn(dist, expert_actions [B, d]) -> scalar``.

    Passes when the loss returns a finite scalar whose gradient reaches the policy mean and its
    std (log sigma: a loss that leaves sigma untrained fails), whose expected gradient does not
    change with the batch size (a mean, not a sum, over the batch), vanishes at ``mu = m`` (the
    expert's mean action) and points away from the expert so that gradient descent moves the
    policy towards it. See the module docstring for the tests.

    Args:
        loss_fn: the loss to check; it receives the policy distribution and ``[B, 3]`` expert
            actions (float64) and must return a scalar tensor. A loss written as
            ``loss(policy, obs, actions)`` is accepted too: its ``policy(obs)`` returns the
            check's distribution (of the ``distribution`` type) and ``obs`` are placeholders.
        alpha: the probability that a correct loss fails the check (split over three tests).
        seed: seed of the expert actions and of torch's generator (forked, so the caller's
            global torch random state is left unchanged).
        n_batches: independent batches per arm of each statistical test.
        batch_size: the smaller batch size ``B``; the larger is ``batch_factor * B``.
        batch_factor: ratio of the two batch sizes compared (>= 2).
        distribution: ``"independent"`` passes ``Independent(Normal, 1)`` (batch ``[B]``, event
            ``[d]``, as :class:`~rlcheck.distributions.GaussianPolicy` returns); ``"normal"``
            passes a per-dimension ``Normal`` (batch ``[B, d]``).

    Note:
        ``-dist.log_prob(a).sum(-1).mean()`` is the NLL with a mean reduction for a
        per-dimension ``Normal`` only: on an ``Independent`` distribution ``log_prob`` is
        already ``[B]``, so ``.sum(-1)`` sums over the batch and this check fails it.
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    alpha = validate_alpha(alpha)
    seed = validate_seed(seed)
    n_batches = validate_positive_int(n_batches, "n_batches", minimum=3 * ACTION_DIM)
    batch_size = validate_positive_int(batch_size, "batch_size")
    batch_factor = validate_positive_int(batch_factor, "batch_factor", minimum=2)
    if distribution not in ("independent", "normal"):
        raise ValueError(f"distribution must be 'independent' or 'normal', got {distribution!r}")
    name = "check_bc_loss"
    loss_fn = as_distribution_loss(loss_fn)  # also accepts loss(policy, obs, actions)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        problem = _Problem(np.random.default_rng(seed), distribution)
        children = _scalar_and_reach(problem, loss_fn, seed)
        if not all(c.passed for c in children):
            return explain_failure(combine(name, children, seed=seed, details={
                "skipped": ["batch_size_invariance", "stationary_at_expert",
                            "descent_towards_expert"]}), loss_fn, distribution)
        a = bonferroni(alpha, 3)
        small = problem.gradients(loss_fn, problem.offset_mean, batch_size, n_batches)
        large = problem.gradients(loss_fn, problem.offset_mean, batch_factor * batch_size,
                                  n_batches)
        at_expert = problem.gradients(loss_fn, problem.expert_mean, batch_size, n_batches)
    children.append(_batch_invariance(small, large, a, batch_size, batch_factor, seed))
    children.append(hotelling_test(at_expert[:, :ACTION_DIM], np.zeros(ACTION_DIM), alpha=a,
                                   name="stationary_at_expert", seed=seed))
    children.append(_descent(small, problem, a, seed))
    return explain_failure(combine(name, children, seed=seed, details={
        "expert_mean": problem.expert_mean.tolist(), "policy_mean": problem.offset_mean.tolist(),
        "policy_std": list(POLICY_STD), "expert_std": EXPERT_STD, "n_batches": n_batches,
        "batch_sizes": [batch_size, batch_factor * batch_size], "distribution": distribution}),
        loss_fn, distribution)


def _batch_invariance(small: np.ndarray, large: np.ndarray, alpha: float, batch_size: int,
                      batch_factor: int, seed: int) -> CheckResult:
    """Two-sample test of ``E[g_B] = E[g_kB]``, with the ratio ``|E g_kB| / |E g_B|`` reported
    (1 for a mean reduction, ``k`` for a sum)."""
    result = two_sample_test(large, small, alpha=alpha, name="batch_size_invariance", seed=seed)
    ratio = float(np.linalg.norm(large.mean(0)) / max(float(np.linalg.norm(small.mean(0))), 1e-300))
    verdict = (f"|E grad| at batch {batch_factor * batch_size} / at batch {batch_size} = "
               f"{ratio:.3g} (1 for a mean over the batch, {batch_factor} for a sum); "
               + result.verdict)
    return CheckResult(**{**result.__dict__, "verdict": verdict,
                          "details": {**result.details, "gradient_norm_ratio": ratio}})


def _descent(grads: np.ndarray, problem: _Problem, alpha: float, seed: int) -> CheckResult:
    """One-sided t-test that ``g_mu · u >= 0`` on average, ``u = (mu - m) / ||mu - m||``:
    a gradient-descent step then moves the mean towards the expert's."""
    direction = problem.offset_mean - problem.expert_mean
    u = direction / np.linalg.norm(direction)
    proj = grads[:, :ACTION_DIM] @ u
    result = t_test(proj, 0.0, alpha=alpha, alternative="less", name="descent_towards_expert",
                    seed=seed)
    mean = float(proj.mean())
    verdict = (f"mean gradient component along (mu - m) is {mean:+.3g} "
               f"({'descent moves towards' if mean > 0 else 'descent does not move towards'} "
               f"the expert); " + result.verdict)
    return CheckResult(**{**result.__dict__, "verdict": verdict})
