"""safety data: spare invites from before 0002 revoked, notices for earlier urgent alerts

Before revision 0002 a new invite revoked nothing, so a person could hold several live codes
and web-chat links; now only the newest may work, and none of a withdrawn person's. And mail
about an urgent alert now goes only from `notices` rows: an alert raised before them gets its
urgent notice (when it was never sent) and its escalation (while unacknowledged).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from storage.models.base import new_id

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ESCALATE_AFTER = timedelta(hours=4)  # the default of STEMME_ESCALATE_AFTER


def _aware(value: object) -> datetime:
    """A timestamp as read back by either backend, made timezone-aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _bind(value: datetime) -> object:
    """A UTC time as the UTCDateTime column stores it on this backend."""
    if op.get_bind().dialect.name == "sqlite":
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    live = bind.execute(sa.text(
        "SELECT i.id, i.participant_id, i.created_at, p.status FROM invites i "
        "JOIN participants p ON p.id = i.participant_id "
        "WHERE i.used_at IS NULL AND i.revoked_at IS NULL")).all()
    newest: dict[str, tuple[datetime, str]] = {}
    for invite_id, participant_id, created_at, _ in live:
        key = (_aware(created_at), invite_id)
        if participant_id not in newest or key > newest[participant_id]:
            newest[participant_id] = key
    spare = [invite_id for invite_id, participant_id, _, status in live
             if status not in ("active", "unreachable") or newest[participant_id][1] != invite_id]
    for invite_id in spare:
        bind.execute(sa.text("UPDATE invites SET revoked_at = :now WHERE id = :id"),
                     {"now": _bind(now), "id": invite_id})

    urgent = bind.execute(sa.text(
        "SELECT a.id, a.raised_at, a.notified_at, a.escalated_at, a.acknowledged_at FROM alerts a "
        "WHERE a.severity = 'urgent' AND NOT EXISTS "
        "(SELECT 1 FROM notices n WHERE n.alert_id = a.id)")).all()
    insert = sa.text("INSERT INTO notices (id, alert_id, kind, status, due_at, attempts, "
                     "created_at) VALUES (:id, :alert, :kind, 'pending', :due, 0, :now)")
    for alert_id, raised_at, notified_at, escalated_at, acknowledged_at in urgent:
        if acknowledged_at is not None:
            continue
        if notified_at is None:
            bind.execute(insert, {"id": new_id(), "alert": alert_id, "kind": "urgent",
                                  "due": _bind(now), "now": _bind(now)})
        if escalated_at is None:
            told = _aware(notified_at) if notified_at is not None else _aware(raised_at)
            bind.execute(insert, {"id": new_id(), "alert": alert_id, "kind": "escalation",
                                  "due": _bind(max(now, told + ESCALATE_AFTER)),
                                  "now": _bind(now)})


def downgrade() -> None:
    """Revert this revision: the data it changed stays changed (nothing to undo safely)."""
