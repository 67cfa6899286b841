"""Enrolment lifecycle, goals (AIP standard methods) and the customer history."""

from __future__ import annotations

from server.services.clock import Clock, utc_now
from server.services.events import Queue
from server.store.db import Database


class GoalsService:
    """Enrolment lifecycle, goals (AIP standard methods) and the customer history."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock
