"""Statements of the hottest request paths, run on PostgreSQL's driver connection.

SQLAlchemy builds each statement (one definition of the SQL, from the same tables as everywhere else)
and compiles it once per dialect; on PostgreSQL it then runs on asyncpg's own connection, the one the
unit of work holds, with SQLAlchemy's bind and result processing of each column applied here. Going
through a session's execute costs about 100 us of Python per statement on top of the driver's 50, and
TriggerEvent is made of a handful of statements. Elsewhere (SQLite) statements run through the session.

A statement run on a connection with no transaction open commits on its own. Reads may; a write does
only in a unit of work that declared it writes with that one statement (`SINGLE_STATEMENT_WRITE`),
and otherwise joins the unit of work's transaction, through the session if none is open yet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Result
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any] | None
_REQUIRED = object()  # a bound parameter the caller must give

# Session.info key set by a unit of work whose only write is one statement, atomic by itself.
SINGLE_STATEMENT_WRITE = "engage.single_statement_write"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # In the order of the statement's $n placeholders: name, processor, the value the statement carries.
    binds: tuple[tuple[str, Processor, Any], ...]
    results: tuple[Processor, ...]  # one per selected or returned column

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = [params[name] if name in params or own is _REQUIRED else own for name, _, own in self.binds]
        return [value if processor is None else processor(value)
                for value, (_, processor, _) in zip(values, self.binds, strict=True)]

    def row(self, values: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(value if processor is None else processor(value)
                     for value, processor in zip(values, self.results, strict=True))


# Per dialect (the engine's, with its JSON serialisers), per statement object: statements given here are
# built once (module level or a bounded cache), and each is compiled once and kept.
_compiled: weakref.WeakKeyDictionary[Dialect, dict[int, tuple[ClauseElement, _Compiled]]] = \
    weakref.WeakKeyDictionary()


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    by_statement = _compiled.setdefault(dialect, {})
    known = by_statement.get(id(statement))
    if known is not None and known[0] is statement:
        return known[1]
    made = _compile_now(statement, dialect)
    by_statement[id(statement)] = (statement, made)
    return made


def _compile_now(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))  # what a statement compiles to
    binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
                   _REQUIRED if compiled.binds[name].required else compiled.binds[name].effective_value)
                  for name in compiled.positiontup or ())
    columns = list(getattr(statement, "selected_columns", None) or ())
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    return _Compiled(compiled.string, binds, results)


@contextlib.asynccontextmanager
async def _driver_connection(session: AsyncSession) -> AsyncIterator[Any]:
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:  # only a connection already closed has none
        raise RuntimeError("the session's connection has no driver connection")
    try:
        yield driver
    except BaseException as error:
        # SQLAlchemy invalidates a connection that was lost under its own execute; one lost under the
        # driver's is invalidated here, so that the pool does not hand it out again. So is one whose
        # statement the driver gave up on (the database went silent, see db.py): rolling it back would
        # wait as long again.
        if isinstance(error, TimeoutError):
            driver.terminate()  # at once: SQLAlchemy's invalidate would first try an orderly close
        if driver.is_closed():
            await connection.invalidate()
        raise


def dialect_of(session: AsyncSession) -> Dialect:
    """The dialect of the engine the session is bound to (every session here is made bound)."""
    if session.bind is None:
        raise RuntimeError("the session is bound to no engine")
    return session.bind.dialect


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched. Session.execute() is typed as returning a Result for any
    statement; for these it is a CursorResult, which has the count."""
    return cast(CursorResult[*tuple[Any, ...]], result).rowcount


def _on_driver(session: AsyncSession) -> bool:
    return dialect_of(session).name == "postgresql"


