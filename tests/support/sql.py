"""Plain SQL against a test database, outside the store's code: what migration tests write before an
upgrade and read after it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def execute_sql(url: str, sql: str, parameters: dict[str, object] | None = None) -> list[tuple[object, ...]]:
    """Runs one statement in its own transaction; returns its rows (none for a statement without)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql), parameters or {})
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()
