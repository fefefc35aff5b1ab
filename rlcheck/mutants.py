"""A catalogue of planted bugs (mutants) and correct-but-unusual variants for rlcheck's checks.

A check is only as good as the bugs it catches and the correct code it lets through. Each
:class:`Mutant` is one implementation a user might plausibly write, fed to one public check from
:mod:`rlcheck.checks`:

* ``must="catch"``: a realistic bug, with a one-line description of the mistake people make;
  the check must fail it.
* ``must="pass"``: a correct implementation written in an unusual way (an extra constant in the
  baseline, one past reward in the reward-to-go, a shift-invariant backup, ...); the check must
  pass it.

:func:`run_catalogue` runs every mutant with one seed and reports, per mutant, whether the
check's verdict matched ``must`` (``caught``), which check decided, and how many samples it
used (the check's ``CheckResult.n``). The page "How much to trust these checks"
(``analyses/trust.py``) shows the table; ``tests/test_mutants.py`` asserts the score.

Mutants of a check that has not been written yet are reported as ``status="unavailable"`` and
count as not caught: a missing check catches nothing.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlcheck.mdp import TabularMDP, TrajectoryBatch, random_mdp
from rlcheck.result import CheckResult

Must = Literal["catch", "pass"]
AREAS: tuple[str, ...] = ("pg-weights", "baselines", "discounting", "bellman", "bc-loss",
                          "dagger", "sampling", "fitted-iteration", "td-targets")
"""The areas of the catalogue, in report order."""

DEFAULT_ALPHA = 1e-3
"""The checks' default false-positive rate, at which the catalogue runs."""

EXACT_CHECKS = frozenset({"check_bellman_backup", "check_fitted_q_iteration", "check_td_targets"})
"""Checks without a statistical part: deterministic for a given seed."""

RAISING_IS_FAILING = (ValueError, RuntimeError, AssertionError, FloatingPointError)
"""Exceptions that count as the check failing the implementation (the user's test goes red
with a message). Any other exception (``TypeError``, ``AttributeError``, ...) is recorded as an
``error`` of the harness and never counts as a catch."""


KNOWN_ESCAPES: dict[str, str] = {}
"""Planted bugs the current checks miss, with the reason (measured, seed 0). They stay in the
catalogue, count as not caught, and ``tests/test_mutants.py`` marks them strict ``xfail``, so
the suite tells when a check is improved to catch them."""


class CheckUnavailable(RuntimeError):
    """The public check a mutant needs does not exist (yet) in :mod:`rlcheck.checks`."""


@dataclass(frozen=True)
class Mutant:
    """One implementation fed to one public check.

    Attributes:
        name: short kebab-case id, unique in the catalogue.
        description: one line: the mistake people really make (or why the variant is correct).
        area: one of :data:`AREAS`.
        must: ``"catch"`` (a bug the check must fail) or ``"pass"`` (correct code it must pass).
        check: name of the public check in :mod:`rlcheck.checks` that decides.
        run: ``run(seed, alpha=DEFAULT_ALPHA) -> CheckResult``: runs the check on this
            implementation with that seed (and false-positive rate).
        manifests: ``seed -> bool``, whether the planted bug changes the implementation's
            output with that seed (``None``: always). Some bugs act only on a chance event,
            e.g. a mislabelled step-budget cut when the last episode happens to end exactly at
            the budget; such a run gives the check nothing to catch.
    """

    name: str
    description: str
    area: str
    must: Must
    check: str
    run: Callable[..., CheckResult]
    manifests: Callable[[int], bool] | None = None

    def __post_init__(self) -> None:
        if self.must not in ("catch", "pass"):
            raise ValueError(f"{self.name}: must is 'catch' or 'pass', got {self.must!r}")
        if self.area not in AREAS:
            raise ValueError(f"{self.name}: unknown area {self.area!r}; known: {AREAS}")


def public_check(name: str) -> Callable[..., CheckResult]:
    """The public check ``rlcheck.checks.<name>``; :class:`CheckUnavailable` if it is missing."""
    import importlib
    import pkgutil

    import rlcheck.checks as checks

    fn = getattr(checks, name, None)
    if fn is None:  # not re-exported yet: look in the submodules of rlcheck.checks
        for info in pkgutil.iter_modules(checks.__path__):
            module = importlib.import_module(f"rlcheck.checks.{info.name}")
            fn = getattr(module, name, None)
            if fn is not None:
                break
    if fn is None:
        raise CheckUnavailable(f"rlcheck.checks.{name} does not exist yet")
    return fn


# ============================================================================ policy gradients
# A weights function maps a TrajectoryBatch (states, actions, rewards [N, T], gamma, exact
# values V_t(s_t)) to per-step weights psi [N, T]; check_pg_weights tests that
# E[sum_t grad log pi(a_t|s_t) psi_t] equals the exact gradient of its target.

def _discount_matrix(horizon: int, gamma: float, *, restart: bool) -> np.ndarray:
    """``M[t, t'] = gamma^(t'-t)`` (``restart``) or ``gamma^t'`` for ``t' >= t``, else 0."""
    t = np.arange(horizon)
    later = t[None, :] >= t[:, None]
    power = np.where(later, t[None, :] - t[:, None], 0) if restart else np.broadcast_to(
        t[None, :], (horizon, horizon))
    return np.where(later, float(gamma) ** power, 0.0)


