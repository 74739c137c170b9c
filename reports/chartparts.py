"""Building blocks of the graphs: colours and line styles, date ticks, figures."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
from babel.dates import format_date
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import TICKDOWN, MarkerStyle
from matplotlib.ticker import Formatter

from reports.model import CHILD, Rater

ImageFormat = Literal["png", "svg", "pdf"]

# Okabe & Ito (2008) colours: distinguishable with every common colour-vision deficiency.
BLACK, ORANGE, SKY, GREEN, BLUE, VERMILLION, PURPLE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)
GREY = "#6b6b6b"
BAND = "#dcdcdc"  # the reliable-change band: light enough for lines on it, visible in print
FONT = 7.5
# Layout fixed in figure fractions: tight_layout per figure costs more than the whole drawing.
LEFT, RIGHT, TOP, BOTTOM = 0.07, 0.68, 0.95, 0.09


@dataclass(frozen=True, slots=True)
class Style:
    """How one line looks; marker and dash pattern carry it in black and white too."""

    color: str
    linestyle: Any
    marker: str
    linewidth: float
    markersize: float

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for Axes.plot."""
        return {
            "color": self.color,
            "linestyle": self.linestyle,
            "linewidth": self.linewidth,
            "marker": self.marker,
            "markersize": self.markersize,
        }


# The child's line is black, solid and thickest: the strongest line in colour and in print.
CHILD_STYLE = Style(BLACK, "-", "o", 2.6, 6.0)
ADULT_STYLES = (
    Style(ORANGE, (0, (5, 2)), "s", 1.5, 5.0),
    Style(BLUE, (0, (6, 2, 1, 2)), "^", 1.5, 5.5),
    Style(GREEN, (0, (1.5, 1.5)), "D", 1.5, 4.5),
    Style(PURPLE, (0, (3, 1, 1, 1, 1, 1)), "v", 1.5, 5.5),
    Style(SKY, (0, (8, 3)), "P", 1.5, 5.5),
)
GOAL_STYLES = (
    Style(GREY, (0, (1, 1.5)), "x", 0.9, 4.0),
    Style(GREY, (0, (4, 2)), "+", 0.9, 5.0),
    Style(GREY, (0, (2, 1, 1, 1)), "1", 0.9, 5.0),
)


def rater_styles(raters: Sequence[Rater]) -> dict[str, Style]:
    """A style per participant: the child's, then adults in the case's order."""
    styles: dict[str, Style] = {}
    adults = 0
    for r in raters:
        if r.role == CHILD:
            styles[r.participant_id] = CHILD_STYLE
        else:
            styles[r.participant_id] = ADULT_STYLES[adults % len(ADULT_STYLES)]
            adults += 1
    return styles


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local calendar day."""
    return datetime.combine(day, time(0), tz)


def date_ticks(lo: datetime, hi: datetime, tz: ZoneInfo, most: int = 6) -> list[datetime]:
    """At most `most` round local dates in [lo, hi]: days, Mondays, or firsts of months.

    Computed directly because AutoDateLocator builds a dozen rrules per draw.
    """
    first, last = lo.astimezone(tz).date(), hi.astimezone(tz).date()
    for days in (1, 2, 7, 14):
        start = first + timedelta(days=1)
        if days >= 7:
            start += timedelta(days=-start.weekday() % 7)  # Mondays
        count = (last - start).days // days + 1
        if count <= most:
            return [local_midnight(start + timedelta(days=days * i), tz) for i in range(count)]
    for months in (1, 2, 3, 6, 12, 24, 60, 120):
        index = first.year * 12 + first.month  # the month after lo's, counted from year 0
        index += -index % months
        ticks: list[datetime] = []
        while True:
            year, month = divmod(index, 12)
            day = date(year, month + 1, 1)
            if day > last:
                break
            ticks.append(local_midnight(day, tz))
            index += months
        if len(ticks) <= most:
            return ticks
    return [lo, hi]


class DayFormatter(Formatter):
    """Tick labels as local dates in the reader's language ("3. nov." / "Nov 3")."""

    def __init__(self, tz: ZoneInfo, lang: str, with_year: bool) -> None:
        self.tz = tz
        self.lang = lang
        if with_year:
            self.pattern = "MMM yyyy"
        else:
            self.pattern = "d. MMM" if lang == "da" else "MMM d"

    def __call__(self, x: float, pos: int | None = None) -> str:
        # Arithmetic on the epoch instead of num2date, which vectorises one number at a time.
        day = (_EPOCH + timedelta(days=x)).astimezone(self.tz).date()
        return _day_label(day, self.pattern, self.lang)


@lru_cache(maxsize=4096)
def _day_label(day: date, pattern: str, lang: str) -> str:
    return str(format_date(day, pattern, locale=lang))


_EPOCH = datetime.fromisoformat(mdates.get_epoch()).replace(tzinfo=UTC)  # type: ignore[no-untyped-call]


