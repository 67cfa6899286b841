"""The migrations build exactly the schema the models describe, on both databases: a column, index or
type changed in the models without a migration (or the other way round) fails here, not in production."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from server.store import (  # noqa: F401  (registers its tables)
    audiences_models,
    engagement_models,
    goals_models,
    journeys_models,
    offers_models,
    payments_models,
    personas_models,
    products_models,
    triggers_models,
    wallet_models,
)
from server.store.models import Base


def _differences(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_the_check_sees_an_index_the_models_lack(database_url: str) -> None:
    # The comparison itself must be able to fail: an index only the database has is reported.
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE INDEX ix_only_in_database ON deliveries (address)")
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert [d[0] for d in differences] == ["remove_index"]
