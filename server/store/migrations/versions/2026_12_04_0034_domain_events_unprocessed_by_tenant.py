"""ix_domain_events_unprocessed: a tenant's unprocessed events by id, so that a handler kept in order
finds the earlier events it has not finished without reading the whole outbox (server.services.bus,
docs/events.md)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

_UNPROCESSED = sa.text('processed_at IS NULL')


def upgrade() -> None:
    op.create_index('ix_domain_events_unprocessed', 'domain_events', ['tenant_id', 'event_id'],
                    postgresql_where=_UNPROCESSED, sqlite_where=_UNPROCESSED)


def downgrade() -> None:
    op.drop_index('ix_domain_events_unprocessed', table_name='domain_events')
