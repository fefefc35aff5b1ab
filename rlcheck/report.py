"""Generate the report's Markdown pages from the data under ``reports/``.

The Sphinx configuration (``docs/conf.py``) calls :func:`generate` before every build, so the
site always shows the data on disk and nothing is recomputed: for each claim (and the trust
meta-analysis) it reads ``reports/<id>/<tier>/outcome.json`` and ``provenance.json``, preferring
the committed ``full`` tier over a local ``quick`` run, draws the analysis' figures from those
files with its ``figures(data_dir, fig_dir)`` function, and writes ``docs/claims/<id>.md`` plus an
overview. A claim without data is shown as pending, and says so.

A claim page reads in two screens: the verdict, what was found in one sentence, what it means
for the reader's code and the state of the reader's own last run (``reports/last-run.json``, see
:func:`rlcheck.verify.write_last_run`) come first; then one key figure, the parts of the claim,
and compact evidence tables (at most :data:`MAX_COLUMNS` columns and :data:`MAX_ROWS` rows,
each linking its full CSV for download). Further tables, figures, raw details and provenance
sit in collapsed sections; the method and its derivation come last.

Longer than 400 lines because it is the report's one renderer: table compaction, figures and page
layout share the page's conventions (column and row limits, collapsed sections).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlcheck.claims import ALL_CLAIMS, TRUST, Claim
from rlcheck.paths import ANALYSES, REPORTS, load_analysis, out_dir_for
from rlcheck.verify import read_last_run

BADGES = {"confirmed": "✔ confirmed", "refuted": "✘ refuted", "qualified": "◐ qualified",
          "pending": "… pending", "error": "⚠ error", "unavailable": "⊘ could not run",
          "not measured": "○ not measured"}
"""Verdict labels (symbols every common font has, so they never show as empty boxes)."""
RUN_BADGES = {"matched": "✔ matched", "mismatched": "✘ mismatched", "error": "⚠ error",
              "could not run": "⊘ could not run", "pending": "… pending"}
MAX_TABLE_ROWS = 80
MAX_ROWS = 15
"""Rows of an evidence table shown on a page (the CSV download holds them all)."""
MAX_COLUMNS = 8
"""Columns of an evidence table shown on a page."""
PART_EVIDENCE_CHARS = 220
"""Characters of a part's evidence shown in the parts table (the rest is one click away)."""
OPEN_TABLES = 2
"""Evidence tables shown open; the others are in collapsed sections."""


@dataclass(frozen=True)
class Guide:
    """What a reader takes from a claim: the finding in one plain sentence (written for the
    verdict ``for_verdict``; shown only while the measured verdict is that one) and what it means
    for their code (Markdown: which check to call, which convention to follow)."""

    for_verdict: str
    found: str
    advice: str


GUIDES: dict[str, Guide] = {
    "bc-loss": Guide(
        "qualified",
        "The Gaussian NLL beats MSE on a reparameterised sample in return and steps, but not "
        "clearly with small batches; mean() keeps the gradient's scale, sum() grows it with the "
        "batch size.",
        "Train a stochastic BC policy with `-dist.log_prob(a).sum(-1).mean()`: sum over action "
        "dimensions, mean over the batch. `MSE(dist.rsample(), a)` shrinks sigma towards 0. "
        "Test your loss with {py:func}`~rlcheck.checks.check_bc_loss`."),
    "logprob-ranges": Guide(
        "confirmed",
        "Probabilities stay in [0, 1] and log-probabilities in [-inf, 0]; a Gaussian density can "
        "exceed 1 (positive log-density), and the joint log-density of a diagonal Gaussian is the "
        "sum over dimensions.",
        "Do not assert `log_prob <= 0` for continuous actions. For a diagonal Gaussian use "
        "`Independent(Normal(mu, sigma), 1)` or `Normal(...).log_prob(a).sum(-1)`; keep "
        "`sigma` away from 0 (a floor on `log_std`), where float32 turns the log-density to NaN."),
    "dagger-vs-bc": Guide(
        "qualified",
        "With equal steps DAgger matches BC on Ant and roughly doubles it on Humanoid, but 5x the "
        "iterations gives about 3x, not 10x; with equal data Ant is similar and Humanoid BC "
        "from 2000 samples fails.",
        "Compare imitation methods at equal labelled data and equal gradient steps, over several "
        "seeds with intervals. Test a DAgger loop with {py:func}`~rlcheck.checks.check_dagger`."),
    "death-state": Guide(
        "qualified",
        "Discounting and a death state with probability 1-gamma give the same expected returns, "
        "values and gradients, but not the same return distribution: the death state's return "
        "variance is never smaller, and with an infinite horizon its return is unbounded.",
        "Either formulation gives the same expected objective and gradient; do not use the death "
        "MDP to reason about return variance. Test backups with "
        "{py:func}`~rlcheck.checks.check_bellman_backup` and discounting with "
        "{py:func}`~rlcheck.checks.check_pg_weights`."),
    "causality": Guide(
        "qualified",
        "Past rewards contribute exactly zero and no centring is needed, but the usual "
        "gamma^(t'-t) reward-to-go estimates a different target than the discounted gradient, "
        "and it does not always lower the variance.",
        "Call {py:func}`~rlcheck.checks.check_pg_weights` with `target=\"causal\"` for the usual "
        "reward-to-go `sum_{t'>=t} gamma^(t'-t) r_t'`, and `target=\"discounted\"` if you "
        "discount from the episode start (`gamma^t'`). Rewards need no centring."),
    "baselines": Guide(
        "confirmed",
        "A constant or any function of the state keeps the policy gradient exactly unbiased; a "
        "baseline that sees the action (or the next state) biases it.",
        "Subtract `V(s_t)` (fitted on other data, or detached) from your reward-to-go; never a "
        "function of `a_t`, `s_{t+1}` or the episode's own return. Check with "
        "{py:func}`~rlcheck.checks.check_pg_weights`."),
    "fitted-divergence": Guide(
        "qualified",
        "The backup and the regression each converge but their composition can diverge; the "
        "guarantee returns for averagers, on-policy linear TD and an exact critic.",
        "Use a target network or an averaging approximator, watch `max |Q|` against "
        "`r_max / (1 - gamma)`, and test fitted Q iteration with "
        "{py:func}`~rlcheck.checks.check_fitted_q_iteration` and TD targets with "
        "{py:func}`~rlcheck.checks.check_td_targets`."),
    "sampling-gil": Guide(
        "refuted",
        "Nothing holds the GIL: MuJoCo and torch release it, but the Python between their calls "
        "needs it, so threads sample at about serial speed (not 3x slower); the fork-with-CUDA "
        "crash was not measured here (no GPU); batched worker processes are the fix.",
        "Sample with persistent worker processes (`forkserver` or `spawn`, never `fork` after "
        "CUDA is initialised), several environments per worker and one batched policy call. "
        "Test a sampler with {py:func}`~rlcheck.checks.check_sampler`."),
    "trust": Guide(
        "confirmed",
        "Every planted bug is caught, every correct variant passes, and the checks hold their "
        "declared false-positive rates.",
        "A failing check means a bug with the probability its `alpha` states; call "
        "`result.assert_passed()` in your tests and read `result.verdict` for what differs."),
}

KEY_FIGURES: dict[str, str] = {"trust": "mutants.png", "sampling-gil": "sampling_gil_probes.png"}
"""The figure shown open on a claim's page (default: the analysis' first figure)."""


# --------------------------------------------------------------------------- data on disk


def read_run(claim_id: str, tier: str, reports_dir: Path = REPORTS) -> dict[str, Any] | None:
    """The outcome and provenance of one tier's run, or ``None`` if it has not been run."""
    out = out_dir_for(claim_id, tier, reports_dir)
    outcome = out / "outcome.json"
    if not outcome.exists():
        return None
    prov = out / "provenance.json"
    return {"tier": tier, "dir": out, "outcome": _read_json(outcome, corrupt_outcome(outcome)),
            "provenance": _read_json(prov, {}) if prov.exists() else {}}


def _read_json(path: Path, if_corrupt: dict[str, Any]) -> dict[str, Any]:
    """``path`` parsed as a JSON object, or ``if_corrupt`` when it is empty, truncated or not
    an object (a writer killed mid-write), so that one bad file cannot break the docs build."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return if_corrupt
    return value if isinstance(value, dict) else if_corrupt


def corrupt_outcome(path: Path) -> dict[str, Any]:
    """The outcome shown for an unreadable ``outcome.json``: verdict ``error``, naming it."""
    return {"verdict": "error", "summary": f"{path.name} in {path.parent} is empty or corrupt "
            "(was its writer interrupted?); rerun the analysis to regenerate it"}


def best_run(claim_id: str, reports_dir: Path = REPORTS) -> dict[str, Any] | None:
    """The run the report shows: the full tier when present, else the quick tier."""
    return read_run(claim_id, "full", reports_dir) or read_run(claim_id, "quick", reports_dir)


# --------------------------------------------------------------------------- tables


def breakable(text: str) -> str:
    """``text`` with a zero-width space after each underscore, so that long identifiers such as
    ``max_abs_sum_minus_1`` can wrap inside a narrow table column (math, code and links are
    left as they are)."""
    if any(mark in text for mark in ("$", "`", "](", "{")):
        return text
    return text.replace("_", "_\u200b")


def format_cell(value: str) -> str:
    """Format a CSV cell for a Markdown table: numbers to 4 significant digits, pipes escaped."""
    try:
        number = float(value)
    except ValueError:
        return breakable(value.replace("|", "\\|").replace("\n", " "))
    if value.strip().lstrip("-").isdigit():
        return value.strip()
    if math.isnan(number) or math.isinf(number):
        return value
    return f"{number:.4g}"


def markdown_table(rows: Sequence[Sequence[str]], max_rows: int = MAX_TABLE_ROWS) -> str:
    """A GitHub-style Markdown table from rows (the first row is the header)."""
    if not rows:
        return "*(empty table)*"
    header, body = list(rows[0]), [list(r) for r in rows[1:]]
    lines = ["| " + " | ".join(breakable(h.replace("|", "\\|")) for h in header) + " |",
             "|" + "---|" * len(header)]
    for row in body[:max_rows]:
        lines.append("| " + " | ".join(format_cell(c) for c in row) + " |")
    if len(body) > max_rows:
        lines.append(f"\n*{len(body) - max_rows} more rows in the CSV file.*")
    return "\n".join(lines)


def read_csv(path: Path) -> list[list[str]]:
    """The rows of a CSV file (the first is the header)."""
    with path.open(newline="") as handle:
        return [row for row in csv.reader(handle)]


def merge_intervals(rows: list[list[str]]) -> list[list[str]]:
    """Fold each ``*low``/``*high`` column pair into the column just before it, as
    ``value [low, high]`` (``iqm, iqm_low, iqm_high`` -> ``iqm [low, high]``)."""
    header = rows[0]
    keep: list[int] = []
    pairs: dict[int, tuple[int, int, int]] = {}
    i = 0
    while i < len(header):
        if (i + 2 < len(header) and header[i + 1].endswith("low") and header[i + 2].endswith("high")
                and header[i + 1][:-3] == header[i + 2][:-4]):
            pairs[len(keep)] = (i, i + 1, i + 2)
            keep.append(i)
            i += 3
            continue
        keep.append(i)
        i += 1
    out = [[f"{header[k]} [CI]" if j in pairs else header[k] for j, k in enumerate(keep)]]
    for row in rows[1:]:
        cells = []
        for j, k in enumerate(keep):
            if j in pairs and row[pairs[j][1]] != "" and row[pairs[j][2]] != "":
                v, lo, hi = (row[c] for c in pairs[j])
                cells.append(f"{format_cell(v)} [{format_cell(lo)}, {format_cell(hi)}]")
            else:
                cells.append(row[k])
        out.append(cells)
    return out


def drop_constant_columns(rows: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """Remove columns with one value in every row; return the table and ``name = value`` notes."""
    header, body = rows[0], rows[1:]
    if len(body) < 2:
        return rows, []
    constant = [j for j in range(len(header)) if len({r[j] for r in body}) == 1]
    if len(constant) == len(header):
        return rows, []
    notes = [f"{header[j]} = {format_cell(body[0][j]) or '(empty)'}" for j in constant]
    keep = [j for j in range(len(header)) if j not in constant]
    return [[r[j] for j in keep] for r in rows], notes


def _number(value: str) -> float:
    """A CSV cell as a float (``True``/``False`` as 1/0)."""
    lowered = value.strip().lower()
    if lowered in {"true", "false"}:
        return float(lowered == "true")
    return float(value)


def aggregate(values: list[str], how: str) -> str:
    """One summary of a CSV column's ``values``: ``count``, ``true`` (``k/n`` of ``True``),
    ``frac_true``, ``frac_gt1`` (share above 1), ``median``, ``mean``, ``max``, ``min``,
    ``q10`` or ``q90`` (quantiles), ignoring empty cells."""
    import numpy as np

    truth = [v.strip().lower() in {"true", "1", "1.0"} for v in values]
    numbers = np.array([_number(v) for v in values if v != ""] or [np.nan])
    if how == "count":
        return str(len(values))
    if how == "true":
        return f"{sum(truth)}/{len(values)}"
    if how == "frac_true":
        return f"{np.mean(truth):.3g}"
    if how == "frac_gt1":
        return f"{np.mean(numbers > 1):.3g}"
    reducers: dict[str, Callable[[Any], Any]] = {
        "median": np.nanmedian, "mean": np.nanmean, "max": np.nanmax, "min": np.nanmin,
        "q10": lambda x: np.nanquantile(x, 0.1), "q90": lambda x: np.nanquantile(x, 0.9)}
    if how not in reducers:
        raise ValueError(f"how must be one of count, true, frac_true, frac_gt1, "
                         f"{', '.join(reducers)}; got {how!r}")
    return f"{reducers[how](numbers):.4g}"


def _summarise(group: list[str], aggregates: dict[str, tuple[str, str]]
               ) -> Callable[[list[list[str]]], list[list[str]]]:
    """A table view grouping rows by ``group`` columns and aggregating others.

    ``aggregates`` maps an output column to ``(input column, how)``, ``how`` one of ``count``,
    ``true`` (count of ``True``), ``median``, ``max``, ``min``, ``q10``, ``q90``, ``mean``,
    ``frac_true`` and ``frac_gt1``.
    """
    def view(rows: list[list[str]]) -> list[list[str]]:
        header, body = rows[0], rows[1:]
        index = {h: i for i, h in enumerate(header)}
        missing = [c for c in [*group, *(a for a, _ in aggregates.values())] if c not in index]
        if missing:
            raise KeyError(missing)
        groups: dict[tuple[str, ...], list[list[str]]] = {}
        for row in body:
            groups.setdefault(tuple(row[index[g]] for g in group), []).append(row)
        out = [[*group, *aggregates]]
        for key, members in groups.items():
            cells = list(key)
            for column, how in aggregates.values():
                cells.append(aggregate([r[index[column]] for r in members], how))
            out.append(cells)
        return out
    return view


def _columns(names: list[str]) -> Callable[[list[list[str]]], list[list[str]]]:
    """A table view keeping the named columns, in that order."""
    def view(rows: list[list[str]]) -> list[list[str]]:
        index = [rows[0].index(n) for n in names]
        return [[r[i] for i in index] for r in rows]
    return view


def _top(column: str, n: int) -> Callable[[list[list[str]]], list[list[str]]]:
    """A table view of the ``n`` rows with the largest ``column``."""
    def view(rows: list[list[str]]) -> list[list[str]]:
        i = rows[0].index(column)
        body = sorted(rows[1:], key=lambda r: -float(r[i] or "nan"))
        return [rows[0], *body[:n]]
    return view


VIEWS: dict[tuple[str, str], Callable[[list[list[str]]], list[list[str]]]] = {
    ("causality", "past_rewards.csv"): _summarise(
        ["rewards", "kind"], {"pairs": ("mahalanobis", "count"), "rejected": ("rejected", "true"),
                              "median distance": ("mahalanobis", "median"),
                              "detectable": ("detectable", "median")}),
    ("causality", "uncentred_rewards.csv"): _summarise(
        ["rewards"], {"checks": ("passed", "count"), "passed": ("passed", "true"),
                      "max relative bias": ("relative_bias", "max"),
                      "max exact error": ("exact_mean_error", "max")}),
    ("causality", "variance_survey.csv"): _summarise(
        ["reward_shift"], {"MDPs": ("ratio", "count"), "median ratio": ("ratio", "median"),
                           "q10": ("ratio", "q10"), "q90": ("ratio", "q90"),
                           "share rtg lower": ("rtg_lower", "frac_true")}),
    ("death-state", "variance.csv"): _summarise(
        ["n_states"], {"MDPs": ("ratio", "count"), "median Var ratio": ("ratio", "median"),
                       "q10": ("ratio", "q10"), "q90": ("ratio", "q90"),
                       "share ratio > 1": ("ratio", "frac_gt1")}),
    ("death-state", "sampling.csv"): _summarise(
        ["construction"], {"runs": ("passed", "count"), "passed": ("passed", "true"),
                           "median p (mean)": ("mean_p_value", "median"),
                           "median death rate": ("death_rate", "median")}),
    ("trust", "mutants.csv"): _summarise(
        ["area", "must"], {"mutants": ("caught", "count"), "caught": ("caught", "true"),
                           "median seconds": ("seconds", "median")}),
    ("trust", "flakiness.csv"): _summarise(
        ["skipped"], {"tests": ("alpha", "count"), "max alpha": ("alpha", "max"),
                      "median alpha": ("alpha", "median")}),
    ("trust", "power.csv"): _summarise(
        ["check"], {"rows": ("rate", "count"), "max rate": ("rate", "max"),
                    "median rate": ("rate", "median")}),
    ("trust", "calibration.csv"): _columns(
        ["case", "alpha", "n_seeds", "false_failures", "rate", "probe_rate", "within"]),
    ("sampling-gil", "throughput.csv"): _top("speedup_vs_serial", MAX_ROWS),
    ("sampling-gil", "throughput_efficiency.csv"): _top("efficiency_vs_serial", MAX_ROWS),
    ("baselines", "deep_comparison.csv"): _columns(
        ["env", "estimator", "gradient_norm", "variance_ratio_to_rtg", "cosine_to_rtg_mean",
         "paired_p", "two_sample_p", "variance_p"]),
}
"""Reader's views of evidence tables too large to show whole, keyed by (claim id, CSV name).

A view that no longer fits its CSV (a renamed column) falls back to :func:`compact_rows`."""


def compact_rows(claim_id: str, name: str, rows: list[list[str]],
                 max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS
                 ) -> tuple[list[list[str]], list[str]]:
    """The table a page shows for a CSV, at most ``max_columns`` x ``max_rows``, and notes on
    what was left out (constant columns, further columns and rows)."""
    notes: list[str] = []
    view = VIEWS.get((claim_id, name))
    if view is not None and len(rows) > 1:
        try:
            shown = view(rows)
            if shown[0] != rows[0]:
                notes.append(f"summary of {len(rows) - 1} rows")
            rows = shown
        except (KeyError, ValueError, IndexError):
            pass
    rows = merge_intervals(rows)
    rows, constant = drop_constant_columns(rows)
    if constant:
        notes.append("in every row: " + ", ".join(constant))
    if len(rows[0]) > max_columns:
        notes.append(f"{len(rows[0]) - max_columns} more columns in the CSV "
                     f"({', '.join(rows[0][max_columns:])})")
        rows = [r[:max_columns] for r in rows]
    if len(rows) - 1 > max_rows:
        notes.append(f"first {max_rows} of {len(rows) - 1} rows")
        rows = rows[:max_rows + 1]
    return rows, notes


def download_link(path: Path, page_dir: Path, label: str | None = None) -> str:
    """A MyST ``{download}`` link to ``path`` (copied into the site) from a page in ``page_dir``."""
    rel = Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()
    return f"{{download}}`{label or path.name} <{rel}>`"


def evidence_table(claim_id: str, table: dict[str, Any], run_dir: Path, page_dir: Path) -> list[str]:
    """The Markdown of one evidence table: title, caption, compact rows and the CSV download."""
    path = run_dir / table["csv"]
    lines = [f"### {table['title']}", ""]
    if table.get("caption"):
        lines += [table["caption"], ""]
    if not path.exists():
        return [*lines, f"*(missing data file `{table['csv']}`)*", ""]
    rows = read_csv(path)
    if not rows:
        return [*lines, "*(empty table)*", ""]
    shown, notes = compact_rows(claim_id, table["csv"], rows)
    size = f"{len(rows) - 1} rows x {len(rows[0])} columns"
    lines += [markdown_table(shown, max_rows=MAX_ROWS), "",
              f"Data: {download_link(path, page_dir)} ({size})"
              + (f"; shown: {'; '.join(notes)}." if notes else "."), ""]
    return lines


# --------------------------------------------------------------------------- text


def protect_math(markdown: str) -> str:
    """Join lines that break inside inline ``$...$`` math, so that a continuation line starting
    with ``-``, ``+`` or ``1.`` is not read as a list item (which breaks the formula)."""
    out: list[str] = []
    in_math = in_code = False
    i = 0
    while i < len(markdown):
        char = markdown[i]
        if char == "\\" and i + 1 < len(markdown):
            out.append(markdown[i:i + 2])
            i += 2
            continue
        if char == "`" and not in_math:
            in_code = not in_code
        elif char == "$" and not in_code:
            if markdown.startswith("$$", i):
                out.append("$$")
                i += 2
                continue
            in_math = not in_math
        elif char == "\n" and in_math:
            out.append(" ")
            i += 1
            while i < len(markdown) and markdown[i] in " \t":
                i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def first_sentence(text: str, limit: int = 240) -> str:
    """The first sentence of ``text`` (cut at ``limit`` characters)."""
    match = re.match(r"(.+?[.;])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= limit else sentence[:limit - 1].rstrip() + "…"


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(dotted.key, text)`` pairs of a nested JSON value (lists shown whole, shortened)."""
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            pairs += flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    text = json.dumps(value) if isinstance(value, list | bool) or value is None else str(value)
    text = format_cell(text) if not isinstance(value, list) else text
    return [(prefix, text if len(text) <= 120 else text[:119] + "…")]


def reproduce_commands(claim: Claim) -> str:
    """The commands that regenerate a claim's data, for the page."""
    return (f"```bash\npython analyses/{claim.analysis}.py --tier quick   # minutes\n"
            f"python analyses/{claim.analysis}.py --tier full    # the data shown here\n"
            f"rlcheck verify --only {claim.id}                 # and rebuild this site\n```")


def provenance_table(run: dict[str, Any]) -> str:
    """Provenance of a run as a two-column table."""
    prov = run["provenance"]
    libs = prov.get("libraries") or {}
    rows = [["field", "value"],
            ["tier", str(prov.get("tier", run["tier"]))],
            ["rlcheck", str(prov.get("rlcheck"))],
            ["git commit", f"`{prov.get('commit')}`"],
            ["date (UTC)", str(prov.get("date"))],
            ["seed", str(prov.get("seed"))],
            ["run time (s)", str(prov.get("seconds"))],
            ["machine", f"{prov.get('platform')}, {prov.get('cpu_count')} CPUs, Python "
                        f"{prov.get('python')}"],
            ["libraries", ", ".join(f"{k} {v}" for k, v in libs.items() if v)]]
    return markdown_table(rows)


def collapsed(summary: str, body: list[str]) -> list[str]:
    """A collapsed ``<details>`` section whose body is Markdown."""
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


# --------------------------------------------------------------------------- your run


def last_run_line(claim: Claim, entry: dict[str, Any] | None, reports_dir: Path,
                  page_dir: Path | None = None) -> str:
    """One Markdown line on the state of the reader's last local run of ``claim``."""
    if not entry:
        return (f"**Your run:** not run on this machine yet (`rlcheck verify --only {claim.id}` "
                f"runs the quick tier).")
    state = entry.get("status", "")
    when = f"{entry.get('tier', '?')} tier, {str(entry.get('date', '?')).replace('T', ' ')}"
    head = f"**Your run** ({when}): **{RUN_BADGES.get(state, state)}**"
    if state == "matched":
        return f"{head}: measured {entry['verdict']}, as recorded."
    if state == "mismatched":
        return (f"{head}: measured **{entry['verdict']}**, recorded {entry['recorded']}: "
                f"{entry.get('summary', '')}")
    trace = entry.get("traceback")
    where = ""
    if trace:
        path = reports_dir.parent / trace
        where = (f" Traceback: {download_link(path, page_dir, trace)}."
                 if page_dir is not None and path.exists() else f" Traceback: `{trace}`.")
    if state == "could not run":
        return f"{head}: {entry.get('summary', '')}. Fix: {entry.get('fix', '')}.{where}"
    if state == "error":
        return f"{head}: the analysis raised `{entry.get('summary', '')}`.{where}"
    return f"{head}: {entry.get('summary', '')}"


# --------------------------------------------------------------------------- figures


def draw_figures(claim: Claim, data_dir: Path, fig_dir: Path,
                 analyses_dir: Path = ANALYSES) -> tuple[list[dict[str, str]], str]:
    """Call the analysis' ``figures`` on the data; return the figures and an error text if any."""
    try:
        module = load_analysis(claim, analyses_dir)
        if module is None or not callable(getattr(module, "figures", None)):
            return [], ""
        import matplotlib

        matplotlib.use("Agg")
        fig_dir.mkdir(parents=True, exist_ok=True)
        figures = module.figures(data_dir, fig_dir)
        import matplotlib.pyplot as plt

        plt.close("all")
    except Exception as exc:  # shown on the page instead of breaking the whole site
        traceback.print_exc(file=sys.stderr)
        return [], f"{type(exc).__name__}: {exc}"
    drawn = []
    for fig in figures:
        path = Path(fig.path)
        path = path if path.is_absolute() else fig_dir / path
        drawn.append({"path": str(path), "caption": fig.caption})
    return drawn, ""


def figure_block(fig: dict[str, str], claims_dir: Path) -> list[str]:
    """A MyST figure at page width, its caption as alt text."""
    rel = Path(fig["path"]).resolve().relative_to(claims_dir.resolve())
    alt = " ".join(fig["caption"].split()).replace('"', "'")
    return [f"```{{figure}} {rel.as_posix()}", ":width: 100%", f":alt: {alt}", "",
            fig["caption"], "```", ""]


def key_figure_first(claim: Claim, figures: list[dict[str, str]]) -> list[dict[str, str]]:
    """``figures`` with the claim's key figure (:data:`KEY_FIGURES`, else the first) first."""
    key = KEY_FIGURES.get(claim.id)
    chosen = [f for f in figures if Path(f["path"]).name == key]
    return chosen + [f for f in figures if f not in chosen]


# --------------------------------------------------------------------------- pages


def claim_title(claim: Claim) -> str:
    """The page title of a claim."""
    return "How much to trust these checks" if claim is TRUST else f"`{claim.id}`"


def claim_page(claim: Claim, reports_dir: Path, docs_dir: Path,
               analyses_dir: Path = ANALYSES) -> str:
    """The Markdown page of one claim (see the module docstring for its order)."""
    page_dir = docs_dir / "claims"
    lines = [f"# {claim_title(claim)}", "", f"> {claim.statement}", ""]
    entry = read_last_run(reports_dir).get(claim.id)
    run = best_run(claim.id, reports_dir)
    guide = GUIDES.get(claim.id)
    if run is None:
        lines += [f"**Verdict: {BADGES['pending']}** (recorded: {claim.recorded}). No data yet: "
                  f"the analysis `analyses/{claim.analysis}.py` has not been run.", "",
                  last_run_line(claim, entry, reports_dir, page_dir), ""]
        if guide:
            lines += [f"**What this means for your code.** {guide.advice}", ""]
        lines += ["## Reproduce", "", reproduce_commands(claim), ""]
        return "\n".join(lines)
    outcome = run["outcome"]
    verdict = outcome["verdict"]
    found = (guide.found if guide and guide.for_verdict == verdict
             else first_sentence(outcome["summary"]))
    agreement = "as recorded" if verdict == claim.recorded else f"**recorded: {claim.recorded}**"
    lines += [f"**Verdict: {BADGES.get(verdict, verdict)}** ({agreement}; evidence: "
              f"{run['tier']} tier). {found}", ""]
    if guide:
        lines += [f"**What this means for your code.** {guide.advice}", ""]
    lines += [last_run_line(claim, entry, reports_dir, page_dir), ""]
    other = read_run(claim.id, "quick" if run["tier"] == "full" else "full", reports_dir)
    if other is not None:
        lines += [f"The {other['tier']} tier (commit `{other['provenance'].get('commit')}`) "
                  f"gave **{other['outcome']['verdict']}**.", ""]

    figures, fig_error = draw_figures(claim, run["dir"], page_dir / "_figures" / claim.id,
                                      analyses_dir)
    figures = key_figure_first(claim, figures)
    if figures:
        lines += figure_block(figures[0], page_dir)
    if fig_error:
        lines += ["```{warning}", f"Drawing the figures failed: {fig_error}", "```", ""]

    parts = outcome.get("subclaims") or []
    if parts:
        rows = [["verdict", "part", "evidence"]]
        rows += [[BADGES.get(p["verdict"], p["verdict"]), p["statement"],
                  first_sentence(p["summary"], PART_EVIDENCE_CHARS)] for p in parts]
        lines += ["## Parts of the claim", "", markdown_table(rows), ""]
        if any(first_sentence(p["summary"], PART_EVIDENCE_CHARS) != p["summary"] for p in parts):
            lines += collapsed("The evidence for each part, in full",
                               [f"- **{p['id']}** ({p['verdict']}): {p['summary']}"
                                for p in parts])
    lines += ["## Evidence", "", f"All numbers: {outcome['summary']}", ""]
    tables = outcome.get("tables") or []
    for table in tables[:OPEN_TABLES]:
        lines += evidence_table(claim.id, table, run["dir"], page_dir)
    for table in tables[OPEN_TABLES:]:
        body = evidence_table(claim.id, table, run["dir"], page_dir)
        lines += collapsed(f"Table: {table['title']}", body[2:])
    for fig in figures[1:]:
        lines += collapsed(f"Figure: {first_sentence(fig['caption'], 90)}",
                           figure_block(fig, page_dir))
    details = outcome.get("details") or {}
    outcome_link = download_link(run["dir"] / "outcome.json", page_dir)
    if details:
        pairs = flatten(details)
        rows = [["fact", "value"], *[[k, v] for k, v in pairs[:40]]]
        more = f" ({len(pairs) - 40} more in the file)" if len(pairs) > 40 else ""
        lines += collapsed("Raw details", [markdown_table(rows), "",
                                           f"All of it: {outcome_link}{more}."])
    lines += ["## Method", "", protect_math(outcome.get("method", "")), ""]
    lines += ["## Reproduce", "", reproduce_commands(claim), ""]
    lines += collapsed("Provenance", [provenance_table(run), "",
                                      f"Files: {outcome_link}, "
                                      f"{download_link(run['dir'] / 'provenance.json', page_dir)}"
                                      if (run["dir"] / "provenance.json").exists()
                                      else f"Files: {outcome_link}"])
    return "\n".join(lines)


