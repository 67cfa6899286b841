"""payment due alerts: statements, scheduled_payments, payment_alerts

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('statements',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('statement_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('statement_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('minimum_due', sa.BigInteger(), nullable=False),
    sa.Column('statement_balance', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'statement_id', name=op.f('pk_statements'))
    )
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.create_index('ix_statements_tenant_due', ['tenant_id', 'due_date'], unique=False)
        batch_op.create_index('ix_statements_tenant_account_due', ['tenant_id', 'account_id', 'due_date'],
                              unique=False)
    op.create_table('scheduled_payments',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('scheduled_date', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'payment_id', name=op.f('pk_scheduled_payments'))
    )
    with op.batch_alter_table('scheduled_payments', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_payments_tenant_account', ['tenant_id', 'account_id', 'scheduled_date'],
                              unique=False)
    op.create_table('payment_alerts',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('alert_id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('days_before_due', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'alert_id', name=op.f('pk_payment_alerts'))
    )


def downgrade() -> None:
    op.drop_table('payment_alerts')
    op.drop_table('scheduled_payments')
    op.drop_table('statements')
