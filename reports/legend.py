"""The graphs' legend: one column of plain lines and texts; in PNGs its pixels are reused."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from matplotlib import rcParams
from matplotlib.artist import Artist
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from reports.chartparts import BAND, FONT, RIGHT, TOP

# A legend changes with the case's raters, goals, alerts and language only, so graphs repeat a
# few dozen legends; drawing one (22 artists) costs a sixth of a graph, copying it nothing.
# Kept per thread like the frame (reports.backdrop); a legend is some 100 kB of pixels.
_KEEP = 48
_PAD = 3  # pixels around the artists' boxes: antialiasing reaches a pixel past them
_local = threading.local()


def _linestyle(line: Line2D) -> Any:
    """The line's style as set: a name, or (offset, on-off sequence) for a dash pattern."""
    style = line.get_linestyle()
    if style != "--":
        return style
    # get_linestyle() says "--" for every dash pattern, and the lines tell each other apart in
    # black and white by theirs. The pattern as set is kept only in this private attribute,
    # which Line2D.update_from (so matplotlib's own legend) copies too; were it ever renamed,
    # graphs still draw, with plain dashes, and test_legend_shows_the_dash_pattern_... fails.
    offset, dashes = getattr(line, "_unscaled_dash_pattern", (0, None))
    return style if dashes is None else (offset, tuple(dashes))


def _handle_look(handle: Line2D) -> tuple[tuple[str, Any], ...]:
    # What the legend copies from the line it names; also the handle's part of the cache key,
    # so a legend's pixels are reused only for lines of the same dash pattern too.
    return (
        ("color", handle.get_color()),
        ("linestyle", _linestyle(handle)),
        ("linewidth", handle.get_linewidth()),
        ("marker", handle.get_marker()),
        ("markersize", handle.get_markersize()),
        ("markerfacecolor", handle.get_markerfacecolor()),
        ("markeredgecolor", handle.get_markeredgecolor()),
        ("markeredgewidth", handle.get_markeredgewidth()),
    )


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


class ColumnLegend(Artist):
    """Entries (label, a Line2D to copy or "band") one per row from (x0, top) in the figure.

    matplotlib's Legend lays out offset boxes on every draw and costs about a third of the
    graph. The rows are made on first use as a Line2D or Rectangle with gid legend-handle-i
    and a Text with gid legend-i (the SVG tests read them). An Agg renderer gets a legend it
    has drawn before as a copy of those pixels: the legend must stand on the plain figure.
    """

    zorder = 3

    def __init__(self, entries: Sequence[tuple[str, Any]], x0: float, top: float) -> None:
        super().__init__()
        self._rows = tuple(
            (label, _handle_look(handle) if isinstance(handle, Line2D) else None)
            for label, handle in entries
        )
        self._x0, self._top = x0, top
        self._children: list[Artist] | None = None

    def _make_children(self, fig: Figure) -> list[Artist]:
        x0 = self._x0
        step = 1.55 * FONT / 72 / fig.get_figheight()
        y = self._top - step / 2
        handles: list[Artist] = []
        texts: list[Artist] = []
        half = 0.025 * fig.get_figwidth() * 72  # points from a handle's end to its marker
        for i, (label, look) in enumerate(self._rows):
            if look is not None:
                props = dict(look)
                props["linestyle"] = _cycle_at_marker(props["linestyle"], half, props["linewidth"])
                handle: Artist = Line2D(
                    [x0, x0 + 0.025, x0 + 0.05],
                    [y] * 3,
                    transform=fig.transFigure,
                    markevery=[1],
                    gid=f"legend-handle-{i}",
                    **props,
                )
            else:
                handle = Rectangle(
                    (x0, y - step * 0.3),
                    0.05,
                    step * 0.6,
                    transform=fig.transFigure,
                    facecolor=BAND,
                    linewidth=0,
                    gid=f"legend-handle-{i}",
                )
            text = Text(
                x0 + 0.065,
                y,
                label,
                fontsize=FONT,
                va="center",
                gid=f"legend-{i}",
                transform=fig.transSubfigure,
            )
            handles.append(handle)
            texts.append(text)
            y -= step
        children = handles + texts  # handles first, as they were drawn by zorder before
        for child in children:
            child.set_figure(fig)
        return children

    def get_children(self) -> list[Artist]:
        """The handles, then the texts (made on first use)."""
        if self._children is None:
            fig = self.get_figure(root=False)
            assert isinstance(fig, Figure), "add the legend to a figure first"
            self._children = self._make_children(fig)
        return self._children

    def _key(self, renderer: RendererAgg) -> tuple[Any, ...]:
        fig = self.get_figure(root=True)
        assert fig is not None
        size = (renderer.width, renderer.height, renderer.dpi)
        return (size, fig.get_facecolor(), self._x0, self._top, FONT, self._rows)

    def draw(self, renderer: RendererBase) -> None:
        """Draw the rows, or on Agg copy the pixels of the same legend drawn before."""
        if not self.get_visible():
            return
        if isinstance(renderer, RendererAgg):
            self._draw_agg(renderer)
        else:
            self._draw_rows(renderer)
        self.stale = False

    def _draw_rows(self, renderer: RendererBase) -> list[Artist]:
        renderer.open_group("legend", gid=self.get_gid())
        children = self.get_children()
        for child in children:
            child.draw(renderer)
        renderer.close_group("legend")
        return children

    def _draw_agg(self, renderer: RendererAgg) -> None:
        cache: OrderedDict[tuple[Any, ...], Any]
        cache = _local.__dict__.setdefault("legends", OrderedDict())
        key = self._key(renderer)
        region = cache.get(key)
        if region is not None:
            cache.move_to_end(key)
            renderer.restore_region(region)  # type: ignore[no-untyped-call]
            return
        box = Bbox.union([c.get_window_extent(renderer) for c in self._draw_rows(renderer)])
        box = Bbox.from_extents(
            max(0, int(box.x0) - _PAD),
            max(0, int(box.y0) - _PAD),
            min(renderer.width, int(box.x1) + 1 + _PAD),
            min(renderer.height, int(box.y1) + 1 + _PAD),
        )
        cache[key] = renderer.copy_from_bbox(box)
        while len(cache) > _KEEP:
            cache.popitem(last=False)


def draw_legend(
    fig: Figure, entries: Sequence[tuple[str, Any]], x0: float = RIGHT + 0.045, top: float = TOP
) -> None:
    """A legend right of the axes: see ColumnLegend."""
    fig.add_artist(ColumnLegend(entries, x0, top))
