"""check_bc_loss with losses written as loss(policy, obs, actions), on the distribution type the
user's policy returns; the notes' `.sum(-1).mean()` NLL is right for a per-dimension Normal and
wrong (with the reason stated) for Independent(Normal).

Correct losses run at ``CORRECT_ALPHA``; the failing case must fail with a p-value below
``DECISIVE_P`` (declared ``BUG_MISS_ALPHA``).
"""

from __future__ import annotations

import pytest
import torch

from rlcheck.checks import check_bc_loss
from rlcheck.checks.bc_signatures import OBS_DIM, as_distribution_loss
from rlcheck.trust.levels import BUG_MISS_ALPHA, CORRECT_ALPHA, DECISIVE_P


def notes_nll(policy, obs, actions):
    """The notes' loss, as CS285's code computes it from its policy."""
    return -policy(obs).log_prob(actions).sum(-1).mean()


def independent_nll(policy, obs, actions):
    return -policy(obs).log_prob(actions).mean()


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
@pytest.mark.parametrize(("loss", "distribution"), [(notes_nll, "normal"),
                                                    (independent_nll, "independent")])
def test_policy_style_losses_pass_on_the_distribution_they_are_written_for(loss, distribution):
    check_bc_loss(loss, distribution=distribution, alpha=CORRECT_ALPHA).assert_passed()


@pytest.mark.statistical(alpha=BUG_MISS_ALPHA)
def test_notes_loss_on_independent_fails_and_says_why() -> None:
    result = check_bc_loss(notes_nll, distribution="independent")
    assert not result.passed and result.p_value < DECISIVE_P
    assert "written for a per-dimension Normal" in result.verdict
    assert ".sum(-1) sums over the batch" in result.verdict
    assert result.details["written_for"] == "normal"


def test_a_sum_over_the_batch_is_not_blamed_on_the_distribution_type() -> None:
    def summed(policy, obs, actions):
        return -policy(obs).log_prob(actions).sum()

    result = check_bc_loss(summed, distribution="independent", n_batches=30)
    assert not result.passed and "written for a per-dimension Normal" not in result.verdict


def test_the_policy_receives_placeholder_observations_of_the_batch() -> None:
    seen = {}

    def loss(policy, obs, actions):
        seen["obs"] = obs.shape
        return -policy(obs).log_prob(actions).mean()

    adapted = as_distribution_loss(loss)
    dist = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(7, 3),
                                                                     torch.ones(7, 3)), 1)
    adapted(dist, torch.zeros(7, 3))
    assert seen["obs"] == (7, OBS_DIM)
    two_args = lambda dist, actions: -dist.log_prob(actions).mean()  # noqa: E731
    assert as_distribution_loss(two_args) is two_args
