"""transactions without the foreign key to accounts

Ingestion checks every transaction's account itself (unknown accounts are rejected with
UNKNOWN_ACCOUNT) and accounts are never deleted, so the key only re-checked, row by row, what the
service had just read: about a fifth of PostgreSQL's work per ingested transaction (see README,
Benchmarks). On SQLite the table is rebuilt without it (batch mode).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:59:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_transactions_tenant_id_accounts'), type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_transactions_tenant_id_accounts'), 'accounts',
                                    ['tenant_id', 'account_id'], ['tenant_id', 'account_id'])
