"""triggers: rules and versions, account day series, rule states, firings, banners

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 03:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trigger_rules',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('condition', sa.Text(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('active_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cooldown_seconds', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.String(length=1000), nullable=True),
    sa.Column('latest_backtest', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'rule_id', name=op.f('pk_trigger_rules'))
    )
    with op.batch_alter_table('trigger_rules', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_rules_status', ['tenant_id', 'status'], unique=False)

    op.create_table('trigger_rule_versions',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'rule_id', 'version', name=op.f('pk_trigger_rule_versions'))
    )
    op.create_table('trigger_account_days',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('closing_balance', sa.BigInteger(), nullable=True),
    sa.Column('fed_balance', sa.BigInteger(), nullable=True),
    sa.Column('min_balance', sa.BigInteger(), nullable=True),
    sa.Column('postings', sa.Integer(), nullable=False),
    sa.Column('posting_total', sa.BigInteger(), nullable=False),
    sa.Column('overdraft_began', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'account_id', 'day', name=op.f('pk_trigger_account_days'))
    )
    op.create_table('trigger_rule_states',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('true_since', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'rule_id', 'version', 'account_id', name=op.f('pk_trigger_rule_states'))
    )
    op.create_table('trigger_firings',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('firing_id', sa.String(length=32), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('dedupe_key', sa.String(length=80), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'firing_id', name=op.f('pk_trigger_firings')),
    sa.UniqueConstraint('tenant_id', 'rule_id', 'account_id', 'dedupe_key', name='uq_trigger_firings_dedupe')
    )
    with op.batch_alter_table('trigger_firings', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_firings_cooldown', ['tenant_id', 'rule_id', 'customer_id', 'fired_at'],
                              unique=False)
        batch_op.create_index('ix_trigger_firings_rule', ['tenant_id', 'rule_id', 'firing_id'], unique=False)

    op.create_table('banners',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('banner_id', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('firing_id', sa.String(length=32), nullable=True),
    sa.Column('suggestion_id', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('cta_label', sa.String(length=40), nullable=False),
    sa.Column('cta_url', sa.String(length=2000), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('impressions', sa.Integer(), nullable=False),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'banner_id', name=op.f('pk_banners'))
    )
    with op.batch_alter_table('banners', schema=None) as batch_op:
        batch_op.create_index('ix_banners_customer', ['tenant_id', 'customer_id', 'expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('banners')
    op.drop_table('trigger_firings')
    op.drop_table('trigger_rule_states')
    op.drop_table('trigger_account_days')
    op.drop_table('trigger_rule_versions')
    op.drop_table('trigger_rules')
