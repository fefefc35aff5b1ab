"""Make a report figure legible at page width: at most two panels a row, text >= 9 pt on screen.

The report shows figures at the width of its text column, about ``PAGE_WIDTH_PX = 700`` pixels.
A figure ``W`` inches wide is scaled by ``700 / (W * dpi)``, so a font of ``f`` points, drawn at
``f * dpi / 72`` pixels, appears ``f * 700 / (72 W)`` pixels tall: it reads as at least
``MIN_TEXT_PX = 12`` pixels (9 pt at 96 dpi) when ``f >= 12 * 72 W / 700 ~= 1.23 W``.
:func:`make_legible` re-flows a grid of panels wider than two columns into rows of two (a
``1 x 3`` strip becomes ``2 x 2`` with one cell empty), narrows the figure to
``PANEL_WIDTH_IN`` inches a column, wraps long titles, and raises every smaller font to that
bound. :func:`smallest_text_px` measures the result.
"""

from __future__ import annotations

import textwrap
from typing import Any

PAGE_WIDTH_PX = 700
"""Width at which the report shows a figure (the text column of the theme at 1400 px)."""

MIN_TEXT_PX = 12.0
"""Smallest on-screen text height, in CSS pixels: 9 pt at 96 dpi."""

MAX_COLUMNS = 2
"""Panels per row after re-flowing."""

PANEL_WIDTH_IN = 4.6
"""Width of one column of panels after re-flowing, in inches."""


def min_font_pt(width_in: float) -> float:
    """The smallest font (points) that reads as ``MIN_TEXT_PX`` when the figure is ``PAGE_WIDTH_PX``
    wide: ``f = MIN_TEXT_PX * 72 * W / PAGE_WIDTH_PX``."""
    if not width_in > 0:
        raise ValueError(f"width_in must be positive, got {width_in!r}")
    return MIN_TEXT_PX * 72.0 * width_in / PAGE_WIDTH_PX


def _grid_axes(figure: Any) -> list[Any]:
    """The axes of ``figure`` placed on one subplot grid (colorbars and insets excluded)."""
    return [ax for ax in figure.axes if ax.get_subplotspec() is not None]


