"""bank notifications: the staff inbox, the bank's webhook, webhook deliveries and their attempts

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 03:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_notifications',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('notification_id', sa.String(length=40), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('firing_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'notification_id', name=op.f('pk_bank_notifications'))
    )
    op.create_index('ix_bank_notifications_status', 'bank_notifications', ['tenant_id', 'status', 'created_at'])
    op.create_index('ix_bank_notifications_created', 'bank_notifications', ['tenant_id', 'created_at'])
    op.create_table('notification_webhooks',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('sealed_secret', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_notification_webhooks'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('delivery_id', sa.String(length=40), nullable=False),
    sa.Column('notification_id', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'delivery_id', name=op.f('pk_webhook_deliveries'))
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_webhook_deliveries_created', 'webhook_deliveries', ['tenant_id', 'created_at'])
    op.create_index('ix_webhook_deliveries_notification', 'webhook_deliveries', ['tenant_id', 'notification_id'])
    op.create_table('webhook_attempts',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('delivery_id', sa.String(length=40), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'delivery_id', 'attempt', name=op.f('pk_webhook_attempts'))
    )


def downgrade() -> None:
    op.drop_table('webhook_attempts')
    op.drop_index('ix_webhook_deliveries_notification', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_created', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('notification_webhooks')
    op.drop_index('ix_bank_notifications_created', table_name='bank_notifications')
    op.drop_index('ix_bank_notifications_status', table_name='bank_notifications')
    op.drop_table('bank_notifications')
