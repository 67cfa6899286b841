"""The goals, customer-history and transfer reporting views."""

from __future__ import annotations

from server.services.clock import Clock, utc_now
from server.services.events import Queue
from server.store.db import Database


class GoalReportsService:
    """The goals, customer-history and transfer reporting views."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock
