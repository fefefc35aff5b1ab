"""Figures re-flowed for the report's page width: at most two panels a row, text >= 9 pt."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from PIL import Image

from rlcheck import legible
from rlcheck.claims import save_figure


def wide_strip() -> plt.Figure:
    """A 1 x 3 strip 16 inches wide with 10 pt text: ~6 px text when shown 700 px wide."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for i, ax in enumerate(axes):
        ax.plot([0, 1], [0, i])
        ax.set(title=f"a rather long panel title number {i}", xlabel="x", ylabel="y")
    return fig


def test_a_wide_strip_is_illegible_before_and_legible_after() -> None:
    fig = wide_strip()
    assert legible.smallest_text_px(fig) < 8
    legible.make_legible(fig)
    assert legible.smallest_text_px(fig) >= legible.MIN_TEXT_PX
    grid = fig.axes[0].get_subplotspec().get_gridspec()
    assert grid.get_geometry() == (2, legible.MAX_COLUMNS)
    assert fig.get_size_inches()[0] == pytest.approx(legible.MAX_COLUMNS * legible.PANEL_WIDTH_IN)
    plt.close(fig)


def test_min_font_is_the_stated_equation() -> None:
    # f = 12 px * 72 / 700 px * W: a 7-inch figure needs 8.64 pt
    assert legible.min_font_pt(7.0) == pytest.approx(12 * 72 * 7 / 700)
    with pytest.raises(ValueError, match="width_in"):
        legible.min_font_pt(0)


def test_save_figure_records_its_smallest_text(tmp_path: Path) -> None:
    save_figure(wide_strip(), tmp_path / "f.png", "caption", dpi=100)
    with Image.open(tmp_path / "f.png") as image:
        saved_px = float(image.text[legible.TEXT_PX_KEY])
        natural = image.width
    # shown at the page width, the smallest text reads as at least MIN_TEXT_PX
    assert saved_px * legible.PAGE_WIDTH_PX / natural >= legible.MIN_TEXT_PX * 0.95


def test_a_reflowed_strip_renames_its_panel_positions(tmp_path: Path) -> None:
    drawn = save_figure(wide_strip(), tmp_path / "f.png", "Left: a. Middle: b. Right: c.")
    assert drawn.caption == "Top left: a. Top right: b. Bottom: c."
    fig, _ = plt.subplots(figsize=(6, 4))
    assert save_figure(fig, tmp_path / "g.png", "Left: a.").caption == "Left: a."
