"""Funding programmes, their transfer instructions and the bank's confirmations."""

from __future__ import annotations

from server.services.clock import Clock, utc_now
from server.services.events import Queue
from server.store.db import Database


class GoalFundingService:
    """Funding programmes, their transfer instructions and the bank's confirmations."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock
