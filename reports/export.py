"""The case export of CONTRACT.md: one JSON object, or CSV with one row per item answer.

Participants' words go into JSON as they were written (JSON escapes what it must); CSV holds
only the answers, and any cell that a spreadsheet would run as a formula starts with a quote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.alerts import SAFETY, evaluate
from reports.model import Alert, AlertRecord, CaseData, Comment, ItemAnswer
from reports.rules import DEFAULT_RULES, ScoringRules

# The columns of "answers" in CONTRACT.md, in its order; also the CSV header.
ANSWER_COLUMNS = (
    "answered_at",
    "participant_id",
    "rater_role",
    "instrument",
    "instrument_version",
    "item",
    "score",
    "partial",
)
# Spreadsheets run cells starting with these as formulas; ids and item names come from
# organisations' text packs, so a leading quote keeps such a cell text (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _ordered(answers: Sequence[ItemAnswer]) -> list[ItemAnswer]:
    return sorted(answers, key=lambda a: (a.answered_at, a.participant_id, a.instrument, a.item))


def answer_row(answer: ItemAnswer) -> dict[str, Any]:
    """One answer as the contract's JSON object."""
    return {
        "answered_at": _utc(answer.answered_at),
        "participant_id": answer.participant_id,
        "rater_role": answer.rater_role,
        "instrument": answer.instrument,
        "instrument_version": answer.instrument_version,
        "item": answer.item,
        "score": None if answer.score is None else float(answer.score),
        "partial": bool(answer.partial),
    }


def message_row(message: Comment) -> dict[str, Any]:
    """What a participant wrote as the contract's JSON object, the words exactly as written."""
    return {
        "written_at": _utc(message.written_at),
        "participant_id": message.participant_id,
        "rater_role": message.rater_role,
        "text": message.text,
        "flag": None if message.flag is None else {"category": message.flag},
    }


def _record(alert: Alert, records: Sequence[AlertRecord]) -> AlertRecord | None:
    # The stored row of a rule's alert: same rule and person, and the same moment or (a rule
    # other than safety, whose rows are one per spell) the spell the alert was raised in:
    # begun at or before it and not cleared before it. Records come oldest first.
    same = [r for r in records if (r.rule, r.participant_id) == (alert.rule, alert.participant_id)]
    for record in same:
        if record.raised_at == alert.raised_at:
            return record
    if alert.rule == SAFETY:  # one row per flagged message, never a spell
        return None
    for record in reversed(same):
        if record.raised_at <= alert.raised_at and (
            record.cleared_at is None or alert.raised_at < record.cleared_at
        ):
            return record
    return None


def alert_row(alert: Alert, records: Sequence[AlertRecord] = ()) -> dict[str, Any]:
    """One alert as the export's JSON object, with its stored row's id when there is one."""
    record = _record(alert, records)
    acknowledged = record.acknowledged_at if record else None
    return {
        "alert_id": record.alert_id if record else None,
        "rule": alert.rule,
        "category": record.category if record else None,
        "raised_at": _utc(alert.raised_at),
        "acknowledged_at": None if acknowledged is None else _utc(acknowledged),
        "detail": alert.detail,
    }


def export_document(
    case: CaseData,
    *,
    alerts: Sequence[Alert] | None = None,
    rules: ScoringRules = DEFAULT_RULES,
) -> dict[str, Any]:
    """The export object: case, answers, alerts (the rules' alerts unless given), messages."""
    alerts = evaluate(case, rules) if alerts is None else alerts
    return {
        "case": {
            "case_id": case.case_id,
            "ref": case.ref,
            "period": [case.period[0].isoformat(), case.period[1].isoformat()],
        },
        "answers": [answer_row(a) for a in _ordered(case.answers)],
        "alerts": [
            alert_row(a, case.alert_records) for a in sorted(alerts, key=lambda a: a.raised_at)
        ],
        "messages": [
            message_row(m)
            for m in sorted(case.comments, key=lambda m: (m.written_at, m.participant_id))
        ],
    }


def _write(data: bytes, path: Path | str | None) -> bytes:
    if path is not None:
        Path(path).write_bytes(data)
    return data


def export_json(
    case: CaseData,
    *,
    alerts: Sequence[Alert] | None = None,
    rules: ScoringRules = DEFAULT_RULES,
    path: Path | str | None = None,
) -> bytes:
    """The export as UTF-8 JSON bytes; also written to `path` when given."""
    doc = export_document(case, alerts=alerts, rules=rules)
    # A lone surrogate cannot be UTF-8: it is written as JSON's own escape, never an error.
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    return _write(text.encode("utf-8", "backslashreplace") + b"\n", path)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(case: CaseData, *, path: Path | str | None = None) -> bytes:
    """The answers as UTF-8 CSV (header = ANSWER_COLUMNS); an empty score is a skipped item."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(ANSWER_COLUMNS)
    for answer in _ordered(case.answers):
        row = answer_row(answer)
        writer.writerow([_cell(row[c]) for c in ANSWER_COLUMNS])
    return _write(buf.getvalue().encode(), path)
