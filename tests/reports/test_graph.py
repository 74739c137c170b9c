"""The progression graph renders for any amount of data and puts the cutoff where it belongs."""

from __future__ import annotations

import io
import re
import threading
import xml.etree.ElementTree as ET
from datetime import date

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from reports.chartparts import date_ticks, figure_bytes, new_figure, num
from reports.graph import DPI, SIZE, progress_figure, render_progress
from reports.legend import draw_legend
from reports.model import CaseData
from reports.rules import ScoringRules
from reports.sample import sample_case
from reports.sparkline import sparkline_png, sparkline_svg
from tests.reports.builders import (
    CHILD_ID,
    PARENT_ID,
    START,
    goals,
    make_case,
    outcomes,
    sessions,
    survey,
    week,
)

PNG = b"\x89PNG\r\n\x1a\n"
SVG_NS = {"svg": "http://www.w3.org/2000/svg"}


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("count", [0, 1, 2, 60])
def test_graph_renders_for_any_number_of_sessions(count: int) -> None:
    case = sample_case(sessions=count)
    data = render_progress(case)
    assert data.startswith(PNG)
    assert _image(data).size == (round(SIZE[0] * DPI), round(SIZE[1] * DPI))


@pytest.mark.parametrize("raters", [1, 2, 3, 4, 5])
def test_graph_renders_one_to_five_raters_each_in_the_legend(raters: int) -> None:
    roles = ("child", "parent", "parent", "teacher", "pedagogue")[:raters]
    case = sample_case(sessions=6, roles=roles, goals=0)
    labels = _legend(progress_figure(case, lang="en"))
    expected = ["Child", "Parent 1", "Parent 2", "Teacher", "Pedagogue"][:raters]
    if raters == 2:
        expected = ["Child", "Parent"]
    assert [x for x in labels if x in expected] == expected


def test_graph_renders_ratings_with_missing_items() -> None:
    case = sample_case(sessions=8, missing_items_every=2)
    strict = render_progress(case)
    prorated = render_progress(case, rules=ScoringRules(max_missing_items=1))
    assert strict.startswith(PNG) and prorated.startswith(PNG) and strict != prorated


def test_graph_renders_as_svg_and_pdf() -> None:
    case = sample_case(sessions=4)
    assert render_progress(case, "svg").lstrip().startswith(b"<?xml")
    assert render_progress(case, "pdf").startswith(b"%PDF")


def _svg(fig: Figure) -> ET.Element:
    data = figure_bytes(fig, "svg")
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.fromstring(data, parser=parser)


def _path_points(root: ET.Element, gid: str) -> list[tuple[float, float]]:
    group = root.find(f".//svg:g[@id='{gid}']", SVG_NS)
    assert group is not None, f"no <g id={gid!r}> in the SVG"
    path = group.find("svg:path", SVG_NS)
    assert path is not None
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.attrib["d"])]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def _legend(fig: Figure) -> list[str]:
    root = _svg(fig)
    labels = []
    for i in range(40):
        group = root.find(f".//svg:g[@id='legend-{i}']", SVG_NS)
        if group is None:
            break
        # matplotlib writes each text as a comment before its glyph paths
        comments = [n.text for n in group.iter() if not isinstance(n.tag, str)]
        labels.append((comments[0] or "").strip())
    return labels


def _expected_y(fig: Figure, x: float, y: float) -> float:
    ax = fig.axes[0]
    _, y_px = ax.transData.transform((x, y))
    # SVG units are points with y downwards; display units are pixels with y upwards.
    return float(fig.get_figheight() * 72 - y_px * 72 / fig.dpi)


def test_every_id_in_the_svg_is_unique() -> None:
    # A rater has a line in both panels; a duplicate id makes the SVG invalid and a script
    # or stylesheet that picks a rater's line by id would find the wrong one.
    svg = render_progress(sample_case(sessions=8, roles=("child", "parent", "teacher")), "svg")
    ids = re.findall(rb'\sid="([^"]+)"', svg)
    assert ids and len(ids) == len(set(ids))


