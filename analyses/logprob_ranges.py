"""Claim ``logprob-ranges``: where probabilities, densities and their logs live.

Random sweeps over the parameters of categorical and diagonal Gaussian distributions (seeded numpy
draws; the same properties are hypothesis tests in ``tests/test_distributions.py``):

1. categorical: ``p_a = softmax(l)_a`` in ``[0, 1]`` and ``log p_a = l_a - logsumexp(l)`` in
   ``[-inf, 0]`` for logits up to ``1e30`` in magnitude and masked (``-inf``) actions;
2. diagonal Gaussian: the density is ``>= 0`` and its log is real and of either sign; at the mean
   ``log p(mu) = -d/2 log(2 pi) - sum_k log sigma_k``, positive (density above 1) exactly when the
   geometric mean of ``sigma`` is below ``1/sqrt(2 pi) = 0.399``;
3. the joint log-density equals the sum of the per-dimension log-densities, and
   ``Independent(Normal, 1)`` and ``MultivariateNormal`` with a diagonal covariance agree with it,
   to float64 precision;
4. extremes: tiny ``sigma`` and huge logits, looking for NaN.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from rlcheck.atomic import write_csv_atomic, write_text_atomic
from rlcheck.claims import Figure, Outcome, SubClaim, Table, Tier, combine_verdicts, save_figure
from rlcheck.distributions import categorical, diagonal_gaussian
from rlcheck.progress import track

CLAIM_ID = "logprob-ranges"
SEED = 0
DRAWS = {"quick": 2_000, "full": 100_000}
"""Random parameter draws per action dimension (Gaussian) or per action count (categorical)."""
DIMS = tuple(range(1, 9))
N_ACTIONS = (2, 3, 5, 10, 100)
LOG_2PI = math.log(2 * math.pi)
IDENTITY_TOL = {torch.float64: 1e-12, torch.float32: 1e-5}
"""Relative tolerance (to ``1 + |log p|``) for the joint-log-density identities."""


# ----------------------------------------------------------------------------- sweeps

def _categorical_sweep(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Ranges of probabilities and log-probabilities over random logits of scale 1e-3..1e30."""
    rows = []
    for k in N_ACTIONS:
        scale = 10.0 ** rng.uniform(-3, 30, size=(n, 1))
        logits = rng.normal(size=(n, k)) * scale
        masked = rng.random((n, k)) < 0.1
        masked[np.arange(n), rng.integers(0, k, n)] = False  # keep one action available
        logits[masked] = -np.inf
        dist = categorical(torch.tensor(logits))
        actions = torch.arange(k).unsqueeze(-1).expand(k, n)
        log_p = dist.log_prob(actions).T.numpy()
        p = dist.probs.numpy()
        finite = log_p[np.isfinite(log_p)]
        rows.append({
            "family": "categorical", "size": k, "draws": n,
            "min_prob": p.min(), "max_prob": p.max(),
            "max_abs_sum_minus_1": np.abs(p.sum(-1) - 1).max(),
            "min_log": log_p.min(), "max_log": log_p.max(),
            "min_finite_log": finite.min(), "n_minus_inf": int(np.isneginf(log_p).sum()),
            "n_masked": int(masked.sum()), "n_nan": int(np.isnan(log_p).sum() + np.isnan(p).sum()),
            "frac_density_above_1": 0.0, "frac_positive_log": float((log_p > 0).mean()),
        })
    return pd.DataFrame(rows)


def _gaussian_draws(d: int, n: int, rng: np.random.Generator
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Means ~ N(0, 3²), log sigma ~ U(-6, 3), actions at 0.01..100 sigmas from the mean."""
    mean = rng.normal(0, 3, size=(n, d))
    log_std = rng.uniform(-6, 3, size=(n, d))
    dist_scale = 10.0 ** rng.uniform(-2, 2, size=(n, 1))
    actions = mean + np.exp(log_std) * rng.normal(size=(n, d)) * dist_scale
    return torch.tensor(mean), torch.tensor(log_std), torch.tensor(actions)


def _gaussian_sweep(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ranges of densities and log-densities, and the joint-log-density identities."""
    ranges, identity = [], []
    for d in track(DIMS, desc="logprob-ranges: Gaussian sweep"):
        mean, log_std, a = _gaussian_draws(d, n, rng)
        log_p = diagonal_gaussian(mean, log_std).log_prob(a)
        at_mean = diagonal_gaussian(mean, log_std).log_prob(mean)
        closed_at_mean = -d * 0.5 * LOG_2PI - log_std.sum(-1)
        small = log_std.mean(-1) < -0.5 * LOG_2PI  # geometric mean sigma < 1/sqrt(2 pi)
        all_log = torch.cat([log_p, at_mean]).numpy()
        ranges.append({
            "family": "diagonal_gaussian", "size": d, "draws": n,
            "min_prob": float(np.exp(all_log).min()), "max_prob": float(np.exp(all_log).max()),
            "max_abs_sum_minus_1": math.nan,
            "min_log": all_log.min(), "max_log": all_log.max(),
            "min_finite_log": all_log[np.isfinite(all_log)].min(),
            "n_minus_inf": int(np.isneginf(all_log).sum()), "n_masked": 0,
            "n_nan": int(np.isnan(all_log).sum()),
            "frac_density_above_1": float((at_mean > 0).double().mean()),
            "frac_positive_log": float((log_p > 0).double().mean()),
            "density_above_1_iff_small_sigma": bool(torch.equal(at_mean > 0, small)),
            "max_abs_err_at_mean": float((at_mean - closed_at_mean).abs().max()),
        })
        for dtype in (torch.float64, torch.float32):
            identity.append(_identity_row(d, mean.to(dtype), log_std.to(dtype), a.to(dtype)))
    return pd.DataFrame(ranges), pd.DataFrame(identity)


def _identity_row(d: int, mean: torch.Tensor, log_std: torch.Tensor,
                  a: torch.Tensor) -> dict[str, object]:
    """Max relative difference of the joint log-density computed four ways (vs the closed form
    ``sum_k [-(a_k - mu_k)²/(2 sigma_k²) - log sigma_k - log(2 pi)/2]`` in float64)."""
    sigma = log_std.exp()
    closed = (-0.5 * ((a.double() - mean.double()) / log_std.double().exp()) ** 2
              - log_std.double() - 0.5 * LOG_2PI).sum(-1)
    ways = {
        "sum_of_per_dimension": Normal(mean, sigma).log_prob(a).sum(-1),
        "independent_normal": Independent(Normal(mean, sigma), 1).log_prob(a),
        "multivariate_normal_diag": MultivariateNormal(
            mean, scale_tril=torch.diag_embed(sigma)).log_prob(a),
        "rlcheck_diagonal_gaussian": diagonal_gaussian(mean, log_std).log_prob(a),
    }
    scale = 1.0 + closed.abs()
    row: dict[str, object] = {"size": d, "dtype": str(mean.dtype).removeprefix("torch."),
                              "draws": len(a), "tolerance": IDENTITY_TOL[mean.dtype]}
    for name, value in ways.items():
        row[f"rel_err_{name}"] = float(((value.double() - closed).abs() / scale).max())
    row["within_tolerance"] = all(row[f"rel_err_{k}"] <= row["tolerance"] for k in ways)
    return row


def _extremes() -> pd.DataFrame:
    """Log-probabilities at extreme parameters, with and without NaN."""
    rows = []
    for dtype, log_stds in ((torch.float32, (-20.0, -45.0, -51.0, -52.0, -80.0, 40.0)),
                            (torch.float64, (-100.0, -372.0, -373.0, -700.0, 300.0))):
        for ls in log_stds:
            mu = torch.zeros(1, dtype=dtype)
            sigma = torch.tensor([ls], dtype=dtype).exp()
            raw = Normal(mu, sigma)
            at_mean = raw.log_prob(mu).item()
            one_away = raw.log_prob(mu + 1.0).item()
            try:
                diagonal_gaussian(mu, torch.tensor([ls], dtype=dtype))
                refused = ""
            except ValueError as err:
                refused = str(err)
            rows.append({"family": "normal", "dtype": str(dtype).removeprefix("torch."),
                         "parameter": f"log_std={ls:g}", "sigma": sigma.item(),
                         "sigma_squared": (sigma**2).item(), "log_p_at_mean": at_mean,
                         "log_p_one_away": one_away,
                         "nan": bool(math.isnan(at_mean) or math.isnan(one_away)),
                         "rlcheck_refuses": bool(refused), "refusal": refused})
    for dtype in (torch.float32, torch.float64):
        for big in (1e4, 1e30, float(torch.finfo(dtype).max) / 4):
            logits = torch.tensor([big, 0.0, -big], dtype=dtype)
            log_p = categorical(logits).log_prob(torch.arange(3))
            rows.append({"family": "categorical", "dtype": str(dtype).removeprefix("torch."),
                         "parameter": f"logits=[{big:.3g}, 0, -{big:.3g}]", "sigma": math.nan,
                         "sigma_squared": math.nan, "log_p_at_mean": log_p[0].item(),
                         "log_p_one_away": log_p[2].item(),
                         "nan": bool(torch.isnan(log_p).any()), "rlcheck_refuses": False,
                         "refusal": ""})
    return pd.DataFrame(rows)


def _density_curve() -> pd.DataFrame:
    """log N(mu; mu, sigma²) = -log(2 pi)/2 - log sigma over sigma (d = 1), for the figure."""
    sigma = np.logspace(-3, 1, 200)
    log_p = diagonal_gaussian(torch.zeros(200, 1, dtype=torch.float64),
                              torch.tensor(np.log(sigma))[:, None]).log_prob(
        torch.zeros(200, 1, dtype=torch.float64)).numpy()
    return pd.DataFrame({"sigma": sigma, "log_density_at_mean": log_p})


# ----------------------------------------------------------------------------- verdict

def run(tier: Tier, out_dir: Path) -> Outcome:
    """Run the sweeps, write CSVs into ``out_dir`` and decide the sub-claims."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    n = DRAWS[tier]
    cat = _categorical_sweep(n, rng)
    gauss, identity = _gaussian_sweep(n, rng)
    extremes = _extremes()
    ranges = pd.concat([cat, gauss], ignore_index=True)
    write_csv_atomic(ranges, out_dir / "ranges.csv")
    write_csv_atomic(identity, out_dir / "identity.csv")
    write_csv_atomic(extremes, out_dir / "extremes.csv")
    write_csv_atomic(_density_curve(), out_dir / "density_at_mean.csv")
    # log-probabilities of sampled actions under random categoricals and Gaussians (histogram)
    sample_rng = np.random.default_rng(SEED + 1)
    mean, log_std, _ = _gaussian_draws(4, 5_000, sample_rng)
    a = mean + log_std.exp() * torch.tensor(sample_rng.normal(size=(5_000, 4)))  # a ~ the policy
    logits = torch.tensor(sample_rng.normal(size=(5_000, 5)) * 3)
    write_csv_atomic(pd.concat([
        pd.DataFrame({"family": "categorical (5 actions)",
                      "log_p": categorical(logits).log_prob(
                          torch.tensor(sample_rng.integers(0, 5, 5_000))).numpy()}),
        pd.DataFrame({"family": "diagonal Gaussian (d = 4)",
                      "log_p": diagonal_gaussian(mean, log_std).log_prob(a).numpy()}),
    ]), out_dir / "log_p_samples.csv")

    subclaims = [_discrete_subclaim(cat), _continuous_subclaim(gauss),
                 _identity_subclaim(identity), _extremes_subclaim(extremes, cat, gauss)]
    verdict = combine_verdicts([s.verdict for s in subclaims])
    g64 = identity[identity.dtype == "float64"]
    max_rel64 = float(g64.filter(like="rel_err_").to_numpy().max())
    summary = (f"{int(ranges.draws.sum()):,} random distributions: categorical p in "
               f"[{cat.min_prob.min():.3g}, {cat.max_prob.max():.3g}], log p in "
               f"[{cat.min_log.min():.3g}, {cat.max_log.max():.3g}]; Gaussian log-densities in "
               f"[{gauss.min_finite_log.min():.3g}, {gauss.max_log.max():.3g}] with density > 1 "
               f"at the mean in {100 * gauss.frac_density_above_1.mean():.0f}% of draws; joint = "
               f"sum of per-dimension log-densities to {max_rel64:.1g} (float64); NaN only where "
               "sigma² underflows to 0 (refused by diagonal_gaussian)")
    details = {"draws_per_size": n, "dims": list(DIMS), "n_actions": list(N_ACTIONS),
               "max_rel_err_float64": max_rel64,
               "max_rel_err_float32": float(identity[identity.dtype == "float32"]
                                            .filter(like="rel_err_").to_numpy().max())}
    write_text_atomic(out_dir / "summary.json", json.dumps(details, indent=2) + "\n")
    return Outcome(
        verdict=verdict, summary=summary, method=METHOD, subclaims=tuple(subclaims),
        tables=(Table("Ranges over random parameters", "ranges.csv",
                      "One row per family and size (number of actions or action dimension)."),
                Table("Joint log-density identities", "identity.csv",
                      "Max relative error |x - closed form| / (1 + |closed form|)."),
                Table("Extreme parameters", "extremes.csv",
                      "torch's Normal and Categorical at extreme parameters.")),
        seed=SEED, details=details)


METHOD = r"""
For a categorical with logits $l$, $p_a = e^{l_a} / \sum_b e^{l_b} \in [0, 1]$ and
$\log p_a = l_a - \operatorname{logsumexp}(l) \in [-\infty, 0]$ ($-\infty$ only for a masked
action, $l_a = -\infty$). For a diagonal Gaussian the density is positive but unbounded:
$\log \mathcal N(a; \mu, \operatorname{diag}\sigma^2) = \sum_k \big[-\frac{(a_k-\mu_k)^2}{2\sigma_k^2}
- \log\sigma_k - \tfrac12\log 2\pi\big]$, which at $a = \mu$ is positive exactly when
$\frac1d\sum_k \log\sigma_k < -\tfrac12 \log 2\pi$ (geometric-mean $\sigma < 0.399$).
We draw random parameters (logit scales $10^{-3}$ to $10^{30}$, 10% masked actions;
$\log\sigma \sim U(-6, 3)$, actions 0.01 to 100 standard deviations from the mean), record the
observed ranges, compare the joint log-density computed as the sum of per-dimension
`Normal` log-densities, by `Independent(Normal, 1)`, by `MultivariateNormal` with diagonal
covariance and by `rlcheck.distributions.diagonal_gaussian` against the closed form, and probe
extreme parameters for NaN. The same properties run as hypothesis tests in
`tests/test_distributions.py`.
"""


def _discrete_subclaim(cat: pd.DataFrame) -> SubClaim:
    ok = bool((cat.min_prob >= 0).all() and (cat.max_prob <= 1).all()
              and (cat.max_log <= 0).all() and (cat.n_nan == 0).all()
              and (cat.n_minus_inf == cat.n_masked).all())
    return SubClaim(
        "discrete", "Discrete probabilities lie in [0, 1] and log-probabilities in [-inf, 0].",
        "confirmed" if ok else "refuted",
        f"over {int(cat.draws.sum()):,} random categoricals: p in [{cat.min_prob.min():.3g}, "
        f"{cat.max_prob.max():.3g}], log p in [{cat.min_log.min():.3g}, {cat.max_log.max():.3g}]"
        f" (-inf for all {int(cat.n_masked.sum()):,} masked actions only: "
        f"{int(cat.n_minus_inf.sum()):,} -inf values), finite log p down to "
        f"{cat.min_finite_log.min():.3g}; no NaN")


def _continuous_subclaim(gauss: pd.DataFrame) -> SubClaim:
    ok = bool((gauss.min_prob >= 0).all() and (gauss.max_log > 0).any()
              and (gauss.min_log < 0).all() and (gauss.n_nan == 0).all()
              and gauss.density_above_1_iff_small_sigma.all())
    return SubClaim(
        "continuous", "Continuous densities lie in [0, inf) and log-densities in (-inf, inf): "
        "a density can exceed 1 and its log be positive.",
        "confirmed" if ok else "refuted",
        f"log-densities from {gauss.min_finite_log.min():.3g} to {gauss.max_log.max():.3g}; "
        f"density above 1 at the mean in {100 * gauss.frac_density_above_1.mean():.1f}% of "
        f"draws, exactly those with geometric-mean sigma < 1/sqrt(2 pi) = 0.399 "
        f"({'all' if gauss.density_above_1_iff_small_sigma.all() else 'NOT all'} sizes); "
        f"log-density at the mean matches -d/2 log 2pi - sum log sigma to "
        f"{gauss.max_abs_err_at_mean.max():.1g}; {int(gauss.n_minus_inf.sum())} values "
        f"underflow to -inf in float64")


def _identity_subclaim(identity: pd.DataFrame) -> SubClaim:
    ok = bool(identity.within_tolerance.all())
    errs = identity.filter(like="rel_err_")
    e64 = float(errs[identity.dtype == "float64"].to_numpy().max())
    e32 = float(errs[identity.dtype == "float32"].to_numpy().max())
    return SubClaim(
        "joint-sum", "A diagonal Gaussian's joint log-prob is the sum of its per-dimension "
        "log-probs (= Independent(Normal) = MultivariateNormal with diagonal covariance).",
        "confirmed" if ok else "refuted",
        f"max relative error against the closed form {e64:.2g} in float64 (tolerance 1e-12) and "
        f"{e32:.2g} in float32 (tolerance 1e-5) over d = 1..{max(DIMS)}")


def _extremes_subclaim(extremes: pd.DataFrame, cat: pd.DataFrame,
                       gauss: pd.DataFrame) -> SubClaim:
    normal = extremes[extremes.family == "normal"]
    nan_rows = normal[normal.nan]
    representable = normal[normal.sigma_squared > 0]
    ok = bool(not representable.nan.any() and nan_rows.rlcheck_refuses.all()
              and not extremes[extremes.family == "categorical"].nan.any()
              and (cat.n_nan == 0).all() and (gauss.n_nan == 0).all())
    cases = ", ".join(f"{r.dtype} {r.parameter}" for r in nan_rows.itertuples())
    overflow = representable[np.isneginf(representable.log_p_one_away)]
    first = overflow.sort_values("sigma", ascending=False).iloc[0] if len(overflow) else None
    far = ("" if first is None else
           f"; one unit from the mean the log-density overflows to -inf in floating point from "
           f"sigma = {first['sigma']:.2g} ({first['dtype']}) down")
    return SubClaim(
        "extremes", "At extreme parameters (tiny sigma, huge logits) log-probabilities stay "
        "free of NaN.",
        "confirmed" if ok else "refuted",
        f"no NaN for logits up to max/4 of the dtype or any sigma whose square is representable; "
        f"torch's Normal.log_prob returns NaN at the mean (0/0) once sigma² underflows to 0 "
        f"({cases}), parameters that rlcheck.distributions.diagonal_gaussian refuses with a "
        f"ValueError{far}")


# ----------------------------------------------------------------------------- figures

def figures(data_dir: Path, fig_dir: Path) -> list[Figure]:
    """Log-density at the mean against sigma, and histograms of log p for both families."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    curve = pd.read_csv(data_dir / "density_at_mean.csv")
    samples = pd.read_csv(data_dir / "log_p_samples.csv")
    sns.set_theme(style="whitegrid", context="notebook")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    sns.lineplot(data=curve, x="sigma", y="log_density_at_mean", ax=axes[0])
    axes[0].set_xscale("log")
    axes[0].axhline(0, color="grey", lw=1)
    axes[0].axvline(1 / math.sqrt(2 * math.pi), color="C3", ls="--",
                    label=r"$\sigma = 1/\sqrt{2\pi}$")
    axes[0].set(xlabel=r"$\sigma$", ylabel=r"$\log \mathcal{N}(\mu;\mu,\sigma^2)$",
                title="A density above 1: positive log-density")
    axes[0].legend()
    clipped = samples.assign(log_p=samples.log_p.clip(lower=-30))
    sns.histplot(data=clipped, x="log_p", hue="family", bins=80, stat="density",
                 common_norm=False, element="step", ax=axes[1])
    axes[1].axvline(0, color="grey", lw=1)
    axes[1].set(xlabel="log p of a sampled action (clipped at -30)",
                title="Log-probabilities vs log-densities")
    return [save_figure(fig, fig_dir / "logprob_ranges.png",
                        "Left: the log-density of a 1-d Gaussian at its mean is positive "
                        "for sigma < 1/sqrt(2 pi). Right: log-probabilities of actions sampled from "
                        "random categoricals never exceed 0; log-densities of actions sampled from "
                        "random diagonal Gaussians (log sigma ~ U(-6, 3)) take both signs.")]


if __name__ == "__main__":
    from rlcheck.verify import analysis_main

    analysis_main(CLAIM_ID)
