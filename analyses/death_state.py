"""Claim ``death-state``: discounting by gamma equals adding a death state entered with
probability 1 - gamma.

Evidence (``rlcheck.death_state``), on random tabular MDPs:

1. exact: ``J``, ``V_t``, ``Q_t`` and the policy gradient of the undiscounted death MDP ``M'``
   equal those of the discounted ``M`` (finite horizon), and the expected reward until absorption
   equals ``(I - gamma P_pi)^(-1) r_pi`` (infinite horizon); which gradient ``M'`` gives;
2. sampling: returns sampled in ``M'`` have mean ``J_M`` and the first-step death rate is
   ``1 - gamma`` (``check_death_state_sampling``), and two planted construction bugs are caught;
3. what is not equal: the distribution of the return (exact variances of both, sampled
   histograms, unbounded support with infinite horizon).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlcheck import bellman, exact
from rlcheck import death_state as ds
from rlcheck.atomic import write_csv_atomic
from rlcheck.claims import Figure, Outcome, SubClaim, Table, Tier, combine_verdicts, save_figure
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP, random_mdp
from rlcheck.progress import track
from rlcheck.stats import bonferroni

CLAIM_ID = "death-state"
SEED = 0
ALPHA = 1e-3
EXACT_TOL = 1e-10


@dataclass(frozen=True)
class Config:
    exact_mdps: int        # random MDPs for the exact identities
    sampled_mdps: int      # random MDPs sampled with check_death_state_sampling
    episodes: int          # episodes per sampled MDP
    variance_mdps: int     # random MDPs in the exact variance comparison
    histogram_episodes: int


CONFIG = {
    "quick": Config(exact_mdps=200, sampled_mdps=4, episodes=20_000, variance_mdps=200,
                    histogram_episodes=20_000),
    "full": Config(exact_mdps=2000, sampled_mdps=20, episodes=100_000, variance_mdps=2000,
                   histogram_episodes=30_000),
}
GAMMAS = (0.0, 0.5, 0.9, 0.99)


def _random_case(rng: np.random.Generator) -> tuple[TabularMDP, np.ndarray]:
    S, A, T = int(rng.integers(1, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 30))
    gamma = float(rng.choice(GAMMAS)) if rng.random() < 0.5 else float(rng.uniform(0, 1))
    return random_mdp(S, A, T, gamma, rng), 2.0 * rng.standard_normal((S, A))


def exact_table(cfg: Config, rng: np.random.Generator) -> pd.DataFrame:
    """Max absolute differences between M and M' for every exact quantity."""
    rows = []
    for i in track(range(cfg.exact_mdps), desc="death-state: exact"):
        mdp, logits = _random_case(rng)
        probs = exact.softmax(logits)
        dead, probs_dead = ds.with_death_state(mdp), ds.extend_policy(probs)
        scale = 1.0 + np.abs(mdp.R).max() * mdp.horizon
        grad = exact.policy_gradient(mdp, logits, "discounted")
        grad_causal = exact.policy_gradient(mdp, logits, "causal")
        grad_dead = exact.policy_gradient(dead, ds.extend_logits(logits))[:-1]
        mu = exact.state_distributions(mdp, probs)
        row = {
            "mdp": i, "n_states": mdp.n_states, "n_actions": mdp.n_actions,
            "horizon": mdp.horizon, "gamma": mdp.gamma,
            "J_error": abs(exact.evaluate(dead, probs_dead) - exact.evaluate(mdp, probs)) / scale,
            "V_error": float(np.abs(exact.values(dead, probs_dead)[:, :-1]
                                    - exact.values(mdp, probs)).max()) / scale,
            "Q_error": float(np.abs(exact.q_values(dead, probs_dead)[:, :-1]
                                    - exact.q_values(mdp, probs)).max()) / scale,
            "gradient_error": float(np.abs(grad_dead - grad).max()) / scale,
            "occupancy_error": float(np.abs(exact.state_distributions(dead, probs_dead)[:, :-1]
                                            - mdp.gamma ** np.arange(mdp.horizon)[:, None] * mu).max()),
            "gap_to_causal_gradient": float(np.abs(grad_dead - grad_causal).max()
                                            / max(np.abs(grad).max(), 1e-300)),
            "infinite_V_error": np.nan,
        }
        if mdp.gamma < 1:
            V = bellman.policy_evaluation(mdp.P, mdp.R, mdp.gamma, probs)
            row["infinite_V_error"] = float(np.abs(ds.infinite_horizon_death_values(mdp, probs) - V).max()
                                            / (1 + np.abs(V).max()))
        rows.append(row)
    return pd.DataFrame(rows)