async def fetch_all(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a SELECT, as tuples in the statement's column order."""
    if not _on_driver(session):
        return [tuple(row) for row in (await session.execute(statement, params)).all()]
    compiled = _compile(statement, dialect_of(session))  # type: ignore[arg-type]
    async with _driver_connection(session) as driver:
        rows = await driver.fetch(compiled.sql, *compiled.arguments(params))
    return [compiled.row(row) for row in rows]


async def fetch_sql(session: AsyncSession, sql: str, *arguments: Any) -> list[Any]:
    """The rows of a SELECT written for asyncpg ($n placeholders) as the driver's records, no value
    processed (the caller decodes): for reads of many thousands of rows, where SQLAlchemy's result rows
    cost more than the statement. PostgreSQL only."""
    async with _driver_connection(session) as driver:
        return cast(list[Any], await driver.fetch(sql, *arguments))


async def execute(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> int:
    """Runs a write; returns the rows it changed."""
    if not _on_driver(session):
        result = await session.execute(statement, params)
        return rowcount(result)
    async with _driver_connection(session) as driver:
        if not driver.is_in_transaction() and not session.info.get(SINGLE_STATEMENT_WRITE):
            # The unit of work may write more: the session opens its transaction with this statement.
            result = await session.execute(statement, params)
            return rowcount(result)
        compiled = _compile(statement, dialect_of(session))  # type: ignore[arg-type]
        status: str = await driver.execute(compiled.sql, *compiled.arguments(params))
    # asyncpg answers with the command tag, e.g. "INSERT 0 3" or "UPDATE 2".
    return int(status.rsplit(" ", 1)[-1])


# COPY's statements, compiled: a few shapes per export (each view's filters, the page's bound kinds), kept
# for the most recent ones only (filters name customers, campaigns: the shapes are many over a server's life).
_copy_compiled: OrderedDict[tuple[int, int], tuple[ClauseElement, _Compiled]] = OrderedDict()
_COPY_COMPILED_KEPT = 64


async def copy_csv(session: AsyncSession, statement: ClauseElement, params: Mapping[str, Any]) -> tuple[bytes, int]:
    """The rows of a SELECT as CSV that PostgreSQL writes itself (COPY ... TO STDOUT WITH CSV): the bytes and
    the number of rows. PostgreSQL only. COPY takes no parameters: each is written into the statement as a
    literal (_literal), from the values bound to it and `params`. Build the statement once per shape, with
    bindparams for what changes from page to page: its compilation is then kept."""
    if not _on_driver(session):
        raise RuntimeError("COPY is PostgreSQL's")
    dialect = dialect_of(session)
    key = (id(dialect), id(statement))
    known = _copy_compiled.get(key)
    if known is None or known[0] is not statement:
        known = (statement, _compile_now(statement, dialect))
        _copy_compiled[key] = known
        if len(_copy_compiled) > _COPY_COMPILED_KEPT:
            _copy_compiled.popitem(last=False)
    else:
        _copy_compiled.move_to_end(key)
    compiled = known[1]
    values = compiled.arguments(params)
    sql = _PLACEHOLDER.sub(lambda found: _literal(values[int(found.group(1)) - 1]), compiled.sql)
    parts: list[bytes] = []

    async def collect(data: bytes) -> None:
        parts.append(data)

    async with _driver_connection(session) as driver:
        status: str = await driver.copy_from_query(sql, output=collect, format="csv")
    # The command tag: "COPY 5000".
    return b"".join(parts), int(status.rsplit(" ", 1)[-1])


# A statement compiled for asyncpg names its parameters $1, $2, ...; every value in it is one (SQLAlchemy
# writes no literal of its own), so each $n outside an identifier is a parameter.
_PLACEHOLDER = re.compile(r"\$(\d+)\b")


def _literal(value: Any) -> str:
    """A bound value as an SQL literal, by its Python type. Text is an escape string (E'...', backslash and
    quote doubled): the same whatever standard_conforming_strings says."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not written: give a timezone")
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("PostgreSQL's text cannot hold NUL")
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(map(_literal, value)) + "]::text[]" if value else "'{}'::text[]"
    raise TypeError(f"no SQL literal for a {type(value).__name__}")
