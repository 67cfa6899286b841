"""The message bus: hands each committed domain event to the handlers registered for its type
(server.bootstrap.EVENT_HANDLERS), and relays events the queue lost.

Each handler runs in a unit of work of its own, which also records that the handler finished the event.
So a handler that fails is retried alone (the event's job is retried, and the handlers that finished are
skipped), and a handler never runs twice for an event it finished: two jobs of one event that race
both try to record the same (event, handler) row, and the one that loses rolls its work back. Handlers
are idempotent besides (feed items are unique per customer, insight and period; deliveries are keyed by
their trigger), so nothing depends on the queue running a job once.

Ordering: handlers rely on no order between events. An event carries the state as committed (a
posting's balance right after it), so a handler derives everything from the event itself; what the
store guarantees (per account, event ids rise in commit order) is there for whoever needs a sequence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from server.domain.events import (
    AccountsChanged,
    BalancesRecorded,
    CustomerAttributesChanged,
    DomainEvent,
    FeedItemsCreated,
    HoldingsChanged,
    TransactionsPosted,
    kind_of,
)
from server.services.clock import Clock, utc_now
from server.services.events import AfterCommit, EventPublisher, announce_committed
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

HandlerFunction = Callable[[UnitOfWork, str, Any], Awaitable[AfterCommit | None]]

# An event the queue has not finished after this long is taken as lost and sent again.
LOST_AFTER = dt.timedelta(minutes=2)
# An event re-sent this many times (each a job of up to 8 tries) is given up: its handlers keep failing.
MAX_RESENDS = 10
# An event never re-sent and not finished after this long is announced again under its first job id:
# a no-op while Redis still holds that job (queued, running or finished), a new job when Redis lost it
# (restarted empty) or never had it (down when the event was committed). So an outage's backlog
# drains within a sweep of Redis coming back instead of waiting LOST_AFTER.
ANNOUNCE_AGAIN_AFTER = dt.timedelta(seconds=15)


@dataclass(frozen=True)
class EventHandler:
    """`name` is recorded as the handler's progress: renaming a handler runs it again on unfinished events."""

    name: str
    handle: HandlerFunction


EventHandlers = Mapping[type[DomainEvent], Sequence[EventHandler]]


class HandlersFailed(Exception):
    """Some handlers of an event failed; the others' work is kept. The event's job is retried."""

    def __init__(self, event_id: int, failed: dict[str, BaseException]) -> None:
        super().__init__(f"event {event_id}: handlers {sorted(failed)} failed: "
                         + "; ".join(f"{name}: {error!r}" for name, error in failed.items()))
        self.failed = failed


def size_of(event: DomainEvent) -> int:
    """How many facts an event carries (postings, balances, items...), for logs and throughput."""
    match event:
        case TransactionsPosted():
            return len(event.postings)
        case BalancesRecorded():
            return len(event.balances)
        case AccountsChanged():
            return len(event.accounts)
        case CustomerAttributesChanged():
            return len(event.changes)
        case HoldingsChanged():
            return len(event.holdings)
        case FeedItemsCreated():
            return len(event.items)


class MessageBus:
    def __init__(self, database: Database, publisher: EventPublisher, handlers: EventHandlers,
                 clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._handlers = handlers
        self._clock = clock

    async def process(self, event_id: int) -> int:
        """Runs every registered handler that has not finished the event, then marks it processed.
        Returns how many facts it carried (0 when it was processed already: jobs may run twice). Raises
        HandlersFailed when a handler failed, after the others ran."""
        async with UnitOfWork(self._database) as uow:
            stored = await uow.domain_events.get_unprocessed(event_id)
        if stored is None:
            return 0
        event, tenant_id = stored.event, stored.tenant_id
        failed: dict[str, BaseException] = {}
        for handler in self._handlers.get(type(event), ()):
            if handler.name in stored.handled_by:
                continue
            try:
                await self._run(handler, event_id, tenant_id, event)
            except Exception as exc:
                log.warning("event_handler_failed", event_id=event_id, kind=kind_of(type(event)),
                            handler=handler.name, tenant=tenant_id, error=repr(exc))
                failed[handler.name] = exc
        if failed:
            raise HandlersFailed(event_id, failed)
        async with UnitOfWork(self._database) as uow:
            await uow.domain_events.mark_processed(event_id, self._clock())
            await uow.commit()
        size = size_of(event)
        log.info("domain_event_processed", event_id=event_id, kind=kind_of(type(event)), tenant=tenant_id, size=size)
        return size

    async def _run(self, handler: EventHandler, event_id: int, tenant_id: str, event: DomainEvent) -> None:
        async with UnitOfWork(self._database, tenant_id) as uow:
            # Claimed first, in the handler's own transaction: a job of the same event running this
            # handler at the same time waits here until this one ends, then finds it finished.
            if not await uow.domain_events.claim_handling(event_id, handler.name, self._clock()):
                return
            after_commit = await handler.handle(uow, tenant_id, event)
            await uow.commit()
            raised = list(uow.domain_events.added)
        await announce_committed(self._publisher, raised)
        if after_commit is not None:
            await after_commit()

    async def resend_lost(self, limit: int = 1000) -> list[int]:
        """The relay sweep: re-announces events that Redis lost or that no worker finished. Returns
        those sent under a new job id. An event whose jobs failed MAX_RESENDS times is given up
        (logged once, counted by `abandoned_count`) rather than retried for ever."""
        now = self._clock()
        async with UnitOfWork(self._database) as uow:
            unsure = await uow.domain_events.never_resent_ids(now - ANNOUNCE_AGAIN_AFTER, limit)
            # Events younger than LOST_AFTER are probably in flight; older ones are re-sent.
            lost = await uow.domain_events.unprocessed_ids(now - LOST_AFTER, limit, MAX_RESENDS + 1)
        given_up = [event_id for event_id, attempts in lost if attempts >= MAX_RESENDS]
        lost_ids = [event_id for event_id, attempts in lost if attempts < MAX_RESENDS]
        resent = set(lost_ids)
        unsure = [event_id for event_id in unsure if event_id not in resent]
        if unsure:
            await self._publisher.announce_events(unsure)
        if lost_ids:
            await self._publisher.announce_events(lost_ids, resend=int(now.timestamp()))
            log.info("domain_events_resent", count=len(lost_ids))
        # Counted once Redis took them: an outage of Redis uses up no event's resends.
        if lost:
            async with UnitOfWork(self._database) as uow:
                await uow.domain_events.mark_enqueued([event_id for event_id, _ in lost], now)
                await uow.commit()
        if given_up:
            log.error("domain_events_abandoned", event_ids=given_up, resends=MAX_RESENDS,
                      detail="their handlers kept failing; see event_handler_failed in the workers' logs")
        return lost_ids

    async def abandoned_count(self, tenant_id: str | None = None) -> int:
        """Events given up after MAX_RESENDS (of one tenant, when given): what an operator has to look at."""
        async with UnitOfWork(self._database) as uow:
            return await uow.domain_events.abandoned_count(MAX_RESENDS + 1, tenant_id)
