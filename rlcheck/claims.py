"""The claims rlcheck exists to settle, each registered once with its recorded verdict.

A claim's evidence comes from one analysis script, ``analyses/<analysis>.py``, which follows the
contract below. ``rlcheck verify`` runs every analysis, writes ``reports/verdicts.json`` and fails
when a verdict differs from the one recorded here, so this file is also a regression test of the
project's conclusions: change a recorded verdict only with the evidence that changed it.

Analysis contract (``analyses/<analysis>.py``)::

    CLAIM_ID = "causality"                      # an id from CLAIMS

    def run(tier: Tier, out_dir: pathlib.Path) -> Outcome:
        '''Compute the evidence; write data files (CSV/JSON) into out_dir; return the outcome.'''

    def figures(data_dir: pathlib.Path, fig_dir: pathlib.Path) -> list[Figure]:   # optional
        '''Draw seaborn figures from the data files alone (never recompute), save into fig_dir.'''

    if __name__ == "__main__":
        from rlcheck.verify import analysis_main
        analysis_main(CLAIM_ID)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Verdict = Literal["confirmed", "refuted", "qualified", "pending"]
PartVerdict = Literal["confirmed", "refuted", "qualified", "pending", "not measured"]
Tier = Literal["quick", "full"]
VERDICTS: tuple[str, ...] = ("confirmed", "refuted", "qualified", "pending")
NOT_MEASURED = "not measured"
"""A part of a claim that no run here could measure (e.g. it needs a GPU): it carries no
verdict, typed-in or otherwise, and does not enter the claim's verdict."""
TIERS: tuple[str, ...] = ("quick", "full")


@dataclass(frozen=True)
class Claim:
    """A belief from the CS285 notes, its recorded verdict and the analysis that settles it."""

    id: str
    statement: str
    recorded: Verdict
    analysis: str
    issue: int


@dataclass(frozen=True)
class SubClaim:
    """One separately decided part of a claim, with the numbers that decided it."""

    id: str
    statement: str
    verdict: PartVerdict
    summary: str


@dataclass(frozen=True)
class Table:
    """A table for the report: a CSV file (relative to the analysis' ``out_dir``) and a title."""

    title: str
    csv: str
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A figure drawn by an analysis' ``figures`` function."""

    path: str
    caption: str


