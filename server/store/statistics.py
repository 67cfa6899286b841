"""Planner statistics on PostgreSQL. Its plans rest on what ANALYZE gathers, which autovacuum does in
the background; where autovacuum is off, or has not come round yet, a table that was never analyzed
is planned as if it were nearly empty. For accounts that means checking each ingested transaction's
account through the wrong index: a scan of the tenant's accounts per row, about twenty times slower.
So the first write that fills such a table analyzes it, once (ANALYZE samples a bounded number of
rows: a fraction of a second even on a large table). Later growth only ages the statistics, which
the planner scales by the table's current size; keeping them fresh stays autovacuum's job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:  # server.store.db gives each Database one of these
    from server.store.db import Database


class PlannerStatistics:
    """Remembers which tables are known to have statistics, so that the check costs a set lookup on
    the hot path once they have."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._known: set[str] = set()

    async def ensure(self, *tables: str) -> list[str]:
        """Analyzes those of the tables that hold rows but were never analyzed; returns their names.
        A no-op on SQLite, which plans from its indexes alone."""
        missing = [t for t in tables if t not in self._known]
        if not missing or self._database.dialect != "postgresql":
            return []
        analyzed = []
        async with self._database.engine.connect() as connection:
            # reltuples is -1 until the first ANALYZE (or VACUUM) of the table.
            rows = await connection.execute(text(
                "SELECT relname, reltuples >= 0 FROM pg_class "
                "WHERE relname = ANY(:names) AND relkind = 'r' AND pg_table_is_visible(oid)"), {"names": missing})
            for name, has_statistics in rows.all():
                if has_statistics:
                    self._known.add(name)
                    continue
                if await connection.scalar(text(f'SELECT EXISTS (SELECT FROM "{name}")')):
                    await connection.execute(text(f'ANALYZE "{name}"'))
                    self._known.add(name)
                    analyzed.append(name)
            await connection.commit()
        return analyzed
