"""goal_cash_flows keyed by (tenant, goal, posted_at, transaction), without ix_goal_cash_flows_goal_time: the
key serves the period reads by itself, and each entry written now updates one index instead of two (the
entry's insert was the goal recalculation's largest statement; docs/goals-tracking.md#costs). A transaction
has one posting time, so a goal still has at most one entry per transaction.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 02:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('goal_cash_flows') as batch:
        batch.drop_index('ix_goal_cash_flows_goal_time')
        batch.drop_constraint('pk_goal_cash_flows', type_='primary')
        batch.create_primary_key('pk_goal_cash_flows', ['tenant_id', 'goal_id', 'posted_at', 'transaction_id'])


def downgrade() -> None:
    with op.batch_alter_table('goal_cash_flows') as batch:
        batch.drop_constraint('pk_goal_cash_flows', type_='primary')
        batch.create_primary_key('pk_goal_cash_flows', ['tenant_id', 'goal_id', 'transaction_id'])
        batch.create_index('ix_goal_cash_flows_goal_time', ['tenant_id', 'goal_id', 'posted_at'], unique=False)
