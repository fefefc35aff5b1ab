"""Tests of rlcheck.bc_losses: exact values and batch-size scaling of the mean and sum
reductions, and, statistically, E[MSE(rsample)] = |mu - a|² + tr Sigma and its pull on sigma."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.distributions import Independent, Normal

from rlcheck.bc_losses import (
    LOSSES,
    SUM_LOSSES,
    mse_rsample,
    mse_rsample_sum,
    nll,
    nll_sum,
    per_sample_log_prob,
)
from rlcheck.distributions import diagonal_gaussian
from rlcheck.stats import hotelling_test, known_covariance_test, t_test
from rlcheck.trust.levels import DECISIVE_P

LOG_2PI = math.log(2 * math.pi)


@st.composite
def batches(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean [B, d], log_std [d], actions [B, d]) in float64."""
    b, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    el = st.floats(-5, 5, allow_nan=False)
    mean = draw(hnp.arrays(np.float64, (b, d), elements=el))
    log_std = draw(hnp.arrays(np.float64, (d,), elements=st.floats(-2, 1, allow_nan=False)))
    actions = draw(hnp.arrays(np.float64, (b, d), elements=el))
    return torch.tensor(mean), torch.tensor(log_std), torch.tensor(actions)


def _closed_form_nll(mean: torch.Tensor, log_std: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    z = (a - mean) / log_std.exp()
    return (0.5 * z**2 + log_std + 0.5 * LOG_2PI).sum(-1).mean()


# ---------------------------------------------------------------- exact values

@settings(max_examples=100, deadline=None)
@given(batches())
def test_nll_is_mean_of_joint_negative_logdensity(
        args: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    mean, log_std, a = args
    expected = _closed_form_nll(mean, log_std, a)
    independent = nll(diagonal_gaussian(mean, log_std), a)
    per_dim = nll(Normal(mean, log_std.exp().expand_as(mean)), a)
    tol = 1e-10 * (1 + expected.abs())
    assert (independent - expected).abs() <= tol and (per_dim - expected).abs() <= tol
    assert (nll_sum(diagonal_gaussian(mean, log_std), a) - a.shape[0] * expected).abs() <= \
        a.shape[0] * tol


@settings(max_examples=100, deadline=None)
@given(batches(), st.integers(0, 2**31 - 1))
def test_mse_rsample_is_squared_error_of_reparameterised_sample(
        args: tuple[torch.Tensor, torch.Tensor, torch.Tensor], seed: int) -> None:
    mean, log_std, a = args
    dist = diagonal_gaussian(mean, log_std)
    torch.manual_seed(seed)
    loss = mse_rsample(dist, a)
    torch.manual_seed(seed)
    loss_sum = mse_rsample_sum(dist, a)
    torch.manual_seed(seed)
    eps = torch.randn_like(mean)
    expected = ((mean + log_std.exp() * eps - a) ** 2).sum(-1).mean()
    assert (loss - expected).abs() <= 1e-10 * (1 + expected.abs())
    assert (loss_sum - a.shape[0] * expected).abs() <= 1e-10 * a.shape[0] * (1 + expected.abs())


@settings(max_examples=50, deadline=None)
@given(batches(), st.integers(2, 5))
def test_mean_reduction_gradient_is_independent_of_batch_size_and_sum_scales(
        args: tuple[torch.Tensor, torch.Tensor, torch.Tensor], k: int) -> None:
    """Repeating a batch k times leaves the mean-reduced gradient unchanged and multiplies the
    sum-reduced one by k, exactly (NLL is deterministic given the batch)."""
    mean, log_std, a = args

    def grad(loss_fn, reps: int) -> torch.Tensor:
        mu = mean.clone().requires_grad_(True)
        ls = log_std.clone().requires_grad_(True)
        loss = loss_fn(diagonal_gaussian(mu.repeat(reps, 1), ls), a.repeat(reps, 1))
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, [mu, ls])])

    g1, gk = grad(nll, 1), grad(nll, k)
    assert torch.allclose(gk, g1, rtol=1e-10, atol=1e-10)
    s1, sk = grad(nll_sum, 1), grad(nll_sum, k)
    assert torch.allclose(sk, k * s1, rtol=1e-10, atol=1e-10)
    assert torch.allclose(s1, a.shape[0] * g1, rtol=1e-10, atol=1e-10)


def test_registries() -> None:
    assert LOSSES == {"nll": nll, "mse_rsample": mse_rsample}
    assert SUM_LOSSES == {"nll_sum": nll_sum, "mse_rsample_sum": mse_rsample_sum}


def test_per_sample_log_prob_shape() -> None:
    mean, a = torch.zeros(5, 2), torch.ones(5, 2)
    assert per_sample_log_prob(Normal(mean, 1.0), a).shape == (5,)
    assert per_sample_log_prob(Independent(Normal(mean, 1.0), 1), a).shape == (5,)


