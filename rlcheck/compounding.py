"""Compounding error of behaviour cloning against DAgger, computed exactly on a tabular MDP.

Ross & Bagnell (2010, Theorem 2.1) bound the cost of a cloned policy that errs with probability
``eps`` on the expert's state distribution by ``J(pi) <= J(pi*) + T² eps``: after its first
mistake the learner is in states the expert never showed it, and may never recover. DAgger
(Ross, Gordon & Bagnell 2011, Theorem 3.2) trains on the learner's own state distribution, so the
error ``eps`` holds where the learner actually goes, and ``J(pi) <= J(pi*) + u T eps``, where
``u`` bounds how much one deviation from the expert raises the expert's cost-to-go.

:func:`tightrope_mdp` is the smallest MDP where this happens. State 0 is "on the rope", state 1
"fallen"; action 0 is the expert's (stay on, or climb back), action 1 the other (fall off, or stay
down); every step spent fallen costs 1 (reward -1). :func:`epsilon_learner` is the learner of the
analyses: in every state its training data covers it takes the data's majority action with
probability ``1 - eps`` and another action otherwise; in a state it has no data for, it takes a
``default`` action (here: staying down, the worst case the bound allows). With exact state
distributions (:func:`rlcheck.exact.state_distributions`) as infinitely much data,

* BC fits the expert's distribution, which never leaves state 0, so the learner stays down once
  fallen: ``p_t = 1 - (1 - eps)^t`` and ``J_BC(T) = T - (1 - (1 - eps)^T) / eps ≈ eps T² / 2``;
* DAgger adds the learner's own states, labelled by the expert, so it climbs back with
  probability ``1 - eps``: ``p_t = eps`` for ``t >= 1`` and ``J_DAgger(T) = eps (T - 1)``.

:func:`compounding_curves` computes both costs exactly for a range of horizons and fits them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlcheck import exact
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP, validate_policy

__all__ = [
    "COMPOUNDING_DEFAULTS",
    "CompoundingCurves",
    "CompoundingSetup",
    "bc_exact",
    "closed_form_costs",
    "compounding_curves",
    "dagger_exact",
    "deviation_cost",
    "epsilon_learner",
    "expert_labels",
    "label_counts",
    "loglog_slope",
    "occupancy",
    "polynomial_fit",
    "tabular_dagger",
    "tightrope_expert",
    "tightrope_mdp",
]


def tightrope_mdp(horizon: int) -> TabularMDP:
    """Two states (0 on the rope, 1 fallen), two actions (0 the expert's, 1 the other).

    ``P(0 | s, a=0) = 1`` (stay on / climb back), ``P(1 | s, a=1) = 1`` (fall / stay down),
    reward ``-1`` in state 1 (a cost of 1 per fallen step), start on the rope, ``gamma = 1``.
    """
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    R = np.array([[0.0, 0.0], [-1.0, -1.0]])
    return TabularMDP(P, R, np.array([1.0, 0.0]), 1.0, horizon)


def tightrope_expert() -> np.ndarray:
    """The expert of :func:`tightrope_mdp`: action 0 in both states, ``[S, A]`` one-hot."""
    return np.array([[1.0, 0.0], [1.0, 0.0]])


def expert_labels(expert_probs: np.ndarray) -> np.ndarray:
    """The deterministic expert's action in each state, ``argmax_a pi*(a | s)``, shape ``[S]``.

    Raises:
        ValueError: the expert is not deterministic (a row is not one-hot).
    """
    probs = np.asarray(expert_probs, dtype=np.float64)
    if probs.ndim != 2 or not np.allclose(probs.max(axis=1), 1.0, atol=1e-12):
        raise ValueError("the expert must be a deterministic policy: one-hot rows [S, A]")
    return probs.argmax(axis=1)


def epsilon_learner(counts: np.ndarray, epsilon: float, default: np.ndarray) -> np.ndarray:
    """The policy an ``eps``-error classifier fits to label counts ``counts[s, a]``.

    ``pi(a | s) = 1 - eps`` for the majority label ``a`` of a state with data (ties: the lowest
    action) and ``eps / (A - 1)`` for the others; ``pi(. | s) = default[s]`` for a state with no
    data. Returns ``[S, A]``.

    Raises:
        ValueError: negative or non-finite counts, ``eps`` outside ``[0, 1]``, a bad default.
    """
    counts = np.asarray(counts, dtype=np.float64)
    default = np.asarray(default, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] < 2:
        raise ValueError(f"counts must be [S, A >= 2], got {counts.shape}")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("counts must be finite and non-negative")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
    if default.shape != counts.shape:
        raise ValueError(f"default must have shape {counts.shape}, got {default.shape}")
    S, A = counts.shape
    fitted = np.full((S, A), epsilon / (A - 1))
    fitted[np.arange(S), counts.argmax(axis=1)] = 1.0 - epsilon
    seen = counts.sum(axis=1) > 0
    return np.where(seen[:, None], fitted, default)


def label_counts(states: np.ndarray, actions: np.ndarray, n_states: int,
                 n_actions: int) -> np.ndarray:
    """``counts[s, a]`` = number of pairs ``(s, a)`` in the data (any matching shapes)."""
    s = np.asarray(states).reshape(-1)
    a = np.asarray(actions).reshape(-1)
    if s.shape != a.shape:
        raise ValueError(f"states {np.shape(states)} and actions {np.shape(actions)} differ")
    if s.size and (s.min() < 0 or s.max() >= n_states or a.min() < 0 or a.max() >= n_actions):
        raise ValueError("states or actions out of range")
    return np.bincount(s * n_actions + a, minlength=n_states * n_actions).reshape(
        n_states, n_actions).astype(np.float64)


def occupancy(mdp: TabularMDP, probs: np.ndarray) -> np.ndarray:
    """Expected visits per episode ``sum_t Pr(s_t = s)``, shape ``[S]``."""
    return exact.state_distributions(mdp, probs).sum(axis=0)


def bc_exact(mdp: TabularMDP, expert_probs: np.ndarray, epsilon: float,
             default: np.ndarray) -> np.ndarray:
    """BC with infinite data: :func:`epsilon_learner` on the expert's exact occupancy."""
    labels = expert_labels(expert_probs)
    counts = occupancy(mdp, expert_probs)[:, None] * np.eye(mdp.n_actions)[labels]
    return epsilon_learner(counts, epsilon, default)


def dagger_exact(mdp: TabularMDP, expert_probs: np.ndarray, epsilon: float, default: np.ndarray,
                 n_iterations: int) -> list[np.ndarray]:
    """DAgger with infinite data: ``D_0`` = expert occupancy; ``D_i = D_{i-1} +`` occupancy of
    ``pi_i`` labelled by the expert; ``pi_{i+1}`` = :func:`epsilon_learner` on ``D_i``.

    Returns the policies ``[pi_1 (= BC), ..., pi_N]``.
    """
    if n_iterations < 1:
        raise ValueError(f"n_iterations must be >= 1, got {n_iterations}")
    one_hot = np.eye(mdp.n_actions)[expert_labels(expert_probs)]
    counts = occupancy(mdp, expert_probs)[:, None] * one_hot
    policies = [epsilon_learner(counts, epsilon, default)]
    for _ in range(n_iterations - 1):
        counts = counts + occupancy(mdp, policies[-1])[:, None] * one_hot
        policies.append(epsilon_learner(counts, epsilon, default))
    return policies


def deviation_cost(mdp: TabularMDP, expert_probs: np.ndarray) -> float:
    """``u = max_{t, s, a} V*_t(s) - Q*_t(s, a)``: the most one deviation from the expert can
    lower its value (raise its cost-to-go), the ``u`` of Ross et al. (2011)."""
    q = exact.q_values(mdp, expert_probs)
    v = (validate_policy(mdp, expert_probs)[None] * q).sum(axis=2)
    return float((v[:, :, None] - q).max())


def polynomial_fit(x: np.ndarray, y: np.ndarray, degree: int, *,
                   relative: bool = False) -> tuple[np.ndarray, float]:
    """Least-squares coefficients ``c_0..c_degree`` of ``y ≈ sum_k c_k x^k`` and the R².

    With ``relative=True`` the residuals are weighted by ``1 / y`` (minimising the squared
    relative error, which suits values spanning decades, as on a log-log plot).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    design = np.vander(x, degree + 1, increasing=True)
    w = 1.0 / np.abs(y) if relative else np.ones_like(y)
    coef, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
    resid = y - design @ coef
    total = ((y - y.mean()) ** 2).sum()
    return coef, float(1.0 - (resid**2).sum() / total) if total > 0 else 1.0


def loglog_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Slope ``k`` of the least-squares line ``log y ≈ k log x + c`` (growth ``y ∝ x^k``)."""
    coef, _ = polynomial_fit(np.log(x), np.log(y), 1)
    return float(coef[1])


@dataclass(frozen=True)
class CompoundingSetup:
    """Parameters of :func:`compounding_curves`: learner error ``epsilon``, the horizons, and the
    number of DAgger iterations (with infinite data two suffice on the tightrope)."""

    epsilon: float = 1e-3
    horizons: tuple[int, ...] = (5, 10, 20, 40, 80, 160)
    n_iterations: int = 10


COMPOUNDING_DEFAULTS = CompoundingSetup()


@dataclass(frozen=True)
class CompoundingCurves:
    """Exact costs of BC and DAgger on :func:`tightrope_mdp` for each horizon ``T``.

    Attributes (arrays over ``horizons``): the expert's cost ``expert_cost`` (0 here), the
    learners' costs ``-J``, the bounds ``eps T²`` (BC) and ``u eps T`` (DAgger), ``u``.
    """

    setup: CompoundingSetup
    horizons: np.ndarray
    expert_cost: np.ndarray
    bc_cost: np.ndarray
    dagger_cost: np.ndarray
    bc_bound: np.ndarray
    dagger_bound: np.ndarray
    u: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[dict[str, float]]:
        """One row per horizon, for a CSV table."""
        return [{"horizon": int(T), "expert_cost": float(e), "bc_excess_cost": float(b - e),
                 "dagger_excess_cost": float(d - e), "bc_bound_eps_T2": float(bb),
                 "dagger_bound_u_eps_T": float(db), "u": float(u)}
                for T, e, b, d, bb, db, u in zip(self.horizons, self.expert_cost, self.bc_cost,
                                                 self.dagger_cost, self.bc_bound,
                                                 self.dagger_bound, self.u, strict=True)]

    def fits(self) -> dict[str, dict[str, Any]]:
        """For each learner: the log-log slope of the excess cost in ``T``, the quadratic fit
        ``c0 + c1 T + c2 T²`` (least squares in relative error) and the R² of the linear and
        quadratic fits."""
        out = {}
        for name, cost in (("bc", self.bc_cost), ("dagger", self.dagger_cost)):
            excess = cost - self.expert_cost
            quad, r2_quad = polynomial_fit(self.horizons, excess, 2, relative=True)
            _, r2_lin = polynomial_fit(self.horizons, excess, 1, relative=True)
            out[name] = {"loglog_slope": loglog_slope(self.horizons, excess),
                         "quadratic_coefficients": quad.tolist(), "r2_linear": r2_lin,
                         "r2_quadratic": r2_quad,
                         "within_bound": bool(np.all(
                             excess <= (self.bc_bound if name == "bc" else self.dagger_bound)
                             * (1 + 1e-12)))}
        return out

    def summary(self) -> str:
        f = self.fits()
        T = self.horizons
        return (f"eps = {self.setup.epsilon:g}, T = {T[0]}..{T[-1]}: BC excess cost "
                f"{self.bc_cost[0] - self.expert_cost[0]:.4g} -> "
                f"{self.bc_cost[-1] - self.expert_cost[-1]:.4g}, log-log slope "
                f"{f['bc']['loglog_slope']:.2f}, quadratic coefficient "
                f"{f['bc']['quadratic_coefficients'][2]:.3g} (eps/2 = "
                f"{self.setup.epsilon / 2:.3g}); DAgger "
                f"{self.dagger_cost[0] - self.expert_cost[0]:.4g} -> "
                f"{self.dagger_cost[-1] - self.expert_cost[-1]:.4g}, slope "
                f"{f['dagger']['loglog_slope']:.2f}, quadratic coefficient "
                f"{f['dagger']['quadratic_coefficients'][2]:.2g}; both within the Ross et al. "
                f"bounds: {f['bc']['within_bound'] and f['dagger']['within_bound']}")

    def caption(self) -> str:
        return (f"Tightrope MDP, eps-error learner (eps = {self.setup.epsilon:g}), exact state "
                "distributions as infinite data; DAgger after "
                f"{self.setup.n_iterations} iterations. Bounds: eps T² (BC), u eps T (DAgger).")


def compounding_curves(setup: CompoundingSetup = COMPOUNDING_DEFAULTS) -> CompoundingCurves:
    """Exact BC and DAgger costs on :func:`tightrope_mdp` for each horizon in ``setup``.

    Costs are ``-J`` from :func:`rlcheck.exact.evaluate`; the learner's default in unseen states
    is action 1 (stay down).
    """
    horizons = np.asarray(setup.horizons, dtype=np.int64)
    if horizons.ndim != 1 or len(horizons) < 3 or (horizons < 2).any():
        raise ValueError(f"need at least 3 horizons >= 2, got {setup.horizons}")
    expert = tightrope_expert()
    default = np.array([[0.0, 1.0], [0.0, 1.0]])
    cols: dict[str, list[float]] = {k: [] for k in ("expert", "bc", "dagger", "u")}
    for T in horizons:
        mdp = tightrope_mdp(int(T))
        cols["expert"].append(-exact.evaluate(mdp, expert))
        cols["bc"].append(-exact.evaluate(mdp, bc_exact(mdp, expert, setup.epsilon, default)))
        final = dagger_exact(mdp, expert, setup.epsilon, default, setup.n_iterations)[-1]
        cols["dagger"].append(-exact.evaluate(mdp, final))
        cols["u"].append(deviation_cost(mdp, expert))
    u = np.asarray(cols["u"])
    return CompoundingCurves(
        setup=setup, horizons=horizons, expert_cost=np.asarray(cols["expert"]),
        bc_cost=np.asarray(cols["bc"]), dagger_cost=np.asarray(cols["dagger"]),
        bc_bound=setup.epsilon * horizons.astype(float) ** 2,
        dagger_bound=u * setup.epsilon * horizons, u=u)


def closed_form_costs(epsilon: float, horizons: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``J_BC(T) = T - (1 - (1 - eps)^T) / eps`` and ``J_DAgger(T) = eps (T - 1)`` on the
    tightrope (costs; for ``eps > 0``), the closed forms the exact computation must match."""
    T = np.asarray(horizons, dtype=np.float64)
    return T - (1 - (1 - epsilon) ** T) / epsilon, epsilon * (T - 1)


TabularFit = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``fit(states [N, T], expert_actions [N, T]) -> probs [S, A]``: a tabular learner."""


def tabular_dagger(mdp: TabularMDP, expert_probs: np.ndarray, fit: TabularFit, *,
                   n_iterations: int, n_trajectories: int,
                   rng: np.random.Generator) -> np.ndarray:
    """DAgger on a tabular MDP with sampled trajectories (the reference for ``check_dagger``).

    Iteration 0 samples ``n_trajectories`` episodes with the expert and fits them; each later
    iteration samples ``n_trajectories`` episodes with the current learner
    (:func:`rlcheck.episodes.sample`), labels every visited state with the expert's action,
    appends them to the data (aggregation) and refits. ``fit`` is called exactly once per
    iteration, with all the data so far; the last fit is returned.
    """
    labels = expert_labels(expert_probs)
    states = sample(mdp, expert_probs, n_trajectories, rng).states
    data_states, data_actions = states, labels[states]
    policy = fit(data_states, data_actions)
    for _ in range(n_iterations - 1):
        states = sample(mdp, policy, n_trajectories, rng).states
        data_states = np.concatenate([data_states, states])
        data_actions = np.concatenate([data_actions, labels[states]])
        policy = fit(data_states, data_actions)
    return policy