def reflow(figure: Any, max_columns: int = MAX_COLUMNS, panel_width_in: float = PANEL_WIDTH_IN
           ) -> bool:
    """Re-place the panels of a grid wider than ``max_columns`` into rows of ``max_columns``.

    Each column of a re-flowed grid becomes ``panel_width_in`` wide and keeps its aspect; a grid
    of at most ``max_columns`` columns keeps its height and is narrowed to at most
    ``max_columns * panel_width_in``. Figures whose axes are not all on one regular
    grid (spanning cells, insets) are left as they are. A figure legend moves into the empty
    cell a re-flow leaves, and a suptitle keeps its distance above the panels. Returns whether
    the figure legend moved (its room at the right is then no longer needed).
    """
    axes = _grid_axes(figure)
    if not axes or len(axes) != len(figure.axes):
        return False
    grid = axes[0].get_subplotspec().get_gridspec()
    rows, cols = grid.get_geometry()
    if any(ax.get_subplotspec().get_gridspec() is not grid for ax in axes):
        return False
    if any(ax.get_subplotspec().num1 != ax.get_subplotspec().num2 for ax in axes):
        return False
    width, height = figure.get_size_inches()
    panel_height = height / rows
    if cols <= max_columns:
        # no wider than a full row of panels, same height: the text then needs a smaller font
        if width > panel_width_in * max_columns:
            figure.set_size_inches(panel_width_in * max_columns, height)
        return False
    visible = [ax for ax in sorted(axes, key=lambda a: a.get_subplotspec().num1) if ax.axison
               or ax.has_data()]
    for ax in axes:
        if ax not in visible:
            figure.delaxes(ax)
    new_rows = -(-len(visible) // max_columns)
    new_grid = figure.add_gridspec(new_rows, max_columns)
    for i, ax in enumerate(visible):
        ax.set_subplotspec(new_grid[i // max_columns, i % max_columns])
    figure.rlcheck_reflowed = (rows, cols, len(visible))  # read by reflowed_caption
    scale = panel_width_in / (width / cols)
    new_height = panel_height * scale * new_rows
    figure.set_size_inches(panel_width_in * max_columns, new_height)
    title = getattr(figure, "_suptitle", None)
    if title is not None and title.get_position()[1] > 1:  # placed above the panels
        title.set_y(1 + (title.get_position()[1] - 1) * height / new_height)
    empty = new_rows * max_columns - len(visible)
    if empty and figure.legends:
        # an empty axes holds the cell, so the legend follows it through tight_layout
        holder = figure.add_subplot(new_grid[new_rows - 1, max_columns - 1])
        holder.set_axis_off()
        for legend in figure.legends:
            legend.set_loc("center")
            legend.set_bbox_to_anchor((0.5, 0.5), transform=holder.transAxes)
        return True
    return False


def enlarge_text(figure: Any, margin: float = 1.15) -> float:
    """Raise every visible text of ``figure`` to :func:`min_font_pt` of ``margin`` times its width
    (room for a legend drawn outside the axes) and wrap long axes titles; return the bound (pt)."""
    from matplotlib.text import Text

    width_in = float(figure.get_size_inches()[0])
    bound = min_font_pt(width_in * margin)
    for ax in figure.axes:
        title = ax.title
        text = title.get_text()
        panel_in = ax.get_position().width * width_in
        chars = max(12, int(panel_in * 72 / (0.55 * max(bound, title.get_fontsize()))))
        if len(text) > chars:
            title.set_text(textwrap.fill(text, chars))
    for ax in figure.axes:  # tick labels are re-created at draw time from the tick parameters
        for axis, which in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            for major in (True, False):
                labels = axis.get_ticklabels(minor=not major)
                size = max([bound, *(t.get_fontsize() for t in labels)])
                ax.tick_params(axis=which, which="major" if major else "minor", labelsize=size)
    for text in figure.findobj(Text):
        if text.get_visible() and text.get_text() and text.get_fontsize() < bound:
            text.set_fontsize(bound)
    return bound


def smallest_font_pt(figure: Any) -> float:
    """The size (points) of the smallest visible text of ``figure`` (``inf`` without text)."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_visible() and t.get_text()]
    return float(min(sizes, default=float("inf")))


def smallest_text_px(figure: Any, page_width_px: float = PAGE_WIDTH_PX) -> float:
    """On-screen height (CSS px) of the smallest visible text when ``figure`` is shown
    ``page_width_px`` wide: ``min f * page_width_px / (72 W)``."""
    width_in = float(figure.get_size_inches()[0])
    return smallest_font_pt(figure) * page_width_px / (72.0 * width_in)


TEXT_PX_KEY = "rlcheck-smallest-text-px"
"""PNG text field holding the smallest text's height in the image's own pixels
(``f * dpi / 72``); shown ``w`` px wide, an image of natural width ``W`` px scales it by
``w / W`` (``tests/test_browser.py`` checks the result against ``MIN_TEXT_PX``)."""


def png_metadata(figure: Any, dpi: float) -> dict[str, str]:
    """The PNG text fields :func:`rlcheck.claims.save_figure` writes: :data:`TEXT_PX_KEY`
    (measured after drawing, when every tick label exists)."""
    figure.canvas.draw()
    return {TEXT_PX_KEY: f"{smallest_font_pt(figure) * dpi / 72.0:.2f}"}


MOVED_POSITIONS: dict[tuple[int, int, int], dict[str, str]] = {
    (1, 3, 3): {"Left:": "Top left:", "Middle:": "Top right:", "Right:": "Bottom:"},
    (2, 3, 6): {"Top:": "First three panels:", "Bottom:": "Last three panels:"},
}
"""Where the panels of a re-flowed grid (rows, columns, panels) end up, as a caption names
them."""


def reflowed_caption(caption: str, figure: Any) -> str:
    """``caption`` with the panel positions it names ("Left:", "Middle:", "Right:" of a 1 x 3
    strip; "Top:", "Bottom:" of a 2 x 3 grid) renamed for the grid :func:`reflow` made of
    it; unchanged when the figure was not re-flowed."""
    moved = MOVED_POSITIONS.get(getattr(figure, "rlcheck_reflowed", None) or (0, 0, 0))
    if not moved:
        return caption
    import re

    pattern = "|".join(re.escape(name) for name in moved)
    return re.sub(rf"\b({pattern})", lambda m: moved[m.group(0)], caption)


def make_legible(figure: Any) -> bool:
    """:func:`reflow` then :func:`enlarge_text`; return whether a figure legend moved into an
    empty cell (see :func:`reflow`)."""
    moved = reflow(figure)
    enlarge_text(figure)
    return moved
