"""Array parameters given as one text literal (server.store.array_literals): whatever the values, PostgreSQL
reads back the list it was given, element for element, NULLs, quotes, backslashes, braces, commas, spaces and
the word NULL included; a value PostgreSQL's text cannot hold is refused, as the list would be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.store.array_literals import boolean_array, integer_array, text_array
from tests.support.databases import PostgresDatabases

# Any text PostgreSQL's text holds (no NUL, no lone surrogate), the array syntax's own characters made likely.
texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00") | st.sampled_from(
    ['"', "\\", "{", "}", ",", " ", "\t", "\n", "'"]), max_size=12) | st.sampled_from(["NULL", "null", "", " "])
bigints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest_asyncio.fixture
async def connection(postgres_databases: PostgresDatabases | None) -> AsyncIterator[asyncpg.Connection]:
    if postgres_databases is None:  # (in CI the fixture fails instead)
        pytest.skip("PostgreSQL is not running here")
    opened = await asyncpg.connect(postgres_databases.admin_url)
    yield opened
    await opened.close()


@EXAMPLES
@given(values=st.lists(st.none() | texts, max_size=30))
async def test_text_arrays_read_back_as_given(connection: asyncpg.Connection, values: list[str | None]) -> None:
    assert await connection.fetchval("SELECT $1::text::text[]", text_array(values)) == values


@EXAMPLES
@given(values=st.lists(st.none() | bigints, max_size=30))
async def test_integer_arrays_read_back_as_given(connection: asyncpg.Connection, values: list[int | None]) -> None:
    assert await connection.fetchval("SELECT $1::text::bigint[]", integer_array(values)) == values


@EXAMPLES
@given(values=st.lists(st.none() | st.booleans(), max_size=30))
async def test_boolean_arrays_read_back_as_given(connection: asyncpg.Connection, values: list[bool | None]) -> None:
    assert await connection.fetchval("SELECT $1::text::boolean[]", boolean_array(values)) == values


async def test_a_value_text_cannot_hold_is_refused_as_the_list_is(connection: asyncpg.Connection) -> None:
    values = ["a", "b\x00c", "d"]
    with pytest.raises(asyncpg.exceptions.CharacterNotInRepertoireError):
        await connection.fetchval("SELECT $1::text[]", values)
    with pytest.raises(asyncpg.exceptions.CharacterNotInRepertoireError):
        await connection.fetchval("SELECT $1::text::text[]", text_array(values))


def test_only_integers_make_an_integer_array() -> None:
    assert integer_array([True, 2]) == "{1,2}"  # a bool is an int, as asyncpg takes it
    for wrong in ([1.5], ["7"], [None, 2.0]):
        with pytest.raises(TypeError):
            integer_array(wrong)  # type: ignore[arg-type]
