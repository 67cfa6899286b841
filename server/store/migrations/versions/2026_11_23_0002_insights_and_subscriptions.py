"""insights

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:10:52.759454
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feed_interactions',
    sa.Column('interaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('feed_item_id', sa.String(length=32), nullable=False),
    sa.Column('interaction', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('interaction_id', name=op.f('pk_feed_interactions'))
    )
    with op.batch_alter_table('feed_interactions', schema=None) as batch_op:
        batch_op.create_index('ix_feed_interactions_item', ['tenant_id', 'feed_item_id'], unique=False)

    op.create_table('feed_items',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('feed_item_id', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('insight_name', sa.String(length=100), nullable=False),
    sa.Column('period', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('last_interaction', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'feed_item_id', name=op.f('pk_feed_items')),
    sa.UniqueConstraint('tenant_id', 'customer_id', 'insight_name', 'period', name='uq_feed_items_period')
    )
    with op.batch_alter_table('feed_items', schema=None) as batch_op:
        batch_op.create_index('ix_feed_items_tenant_customer_created', ['tenant_id', 'customer_id', 'created_at'], unique=False)

    op.create_table('insight_batch_chunks',
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('chunk_number', sa.Integer(), nullable=False),
    sa.Column('first_customer_id', sa.String(length=64), nullable=False),
    sa.Column('last_customer_id', sa.String(length=64), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('batch_id', 'chunk_number', name=op.f('pk_insight_batch_chunks'))
    )
    op.create_table('insight_batches',
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('total_chunks', sa.Integer(), nullable=False),
    sa.Column('done_chunks', sa.Integer(), nullable=False),
    sa.Column('users_evaluated', sa.BigInteger(), nullable=False),
    sa.Column('items_generated', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_insight_batches')),
    sa.UniqueConstraint('tenant_id', 'as_of', name='uq_insight_batches_as_of')
    )
    op.create_table('subscription_changes',
    sa.Column('change_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('insight_name', sa.String(length=100), nullable=False),
    sa.Column('changed_by', sa.String(length=128), nullable=False),
    sa.Column('changed_by_role', sa.String(length=16), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('change_id', name=op.f('pk_subscription_changes'))
    )
    with op.batch_alter_table('subscription_changes', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_changes_tenant_customer', ['tenant_id', 'customer_id', 'change_id'], unique=False)

    op.create_table('subscription_settings',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('insight_name', sa.String(length=100), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_subscription_settings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'insight_name', name=op.f('pk_subscription_settings'))
    )


def downgrade() -> None:
    op.drop_table('subscription_settings')
    with op.batch_alter_table('subscription_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_changes_tenant_customer')

    op.drop_table('subscription_changes')
    op.drop_table('insight_batches')
    op.drop_table('insight_batch_chunks')
    with op.batch_alter_table('feed_items', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_items_tenant_customer_created')

    op.drop_table('feed_items')
    with op.batch_alter_table('feed_interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_interactions_item')

    op.drop_table('feed_interactions')
