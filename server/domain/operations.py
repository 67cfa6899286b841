"""What an operator's status shows: plain records, filled by the queue's adapter and the store."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class QueueFigures:
    """The arq queue as Redis holds it. `reachable` False: Redis did not answer, and `error` says why."""

    queue_name: str
    reachable: bool
    error: str = ""
    queued: int = 0
    running: int = 0
    deferred: int = 0
    oldest_queued_age: dt.timedelta = dt.timedelta(0)


@dataclass(frozen=True)
class OutboxFigures:
    """The outbox of domain events across tenants: `pending` events not yet handled by every handler
    (counted up to a cap, so that reading a backlog stays cheap), the age of the oldest of them, and
    `abandoned` ones given up after their resends. `readable` False: the database did not answer."""

    readable: bool
    error: str = ""
    pending: int = 0
    oldest_pending_age: dt.timedelta = dt.timedelta(0)
    abandoned: int = 0


@dataclass(frozen=True)
class WorkerBeat:
    worker_id: str
    started_at: dt.datetime
    beat_at: dt.datetime
    jobs_complete: int = 0
    jobs_failed: int = 0
    jobs_retried: int = 0
    jobs_running: int = 0


class CronOutcome(enum.StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class CronRunRecord:
    """A cron job's last finished run, and the start of the one in progress if any."""

    name: str
    started_at: dt.datetime | None = None
    duration: dt.timedelta | None = None
    outcome: CronOutcome | None = None
    error: str = ""
    worker_id: str = ""
    running_since: dt.datetime | None = None


@dataclass(frozen=True)
class QueueSnapshot:
    queue: QueueFigures
    workers: list[WorkerBeat] = field(default_factory=list)
    cron_runs: list[CronRunRecord] = field(default_factory=list)


@dataclass(frozen=True)
class FailedDeliveryCount:
    state: str
    error_code: str
    count: int


@dataclass(frozen=True)
class OperationsStatus:
    checked_at: dt.datetime
    serving: bool
    serving_detail: str
    queue: QueueSnapshot
    abandoned_domain_events: int
    failed_deliveries: list[FailedDeliveryCount]
    failed_window: dt.timedelta
