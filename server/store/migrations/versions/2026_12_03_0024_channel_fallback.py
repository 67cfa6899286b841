"""channel fallback and push credentials per app: event_types.fallback, the fallback chain's marks on
deliveries, channel_configs.app_id

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fallback', sa.JSON(), nullable=True))
    with op.batch_alter_table('channel_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('app_id', sa.String(length=40), server_default='', nullable=False))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fallback_step', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('fallback_state', sa.String(length=12), server_default='', nullable=False))
        batch_op.add_column(sa.Column('fallback_wait_seconds', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('fallback_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fallback_deadline', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fallback_ended_at', sa.DateTime(timezone=True), nullable=True))
        # The sweep's scan: only the current steps of running chains have a deadline.
        batch_op.create_index('ix_deliveries_fallback_deadline', ['fallback_deadline'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_fallback_deadline')
        for column in ('fallback_ended_at', 'fallback_deadline', 'fallback_started_at', 'fallback_wait_seconds',
                       'fallback_state', 'fallback_step'):
            batch_op.drop_column(column)
    with op.batch_alter_table('channel_configs', schema=None) as batch_op:
        batch_op.drop_column('app_id')
    with op.batch_alter_table('event_types', schema=None) as batch_op:
        batch_op.drop_column('fallback')