def _bug_death_with_probability_gamma(mdp: TabularMDP) -> TabularMDP:
    S, A = mdp.n_states, mdp.n_actions
    P = np.zeros((S + 1, A, S + 1))
    P[:S, :, :S] = (1 - mdp.gamma) * mdp.P
    P[:S, :, S] = mdp.gamma
    P[S, :, S] = 1.0
    return TabularMDP(P, np.vstack([mdp.R, np.zeros((1, A))]), np.append(mdp.init, 0.0), 1.0,
                      mdp.horizon)


def _bug_death_before_first_reward(mdp: TabularMDP) -> TabularMDP:
    dead = ds.with_death_state(mdp)
    return TabularMDP(dead.P, dead.R, np.append(mdp.gamma * mdp.init, 1 - mdp.gamma), 1.0,
                      mdp.horizon)


BUGS = {"death with probability gamma": _bug_death_with_probability_gamma,
        "death before the first reward": _bug_death_before_first_reward}


def sampling_table(cfg: Config, rng: np.random.Generator) -> pd.DataFrame:
    """check_death_state_sampling on the correct construction and on planted bugs."""
    alpha_each = bonferroni(ALPHA, cfg.sampled_mdps)
    rows = []
    for i in track(range(cfg.sampled_mdps), desc="death-state: sampling"):
        mdp = random_mdp(4, 3, 10, float(rng.choice((0.7, 0.8, 0.9))), rng)
        mdp = TabularMDP(mdp.P, mdp.R + 1.0, mdp.init, mdp.gamma, mdp.horizon)  # J away from 0
        probs = rng.dirichlet(np.ones(3), size=4)
        seed = int(rng.integers(2**31))
        for construction, build in {"correct": None, **BUGS}.items():
            death_mdp = None if build is None else build(mdp)
            result = ds.check_death_state_sampling(mdp, probs, cfg.episodes, alpha=alpha_each,
                                                   seed=seed, death_mdp=death_mdp)
            mean_test, rate_test = result.children
            rows.append({"mdp": i, "gamma": mdp.gamma, "construction": construction,
                         "passed": result.passed, "alpha": alpha_each, "n": cfg.episodes,
                         "exact_J": exact.evaluate(mdp, probs),
                         "sampled_mean": mean_test.details["mean"],
                         "mean_p_value": mean_test.p_value,
                         "mean_detectable": mean_test.detectable_effect,
                         "death_rate": rate_test.statistic / cfg.episodes,
                         "rate_p_value": rate_test.p_value,
                         "rate_detectable": rate_test.detectable_effect})
    return pd.DataFrame(rows)


def variance_table(cfg: Config, rng: np.random.Generator) -> pd.DataFrame:
    """Exact Var[G] of the discounted return (M) and of the death-MDP return (M')."""
    rows = []
    for i in range(cfg.variance_mdps):
        mdp, logits = _random_case(rng)
        probs = exact.softmax(logits)
        dead, probs_dead = ds.with_death_state(mdp), ds.extend_policy(probs)
        v, v_dead = ds.return_variance(mdp, probs), ds.return_variance(dead, probs_dead)
        rows.append({"mdp": i, "n_states": mdp.n_states, "horizon": mdp.horizon,
                     "gamma": mdp.gamma, "mean": exact.evaluate(mdp, probs),
                     "variance_discounted": v, "variance_death": v_dead,
                     "ratio": v_dead / v if v > 1e-9 * (1 + v_dead) else np.inf})
    return pd.DataFrame(rows)


GAMMA_BANDS = (0.0, 0.5, 0.9, 0.99, 1.0)
"""Edges of the gamma bands in which the variance ratio Var(M')/Var(M) is reported."""