def save_figure(fig: Any, path: Path, caption: str, *, dpi: int = 120) -> Figure:
    """Lay out, save (cropped to its content) and close a matplotlib figure or a seaborn grid
    (``FacetGrid``, from ``relplot``/``catplot``); return the :class:`Figure` for the report.

    The figure is first made legible at the report's page width
    (:func:`rlcheck.legible.make_legible`: at most two panels a row, text >= 9 pt on screen)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure as MplFigure

    from rlcheck.atomic import atomic_path
    from rlcheck.legible import make_legible, png_metadata, reflowed_caption

    figure = fig if isinstance(fig, MplFigure) else fig.figure
    if make_legible(figure) and hasattr(fig, "_tight_layout_rect"):
        fig._tight_layout_rect = [0, 0, 1, 1]  # the grid's legend moved into an empty cell
    # a seaborn grid's own tight_layout leaves room for the legend it draws outside the axes
    fig.tight_layout()
    metadata = png_metadata(figure, dpi) if str(path).endswith(".png") else None
    with atomic_path(path) as tmp:  # complete or absent, even if interrupted
        figure.savefig(tmp, dpi=dpi, bbox_inches="tight", format=Path(path).suffix[1:] or "png",
                       metadata=metadata)
    plt.close(figure)
    return Figure(str(path), reflowed_caption(caption, figure))


@dataclass(frozen=True)
class Outcome:
    """What an analysis returns: the verdict and everything the report page needs.

    Attributes:
        verdict: the claim's verdict as measured in this run.
        summary: one line with the deciding numbers.
        method: Markdown, a few lines with the key equation (``$...$`` math is rendered).
        subclaims: the separately decided parts, if any.
        tables: CSV tables written into ``out_dir``.
        seed: the root seed of the run.
        details: extra JSON-serialisable facts (e.g. alpha, power, sample sizes).
    """

    verdict: Verdict
    summary: str
    method: str
    subclaims: tuple[SubClaim, ...] = ()
    tables: tuple[Table, ...] = ()
    seed: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_dict(self) -> dict[str, Any]:
        from rlcheck.result import to_jsonable

        return to_jsonable(asdict(self))


def combine_verdicts(parts: list[PartVerdict] | tuple[PartVerdict, ...]) -> Verdict:
    """A claim is confirmed if every decided part is, refuted if every decided part is,
    qualified otherwise; pending and not-measured parts do not count."""
    decided = [p for p in parts if p not in ("pending", NOT_MEASURED)]
    if not decided:
        return "pending"
    if all(p == "confirmed" for p in decided):
        return "confirmed"
    if all(p == "refuted" for p in decided):
        return "refuted"
    return "qualified"


CLAIMS: tuple[Claim, ...] = (
    Claim(
        id="bc-loss",
        statement=(
            "For behaviour cloning, the NLL loss -dist.log_prob(a).sum(-1).mean() beats "
            "MSE(dist.rsample(), a) (better return, fewer steps, smaller batches); mean() keeps "
            "each batch's gradient weight independent of batch size, sum() does not."
        ),
        recorded="qualified",
        analysis="bc_loss",
        issue=5,
    ),
    Claim(
        id="logprob-ranges",
        statement=(
            "Discrete probabilities lie in [0,1] and log-probs in [-inf,0]; continuous densities "
            "in [0,inf) and log-densities in (-inf,inf); a diagonal Gaussian's joint log-prob is "
            "the sum of its per-dimension log-probs."
        ),
        recorded="confirmed",
        analysis="logprob_ranges",
        issue=5,
    ),
    Claim(
        id="dagger-vs-bc",
        statement=(
            "With equal training steps and model, DAgger is slightly better than BC on Ant and "
            "about 2x better on Humanoid; with 5x more iterations (and labels) over 10x better. "
            "With equal data, Ant is similar and Humanoid is too hard for BC with 2000 samples."
        ),
        recorded="qualified",
        analysis="dagger_vs_bc",
        issue=5,
    ),
    Claim(
        id="death-state",
        statement=(
            "Discounting by gamma equals adding a death state entered with probability 1-gamma."
        ),
        recorded="qualified",
        analysis="death_state",
        issue=4,
    ),
    Claim(
        id="causality",
        statement=(
            "Reward-to-go is unbiased because past rewards contribute zero in expectation; this "
            "may need extra conditions such as centred rewards."
        ),
        recorded="qualified",
        analysis="causality",
        issue=3,
    ),
    Claim(
        id="baselines",
        statement=(
            "A baseline keeps the policy gradient unbiased if it does not depend on the action: "
            "a constant or any function of the state."
        ),
        recorded="confirmed",
        analysis="baselines",
        issue=3,
    ),
    Claim(
        id="fitted-divergence",
        statement=(
            "Fitted value/Q iteration and actor-critic carry no convergence guarantee: the "
            "Bellman backup and the regression each converge, their composition need not."
        ),
        recorded="qualified",
        analysis="fitted_divergence",
        issue=4,
    ),
    Claim(
        id="sampling-gil",
        statement=(
            "Threaded trajectory sampling ran ~3x slower than serial with CPUs at ~10%, and "
            "processes crashed under fork with CUDA, because something (gym or torch) holds the GIL."
        ),
        recorded="refuted",  # issue 12: no GIL holder, threads 0.81-1.05x; fork+CUDA not measured
        analysis="sampling_gil",
        issue=6,
    ),
)


TRUST = Claim(
    id="trust",
    statement=(
        "rlcheck's own checks catch every planted bug in the catalogue, pass every correct "
        "variant, and hold their declared false-positive rates."
    ),
    recorded="confirmed",
    analysis="trust",
    issue=7,
)
"""Not a claim from the notes: the meta-analysis of how much to trust the checks themselves."""

ALL_CLAIMS: tuple[Claim, ...] = (*CLAIMS, TRUST)
"""Everything ``verify`` runs: the claims, then :data:`TRUST`."""


def get_claim(claim_id: str) -> Claim:
    """The registered claim (or :data:`TRUST`) with this id; ``KeyError`` naming the known ids."""
    for claim in ALL_CLAIMS:
        if claim.id == claim_id:
            return claim
    known = ", ".join(c.id for c in ALL_CLAIMS)
    raise KeyError(f"unknown claim id {claim_id!r}; known: {known}")