def test_cutoff_line_sits_at_the_childs_cutoff_on_the_axis() -> None:
    fig = progress_figure(make_case(outcomes(CHILD_ID, [20, 22, 27])))
    points = _path_points(_svg(fig), "cutoff")
    assert {round(y, 1) for _, y in points} == {round(_expected_y(fig, num(START), 32), 1)}


def test_cutoff_steps_down_to_28_on_the_13th_birthday() -> None:
    birthday = week(4).date().replace(year=week(4).year - 13)
    fig = progress_figure(make_case(outcomes(CHILD_ID, [20, 22, 27]), birth=birthday))
    ys = {round(y, 1) for _, y in _path_points(_svg(fig), "cutoff")}
    assert ys == {round(_expected_y(fig, 0, 32), 1), round(_expected_y(fig, 0, 28), 1)}
    assert _legend(fig)[0] == "Klinisk grænse (32 → 28)"


def test_session_limit_line_is_at_36_on_the_session_axis() -> None:
    fig = progress_figure(make_case(sessions(CHILD_ID, [38, 35, 39])))
    (_, y), *_ = _path_points(_svg(fig), "session-cutoff")
    axs = fig.axes[1]
    y_px = axs.transData.transform((0, 36))[1]
    assert y == pytest.approx(fig.get_figheight() * 72 - y_px * 72 / fig.dpi, abs=0.05)


def test_legend_names_each_line_without_names_of_people() -> None:
    answers = (
        outcomes(CHILD_ID, [20, 22, 27])
        + outcomes(PARENT_ID, [24, 23, 25])
        + sessions(CHILD_ID, [38, 35, 39])
        + goals(CHILD_ID, [3, 5, 6])
    )
    fig = progress_figure(make_case(answers, goal_ids=["goal-1"]), lang="da")
    assert _legend(fig) == [
        "Klinisk grænse (32)",
        "Pålidelig ændring ±6",
        "Barn",
        "Forælder",
        "Mål 1 (0–10, højre)",
        "Grænse for samtalen (36)",
        "Advarsel",
        "Advarsel om samtalen",
    ]


def test_legend_is_english_on_request() -> None:
    fig = progress_figure(make_case(outcomes(CHILD_ID, [20])), lang="en")
    assert _legend(fig)[:3] == ["Clinical cutoff (32)", "Reliable change ±6", "Child"]


def _dashes(root: ET.Element, gid: str) -> str | None:
    # The stroke-dasharray of the first path in <g id=gid>: the line itself, not its markers.
    group = root.find(f".//svg:g[@id='{gid}']", SVG_NS)
    assert group is not None, f"no <g id={gid!r}> in the SVG"
    path = group.find("svg:path", SVG_NS)
    assert path is not None
    pairs = (p.split(":", 1) for p in path.attrib.get("style", "").split(";") if ":" in p)
    return {k.strip(): v.strip() for k, v in pairs}.get("stroke-dasharray")


def test_legend_shows_the_dash_pattern_of_each_line() -> None:
    # In black and white the dash pattern tells the lines apart, so the legend must show it.
    case = sample_case(sessions=6, roles=("child", "parent", "parent", "teacher"), goals=2)
    child, parent1, parent2, teacher = (r.participant_id for r in case.raters)
    line_of = {
        "Clinical cutoff (32)": "cutoff",
        "Child": f"rater-{child}",
        "Parent 1": f"rater-{parent1}",
        "Parent 2": f"rater-{parent2}",
        "Teacher": f"rater-{teacher}",
        "Goal 1 (0–10, right)": "goal-1",
        "Goal 2 (0–10, right)": "goal-2",
        "Session limit (36)": "session-cutoff",
    }
    fig = progress_figure(case, lang="en")

    rows, root = _legend(fig), _svg(fig)

    in_legend = {label: _dashes(root, f"legend-handle-{rows.index(label)}") for label in line_of}
    assert in_legend == {label: _dashes(root, gid) for label, gid in line_of.items()}


