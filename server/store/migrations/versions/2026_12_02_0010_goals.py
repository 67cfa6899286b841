"""goals: enrolments, goals and their cash flows, the customer history, funding programmes and transfers

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('funding_programmes',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('programme_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('goal_id', sa.String(length=40), nullable=False),
    sa.Column('source_account_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=120), nullable=True),
    sa.Column('planned_through', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'programme_id', name=op.f('pk_funding_programmes')),
    sa.UniqueConstraint('tenant_id', 'customer_id', 'request_id', name='uq_funding_programmes_request')
    )
    with op.batch_alter_table('funding_programmes', schema=None) as batch_op:
        batch_op.create_index('ix_funding_programmes_goal', ['tenant_id', 'customer_id', 'goal_id'], unique=False)

    op.create_table('goal_cash_flows',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('goal_id', sa.String(length=40), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'goal_id', 'transaction_id', name=op.f('pk_goal_cash_flows'))
    )
    with op.batch_alter_table('goal_cash_flows', schema=None) as batch_op:
        batch_op.create_index('ix_goal_cash_flows_goal_time', ['tenant_id', 'goal_id', 'posted_at'], unique=False)

    op.create_table('goal_enrolments',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('milestones', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=120), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', name=op.f('pk_goal_enrolments'))
    )
    op.create_table('goal_history',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('entry_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('goal_id', sa.String(length=40), nullable=True),
    sa.Column('resource', sa.String(length=256), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'entry_id', name=op.f('pk_goal_history'))
    )
    with op.batch_alter_table('goal_history', schema=None) as batch_op:
        batch_op.create_index('ix_goal_history_customer_time', ['tenant_id', 'customer_id', 'at'], unique=False)
        batch_op.create_index('ix_goal_history_tenant_time', ['tenant_id', 'at'], unique=False)

    op.create_table('goal_transfers',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('transfer_id', sa.String(length=40), nullable=False),
    sa.Column('programme_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('goal_id', sa.String(length=40), nullable=False),
    sa.Column('period_key', sa.String(length=80), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('source_account_id', sa.String(length=64), nullable=False),
    sa.Column('target_account_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.String(length=256), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'transfer_id', name=op.f('pk_goal_transfers')),
    sa.UniqueConstraint('tenant_id', 'programme_id', 'period_key', name='uq_goal_transfers_period')
    )
    with op.batch_alter_table('goal_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_goal_transfers_customer', ['tenant_id', 'customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_goal_transfers_unpublished', ['published_at'], unique=False)

    op.create_table('goals',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('goal_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('saved', sa.BigInteger(), nullable=False),
    sa.Column('milestones', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('achieved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'goal_id', name=op.f('pk_goals')),
    sa.UniqueConstraint('tenant_id', 'customer_id', 'request_id', name='uq_goals_request')
    )
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.create_index('ix_goals_tenant_account', ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index('ix_goals_tenant_customer', ['tenant_id', 'customer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.drop_index('ix_goals_tenant_customer')
        batch_op.drop_index('ix_goals_tenant_account')

    op.drop_table('goals')
    with op.batch_alter_table('goal_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_goal_transfers_unpublished')
        batch_op.drop_index('ix_goal_transfers_customer')

    op.drop_table('goal_transfers')
    with op.batch_alter_table('goal_history', schema=None) as batch_op:
        batch_op.drop_index('ix_goal_history_tenant_time')
        batch_op.drop_index('ix_goal_history_customer_time')

    op.drop_table('goal_history')
    op.drop_table('goal_enrolments')
    with op.batch_alter_table('goal_cash_flows', schema=None) as batch_op:
        batch_op.drop_index('ix_goal_cash_flows_goal_time')

    op.drop_table('goal_cash_flows')
    with op.batch_alter_table('funding_programmes', schema=None) as batch_op:
        batch_op.drop_index('ix_funding_programmes_goal')

    op.drop_table('funding_programmes')
