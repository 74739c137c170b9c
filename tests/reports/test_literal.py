"""Participants' words are literal in every export: no mathtext, no markup, never a failure."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime

import pypdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.export import ANSWER_COLUMNS, export_csv, export_json
from reports.journal import journal_pdf
from reports.literal import MISSING, drawable, literal, visual
from reports.model import AlertRecord, CaseData, Comment, Rater, SafetyEvent
from tests.reports.builders import CHILD_ID, PARENT_ID, make_case, outcomes, week

TEX = "$\\frac{1}{$ 50$ \\fuld"
GENERATED = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _case(*comments: Comment) -> CaseData:
    return make_case(outcomes(CHILD_ID, [20, 22, 25]), comments=comments)


def pdf_text(data: bytes) -> str:
    """The text a PDF reader extracts from every page."""
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_dollar_signs_and_backslashes_are_printed_as_written_in_the_journal() -> None:
    case = _case(Comment(week(1), CHILD_ID, "child", TEX),
                 Comment(week(2), CHILD_ID, "child", "Det kostede 50$ … og så 20$"))
    case = replace(case, raters=(Rater(CHILD_ID, "child", "$x$ Sofie"),))

    text = pdf_text(journal_pdf(case, generated_by="anna@kommune.example",
                                generated_at=GENERATED))

    assert TEX in text
    assert "Det kostede 50$ … og så 20$" in text
    assert "$x$ Sofie (Barn) · kommentar" in text


def test_emoji_are_drawn_or_named_and_right_to_left_text_reads_right_to_left() -> None:
    case = _case(Comment(week(1), PARENT_ID, "parent", "tak 😀 🥺 👍🏽"),
                 Comment(week(2), PARENT_ID, "parent", "שלום עולם"),
                 Comment(week(3), PARENT_ID, "parent", "ሰላም"))

    text = pdf_text(journal_pdf(case, generated_by="anna@kommune.example",
                                generated_at=GENERATED))

    assert "tak 😀 [face with pleading eyes] [thumbs up sign]" in text  # skin tone dropped
    # Hebrew drawn in the order it is seen: each word's letters from right to left.
    assert "םולש" in text and "םלוע" in text and "שלום" not in text
    assert MISSING * 3 in text  # no font here has Ethiopic: white squares, not a warning
    assert "JSON-eksporten har de nøjagtige ord" in text


def test_arabic_is_joined_and_put_in_visual_order() -> None:
    shown = visual("مرحبا")
    assert shown != "مرحبا" and "\ufee3" not in shown[:1]  # presentation forms, reversed
    assert all(ord(c) >= 0xFE70 for c in shown)


def test_only_visible_stand_ins_count_as_replacements() -> None:
    assert literal("a\tb\x00c\u200dd").text == "a bcd"
    assert not literal("a\tb\x00c\u200dd").replaced
    assert literal("中").replaced and drawable("x\ny") == "x\ny"


def test_the_json_export_holds_every_word_and_its_flag() -> None:
    raised = week(2, hours=1)
    case = replace(
        _case(Comment(week(1), CHILD_ID, "child", TEX),
              Comment(week(2), CHILD_ID, "child", "jeg vil ik leve mere", "message", "suicide")),
        safety_events=(SafetyEvent(raised, CHILD_ID),),
        alert_records=(AlertRecord("a-1", "safety", raised, CHILD_ID, "suicide"),))

    doc = json.loads(export_json(case))

    assert doc["messages"] == [
        {"written_at": "2026-09-08T12:00:00+00:00", "participant_id": CHILD_ID,
         "rater_role": "child", "text": TEX, "flag": None},
        {"written_at": "2026-09-15T12:00:00+00:00", "participant_id": CHILD_ID,
         "rater_role": "child", "text": "jeg vil ik leve mere", "flag": {"category": "suicide"}},
    ]
    safety = [a for a in doc["alerts"] if a["rule"] == "safety"]
    assert safety == [{"alert_id": "a-1", "rule": "safety", "category": "suicide",
                       "raised_at": "2026-09-15T13:00:00+00:00", "acknowledged_at": None,
                       "detail": safety[0]["detail"]}]
    assert all(a["alert_id"] is None for a in doc["alerts"] if a["rule"] != "safety")


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(exclude_categories=()), max_size=300))
def test_no_comment_makes_an_export_fail(words: str) -> None:
    case = replace(_case(Comment(week(1), CHILD_ID, "child", words),
                         Comment(week(2), PARENT_ID, "parent", words, "message", "threats")),
                   raters=(Rater(CHILD_ID, "child", words[:40] or None),
                           Rater(PARENT_ID, "parent")))

    pdf = journal_pdf(case, generated_by="anna@kommune.example", generated_at=GENERATED)
    doc = json.loads(export_json(case))
    rows = list(csv.reader(io.StringIO(export_csv(case).decode())))

    assert pdf.startswith(b"%PDF-")
    assert [m["text"] for m in doc["messages"]] == [words, words]
    assert tuple(rows[0]) == ANSWER_COLUMNS and len(rows) == 1 + len(case.answers)
