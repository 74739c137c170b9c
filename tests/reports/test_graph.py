"""The progression graph renders for any amount of data and puts the cutoff where it belongs.

Every graph here is drawn by render_progress, as the dashboard, the CLI and the digest draw it;
what it shows is read back from the PNG or SVG bytes it returns.
"""

from __future__ import annotations

import io
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date

import pytest
from PIL import Image

from reports.chartparts import date_ticks
from reports.graph import DPI, SIZE, render_progress
from reports.model import CaseData
from reports.rules import ScoringRules
from reports.sample import sample_case
from reports.sparkline import sparkline_png, sparkline_svg
from tests.reports.builders import (
    CHILD_ID,
    PARENT_ID,
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
    labels = _legend(_svg(case, lang="en"))
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


def _svg(case: CaseData, lang: str = "da") -> ET.Element:
    data = render_progress(case, "svg", lang=lang)
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.fromstring(data, parser=parser)


def _path_points(root: ET.Element, gid: str) -> list[tuple[float, float]]:
    group = root.find(f".//svg:g[@id='{gid}']", SVG_NS)
    assert group is not None, f"no <g id={gid!r}> in the SVG"
    path = group.find("svg:path", SVG_NS)
    assert path is not None
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.attrib["d"])]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def _legend(root: ET.Element) -> list[str]:
    labels = []
    for i in range(40):
        group = root.find(f".//svg:g[@id='legend-{i}']", SVG_NS)
        if group is None:
            break
        # matplotlib writes each text as a comment before its glyph paths
        comments = [n.text for n in group.iter() if not isinstance(n.tag, str)]
        labels.append((comments[0] or "").strip())
    return labels


def _axis_y(root: ET.Element, axes_gid: str) -> Callable[[float], float]:
    """The SVG y of a value on the axes' y scale, read off its tick marks and tick labels."""
    axes = root.find(f".//svg:g[@id='{axes_gid}']", SVG_NS)
    assert axes is not None, f"no <g id={axes_gid!r}> in the SVG"
    ticks: list[tuple[float, float]] = []
    for tick in axes.iterfind(".//svg:g", SVG_NS):
        if not tick.get("id", "").startswith("ytick_"):
            continue
        mark = tick.find(".//svg:use", SVG_NS)
        label = next(n.text for n in tick.iter() if not isinstance(n.tag, str))
        assert mark is not None and label is not None
        ticks.append((float(label), float(mark.attrib["y"])))
    (v0, y0), (v1, y1) = min(ticks), max(ticks)
    return lambda v: y0 + (v - v0) * (y1 - y0) / (v1 - v0)


def test_every_id_in_the_svg_is_unique() -> None:
    # A rater has a line in both panels; a duplicate id makes the SVG invalid and a script
    # or stylesheet that picks a rater's line by id would find the wrong one.
    svg = render_progress(sample_case(sessions=8, roles=("child", "parent", "teacher")), "svg")
    ids = re.findall(rb'\sid="([^"]+)"', svg)
    assert ids and len(ids) == len(set(ids))


def test_cutoff_line_sits_at_the_childs_cutoff_on_the_axis() -> None:
    root = _svg(make_case(outcomes(CHILD_ID, [20, 22, 27])))
    at = _axis_y(root, "outcome-axes")
    for _, y in _path_points(root, "cutoff"):
        assert y == pytest.approx(at(32), abs=0.05)


def test_cutoff_steps_down_to_28_on_the_13th_birthday() -> None:
    birthday = week(4).date().replace(year=week(4).year - 13)
    root = _svg(make_case(outcomes(CHILD_ID, [20, 22, 27]), birth=birthday))
    at = _axis_y(root, "outcome-axes")
    ys = {round(y, 1) for _, y in _path_points(root, "cutoff")}
    assert ys == {round(at(32), 1), round(at(28), 1)}
    assert _legend(root)[0] == "Klinisk grænse (32 → 28)"


