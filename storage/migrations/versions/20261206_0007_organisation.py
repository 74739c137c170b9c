"""organisation: teams, provider organisations, a case's provider, deputies

A user is in at most one team and a provider user in one provider organisation; a case names
at most one provider organisation; a deputy has an absent caseworker's access for a period.
Existing users and cases get none of them: nobody sees more than before the upgrade.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models.base

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _named(name: str) -> sa.Table:
    """A table of an id, a unique name and its creation time (teams, provider_orgs)."""
    return op.create_table(
        name,
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def upgrade() -> None:
    """Apply this revision."""
    for name in ('teams', 'provider_orgs'):
        _named(name)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(f'ix_{name}_name', ['name'], unique=True)

    op.create_table(
        'deputies',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('deputy_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('starts_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['deputy_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.create_index('ix_deputies_deputy_period', ['deputy_id', 'ends_at'],
                              unique=False)
        batch_op.create_index('ix_deputies_user_period', ['user_id', 'ends_at'], unique=False)

    # Plain ADD COLUMN, not batch mode: SQLite would copy and drop `users` and `cases`,
    # which every other table references. SQLite takes the reference inline (it cannot
    # ALTER constraints); PostgreSQL gets a named constraint.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, column, target in (('users', 'team_id', 'teams'),
                                  ('users', 'provider_id', 'provider_orgs'),
                                  ('cases', 'provider_id', 'provider_orgs')):
        if sqlite:
            op.execute(f'ALTER TABLE {table} ADD COLUMN {column} VARCHAR(32) '
                       f'REFERENCES {target} (id)')
        else:
            op.add_column(table, sa.Column(column, sqlmodel.sql.sqltypes.AutoString(length=32),
                                           nullable=True))
            op.create_foreign_key(f'fk_{table}_{column}', table, target, [column], ['id'])
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    for table, column in (('cases', 'provider_id'), ('users', 'provider_id'),
                          ('users', 'team_id')):
        op.drop_index(f'ix_{table}_{column}', table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            if op.get_bind().dialect.name != 'sqlite':
                batch_op.drop_constraint(f'fk_{table}_{column}', type_='foreignkey')
            batch_op.drop_column(column)

    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_index('ix_deputies_user_period')
        batch_op.drop_index('ix_deputies_deputy_period')
    op.drop_table('deputies')
    for name in ('provider_orgs', 'teams'):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{name}_name')
        op.drop_table(name)
