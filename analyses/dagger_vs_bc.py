"""Claim ``dagger-vs-bc``: BC against DAgger with the CS285 experts on Ant-v4 and Humanoid-v4.

The notes say: with equal training steps and model, DAgger is slightly better than BC on Ant
and about 2x better on Humanoid; with 5x more iterations (and labels) over 10x better; with
equal data, Ant is similar and Humanoid is too hard for BC with 2000 samples.

Steps: (1) roll out every expert with and without its adapters (Ant-v4 zero-padding,
Humanoid-v4 normaliser held at the training mean) and record the returns; (2) make the
Humanoid expert data by rolling the adapted expert out for 2 x 1000 steps; (3) per environment
and seed, train BC and DAgger (``rlcheck.imitation.compare_bc_dagger``: CS285 hw1 defaults,
same initial weights, same seeded evaluation episodes); (4) compare with the IQM over seeds, its
95% stratified bootstrap interval and the probability of improvement (Agarwal et al. 2021);
(5) the exact tabular compounding-error result (``rlcheck.compounding``).

Step (3) is a grid of independent jobs (``learner_jobs``: one per environment x seed x
core/many) run by ``rlcheck.jobs`` on local processes or Ray; each finished job is stored in
``out_dir/jobs/``, so an interrupted full tier resumes where it stopped (a job is reused only
with the same settings; delete the folder to recompute). The full tier (10 seeds, 30 jobs) takes
about 50 CPU-minutes (twice the 5-seed run); the quick tier (Ant only, short runs) about 15 CPU-seconds.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcheck import experts, imitation, stats
from rlcheck.atomic import atomic_path, write_text_atomic
from rlcheck.claims import Figure, Outcome, SubClaim, Table, Tier, combine_verdicts, save_figure
from rlcheck.jobs import Job, run_jobs
from rlcheck.paths import ROOT
from rlcheck.progress import track

CLAIM_ID = "dagger-vs-bc"
SEED = 0
SHARED_EXPERTS = ROOT.parent / "shared" / "experts"


@dataclass(frozen=True)
class Config:
    envs: tuple[str, ...]
    seeds: int
    iterations: int            # DAgger iterations at equal steps (CS285: 10)
    many_iterations: int       # the "5x iterations" run
    many_envs: tuple[str, ...]
    steps_per_iteration: int   # gradient steps per iteration (CS285: 1000)
    env_steps_per_iteration: int
    eval_episodes: int
    max_episode_steps: int
    expert_episodes: int
    many_seeds: tuple[int, ...] | None = None  # seeds of the "5x" run (default: all seeds)
    batch_size: int = 100
    lr: float = 5e-3


CONFIGS: dict[str, Config] = {
    "quick": Config(envs=("Ant-v4",), seeds=2, iterations=2, many_iterations=4,
                    many_envs=("Ant-v4",), steps_per_iteration=200, env_steps_per_iteration=200,
                    eval_episodes=2, max_episode_steps=200, expert_episodes=1),
    "full": Config(envs=("Humanoid-v4", "Ant-v4"), seeds=10, iterations=10, many_iterations=50,
                   many_envs=("Humanoid-v4",), steps_per_iteration=1000,
                   env_steps_per_iteration=1000, eval_episodes=5, max_episode_steps=1000,
                   expert_episodes=5),
}

METHODS = ("bc_1iter", "bc", "dagger", "dagger_many", "bc_equal_data")


def mirror() -> str | None:
    """``$RLCHECK_EXPERTS_MIRROR``, else the repository's sibling ``shared/experts`` if present,
    else ``None`` (download from the public URLs into the cache)."""
    env = os.environ.get(experts.MIRROR_ENV_VAR)
    if env:
        return env
    return str(SHARED_EXPERTS) if (SHARED_EXPERTS / "Ant.pkl").exists() else None


def load(env_id: str, adapted: bool, **kwargs: Any) -> experts.Expert:
    """The expert for ``env_id``; ``adapted`` holds Humanoid's near-constant dims (warning muted:
    the adapter is recorded in the tables instead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experts.NormaliserMismatchWarning)
        return experts.load_expert(env_id, hold_at_training_mean=adapted, mirror=mirror(),
                                   **kwargs)


