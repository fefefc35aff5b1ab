"""Claim ``fitted-divergence``: fitted value/Q iteration and actor-critic carry no convergence
guarantee: the Bellman backup and the regression each converge, their composition need not.

Evidence (``rlcheck.bellman``, ``rlcheck.fitted``, ``rlcheck.counterexamples``,
``rlcheck.actor_critic``):

1. the pieces: the backup is a sup-norm gamma-contraction, least squares a projection that is a
   non-expansion in the data-weighted L2 norm but not in the sup norm (measured gains);
2. the composition: Tsitsiklis & Van Roy's two-state example (exact growth factor, explicit
   least-squares iterates), Baird's star (semi-gradient DP, stochastic off-policy TD, fitted
   iteration with exact and partial fits), and a survey of random linear problems (exact
   spectral radius of the fitted-evaluation map, off-policy vs on-policy weighting);
3. the exceptions with guarantees: averagers (Gordon 1995) and on-policy linear TD;
4. neural FQI on CartPole-v1 over seeds, with and without a target network, against a
   k-nearest-neighbour averager on the same data;
5. actor-critic: exact-critic actor gradient = exact policy gradient; tabular and CartPole runs.

Part 4 is a grid of jobs (``rlcheck.jobs``: one per seed), stored in ``out_dir/jobs/`` and
resumed on a rerun.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlcheck import actor_critic as ac
from rlcheck import bellman, exact, fitted
from rlcheck import counterexamples as cx
from rlcheck.atomic import write_csv_atomic
from rlcheck.claims import Figure, Outcome, SubClaim, Table, Tier, combine_verdicts, save_figure
from rlcheck.jobs import Job, run_jobs
from rlcheck.mdp import random_mdp
from rlcheck.progress import track

CLAIM_ID = "fitted-divergence"
SEED = 0
CARTPOLE = "CartPole-v1"


@dataclass(frozen=True)
class Config:
    random_problems: int      # random (MDP, features) pairs in the surveys
    td_seeds: int             # seeds of stochastic off-policy TD on Baird
    td_steps: int
    fqi_seeds: int            # seeds of neural FQI on CartPole
    fqi_transitions: int      # size of the CartPole dataset
    fqi_iterations: int
    fqi_steps: int            # Adam steps per FQI iteration
    ac_seeds: int             # CartPole actor-critic seeds (0: skipped)
    ac_iterations: int


CONFIG = {
    "quick": Config(random_problems=300, td_seeds=10, td_steps=5000, fqi_seeds=2,
                    fqi_transitions=2000, fqi_iterations=15, fqi_steps=40, ac_seeds=0,
                    ac_iterations=0),
    "full": Config(random_problems=3000, td_seeds=50, td_steps=10_000, fqi_seeds=8,
                   fqi_transitions=5000, fqi_iterations=40, fqi_steps=100, ac_seeds=2,
                   ac_iterations=30),
}


# ----------------------------------------------------------------------------- 1. the pieces

def pieces_table(cfg: Config, rng: np.random.Generator) -> pd.DataFrame:
    """Measured gains: backup in the sup norm; least squares in ||.||_D and in the sup norm."""
    rows = []
    for i in range(cfg.random_problems):
        S, A = int(rng.integers(2, 8)), int(rng.integers(1, 4))
        gamma = float(rng.uniform(0.5, 0.99))
        P = rng.dirichlet(np.ones(S), size=(S, A))
        R = rng.standard_normal((S, A))
        U, V = 10 * rng.standard_normal(S), 10 * rng.standard_normal(S)
        backup_gain = (np.abs(bellman.optimality_backup(P, R, gamma, U)
                              - bellman.optimality_backup(P, R, gamma, V)).max()
                       / np.abs(U - V).max())
        d = int(rng.integers(1, S))
        X = rng.standard_normal((S, d))
        weights = rng.dirichlet(np.ones(S))
        Pi = fitted.projection_matrix(X, weights)
        rows.append({"problem": i, "n_states": S, "n_features": d, "gamma": gamma,
                     "backup_gain_over_gamma": backup_gain / gamma,
                     "ls_gain_weighted_l2": fitted.weighted_norm_gain(Pi, weights),
                     "ls_gain_sup": fitted.sup_norm_gain(Pi)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- 2. composition

def tvr_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Growth factors (formula vs explicit least squares) and iterates of every variant."""
    rows = []
    for eps in (0.0, 0.1, 0.25):
        for gamma in (0.5, 0.8, 0.83, 0.84, 0.9, 0.95, 0.99):
            w = cx.tvr_fitted_iterates(gamma, eps, 50)
            rows.append({"eps": eps, "gamma": gamma, "threshold": cx.tvr_divergence_threshold(eps),
                         "factor_formula": cx.tvr_growth_factor(gamma, eps),
                         "factor_least_squares": w[1] / w[0], "w_50": w[50],
                         "diverges": bool(cx.tvr_growth_factor(gamma, eps) > 1)})
    factors = pd.DataFrame(rows)
    n = 60
    curves = []
    for gamma in (0.8, 0.9, 0.99):
        series = {
            "least squares, uniform d": cx.tvr_fitted_iterates(gamma, 0.0, n),
            "least squares, on-policy d": cx.tvr_fitted_iterates(gamma, 0.0, n, weights=(0.0, 1.0)),
            "tabular VI": np.abs(cx.tvr_tabular_iterates(gamma, 0.0, n)).max(axis=1),
            "averager (aggregation)": np.abs(cx.tvr_averager_iterates(gamma, 0.0, n)).max(axis=1),
        }
        for method, values in series.items():
            curves.extend({"gamma": gamma, "method": method, "iteration": k, "size": abs(v)}
                          for k, v in enumerate(values))
    return factors, pd.DataFrame(curves)