def test_png_legend_is_not_reused_for_lines_that_differ_only_in_dashes() -> None:
    # PNG legends are copied from pixels cached under the rows' looks: the dashes are one.
    def legend_png(linestyle: tuple[float, tuple[float, ...]]) -> np.ndarray:
        fig, _, _ = new_figure(SIZE, DPI)
        draw_legend(fig, [("line", Line2D([], [], color="black", linestyle=linestyle))])
        return np.asarray(_image(figure_bytes(fig)))

    long_dashes = legend_png((0, (6, 2)))
    dots = legend_png((0, (1, 1)))

    assert not np.array_equal(long_dashes, dots)


def test_reliable_change_band_surrounds_the_childs_first_rating() -> None:
    fig = progress_figure(make_case(outcomes(CHILD_ID, [20, 22, 27])))
    ys = {round(y, 1) for _, y in _path_points(_svg(fig), "reliable-band")}
    assert ys == {round(_expected_y(fig, 0, 14), 1), round(_expected_y(fig, 0, 26), 1)}


def test_partial_surveys_do_not_break_the_graph() -> None:
    answers = survey(CHILD_ID, week(0), scores=[5, None, None, None]) + outcomes(CHILD_ID, [20])
    assert render_progress(make_case(answers)).startswith(PNG)


@pytest.mark.parametrize("lang", ["da", "en"])
def test_png_from_the_reused_frame_and_legend_is_the_full_drawing(lang: str) -> None:
    # Other graphs first (the same in the other language, then other cases), so this one is
    # drawn over the frames and legends they left behind.
    case = sample_case(sessions=20, roles=("child", "parent", "parent", "teacher"))
    render_progress(case, lang="en" if lang == "da" else "da")
    others = [sample_case(sessions=n, roles=("child", "teacher"), seed=n) for n in (0, 60)]
    for other in others:
        render_progress(other, lang=lang)
    reused = render_progress(case, lang=lang)
    full: list[np.ndarray] = []

    def draw_all() -> None:  # in a new thread, which has nothing cached yet
        canvas = progress_figure(case, lang=lang).canvas
        assert isinstance(canvas, FigureCanvasAgg)
        canvas.draw()  # type: ignore[no-untyped-call]
        full.append(np.asarray(canvas.buffer_rgba())[:, :, :3].copy())  # type: ignore[no-untyped-call]

    thread = threading.Thread(target=draw_all)
    thread.start()
    thread.join()
    assert np.array_equal(np.asarray(_image(reused)), full[0])
    assert render_progress(others[0], lang=lang) != reused


def test_rendering_in_threads_gives_the_same_bytes_as_in_sequence() -> None:
    cases: list[CaseData] = [sample_case(sessions=n, seed=n) for n in (3, 9, 15, 30)]
    expected = [render_progress(c) for c in cases]
    got: dict[int, bytes] = {}

    def work(i: int) -> None:
        for _ in range(2):
            got[i] = render_progress(cases[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(cases))] == expected


def test_date_ticks_are_round_local_dates() -> None:
    tz = ScoringRules().tz
    fortnights = date_ticks(week(0), week(12), tz)
    assert len(fortnights) == 6 and all(t.weekday() == 0 for t in fortnights)
    months = date_ticks(week(0), week(60), tz)
    assert 3 <= len(months) <= 6 and all(t.day == 1 for t in months)
    short = date_ticks(week(0), week(0, 24 * 5), ScoringRules().tz)
    assert [t.date() for t in short] == [date(2026, 9, d) for d in (2, 3, 4, 5, 6)]


def test_sparkline_png_and_svg_render_with_and_without_points() -> None:
    for values in ([], [20.0], [17.0, 21.5, 26.0]):
        image = _image(sparkline_png(values, cutoff=32))
        assert image.size == (240, 60)
        svg = ET.fromstring(sparkline_svg(values, cutoff=32, title="Barn <3"))
        assert svg.tag.endswith("svg") and svg.find("svg:title", SVG_NS) is not None
