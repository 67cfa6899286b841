"""Consumes the outbox of ingestion events: the hook where real-time evaluation plugs in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import structlog

from server.domain.ingest.model import Transaction
from server.services.clock import Clock, utc_now
from server.services.events import EventPublisher
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# A consumer sees the tenant and the transactions one committed batch accepted. Later issues
# (event-triggered insights, transaction alerts) register theirs; until then there are none.
TransactionConsumer = Callable[[str, list[Transaction]], Awaitable[None]]

# An event the queue has not finished after this long is taken as lost and sent again.
LOST_AFTER = dt.timedelta(minutes=2)
# An event never re-sent and not finished after this long is announced again under its first job id:
# a no-op while Redis still holds that job (queued, running or finished), a new job when Redis lost it
# (restarted empty) or never had it (down when the event was committed). So an outage's backlog
# drains within a sweep of Redis coming back instead of waiting LOST_AFTER.
ANNOUNCE_AGAIN_AFTER = dt.timedelta(seconds=15)


class IngestEventsService:
    def __init__(self, database: Database, publisher: EventPublisher,
                 consumers: list[TransactionConsumer] | None = None, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._consumers = consumers or []
        self._clock = clock

    async def process(self, event_id: int) -> int:
        """Runs every consumer on the event's transactions, then marks it processed. Returns how
        many transactions it covered (0 when it was processed already: jobs may run twice)."""
        async with UnitOfWork(self._database) as uow:
            event = await uow.ingest_events.get(event_id)
        if event is None:
            return 0
        async with UnitOfWork(self._database, event.tenant_id) as uow:
            transactions = await uow.transactions.get_many(event.transaction_ids)
        for consume in self._consumers:
            await consume(event.tenant_id, transactions)
        async with UnitOfWork(self._database) as uow:
            await uow.ingest_events.mark_processed(event_id, self._clock())
            await uow.commit()
        log.info("ingest_event_processed", event_id=event_id, tenant=event.tenant_id,
                 transactions=len(transactions))
        return len(transactions)

    async def resend_lost(self, limit: int = 1000) -> list[int]:
        """The relay sweep: re-announces events that Redis lost or that no worker finished. Returns
        those sent under a new job id."""
        now = self._clock()
        async with UnitOfWork(self._database) as uow:
            unsure = await uow.ingest_events.never_resent_ids(now - ANNOUNCE_AGAIN_AFTER, limit)
            # Events younger than LOST_AFTER are probably in flight; older ones are re-sent.
            lost = await uow.ingest_events.unprocessed_ids(now - LOST_AFTER, limit)
            if lost:
                await uow.ingest_events.mark_enqueued(lost, now)
                await uow.commit()
        resent = set(lost)
        unsure = [event_id for event_id in unsure if event_id not in resent]
        if unsure:
            await self._publisher.announce_ingest_events(unsure)
        if lost:
            await self._publisher.announce_ingest_events(lost, resend=int(now.timestamp()))
            log.info("ingest_events_resent", count=len(lost))
        return lost

