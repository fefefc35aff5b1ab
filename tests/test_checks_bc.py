"""Tests of rlcheck.checks.check_bc_loss: it passes the correct BC losses and fails planted bugs
(a sum reduction, a non-reparameterised sample, a flipped sign, a shifted target, ...)."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Distribution, Independent, Normal

from rlcheck import bc_losses
from rlcheck.checks import check_bc_loss
from rlcheck.trust.levels import CORRECT_ALPHA, DECISIVE_P  # planted bugs: checked at ALPHA

ALPHA = 1e-3


# ---------------------------------------------------------------- planted bugs

def sum_reduction(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    return bc_losses.nll_sum(dist, a)


def mse_sum_reduction(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    return bc_losses.mse_rsample_sum(dist, a)


def notes_formula_on_independent(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    """``-log_prob(a).sum(-1).mean()`` on an Independent distribution: sums over the batch."""
    return -dist.log_prob(a).sum(-1).mean()


def non_reparameterised_sample(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    return ((dist.sample() - a) ** 2).sum(-1).mean()


def flipped_nll(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    return -bc_losses.nll(dist, a)


def flipped_mse(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    return -bc_losses.mse_rsample(dist, a)


def shifted_target(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    return bc_losses.nll(dist, a + 0.1)


def detached_mean(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    fixed = Independent(Normal(dist.mean.detach(), dist.stddev), 1)
    return bc_losses.mse_rsample(fixed, a)


def unreduced(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    return -dist.log_prob(a)


def mse_of_mean(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    """Squared error of the mean only: no gradient reaches sigma, which stays at its
    initialisation (a Gaussian policy trained this way never learns its spread)."""
    return ((dist.mean - a) ** 2).sum(-1).mean()


def std_detached(dist: Distribution, a: torch.Tensor) -> torch.Tensor:
    """The Normal rebuilt with ``stddev.detach()``: the NLL's gradient reaches the mean only."""
    return -Normal(dist.mean, dist.stddev.detach()).log_prob(a).sum(-1).mean()


# ---------------------------------------------------------------- correct losses pass

@pytest.mark.statistical(alpha=CORRECT_ALPHA)
@pytest.mark.parametrize("loss_fn", [bc_losses.nll, bc_losses.mse_rsample])
def test_correct_losses_pass(loss_fn) -> None:
    result = check_bc_loss(loss_fn, alpha=CORRECT_ALPHA, seed=0).assert_passed()
    assert result.alpha == pytest.approx(CORRECT_ALPHA)
    assert [c.name for c in result.children] == [
        "scalar_loss", "gradient_reaches_mean", "gradient_reaches_std", "batch_size_invariance",
        "stationary_at_expert", "descent_towards_expert"]
    for child in result.children[3:]:
        assert child.detectable_effect > 0 and child.n > 0


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
def test_per_dimension_normal_with_notes_formula_passes() -> None:
    """With a per-dimension Normal, the notes' ``-log_prob(a).sum(-1).mean()`` is the mean NLL."""
    check_bc_loss(notes_formula_on_independent, alpha=CORRECT_ALPHA, seed=1,
                  distribution="normal").assert_passed()


# ---------------------------------------------------------------- planted bugs fail

@pytest.mark.statistical(alpha=1e-9)  # miss probability of a decisively caught bug
@pytest.mark.parametrize("loss_fn, failing", [
    (sum_reduction, {"batch_size_invariance"}),
    (mse_sum_reduction, {"batch_size_invariance"}),
    (notes_formula_on_independent, {"batch_size_invariance"}),
    (flipped_nll, {"descent_towards_expert"}),
    (flipped_mse, {"descent_towards_expert"}),
    (shifted_target, {"stationary_at_expert"}),
])
def test_planted_bugs_fail_the_right_part(loss_fn, failing: set[str]) -> None:
    result = check_bc_loss(loss_fn, alpha=ALPHA, seed=0)
    assert not result.passed
    assert {c.name for c in result.children if not c.passed} == failing
    assert all(c.p_value < DECISIVE_P for c in result.children if not c.passed), result.verdict


@pytest.mark.parametrize("loss_fn, reason", [
    (non_reparameterised_sample, "dist.sample()"),
    (detached_mean, "none reaches the policy mean"),
])
def test_no_gradient_fails_exactly(loss_fn, reason: str) -> None:
    result = check_bc_loss(loss_fn, seed=0)
    assert not result.passed
    failing = [c for c in result.children if not c.passed]
    assert [c.name for c in failing] == ["gradient_reaches_mean"]
    assert reason in failing[0].verdict
    assert result.details["skipped"]


@pytest.mark.parametrize("loss_fn", [mse_of_mean, std_detached])
@pytest.mark.parametrize("distribution", ["independent", "normal"])
def test_loss_that_leaves_sigma_untrained_fails_exactly(loss_fn, distribution: str) -> None:
    result = check_bc_loss(loss_fn, seed=0, distribution=distribution)
    assert not result.passed
    failing = [c for c in result.children if not c.passed]
    assert [c.name for c in failing] == ["gradient_reaches_std"]
    assert "no gradient reaches the policy's std" in failing[0].verdict
    assert "never learns its spread" in failing[0].verdict
    assert result.details["skipped"]


def test_unreduced_loss_fails_with_a_clear_message() -> None:
    result = check_bc_loss(unreduced)
    assert not result.passed
    assert "shape (8,)" in result.children[0].verdict


def test_sum_reduction_gradient_ratio_is_the_batch_factor() -> None:
    result = check_bc_loss(sum_reduction, seed=0, batch_factor=4)
    ratio = next(c for c in result.children if c.name == "batch_size_invariance"
                 ).details["gradient_norm_ratio"]
    assert ratio == pytest.approx(4.0, rel=0.1)


# ---------------------------------------------------------------- determinism and inputs

def test_seeded_and_leaves_global_torch_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = check_bc_loss(bc_losses.mse_rsample, seed=5, n_batches=30)
    assert torch.equal(torch.get_rng_state(), before)
    b = check_bc_loss(bc_losses.mse_rsample, seed=5, n_batches=30)
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 0.0}, "alpha"),
    ({"n_batches": 2}, "n_batches"),
    ({"batch_factor": 1}, "batch_factor"),
    ({"distribution": "mvn"}, "distribution"),
])
def test_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_bc_loss(bc_losses.nll, **kwargs)
    with pytest.raises(TypeError, match="callable"):
        check_bc_loss("nll")  # type: ignore[arg-type]
