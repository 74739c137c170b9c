"""The progression graph of one case: outcome totals per rater over time, and sessions below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reports.alerts import SESSION_DROP, SESSION_LOW, evaluate
from reports.chartparts import (
    ADULT_STYLES,
    BAND,
    BLACK,
    CHILD_STYLE,
    FONT,
    GOAL_STYLES,
    GREY,
    VERMILLION,
    ImageFormat,
    Style,
    add_line,
    figure_bytes,
    local_midnight,
    new_figure,
    num,
    nums,
    rater_styles,
    recycled_figure,
    set_date_axis,
)
from reports.i18n import Texts, rater_labels, texts
from reports.legend import Row, draw_legend
from reports.model import CHILD, Alert, CaseData, Rating
from reports.rules import DEFAULT_RULES, ScoringRules
from reports.scoring import band_on, case_ratings, series

SIZE = (7.5, 4.4)  # inches; at 90 dpi 675 x 396 px, fits an e-mail column
DPI = 90


def x_range(case: CaseData, ratings: Sequence[Rating], tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The period shown: the case's period widened to every rating, at least a week."""
    lo = local_midnight(case.period[0], tz)
    hi = local_midnight(case.period[1], tz) + timedelta(days=1)
    if ratings:
        lo = min(lo, ratings[0].answered_at - timedelta(days=1))
        hi = max(hi, ratings[-1].answered_at + timedelta(days=1))
    if hi - lo < timedelta(days=7):
        # Too short a range gives useless ticks (and identical limits a warning).
        mid = lo + (hi - lo) / 2
        lo, hi = mid - timedelta(days=3.5), mid + timedelta(days=3.5)
    return lo, hi


def cutoff_steps(
    birth: date, lo: datetime, hi: datetime, rules: ScoringRules
) -> tuple[list[datetime], list[float]]:
    """The cutoff as a step line: it changes on the birthday that enters a new band."""
    xs, ys = [lo], [band_on(birth, lo, rules).cutoff]
    for band in rules.age_bands:
        try:
            birthday = birth.replace(year=birth.year + band.min_age)
        except ValueError:  # born 29 February: the birthday is 1 March in a common year
            birthday = date(birth.year + band.min_age, 3, 1)
        at = local_midnight(birthday, rules.tz)
        if lo < at < hi:
            xs.append(at)
            ys.append(band.cutoff)
    xs.append(hi)
    ys.append(ys[-1])
    return xs, ys


def _totals(ratings: Sequence[Rating]) -> list[float]:
    # series() keeps scored ratings only; the float() makes that visible to the type checker.
    return [float(r.total) for r in ratings if r.total is not None]


def _plot_raters(
    ax: Axes,
    by_rater: dict[str, list[Rating]],
    order: Sequence[str],
    styles: dict[str, Style],
    labels: dict[str, str],
    gid: str = "rater",
) -> list[Row]:
    entries: list[Row] = []
    for pid in order:
        rs = by_rater.get(pid)
        if not rs:
            continue
        st = styles.get(pid, ADULT_STYLES[-1])
        line = add_line(
            ax,
            nums([r.answered_at for r in rs]),
            _totals(rs),
            zorder=4 if st is CHILD_STYLE else 3,
            gid=f"{gid}-{pid}",  # SVG ids must be unique: one prefix per panel
            **st.kwargs(),
        )
        entries.append(Row(labels.get(pid, pid), line, st.linestyle))
        partial = [r for r in rs if r.partial]
        if partial:
            # Hollow markers: this total was prorated from a partly answered survey.
            add_line(
                ax,
                nums([r.answered_at for r in partial]),
                _totals(partial),
                linestyle="none",
                marker=st.marker,
                markersize=st.markersize,
                markerfacecolor="white",
                markeredgecolor=st.color,
                zorder=5,
            )
    return entries