def num(at: datetime) -> float:
    """matplotlib's date number of an aware datetime, without the units machinery.

    Plotting plain floats skips the date converter on every line (a tenth of the graph).
    """
    return (at - _EPOCH).total_seconds() / 86400.0


def nums(ats: Sequence[datetime]) -> list[float]:
    """num() of each datetime."""
    return [(at - _EPOCH).total_seconds() / 86400.0 for at in ats]


def set_date_axis(
    axes: Sequence[Axes], lo: datetime, hi: datetime, tz: ZoneInfo, lang: str
) -> None:
    """Same x range and date ticks on every axes; labels only on the last one.

    The ticks are plain artists in place of the x axis's own: its tick machinery (ticks of
    five artists each, label boxes measured on every draw) cost a tenth of a PNG graph. They
    look as matplotlib's ticks do by default, marks pointing out below the axes.
    """
    positions = nums(date_ticks(lo, hi, tz))
    label = DayFormatter(tz, lang, (hi - lo).days > 400)
    size, width = rcParams["xtick.major.size"], rcParams["xtick.major.width"]
    color = rcParams["xtick.color"]
    for i, ax in enumerate(axes):
        ax.set_xlim(num(lo), num(hi))
        ax.xaxis.set_visible(False)
        ax.add_artist(
            Line2D(
                positions,
                [0.0] * len(positions),
                transform=ax.get_xaxis_transform(),
                linestyle="none",
                marker=MarkerStyle(TICKDOWN),
                markersize=size,
                markeredgewidth=width,
                color=color,
                markeredgecolor=color,
                clip_on=False,
                gid=f"date-ticks-{i}",
            )
        )
    last = axes[-1]
    place = last.get_xaxis_text1_transform(size + rcParams["xtick.major.pad"])[0]
    for x in positions:
        last.text(
            x, 0, label(x), transform=place, ha="center", va="top", fontsize=FONT, color=color
        )


_recycled = threading.local()


def add_progress_axes(
    fig: Figure,
    left: float = LEFT,
    bottom: float = BOTTOM,
    right: float = RIGHT,
    top: float = TOP,
) -> tuple[Axes, Axes]:
    """The outcome axes above the session axes, inside the given figure fractions."""
    grid = fig.add_gridspec(
        2, 1, height_ratios=(3, 1), left=left, right=right, top=top, bottom=bottom, hspace=0.1
    )
    ax = fig.add_subplot(grid[0])
    axs = fig.add_subplot(grid[1])
    ax.set_gid("outcome-axes")
    axs.set_gid("session-axes")
    for a in (ax, axs):
        a.tick_params(labelsize=FONT)
    ax.set_ylim(0, 41)
    ax.set_yticks([0, 10, 20, 30, 40])
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    return ax, axs


def new_figure(size: tuple[float, float], dpi: float) -> tuple[Figure, Axes, Axes]:
    """A figure with the outcome and session axes (no pyplot, its own Agg canvas)."""
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    ax, axs = add_progress_axes(fig)
    return fig, ax, axs


def recycled_figure(size: tuple[float, float], dpi: float) -> tuple[Figure, Axes, Axes]:
    """This thread's figure for rasterising, emptied of the previous graph's artists.

    Creating two Axes with their ticks is about a third of a PNG's cost; one figure per
    thread keeps that out of the loop and stays thread-safe. Only for output made at once.
    """
    cache: dict[tuple[tuple[float, float], float], tuple[Figure, Axes, Axes]]
    cache = _recycled.__dict__.setdefault("figures", {})
    found = cache.get((size, dpi))
    if found is None:
        found = cache[(size, dpi)] = new_figure(size, dpi)
        return found
    fig, ax, axs = found
    for a in (ax, axs):
        for artist in (*a.lines, *a.collections, *a.texts, *a.patches, *a.artists):
            artist.remove()
        a.set_title("")
    for artist in (*fig.texts, *fig.artists, *fig.legends):
        artist.remove()
    return found


def add_line(ax: Axes, xs: Sequence[float], ys: Sequence[float], **props: Any) -> Line2D:
    """A line in data coordinates without Axes.plot's argument parsing and autoscaling.

    The graphs set their limits themselves, and plot() costs several times a bare Line2D.
    """
    line = Line2D(xs, ys, **props)
    ax.add_artist(line)
    return line


def figure_bytes(fig: Figure, fmt: ImageFormat = "png") -> bytes:
    """A figure as PNG, SVG or PDF bytes (no timestamps, so equal input gives equal output)."""
    buf = io.BytesIO()
    if fmt == "png":
        # Level 3 is half the time of Pillow's default 6 and no bigger for these flat colours;
        # no Software entry, so the bytes do not change with matplotlib's version alone.
        fig.savefig(
            buf, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 3}
        )
    elif fmt == "svg":
        fig.savefig(buf, format="svg", metadata={"Date": None})
    elif fmt == "pdf":
        fig.savefig(buf, format="pdf", metadata={"CreationDate": None})
    else:
        raise ValueError(f"unknown image format {fmt!r}; use png, svg or pdf")
    return buf.getvalue()