def expert_returns(cfg: Config) -> list[dict[str, Any]]:
    """Return of every expert, deterministic mean action, with and without adapters."""
    rows = []
    variants = [(env, False, True) for env in experts.EXPERT_ENVS]
    variants += [("Ant-v4", False, False), ("Humanoid-v4", True, True)]
    for env_id, hold, pad in track(variants, desc="expert returns", total=len(variants)):
        row: dict[str, Any] = {"env": env_id,
                               "used_for_learning": pad and hold == (env_id == "Humanoid-v4")}
        try:
            expert = load(env_id, hold, pad=pad)
        except ValueError as exc:
            rows.append({**row, "adapter": "none", "episodes": 0, "mean": float("nan"),
                         "std": float("nan"), "mean_length": float("nan"), "note": str(exc)})
            continue
        data = imitation.rollout_episodes(expert, env_id, cfg.expert_episodes, SEED,
                                          max_steps=cfg.max_episode_steps)
        ret = data["episode_returns"]
        lengths = np.bincount(data["episode"])
        mismatch = (f"normaliser mismatch in dims {list(expert.mismatched_dims)}"
                    if expert.mismatched_dims else "")
        rows.append({**row, "adapter": "; ".join(expert.adapters) or "none",
                     "episodes": len(ret), "mean": float(ret.mean()),
                     "std": float(ret.std(ddof=1)) if len(ret) > 1 else float("nan"),
                     "mean_length": float(lengths.mean()), "note": mismatch})
    return rows


CORE = ("bc_1iter", "bc", "dagger", "bc_equal_data")


@functools.cache
def learner_inputs(env_id: str) -> tuple[experts.Expert, dict[str, np.ndarray]]:
    """The expert that labels (adapted for Humanoid) and the expert data of ``env_id``, made
    once per worker process."""
    return (load(env_id, env_id == "Humanoid-v4"),
            imitation.expert_dataset(env_id, mirror=mirror(), seed=SEED))