def _plot_goals(ax: Axes, ratings: Sequence[Rating], case: CaseData, t: Texts) -> list[Row]:
    points: dict[str, list[tuple[datetime, float]]] = {}
    for rs in series(ratings, "goal").values():
        for r in rs:
            for item, score in r.items.items():
                if score is not None:
                    points.setdefault(item, []).append((r.answered_at, score))
    positions = {g.goal_id: g.position for g in case.goals}
    ordered = sorted(points, key=lambda item: (positions.get(item, 99), item))
    entries: list[Row] = []
    for i, item in enumerate(ordered):
        pts = sorted(points[item])
        style = GOAL_STYLES[i % len(GOAL_STYLES)]
        line = add_line(
            ax,
            nums([p[0] for p in pts]),
            # Goals are rated 0-10: drawn on the 0-40 axis times four, read at the right edge.
            [p[1] * 4 for p in pts],
            zorder=2,
            gid=f"goal-{i + 1}",
            **style.kwargs(),
        )
        label = t("Goal %(n)d (0–10, right)", n=positions.get(item, i + 1))
        entries.append(Row(label, line, style.linestyle))
    if entries:
        # The goals' scale as three labels: a secondary axis would cost a whole Axes.
        for v in (0, 5, 10):
            ax.text(
                1.012,
                v * 4 / 41,
                str(v),
                transform=ax.transAxes,
                fontsize=FONT,
                va="center",
                color=GREY,
            )
    return entries


def _plot_alerts(ax: Axes, axs: Axes, alerts: Sequence[Alert], t: Texts) -> list[Row]:
    session = [a for a in alerts if a.rule in (SESSION_LOW, SESSION_DROP)]
    other = [a for a in alerts if a.rule not in (SESSION_LOW, SESSION_DROP)]
    entries: list[Row] = []
    if other:
        line = add_line(
            ax,
            nums([a.raised_at for a in other]),
            [39.5] * len(other),
            linestyle="none",
            marker="v",
            markersize=7,
            color=VERMILLION,
            markeredgecolor=BLACK,
            markeredgewidth=0.6,
            gid="alerts",
            zorder=6,
        )
        entries.append(Row(t("Alert"), line, "none"))
    if session:
        line = add_line(
            axs,
            nums([a.raised_at for a in session]),
            [a.value or 0 for a in session],
            linestyle="none",
            marker="o",
            markersize=10,
            markerfacecolor="none",
            markeredgecolor=VERMILLION,
            markeredgewidth=1.4,
            gid="session-alerts",
            zorder=6,
        )
        entries.append(Row(t("Session alert"), line, "none"))
    return entries


