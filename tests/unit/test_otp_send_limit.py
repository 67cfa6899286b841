"""The limit on one-time passwords sent to one customer: at most `limit` in any hour, and the wait
given is exactly until the next send fits."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from server.domain.engagement.otp import SEND_WINDOW, wait_before_next_send

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
offsets = st.lists(st.integers(min_value=0, max_value=2 * 3600), max_size=15)  # seconds before NOW


def _in_window(sent: list[dt.datetime], at: dt.datetime) -> int:
    return sum(1 for t in sent if at - SEND_WINDOW < t <= at)


@given(offsets, st.integers(min_value=1, max_value=10))
def test_a_send_is_refused_only_when_the_last_hour_is_full_and_the_wait_makes_room(seconds_ago, limit):
    sent = [NOW - dt.timedelta(seconds=s) for s in seconds_ago]
    wait = wait_before_next_send(sent, NOW, limit)
    if _in_window(sent, NOW) < limit:
        assert wait is None
    else:
        assert wait is not None and dt.timedelta(0) < wait <= SEND_WINDOW
        # After the wait there is room, and a moment before it there was not.
        assert _in_window(sent, NOW + wait) < limit
        assert _in_window(sent, NOW + wait - dt.timedelta(microseconds=1)) >= limit


def test_examples():
    hour_ago = NOW - SEND_WINDOW
    assert wait_before_next_send([hour_ago], NOW, 1) is None  # exactly an hour ago has left the window
    minute_ago = NOW - dt.timedelta(minutes=1)
    assert wait_before_next_send([minute_ago], NOW, 1) == dt.timedelta(minutes=59)
    assert wait_before_next_send([minute_ago, NOW], NOW, 3) is None


def test_a_send_stamped_after_now_counts():
    # A request that waited for another's lock holds an older `now` than the send it waited for.
    later = NOW + dt.timedelta(milliseconds=3)
    assert wait_before_next_send([later], NOW, 1) == SEND_WINDOW + dt.timedelta(milliseconds=3)
    assert wait_before_next_send([later], NOW, 2) is None
