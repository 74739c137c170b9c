"""Agg drawing that copies a figure's unchanging frame (backgrounds, y axes) from a cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# The y axes cost about a third of a graph (tick layout, the label placed against the tick
# labels), yet take only a handful of states: three session ranges, two languages. Their pixels
# are kept per thread; a region is plain pixels, but keeping it per thread needs no lock.
_KEEP = 8  # frames per thread, about a megabyte each at the graph's size
_local = threading.local()


def frame_key(fig: Figure) -> tuple[Any, ...]:
    """What the frame's pixels depend on: size, colours, axes boxes, y ranges, ticks, labels."""
    axes = []
    for ax in fig.axes:
        ticks = list(ax.get_yticks())
        axes.append(
            (
                ax.get_position().bounds,
                ax.get_facecolor(),
                ax.get_ylim(),
                ax.get_yscale(),
                tuple(ticks),
                tuple(ax.yaxis.get_major_formatter().format_ticks(ticks)),
                repr(sorted(ax.yaxis.get_tick_params().items())),
                ax.get_ylabel(),
                ax.yaxis.label.get_fontsize(),
                ax.yaxis.get_label_position(),
                ax.yaxis.get_visible(),
            )
        )
    return (fig.bbox.width, fig.bbox.height, fig.dpi, fig.get_facecolor(), tuple(axes))


def frame_artists(fig: Figure) -> list[Artist]:
    """The frame: the figure's background, and each axes' background and y axis."""
    found: list[Artist] = [fig.patch]
    for ax in fig.axes:
        found += [ax.patch, ax.yaxis]
    return found


@contextmanager
def hidden(artists: Sequence[Artist]) -> Iterator[None]:
    """The artists invisible for the block, then each one as visible as it was."""
    was = [a.get_visible() for a in artists]
    for a in artists:
        a.set_visible(False)
    try:
        yield
    finally:
        for a, visible in zip(artists, was, strict=True):
            a.set_visible(visible)


def _not_frame(fig: Figure, frame: Sequence[Artist]) -> list[Artist]:
    keep = {id(a) for a in frame}
    rest = [a for a in fig.get_children() if id(a) not in keep and a not in fig.axes]
    for ax in fig.axes:
        rest += [a for a in ax.get_children() if id(a) not in keep]
    return rest


def draw_over_backdrop(canvas: FigureCanvasAgg) -> None:
    """Draw the figure as canvas.draw() does, its frame copied from this thread's cache.

    The frame is drawn first, so the y grid lies under every other artist, not only those of
    zorder 1.5 and up: for a light grid that is a pixel or two where a line crosses it.
    """
    fig = canvas.figure
    frame = frame_artists(fig)
    cache: OrderedDict[tuple[Any, ...], Any]
    cache = _local.__dict__.setdefault("frames", OrderedDict())
    key = frame_key(fig)
    region = cache.get(key)
    if region is None:
        with hidden(_not_frame(fig, frame)):
            canvas.draw()  # type: ignore[no-untyped-call]
        region = cache[key] = canvas.copy_from_bbox(fig.bbox)  # type: ignore[no-untyped-call]
        while len(cache) > _KEEP:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    renderer.restore_region(region)
    with hidden(frame):
        fig.draw(renderer)