VARIANCE_THEOREM = (
    r"**Theorem.** For every MDP, policy, start distribution and horizon $T$ (finite or not), "
    r"$\mathrm{Var}_{M'}[G'] \ge \mathrm{Var}_M[G]$, with equality iff $r_t = 0$ almost surely "
    r"for every $t \ge 1$ where $0<\gamma<1$ (or $\gamma \in \{0, 1\}$, where $M'$ and $M$ "
    r"have the same law). "
    r"**Proof.** Death in $M'$ is drawn with probability $1-\gamma$ at every step, whatever the "
    r"state and action, so $M'$ is $M$'s process $X = (s_t, a_t, r_t)_t$ stopped at an "
    r"independent time $\tau \sim \mathrm{Geometric}(1-\gamma)$ with $P(\tau > t) = "
    r"\gamma^t$: $G' = \sum_{t<T} 1[\tau > t]\, r_t$. Given $X$, "
    r"$\mathbb{E}[G' \mid X] = \sum_{t<T} \gamma^t r_t = G$. The law of total variance gives "
    r"$\mathrm{Var}[G'] = \mathbb{E}[\mathrm{Var}(G' \mid X)] + \mathrm{Var}(\mathbb{E}[G' "
    r"\mid X]) = \mathbb{E}[\mathrm{Var}(G' \mid X)] + \mathrm{Var}[G] \ge \mathrm{Var}[G]$, "
    r"and $\mathrm{Var}(G' \mid X) = 0$ only if $G'$ does not depend on $\tau$, i.e. "
    r"$r_t = 0$ for $t \ge 1$. $\square$ "
    "The analysis checks the inequality with exact second moments on every random MDP and "
    "reports the ratio by gamma band (the generator's mix of gammas sets any overall median).")


def variance_by_gamma(var: pd.DataFrame) -> pd.DataFrame:
    """Var(M')/Var(M) per gamma band: MDPs, how many satisfy the theorem exactly, the minimum
    gap (Var(M') - Var(M)) relative to Var(M), and quantiles of the finite ratios."""
    rows = []
    for low, high in itertools.pairwise(GAMMA_BANDS):
        last = high == GAMMA_BANDS[-1]
        band = var[(var.gamma >= low) & ((var.gamma <= high) if last else (var.gamma < high))]
        finite = band[np.isfinite(band.ratio)]
        gap = (band.variance_death - band.variance_discounted) / (1 + band.variance_discounted)
        rows.append({"gamma_band": f"[{low:g}, {high:g}{']' if last else ')'}",
                     "mdps": len(band), "theorem_holds": int(theorem_holds(band).sum()),
                     "min_relative_gap": float(gap.min()) if len(band) else np.nan,
                     "ratio_min": float(finite.ratio.min()) if len(finite) else np.nan,
                     "ratio_median": float(finite.ratio.median()) if len(finite) else np.nan,
                     "ratio_max": float(finite.ratio.max()) if len(finite) else np.nan})
    return pd.DataFrame(rows)


def theorem_holds(var: pd.DataFrame, rtol: float = 1e-9) -> pd.Series:
    """Var(M') >= Var(M) up to floating-point round-off, per MDP (exact second moments)."""
    return var.variance_death >= var.variance_discounted - rtol * (1 + var.variance_discounted)


def variance_theorem_subclaim(var: pd.DataFrame, bands: pd.DataFrame) -> SubClaim:
    """The theorem checked exactly on every random MDP, with the ratio per gamma band."""
    holds = theorem_holds(var)
    text = "; ".join(f"gamma {r.gamma_band}: {r.mdps} MDPs, ratio median {r.ratio_median:.3g} "
                     f"[{r.ratio_min:.3g}, {r.ratio_max:.3g}]" for r in bands.itertuples()
                     if r.mdps)
    return SubClaim(
        "variance-ordering", "Var(M') >= Var(M) for every MDP and policy (law of total "
        "variance with an independent death time; proof in the method).",
        "confirmed" if holds.all() else "refuted",
        f"Exact second moments: the inequality holds on {int(holds.sum())} of {len(var)} random "
        f"MDPs (smallest relative gap {float(bands.min_relative_gap.min()):.2g}). "
        f"Var(M')/Var(M) by gamma band: {text}.")


