"""The live-or-backfill rule for ingested postings."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from server.domain.ingest.freshness import is_live

NOW = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1),
                        timezones=st.just(dt.UTC))
windows = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3650))


@given(instants, instants, st.none() | windows)
def test_a_backfill_batch_is_never_live(posted_at, now, window):
    assert not is_live(True, posted_at, now, window)


@given(instants, instants)
def test_without_a_window_every_posting_of_a_live_batch_is_live(posted_at, now):
    assert is_live(False, posted_at, now, None)


@given(instants, instants, windows)
def test_a_live_batch_posting_is_live_exactly_when_within_the_window(posted_at, now, window):
    assert is_live(False, posted_at, now, window) == (now - posted_at <= window)


@given(windows, st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3650)))
def test_older_postings_are_never_more_live(window, extra_age):
    posted_at = NOW - window
    assert is_live(False, posted_at, NOW, window)
    assert is_live(False, posted_at + extra_age, NOW, window)  # newer, or after now
    assert is_live(False, posted_at - extra_age, NOW, window) == (extra_age == dt.timedelta(0))


def test_the_boundary_is_inclusive():
    window = dt.timedelta(days=7)
    assert is_live(False, NOW - window, NOW, window)
    assert not is_live(False, NOW - window - dt.timedelta(microseconds=1), NOW, window)
