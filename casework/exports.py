"""Exports for the case system: a case's progression, or one person's own data (art. 15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from casework.errors import Invalid
from consent import audit
from consent.access import participant_export
from reports.casefile import load_case_data
from reports.export import export_csv, export_json
from reports.graph import render_progress
from reports.journal import journal_pdf
from reports.rules import DEFAULT_RULES, ScoringRules
from storage.models import Case
from storage.vault import Vault

MEDIA_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "png": "image/png",
               "svg": "image/svg+xml", "json": "application/json"}
FORMATS = tuple(MEDIA_TYPES)


@dataclass(frozen=True, slots=True)
class Exported:
    """An export's bytes and how many item answers it holds."""

    body: bytes
    answers: int


def export_case(session: Session, vault: Vault, case: Case, fmt: str, *, actor: str,
                lang: str, now: datetime, via: str,
                rules: ScoringRules = DEFAULT_RULES) -> Exported:
    """A case's progression as pdf/csv/png/svg/json; audited before the bytes leave.

    The journal PDF and the JSON hold what participants wrote; CSV and the images do not.
    """
    if fmt not in MEDIA_TYPES:
        raise Invalid("format", "format", formats=", ".join(FORMATS))
    data = load_case_data(session, vault, case.id, now=now, comments=fmt in ("pdf", "json"))
    if fmt == "pdf":
        body = journal_pdf(data, generated_by=actor, generated_at=now, lang=lang, rules=rules)
    elif fmt == "csv":
        body = export_csv(data)
    elif fmt == "json":
        body = export_json(data, rules=rules)
    else:
        body = render_progress(data, "png" if fmt == "png" else "svg", lang=lang, rules=rules)
    audit.append(session, actor=actor, action=f"export.{fmt}", target=f"case:{case.id}",
                 detail=f"via={via}", at=now)
    return Exported(body, len(data.answers))


def export_participant(session: Session, vault: Vault, participant_id: str, *, actor: str,
                       now: datetime) -> dict[str, Any]:
    """Everything stored about one person, for their own request (art. 15); audited."""
    document = participant_export(session, vault, participant_id, now=now)
    audit.append(session, actor=actor, action="export.participant",
                 target=f"participant:{participant_id}", detail="art15", at=now)
    return document
