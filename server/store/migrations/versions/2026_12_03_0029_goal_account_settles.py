"""goal_account_settles: per target account, how many times the goal calculation settled it, so an event
whose accounts were settled twice since its postings were committed skips them
(docs/goals-tracking.md, "Hold, then allocate")

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 17:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'goal_account_settles',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.String(length=64), nullable=False),
        sa.Column('epoch', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'account_id'),
    )


def downgrade() -> None:
    op.drop_table('goal_account_settles')
