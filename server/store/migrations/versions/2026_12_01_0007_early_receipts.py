"""early_receipts: delivery reports that came before their message was recorded as sent

A fast provider can report delivery while the worker that sent the message still waits on other sends
of its batch; such a report matched no message and was dropped, leaving the message SENT for good.
It is now kept here until the relay sweep finds its message (an hour at most).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'early_receipts',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('receipt_id', sa.String(length=40), nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=False),
        sa.Column('provider_message_id', sa.String(length=200), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('error_code', sa.String(length=64), nullable=False),
        sa.Column('error_message', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'receipt_id', name=op.f('pk_early_receipts')),
    )
    with op.batch_alter_table('early_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_early_receipts_message', ['tenant_id', 'provider', 'provider_message_id'],
                              unique=False)
        batch_op.create_index('ix_early_receipts_received', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_table('early_receipts')
