"""audit sequence: entries numbered without gaps, keyed hashes, TRUNCATE refused

Entries get `seq` (1, 2, 3, ... in the order written) so that `audit verify` can tell a
deleted tail or a gap from an id the database skipped, and `key_id`, set on entries whose
hash is an HMAC under the audit key; the entries written before stay plain SHA-256 and are
sealed by the first keyed entry, which chains to them. `detail` becomes text: a list view's
entry names every case on the list. On PostgreSQL TRUNCATE is refused like UPDATE and
DELETE.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.alter_column('detail', type_=sa.Text(), existing_type=sa.String(length=500),
                              existing_nullable=False)
    if postgres:
        # Numbering the old entries is the one rewrite the log ever gets.
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.execute("UPDATE audit_log SET seq = numbered.n FROM (SELECT id, row_number() OVER "
               "(ORDER BY id) AS n FROM audit_log) AS numbered WHERE audit_log.id = numbered.id")
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION stemme_audit_log_append_only()")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_seq'), ['seq'], unique=True)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_seq'))
        batch_op.alter_column('detail', type_=sa.String(length=500), existing_type=sa.Text(),
                              existing_nullable=False)
        batch_op.drop_column('key_id')
        batch_op.drop_column('seq')