@pytest.mark.parametrize("actions, match", [
    (torch.zeros(5), r"\[B, d\]"),
    (torch.zeros(4, 2), "does not match"),
    (torch.zeros(5, 3), "does not match"),
    (torch.full((5, 2), math.nan), "NaN"),
    (np.zeros((5, 2)), "Tensor"),
])
@pytest.mark.parametrize("loss_fn", [nll, mse_rsample, nll_sum, mse_rsample_sum])
def test_losses_reject_bad_actions(loss_fn, actions, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        loss_fn(diagonal_gaussian(torch.zeros(5, 2), torch.zeros(2)), actions)


def test_losses_reject_bad_reduction_and_non_distribution() -> None:
    dist, a = diagonal_gaussian(torch.zeros(2, 1), torch.zeros(1)), torch.zeros(2, 1)
    with pytest.raises(ValueError, match="reduction"):
        nll(dist, a, reduction="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Distribution"):
        nll(torch.zeros(2, 1), a)  # type: ignore[arg-type]


# ---------------------------------------------------------------- statistical: claim 1's algebra

MU = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
LOG_STD = torch.tensor([-1.0, 0.0, 0.5], dtype=torch.float64)
TARGET = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
EXPECTED_MSE = float(((MU - TARGET) ** 2).sum() + (2 * LOG_STD).exp().sum())
N = 2000
ALPHA = 1e-7
"""Level of the tests below: a correct identity fails with at most this probability; the planted
companions must fail with a p-value below ``DECISIVE_P`` (declared miss probability 1e-9)."""


def _one_sample(loss_fn, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``N`` independent values of ``loss_fn`` on a batch of one action, and their gradients
    with respect to ``log_std``."""
    torch.manual_seed(seed)
    values, grads = np.empty(N), np.empty((N, 3))
    for i in range(N):
        log_std = LOG_STD.clone().requires_grad_(True)
        loss = loss_fn(diagonal_gaussian(MU[None], log_std), TARGET)
        values[i] = loss.item()
        g = (torch.autograd.grad(loss, [log_std], allow_unused=True)[0]
             if loss.requires_grad else None)
        grads[i] = 0.0 if g is None else g.numpy()
    return values, grads


def _mse_of_mean(dist, a):
    """Planted bug: the squared error of the mean instead of a sample (no variance term)."""
    return ((dist.mean - a) ** 2).sum(-1).mean() + 0.0 * dist.stddev.sum()


def _mse_detached_scale(dist, a):
    """Planted bug: a sample whose noise scale is detached (sigma gets no gradient)."""
    eps = torch.randn_like(dist.mean)
    return ((dist.mean + dist.stddev.detach() * eps - a) ** 2).sum(-1).mean()


@pytest.mark.statistical(alpha=ALPHA)
def test_expected_mse_rsample_is_squared_bias_plus_trace_sigma() -> None:
    """E||mu + sigma eps - a||² = ||mu - a||² + sum_k sigma_k² (t-test over N one-sample
    losses at alpha 1e-7; still detects a difference of under half the trace term)."""
    values, _ = _one_sample(mse_rsample, seed=0)
    result = t_test(values, EXPECTED_MSE, alpha=ALPHA).assert_passed()
    assert result.detectable_effect < 0.5 * float((2 * LOG_STD).exp().sum())


@pytest.mark.statistical(alpha=1e-9)
def test_planted_mse_of_mean_misses_the_trace_term() -> None:
    """Companion: the squared error of the mean has expectation ||mu - a||² only."""
    values, _ = _one_sample(_mse_of_mean, seed=0)
    result = t_test(values, EXPECTED_MSE, alpha=ALPHA)
    assert not result.passed and result.p_value < DECISIVE_P


@pytest.mark.statistical(alpha=ALPHA)
def test_mse_rsample_gradient_drives_log_std_down() -> None:
    """d/d log sigma_k E[MSE] = 2 sigma_k² > 0: gradient descent shrinks sigma towards 0
    (Hotelling test of the mean gradient against 2 sigma², alpha 1e-7)."""
    _, grads = _one_sample(mse_rsample, seed=1)
    hotelling_test(grads, 2 * (2 * LOG_STD).exp().numpy(), alpha=ALPHA).assert_passed()


@pytest.mark.statistical(alpha=1e-9)
def test_planted_detached_scale_gets_no_pull_on_sigma() -> None:
    """Companion: detaching sigma from the sample removes the 2 sigma² gradient.

    The planted gradient is exactly zero in every sample, so a test that learns the covariance
    from the sample has nothing to test; the correct estimator's covariance is known exactly:
    g_k = 2 sigma_k eps_k (mu_k - a_k + sigma_k eps_k), so with eps ~ N(0, 1) (Var eps² = 2,
    Cov(eps, eps²) = 0) Var g_k = 4 sigma_k² (mu_k - a_k)² + 8 sigma_k⁴, independent over k."""
    _, grads = _one_sample(_mse_detached_scale, seed=1)
    sigma2 = (2 * LOG_STD).exp().numpy()
    bias2 = ((MU - TARGET[0]) ** 2).numpy()
    cov = np.diag(4 * sigma2 * bias2 + 8 * sigma2**2)
    result = known_covariance_test(grads, 2 * sigma2, cov, alpha=ALPHA)
    assert not result.passed and result.p_value < DECISIVE_P
