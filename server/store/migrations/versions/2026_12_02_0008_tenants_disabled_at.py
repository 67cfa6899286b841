"""tenants.disabled_at: operators disable a tenant without deleting it

A disabled tenant's tokens are refused and its sends and scheduled work wait (engagectl tenants disable);
only a disabled tenant may be deleted. Null = enabled, which every existing tenant is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
