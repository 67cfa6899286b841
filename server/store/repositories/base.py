"""What every repository shares: a session and the one tenant it may touch."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.goals.reports import Period
from server.store.driver import dialect_of, rowcount


def within(column: Any, period: Period) -> list[ColumnElement[bool]]:
    """`column` in [start, end): the conditions of the ends the period has (none when open)."""
    conditions = []
    if period.start is not None:
        conditions.append(column >= period.start)
    if period.end is not None:
        conditions.append(column < period.end)
    return conditions


class TenantRepository:
    """Bound to one tenant at construction: no method takes or can reach another tenant's rows."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        if not tenant_id:
            raise ValueError("a repository needs a tenant")
        self.session = session
        self.tenant_id = tenant_id

    async def hold_row(self, column: Any, key: str) -> bool:
        """Holds the tenant's row whose `column` is `key` until the transaction ends, by a write that
        changes nothing: PostgreSQL locks the row, SQLite the database (its reads otherwise run outside
        the transaction, and FOR UPDATE means nothing to it). For rules that read a row or count rows
        and then write, when requests at the same moment must see each other's writes. False when
        there is no such row."""
        table = column.table
        result = await self.session.execute(
            update(table).where(table.c.tenant_id == self.tenant_id, column == key).values({column.key: column}),
            execution_options={"synchronize_session": False})
        return bool(rowcount(result))

    def one_of(self, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
        """`column IN values`. On PostgreSQL as `= ANY(array)`, one parameter: the statement then
        compiles once, where IN renders (and SQLAlchemy re-renders on every call) a parameter per value,
        which for hundreds of ids cost more than the query. The array is a bound list, never a cast text
        literal: see server.store.array_literals for why a literal stays out of WHERE."""
        if dialect_of(self.session).name != "postgresql":
            return column.in_(values)
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))

    def upsert(self, table: Any) -> Any:
        """INSERT with ON CONFLICT support, in the current database's dialect."""
        return dialect_insert(dialect_of(self.session).name)(table)


def dialect_insert(dialect: str) -> Any:
    """The insert() with ON CONFLICT support of a dialect, for statements built once per dialect."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def storable(provider_text: str, limit: int) -> str:
    """What a provider said (ids, codes, messages: any text its answer held), as its column keeps it:
    cut to the column's size, and without NUL, which PostgreSQL's text cannot hold (refused, it would
    fail the recording of a whole batch of answers, and the sent ones would be sent again)."""
    return provider_text.replace("\x00", "")[:limit]