def index_page(reports_dir: Path) -> str:
    """The overview: each claim's verdict, the reader's last local run beside it, and the
    finding in a sentence; then the run's problems, each with its reason and fix."""
    last = read_last_run(reports_dir)
    rows = [["claim", "verdict", "recorded", "your last run", "what was found"]]
    problems = []
    for claim in ALL_CLAIMS:
        run = best_run(claim.id, reports_dir)
        verdict = run["outcome"]["verdict"] if run else "pending"
        guide = GUIDES.get(claim.id)
        found = (guide.found if guide and run and guide.for_verdict == verdict
                 else first_sentence(run["outcome"]["summary"]) if run else "no data yet")
        entry = last.get(claim.id)
        state = entry.get("status", "") if entry else ""
        mine = (f"{RUN_BADGES.get(state, state)} ({entry.get('tier')})" if entry else "not run here")
        rows.append([f"[{claim.id}]({claim.id}.md)", BADGES.get(verdict, verdict),
                     claim.recorded, mine, found])
        if entry and state not in ("matched", ""):
            problems.append(f"- [{claim.id}]({claim.id}.md): "
                            + last_run_line(claim, entry, reports_dir).split(": ", 1)[-1])
    toc = "\n".join(f"{c.id}" for c in ALL_CLAIMS)
    your_run = (["## Your last run", "", "What did not match on this machine:", "", *problems, ""]
                if problems else
                ["## Your last run", "",
                 "Every claim you ran here matched its recorded verdict." if last else
                 "Nothing has been run on this machine yet: `nox -s verify` (or `rlcheck verify`) "
                 "runs the quick tier of every analysis and shows its state here.", ""])
    return "\n".join([
        "# The claims", "",
        "Each belief from the CS285 course notes, the verdict the evidence gives, and the state of "
        "your own last run (`reports/last-run.json`) beside it. Pages show the committed "
        "full-tier data when it exists, otherwise the last local quick run. The last row is the "
        "meta-analysis of the checks themselves.", "", markdown_table(rows), "", *your_run,
        "```{toctree}", ":hidden:", "", toc, "```", ""])


def generate(docs_dir: Path, reports_dir: Path = REPORTS,
             analyses_dir: Path = ANALYSES) -> list[Path]:
    """Write ``docs/claims/index.md`` and one page per claim; return the written paths."""
    claims_dir = docs_dir / "claims"
    claims_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for claim in ALL_CLAIMS:
        path = claims_dir / f"{claim.id}.md"
        path.write_text(claim_page(claim, reports_dir, docs_dir, analyses_dir))
        written.append(path)
    index = claims_dir / "index.md"
    index.write_text(index_page(reports_dir))
    written.append(index)
    return written
