"""Live postings versus backfill: which ingested transactions are news.

A posting is live when it arrives in a live batch and is no older than the live window: only live
postings reach the real-time consumers (EVENT insights, transaction alerts, their messages). History
(a batch flagged as backfill, or a posting older than the window in a live one) still moves balances
but is not announced: a customer is not told today about a withdrawal of years ago."""

from __future__ import annotations

import datetime as dt


def is_live(backfill: bool, posted_at: dt.datetime, now: dt.datetime, window: dt.timedelta | None) -> bool:
    """Whether a posting is news: its batch is not backfill and it was posted no earlier than `window`
    before `now` (a posting dated after now is live). `window` None: any posting of a live batch is."""
    if backfill:
        return False
    return window is None or posted_at >= now - window
