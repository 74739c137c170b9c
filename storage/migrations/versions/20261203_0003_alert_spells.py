"""alert spells: a rule's alert row is cleared when its condition no longer holds

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        # Null: the spell is open (the rule still holds, or the alert is a safety alert).
        batch_op.add_column(sa.Column('cleared_at', storage.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('cleared_at')
