"""insight and event history: feed_items.origin, banner_events, campaign_steps, and the tenant-wide time
indexes the history views page through

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# The insights generated only on postings when this was written: their old items can only be EVENT.
# The scheduled ones were made by a batch or on demand, which nothing recorded: they stay NULL.
_EVENT_ONLY_INSIGHTS = ('LOW_BALANCE_WARNING', 'LARGE_DEPOSIT', 'LARGE_WITHDRAWAL', 'GOAL_MILESTONE')


def upgrade() -> None:
    with op.batch_alter_table('feed_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=12), nullable=True))
        batch_op.create_index('ix_feed_items_tenant_created', ['tenant_id', 'created_at', 'feed_item_id'],
                              unique=False)
    feed_items = sa.table('feed_items', sa.column('insight_name', sa.String), sa.column('origin', sa.String))
    op.execute(feed_items.update().where(feed_items.c.insight_name.in_(_EVENT_ONLY_INSIGHTS))
               .values(origin='EVENT'))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_tenant_created', ['tenant_id', 'created_at', 'delivery_id'], unique=False)
    with op.batch_alter_table('trigger_firings', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_firings_tenant_fired', ['tenant_id', 'fired_at', 'firing_id'], unique=False)
        batch_op.create_index('ix_trigger_firings_tenant_customer', ['tenant_id', 'customer_id', 'fired_at'],
                              unique=False)
    with op.batch_alter_table('journey_routes', schema=None) as batch_op:
        batch_op.create_index('ix_journey_routes_tenant_taken', ['tenant_id', 'taken_at', 'instance_id', 'sequence'],
                              unique=False)
    op.create_table(
        'banner_events',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('banner_id', sa.String(length=32), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('rule_id', sa.String(length=40), nullable=True),
        sa.Column('version', sa.Integer(), nullable=True),
        sa.Column('firing_id', sa.String(length=32), nullable=True),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'event_id'),
    )
    with op.batch_alter_table('banner_events', schema=None) as batch_op:
        batch_op.create_index('ix_banner_events_tenant_kind_occurred', ['tenant_id', 'kind', 'occurred_at', 'event_id'],
                              unique=False)
        batch_op.create_index('ix_banner_events_tenant_customer', ['tenant_id', 'customer_id', 'occurred_at'],
                              unique=False)
    op.create_table(
        'campaign_steps',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('step_id', sa.String(length=32), nullable=False),
        sa.Column('campaign_id', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('previous_state', sa.String(length=20), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'step_id'),
    )
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_steps_tenant_occurred', ['tenant_id', 'occurred_at', 'step_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('campaign_steps')
    op.drop_table('banner_events')
    with op.batch_alter_table('journey_routes', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_routes_tenant_taken')
    with op.batch_alter_table('trigger_firings', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_firings_tenant_customer')
        batch_op.drop_index('ix_trigger_firings_tenant_fired')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_tenant_created')
    with op.batch_alter_table('feed_items', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_items_tenant_created')
        batch_op.drop_column('origin')