def test_session_limit_line_is_at_36_on_the_session_axis() -> None:
    root = _svg(make_case(sessions(CHILD_ID, [38, 35, 39])))
    (_, y), *_ = _path_points(root, "session-cutoff")
    assert y == pytest.approx(_axis_y(root, "session-axes")(36), abs=0.05)


def test_legend_names_each_line_without_names_of_people() -> None:
    answers = (
        outcomes(CHILD_ID, [20, 22, 27])
        + outcomes(PARENT_ID, [24, 23, 25])
        + sessions(CHILD_ID, [38, 35, 39])
        + goals(CHILD_ID, [3, 5, 6])
    )
    assert _legend(_svg(make_case(answers, goal_ids=["goal-1"]), lang="da")) == [
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
    root = _svg(make_case(outcomes(CHILD_ID, [20])), lang="en")
    assert _legend(root)[:3] == ["Clinical cutoff (32)", "Reliable change ±6", "Child"]


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
    root = _svg(case, lang="en")
    rows = _legend(root)

    in_legend = {label: _dashes(root, f"legend-handle-{rows.index(label)}") for label in line_of}
    assert in_legend == {label: _dashes(root, gid) for label, gid in line_of.items()}


def test_legend_dash_patterns_begin_a_cycle_under_the_marker() -> None:
    # The marker in a handle's middle hides what falls there: with every cycle starting at
    # the marker, parent 2's dash-dot shows its dot beside the triangle, not under it.
    case = sample_case(sessions=6, roles=("child", "parent", "parent", "teacher"), goals=2)
    root = _svg(case, lang="en")
    checked = 0
    for i in range(len(_legend(root))):
        group = root.find(f".//svg:g[@id='legend-handle-{i}']", SVG_NS)
        path = None if group is None else group.find("svg:path", SVG_NS)
        if path is None or "stroke-dasharray" not in path.attrib.get("style", ""):
            continue
        pairs = (p.split(":", 1) for p in path.attrib["style"].split(";") if ":" in p)
        style = {k.strip(): v.strip() for k, v in pairs}
        cycle = sum(float(d) for d in style["stroke-dasharray"].split(","))
        (x0, _), *_, (x1, _) = _path_points(root, f"legend-handle-{i}")
        at_marker = ((x1 - x0) / 2 + float(style["stroke-dashoffset"])) % cycle
        assert min(at_marker, cycle - at_marker) == pytest.approx(0, abs=0.01)
        checked += 1
    assert checked >= 5


def test_reliable_change_band_surrounds_the_childs_first_rating() -> None:
    root = _svg(make_case(outcomes(CHILD_ID, [20, 22, 27])))
    at = _axis_y(root, "outcome-axes")
    ys = {round(y, 1) for _, y in _path_points(root, "reliable-band")}
    assert ys == {round(at(14), 1), round(at(26), 1)}


def test_partial_surveys_do_not_break_the_graph() -> None:
    answers = survey(CHILD_ID, week(0), scores=[5, None, None, None]) + outcomes(CHILD_ID, [20])
    assert render_progress(make_case(answers)).startswith(PNG)


@pytest.mark.parametrize("lang", ["da", "en"])
def test_png_after_other_graphs_is_the_png_of_a_fresh_figure(lang: str) -> None:
    # render_progress reuses one figure per thread: nothing of the graphs drawn on it before
    # (the same case in the other language, other cases, their legends) may show through.
    case = sample_case(sessions=20, roles=("child", "parent", "parent", "teacher"))
    render_progress(case, lang="en" if lang == "da" else "da")
    others = [sample_case(sessions=n, roles=("child", "teacher"), seed=n) for n in (0, 60)]
    for other in others:
        render_progress(other, lang=lang)
    reused = render_progress(case, lang=lang)
    fresh: list[bytes] = []
    # A new thread has no figure yet, so this is drawn on a new one.
    thread = threading.Thread(target=lambda: fresh.append(render_progress(case, lang=lang)))
    thread.start()
    thread.join()
    assert reused == fresh[0]
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
