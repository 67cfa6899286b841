"""Keyset paging (AIP-158's page tokens carry the last key of the previous page): one page of a query
ordered by a key, starting after a given key.

Not OFFSET: a page costs the same wherever it starts, and rows written between two requests neither
repeat nor go missing from the rows already passed. The key must be unique in the query's rows (end it
with an id), or rows tied on the whole key at a page boundary would be skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

# Any select, of any number of columns.
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def keyset_page(query: S, key: Sequence[ColumnElement[Any] | QueryableAttribute[Any]], after: Sequence[Any] | None,
                limit: int, *, descending: bool = False) -> S:
    """`query` restricted to the rows after `after` (the values of `key`'s columns in one row, or None
    for the first page), ordered by `key` and cut to `limit` rows (list services ask one row more than
    the page: its presence means there is a next page).

    One direction for the whole key: then "after" is a row-value comparison, `(a, b) < (x, y)`, which
    PostgreSQL and SQLite (3.15 on) both evaluate as the ordering does and use as a range on an index
    whose columns follow the key. A one-column key is compared as the column itself."""
    if not key:
        raise ValueError("a keyset needs at least one column")
    if after is not None:
        if len(after) != len(key):
            raise ValueError(f"a key of {len(key)} values, not {len(after)}")
        if len(key) == 1:
            left, right = key[0], after[0]
            query = query.where(left < right if descending else left > right)
        else:
            columns = tuple_(*key)
            query = query.where(columns < tuple(after) if descending else columns > tuple(after))
    return query.order_by(*(column.desc() if descending else column for column in key)).limit(limit)
