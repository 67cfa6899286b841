"""campaign_steps: an index on (tenant_id, campaign_id, occurred_at, step_id), for the event history's
campaign filter (one campaign's steps in time order)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 14:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_steps_tenant_campaign',
                              ['tenant_id', 'campaign_id', 'occurred_at', 'step_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_steps_tenant_campaign')
