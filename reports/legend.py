"""The graphs' legend: matplotlib's own Legend, one column right of the axes, dashes kept."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

from matplotlib import rcParams
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.legend_handler import HandlerBase, HandlerLine2D
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from reports.chartparts import BAND, FONT, RIGHT, TOP

# Row pitch 1.55 x the font size (a row of text is about 1.15 of it), the handle 5 % and the
# gap to the text 1.5 % of the figure's width: the layout the graphs have always had.
_LABELSPACING = 0.425
_HANDLE, _GAP = 0.05, 0.015
_BAND_HEIGHT = 0.93  # the band's swatch: 0.6 of a row, in font sizes


class Row(NamedTuple):
    """One legend entry: its text, the line it names and the linestyle that line was made with.

    `line` None is the reliable-change band. The linestyle is passed along because Line2D has
    no public getter for a dash pattern (get_linestyle() says "--" for every one).
    """

    label: str
    line: Line2D | None
    linestyle: Any = "-"


def _cycle_at_marker(linestyle: Any, half: float, linewidth: float) -> Any:
    """A dash pattern shifted to begin a cycle in the middle of a handle `half` pt long.

    The marker in a handle's middle hides what falls there: begun at the handle's end,
    parent 2's dash-dot put its dot under the triangle and read as plain dashes. Begun at
    the marker, a cycle's end shows on the left and its start on the right, dot included.
    """
    if not isinstance(linestyle, tuple):
        return linestyle
    _, dashes = linestyle
    scale = linewidth if rcParams["lines.scale_dashes"] else 1.0
    if scale <= 0 or sum(dashes) <= 0:
        return linestyle
    # matplotlib scales the offset with the width as it does the dashes: in unscaled points.
    return ((-half / scale) % sum(dashes), dashes)


def _copy_line(legend_line: Line2D, line: Line2D, *, linestyle: Any) -> None:
    # What HandlerLine2D does by default (copy the line's look), then the shifted dashes.
    legend_line.update_from(line)
    legend_line.set_linestyle(linestyle)


def draw_legend(
    fig: Figure, rows: Sequence[Row], x0: float = RIGHT + 0.045, top: float = TOP
) -> Legend:
    """A legend with its upper left corner at (x0, top) in figure fractions.

    Texts get gid legend-i and handles legend-handle-i, so an SVG names each row.
    """
    points_wide = fig.get_figwidth() * 72
    handles: list[Artist] = []
    handler_map: dict[Any, HandlerBase] = {}
    for row in rows:
        if row.line is None:
            handles.append(Rectangle((0, 0), 1, 1, facecolor=BAND, linewidth=0))
            continue
        handles.append(row.line)
        half = _HANDLE * points_wide / 2  # points from the handle's end to its marker
        shifted = _cycle_at_marker(row.linestyle, half, row.line.get_linewidth())
        handler_map[row.line] = HandlerLine2D(update_func=partial(_copy_line, linestyle=shifted))
    legend = fig.legend(
        handles,
        [row.label for row in rows],
        loc="upper left",
        bbox_to_anchor=(x0, top),
        frameon=False,
        fontsize=FONT,
        numpoints=1,
        handlelength=_HANDLE * points_wide / FONT,
        handletextpad=_GAP * points_wide / FONT,
        handleheight=_BAND_HEIGHT,
        labelspacing=_LABELSPACING,
        borderpad=_LABELSPACING / 2,  # half a gap above the first row, as between rows
        borderaxespad=0,
        handler_map=handler_map,
    )
    legend.set_gid("legend")
    pairs = zip(legend.get_texts(), legend.legend_handles, strict=True)
    for i, (text, handle) in enumerate(pairs):
        text.set_gid(f"legend-{i}")
        if handle is not None:
            handle.set_gid(f"legend-handle-{i}")
    return legend
