"""Exports: JSON in CONTRACT.md's shape, CSV with the answers' columns, the journal PDF."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.export import ANSWER_COLUMNS, export_csv, export_document, export_json
from reports.journal import journal_pages, journal_pdf
from reports.model import CaseData, Comment, ItemAnswer, Rater
from tests.reports.builders import CHILD_ID, PARENT_ID, make_case, outcomes, survey, week


def _case_with_a_skip() -> CaseData:
    answers = outcomes(CHILD_ID, [20, 21, 22]) + survey(PARENT_ID, week(1), scores=[5, None, 6, 7])
    return make_case(answers)


def test_json_export_has_exactly_the_contract_shape(tmp_path: Path) -> None:
    case = _case_with_a_skip()
    data = export_json(case, path=tmp_path / "case.json")
    doc = json.loads(data)
    assert json.loads((tmp_path / "case.json").read_bytes()) == doc
    assert set(doc) == {"case", "answers", "alerts", "messages"}
    assert doc["case"] == {
        "case_id": "case-1",
        "ref": "SAG-1",
        "period": ["2026-09-01", "2026-11-24"],
    }
    assert doc["answers"][0] == {
        "answered_at": "2026-09-01T12:00:00+00:00",
        "participant_id": CHILD_ID,
        "rater_role": "child",
        "instrument": "outcome-child",
        "instrument_version": "1",
        "item": "me",
        "score": 5.0,
        "partial": False,
    }
    assert all(list(a) == list(ANSWER_COLUMNS) for a in doc["answers"])
    assert any(a["score"] is None for a in doc["answers"])
    assert [a["rule"] for a in doc["alerts"]] == ["not_on_track"]
    assert set(doc["alerts"][0]) == {"alert_id", "rule", "category", "raised_at",
                                     "acknowledged_at", "detail"}
    assert doc["alerts"][0]["raised_at"].endswith("+00:00")


def test_json_export_takes_stored_alerts_when_given() -> None:
    doc = export_document(_case_with_a_skip(), alerts=[])
    assert doc["alerts"] == []


def test_an_erased_case_exports_no_answers() -> None:
    doc = export_document(make_case([]), alerts=[])
    assert doc["answers"] == [] and doc["alerts"] == []


def test_csv_has_the_answer_columns_and_one_row_per_item() -> None:
    case = _case_with_a_skip()
    rows = list(csv.reader(io.StringIO(export_csv(case).decode())))
    assert tuple(rows[0]) == ANSWER_COLUMNS
    assert len(rows) - 1 == len(case.answers)
    skipped = [r for r in rows[1:] if r[ANSWER_COLUMNS.index("score")] == ""]
    assert len(skipped) == 1 and skipped[0][ANSWER_COLUMNS.index("partial")] == "false"


def test_csv_cells_cannot_become_spreadsheet_formulas() -> None:
    odd = ItemAnswer(week(0), "=HYPERLINK(1)", "child", "outcome-child", "1", "@x", 4.0)
    rows = list(csv.reader(io.StringIO(export_csv(make_case([odd])).decode())))
    assert rows[1][1] == "'=HYPERLINK(1)" and rows[1][5] == "'@x"


@settings(deadline=None, max_examples=40)
@given(st.lists(st.one_of(st.none(), st.floats(0, 10, allow_nan=False)), min_size=4, max_size=4))
def test_every_score_survives_the_json_round_trip(scores: list[float | None]) -> None:
    case = make_case(survey(CHILD_ID, week(0), scores=scores))
    doc = json.loads(export_json(case, alerts=[]))
    assert [a["score"] for a in doc["answers"]] == scores


def _journal_case() -> CaseData:
    answers = outcomes(CHILD_ID, [20 + n % 7 for n in range(40)])
    answers += outcomes(PARENT_ID, [22 + n % 5 for n in range(40)])
    comments = [
        Comment(week(2), CHILD_ID, "child", "Jeg kan godt lide fodbold"),
        Comment(week(3), PARENT_ID, "parent", "Forælderens kommentar"),
    ]
    case = make_case(answers, comments=comments, weeks=40)
    return replace(case, raters=(Rater(CHILD_ID, "child"), Rater(PARENT_ID, "parent", "Mor")))


GENERATED = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_journal_pdf_starts_with_pdf_and_has_numbered_pages(tmp_path: Path) -> None:
    case = _journal_case()
    data = journal_pdf(
        case,
        generated_by="anna@kommune.example",
        generated_at=GENERATED,
        path=tmp_path / "journal.pdf",
    )
    assert data.startswith(b"%PDF-")
    assert (tmp_path / "journal.pdf").read_bytes() == data
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert pages >= 3
    assert re.search(rb"/Count\s+" + str(pages).encode(), data)
    assert b"anna@kommune.example" in data  # the Author metadata


def test_journal_shows_period_author_alerts_and_what_everyone_wrote() -> None:
    figures = list(
        journal_pages(
            _journal_case(),
            generated_by="anna@kommune.example",
            generated_at=GENERATED,
        )
    )
    text = "\n".join(t.get_text() for fig in figures for t in fig.texts)
    assert "Periode: 1. sep. 2026 – 8. jun. 2027" in text
    assert "dannet 24.11.2026 10:00 af anna@kommune.example" in text
    assert f"Side {len(figures)} af {len(figures)}" in text
    assert "Det skrev barnet og familien" in text and "Jeg kan godt lide fodbold" in text
    assert "Forælderens kommentar" in text and "Mor (Forælder) · kommentar" in text
    assert "not_on_track" in text and "Advarsler" in text
    assert "Mor" in text and "Barn" in text  # the case file may name the adult rater


def test_journal_pdf_of_an_empty_case_is_one_page() -> None:
    data = journal_pdf(make_case([]), generated_by="anna@kommune.example")
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 1