def draw_progress(
    fig: Figure,
    ax: Axes,
    axs: Axes,
    case: CaseData,
    *,
    rules: ScoringRules,
    t: Texts,
    alerts: Sequence[Alert],
    ratings: Sequence[Rating],
    title: str | None = None,
    legend_at: tuple[float, float] | None = None,
) -> None:
    """Draw one case on the outcome axes `ax` and the session axes `axs` of `fig`.

    The legend goes at `legend_at` (figure fractions: left, top), by default right of the axes.
    """
    labels = rater_labels(case.raters, t)
    styles = rater_styles(case.raters)
    outcome = series(ratings, "outcome")
    sessions = series(ratings, "session")
    order = [r.participant_id for r in case.raters if r.role == CHILD]
    order += [r.participant_id for r in case.raters if r.role != CHILD]
    order += [pid for pid in [*outcome, *sessions] if pid not in order]
    lo, hi = x_range(case, ratings, rules.tz)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    entries: list[Row] = []

    xs, ys = cutoff_steps(case.child_birth_date, lo, hi, rules)
    cut_style = (0, (6, 3))
    cut = add_line(
        ax,
        nums(xs),
        ys,
        drawstyle="steps-post",
        color=GREY,
        linestyle=cut_style,
        linewidth=1.2,
        gid="cutoff",
        zorder=1,
    )
    # When the child enters a new band during the period, the label shows both cutoffs.
    values = " → ".join(dict.fromkeys(t.num(y) for y in ys))
    entries.append(Row(t("Clinical cutoff (%(value)s)", value=values), cut, cut_style))
    child = next(
        (outcome[p] for p in order if p in outcome and outcome[p][0].rater_role == CHILD), None
    )
    if child:
        first = child[0]
        assert first.total is not None
        rc = band_on(case.child_birth_date, first.answered_at, rules).reliable_change
        start = num(first.answered_at)
        ax.add_patch(
            Rectangle(
                (start, first.total - rc),
                num(hi) - start,
                2 * rc,
                facecolor=BAND,
                linewidth=0,
                zorder=0,
                gid="reliable-band",
            )
        )
        entries.append(Row(t("Reliable change ±%(rc)s", rc=t.num(rc)), None))
    entries += _plot_raters(ax, outcome, order, styles, labels)
    entries += _plot_goals(ax, ratings, case, t)

    shown = {row.label for row in entries}
    session_entries = _plot_raters(axs, sessions, order, styles, labels, gid="session-rater")
    entries += [row for row in session_entries if row.label not in shown]
    limit_style = (0, (2, 2))
    line36 = add_line(
        axs,
        [num(lo), num(hi)],
        [rules.session_alert_below] * 2,
        color=GREY,
        linestyle=limit_style,
        linewidth=1.0,
        gid="session-cutoff",
    )
    limit = t("Session limit (%(limit)s)", limit=t.num(rules.session_alert_below))
    entries.append(Row(limit, line36, limit_style))
    low = min((r.total or 0 for rs in sessions.values() for r in rs), default=40.0)
    bottom = 30 if low >= 31 else 20 if low >= 21 else 0
    axs.set_ylim(bottom - 1, 41)
    axs.set_yticks(sorted({bottom, rules.session_alert_below}))
    entries += _plot_alerts(ax, axs, alerts, t)

    if not ratings:
        ax.text(
            0.5,
            0.5,
            t("No ratings yet"),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=10,
            color=GREY,
        )
    ax.set_ylabel(t("How things are going (0–40)"), fontsize=FONT)
    axs.set_ylabel(t("Session"), fontsize=FONT)
    set_date_axis((ax, axs), lo, hi, rules.tz, t.lang)
    if legend_at is None:
        draw_legend(fig, entries)
    else:
        draw_legend(fig, entries, *legend_at)


def progress_figure(
    case: CaseData,
    *,
    rules: ScoringRules = DEFAULT_RULES,
    lang: str = "da",
    alerts: Sequence[Alert] | None = None,
    ratings: Sequence[Rating] | None = None,
    size: tuple[float, float] = SIZE,
    dpi: float = DPI,
    title: str | None = None,
) -> Figure:
    """The progression graph as a new matplotlib Figure (own Agg canvas, no pyplot state).

    Alerts default to the rules' alerts over the history; pass stored ones to show those.
    Axes: fig.axes[0] outcome totals, fig.axes[1] session ratings.
    """
    ratings = case_ratings(case, rules) if ratings is None else list(ratings)
    alerts = evaluate(case, rules, ratings) if alerts is None else alerts
    fig, ax, axs = new_figure(size, dpi)
    draw_progress(
        fig, ax, axs, case, rules=rules, t=texts(lang), alerts=alerts, ratings=ratings, title=title
    )
    return fig


def render_progress(
    case: CaseData,
    fmt: ImageFormat = "png",
    *,
    path: Path | str | None = None,
    rules: ScoringRules = DEFAULT_RULES,
    lang: str = "da",
    alerts: Sequence[Alert] | None = None,
    ratings: Sequence[Rating] | None = None,
    title: str | None = None,
) -> bytes:
    """The progression graph as PNG, SVG or PDF bytes; also written to `path` when given."""
    ratings = case_ratings(case, rules) if ratings is None else list(ratings)
    alerts = evaluate(case, rules, ratings) if alerts is None else alerts
    # Bytes are made here and now, so this thread's figure can be reused (see recycled_figure).
    fig, ax, axs = recycled_figure(SIZE, DPI)
    draw_progress(
        fig, ax, axs, case, rules=rules, t=texts(lang), alerts=alerts, ratings=ratings, title=title
    )
    data = figure_bytes(fig, fmt)
    if path is not None:
        Path(path).write_bytes(data)
    return data
