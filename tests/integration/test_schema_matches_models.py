"""The migrations build exactly the schema the models describe, on both databases: a column, index or
type changed in the models without a migration (or the other way round) fails here, not in production."""

from __future__ import annotations

from typing import Any

import pytest
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


async def test_the_migrated_tables_have_the_storage_options_of_the_models(database_url: str) -> None:
    # Autogenerate does not compare a table's storage parameters (`postgresql_with`, e.g. goals' fillfactor):
    # each table's options in the models are the migrated table's, and no table has options the models lack.
    if not database_url.startswith("postgresql"):
        pytest.skip("storage parameters are PostgreSQL's")
    expected = {name: sorted(f"{key}={value}" for key, value in options.items())
                for name, table in Base.metadata.tables.items()
                if (options := table.dialect_options["postgresql"].get("with"))}
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' AND reloptions IS NOT NULL "
                "AND relnamespace = 'public'::regnamespace")
            found = {name: sorted(options) for name, options in rows}
    finally:
        await engine.dispose()
    assert expected == {"goals": ["fillfactor=70"]}
    assert found == expected
