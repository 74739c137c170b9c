"""The PDF for the case file: graph, totals, alerts and what was written, page-numbered.

Every text is drawn literally (`parse_math=False`, through reports.literal): a `$` in a
child's words or a rater's name is a dollar sign, never mathtext.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.dates import format_date, format_datetime
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from reports.alerts import evaluate
from reports.categories import category_label
from reports.chartparts import add_progress_axes
from reports.graph import draw_progress
from reports.i18n import ROLE_NAMES, Texts, alert_line, rater_labels, texts
from reports.literal import FONTS, drawable, literal, visual
from reports.model import Alert, CaseData, Rating
from reports.rules import DEFAULT_RULES, ScoringRules
from reports.scoring import case_ratings, series, track

A4 = (8.27, 11.69)  # inches
_LINE = 8 * 1.55 / 72 / 11.69  # one 8 pt line at linespacing 1.55, as a fraction of A4
_TOP, _BOTTOM = 0.93, 0.07
_BODY = list(FONTS)  # the mono face (ships with matplotlib, has æ, ø, å), then DejaVu Sans
_NOTE = "(!)"  # marks words that raised a safety alert; the line says which category


@dataclass(frozen=True, slots=True)
class _Section:
    heading: str
    lines: list[str]


def _when(at: datetime, t: Texts, rules: ScoringRules) -> str:
    local = at.astimezone(rules.tz)
    return str(format_datetime(local, "dd.MM.yyyy HH:mm", locale=t.lang))


def _labels(case: CaseData, t: Texts) -> dict[str, str]:
    # The case file may name people: a rater's own label ("Mor") wins over "Forælder 1".
    labels = rater_labels(case.raters, t)
    labels.update({r.participant_id: r.label for r in case.raters if r.label})
    return labels


def _totals_lines(
    case: CaseData, ratings: Sequence[Rating], t: Texts, rules: ScoringRules
) -> list[str]:
    """One row per rater and day: outcome total, its change from the first, session total."""
    labels = _labels(case, t)
    changes: dict[int, float] = {}
    for rs in series(ratings, "outcome").values():
        for point in track(rs, case.child_birth_date, rules):
            changes[id(point.rating)] = point.change
    rows: dict[tuple[str, object], dict[str, Rating]] = {}
    for r in ratings:
        if r.kind == "goal":
            continue
        key: tuple[str, object] = (r.participant_id, r.answered_at.astimezone(rules.tz).date())
        row = rows.setdefault(key, {})
        while r.kind in row:  # a second survey of a kind that day gets its own row
            key = (key[0], (key[1], len(rows)))
            row = rows.setdefault(key, {})
        row[r.kind] = r

    def total(r: Rating | None) -> str:
        """A total as printed: '–' when unscored, '*' when partly answered."""
        if r is None:
            return ""
        return ("–" if r.total is None else t.num(r.total)) + ("*" if r.partial else "")

    names = (t("Date"), t("Rater"), t("Outcome"), t("Change"), t("Session"))
    head = f"{names[0]:<17} {names[1]:<16} {names[2]:>9} {names[3]:>9} {names[4]:>9}"
    lines = [head, "-" * len(head)]
    for row in rows.values():
        first = row.get("outcome") or row["session"]
        outcome = row.get("outcome")
        change = changes.get(id(outcome)) if outcome is not None else None
        who = labels.get(first.participant_id, first.rater_role)[:16]
        lines.append(
            f"{_when(first.answered_at, t, rules):<17} {who:<16} {total(outcome):>9} "
            f"{'' if change is None else t.num(change, signed=True) or '0':>9} "
            f"{total(row.get('session')):>9}"
        )
    if len(lines) == 2:
        lines.append(t("No ratings yet"))
    else:
        lines += ["", t("* partly answered")]
    return lines


def _alert_lines(
    case: CaseData, alerts: Sequence[Alert], t: Texts, rules: ScoringRules
) -> list[str]:
    labels = _labels(case, t)
    lines = []
    for a in sorted(alerts, key=lambda a: a.raised_at):
        lines.append(f"{_when(a.raised_at, t, rules):<17} {a.rule}")
        lines += textwrap.wrap(
            alert_line(a, labels, t), 76, initial_indent=" " * 18, subsequent_indent=" " * 18
        )
    return lines or [t("No alerts")]


def _message_lines(case: CaseData, t: Texts, rules: ScoringRules) -> list[str]:
    """Who wrote what and when, oldest first, with any safety flag; the words kept literal."""
    labels = rater_labels(case.raters, t)
    names = {r.participant_id: r.label for r in case.raters if r.label}
    lines: list[str] = []
    replaced = False
    for m in sorted(case.comments, key=lambda m: (m.written_at, m.participant_id)):
        role = labels.get(m.participant_id) or t(ROLE_NAMES.get(m.rater_role, ROLE_NAMES["other"]))
        name = names.get(m.participant_id)
        who = f"{name} ({role})" if name else role
        lines.append(f"{_when(m.written_at, t, rules):<17} {who} · {t(m.kind)}")
        if m.flag:
            lines.append(f"{'':<17} {_NOTE} " + t("Possible risk: %(category)s",
                                                 category=category_label(m.flag, t.lang)))
        words = literal(m.text)
        replaced = replaced or words.replaced
        for para in words.text.split("\n"):
            lines += textwrap.wrap(para, 76, initial_indent="  ", subsequent_indent="  ") or [""]
        lines.append("")
    if replaced:
        lines.append(t("Some characters cannot be shown here; the JSON export holds the exact "
                       "words."))
    return lines or [t("Nothing written yet")]


def _paginate(sections: Sequence[_Section], first_page_room: int, room: int) -> list[list[str]]:
    """Lines per page; a heading is never the last line of a page."""
    pages: list[list[str]] = [[]]
    space = first_page_room
    for section in sections:
        block = ["## " + section.heading, *section.lines, ""]
        for i, line in enumerate(block):
            if len(pages[-1]) >= space or (i == 0 and len(pages[-1]) + 2 >= space):
                pages.append([])
                space = room
            pages[-1].append(line)
    return pages


def journal_pages(
    case: CaseData,
    *,
    generated_by: str,
    generated_at: datetime,
    rules: ScoringRules = DEFAULT_RULES,
    lang: str = "da",
    alerts: Sequence[Alert] | None = None,
) -> Iterator[Figure]:
    """The journal's pages as A4 figures: page 1 header and graph, then the tables."""
    t = texts(lang)
    ratings = case_ratings(case, rules)
    alerts = evaluate(case, rules, ratings) if alerts is None else list(alerts)
    period = " – ".join(str(format_date(d, "d. MMM yyyy", locale=t.lang)) for d in case.period)
    sections = [
        _Section(t("Totals"), _totals_lines(case, ratings, t, rules)),
        _Section(t("Alerts"), _alert_lines(case, alerts, t, rules)),
        _Section(t("What the child and family wrote"), _message_lines(case, t, rules)),
    ]
    pages = _paginate(sections, int((0.50 - _BOTTOM) / _LINE), int((_TOP - _BOTTOM) / _LINE))
    footer = drawable(t(
        "Case %(ref)s · generated %(when)s by %(who)s",
        ref=case.ref,
        when=_when(generated_at, t, rules),
        who=generated_by,
    ))
    for number, lines in enumerate(pages, start=1):
        fig = Figure(figsize=A4)
        top = _TOP
        if number == 1:
            fig.text(
                0.08,
                0.955,
                t("Stemme – progress for the case file"),
                fontsize=14,
                weight="bold",
                parse_math=False,
            )
            fig.text(
                0.08,
                0.935,
                drawable(t("Case: %(ref)s    Period: %(period)s", ref=case.ref, period=period)),
                fontsize=9,
                family=_BODY,
                parse_math=False,
            )
            ax, axs = add_progress_axes(fig, left=0.08, bottom=0.55, right=0.66, top=0.91)
            draw_progress(
                fig,
                ax,
                axs,
                case,
                rules=rules,
                t=t,
                alerts=alerts,
                ratings=ratings,
                legend_at=(0.70, 0.91),
            )
            top = 0.50
        _draw_lines(fig, lines, top)
        fig.text(
            0.08, 0.035, footer, fontsize=7, color="#444444", family=_BODY, parse_math=False
        )
        fig.text(
            0.92,
            0.035,
            t("Page %(n)d of %(total)d", n=number, total=len(pages)),
            fontsize=7,
            color="#444444",
            ha="right",
            parse_math=False,
        )
        yield fig


