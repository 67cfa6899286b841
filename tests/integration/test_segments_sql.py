"""Segment expressions compiled to SQL select exactly the customers the in-memory evaluator accepts,
on SQLite and PostgreSQL: random expressions over a small typed catalogue, random customers (unset
attributes, defaults, holdings) in real tables of a fresh database of each kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    MetaData,
    String,
    Table,
    delete,
    exists,
    insert,
    select,
)
from sqlalchemy.types import TypeEngine

from server.domain.segments.attributes import AttributeDefinition, AttributeType
from server.domain.segments.evaluate import CustomerFacts, evaluate
from server.domain.segments.expression import Expression, render
from server.domain.segments.parser import parse_expression
from server.store.db import Database, open_database
from server.store.segments_sql import compile_segment
from server.store.types import ScaledAmount
from tests.support.segment_strategies import ATTRIBUTES, CATALOGUE, customers, expressions

# A typed table per attribute type, as a store of typed attributes would keep them.
SQL_TYPES: dict[AttributeType, TypeEngine[Any]] = {
    AttributeType.BOOL: Boolean(), AttributeType.INT: BigInteger(), AttributeType.DECIMAL: ScaledAmount(),
    AttributeType.STRING: String(64), AttributeType.ENUM: String(16), AttributeType.DATE: Date(),
}
metadata = MetaData()
people = Table("segment_probe_customers", metadata, Column("customer_id", String(8), primary_key=True),
               *(Column(d.name, SQL_TYPES[d.type], nullable=True) for d in ATTRIBUTES))
held = Table("segment_probe_holdings", metadata, Column("customer_id", String(8), primary_key=True),
             Column("kind", String(32), primary_key=True))


def attribute_column(definition: AttributeDefinition) -> Any:
    return people.c[definition.name]


def holds(kind: str) -> Any:
    return exists().where(held.c.customer_id == people.c.customer_id, held.c.kind == kind)


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    # A fresh database of its own (tests/conftest.py), dropped after the test with these tables.
    opened = open_database(database_url)
    async with opened.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield opened
    async with opened.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
    await opened.dispose()


async def _selected(database: Database, expression: Expression, group: list[CustomerFacts]) -> set[str]:
    async with database.sessions() as session:
        await session.execute(delete(held))
        await session.execute(delete(people))
        if group:
            await session.execute(insert(people), [
                {"customer_id": f"c{i}", **{d.name: facts.attributes.get(d.name) for d in ATTRIBUTES}}
                for i, facts in enumerate(group)])
        rows = [{"customer_id": f"c{i}", "kind": kind} for i, facts in enumerate(group) for kind in facts.holdings]
        if rows:
            await session.execute(insert(held), rows)
        found = await session.execute(
            select(people.c.customer_id).where(compile_segment(expression, attribute_column, holds)))
        await session.commit()
        return {row.customer_id for row in found}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expression=expressions, group=st.lists(customers, max_size=8))
async def test_sql_selects_exactly_the_customers_the_evaluator_accepts(
        database: Database, expression: Expression, group: list[CustomerFacts]) -> None:
    # Through the text too: what a persona stores is its expression's text.
    parsed = parse_expression(render(expression), CATALOGUE)
    expected = {f"c{i}" for i, facts in enumerate(group) if evaluate(parsed, facts)}
    assert await _selected(database, parsed, group) == expected