def baird_tables(cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weight norms over iterations for every Baird variant, and spectral radii."""
    curves = []
    for step in (0.01, 0.1):
        norms = np.linalg.norm(cx.baird_semi_gradient_dp(step_size=step, n_sweeps=1000), axis=1)
        curves.extend({"method": f"semi-gradient DP, alpha={step}", "iteration": k,
                       "seed": 0, "norm": v} for k, v in enumerate(norms) if k % 10 == 0)
    every = max(cfg.td_steps // 100, 1)
    td = cx.baird_off_policy_td(n_steps=cfg.td_steps, n_seeds=cfg.td_seeds, seed=SEED,
                                record_every=every)
    for seed in range(cfg.td_seeds):
        curves.extend({"method": "off-policy TD(0), alpha=0.01", "iteration": k * every,
                       "seed": seed, "norm": v} for k, v in enumerate(td[:, seed]))
    for m in (None, 1, 10):
        trace = cx.baird_fitted_iteration(n_iterations=1000, inner_steps=m)
        name = "fitted, exact least squares" if m is None else f"fitted, {m} gradient steps"
        curves.extend({"method": name, "iteration": k, "seed": 0, "norm": v}
                      for k, v in enumerate(np.linalg.norm(trace, axis=1)) if k % 10 == 0)
    on_policy = np.zeros(7)
    on_policy[6] = 1.0
    radii = [{"variant": "semi-gradient DP, uniform d, alpha=0.01",
              "spectral_radius": cx.baird_growth_factor(0.99, 0.01)},
             {"variant": "semi-gradient DP, uniform d, alpha=0.1",
              "spectral_radius": cx.baird_growth_factor(0.99, 0.1)},
             {"variant": "semi-gradient DP, on-policy d, alpha=0.01",
              "spectral_radius": cx.baird_growth_factor(0.99, 0.01, on_policy)}]
    for m in (1, 2, 5, 10, 20, 50, 100, 1000, None):
        radii.append({"variant": ("fitted, exact least squares" if m is None
                                  else f"fitted, {m} gradient steps per iteration"),
                      "spectral_radius": cx.spectral_radius(cx.baird_fitted_iteration_matrix(
                          inner_steps=m))})
    eig = np.sort(np.linalg.eigvals(cx.baird_expected_td_matrix()).real)
    radii.append({"variant": "eigenvalues of A (uniform d)",
                  "spectral_radius": np.nan, "eigenvalues": " ".join(f"{e:.4f}" for e in eig)})
    return pd.DataFrame(curves), pd.DataFrame(radii)


def survey_table(cfg: Config, rng: np.random.Generator) -> pd.DataFrame:
    """Random linear fitted policy evaluation: exact spectral radius of ``gamma Pi_D P_pi``
    under off-policy (uniform) and on-policy (stationary) weighting; averager radius."""
    rows = []
    for i in track(range(cfg.random_problems), desc="fitted-divergence: survey"):
        S = int(rng.integers(3, 9))
        d = int(rng.integers(1, S))
        gamma = float(rng.choice((0.9, 0.99)))
        P_pi = rng.dirichlet(0.3 * np.ones(S), size=S)  # sparse-ish rows: visible structure
        X = rng.standard_normal((S, d))
        stationary = fitted.stationary_distribution(0.999 * P_pi + 0.001 / S)
        row = {"problem": i, "n_states": S, "n_features": d, "gamma": gamma}
        for name, weights in (("uniform", np.full(S, 1.0 / S)), ("on_policy", stationary)):
            Pi = fitted.projection_matrix(X, weights)
            row[f"radius_{name}"] = cx.spectral_radius(gamma * Pi @ P_pi)
        M = fitted.knn_averager(X if d > 0 else np.zeros((S, 1)), min(2, S))
        row["radius_averager"] = cx.spectral_radius(gamma * M @ P_pi)
        rows.append(row)
    return pd.DataFrame(rows)


def averager_table(cfg: Config, rng: np.random.Generator) -> pd.DataFrame:
    """Fitted optimality VI with random averagers and with random least squares (uniform d):
    final size and whether the iterates stay within max(|V_0|, r_max / (1 - gamma))."""
    rows = []
    for i in range(cfg.random_problems // 3):
        S, A = int(rng.integers(3, 9)), int(rng.integers(1, 4))
        mdp = random_mdp(S, A, 1, 0.99, rng)
        points = rng.standard_normal((S, 2))
        d = int(rng.integers(1, S))
        X = rng.standard_normal((S, d))
        fits = {"kNN averager (k=2)": fitted.knn_averager(points, 2),
                "kernel averager": fitted.kernel_averager(points, 0.5),
                "aggregation averager": fitted.aggregation_averager(rng.integers(0, 2, size=S)),
                "least squares (uniform d)": fitted.projection_matrix(X)}
        V0 = rng.standard_normal(S)
        bound = max(np.abs(V0).max(), np.abs(mdp.R).max() / (1 - mdp.gamma))
        for name, M in fits.items():
            with np.errstate(over="ignore", invalid="ignore"):
                trace = fitted.fitted_value_iteration(mdp.P, mdp.R, mdp.gamma, lambda y, M=M: M @ y,
                                                      500, V0)
            size = np.abs(trace).max(axis=1)
            rows.append({"problem": i, "fit": name, "final_size": float(size[-1]),
                         "max_size": float(np.nanmax(size)) if np.isfinite(size).any() else np.inf,
                         "bound": bound, "within_bound": bool(np.all(size <= bound + 1e-9)),
                         "sup_gain": fitted.sup_norm_gain(M)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- 4. CartPole FQI

def _uniform_policy(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2, size=len(obs))


def cartpole_data(n: int, seed: int) -> fitted.Transitions:
    from rlcheck.sampling import collect

    data = collect(_uniform_policy, CARTPOLE, n, seed)
    return fitted.Transitions(data.observations, np.asarray(data.actions, dtype=np.int64),
                              data.rewards, data.next_observations, np.asarray(data.terminated, bool))


def cartpole_fqi_run(seed: int, cfg: Config) -> list[dict[str, object]]:
    """One job: neural FQI with and without a target network and kNN-averager FQI on the same
    ``cfg.fqi_transitions`` uniform-policy CartPole transitions (data seed ``1000 + seed``)."""
    gamma = 0.99
    data = cartpole_data(cfg.fqi_transitions, 1000 + seed)
    rows: list[dict[str, object]] = []
    for target_network in (True, False):
        out = fitted.neural_fitted_q_iteration(
            data, 2, gamma, n_iterations=cfg.fqi_iterations,
            steps_per_iteration=cfg.fqi_steps, target_network=target_network, seed=seed)
        name = "neural FQI (target net)" if target_network else "neural, no target net"
        rows.extend({"seed": seed, "method": name, "iteration": k, "q_max": float(q)}
                    for k, q in enumerate(out["q_max"]))
    sizes = fitted.knn_fitted_q_iteration(data, 2, gamma, k=10, n_iterations=cfg.fqi_iterations)
    rows.extend({"seed": seed, "method": "kNN averager FQI (k=10)", "iteration": k, "q_max": float(q)}
                for k, q in enumerate(sizes))
    return rows


def cartpole_fqi_table(cfg: Config, out_dir: Path) -> pd.DataFrame:
    """Every seed's FQI runs, one job per seed (stored in ``out_dir/jobs``)."""
    runs = run_jobs([Job(f"cartpole-fqi/seed={seed}", cartpole_fqi_run, (seed, cfg))
                     for seed in range(cfg.fqi_seeds)], out_dir / "jobs",
                    desc="fitted-divergence: CartPole FQI")
    return pd.DataFrame([row for rows in runs.values() for row in rows])


# ----------------------------------------------------------------------------- 5. actor-critic

def actor_critic_tables(cfg: Config, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    # exact: the actor's expected gradient with the exact critic vs the exact policy gradient
    worst = 0.0
    for _ in range(100):
        mdp = random_mdp(int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 10)),
                         float(rng.uniform(0, 1)), rng)
        logits = rng.standard_normal((mdp.n_states, mdp.n_actions))
        V = exact.values(mdp, exact.softmax(logits))
        for target in ("causal", "discounted"):
            g = exact.policy_gradient(mdp, logits, target)
            err = np.abs(ac.expected_actor_gradient(mdp, logits, V, target) - g).max()
            worst = max(worst, float(err / (1 + np.abs(mdp.R).max() * mdp.horizon)))
    curves = []
    mdp = random_mdp(5, 3, 8, 0.9, np.random.default_rng(1))
    for lam in (0.0, 0.95):
        run = ac.tabular_actor_critic(mdp, n_iterations=60, n_episodes=200, lr=0.5, lam=lam, seed=0)
        curves.extend({"task": "tabular (5 states, T=8)", "method": f"GAE lambda={lam}",
                       "seed": 0, "iteration": k, "value": v} for k, v in enumerate(run.objective))
    for seed in range(cfg.ac_seeds):
        out = ac.gym_actor_critic(CARTPOLE, n_iterations=cfg.ac_iterations, seed=seed)
        curves.extend({"task": CARTPOLE, "method": "GAE lambda=0.95", "seed": seed,
                       "iteration": k, "value": v} for k, v in enumerate(out["mean_return"]))
    return pd.DataFrame(curves), pd.DataFrame([{"max_relative_error": worst}]), worst


