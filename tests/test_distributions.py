"""Tests of rlcheck.distributions: the ranges of claim 2 as hypothesis properties, the joint
log-density identities to float64 precision, extremes without NaN, and the policies' sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn
from torch.distributions import Independent, MultivariateNormal, Normal

from rlcheck.distributions import (
    CategoricalPolicy,
    GaussianPolicy,
    categorical,
    diagonal_gaussian,
    mlp,
)

LOG_2PI = math.log(2 * math.pi)


def _arrays(shape: tuple[int, ...], lo: float, hi: float) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False))


@st.composite
def gaussians(draw: st.DrawFn, log_std_lo: float = -8.0, log_std_hi: float = 3.0,
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean [B, d], log_std [B, d], actions [B, d]) in float64."""
    b, d = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    mean = draw(_arrays((b, d), -10, 10))
    log_std = draw(_arrays((b, d), log_std_lo, log_std_hi))
    actions = draw(_arrays((b, d), -20, 20))
    return torch.tensor(mean), torch.tensor(log_std), torch.tensor(actions)


# ---------------------------------------------------------------- categorical: claim 2, discrete

@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda b: st.integers(1, 6).flatmap(
    lambda n: _arrays((b, n), -1e30, 1e30))))
def test_categorical_probs_in_unit_interval_and_logprobs_nonpositive(logits: np.ndarray) -> None:
    dist = categorical(torch.tensor(logits))
    probs = dist.probs
    assert torch.all((probs >= 0) & (probs <= 1))
    assert torch.allclose(probs.sum(-1), torch.ones(probs.shape[0], dtype=torch.float64))
    actions = torch.arange(logits.shape[1]).unsqueeze(-1).expand(-1, logits.shape[0])
    log_probs = dist.log_prob(actions)
    assert not torch.isnan(log_probs).any()
    assert torch.all(log_probs <= 0)
    # finite logits give finite log-probs, however large: l_a - logsumexp(l)
    assert torch.isfinite(log_probs).all()


def test_categorical_masked_action_has_logprob_minus_inf() -> None:
    dist = categorical(torch.tensor([[-math.inf, 0.0, 1.0]], dtype=torch.float64))
    assert dist.log_prob(torch.tensor([0])).item() == -math.inf
    assert dist.probs[0, 0].item() == 0.0


def test_categorical_huge_logits_exact() -> None:
    dist = categorical(torch.tensor([[1e30, 0.0]], dtype=torch.float32))
    assert dist.log_prob(torch.tensor([0])).item() == 0.0
    assert dist.log_prob(torch.tensor([1])).item() == pytest.approx(-1e30, rel=1e-6)