def histogram_samples(cfg: Config, rng: np.random.Generator
                      ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Sampled returns of one MDP and its death MDP (same policy), the survival curve, and a
    summary (exact and sampled means and variances) of the two."""
    mdp = random_mdp(3, 2, 30, 0.9, rng)
    mdp = TabularMDP(mdp.P, np.abs(mdp.R), mdp.init, mdp.gamma, mdp.horizon)
    probs = rng.dirichlet(np.ones(2), size=3)
    n = cfg.histogram_episodes
    G = sample(mdp, probs, n, rng).returns()
    G_dead, lifetime = ds.sample_death_returns(mdp, probs, n, rng)
    samples = pd.DataFrame({"model": ["discounted M"] * n + ["death state M'"] * n,
                            "return": np.concatenate([G, G_dead])})
    t = np.arange(mdp.horizon + 1)
    survival = pd.DataFrame({"t": t, "sampled": [(lifetime > k).mean() for k in t],
                             "gamma_power_t": mdp.gamma**t})
    survival.loc[survival.t >= mdp.horizon, "gamma_power_t"] = 0.0  # episodes end at T
    info = {"gamma": mdp.gamma, "horizon": mdp.horizon, "exact_J": exact.evaluate(mdp, probs),
            "mean_discounted": float(G.mean()), "mean_death": float(G_dead.mean()),
            "var_discounted_sampled": float(G.var()), "var_death_sampled": float(G_dead.var()),
            "var_discounted_exact": ds.return_variance(mdp, probs),
            "var_death_exact": ds.return_variance(ds.with_death_state(mdp), ds.extend_policy(probs)),
            "max_return_discounted": float(G.max()), "max_return_death": float(G_dead.max())}
    return samples, survival, info


def run(tier: Tier, out_dir: Path) -> Outcome:
    cfg = CONFIG[tier]
    rng = np.random.default_rng(SEED)
    out_dir.mkdir(parents=True, exist_ok=True)

    ex = exact_table(cfg, rng)
    write_csv_atomic(ex, out_dir / "exact_agreement.csv")
    error_cols = ["J_error", "V_error", "Q_error", "gradient_error", "occupancy_error",
                  "infinite_V_error"]
    summary_exact = pd.DataFrame({"quantity": error_cols,
                                  "max_error": [float(ex[c].max()) for c in error_cols]})
    write_csv_atomic(summary_exact, out_dir / "exact_summary.csv")
    sampling = sampling_table(cfg, rng)
    write_csv_atomic(sampling, out_dir / "sampling.csv")
    var = variance_table(cfg, rng)
    write_csv_atomic(var, out_dir / "variance.csv")
    bands = variance_by_gamma(var)
    write_csv_atomic(bands, out_dir / "variance_by_gamma.csv")
    samples, survival, hist_info = histogram_samples(cfg, rng)
    write_csv_atomic(samples, out_dir / "return_samples.csv")
    write_csv_atomic(survival, out_dir / "survival.csv")
    # closed form: one state, reward 1, infinite horizon
    closed = []
    for gamma in (0.5, 0.9, 0.99):
        P, R, pi = np.ones((1, 1, 1)), np.ones((1, 1)), np.ones((1, 1))
        m1, m2 = ds.infinite_horizon_return_moments(P, R, gamma, pi)
        d1, d2 = ds.infinite_horizon_return_moments(P, R, gamma, pi, True)
        closed.append({"gamma": gamma, "mean_M": m1[0], "var_M": m2[0] - m1[0] ** 2,
                       "mean_death": d1[0], "var_death": d2[0] - d1[0] ** 2,
                       "var_death_closed_form": gamma / (1 - gamma) ** 2,
                       "sup_return_M": 1 / (1 - gamma), "sup_return_death": np.inf})
    closed = pd.DataFrame(closed)
    write_csv_atomic(closed, out_dir / "single_state_closed_form.csv")

    # ---- sub-claim 1: expectations agree exactly
    worst = float(summary_exact.max_error.max())
    gap = ex[(ex.gamma > 0) & (ex.gamma < 1) & (ex.horizon > 1)].gap_to_causal_gradient
    s1 = SubClaim(
        "expectations-equal",
        "J, V_t, Q_t and the policy gradient of the death MDP equal those of the discounted MDP "
        "(finite and infinite horizon).",
        "confirmed" if worst < EXACT_TOL else "refuted",
        f"{len(ex)} random MDPs (1-6 states, 1-4 actions, T 1-29, gamma in [0, 1]): max relative "
        f"error {worst:.1e} over J, V_t, Q_t, grad J, occupancies (Pr_M'(s_t=s) = gamma^t "
        f"Pr_M(s_t=s)) and the infinite-horizon absorption value. The death MDP's gradient is "
        f"the discounted grad J (with gamma^t), not the 'causal' gamma^(t'-t) reward-to-go "
        f"target: median relative gap to the latter {gap.median():.2f}.")
    # ---- sub-claim 2: sampling
    correct = sampling[sampling.construction == "correct"]
    bugs = sampling[sampling.construction != "correct"]
    n_ok, n_caught = int(correct.passed.sum()), int((~bugs.passed).sum())
    s2 = SubClaim(
        "sampling-agrees",
        "Episodes sampled in the death MDP have mean undiscounted return J_M and die at rate "
        "1 - gamma.",
        "confirmed" if n_ok == len(correct) else "refuted",
        f"{n_ok}/{len(correct)} MDPs pass check_death_state_sampling ({cfg.episodes} episodes "
        f"each, family alpha {ALPHA:g}; median detectable mean shift "
        f"{correct.mean_detectable.median():.3g}); planted construction bugs caught "
        f"{n_caught}/{len(bugs)} (death with probability gamma; death before r_0, mean gamma J).")
    # ---- sub-claim 3: distributions differ
    finite = var[np.isfinite(var.ratio)]
    different = (np.abs(var.variance_death - var.variance_discounted)
                 > 1e-9 * (1 + var.variance_discounted))
    nontrivial = (var.gamma > 0) & (var.gamma < 1) & (var.horizon > 1)
    differs = float(different[nontrivial].mean())
    equal_trivial = int((~different[~nontrivial]).sum())
    s3 = SubClaim(
        "distribution-equal",
        "The death MDP's return has the same distribution as the discounted return.",
        "refuted",
        f"Exact variances differ in {100 * differs:.1f}% of the {int(nontrivial.sum())} random "
        f"MDPs with 0 < gamma < 1 and T > 1 (and agree in {equal_trivial} of the "
        f"{int((~nontrivial).sum())} with gamma in {{0, 1}} or T = 1, where M and M' have the "
        f"same law); Var(M')/Var(M) ranges over [{finite.ratio.min():.2f}, "
        f"{finite.ratio.max():.3g}] (by gamma band: variance_by_gamma.csv). "
        f"One state with reward 1 and infinite horizon: M's return is the constant 1/(1-gamma), "
        f"M''s is Geometric(1-gamma) with variance gamma/(1-gamma)^2 (= "
        f"{closed.var_death.iloc[1]:.1f} at gamma=0.9) and unbounded support. Sampled example "
        f"(gamma=0.9, T=30): variance {hist_info['var_discounted_sampled']:.2f} vs "
        f"{hist_info['var_death_sampled']:.2f}, max return {hist_info['max_return_discounted']:.2f} "
        f"vs {hist_info['max_return_death']:.2f}, same mean {hist_info['mean_discounted']:.3f} vs "
        f"{hist_info['mean_death']:.3f} (exact {hist_info['exact_J']:.3f}).")
    if any(p != "confirmed" for p in (s1.verdict, s2.verdict)) or differs == 0:
        s3 = SubClaim(s3.id, s3.statement, "pending" if differs == 0 else s3.verdict, s3.summary)
    s4 = variance_theorem_subclaim(var, bands)
    verdict = combine_verdicts([s1.verdict, s2.verdict, s3.verdict, s4.verdict])
    summary = (f"Equal in expectation, exactly (max error {worst:.0e} over J, V_t, Q_t, grad J on "
               f"{len(ex)} MDPs; sampling {n_ok}/{len(correct)} pass, bugs {n_caught}/{len(bugs)} "
               f"caught), not in distribution: Var(M') >= Var(M) (a theorem, checked exactly on "
               f"{int(theorem_holds(var).sum())}/{len(var)} MDPs), and with infinite horizon "
               f"M''s return is unbounded.")
    method = (
        "Build $M'$ on $S\\cup\\{\\dagger\\}$ with $P'(s'|s,a)=\\gamma P(s'|s,a)$, "
        "$P'(\\dagger|s,a)=1-\\gamma$, $\\dagger$ absorbing with reward 0, and $\\gamma'=1$ "
        "(reward collected before the death draw). By induction "
        "$\\Pr_{M'}(s_t=s)=\\gamma^t\\Pr_M(s_t=s)$, so "
        "$\\mathbb{E}_{M'}[\\sum_{t<T} r_t]=\\mathbb{E}_M[\\sum_{t<T}\\gamma^t r_t]$ and, for "
        "$T=\\infty$, $(I-\\gamma P_\\pi)^{-1}r_\\pi$ is the absorbing chain's expected reward "
        "$N r$ with fundamental matrix $N=(I-Q)^{-1}$, $Q=\\gamma P_\\pi$. Everything is compared "
        "exactly with `rlcheck.exact` (dynamic programming) and `rlcheck.bellman` (linear "
        "solve); sampling uses a t-test of the mean return against the exact $J$ and a binomial "
        "test of the first-step death rate. Second moments follow "
        "$m_2 = \\mathbb{E}[r^2] + 2\\gamma\\,\\mathbb{E}[r\\,P m_1] + \\gamma^2 P m_2$ in $M$ but "
        "$\\ldots + \\gamma P m_2$ in $M'$, so variances differ. " + VARIANCE_THEOREM)
    tables = (
        Table("Exact agreement (max relative error)", "exact_summary.csv"),
        Table("Sampling the death MDP, with planted bugs", "sampling.csv",
              f"check_death_state_sampling, Bonferroni over MDPs at family alpha {ALPHA:g}."),
        Table("One state, reward 1, infinite horizon", "single_state_closed_form.csv"),
        Table("Exact return variances", "variance.csv"),
        Table("Var(M')/Var(M) by gamma band", "variance_by_gamma.csv",
              "theorem_holds: MDPs with Var(M') >= Var(M) (exact second moments)."),
    )
    return Outcome(verdict=verdict, summary=summary, method=method, subclaims=(s1, s2, s3, s4),
                   tables=tables, seed=SEED,
                   details={"alpha": ALPHA, "config": asdict(cfg), "tier": tier,
                            "histogram_example": hist_info})


def figures(data_dir: Path, fig_dir: Path) -> list[Figure]:
    """Return histograms of M and M', the survival curve, and the variance ratios."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    samples = pd.read_csv(data_dir / "return_samples.csv")
    survival = pd.read_csv(data_dir / "survival.csv")
    var = pd.read_csv(data_dir / "variance.csv")
    sns.set_theme(style="whitegrid", context="notebook")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    sns.histplot(data=samples, x="return", hue="model", stat="density", common_norm=False,
                 bins=80, element="step", ax=axes[0])
    for model, colour in zip(("discounted M", "death state M'"), ("C0", "C1"), strict=True):
        axes[0].axvline(samples[samples.model == model]["return"].mean(), color=colour, ls="--")
    axes[0].set(title="Same mean (dashed), different distribution")
    axes[1].plot(survival.t, survival.sampled, "o", label="sampled Pr(alive after t steps)")
    axes[1].plot(survival.t, survival.gamma_power_t, "-", label="gamma^t")
    axes[1].set(yscale="log", xlabel="t", title="Lifetime in M' is Geometric(1 - gamma)")
    axes[1].legend(fontsize=8)
    finite = var[np.isfinite(var.ratio) & (var.ratio > 0)]
    sns.scatterplot(data=finite, x="gamma", y="ratio", hue="horizon", palette="viridis", s=15,
                    ax=axes[2])
    axes[2].axhline(1.0, color="grey", lw=1)
    axes[2].set(yscale="log", ylabel="Var(M') / Var(M) (exact)",
                title="Return variance: death state vs discount")
    return [save_figure(fig, fig_dir / "death_state.png",
                        "Left: sampled returns of a discounted MDP (gamma=0.9, T=30) and "
                        "of its death-state MDP under the same policy: equal means, "
                        "different spread and support. Middle: survival in M' against "
                        "gamma^t. Right: exact variance ratios over random MDPs.")]


if __name__ == "__main__":
    from rlcheck.verify import analysis_main

    analysis_main(CLAIM_ID)