# ----------------------------------------------------------------------------- run

def run(tier: Tier, out_dir: Path) -> Outcome:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread is fastest and shares the machine
    try:
        return _run(tier, out_dir)
    finally:
        torch.set_num_threads(threads)


def _run(tier: Tier, out_dir: Path) -> Outcome:
    cfg = CONFIG[tier]
    rng = np.random.default_rng(SEED)
    out_dir.mkdir(parents=True, exist_ok=True)

    pieces = pieces_table(cfg, rng)
    write_csv_atomic(pieces, out_dir / "pieces.csv")
    pieces_summary = pd.DataFrame([{
        "quantity": "backup sup-norm gain / gamma", "max": pieces.backup_gain_over_gamma.max()}, {
        "quantity": "least-squares gain in ||.||_D", "max": pieces.ls_gain_weighted_l2.max()}, {
        "quantity": "least-squares gain in sup norm", "max": pieces.ls_gain_sup.max()}, {
        "quantity": "fraction with sup-norm gain > 1", "max": (pieces.ls_gain_sup > 1 + 1e-9).mean()}])
    write_csv_atomic(pieces_summary, out_dir / "pieces_summary.csv")
    factors, tvr_curves = tvr_tables()
    write_csv_atomic(factors, out_dir / "tvr_factors.csv")
    write_csv_atomic(tvr_curves, out_dir / "tvr_curves.csv")
    baird_curves, radii = baird_tables(cfg)
    write_csv_atomic(baird_curves, out_dir / "baird_curves.csv")
    write_csv_atomic(radii, out_dir / "baird_radii.csv")
    survey = survey_table(cfg, rng)
    write_csv_atomic(survey, out_dir / "linear_survey.csv")
    averagers = averager_table(cfg, rng)
    write_csv_atomic(averagers, out_dir / "averagers.csv")
    averager_summary = averagers.groupby("fit").agg(
        problems=("problem", "count"), within_bound=("within_bound", "mean"),
        max_sup_gain=("sup_gain", "max"), median_final_size=("final_size", "median")).reset_index()
    write_csv_atomic(averager_summary, out_dir / "averager_summary.csv")
    fqi = cartpole_fqi_table(cfg, out_dir)
    write_csv_atomic(fqi, out_dir / "cartpole_fqi.csv")
    ac_curves, ac_exact, ac_worst = actor_critic_tables(cfg, rng)
    write_csv_atomic(ac_curves, out_dir / "actor_critic.csv")
    write_csv_atomic(ac_exact, out_dir / "actor_critic_exact.csv")

    # ---- sub-claim 1: each piece converges
    backup_ok = pieces.backup_gain_over_gamma.max() <= 1 + 1e-9
    l2_ok = pieces.ls_gain_weighted_l2.max() <= 1 + 1e-9
    sup_frac = float((pieces.ls_gain_sup > 1 + 1e-9).mean())
    s1 = SubClaim(
        "pieces-converge",
        "The Bellman backup and the regression each converge on their own.",
        "confirmed" if backup_ok and l2_ok else "refuted",
        f"{len(pieces)} random problems: backup sup-norm gain <= gamma (max ratio "
        f"{pieces.backup_gain_over_gamma.max():.4f}); least squares is a projection with gain "
        f"{pieces.ls_gain_weighted_l2.max():.6f} <= 1 in its own ||.||_D, but its sup-norm gain "
        f"exceeds 1 in {100 * sup_frac:.0f}% of them (max {pieces.ls_gain_sup.max():.2f}; 6/5 for "
        f"features (1, 2)): the two pieces contract in different norms.")
    # ---- sub-claim 2: the composition can diverge
    row = factors[(factors.eps == 0.0) & (factors.gamma == 0.99)].iloc[0]
    formula_ok = bool(np.allclose(factors.factor_formula, factors.factor_least_squares, rtol=1e-10))
    td_final = baird_curves[baird_curves.method.str.startswith("off-policy")]
    td_final = td_final[td_final.iteration == td_final.iteration.max()].norm
    dp = radii.set_index("variant").spectral_radius
    off_div = float((survey.radius_uniform > 1).mean())
    on_div = float((survey.radius_on_policy > 1 + 1e-9).mean())
    diverges = formula_ok and row.factor_least_squares > 1 and td_final.min() > 1e3 * np.sqrt(107)
    s2 = SubClaim(
        "composition-diverges",
        "Composing the backup with least-squares regression can diverge.",
        "confirmed" if diverges else "refuted",
        f"Tsitsiklis-Van Roy (features 1, 2): explicit least squares grows by exactly "
        f"gamma (6 - 4 eps)/5 per iteration (formula = lstsq to 1e-10: {formula_ok}); 1.188 at "
        f"gamma=0.99 (w_50 = {row.w_50:.0f} w_0), diverging iff gamma > 5/(6 - 4 eps) (0.833 at "
        f"eps=0). Baird: spectral radius of semi-gradient DP "
        f"{dp['semi-gradient DP, uniform d, alpha=0.01']:.6f} (alpha=0.01); stochastic off-policy "
        f"TD(0) ||w|| after {cfg.td_steps} steps >= {td_final.min():.3g} in all {cfg.td_seeds} "
        f"seeds (start 10.3). Random linear problems: gamma Pi_D P_pi has spectral radius > 1 "
        f"in {100 * off_div:.1f}% with uniform d and {100 * on_div:.1f}% with the on-policy d.")
    # ---- sub-claim 3: there is no guarantee for any regressor (exceptions)
    averager_ok = bool(averagers[averagers.fit != "least squares (uniform d)"].within_bound.all())
    ls_out = float(1 - averagers[averagers.fit == "least squares (uniform d)"].within_bound.mean())
    exact_fit_radius = dp["fitted, exact least squares"]
    s3 = SubClaim(
        "no-guarantee-at-all",
        "Fitted iteration has no convergence guarantee whatever the function approximator.",
        "refuted" if averager_ok and on_div == 0 else "confirmed",
        f"Averagers (kNN, kernel, aggregation) never left max(|V_0|, r_max/(1-gamma)) on "
        f"{int((averagers.fit != 'least squares (uniform d)').sum())} runs (Gordon 1995: sup-norm "
        f"non-expansions, so M T is a gamma-contraction); least squares left it in "
        f"{100 * ls_out:.0f}% of the same problems. On-policy linear TD: spectral radius <= 1 in "
        f"all {len(survey)} random problems (Tsitsiklis & Van Roy 1997). Baird's star with an "
        f"exact least-squares fit converges (radius {exact_fit_radius:.4f} = gamma: its features "
        f"represent every value function); only partial fits (1-50 gradient steps) diverge.")
    # ---- sub-claim 4: neural FQI on CartPole
    bound = 1.0 / (1 - 0.99)
    last = fqi[fqi.iteration == fqi.iteration.max()]
    peak = fqi.groupby(["method", "seed"]).q_max.max().reset_index()
    soft = peak.assign(soft=peak.q_max > bound).groupby("method").soft.agg(["sum", "count"])
    knn_ok = bool((peak[peak.method.str.startswith("kNN")].q_max <= bound + 1e-9).all())
    neural_soft = int(soft.loc[soft.index.str.startswith("neural"), "sum"].sum())
    s4 = SubClaim(
        "neural-fqi-unstable",
        "Neural fitted Q iteration on CartPole-v1 (gamma=0.99, fixed random-policy data) "
        "overestimates beyond the realisable bound 1/(1-gamma) in some seeds.",
        "confirmed" if neural_soft > 0 else "refuted",
        "Seeds whose max |Q| exceeded 100: " + ", ".join(
            f"{m}: {int(r['sum'])}/{int(r['count'])}" for m, r in soft.iterrows())
        + f" ({cfg.fqi_iterations} iterations x {cfg.fqi_steps} Adam steps, "
        f"{cfg.fqi_transitions} transitions); median final max |Q|: " + ", ".join(
            f"{m}: {v:.1f}" for m, v in last.groupby("method").q_max.median().items())
        + f". kNN averager within the bound: {knn_ok}.")
    # ---- sub-claim 5: actor-critic
    tab = ac_curves[ac_curves.task.str.startswith("tabular")]
    gains = tab.groupby("method").value.agg(lambda v: v.iloc[-1] - v.iloc[0])
    s5 = SubClaim(
        "actor-critic-exact-critic",
        "With an exact critic the actor follows the exact policy gradient; the guarantee is lost "
        "only through the fitted critic.",
        "confirmed" if ac_worst < 1e-10 else "refuted",
        f"Exact expected actor gradient with the exact critic = exact policy gradient on 100 "
        f"random MDPs (max relative error {ac_worst:.1e}, both discount conventions). Tabular "
        f"batch actor-critic improves J by " + ", ".join(f"{v:.3f} ({m})" for m, v in gains.items())
        + ". An off-policy linear critic diverges on Baird (sub-claim composition-diverges)."
        + ("" if cfg.ac_seeds == 0 else " CartPole mean return in the last 5 iterations: "
           + ", ".join(f"seed {s}: {g.value.iloc[-5:].mean():.0f}" for s, g in
                       ac_curves[ac_curves.task == CARTPOLE].groupby("seed")) + "."))
    verdict = combine_verdicts([s1.verdict, s2.verdict, s3.verdict, s4.verdict, s5.verdict])
    summary = (f"Each piece converges (backup gain <= gamma; least squares gain <= 1 in "
               f"||.||_D) but their composition diverges: T&VR factor gamma(6-4eps)/5 = "
               f"{row.factor_least_squares:.3f} at gamma=0.99, Baird semi-gradient DP radius "
               f"{dp['semi-gradient DP, uniform d, alpha=0.01']:.4f}, off-policy TD ||w|| >= "
               f"{td_final.min():.2g} after {cfg.td_steps} steps; qualified because averagers "
               f"(Gordon 1995) and on-policy linear TD do have guarantees (0 divergent of "
               f"{len(survey)}). Neural FQI on CartPole: {neural_soft} soft-divergent runs.")
    method = (
        "Fitted iteration alternates the backup $y = TV_k$ with a fit $V_{k+1} = My$. $T$ is a "
        "$\\gamma$-contraction in $\\|\\cdot\\|_\\infty$; least squares "
        "$\\Pi_D = X(X^\\top DX)^{+}X^\\top D$ is an orthogonal projection in "
        "$\\|v\\|_D^2=\\sum_s d(s)v(s)^2$, hence non-expansive there, but "
        "$\\|\\Pi_D\\|_\\infty = \\max_i\\sum_j|\\Pi_{ij}|$ can exceed 1. For Tsitsiklis & Van Roy's "
        "chain with features $(1,2)$ and uniform $D$, $w_{k+1} = \\gamma\\frac{6-4\\varepsilon}{5}"
        "w_k$. For linear fitted evaluation the iteration $V\\mapsto \\Pi_D(r+\\gamma P_\\pi V)$ "
        "diverges iff $\\rho(\\gamma\\Pi_D P_\\pi)>1$, which cannot happen when $D$ is the stationary "
        "distribution of $P_\\pi$ (then $\\Pi_D T_\\pi$ is a $\\gamma$-contraction in "
        "$\\|\\cdot\\|_D$), nor when $M$ is an averager ($\\|M\\|_\\infty\\le 1$, Gordon 1995). "
        "Baird's expected off-policy update is $w\\leftarrow(I+\\alpha A)w$ with "
        "$A = X^\\top D(\\gamma P_\\pi - I)X$. All spectral radii and growth factors are exact; "
        "the CartPole runs measure $\\max|Q|$ against the realisable bound $1/(1-\\gamma)=100$ "
        "(soft divergence, van Hasselt et al. 2018).")
    tables = (
        Table("The pieces: measured gains", "pieces_summary.csv"),
        Table("Tsitsiklis-Van Roy growth factors", "tvr_factors.csv",
              "factor_formula = gamma (6 - 4 eps)/5; factor_least_squares from explicit lstsq."),
        Table("Baird's star: spectral radii of the iteration maps", "baird_radii.csv"),
        Table("Averagers vs least squares in fitted VI", "averager_summary.csv"),
        Table("Actor gradient with exact critic", "actor_critic_exact.csv"),
    )
    return Outcome(verdict=verdict, summary=summary, method=method,
                   subclaims=(s1, s2, s3, s4, s5), tables=tables, seed=SEED,
                   details={"config": asdict(cfg), "tier": tier, "soft_divergence_bound": bound,
                            "linear_survey_divergent_uniform": off_div,
                            "linear_survey_divergent_on_policy": on_div})


