"""derived_refresh_days: the last day each tenant's derived-attribute refresh was requested, so that a
day whose first hour the workers missed is requested on their next hourly run (docs/personas.md)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 21:00:00.000000
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
        'derived_refresh_days',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('last_requested', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id'),
    )


def downgrade() -> None:
    op.drop_table('derived_refresh_days')
