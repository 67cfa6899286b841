"""The outbox's payloads compressed with lz4 on PostgreSQL, where the server was built with it: pglz
(the default) spent about 12 ns of the database's CPU a byte writing them, lz4 about a third of that,
and an event is written once and read once or twice (docs/events.md#costs). Rows written before keep
pglz: each row names its own method. SQLite: nothing to do.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

# A server built without lz4 refuses the method (feature_not_supported): it keeps pglz.
_SET_LZ4 = """
DO $$
BEGIN
    ALTER TABLE domain_events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not built in: domain_events.payload keeps pglz';
END $$
"""


def _has_set_compression() -> bool:
    # SET COMPRESSION came with PostgreSQL 14.
    bind = op.get_bind()
    version = bind.dialect.server_version_info
    return bind.dialect.name == 'postgresql' and version is not None and version >= (14,)


def upgrade() -> None:
    if _has_set_compression():
        op.execute(_SET_LZ4)


def downgrade() -> None:
    if _has_set_compression():
        op.execute("ALTER TABLE domain_events ALTER COLUMN payload SET COMPRESSION default")