def figures(data_dir: Path, fig_dir: Path) -> list[Figure]:
    """Weight norms over iterations (T&VR, Baird), CartPole max |Q|, actor-critic curves."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    tvr = pd.read_csv(data_dir / "tvr_curves.csv")
    baird = pd.read_csv(data_dir / "baird_curves.csv")
    fqi = pd.read_csv(data_dir / "cartpole_fqi.csv")
    acs = pd.read_csv(data_dir / "actor_critic.csv")
    survey = pd.read_csv(data_dir / "linear_survey.csv")
    sns.set_theme(style="whitegrid", context="notebook")
    fig, axes = plt.subplots(2, 3, figsize=(17, 9))
    sns.lineplot(data=tvr[tvr.gamma == 0.9], x="iteration", y="size", hue="method", ax=axes[0, 0])
    axes[0, 0].set(yscale="log", ylabel="|w_k| or ||V_k||_inf",
                   title="Tsitsiklis-Van Roy, gamma=0.9 (threshold 5/6)")
    sns.lineplot(data=baird.assign(step=baird.iteration + 1), x="step", y="norm", hue="method",
                 estimator="median", errorbar=("pi", 100), ax=axes[0, 1])
    axes[0, 1].set(yscale="log", xscale="log", ylabel="||w||_2", xlabel="iteration + 1",
                   title="Baird's star (gamma=0.99): weight norms")
    axes[0, 1].legend(fontsize=7)
    long = survey.melt(id_vars=["problem"], value_vars=["radius_uniform", "radius_on_policy",
                                                         "radius_averager"],
                       var_name="fit", value_name="spectral radius")
    sns.ecdfplot(data=long, x="spectral radius", hue="fit", ax=axes[0, 2])
    axes[0, 2].axvline(1.0, color="k", lw=1)
    axes[0, 2].set(ylabel="fraction of random problems")
    axes[0, 2].set(title="Random linear fitted evaluation: rho(gamma M P_pi)")
    sns.lineplot(data=fqi, x="iteration", y="q_max", hue="method", units="seed", estimator=None,
                 alpha=0.7, ax=axes[1, 0])
    axes[1, 0].axhline(100.0, color="C3", ls="--", label="1/(1-gamma)")
    axes[1, 0].set(yscale="log", ylabel="max |Q| on the data", title="CartPole-v1 fitted Q iteration")
    axes[1, 0].legend(fontsize=7)
    tab = acs[acs.task.str.startswith("tabular")]
    sns.lineplot(data=tab, x="iteration", y="value", hue="method", ax=axes[1, 1])
    axes[1, 1].set(ylabel="exact J", title="Tabular batch actor-critic")
    cart = acs[acs.task == CARTPOLE]
    if len(cart):
        sns.lineplot(data=cart, x="iteration", y="value", units="seed", estimator=None,
                     hue="seed", ax=axes[1, 2])
        axes[1, 2].set(ylabel="mean episode return", title="CartPole-v1 batch actor-critic")
    else:
        axes[1, 2].axis("off")
        axes[1, 2].text(0.5, 0.5, "CartPole actor-critic: full tier only", ha="center")
    return [save_figure(fig, fig_dir / "fitted_divergence.png",
                        "Top: weight/value norms over iterations for the Tsitsiklis-Van "
                        "Roy chain and Baird's star (median and range over seeds for "
                        "stochastic TD), and exact spectral radii of random linear fitted "
                        "evaluation maps. Bottom: max |Q| of neural and kNN fitted Q "
                        "iteration on CartPole-v1 per seed against 1/(1-gamma), and "
                        "actor-critic learning curves.")]


if __name__ == "__main__":
    from rlcheck.verify import analysis_main

    analysis_main(CLAIM_ID)
