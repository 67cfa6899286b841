"""Days asked for by date as instants: the end is the start of the next day, or none after 9999-12-31."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from server.domain.date_ranges import day_bounds


@given(st.dates(), st.dates())
def test_every_instant_of_the_days_is_inside_and_no_other(since, until):
    start, end = day_bounds(since, until)
    assert start == dt.datetime.combine(since, dt.time(), dt.UTC)
    last_instant = dt.datetime.combine(until, dt.time.max, dt.UTC)
    assert end is None if until == dt.date.max else last_instant < end <= last_instant + dt.timedelta(microseconds=1)


def test_open_ends():
    assert day_bounds(None, None) == (None, None)
