"""goals at a fillfactor of 70 on PostgreSQL: room on each page for the new versions of its goals' rows,
so that the recalculation's updates of saved amounts, statuses and milestone keys (no indexed column)
are heap-only, without an entry in each of the table's four indexes (docs/goals-tracking.md#costs).
Rows already stored move to such pages as they are rewritten.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE goals SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE goals RESET (fillfactor)")