@pytest.mark.parametrize("logits, match", [
    (torch.tensor(1.0), "scalar"),
    (torch.tensor([0.0, math.nan]), "NaN"),
    (torch.tensor([0.0, math.inf]), r"\+inf"),
    (torch.tensor([[-math.inf, -math.inf]]), "entirely -inf"),
])
def test_categorical_rejects_bad_logits(logits: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        categorical(logits)


# ---------------------------------------------------------------- Gaussian: claim 2, continuous

@settings(max_examples=200, deadline=None)
@given(gaussians())
def test_joint_logprob_is_sum_of_per_dimension_logprobs(
        args: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    mean, log_std, a = args
    joint = diagonal_gaussian(mean, log_std).log_prob(a)
    per_dim = Normal(mean, log_std.exp()).log_prob(a)
    closed = (-0.5 * ((a - mean) / log_std.exp()) ** 2 - log_std - 0.5 * LOG_2PI).sum(-1)
    mvn = MultivariateNormal(mean, covariance_matrix=torch.diag_embed((2 * log_std).exp()))
    indep = Independent(Normal(mean, log_std.exp()), 1).log_prob(a)
    assert joint.shape == (mean.shape[0],)
    scale = 1.0 + closed.abs()
    for other in (per_dim.sum(-1), indep, mvn.log_prob(a)):
        assert torch.all((joint - other).abs() <= 1e-10 * scale)
    assert torch.all((joint - closed).abs() <= 1e-10 * scale)


@settings(max_examples=200, deadline=None)
@given(gaussians())
def test_density_nonnegative_and_logdensity_real(
        args: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    mean, log_std, a = args
    log_p = diagonal_gaussian(mean, log_std).log_prob(a)
    assert torch.isfinite(log_p).all()
    assert torch.all(log_p.exp() >= 0)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.floats(-8.0, math.log(1 / math.sqrt(2 * math.pi)) - 1e-3))
def test_small_sigma_density_exceeds_one(d: int, log_std: float) -> None:
    """At the mean, log p = -d/2 log(2 pi) - d log sigma > 0 exactly when sigma < 1/sqrt(2 pi)."""
    mean = torch.zeros(1, d, dtype=torch.float64)
    dist = diagonal_gaussian(mean, torch.full((d,), log_std, dtype=torch.float64))
    log_p = dist.log_prob(mean)
    assert log_p.item() == pytest.approx(-d * (0.5 * LOG_2PI + log_std), rel=1e-12)
    assert log_p.item() > 0
    assert log_p.exp().item() > 1


@pytest.mark.parametrize("dtype, log_std", [(torch.float32, -51.0), (torch.float64, -372.0)])
def test_tiny_sigma_gives_finite_logprob_without_nan(dtype: torch.dtype, log_std: float) -> None:
    mean = torch.zeros(2, 3, dtype=dtype)
    dist = diagonal_gaussian(mean, torch.full((3,), log_std, dtype=dtype))
    at_mean = dist.log_prob(mean)
    assert torch.isfinite(at_mean).all() and (at_mean > 0).all()
    far = dist.log_prob(mean + torch.finfo(dtype).eps)  # far in units of sigma
    assert not torch.isnan(far).any()


@pytest.mark.parametrize("dtype, log_std", [(torch.float32, -52.0), (torch.float64, -373.0)])
def test_underflowing_variance_is_refused_where_torch_returns_nan(dtype: torch.dtype,
                                                                  log_std: float) -> None:
    """Planted extreme: torch's own Normal gives NaN at the mean once sigma² underflows to 0;
    diagonal_gaussian refuses such a log_std instead of returning NaN later."""
    mean = torch.zeros(3, dtype=dtype)
    sigma = torch.full((3,), log_std, dtype=dtype).exp()
    assert (sigma > 0).all() and (sigma**2 == 0).all()
    assert torch.isnan(Normal(mean, sigma).log_prob(mean)).all()
    with pytest.raises(ValueError, match="underflows"):
        diagonal_gaussian(mean, torch.full((3,), log_std, dtype=dtype))


@pytest.mark.parametrize("log_std, match", [
    (torch.tensor([-1000.0]), "underflows"),
    (torch.tensor([1000.0]), "overflows"),
    (torch.tensor([math.nan]), "NaN"),
    (torch.zeros(2, 3), "enlarge"),
    (torch.zeros(4), "broadcast"),
])
def test_diagonal_gaussian_rejects_bad_log_std(log_std: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        diagonal_gaussian(torch.zeros(3), log_std)


def test_diagonal_gaussian_rejects_scalar_and_nan_mean() -> None:
    with pytest.raises(ValueError, match="scalar"):
        diagonal_gaussian(torch.tensor(0.0), torch.tensor(0.0))
    with pytest.raises(ValueError, match="NaN"):
        diagonal_gaussian(torch.tensor([math.nan]), torch.tensor([0.0]))


# ---------------------------------------------------------------- networks and policies

def test_mlp_structure() -> None:
    net = mlp(5, 2, (7, 11), activation=nn.ReLU)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [7, 11, 2]
    assert isinstance(mlp(3, 1, ()), nn.Sequential) and len(mlp(3, 1, ())) == 1
    with pytest.raises(ValueError, match="positive integers"):
        mlp(0, 2)


def test_gaussian_policy_forward_shapes_and_gradients() -> None:
    torch.manual_seed(0)
    policy = GaussianPolicy(4, 2, log_std_init=-0.5)
    dist = policy(torch.randn(6, 4))
    assert dist.batch_shape == (6,) and dist.event_shape == (2,)
    assert torch.allclose(dist.stddev, torch.full((6, 2), math.exp(-0.5)))
    dist.log_prob(torch.zeros(6, 2)).mean().backward()
    assert policy.log_std.grad is not None and all(p.grad is not None for p in policy.parameters())
    with pytest.raises(ValueError, match=r"\[B, 4\]"):
        policy(torch.randn(6, 3))
    with pytest.raises(ValueError, match="NaN"):
        policy(torch.full((1, 4), math.nan))


def test_gaussian_act_is_mean_plus_std_times_rng_noise() -> None:
    """act draws its noise from the given Generator: exactly mu(s) + sigma * z."""
    torch.manual_seed(1)
    policy = GaussianPolicy(3, 2, log_std_init=-1.0)
    obs = np.random.default_rng(5).normal(size=(4, 3))
    actions = policy.act(obs, np.random.default_rng(7))
    with torch.no_grad():
        mean = policy(torch.as_tensor(obs, dtype=torch.float32)).mean.double().numpy()
    z = np.random.default_rng(7).standard_normal((4, 2))
    np.testing.assert_allclose(actions, mean + math.exp(-1.0) * z, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(actions, policy.act(obs, np.random.default_rng(7)))
    np.testing.assert_allclose(policy.act(obs, np.random.default_rng(7), deterministic=True),
                               mean, rtol=1e-6)
    single = policy.act(obs[0], np.random.default_rng(7))
    assert single.shape == (2,)
    np.testing.assert_allclose(single, actions[0], rtol=1e-6)


def test_categorical_act_inverts_the_cdf_with_rng_uniforms() -> None:
    torch.manual_seed(2)
    policy = CategoricalPolicy(3, 4)
    obs = np.random.default_rng(0).normal(size=(50, 3))
    actions = policy.act(obs, np.random.default_rng(3))
    with torch.no_grad():
        probs = policy(torch.as_tensor(obs, dtype=torch.float32)).probs.double().numpy()
    u = np.random.default_rng(3).random((50, 1))
    cdf = probs.cumsum(-1)
    expected = np.array([np.searchsorted(c / c[-1], x, side="right") for c, x in zip(cdf, u[:, 0],
                                                                                      strict=True)])
    np.testing.assert_array_equal(actions, expected)
    assert actions.dtype == np.int64 and actions.min() >= 0 and actions.max() < 4
    np.testing.assert_array_equal(policy.act(obs, np.random.default_rng(0), deterministic=True),
                                  probs.argmax(-1))
    assert policy.act(obs[0], np.random.default_rng(3)).shape == ()


def test_categorical_act_never_picks_a_masked_action() -> None:
    policy = CategoricalPolicy(2, 3, hidden=())
    with torch.no_grad():
        policy.logits_net[0].weight.zero_()
        policy.logits_net[0].bias.copy_(torch.tensor([0.0, -math.inf, 0.0]))
    actions = policy.act(np.zeros((2000, 2)), np.random.default_rng(0))
    assert set(np.unique(actions)) == {0, 2}


def test_act_rejects_wrong_observation_shapes() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"\[B, 3\]"):
        GaussianPolicy(3, 1).act(np.zeros((2, 4)), rng)
    with pytest.raises(ValueError, match=r"\[B, 3\]"):
        CategoricalPolicy(3, 2).act(np.zeros((2, 2, 3)), rng)
