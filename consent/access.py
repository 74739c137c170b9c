"""A person's own data (GDPR art. 15): profile, agreements, answers and comments, decrypted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from reports.casefile import load_case_data
from reports.export import export_document
from storage.models import Consent, Participant
from storage.repo.cases import view_participant
from storage.vault import Vault


def participant_export(session: Session, vault: Vault, participant_id: str, *,
                       now: datetime) -> dict[str, Any]:
    """Everything Stemme holds about one participant, and nothing about anyone else."""
    person = session.get(Participant, participant_id)
    if person is None:
        raise LookupError(f"no participant {participant_id}")
    if person.status == "erased":
        return {"participant": {"participant_id": person.id, "status": "erased",
                                "erased_at": person.erased_at}, "agreements": [],
                "answers": [], "comments": []}
    view = view_participant(session, vault, person)
    case = load_case_data(session, vault, person.case_id, now=now,
                          participant_id=person.id)
    document = export_document(case)
    agreements = session.exec(select(Consent).where(Consent.participant_id == person.id)
                              .order_by(col(Consent.created_at))).all()
    return {
        "generated_at": now.isoformat(),
        "participant": {
            "participant_id": person.id, "case_id": person.case_id, "role": person.role,
            "channel": person.channel, "language": person.language, "name": view.name,
            "phone": view.phone, "telegram_linked": view.chat_id is not None,
            "birth_date": view.birth_date.isoformat() if view.birth_date else None,
            "status": person.status, "created_at": person.created_at.isoformat(),
        },
        "agreements": [{
            "action": c.action, "given_by": c.given_by, "channel": c.channel,
            "age_at_time": c.age_at_time, "scope": c.scope, "text_version": c.text_version,
            "language": c.language, "recorded_by": c.recorded_by,
            "legal_basis": c.legal_basis, "at": c.created_at.isoformat()} for c in agreements],
        "answers": document["answers"],
        "comments": [{"written_at": c.written_at.isoformat(), "text": c.text}
                     for c in case.comments],
    }
