"""case close reason: why a case was closed, sealed with the case's key

`stemme case close --reason` (and the dashboard and API) keep the caseworker's words with the
case, sealed like its other fields, so that erasing the case erases them too; the audit log,
which is never erased, only says that a reason was given.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_reason', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('closed_reason')