def learner_job(env_id: str, seed: int, methods: tuple[str, ...],
                settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One job of the grid: ``methods`` of one (environment, seed) comparison
    (``rlcheck.imitation.compare_bc_dagger`` with the tier's ``settings``), one row per method."""
    expert, data = learner_inputs(env_id)
    return imitation.compare_bc_dagger(env_id, expert, data, seed, methods=methods, **settings)


def learner_jobs(cfg: Config) -> list[Job]:
    """Every (env, seed) as a "core" job (every method but ``dagger_many``) and, for
    ``cfg.many_envs``, a "many" job running the same DAgger on to ``many_iterations``."""
    settings = {"iterations": cfg.iterations, "many_iterations": cfg.many_iterations,
                "steps_per_iteration": cfg.steps_per_iteration,
                "env_steps_per_iteration": cfg.env_steps_per_iteration,
                "batch_size": cfg.batch_size, "lr": cfg.lr, "eval_episodes": cfg.eval_episodes,
                "max_episode_steps": cfg.max_episode_steps}
    many_seeds = range(cfg.seeds) if cfg.many_seeds is None else cfg.many_seeds
    return ([Job(f"{env}/seed={s}/core", learner_job, (env, s, CORE, settings))
             for s in range(cfg.seeds) for env in cfg.envs]
            + [Job(f"{env}/seed={s}/many", learner_job, (env, s, ("dagger_many",), settings))
               for s in many_seeds for env in cfg.many_envs])


def expert_data_summary(envs: tuple[str, ...]) -> dict[str, Any]:
    """Size and returns of the expert data each learner imitates."""
    return {env: {"source": "rolled out (2 x 1000 steps, adapted expert)"
                  if env == "Humanoid-v4" else experts.data_file(env),
                  "transitions": len(d["rewards"]),
                  "episode_returns": np.asarray(d["episode_returns"]).tolist(),
                  "episode_lengths": np.bincount(d["episode"]).tolist()}
            for env, d in ((env, learner_inputs(env)[1]) for env in envs)}


# ------------------------------------------------------------------------------------ statistics


def scores(rows: list[dict[str, Any]], env: str, method: str) -> np.ndarray:
    """Per-seed mean evaluation returns of one method, ordered by seed."""
    picked = sorted((r["seed"], r["score"]) for r in rows
                    if r["env"] == env and r["method"] == method)
    return np.array([s for _, s in picked])


def ratio_ci(x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
             reps: int = 10_000) -> tuple[float, float, float]:
    """IQM(x) / IQM(y) with a 95% percentile bootstrap interval, the seeds of x and of y
    resampled independently (rliable's stratified bootstrap with one task)."""
    bx = x[rng.integers(0, len(x), size=(reps, len(x)))]
    by = y[rng.integers(0, len(y), size=(reps, len(y)))]
    boot = np.asarray(stats.iqm(bx, axis=1)) / np.asarray(stats.iqm(by, axis=1))
    low, high = np.quantile(boot, [0.025, 0.975])
    return float(stats.iqm(x)) / float(stats.iqm(y)), float(low), float(high)


def compare(rows: list[dict[str, Any]], env: str, a: str, b: str,
            rng: np.random.Generator) -> dict[str, Any]:
    """IQMs with CIs, the IQM ratio with CI and P(a > b) with CI, for methods a and b."""
    x, y = scores(rows, env, a), scores(rows, env, b)
    iqm_a = stats.stratified_bootstrap_ci(x, rng=rng)
    iqm_b = stats.stratified_bootstrap_ci(y, rng=rng)
    stats.probability_of_improvement_ci(x, y, rng=rng)  # keeps the rng stream of earlier runs
    return {"env": env, "a": a, "b": b, "seeds": len(x),
            "iqm_a": iqm_a[0], "iqm_a_low": iqm_a[1], "iqm_a_high": iqm_a[2],
            "iqm_b": iqm_b[0], "iqm_b_low": iqm_b[1], "iqm_b_high": iqm_b[2],
            **dict(zip(("ratio", "ratio_low", "ratio_high"), ratio_ci(x, y, rng), strict=True)),
            **rank_tests(x, y)}


SIGNIFICANCE = 0.05
"""Level of the exact Mann-Whitney tests that decide "better" and "similar"."""


def rank_tests(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``P(X > Y)`` and exact Mann-Whitney p-values (a better, a worse, two-sided): with a few
    seeds a bootstrap interval of ``P(X > Y)`` degenerates (e.g. [1.00, 1.00] when every seed
    of a beats every seed of b); the exact rank test gives the evidence its real size."""
    from scipy.stats import mannwhitneyu

    def p(alternative: str) -> float:
        return float(mannwhitneyu(x, y, alternative=alternative, method="exact").pvalue)

    return {"poi": stats.probability_of_improvement(x, y), "p_better": p("greater"),
            "p_worse": p("less"), "p_two_sided": p("two-sided")}


def _fmt(c: dict[str, Any]) -> str:
    return (f"{c['env']}: {c['a']} IQM {c['iqm_a']:.0f} [{c['iqm_a_low']:.0f}, "
            f"{c['iqm_a_high']:.0f}] vs {c['b']} {c['iqm_b']:.0f} [{c['iqm_b_low']:.0f}, "
            f"{c['iqm_b_high']:.0f}], ratio {c['ratio']:.2f} [{c['ratio_low']:.2f}, "
            f"{c['ratio_high']:.2f}], P({c['a']} > {c['b']}) = {c['poi']:.2f} (exact "
            f"Mann-Whitney p = {c['p_better']:.2g} for better, {c['p_two_sided']:.2g} "
            f"two-sided, {c['seeds']} seeds)")


def verdict_better_by(c: dict[str, Any], low: float, high: float) -> str:
    """Decided by the interval, not the point ratio. confirmed: a is significantly better
    (exact Mann-Whitney p <= SIGNIFICANCE) and the whole 95% interval of the IQM ratio lies in
    [low, high]; refuted: the interval lies entirely outside [low, high], or a is significantly
    worse; qualified otherwise (not significant, or an interval straddling the claimed range)."""
    inside = low <= c["ratio_low"] and c["ratio_high"] <= high
    if c["p_better"] <= SIGNIFICANCE and inside:
        return "confirmed"
    if c["ratio_high"] < low or c["ratio_low"] > high or c["p_worse"] <= SIGNIFICANCE:
        return "refuted"
    return "qualified"


def verdict_similar(c: dict[str, Any], tol: float = 0.1) -> str:
    """confirmed: no significant difference (two-sided exact Mann-Whitney p > SIGNIFICANCE) and
    the ratio's interval within 1 +- tol; refuted: a significant difference; qualified
    otherwise."""
    if c["p_two_sided"] <= SIGNIFICANCE:
        return "refuted"
    inside = 1 - tol <= c["ratio_low"] and c["ratio_high"] <= 1 + tol
    return "confirmed" if inside else "qualified"


# ------------------------------------------------------------------------------------ the run


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})


def run(tier: Tier, out_dir: Path) -> Outcome:
    cfg = CONFIGS[tier]
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    expert_rows = expert_returns(cfg)
    _write_csv(out_dir / "experts.csv", expert_rows)
    expert_mean = {r["env"]: r["mean"] for r in expert_rows if r["used_for_learning"]}

    write_text_atomic(out_dir / "expert_data.json",
                      json.dumps(expert_data_summary(cfg.envs), indent=2) + "\n")
    results = run_jobs(learner_jobs(cfg), out_dir / "jobs", desc="dagger-vs-bc: BC vs DAgger")
    rows = [row for job_rows in results.values() for row in job_rows]
    _write_csv(out_dir / "runs.csv", [{k: v for k, v in r.items() if k != "returns"}
                                      for r in rows])
    comparisons = []
    pairs = (("dagger", "bc"), ("dagger_many", "bc"), ("dagger_many", "dagger"),
             ("dagger", "bc_equal_data"), ("bc", "bc_1iter"))
    for env in cfg.envs:
        for a, b in pairs:
            if len(scores(rows, env, a)) >= 2 and len(scores(rows, env, b)) >= 2:
                comparisons.append(compare(rows, env, a, b, rng))
    _write_csv(out_dir / "comparisons.csv", comparisons)
    summary_rows = []
    for env in cfg.envs:
        for method in METHODS:
            x = scores(rows, env, method)
            if len(x) < 2:
                continue
            point, low, high = stats.stratified_bootstrap_ci(x, rng=rng)
            labels = [r["labels"] for r in rows if r["env"] == env and r["method"] == method]
            steps = [r["grad_steps"] for r in rows if r["env"] == env and r["method"] == method]
            summary_rows.append({"env": env, "method": method, "seeds": len(x), "iqm": point,
                                 "iqm_low": low, "iqm_high": high,
                                 "iqm_over_expert": point / expert_mean[env],
                                 "grad_steps": steps[0], "labels": int(np.mean(labels))})
    _write_csv(out_dir / "summary.csv", summary_rows)

    from rlcheck import compounding

    comp = compounding.compounding_curves(compounding.COMPOUNDING_DEFAULTS)
    _write_csv(out_dir / "compounding.csv", comp.rows())
    fit = comp.fits()
    write_text_atomic(out_dir / "compounding_fit.json", json.dumps(fit, indent=2) + "\n")

    def find(env: str, a: str, b: str) -> dict[str, Any] | None:
        return next((c for c in comparisons if c["env"] == env and c["a"] == a
                     and c["b"] == b), None)

    subclaims: list[SubClaim] = []
    short: dict[str, str] = {}

    def ratio_text(c: dict[str, Any]) -> str:
        return (f"{c['a']}/{c['b']} IQM ratio {c['ratio']:.2f} [{c['ratio_low']:.2f}, "
                f"{c['ratio_high']:.2f}]")

    if (c := find("Ant-v4", "dagger", "bc")) is not None:
        short["equal-steps-ant"] = "Ant " + ratio_text(c)
        v = verdict_better_by(c, 1.0, 1.5)
        subclaims.append(SubClaim("equal-steps-ant", "Equal gradient steps and model: DAgger "
                                  "is slightly better than BC on Ant (ratio in [1, 1.5]).", v,
                                  _fmt(c)))
    if (c := find("Humanoid-v4", "dagger", "bc")) is not None:
        short["equal-steps-humanoid"] = "Humanoid " + ratio_text(c)
        v = verdict_better_by(c, 1.5, 3.0)
        subclaims.append(SubClaim("equal-steps-humanoid", "Equal gradient steps and model: "
                                  "DAgger is about 2x better than BC on Humanoid (ratio in "
                                  "[1.5, 3]).", v, _fmt(c)))
    env_many = "Humanoid-v4" if "Humanoid-v4" in cfg.many_envs else cfg.many_envs[0]
    if (c := find(env_many, "dagger_many", "bc")) is not None:
        short["five-x-iterations"] = f"{env_many} " + ratio_text(c)
        v = verdict_better_by(c, 10.0, float("inf"))
        subclaims.append(SubClaim(
            "five-x-iterations", f"With {cfg.many_iterations // cfg.iterations}x the "
            f"iterations and labels, DAgger is over 10x better than BC ({env_many}).", v,
            _fmt(c)))
    if (c := find("Ant-v4", "dagger", "bc_equal_data")) is not None:
        short["equal-data-ant"] = "Ant " + ratio_text(c)
        v = verdict_similar(c)
        subclaims.append(SubClaim("equal-data-ant", "Equal expert-labelled data: DAgger and BC "
                                  "are similar on Ant (|ratio - 1| <= 0.1, no significant "
                                  "difference).", v, _fmt(c)))
    if "Humanoid-v4" in cfg.envs:
        x = scores(rows, "Humanoid-v4", "bc")
        point, low, high = stats.stratified_bootstrap_ci(x, rng=rng)
        ref = expert_mean["Humanoid-v4"]
        short["humanoid-bc-2000"] = f"Humanoid BC at {point / ref:.1%} of the expert"
        v = ("confirmed" if high < 0.2 * ref else "refuted" if low > 0.5 * ref
             else "qualified")
        subclaims.append(SubClaim(
            "humanoid-bc-2000", "Humanoid is too hard for BC with 2000 samples (BC's IQM below "
            "20% of the adapted expert's return).", v,
            f"BC on 2000 Humanoid samples, {cfg.iterations * cfg.steps_per_iteration} steps: "
            f"IQM {point:.0f} [{low:.0f}, {high:.0f}] = {point / ref:.1%} of the adapted "
            f"expert's {ref:.0f}"))
    notes_verdict = combine_verdicts([s.verdict for s in subclaims])
    comp_v = ("confirmed" if abs(fit["bc"]["loglog_slope"] - 2) < 0.2
              and abs(fit["dagger"]["loglog_slope"] - 1) < 0.2 else "refuted")
    subclaims.append(SubClaim(
        "tabular-compounding", "Tabular MDP, exact costs: BC's excess cost grows quadratically "
        "in the horizon and DAgger's linearly (Ross, Gordon & Bagnell 2011); not counted in "
        "the claim's verdict.", comp_v, comp.summary()))

    summary = "; ".join(f"{s.id} {s.verdict} ({short[s.id]})" for s in subclaims[:-1])
    if tier == "quick":
        summary = "quick tier (Ant only, short runs; not evidence): " + summary
    method = METHOD.format(**asdict(cfg))
    return Outcome(
        verdict=notes_verdict, summary=summary, method=method, subclaims=tuple(subclaims),
        tables=(Table("Expert returns with and without adapters", "experts.csv",
                      f"{cfg.expert_episodes} seeded episodes of up to "
                      f"{cfg.max_episode_steps} steps, deterministic mean action."),
                Table("Learners: IQM of per-seed mean returns", "summary.csv",
                      "95% stratified bootstrap intervals."),
                Table("Comparisons", "comparisons.csv",
                      "IQM ratio with its 95% interval, P(X > Y) and exact Mann-Whitney p-values."),
                Table("Tabular compounding error (exact)", "compounding.csv",
                      comp.caption())),
        seed=SEED,
        details={"config": asdict(cfg), "experts": expert_rows, "compounding_fit": fit,
                 "expert_data": json.loads((out_dir / "expert_data.json").read_text()),
                 "notes_verdict_from": [s.id for s in subclaims[:-1]]},
    )


METHOD = """\
Every learner is the same `GaussianPolicy` (MLP 2x64 tanh, state-independent log-std, identical
initial weights per seed), trained with the NLL loss
$L(\\theta) = -\\frac{{1}}{{B}}\\sum_i \\log \\pi_\\theta(a^*_i \\mid s_i)$, Adam (lr {lr}),
minibatches of {batch_size}, {steps_per_iteration} gradient steps per iteration (CS285 hw1
defaults). **BC** trains on the expert data (2 x 1000 transitions; Humanoid's made by rolling out
the adapted expert). **DAgger** (Ross et al. 2011) starts from BC and, for each of the following
iterations, runs the learner for {env_steps_per_iteration} steps, labels every visited state with
the expert $a^* = \\pi^*(s)$, aggregates $D \\leftarrow D \\cup \\{{(s, \\pi^*(s))\\}}$ and continues
training. Comparisons: equal gradient steps ({iterations} iterations vs BC for the same number of
steps), {many_iterations} iterations (more labels and steps), and equal labels (BC on the expert
data plus as many further expert transitions as DAgger labelled). Each learner is scored by its
mean return over {eval_episodes} seeded episodes (deterministic mean action, up to
{max_episode_steps} steps); over {seeds} seeds we report the interquartile mean with a 95%
stratified bootstrap interval, the ratio of IQMs with its interval, and the probability of
improvement $P(X > Y)$ (Agarwal et al. 2021) with the exact Mann-Whitney p-value (with {seeds}
seeds a bootstrap interval of $P(X > Y)$ degenerates to a point such as [1.00, 1.00]; the rank
test's p-value states the evidence; the percentile bootstrap intervals themselves are not
exact with so few seeds). The Humanoid expert needs an explicit adapter
(near-constant normaliser dimensions held at their training mean; see the experts table), and
DAgger relabels with the same adapted expert. Sub-claim thresholds, decided by the ratio's
interval, not its point: "slightly better" = DAgger significantly better (exact Mann-Whitney
$p \\le 0.05$) with the whole ratio interval in [1, 1.5]; "about 2x" = interval in [1.5, 3];
"over 10x" = interval above 10. A claimed improvement is *refuted* when the ratio's interval
lies outside the claimed range (or DAgger is significantly worse), *qualified* when it is not
significant or its interval straddles the claimed range. "Similar" = no significant difference
and the ratio interval within 10% of 1 (refuted by a significant difference); "too hard" = BC's
IQM interval below 20% of the adapted expert's return (refuted above 50%).
"""


def figures(data_dir: Path, fig_dir: Path) -> list[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    figs: list[Figure] = []
    runs = data_dir / "runs.csv"
    if runs.exists():
        df = pd.read_csv(runs)
        g = sns.catplot(data=df, x="method", y="score", col="env", kind="strip", sharey=False,
                        order=[m for m in METHODS if m in set(df["method"])], height=3.5,
                        aspect=1.3)
        g.set_axis_labels("", "mean evaluation return per seed")
        for ax in g.axes.flat:
            ax.tick_params(axis="x", rotation=30)
        figs.append(save_figure(g, fig_dir / "dagger_vs_bc_returns.png",
                                "Per-seed mean return of each learner."))
    comp = data_dir / "compounding.csv"
    if comp.exists():
        df = pd.read_csv(comp)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        long = df.melt(id_vars="horizon", value_vars=["bc_excess_cost", "dagger_excess_cost"],
                       var_name="learner", value_name="excess cost")
        sns.lineplot(data=long, x="horizon", y="excess cost", hue="learner", marker="o",
                     linestyle="", ax=ax)
        fit_path = data_dir / "compounding_fit.json"
        if fit_path.exists():
            fit = json.loads(fit_path.read_text())
            grid = np.geomspace(df["horizon"].min(), df["horizon"].max(), 100)
            for name, colour in (("bc", "C0"), ("dagger", "C1")):
                c0, c1, c2 = fit[name]["quadratic_coefficients"]
                ax.plot(grid, c0 + c1 * grid + c2 * grid**2, "--", color=colour, linewidth=1,
                        label=f"{name} fit: slope {fit[name]['loglog_slope']:.2f}")
            ax.legend(fontsize=8)
        ax.set(xscale="log", yscale="log")
        figs.append(save_figure(fig, fig_dir / "dagger_vs_bc_compounding.png",
                                "Exact excess cost against the horizon (log-log) with the "
                                "least-squares quadratic fits and log-log slopes."))
    return figs


if __name__ == "__main__":
    from rlcheck.verify import analysis_main

    analysis_main(CLAIM_ID)
