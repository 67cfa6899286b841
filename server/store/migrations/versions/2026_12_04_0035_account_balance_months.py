"""account_balance_months: of each account and calendar month, bounds of every balance value its postings
show, kept with the transactions, so that a backtest's pre-filter reads only each account's last month that
can pass a threshold (server.store.repositories.balance_months, docs/triggers.md#backtest); filled from the
transactions stored

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.store.repositories.balance_months import fill_statement

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_balance_months',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.String(length=64), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('low', sa.BigInteger(), nullable=False),
        sa.Column('high', sa.BigInteger(), nullable=False),
        sa.Column('uncovered', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'account_id', 'month'),
    )
    op.execute(fill_statement(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table('account_balance_months')