def journal_pdf(
    case: CaseData,
    *,
    generated_by: str,
    generated_at: datetime | None = None,
    rules: ScoringRules = DEFAULT_RULES,
    lang: str = "da",
    alerts: Sequence[Alert] | None = None,
    path: Path | str | None = None,
) -> bytes:
    """The journal PDF as bytes (also written to `path` when given).

    The only report with what participants wrote; it is meant for the case system.
    """
    generated_at = generated_at or datetime.now(UTC)
    t = texts(lang)
    metadata = {
        "Title": t("Stemme – case %(ref)s", ref=case.ref),
        "Author": generated_by,
        "Creator": "Stemme",
        "CreationDate": generated_at,
    }
    buf = io.BytesIO()
    with PdfPages(buf, metadata=metadata) as pdf:
        for fig in journal_pages(
            case,
            generated_by=generated_by,
            generated_at=generated_at,
            rules=rules,
            lang=lang,
            alerts=alerts,
        ):
            pdf.savefig(fig)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _draw_lines(fig: Figure, lines: Sequence[str], top: float) -> None:
    # One text per run of body lines: a Text per line would multiply the PDF's drawing time.
    # Lines are wrapped in reading order; each is put in drawing order (right to left) here.
    y = top
    run: list[str] = []

    def flush() -> None:
        """Draw the pending body lines as one text."""
        nonlocal y
        if run:
            fig.text(0.08, y, "\n".join(run), fontsize=8, family=_BODY, va="top",
                     linespacing=1.55, parse_math=False)
            y -= _LINE * len(run)
            run.clear()

    for line in lines:
        if line.startswith("## "):
            flush()
            fig.text(0.08, y, drawable(line[3:]), fontsize=10, weight="bold", va="top",
                     parse_math=False)
            y -= _LINE * 1.3
        else:
            run.append(visual(literal(line).text))
    flush()
