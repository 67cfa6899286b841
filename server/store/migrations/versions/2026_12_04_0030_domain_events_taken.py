"""domain_events.taken_by, taken_until: the bus job that has taken an event to handle it with others, and
until when, so that concurrent jobs take disjoint events (server.services.bus, docs/events.md)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 00:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('domain_events') as batch:
        batch.add_column(sa.Column('taken_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch.add_column(sa.Column('taken_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('domain_events') as batch:
        batch.drop_column('taken_until')
        batch.drop_column('taken_by')
