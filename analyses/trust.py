"""How much to trust these checks: planted bugs, calibration, power and the flakiness budget.

Not one of the notes' claims: the meta-analysis ``trust`` asks whether rlcheck's own checks
deserve the verdicts they hand out. It is confirmed when

1. every planted bug of the catalogue (:mod:`rlcheck.trust.bugs`) is caught by its check;
2. every correct-but-unusual variant passes;
3. every statistical check's measured false-positive rate, over many seeds on correct
   implementations, is within its Clopper-Pearson interval of the declared alpha (and of the
   coarse probe level 0.05), see :mod:`rlcheck.trust.calibration`;
4. the family-wise false-failure probability of one CI run of the statistical tests (the sum of
   their declared alphas) is below 1e-4;
5. (full tier) the statistical tests pass when rerun with re-mixed seeds;
6. where users stand (:mod:`rlcheck.trust.stress`): ``check_pg_weights`` on stress families of
   user problems (peaked policies, rare states, rare huge rewards, T = 50, A = 10, gamma from
   0.5 to 1) never shows a false-failure rate above its level beyond its Clopper-Pearson
   interval, and every planted bug is caught in at least 99% of 100 seeds at the defaults.

Every area of the catalogue must have its check: an area whose check does not exist yet leaves
the verdict pending.

Data written into ``out_dir``: ``mutants.json`` / ``mutants.csv`` (also copied to
``reports/mutants.json``), ``calibration.csv``, ``calibration_pvalues.csv``, ``power.csv``,
``flakiness.json`` / ``flakiness.csv``, ``stress_rates.csv``, ``stress_bugs.csv``,
``stress_seeds.csv`` and, in the full tier, ``reseeded.csv``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rlcheck.atomic import write_csv_atomic, write_text_atomic
from rlcheck.claims import Figure, Outcome, SubClaim, Table, Tier, Verdict, combine_verdicts, save_figure
from rlcheck.progress import status
from rlcheck.stats import seeds_to_detect_rate
from rlcheck.trust import stress
from rlcheck.trust.bugs import AREAS
from rlcheck.trust.calibration import run_calibration
from rlcheck.trust.catalogue import mutation_score, run_catalogue
from rlcheck.trust.flakiness import flakiness_budget, reseeded_runs
from rlcheck.trust.levels import BUDGET_TARGET, CALIBRATION_CONFIDENCE_ALPHA, PROBE_LEVEL
from rlcheck.trust.power import run_power

CLAIM_ID = "trust"
SEED = 0


@dataclass(frozen=True)
class Config:
    calibration_seeds: int     # seeds per correct implementation
    slow_seeds: int            # seeds per correct implementation of the slow (CartPole) check
    all_variants: bool | frozenset[str]  # every must-pass variant, one per check, or every
    #                                      variant of the named checks and one of the others
    power_seeds: int           # seeds per planted size in the power curves
    slow_power: bool           # power curve of the slow check too
    reseed_offsets: tuple[int, ...]  # re-seeded runs of the statistical tests
    stress_seeds: int          # seeds per (correct variant, stress family) of check_pg_weights
    stress_bug_seeds: int      # seeds per planted bug for its detection rate
    stress_bug_checks: str | None  # the check whose planted bugs run over seeds (None: all)
    stress_variants: int       # correct variants of check_pg_weights run on the stress families


CHEAP_CHECKS = frozenset({"check_pg_weights", "check_bellman_backup", "check_fitted_q_iteration",
                          "check_td_targets"})
"""Checks that take a tenth of a second or less: every correct variant is calibrated."""

CONFIG = {
    "quick": Config(calibration_seeds=20, slow_seeds=5, all_variants=False, power_seeds=5,
                    slow_power=False, reseed_offsets=(), stress_seeds=100, stress_bug_seeds=100,
                    stress_bug_checks="check_pg_weights", stress_variants=1),
    # full: enough seeds to flag a check whose real rate is 10x its alpha = 1e-3 with 90% power
    "full": Config(calibration_seeds=seeds_to_detect_rate(1e-3), slow_seeds=40, all_variants=CHEAP_CHECKS,
                   power_seeds=20, slow_power=True, reseed_offsets=(1,), stress_seeds=2000,
                   stress_bug_seeds=100, stress_bug_checks=None, stress_variants=3),
}

MUTANT_FIELDS = ("name", "description", "area", "must", "caught", "check", "n_samples", "status",
                 "failing_parts", "manifested", "p_value", "alpha", "seconds", "verdict")


def _verdict(ok: bool) -> Verdict:
    return "confirmed" if ok else "refuted"


def _write_mutants(records: list[dict[str, Any]], out_dir: Path) -> None:
    rows = [{k: r[k] for k in MUTANT_FIELDS} for r in records]
    text = json.dumps(rows, indent=2) + "\n"
    write_text_atomic(out_dir / "mutants.json", text)
    # verify's documented location: reports/mutants.json (out_dir is reports/trust/<tier>/)
    if out_dir.parent.name == CLAIM_ID:
        write_text_atomic(out_dir.parent.parent / "mutants.json", text)
    table = pd.DataFrame(rows)
    table["failing_parts"] = table["failing_parts"].map(lambda parts: "; ".join(parts))
    write_csv_atomic(table.drop(columns=["verdict"]), out_dir / "mutants.csv")


def _mutant_subclaims(records: list[dict[str, Any]]) -> list[SubClaim]:
    score = mutation_score(records)
    missed_bugs = [r["name"] for r in records if r["must"] == "catch" and not r["caught"]]
    failed_variants = [r["name"] for r in records if r["must"] == "pass" and not r["caught"]]
    covered = {r["area"] for r in records}
    missing_areas = [a for a in AREAS if a not in covered]
    bugs = SubClaim(
        "bugs-caught", "Every planted bug in the catalogue fails its check.",
        _verdict(not missed_bugs),
        f"{score['bugs_caught']} of {score['bugs']} bugs caught"
        + (f"; missed: {', '.join(missed_bugs)}" if missed_bugs else ""))
    variants = SubClaim(
        "variants-pass", "Every correct-but-unusual variant passes its check.",
        _verdict(not failed_variants),
        f"{score['variants_passed']} of {score['variants']} correct variants pass"
        + (f"; failed: {', '.join(failed_variants)}" if failed_variants else ""))
    coverage = SubClaim(
        "coverage", f"Every area ({', '.join(AREAS)}) has a check and planted bugs.",
        "pending" if missing_areas else "confirmed",
        (f"no check or mutants yet for: {', '.join(missing_areas)}" if missing_areas else
         f"all {len(AREAS)} areas covered"))
    return [bugs, variants, coverage]


def calibration_power(seeds: int, alpha: float = 1e-3) -> str:
    """What ``seeds`` runs can see: the probability of flagging a check whose real false-failure
    rate is 10 x the level, at the declared alpha and at the probe level, and the seeds that
    90% power needs (:func:`rlcheck.stats.seeds_to_detect_rate`)."""
    from rlcheck.stats import rate_detection_power, seeds_to_detect_rate

    parts = [f"at {level:g}: power {rate_detection_power(seeds, level, 10 * level):.2f} "
             f"({seeds_to_detect_rate(level)} seeds give 90%)" for level in (alpha, PROBE_LEVEL)]
    return f"{seeds} seeds flag a 10x rate " + ", ".join(parts)


def _calibration_subclaim(records: list[dict[str, Any]], seeds: int) -> SubClaim:
    statistical = [r for r in records if r["statistical"]]
    bad = [r["case"] for r in records if not r["within"]]
    worst = max(statistical, key=lambda r: r["probe_rate"] or 0.0, default=None)
    summary = (f"{len(records) - len(bad)} of {len(records)} cases within their interval "
               f"({len(statistical)} statistical) over {seeds} seeds each; "
               + calibration_power(seeds))
    if worst is not None:
        summary += (f"; highest rate at the probe level {PROBE_LEVEL}: {worst['probe_rate']:.3f} "
                    f"({worst['case']}, {1 - CALIBRATION_CONFIDENCE_ALPHA:.0%} CI "
                    f"[{worst['probe_ci_low']:.3f}, {worst['probe_ci_high']:.3f}])")
    if bad:
        summary += f"; MISCALIBRATED: {', '.join(bad)}"
    return SubClaim("calibration", "Measured false-positive rates hold the declared alpha "
                    f"(and the probe level {PROBE_LEVEL}).", _verdict(not bad), summary)


def _budget_subclaim(budget: dict[str, Any], reseeded_runs: int) -> SubClaim:
    top = sorted(budget["per_file"].items(), key=lambda kv: -kv[1])[:3]
    summary = (f"sum of alphas of the {budget['n_tests']} statistical tests run by default: "
               f"{budget['budget']:.3g} (target < {BUDGET_TARGET:g}); each alpha is the exact "
               "binomial (or stated) tail its test declares; backed by "
               f"{reseeded_runs} re-seeded run(s) of the suite in this tier; largest files: "
               + ", ".join(f"{path} {total:.2g}" for path, total in top))
    return SubClaim("flakiness-budget", f"One CI run fails falsely with probability < "
                    f"{BUDGET_TARGET:g} (union bound over the statistical tests).",
                    _verdict(budget["within_target"]), summary)


def run_stress(cfg: Config, out_dir: Path) -> tuple[list[SubClaim], list[Table], dict[str, Any]]:
    """The stress section: false-failure rates on stress families, detection rates of the
    planted bugs over seeds, the seed counts a 10 x alpha rate needs, the per-call time."""
    status(f"trust: stress families over {cfg.stress_seeds} seeds")
    rates = stress.false_failure_rates(
        cfg.stress_seeds, variants=stress.correct_variants()[:cfg.stress_variants])
    write_csv_atomic(pd.DataFrame(rates), out_dir / "stress_rates.csv")
    status(f"trust: planted bugs over {cfg.stress_bug_seeds} seeds")
    bugs = stress.detection_rates(stress.catalogue_bugs(cfg.stress_bug_checks), cfg.stress_bug_seeds)
    write_csv_atomic(pd.DataFrame(bugs), out_dir / "stress_bugs.csv")
    seeds = stress.seeds_table(cfg.stress_seeds)
    write_csv_atomic(pd.DataFrame(seeds), out_dir / "stress_seeds.csv")
    seconds = stress.per_call_seconds()
    return (*summarise_stress(rates, bugs, seeds, cfg.stress_seeds, seconds),
            {"stress_seeds": cfg.stress_seeds, "stress_bug_seeds": cfg.stress_bug_seeds,
             "check_pg_weights_seconds_per_call": seconds})


def summarise_stress(rates: list[dict[str, Any]], bugs: list[dict[str, Any]],
                     seeds: list[dict[str, Any]], n_seeds: int,
                     seconds: float) -> tuple[list[SubClaim], list[Table]]:
    """Sub-claims and tables of the stress section, from its data only."""
    exceeds = [f"{r['variant']} / {r['family']} at {r['level']:g}" for r in rates
               if r["status"] == "exceeds"]
    holds = sum(r["status"] == "holds" for r in rates)
    resolved = [s["level"] for s in seeds if s["resolves_10x"]]
    worst = max(rates, key=lambda r: r["rate"] / r["level"])
    calibration = SubClaim(
        "stress-calibration",
        "check_pg_weights holds its level on stress families of user problems: no "
        "(correct variant, family) shows a false-failure rate above its level beyond the "
        f"{1 - stress.CONFIDENCE_ALPHA:.0%} Clopper-Pearson interval.",
        _verdict(not exceeds),
        f"{len(rates) - len(exceeds)} of {len(rates)} (variant, family, level) rates within "
        f"their interval over {n_seeds} seeds each, {holds} bounded below 2x their level; "
        f"highest rate / level: {worst['rate']:.3g} / {worst['level']:g} ({worst['variant']}, "
        f"{worst['family']}); {n_seeds} seeds see a 10x rate with 90% power at levels "
        f"{', '.join(f'{x:g}' for x in resolved) or 'none'}"
        + (f"; EXCEEDS: {', '.join(exceeds)}" if exceeds else ""))
    missed = [f"{b['bug']} ({b['caught']}/{b['n']})" for b in bugs
              if b["rate"] < stress.MIN_DETECTION_RATE]
    lowest = min(bugs, key=lambda b: b["rate"])
    power = SubClaim(
        "stress-power", f"Every planted bug is caught in at least {stress.MIN_DETECTION_RATE:.0%} of "
        "seeds at its check's default settings.", _verdict(not missed),
        f"{len(bugs) - len(missed)} of {len(bugs)} bugs caught in >= "
        f"{stress.MIN_DETECTION_RATE:.0%} of {bugs[0]['n']} seeds (lowest: {lowest['bug']} "
        f"{lowest['caught']}/{lowest['n']}); check_pg_weights takes {seconds:.3f} s per call "
        "at its defaults" + (f"; MISSED: {', '.join(missed)}" if missed else ""))
    tables = [
        Table("Stress families: false failures of correct implementations", "stress_rates.csv",
              f"check_pg_weights at alpha = {stress.ALPHA:g} on one fresh user problem per seed; "
              f"failures counted at the levels {', '.join(f'{x:g}' for x in stress.LEVELS)} "
              f"from each run's p-value, with {1 - stress.CONFIDENCE_ALPHA:.0%} Clopper-Pearson "
              "intervals. status: holds (upper end <= 2 x level), unresolved (consistent with "
              "the level, too few seeds to bound it below 2 x level), exceeds (interval above "
              "the level)."),
        Table("Stress: detection rate of each planted bug over seeds", "stress_bugs.csv",
              "Each bug run with fresh seeds at its check's default settings and alpha."),
        Table("Seeds needed to see a miscalibrated check", "stress_seeds.csv",
              "Runs n for which a check whose real false-failure rate is 10 x the level is "
              "flagged (Clopper-Pearson lower end above the level) with 90% probability, and "
              "the power of the seeds used here."),
    ]
    return [calibration, power], tables


def run(tier: Tier, out_dir: Path) -> Outcome:
    """Run the catalogue, the calibration, the power curves and the flakiness budget."""
    cfg = CONFIG[tier]
    out_dir.mkdir(parents=True, exist_ok=True)

    status("trust: planted-bug catalogue")
    start = last = time.perf_counter()
    seconds: dict[str, float] = {}

    def _lap() -> float:
        nonlocal last
        now = time.perf_counter()
        lap, last = now - last, now
        return round(lap, 1)

    records = run_catalogue(seed=SEED)
    _write_mutants(records, out_dir)
    seconds["catalogue"] = _lap()

    status(f"trust: calibration over {cfg.calibration_seeds} seeds")
    calibration = run_calibration(cfg.calibration_seeds, all_variants=cfg.all_variants,
                                  slow_seeds=cfg.slow_seeds)
    seconds["calibration"] = _lap()
    write_csv_atomic(pd.DataFrame([{k: v for k, v in r.items() if k != "p_values"}
                                   for r in calibration]), out_dir / "calibration.csv")
    write_csv_atomic(pd.DataFrame([{"case": r["case"], "check": r["check"], "run": i, "part": j,
                                    "p_value": p}
                                   for r in calibration for i, ps in enumerate(r["p_values"])
                                   for j, p in enumerate(ps)]),
                     out_dir / "calibration_pvalues.csv")

    status(f"trust: power curves over {cfg.power_seeds} seeds per size")
    power = run_power(cfg.power_seeds, include_slow=cfg.slow_power)
    seconds["power"] = _lap()
    write_csv_atomic(pd.DataFrame(power), out_dir / "power.csv")

    status("trust: flakiness budget (pytest --collect-only)")
    budget = flakiness_budget()
    seconds["flakiness_budget"] = _lap()
    write_text_atomic(out_dir / "flakiness.json", json.dumps(
        {k: v for k, v in budget.items() if k != "tests"}, indent=2) + "\n")
    write_csv_atomic(pd.DataFrame(budget["tests"]).sort_values("alpha", ascending=False),
                     out_dir / "flakiness.csv")

    stress_claims, stress_tables, stress_details = run_stress(cfg, out_dir)
    seconds["stress"] = _lap()

    subclaims = [*_mutant_subclaims(records), _calibration_subclaim(calibration,
                                                                    cfg.calibration_seeds),
                 _budget_subclaim(budget, len(cfg.reseed_offsets)), *stress_claims]
    tables = [
        Table("Planted bugs and correct variants", "mutants.csv",
              "caught = the check's verdict matched `must` (catch: it failed the bug; pass: it "
              "passed the variant). n_samples = samples the check drew (0 for exact checks)."),
        Table("Calibration on correct implementations", "calibration.csv",
              f"False failures at the declared alpha and at the probe level {PROBE_LEVEL} with "
              f"{1 - CALIBRATION_CONFIDENCE_ALPHA:.0%} Clopper-Pearson intervals."),
        Table("Power: detection rate against planted bias", "power.csv"),
        Table("Declared alphas of the statistical tests", "flakiness.csv",
              "Each seeded statistical test's declared false-failure probability."),
        *stress_tables,
    ]
    reseeded: list[dict[str, Any]] = []
    if cfg.reseed_offsets:
        status(f"trust: statistical tests re-seeded with offsets {cfg.reseed_offsets}")
        reseeded = reseeded_runs(cfg.reseed_offsets)
        write_csv_atomic(pd.DataFrame([{"offset": r["offset"], "tests": r["n_tests"],
                                        "passed": r["passed"], "failed": len(r["failed"]),
                                        "skipped": r["skipped"],
                                        "failing": "; ".join(f["nodeid"] for f in r["failed"])}
                                       for r in reseeded]), out_dir / "reseeded.csv")
        failures = [f["nodeid"] for r in reseeded for f in r["failed"]]
        subclaims.append(SubClaim(
            "reseeded", "The statistical tests pass with other seeds.", _verdict(not failures),
            f"{len(reseeded)} re-seeded runs of {reseeded[0]['n_tests']} statistical tests: "
            f"{len(failures)} failures" + (f" ({', '.join(sorted(set(failures)))})"
                                            if failures else "")))
        tables.append(Table("Re-seeded runs of the statistical tests", "reseeded.csv"))
        seconds["reseeded"] = _lap()
    seconds["total"] = round(time.perf_counter() - start, 1)

    parts = [s.verdict for s in subclaims]
    verdict = combine_verdicts(parts)
    if verdict == "confirmed" and "pending" in parts:
        verdict = "pending"
    score = mutation_score(records)
    summary = (f"{score['bugs_caught']}/{score['bugs']} planted bugs caught, "
               f"{score['variants_passed']}/{score['variants']} correct variants pass; "
               f"{sum(r['within'] for r in calibration)}/{len(calibration)} calibration cases "
               f"within their interval ({cfg.calibration_seeds} seeds); flakiness budget "
               f"{budget['budget']:.2g} (target < {BUDGET_TARGET:g})")
    method = (
        "Each planted bug is a plausible user implementation fed to the public check that "
        "should fail it; each correct variant one it should pass. A statistical check at level "
        "$\\alpha$ splits it over its parts by Bonferroni ($\\alpha_i = \\alpha / K$), so on "
        "correct code $P(\\text{fail}) \\le \\sum_i \\alpha_i = \\alpha$. Calibration counts "
        "false failures $k$ of $n$ seeded runs on correct code and reports the Clopper-Pearson "
        f"interval of $k/n$ at level {1 - CALIBRATION_CONFIDENCE_ALPHA:.0%}; because "
        "$\\alpha = 10^{-3}$ is unresolvable with a few hundred runs, each run is also scored "
        f"at the probe level $L = {PROBE_LEVEL}$ (part $i$ rejects when $p_i \\le L "
        "\\alpha_i/\\alpha$). A rate is out of calibration when the interval's lower end "
        "exceeds the level. Power curves plant a bias of growing size. The flakiness budget is "
        "the union bound $P(\\text{some test fails}) \\le \\sum_i \\alpha_i$ over the "
        "`@pytest.mark.statistical(alpha=...)` tests pytest collects in a default run. "
        "Calibration holds within a check's assumptions: `check_pg_weights` treats episodes as "
        "independent, and weights that couple episodes (a reward-to-go over a flattened buffer "
        "ignoring `done`) were unbiased yet rejected 20 of 200 seeds at level 0.05 in an "
        "earlier run, so that variant is not counted as correct code.")
    return Outcome(
        verdict=verdict, summary=summary, method=method, subclaims=tuple(subclaims),
        tables=tuple(tables), seed=SEED,
        details={"tier": tier, "mutation_score": score, "calibration_seeds":
                 cfg.calibration_seeds, "power_seeds": cfg.power_seeds,
                 "flakiness_budget": budget["budget"], "flakiness_budget_all":
                 budget["budget_all"], "statistical_tests": budget["n_tests"],
                 "budget_per_file": budget["per_file"],
                 "reseeded_failures": [f["nodeid"] for r in reseeded for f in r["failed"]],
                 **stress_details, "seconds": seconds})


def figures(data_dir: Path, fig_dir: Path) -> list[Figure]:
    """Mutation score by area, calibration intervals, power curves and the alpha budget."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    out: list[Figure] = []

    mutants = pd.read_csv(data_dir / "mutants.csv")
    mutants["outcome"] = mutants.apply(
        lambda r: ("bug caught" if r.caught else "bug MISSED") if r.must == "catch"
        else ("variant passed" if r.caught else "variant FAILED"), axis=1)
    counts = mutants.groupby(["area", "outcome"]).size().reset_index(name="count")
    fig, ax = plt.subplots(figsize=(9, 4))
    palette = {"bug caught": "C2", "variant passed": "C0", "bug MISSED": "C3",
               "variant FAILED": "C1"}
    sns.barplot(data=counts, y="area", x="count", hue="outcome", palette=palette, ax=ax,
                order=[a for a in AREAS if a in set(counts.area)])
    ax.set(xlabel="mutants", ylabel="", title="Planted bugs and correct variants by area")
    out.append(save_figure(fig, fig_dir / "mutants.png",
                           "Every planted bug should be caught and every correct variant "
                           "should pass; red or orange bars are escapes."))

    cal = pd.read_csv(data_dir / "calibration.csv")
    cal = cal[cal.statistical & cal.probe_rate.notna()].reset_index(drop=True)
    if len(cal):
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(cal) + 1.5))
        y = range(len(cal))
        ax.errorbar(cal.probe_rate, y, xerr=[cal.probe_rate - cal.probe_ci_low,
                                             cal.probe_ci_high - cal.probe_rate],
                    fmt="o", color="C0", capsize=3, label=f"false failures at {PROBE_LEVEL}")
        ax.axvline(PROBE_LEVEL, color="C3", ls="--", label=f"probe level {PROBE_LEVEL}")
        ax.set_yticks(list(y), cal.case, fontsize=8)
        ax.invert_yaxis()
        ax.set(xlabel="measured false-positive rate (Clopper-Pearson interval)",
               title="Calibration on correct implementations")
        ax.legend(fontsize=8, loc="lower right")
        out.append(save_figure(fig, fig_dir / "calibration.png",
                               "Measured false-positive rate at the probe level of each "
                               "statistical check on correct code; a check is miscalibrated when its "
                               "interval lies right of the dashed line."))

    power = pd.read_csv(data_dir / "power.csv")
    if len(power):
        families = list(dict.fromkeys(power.family))
        cols = 3
        rows = (len(families) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
        for ax, fam in zip(axes.ravel(), families, strict=False):
            d = power[power.family == fam]
            sns.lineplot(data=d, x="size", y="rate", marker="o", ax=ax)
            ax.fill_between(d["size"], d.ci_low, d.ci_high, alpha=0.2)
            ax.axhline(0.95, color="grey", ls=":", lw=1)
            positive = d["size"][d["size"] > 0]
            if len(positive) and positive.max() / positive.min() > 1e3:  # decades: log axis
                ax.set_xscale("symlog", linthresh=float(positive.min()))
                ax.set_xlim(left=0.0)
            ax.set(title=fam, xlabel=d.size_name.iloc[0], ylabel="detection rate",
                   ylim=(-0.03, 1.03))
            ax.title.set_fontsize(8)
        for ax in axes.ravel()[len(families):]:
            ax.set_visible(False)
        out.append(save_figure(fig, fig_dir / "power.png",
                               "Detection rate against the size of a planted bias (95% "
                               "Clopper-Pearson band; dotted: 95% power). Size 0 is the correct "
                               "implementation."))

    flaky = pd.read_csv(data_dir / "flakiness.csv")
    if len(flaky):
        flaky = flaky[~flaky.skipped]
        flaky["file"] = flaky.nodeid.str.split("::").str[0]
        per_file = flaky.groupby("file").alpha.sum().sort_values(ascending=False).reset_index()
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(per_file) + 1.5))
        sns.barplot(data=per_file, y="file", x="alpha", color="C0", ax=ax)
        ax.axvline(BUDGET_TARGET, color="C3", ls="--", label=f"whole-suite target {BUDGET_TARGET:g}")
        ax.set(xscale="log", xlabel="sum of declared alphas", ylabel="",
               title=f"Flakiness budget: total {flaky.alpha.sum():.2g}")
        ax.legend(fontsize=8)
        out.append(save_figure(fig, fig_dir / "flakiness.png",
                               "Sum of the declared false-failure probabilities of the "
                               "statistical tests per test file (a default CI run)."))
    return out


if __name__ == "__main__":
    from rlcheck.verify import analysis_main

    analysis_main(CLAIM_ID)
