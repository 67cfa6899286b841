"""PostgreSQL array parameters given as one text literal each, for statements that pass thousands of values.

asyncpg encodes a list parameter element by element, and asks of every element whether it is itself an array
through the collections ABCs, a Python-level call each: 0.7-1.2 us an element on a slow phase of the
development machine (ids as text, amounts as bigint), against about 0.01 us a text element and 0.24 an integer
made into one literal here (a join in C), which PostgreSQL's `array_in` parses. A statement takes such a
parameter as text and casts it: `$3::text::text[]`, `$4::text::bigint[]`. For short values (ids, codes,
amounts, flags): dates and times gain nothing (their text costs Python what asyncpg's encoding does), and long
texts full of quotes cost more both sides (JSON payloads of 280 B: 1.7 against 2.6-2.9 us of the client and
0.9-1.3 against 3.4-3.8 of PostgreSQL an element); those stay lists.

A literal is cast only as an argument of `unnest(...)` in a FROM clause, which PostgreSQL evaluates once per
statement. The cast is not folded into a constant (`array_in` is STABLE), so anywhere else it runs at every
row: in a WHERE filter (`x = ANY($2::text::text[])` where the planner scans rather than probes an index) or a
select list, each row parses the whole literal again. The goal tracker's monthly figures, filtering 240,000
transactions by 1,000 account ids so, took 16.4 s a statement against 35 ms with the ids as a constant array.
`= ANY(...)` takes a bound list, which a custom plan makes such a constant; tests/unit/test_array_literal_sites.py
holds the statements to this."""

from __future__ import annotations

from collections.abc import Sequence

# Between the values while they are joined: PostgreSQL's text cannot hold NUL, so no value it accepts does.
_SEPARATOR = "\x00"
_BOOLEAN_TEXT = {True: "t", False: "f", None: "NULL"}


def text_array(values: Sequence[str | None]) -> str:
    """The literal of a text[] holding `values` in order (None: NULL). Every element is quoted, so that
    commas, braces, spaces and the word NULL stay text; quotes and backslashes are escaped."""
    if not values:
        return "{}"
    try:
        joined = _SEPARATOR.join(values)  # type: ignore[arg-type]  # a None raises: quoted one by one below
    except TypeError:
        return _quoted_one_by_one(values)
    if joined.count(_SEPARATOR) != len(values) - 1:  # a value holds NUL: PostgreSQL refuses it, as it would
        return _quoted_one_by_one(values)
    if '"' in joined or "\\" in joined:
        joined = _escaped(joined)
    return '{"' + joined.replace(_SEPARATOR, '","') + '"}'


def integer_array(values: Sequence[int | None]) -> str:
    """The literal of an integer array (bigint[], int[]) holding `values` in order (None: NULL). Only ints:
    anything else (a float, a Decimal) raises TypeError, as asyncpg would."""
    if None in values:
        return "{" + ",".join("NULL" if value is None else int.__repr__(value) for value in values) + "}"
    return "{" + ",".join(map(int.__repr__, values)) + "}"  # None is not among them


def boolean_array(values: Sequence[bool | None]) -> str:
    """The literal of a boolean[] holding `values` in order (None: NULL)."""
    return "{" + ",".join(map(_BOOLEAN_TEXT.__getitem__, values)) + "}"


def _quoted_one_by_one(values: Sequence[str | None]) -> str:
    return "{" + ",".join("NULL" if value is None else '"' + _escaped(value) + '"' for value in values) + "}"


def _escaped(text: str) -> str:
    """The text as it stands between an array literal's quotes: its backslashes and quotes escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
