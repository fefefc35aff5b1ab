"""Planted bugs in policy-gradient weights, for :func:`rlcheck.checks.check_pg_weights`.

A weights function maps a :class:`~rlcheck.mdp.TrajectoryBatch` (states, actions, rewards
``[N, T]``, gamma, exact values ``V_t(s_t)``) to per-step weights ``psi [N, T]``; the check tests
that ``E[sum_t grad log pi(a_t|s_t) psi_t]`` equals the exact gradient of its target. The bugs
fall in three areas: the weights (``pg-weights``), the baseline (``baselines``) and the discount
(``discounting``). :func:`weight_bugs` names the bugs for tests and analyses that run the check
themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlcheck.mdp import TabularMDP, TrajectoryBatch, random_mdp
from rlcheck.trust.bugs import Must, Mutant

WeightsFn = Callable[[TrajectoryBatch], np.ndarray]


def _discount_matrix(horizon: int, gamma: float, *, restart: bool) -> np.ndarray:
    """``M[t, t'] = gamma^(t'-t)`` (``restart``) or ``gamma^t'`` for ``t' >= t``, else 0."""
    t = np.arange(horizon)
    later = t[None, :] >= t[:, None]
    power = np.where(later, t[None, :] - t[:, None], 0) if restart else np.broadcast_to(
        t[None, :], (horizon, horizon))
    return np.where(later, float(gamma) ** power, 0.0)


def reward_to_go_by_hand(rewards: np.ndarray, gamma: float, *, restart: bool) -> np.ndarray:
    """Reward-to-go through a discount matrix: ``psi_t = sum_{t'>=t} gamma^(t'-t) r_t'``
    (``restart``) or ``sum_{t'>=t} gamma^t' r_t'``."""
    return rewards @ _discount_matrix(rewards.shape[1], gamma, restart=restart).T


def _full_return(batch: TrajectoryBatch) -> np.ndarray:
    """REINFORCE: ``psi_t = G = sum_t' gamma^t' r_t'`` at every step (correct, discounted)."""
    return np.repeat(batch.returns()[:, None], batch.horizon, axis=1)


def rtg_absolute(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^t' r_t'`` (correct for the discounted objective)."""
    return reward_to_go_by_hand(batch.rewards, batch.gamma, restart=False)


def rtg_restart(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^(t'-t) r_t'`` (CS285's reward-to-go; the causal target)."""
    return reward_to_go_by_hand(batch.rewards, batch.gamma, restart=True)


def _rtg_drops_current_reward(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>t} gamma^t' r_t'``: the reversed cumsum shifted by one step."""
    return rtg_absolute(batch) - batch.rewards * batch.discounts()


def _past_rewards(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'<=t} gamma^t' r_t'``: a forward cumsum that was never reversed."""
    return np.cumsum(batch.rewards * batch.discounts(), axis=1)


def _sign_flipped(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = -sum_{t'>=t} gamma^t' r_t'``: the loss sign applied twice."""
    return -rtg_absolute(batch)


def _mean_over_time(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = RTG_t / T``: the per-trajectory sum over t replaced by a mean over t."""
    return rtg_absolute(batch) / batch.horizon


def _immediate_reward(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = gamma^t r_t``: each log-prob weighted by its own reward only."""
    return batch.rewards * batch.discounts()


def _batch_mean_weight(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = mean_i G_i``: a ``[N, 1]`` vs ``[N]`` broadcast that averaged the returns away."""
    return np.full(batch.states.shape, batch.returns().mean())


def _td_target_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """Baseline ``b_t = r_t + gamma V_{t+1}(s_{t+1})`` (a Q(s, a) estimate, action-dependent)."""
    v_next = np.concatenate([batch.values[:, 1:], np.zeros((batch.n, 1))], axis=1)
    baseline = batch.rewards + batch.gamma * v_next
    return batch.discounts() * (rtg_restart(batch) - baseline)


def _next_state_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """Baseline ``b_t = V_{t+1}(s_{t+1})``: the value array indexed one step late."""
    v_next = np.concatenate([batch.values[:, 1:], np.zeros((batch.n, 1))], axis=1)
    return batch.discounts() * (rtg_restart(batch) - v_next)


def _action_in_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """Baseline ``b_t = V_t(s_t) + a_t``: the critic was fed the action as an input."""
    baseline = batch.values + batch.actions
    return batch.discounts() * (rtg_restart(batch) - baseline)


def _own_trajectory_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """Baseline ``b_i = mean_t RTG_{i,t}``: computed from the same trajectory's own returns."""
    rtg = rtg_restart(batch)
    return batch.discounts() * (rtg - rtg.mean(axis=1, keepdims=True))


def _no_discount(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} r_t'``: gamma forgotten in the return."""
    return reward_to_go_by_hand(batch.rewards, 1.0, restart=True)


def _discount_twice(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^(2t') r_t'``: rewards pre-discounted, then discounted again."""
    return reward_to_go_by_hand(batch.rewards * batch.discounts(), batch.gamma, restart=False)


def _discount_off_by_one(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^(t'+1) r_t'``: the discount counted from 1 instead of 0."""
    return batch.gamma * rtg_absolute(batch)


def _baseline_plus_constant(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = gamma^t (RTG_t - V_t(s_t) - 7)``: a constant added to a state baseline."""
    return batch.discounts() * (rtg_restart(batch) - batch.values - 7.0)


def _one_past_reward(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t-1} gamma^t' r_t'``: one past reward included."""
    past = np.concatenate([np.zeros((batch.n, 1)), (batch.rewards * batch.discounts())[:, :-1]],
                          axis=1)
    return rtg_absolute(batch) + past


def _arbitrary_state_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = RTG_t - 5 sin(3 s_t + t)``: any function of ``(t, s_t)`` is a valid baseline."""
    t = np.arange(batch.horizon)[None, :]
    return rtg_absolute(batch) - 5.0 * np.sin(3.0 * batch.states + t)


def _leave_one_out_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """``psi = G_i - mean_{j != i} G_j``: the batch-mean baseline without the sample itself."""
    G = batch.returns()
    loo = (G.sum() - G) / (batch.n - 1)
    return np.repeat((G - loo)[:, None], batch.horizon, axis=1)


def _shifted_mdps() -> list[tuple[TabularMDP, np.ndarray]]:
    """Two random MDPs with every reward shifted by +100 (strictly positive, far from centred),
    with fixed softmax logits."""
    rng = np.random.default_rng(100)
    out = []
    for gamma in (0.9, 1.0):
        mdp = random_mdp(3, 2, 5, gamma, rng)
        shifted = TabularMDP(mdp.P, mdp.R + 100.0, mdp.init, mdp.gamma, mdp.horizon)
        out.append((shifted, rng.standard_normal((3, 2))))
    return out


def _past_rewards_only(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'<t} gamma^t' r_t'``: the complement of the reward-to-go (G - RTG_t)."""
    return _full_return(batch) - rtg_absolute(batch)


def _scaled_by_2(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = 2 RTG_t``: a loss summed twice (e.g. over two copies of the batch)."""
    return 2.0 * rtg_absolute(batch)


def _scaled_by_0_8(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = 0.8 RTG_t``: a stray constant factor (a mis-set discount on the whole sum)."""
    return 0.8 * rtg_absolute(batch)


def _normalised_weights(batch: TrajectoryBatch) -> np.ndarray:
    """``psi = (RTG - mean) / std`` over the whole batch: advantage normalisation, which
    rescales the gradient and subtracts a batch statistic (biased as an estimate of the
    gradient itself)."""
    rtg = rtg_absolute(batch)
    return (rtg - rtg.mean()) / (rtg.std() + 1e-8)


def _undiscounted_rtg(batch: TrajectoryBatch) -> np.ndarray:
    """``sum_{t'>=t} r_t'``: the discount forgotten in CS285's restarted reward-to-go."""
    return reward_to_go_by_hand(batch.rewards, 1.0, restart=True)


def _batch_normalised(psi: np.ndarray) -> np.ndarray:
    """``(psi - mean) / std`` over the whole batch (Spinning Up, CS285, PPO's ``norm_adv``)."""
    return (psi - psi.mean()) / (psi.std() + 1e-8)


def _normalised_rtg(batch: TrajectoryBatch) -> np.ndarray:
    return _batch_normalised(rtg_restart(batch))


def _normalised_sign_flipped(batch: TrajectoryBatch) -> np.ndarray:
    return -_normalised_rtg(batch)


def _normalised_past_rewards(batch: TrajectoryBatch) -> np.ndarray:
    return _batch_normalised(_past_rewards(batch))


def _normalised_action_in_baseline(batch: TrajectoryBatch) -> np.ndarray:
    return _batch_normalised(rtg_restart(batch) - batch.actions)


def _normalised_gae(batch: TrajectoryBatch) -> np.ndarray:
    """Batch-normalised GAE(gamma, lambda=0.95) advantages with the exact values (CleanRL)."""
    from rlcheck.pg import gae_advantages

    return _batch_normalised(gae_advantages(batch.rewards, batch.values, batch.gamma, 0.95))


def _pg(name: str, description: str, area: str, must: Must, weights_fn: WeightsFn,
        target: str = "discounted", **options: Any) -> Mutant:
    return Mutant(name, description, area, must, "check_pg_weights", weights_fn,
                  {"target": target, **options})


def mutants() -> list[Mutant]:
    """The policy-gradient mutants: bugs in the weights, the baseline and the discount, then
    correct but unusual variants."""
    return [
        # ---- bugs in the weights
        _pg("rtg-drops-current-reward", "reward-to-go sums t' > t: the reversed cumsum is shifted "
            "one step and r_t is lost", "pg-weights", "catch", _rtg_drops_current_reward),
        _pg("rtg-past-rewards", "reward-to-go as a forward cumsum (sum over t' <= t): the "
            "reverse was forgotten", "pg-weights", "catch", _past_rewards),
        _pg("sign-flipped", "the weight's sign flipped (gradient descent on +log pi * G)",
            "pg-weights", "catch", _sign_flipped),
        _pg("mean-over-time", "the loss averages over time steps instead of summing over t per "
            "trajectory: every weight divided by T", "pg-weights", "catch", _mean_over_time),
        _pg("immediate-reward-only", "each log-prob weighted by its own reward r_t, not the "
            "reward-to-go", "pg-weights", "catch", _immediate_reward),
        _pg("broadcast-batch-mean", "an [N,1] vs [N] broadcast turns the weights into the batch "
            "mean return", "pg-weights", "catch", _batch_mean_weight),
        _pg("rtg-past-rewards-only", "the weights sum the past rewards t' < t instead of the "
            "future ones (G - RTG_t)", "pg-weights", "catch", _past_rewards_only),
        _pg("scaled-by-2", "the weights doubled (a loss summed twice)", "pg-weights", "catch",
            _scaled_by_2),
        _pg("scaled-by-0.8", "the weights multiplied by a stray constant 0.8", "pg-weights",
            "catch", _scaled_by_0_8),
        _pg("normalised-weights", "the reward-to-go normalised over the batch (mean 0, std 1) "
            "and checked as the gradient itself", "pg-weights", "catch", _normalised_weights),
        # ---- bugs in the baseline
        _pg("td-target-baseline", "a Q(s,a) estimate r_t + gamma V(s_t+1) used as the baseline: "
            "it depends on the action", "baselines", "catch", _td_target_baseline),
        _pg("next-state-baseline", "baseline V(s_t+1) instead of V(s_t): the value array is "
            "indexed one step late", "baselines", "catch", _next_state_baseline),
        _pg("action-in-baseline", "the critic is fed the action: baseline V(s_t) + a_t",
            "baselines", "catch", _action_in_baseline),
        _pg("own-trajectory-baseline", "baseline computed from the trajectory's own rewards "
            "(its mean reward-to-go)", "baselines", "catch", _own_trajectory_baseline),
        # ---- bugs in the discount
        _pg("discount-restarted", "CS285's gamma^(t'-t) reward-to-go taken as the gradient of the "
            "discounted objective (it drops gamma^t)", "discounting", "catch", rtg_restart),
        _pg("no-discount", "gamma forgotten: undiscounted reward-to-go for a discounted "
            "objective", "discounting", "catch", _no_discount),
        _pg("discount-twice", "rewards discounted when stored and again in the return: "
            "gamma^(2t')", "discounting", "catch", _discount_twice),
        _pg("discount-off-by-one", "discount exponent counted from 1: gamma^(t'+1)",
            "discounting", "catch", _discount_off_by_one),
        # ---- correct but unusual
        _pg("full-return", "REINFORCE with the whole discounted return at every step (correct, "
            "noisier)", "pg-weights", "pass", _full_return),
        _pg("rtg-absolute-discount", "reward-to-go with absolute discounts gamma^t' (correct for "
            "the discounted objective)", "discounting", "pass", rtg_absolute),
        _pg("rtg-restart-causal-target", "CS285's gamma^(t'-t) reward-to-go checked against the "
            "target it does estimate", "discounting", "pass", rtg_restart, target="causal"),
        _pg("rtg-one-past-reward", "one past reward included in the reward-to-go (zero in "
            "expectation)", "pg-weights", "pass", _one_past_reward),
        _pg("baseline-plus-constant", "state baseline with an extra constant: V(s_t) + 7",
            "baselines", "pass", _baseline_plus_constant),
        _pg("baseline-any-state-function", "baseline 5 sin(3 s_t + t): any function of time and "
            "state", "baselines", "pass", _arbitrary_state_baseline),
        _pg("leave-one-out-baseline", "batch-mean baseline that leaves the sample itself out",
            "baselines", "pass", _leave_one_out_baseline),
        _pg("rtg-rewards-shifted-by-100", "reward-to-go on MDPs whose rewards are all shifted by "
            "+100 (not centred)", "pg-weights", "pass", rtg_absolute, mdps=_shifted_mdps()),
        # ---- the causal target must see discount errors too
        _pg("no-discount-causal-target", "undiscounted reward-to-go sum_{t'>=t} r_t' for the "
            "causal target of gamma < 1 problems", "discounting", "catch", _undiscounted_rtg,
            target="causal"),
        # ---- batch-normalised advantages: mode="direction" (E[g] = c grad, c > 0)
        _pg("normalised-rtg-direction", "batch-normalised reward-to-go checked for the gradient's "
            "direction (correct up to a positive scale)", "pg-weights", "pass", _normalised_rtg,
            target="causal", mode="direction"),
        _pg("normalised-gae-direction", "batch-normalised GAE(0.95) advantages checked for the "
            "gradient's direction", "pg-weights", "pass", _normalised_gae, target="causal",
            mode="direction"),
        _pg("normalised-sign-flipped", "batch-normalised advantages with the sign flipped "
            "(direction mode)", "pg-weights", "catch", _normalised_sign_flipped,
            target="causal", mode="direction"),
        _pg("normalised-past-rewards", "batch-normalised forward cumsum: past rewards only "
            "(direction mode)", "pg-weights", "catch", _normalised_past_rewards, target="causal",
            mode="direction"),
        _pg("normalised-action-in-baseline", "batch-normalised reward-to-go minus the action "
            "(direction mode)", "baselines", "catch", _normalised_action_in_baseline,
            target="causal", mode="direction"),
    ]


def weight_bugs() -> dict[str, WeightsFn]:
    """Every planted bug of :func:`mutants` checked against the default (discounted) target on
    the default problems, by name: the list that ``tests/test_checks_pg.py`` and
    ``analyses/causality.py`` run."""
    return {m.name: m.implementation for m in mutants()
            if m.must == "catch" and dict(m.options) == {"target": "discounted"}}