def _reward_to_go(rewards: np.ndarray, gamma: float, *, restart: bool) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^(t'-t) r_t'`` (``restart``) or ``sum_{t'>=t} gamma^t' r_t'``."""
    return rewards @ _discount_matrix(rewards.shape[1], gamma, restart=restart).T


def _full_return(batch: TrajectoryBatch) -> np.ndarray:
    """REINFORCE: ``psi_t = G = sum_t' gamma^t' r_t'`` at every step (correct, discounted)."""
    return np.repeat(batch.returns()[:, None], batch.horizon, axis=1)


def _rtg_absolute(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^t' r_t'`` (correct for the discounted objective)."""
    return _reward_to_go(batch.rewards, batch.gamma, restart=False)


def _rtg_restart(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^(t'-t) r_t'`` (CS285's reward-to-go; the causal target)."""
    return _reward_to_go(batch.rewards, batch.gamma, restart=True)


def _rtg_drops_current_reward(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>t} gamma^t' r_t'``: the reversed cumsum shifted by one step."""
    return _rtg_absolute(batch) - batch.rewards * batch.discounts()


def _past_rewards(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'<=t} gamma^t' r_t'``: a forward cumsum that was never reversed."""
    return np.cumsum(batch.rewards * batch.discounts(), axis=1)


def _sign_flipped(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = -sum_{t'>=t} gamma^t' r_t'``: the loss sign applied twice."""
    return -_rtg_absolute(batch)


def _mean_over_time(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = RTG_t / T``: the per-trajectory sum over t replaced by a mean over t."""
    return _rtg_absolute(batch) / batch.horizon


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
    return batch.discounts() * (_rtg_restart(batch) - baseline)


def _next_state_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """Baseline ``b_t = V_{t+1}(s_{t+1})``: the value array indexed one step late."""
    v_next = np.concatenate([batch.values[:, 1:], np.zeros((batch.n, 1))], axis=1)
    return batch.discounts() * (_rtg_restart(batch) - v_next)


def _action_in_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """Baseline ``b_t = V_t(s_t) + a_t``: the critic was fed the action as an input."""
    baseline = batch.values + batch.actions
    return batch.discounts() * (_rtg_restart(batch) - baseline)


def _own_trajectory_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """Baseline ``b_i = mean_t RTG_{i,t}``: computed from the same trajectory's own returns."""
    rtg = _rtg_restart(batch)
    return batch.discounts() * (rtg - rtg.mean(axis=1, keepdims=True))


def _no_discount(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} r_t'``: gamma forgotten in the return."""
    return _reward_to_go(batch.rewards, 1.0, restart=True)


def _discount_twice(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^(2t') r_t'``: rewards pre-discounted, then discounted again."""
    return _reward_to_go(batch.rewards * batch.discounts(), batch.gamma, restart=False)


def _discount_off_by_one(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t} gamma^(t'+1) r_t'``: the discount counted from 1 instead of 0."""
    return batch.gamma * _rtg_absolute(batch)


def _baseline_plus_constant(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = gamma^t (RTG_t - V_t(s_t) - 7)``: a constant added to a state baseline."""
    return batch.discounts() * (_rtg_restart(batch) - batch.values - 7.0)


def _one_past_reward(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = sum_{t'>=t-1} gamma^t' r_t'``: one past reward included."""
    past = np.concatenate([np.zeros((batch.n, 1)), (batch.rewards * batch.discounts())[:, :-1]],
                          axis=1)
    return _rtg_absolute(batch) + past


def _arbitrary_state_baseline(batch: TrajectoryBatch) -> np.ndarray:
    """``psi_t = RTG_t - 5 sin(3 s_t + t)``: any function of ``(t, s_t)`` is a valid baseline."""
    t = np.arange(batch.horizon)[None, :]
    return _rtg_absolute(batch) - 5.0 * np.sin(3.0 * batch.states + t)


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


def _pg_run(weights_fn: Callable[[TrajectoryBatch], np.ndarray], target: str = "discounted",
            **kwargs: Any) -> Callable[[int], CheckResult]:
    def run(seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
        return public_check("check_pg_weights")(weights_fn, target=target, alpha=alpha,
                                                 seed=seed, **kwargs)
    return run


def _pg(name: str, description: str, area: str, must: Must,
        weights_fn: Callable[[TrajectoryBatch], np.ndarray], target: str = "discounted",
        **kwargs: Any) -> Mutant:
    return Mutant(name, description, area, must, "check_pg_weights",
                  _pg_run(weights_fn, target, **kwargs))


def _pg_mutants() -> list[Mutant]:
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
            "discounted objective (it drops gamma^t)", "discounting", "catch", _rtg_restart),
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
            "the discounted objective)", "discounting", "pass", _rtg_absolute),
        _pg("rtg-restart-causal-target", "CS285's gamma^(t'-t) reward-to-go checked against the "
            "target it does estimate", "discounting", "pass", _rtg_restart, target="causal"),
        _pg("rtg-one-past-reward", "one past reward included in the reward-to-go (zero in "
            "expectation)", "pg-weights", "pass", _one_past_reward),
        _pg("baseline-plus-constant", "state baseline with an extra constant: V(s_t) + 7",
            "baselines", "pass", _baseline_plus_constant),
        _pg("baseline-any-state-function", "baseline 5 sin(3 s_t + t): any function of time and "
            "state", "baselines", "pass", _arbitrary_state_baseline),
        _pg("leave-one-out-baseline", "batch-mean baseline that leaves the sample itself out",
            "baselines", "pass", _leave_one_out_baseline),
        _pg("rtg-rewards-shifted-by-100", "reward-to-go on MDPs whose rewards are all shifted by "
            "+100 (not centred)", "pg-weights", "pass", _rtg_absolute, mdps=_shifted_mdps()),
    ]


# ============================================================================ Bellman backups
# A backup maps (P [S,A,S], R [S,A], gamma, V [S]) to (T V) [S] with
# (T V)(s) = max_a [R(s,a) + gamma sum_s' P(s'|s,a) V(s')].

def _backup_correct(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    """``max_a R + gamma P V`` in one line (correct)."""
    return (R + gamma * P @ V).max(axis=1)


def _backup_loops(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    """Explicit loops over states, actions and next states (correct, slow)."""
    S, A = R.shape
    out = np.empty(S)
    for s in range(S):
        best = -np.inf
        for a in range(A):
            q = R[s, a] + gamma * sum(P[s, a, k] * V[k] for k in range(S))
            best = max(best, q)
        out[s] = best
    return out


def _backup_shifted(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    """``max_a [R + gamma P (V - c)] + gamma c`` with ``c = max V`` (correct: rows of P sum to 1)."""
    c = np.max(V)
    return (R + gamma * P @ (V - c)).max(axis=1) + gamma * c


def _backup_min(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + gamma * P @ V).min(axis=1)


def _backup_mean(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + gamma * P @ V).mean(axis=1)


def _backup_no_gamma(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + P @ V).max(axis=1)


def _backup_gamma_on_reward(P: np.ndarray, R: np.ndarray, gamma: float,
                            V: np.ndarray) -> np.ndarray:
    return (gamma * (R + P @ V)).max(axis=1)


def _backup_transposed_P(P: np.ndarray, R: np.ndarray, gamma: float,
                         V: np.ndarray) -> np.ndarray:
    return (R + gamma * np.einsum("kas,k->sa", P, V)).max(axis=1)


def _backup_max_next_state(P: np.ndarray, R: np.ndarray, gamma: float,
                           V: np.ndarray) -> np.ndarray:
    return (R + gamma * V.max()).max(axis=1)


def _backup_argmax(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + gamma * P @ V).argmax(axis=1).astype(np.float64)


def _backup_in_place(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    V_new = V  # aliases the caller's array: a Gauss-Seidel sweep that overwrites its input
    for s in range(len(V_new)):
        V_new[s] = (R[s] + gamma * P[s] @ V_new).max()
    return V_new


def _backup_split_max(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return R.max(axis=1) + gamma * (P @ V).max(axis=1)


def _bellman(name: str, description: str, must: Must,
             backup_fn: Callable[..., np.ndarray]) -> Mutant:
    def run(seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
        return public_check("check_bellman_backup")(backup_fn, alpha=alpha, seed=seed)
    return Mutant(name, description, "bellman", must, "check_bellman_backup", run)


def _bellman_mutants() -> list[Mutant]:
    return [
        _bellman("backup-min", "min over actions instead of max (a cost-minimisation habit)",
                 "catch", _backup_min),
        _bellman("backup-mean", "mean over actions: evaluates the uniform policy instead of "
                 "maximising", "catch", _backup_mean),
        _bellman("backup-no-gamma", "gamma dropped from the bootstrap term", "catch",
                 _backup_no_gamma),
        _bellman("backup-gamma-on-reward", "gamma multiplies the reward too: gamma (R + P V)",
                 "catch", _backup_gamma_on_reward),
        _bellman("backup-transposed-P", "P indexed as P[s', a, s]: the sum runs over the wrong "
                 "axis", "catch", _backup_transposed_P),
        _bellman("backup-max-next-state", "max over next states instead of the expectation "
                 "under P (optimistic dynamics)", "catch", _backup_max_next_state),
        _bellman("backup-argmax", "np.argmax instead of np.max: returns action indices",
                 "catch", _backup_argmax),
        _bellman("backup-split-max", "max_a R + gamma max_a P V: the max split over the sum",
                 "catch", _backup_split_max),
        _bellman("backup-in-place", "V updated in place during the sweep (Gauss-Seidel): later "
                 "states see new values", "catch", _backup_in_place),
        _bellman("backup-vectorised", "the one-line vectorised backup", "pass", _backup_correct),
        _bellman("backup-loops", "explicit Python loops over s, a, s'", "pass", _backup_loops),
        _bellman("backup-shifted", "V shifted by its max for stability and shifted back "
                 "(gamma c)", "pass", _backup_shifted),
    ]


# ============================================================================ fitted Q iteration
# fqi_fn(features [N, d], rewards [N], next_features [N, A, d], terminated [N], gamma, K) -> w [d]:
# K iterations of y = r + gamma (1 - terminated) max_a' phi(s', a') . w, w = least squares fit.

def _fqi(features: np.ndarray, rewards: np.ndarray, next_features: np.ndarray,
         terminated: np.ndarray, gamma: float, n_iterations: int, *,
         bootstrap: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
         mask_terminal: bool = True, use_gamma: bool = True, extra_iterations: int = 0,
         fit: str = "lstsq") -> np.ndarray:
    """Linear FQI with switches for the planted bugs (all defaults: correct).

    ``bootstrap(q_next [N, A], q_here [N]) -> [N]`` replaces ``max_a' q_next``."""
    w = np.zeros(features.shape[1])
    continuing = 1.0 - terminated.astype(np.float64) if mask_terminal else 1.0
    discount = gamma if use_gamma else 1.0
    for _ in range(n_iterations + extra_iterations):
        q_next = next_features @ w
        best = q_next.max(axis=1) if bootstrap is None else bootstrap(q_next, features @ w)
        y = rewards + discount * continuing * best
        if fit == "lstsq":
            w = np.linalg.lstsq(features, y, rcond=None)[0]
        elif fit == "pinv":
            w = np.linalg.pinv(features) @ y
        elif fit == "normal-equations":
            w = np.linalg.solve(features.T @ features, features.T @ y)
        elif fit == "one-gradient-step":
            w = w - 0.5 * features.T @ (features @ w - y) / len(y)
        else:
            raise ValueError(f"unknown fit {fit!r}")
    return w


def _fqi_variant(**switches: Any) -> Callable[..., np.ndarray]:
    def fqi_fn(features: np.ndarray, rewards: np.ndarray, next_features: np.ndarray,
               terminated: np.ndarray, gamma: float, n_iterations: int) -> np.ndarray:
        return _fqi(features, rewards, next_features, terminated, gamma, n_iterations,
                    **switches)
    return fqi_fn


def _fqi_mutant(name: str, description: str, must: Must, **switches: Any) -> Mutant:
    fqi_fn = _fqi_variant(**switches)

    def run(seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
        return public_check("check_fitted_q_iteration")(fqi_fn, alpha=alpha, seed=seed)
    return Mutant(name, description, "fitted-iteration", must, "check_fitted_q_iteration", run)


def _fqi_mutants() -> list[Mutant]:
    return [
        _fqi_mutant("fqi-mean-not-max", "mean over next actions instead of max (expected SARSA "
                    "under a uniform policy)", "catch",
                    bootstrap=lambda q_next, q_here: q_next.mean(axis=1)),
        _fqi_mutant("fqi-max-without-axis", ".max() without axis: the largest Q over the whole "
                    "batch bootstraps every transition", "catch",
                    bootstrap=lambda q_next, q_here: np.full(len(q_here), q_next.max())),
        _fqi_mutant("fqi-bootstrap-current-state", "bootstraps from Q(s, a) of the current "
                    "transition (obs used where next_obs was meant)", "catch",
                    bootstrap=lambda q_next, q_here: q_here),
        _fqi_mutant("fqi-terminal-not-masked", "terminal transitions bootstrapped: (1 - done) "
                    "forgotten", "catch", mask_terminal=False),
        _fqi_mutant("fqi-no-gamma", "gamma dropped from the target", "catch", use_gamma=False),
        _fqi_mutant("fqi-one-extra-iteration", "an off-by-one loop runs K + 1 iterations",
                    "catch", extra_iterations=1),
        _fqi_mutant("fqi-gradient-step-not-fit", "one gradient step per iteration instead of "
                    "fitting the regression to convergence", "catch", fit="one-gradient-step"),
        _fqi_mutant("fqi-lstsq", "linear FQI with np.linalg.lstsq", "pass"),
        _fqi_mutant("fqi-pinv", "the regression through the pseudo-inverse", "pass", fit="pinv"),
        _fqi_mutant("fqi-normal-equations", "the regression through the normal equations",
                    "pass", fit="normal-equations"),
    ]


# ============================================================================ BC losses
# A loss maps (dist, expert_actions [B, d]) to a scalar tensor.

def _joint_log_prob(dist: Any, actions: Any) -> Any:
    """``log pi(a|s)`` per sample ``[B]`` for an ``Independent`` or a per-dimension ``Normal``."""
    log_prob = dist.log_prob(actions)
    return log_prob.sum(-1) if log_prob.ndim == 2 else log_prob


def _loss_nll(dist: Any, actions: Any) -> Any:
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
        **kwargs: Any) -> Mutant:
    def run(seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
        return public_check("check_bc_loss")(loss_fn, alpha=alpha, seed=seed, **kwargs)
    return Mutant(name, description, "bc-loss", must, "check_bc_loss", run)


def _bc_mutants() -> list[Mutant]:
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
        _bc("bc-nll", "-log_prob(a).mean() with the joint log-density", "pass", _loss_nll),
        _bc("bc-nll-per-dimension-normal", "-log_prob(a).sum(-1).mean() on a per-dimension "
            "Normal", "pass", _loss_nll, distribution="normal"),
        _bc("bc-mse-rsample", "MSE of a reparameterised sample (correct for the mean)", "pass",
            _loss_mse_rsample),
        _bc("bc-nll-without-constant", "NLL written by hand without the log(2 pi)/2 constant",
            "pass", _loss_nll_no_constant),
        _bc("bc-nll-mean-over-dims", "NLL averaged over action dimensions as well (a 1/d "
            "rescaling)", "pass", _loss_nll_mean_over_dims),
    ]


# ============================================================================ DAgger
# dagger_fn(mdp, expert_probs [S, A], fit(states [N, T], actions [N, T]) -> probs [S, A], *,
#           n_iterations, n_trajectories, rng) -> probs [S, A]

DAGGER_BUGS = ("learner-labels", "no-aggregation", "expert-rollouts", "returns-first-fit",
               "beta-stuck", "one-iteration-short", "dataset-doubled", "labels-shifted")
DAGGER_VARIANTS = ("new-data-first", "shuffled")


def dagger_by_hand(mdp: TabularMDP, expert_probs: np.ndarray, fit: Callable[..., np.ndarray], *,
                   n_iterations: int, n_trajectories: int, rng: np.random.Generator,
                   bug: str | None = None, variant: str | None = None) -> np.ndarray:
    """Tabular DAgger written out (``bug=None``: correct): roll out the current policy, label
    the visited states with the expert, aggregate, refit; one of :data:`DAGGER_BUGS` or a
    correct :data:`DAGGER_VARIANTS` on request."""
    from rlcheck.mdp import sample

    if bug is not None and bug not in DAGGER_BUGS:
        raise ValueError(f"unknown DAgger bug {bug!r}; known: {DAGGER_BUGS}")
    labels = expert_probs.argmax(axis=1)
    first = sample(mdp, expert_probs, n_trajectories, rng)
    data_states, data_actions = first.states, labels[first.states]
    policy = first_fit = fit(data_states, data_actions)
    extra = -1 if bug == "one-iteration-short" else 0
    for _ in range(n_iterations - 1 + extra):
        behaviour = policy
        if bug == "expert-rollouts":
            behaviour = expert_probs
        elif bug == "beta-stuck":  # beta = 0.5 in every iteration, never decayed to 0
            behaviour = 0.5 * expert_probs + 0.5 * policy
        batch = sample(mdp, behaviour, n_trajectories, rng)
        new_actions = batch.actions if bug == "learner-labels" else labels[batch.states]
        if bug == "labels-shifted":  # s_t paired with the expert's label of s_{t+1}
            following = np.concatenate([batch.states[:, 1:], batch.final_states[:, None]], 1)
            new_actions = labels[following]
        if bug == "no-aggregation":
            data_states, data_actions = batch.states, new_actions
        elif bug == "dataset-doubled":
            data_states = np.concatenate([data_states, data_states, batch.states])
            data_actions = np.concatenate([data_actions, data_actions, new_actions])
        elif variant == "new-data-first":
            data_states = np.concatenate([batch.states, data_states])
            data_actions = np.concatenate([new_actions, data_actions])
        else:
            data_states = np.concatenate([data_states, batch.states])
            data_actions = np.concatenate([data_actions, new_actions])
        if variant == "shuffled":
            order = rng.permutation(len(data_states))
            data_states, data_actions = data_states[order], data_actions[order]
        policy = fit(data_states, data_actions)
    return first_fit if bug == "returns-first-fit" else policy


def _dagger(name: str, description: str, must: Must, bug: str | None = None,
            variant: str | None = None,
            dagger_fn: Callable[..., np.ndarray] | None = None) -> Mutant:
    def by_hand(mdp: TabularMDP, expert_probs: np.ndarray, fit: Callable[..., np.ndarray],
                **kwargs: Any) -> np.ndarray:
        return dagger_by_hand(mdp, expert_probs, fit, bug=bug, variant=variant, **kwargs)

    fn = dagger_fn if dagger_fn is not None else by_hand

    def run(seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
        return public_check("check_dagger")(fn, alpha=alpha, seed=seed)
    return Mutant(name, description, "dagger", must, "check_dagger", run)


def _dagger_reference(*args: Any, **kwargs: Any) -> np.ndarray:
    from rlcheck.compounding import tabular_dagger

    return tabular_dagger(*args, **kwargs)


def _dagger_mutants() -> list[Mutant]:
    return [
        _dagger("dagger-learner-labels", "visited states relabelled with the learner's own "
                "actions instead of the expert's", "catch", "learner-labels"),
        _dagger("dagger-no-aggregation", "each iteration trains on its newest data only (no "
                "aggregation)", "catch", "no-aggregation"),
        _dagger("dagger-expert-rollouts", "rollouts executed with the expert: BC with more data",
                "catch", "expert-rollouts"),
        _dagger("dagger-returns-first-fit", "returns the first (BC) policy instead of the last "
                "fit", "catch", "returns-first-fit"),
        _dagger("dagger-beta-stuck", "the expert/learner mixture stays at beta = 0.5 instead "
                "of decaying to the learner", "catch", "beta-stuck"),
        _dagger("dagger-one-iteration-short", "off-by-one loop: one DAgger iteration fewer "
                "than asked", "catch", "one-iteration-short"),
        _dagger("dagger-dataset-doubled", "the aggregated dataset appended to itself each "
                "iteration (old data over-weighted)", "catch", "dataset-doubled"),
        _dagger("dagger-labels-shifted", "states paired with the expert's label of the next "
                "state (an off-by-one in the label array)", "catch", "labels-shifted"),
        _dagger("dagger-reference", "rlcheck.compounding.tabular_dagger", "pass",
                dagger_fn=_dagger_reference),
        _dagger("dagger-by-hand", "DAgger written out by hand", "pass"),
        _dagger("dagger-new-data-first", "new data prepended to the aggregate (order does not "
                "matter)", "pass", variant="new-data-first"),
        _dagger("dagger-shuffled", "the aggregate shuffled before every fit", "pass",
                variant="shuffled"),
    ]


# ============================================================================ sampling
# A collector maps (policy, env_id, n_steps, seed) to exactly n_steps transitions with the
# fields of rlcheck.sampling.Rollouts; check_sampler replays them in CartPole-v1 (and collects
# again in rlcheck/CartPole-short-v1, a 20-step time limit, to test truncation).

SAMPLER_BUGS = ("drop-final-step", "budget-cut-terminal", "no-reset", "next-obs-is-obs",
                "action-lag", "reset-seed-every-episode", "same-seed-every-env", "greedy-actions",
                "drop-incomplete-episode", "time-limit-terminal", "reward-lag")


def collect_by_hand(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int, *,
                    n_envs: int = 1, bug: str | None = None) -> Any:
    """A plain gymnasium loop over ``n_envs`` environments stepped in turn (``bug=None``:
    correct), with one of :data:`SAMPLER_BUGS` planted on request.

    Environment ``i`` is seeded ``seed + i`` once, at its first reset; the policy draws from
    ``default_rng(seed)``; the last episode of each environment is cut by the step budget
    (``truncated``). Returns a namespace with the fields of :class:`rlcheck.sampling.Rollouts`.
    """
    import gymnasium as gym

    if bug is not None and bug not in SAMPLER_BUGS:
        raise ValueError(f"unknown sampler bug {bug!r}; known: {SAMPLER_BUGS}")
    rng = np.random.default_rng(seed)
    envs = [gym.make(env_id) for _ in range(n_envs)]
    budgets = [n_steps // n_envs + (i < n_steps % n_envs) for i in range(n_envs)]
    rows: list[list[tuple[Any, ...]]] = [[] for _ in range(n_envs)]
    try:
        with warnings.catch_warnings():  # stepping a finished episode ("no-reset") warns
            warnings.simplefilter("ignore")
            _step_by_hand(envs, budgets, rows, policy, rng, seed, bug)
    finally:
        for env in envs:
            env.close()
    if bug == "drop-incomplete-episode":  # each environment's budget-cut last episode discarded
        rows = [[row for row in env_rows if env_rows[-1][4] or row[6] != env_rows[-1][6]]
                for env_rows in rows]
    return _as_namespace(rows)


def _step_by_hand(envs: list[Any], budgets: list[int], rows: list[list[tuple[Any, ...]]],
                  policy: Callable[..., np.ndarray], rng: np.random.Generator, seed: int,
                  bug: str | None) -> None:
    """Step the environments in turn until each has its budget; rows are
    ``(s, a, r, s', terminated, truncated, episode)``."""
    n_envs = len(envs)
    first_seed = [seed if bug == "same-seed-every-env" else seed + i for i in range(n_envs)]
    obs = [env.reset(seed=first_seed[i])[0] for i, env in enumerate(envs)]
    episode, next_episode = list(range(n_envs)), n_envs
    previous_action: list[int | None] = [None] * n_envs
    previous_reward = [0.0] * n_envs
    while any(len(rows[i]) < budgets[i] for i in range(n_envs)):
        for i, env in enumerate(envs):
            if len(rows[i]) >= budgets[i]:
                continue
            if bug == "greedy-actions":
                action = int(np.argmax(policy.probabilities(obs[i][None])[0]))
            else:
                action = int(np.asarray(policy(obs[i][None], rng))[0])
            nxt, reward, terminated, truncated, _ = env.step(action)
            done = bool(terminated or truncated)
            cut = len(rows[i]) == budgets[i] - 1 and not done
            recorded = action
            if bug == "action-lag":
                recorded = action if previous_action[i] is None else previous_action[i]
                previous_action[i] = action
            recorded_reward = float(reward)
            if bug == "reward-lag":  # the reward list is appended one step late
                recorded_reward, previous_reward[i] = previous_reward[i], float(reward)
            time_limit = bug == "time-limit-terminal" and bool(truncated)
            row = (obs[i], recorded, recorded_reward,
                   obs[i] if bug == "next-obs-is-obs" else nxt,
                   bool(terminated) or time_limit or (cut and bug == "budget-cut-terminal"),
                   (bool(truncated) and not time_limit) or (cut and bug != "budget-cut-terminal"),
                   episode[i])
            if not (done and bug == "drop-final-step"):
                rows[i].append(row)
            if done and bug != "no-reset":
                again = seed + i if bug == "reset-seed-every-episode" else None
                obs[i] = env.reset(seed=again)[0]
                episode[i], next_episode = next_episode, next_episode + 1
            else:
                obs[i] = nxt


def _as_namespace(rows: list[list[tuple[Any, ...]]]) -> Any:
    """Concatenate per-environment rows (environment 0 first) into Rollouts-like arrays, with
    episodes renumbered 0, 1, ... in order of appearance."""
    from types import SimpleNamespace

    flat = [row for env_rows in rows for row in env_rows]
    columns = list(zip(*flat, strict=True))
    ids: dict[int, int] = {}
    for e in columns[6]:
        ids.setdefault(e, len(ids))
    return SimpleNamespace(
        observations=np.asarray(columns[0], dtype=np.float32),
        actions=np.asarray(columns[1], dtype=np.int64),
        rewards=np.asarray(columns[2], dtype=np.float64),
        next_observations=np.asarray(columns[3], dtype=np.float32),
        terminated=np.asarray(columns[4], dtype=bool),
        truncated=np.asarray(columns[5], dtype=bool),
        episode=np.asarray([ids[e] for e in columns[6]], dtype=np.int64),
        env_index=np.repeat(np.arange(len(rows)), [len(r) for r in rows]).astype(np.int64))


def _collect_with_rlcheck(policy: Callable[..., np.ndarray], env_id: str, n_steps: int,
                          seed: int) -> Any:
    """rlcheck's own serial sampler (the reference implementation)."""
    from rlcheck.sampling import collect

    return collect(policy, env_id, n_steps, seed)


def _sampler(name: str, description: str, must: Must, bug: str | None = None,
             n_envs: int = 1, collect_fn: Callable[..., Any] | None = None) -> Mutant:
    def by_hand(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int) -> Any:
        return collect_by_hand(policy, env_id, n_steps, seed, n_envs=n_envs, bug=bug)

    fn = collect_fn if collect_fn is not None else by_hand

    def run(seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
        return public_check("check_sampler")(fn, alpha=alpha, seed=seed)

    def manifests(seed: int) -> bool:
        """Whether the bug changes what the check's own call would collect with this seed."""
        import inspect

        from rlcheck.checks import sampling as checked

        n_steps = inspect.signature(public_check("check_sampler")).parameters["n_steps"].default
        policy = checked.check_policy()
        for env_id, steps in ((checked.ENV_ID, n_steps),  # the check's two collections
                              (checked.SHORT_CARTPOLE_ID, checked.TIME_LIMIT_STEPS)):
            got = collect_by_hand(policy, env_id, steps, seed, n_envs=n_envs, bug=bug)
            ref = collect_by_hand(policy, env_id, steps, seed, n_envs=n_envs)
            if any(np.shape(getattr(got, f)) != np.shape(getattr(ref, f))
                   or not np.array_equal(getattr(got, f), getattr(ref, f)) for f in vars(ref)):
                return True
        return False
    return Mutant(name, description, "sampling", must, "check_sampler", run,
                  manifests if bug is not None and must == "catch" else None)


def _sampler_mutants() -> list[Mutant]:
    return [
        _sampler("sampler-drops-final-step", "`if done: reset; continue` before appending: the "
                 "last transition of every episode is lost", "catch", "drop-final-step"),
        _sampler("sampler-budget-cut-terminal", "the step-budget cut stored as terminated "
                 "(truncation treated as termination)", "catch", "budget-cut-terminal"),
        _sampler("sampler-no-reset", "the environment is never reset after an episode ends",
                 "catch", "no-reset"),
        _sampler("sampler-next-obs-is-obs", "obs overwritten before storing: next_obs == obs",
                 "catch", "next-obs-is-obs"),
        _sampler("sampler-action-lag", "actions appended one step late: a_{t-1} paired with s_t",
                 "catch", "action-lag"),
        _sampler("sampler-reset-seed-every-episode", "env.reset(seed=seed) at every episode: "
                 "every episode starts in the same state", "catch", "reset-seed-every-episode"),
        _sampler("sampler-same-seed-every-env", "every parallel environment seeded with the same "
                 "seed: duplicated trajectories", "catch", "same-seed-every-env", n_envs=2),
        _sampler("sampler-greedy-actions", "data collected with the greedy (argmax) action "
                 "instead of sampling from the policy", "catch", "greedy-actions"),
        _sampler("sampler-drops-incomplete-episode", "the budget-cut last episode discarded: "
                 "fewer transitions than requested", "catch", "drop-incomplete-episode"),
        _sampler("sampler-time-limit-terminal", "time-limit truncation stored as terminated "
                 "(done = terminated or truncated)", "catch", "time-limit-terminal"),
        _sampler("sampler-reward-lag", "rewards appended one step late: r_{t-1} paired with "
                 "(s_t, a_t)", "catch", "reward-lag"),
        _sampler("sampler-by-hand", "a plain gymnasium loop", "pass"),
        _sampler("sampler-two-envs-round-robin", "two environments stepped in turn, seeds "
                 "seed and seed+1, with env_index", "pass", n_envs=2),
        _sampler("sampler-rlcheck-serial", "rlcheck.sampling.collect (serial)", "pass",
                 collect_fn=_collect_with_rlcheck),
    ]


# ============================================================================ TD targets
# target_fn(TDBatch) -> y [B]; the implementations live in rlcheck.td_bugs.

def _td_mutants() -> list[Mutant]:
    from rlcheck.td_bugs import TD_IMPLEMENTATIONS

    def runner(fn: Callable[..., Any], kind: str) -> Callable[..., CheckResult]:
        def run(seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
            return public_check("check_td_targets")(fn, kind=kind, alpha=alpha, seed=seed)
        return run

    return [Mutant(f"td-{name}", description, "td-targets", must,  # type: ignore[arg-type]
                   "check_td_targets", runner(fn, kind))
            for name, kind, must, description, fn in TD_IMPLEMENTATIONS]


# ============================================================================ the catalogue

def catalogue() -> list[Mutant]:
    """Every mutant and variant, in :data:`AREAS` order; names are unique."""
    mutants = [*_pg_mutants(), *_bellman_mutants(), *_fqi_mutants(), *_bc_mutants(),
               *_dagger_mutants(), *_sampler_mutants(), *_td_mutants()]
    order = {area: i for i, area in enumerate(AREAS)}
    mutants.sort(key=lambda m: order[m.area])
    names = [m.name for m in mutants]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate mutant names: {sorted(duplicates)}")
    return mutants


def run_mutant(mutant: Mutant, seed: int = 0, alpha: float = DEFAULT_ALPHA) -> dict[str, Any]:
    """Run one mutant with ``seed`` at level ``alpha``; a record with ``caught`` = the check's
    verdict matched ``must``.

    ``status`` is ``"failed"`` or ``"passed"`` (the check returned), ``"raised"`` (the check
    raised one of :data:`RAISING_IS_FAILING`: the user's test goes red, a catch),
    ``"unavailable"`` (the check does not exist) or ``"error"`` (anything else: never a catch).
    """
    start = time.perf_counter()
    record: dict[str, Any] = {"name": mutant.name, "description": mutant.description,
                              "area": mutant.area, "must": mutant.must, "check": mutant.check,
                              "seed": seed}
    result: CheckResult | None = None
    try:
        result = mutant.run(seed, alpha=alpha)
        status, verdict = ("passed" if result.passed else "failed"), result.verdict
    except KeyboardInterrupt:
        raise
    except CheckUnavailable as exc:
        status, verdict = "unavailable", str(exc)
    except RAISING_IS_FAILING as exc:
        status, verdict = "raised", f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        status, verdict = "error", f"{type(exc).__name__}: {exc}"
    if mutant.must == "catch":
        caught = status in ("failed", "raised")
    else:
        caught = status == "passed"
    failing = ([c.name for c in result.children if not c.passed] if result is not None else [])
    manifested = None  # only asked of a bug that escaped: did it change anything this time?
    if mutant.must == "catch" and not caught and mutant.manifests is not None:
        manifested = bool(mutant.manifests(seed))
    record.update({
        "caught": caught, "status": status, "verdict": verdict,
        "failing_parts": failing, "manifested": manifested,
        "n_samples": int(result.n) if result is not None else 0,
        "parts": len(_leaves(result)) if result is not None else 0,
        "min_part_p_value": (min((p for p in (c.p_value for c in _leaves(result))
                                  if np.isfinite(p)), default=None)
                             if result is not None else None),
        "exact_part_failed": (any(not c.passed and not np.isfinite(c.p_value)
                                  for c in _leaves(result)) if result is not None else False),
        "p_value": (float(result.p_value) if result is not None
                    and np.isfinite(result.p_value) else None),
        "alpha": float(result.alpha) if result is not None else None,
        "seconds": round(time.perf_counter() - start, 3),
    })
    return record


def _leaves(result: CheckResult) -> list[CheckResult]:
    """The innermost parts of a (possibly nested) result."""
    if not result.children:
        return [result]
    return [leaf for child in result.children for leaf in _leaves(child)]


def run_catalogue(seed: int = 0, mutants: Sequence[Mutant] | None = None,
                  progress: bool | None = None) -> list[dict[str, Any]]:
    """Run every mutant (or those given) once with ``seed``; one record each (see
    :func:`run_mutant`), in catalogue order."""
    from rlcheck.progress import track

    mutants = catalogue() if mutants is None else list(mutants)
    disable = None if progress is None else not progress
    return [run_mutant(m, seed) for m in track(mutants, desc="mutants", disable=disable)]


def mutation_score(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts: bugs caught of bugs, variants passed of variants, and the names that missed."""
    bugs = [r for r in records if r["must"] == "catch"]
    variants = [r for r in records if r["must"] == "pass"]
    return {
        "bugs": len(bugs), "bugs_caught": sum(r["caught"] for r in bugs),
        "variants": len(variants), "variants_passed": sum(r["caught"] for r in variants),
        "missed": [r["name"] for r in records if not r["caught"]],
        "unavailable": sorted({r["check"] for r in records if r["status"] == "unavailable"}),
    }
