"""Recalculation after every posting, milestones, tracker, forecast and at-risk insights."""

from __future__ import annotations

from server.services.clock import Clock, utc_now
from server.services.events import Queue
from server.store.db import Database


class GoalTrackingService:
    """Recalculation after every posting, milestones, tracker, forecast and at-risk insights."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock
