"""feed_items' unique period key ordered (tenant, insight, period, customer) instead of (tenant, customer,
insight, period): the same uniqueness, but the items written together (an ingested day's low-balance
warnings, a month's batch) share insight and period, so their keys go to a few adjacent index pages
instead of one random page each. SQLite writes every page a transaction dirtied to its log: 720 items a
commit cost it 52-72 us an item before, 31-42 after; PostgreSQL 18-25 and 19-21 (docs/events.md#costs).
No reader used the key's customer prefix: one customer's items are read through
ix_feed_items_tenant_customer_created.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def _period_key(columns: list[str]) -> None:
    with op.batch_alter_table('feed_items') as batch:
        batch.drop_constraint('uq_feed_items_period', type_='unique')
        batch.create_unique_constraint('uq_feed_items_period', columns)


def upgrade() -> None:
    _period_key(['tenant_id', 'insight_name', 'period', 'customer_id'])


def downgrade() -> None:
    _period_key(['tenant_id', 'customer_id', 'insight_name', 'period'])
