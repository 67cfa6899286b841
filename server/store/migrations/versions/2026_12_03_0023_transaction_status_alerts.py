"""transaction_authorizations: PENDING and DECLINED transactions, apart from the booked ones

Only booked transactions live in `transactions`, so every reader of it (balances, insights, goals,
triggers, personas) keeps counting booked money only. Transaction alert conditions gain `statuses`,
`balance_below` and `baseline` inside their JSON column: no schema change for them.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'transaction_authorizations',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('transaction_id', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('signed_amount', sa.BigInteger(), nullable=False),
        sa.Column('direction', sa.String(length=6), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=128), nullable=False),
        sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'transaction_id', name=op.f('pk_transaction_authorizations')),
    )
    with op.batch_alter_table('transaction_authorizations', schema=None) as batch_op:
        batch_op.create_index('ix_transaction_authorizations_tenant_account_posted',
                              ['tenant_id', 'account_id', 'posted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transaction_authorizations', schema=None) as batch_op:
        batch_op.drop_index('ix_transaction_authorizations_tenant_account_posted')
    op.drop_table('transaction_authorizations')
