"""Bus handlers run by the server itself, right after the commit that wrote their event: the path of
real-time triggers (docs/triggers.md#latency). A banner must be readable within tens of milliseconds of
a transaction's acceptance, and the queue alone takes longer (a worker's poll delay, then the job's
hop through Redis, then every handler before the one awaited).

Durability is the queue's: the event is in the outbox and announced to the workers as always, so a
server that dies before (or while) running the handler leaves it to the event's job, and a handler
that fails here is only logged. The event is taken as ingestion wrote it, not read back from the
outbox: one transaction and two reads fewer between the commit and the banner. Nothing runs twice: the
bus records each (event, handler) it finished in the handler's own transaction (server.services.bus),
so whichever of this path and the job claims it first runs it and the other skips it. Bounded: when
MAX_RUNNING runs are under way (a bulk load), new events are left to the workers, and ingestion does
not wait for any of it; but a small batch (a customer's own transaction) has SMALL_RUNNING more, as
the job it would be left to takes ten times the goal.

Only where it buys latency (InProcessGate): a run costs the server and the database about as much as
the ingestion it follows, so a bulk load (a big batch) and a tenant without live rules (nothing to
show) are left to the workers, and ingestion runs at its full rate."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import structlog

from server.domain.events import DomainEvent, TransactionsPosted, kind_of
from server.services.bus import MessageBus, TogetherFunction
from server.store.event_payloads import posting_count
from server.store.repositories.domain_events import WrittenEvents, written_event

log = structlog.get_logger(__name__)

MAX_RUNNING = 2
# Runs beyond MAX_RUNNING for batches of at most SMALL_POSTINGS postings. Refused, such a batch's banner
# waited for the queue (a job's gathering, a worker's poll, its other events: 300-400 ms), the tail of
# the latency bench at 1,000 tx/s; its run beside two busy ones costs a few ms of CPU (docs/triggers.md#latency).
SMALL_POSTINGS = 10
SMALL_RUNNING = 1
_TRANSACTIONS_POSTED = kind_of(TransactionsPosted)


class InProcessGate(Protocol):
    """Which committed events are worth running here."""

    def declines(self, tenant_id: str, written: WrittenEvents) -> bool:
        """At once, from what is known without I/O: True leaves the events to the workers."""
        ...

    async def wants(self, tenant_id: str) -> bool:
        """Before the run (may read the store, best cached): False leaves the events to the workers."""
        ...


class InProcessHandlers:
    """`names`: handlers whose work `handle` does in one unit of work for the names it is given (those
    claimed: MessageBus.run_together), as one evaluation of trigger_rules' parts."""

    def __init__(self, bus: MessageBus, names: Sequence[str], handle: TogetherFunction,
                 max_running: int = MAX_RUNNING, gate: InProcessGate | None = None,
                 small_postings: int = SMALL_POSTINGS, small_running: int = SMALL_RUNNING) -> None:
        self._bus = bus
        self._names = tuple(names)
        self._handle = handle
        self._max_running = max_running
        self._small_postings = small_postings
        self._small_running = small_running
        self._gate = gate
        self._running: set[asyncio.Task[None]] = set()
        # The events of the runs under way, as written: a run kept in order reads the earlier events it
        # may wait for (MessageBus._claim_in_order), and those are mostly these.
        self._under_way: dict[int, DomainEvent] = {}

    def committed(self, tenant_id: str, written: WrittenEvents) -> bool:
        """Called after the commit that wrote these events of the tenant; returns at once whether it left
        to the workers events it would have run here (its runs were all under way): their jobs should
        then start without gathering others first (IngestionService)."""
        if not written:
            return False
        if self._gate is not None and self._gate.declines(tenant_id, written):
            return False
        room = self._max_running
        if sum(posting_count(payload) for kind, payload in written.values()
               if kind == _TRANSACTIONS_POSTED) <= self._small_postings:
            room += self._small_running
        if len(self._running) >= room:  # the events' jobs run them
            return True
        task = asyncio.create_task(self._run(tenant_id, dict(written)))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return False

    async def _run(self, tenant_id: str, written: WrittenEvents) -> None:
        try:
            if self._gate is not None and not await self._gate.wants(tenant_id):
                return
        except Exception as exc:  # the events' jobs run them
            log.warning("in_process_gate_failed", tenant=tenant_id, error=repr(exc))
            return
        events = {event_id: written_event(kind, payload) for event_id, (kind, payload) in written.items()}
        self._under_way.update(events)
        try:
            for event_id, event in events.items():
                try:
                    await self._bus.run_together(event_id, tenant_id, event, self._names, self._handle,
                                                 known=self._under_way)
                except Exception as exc:  # the event's job runs them again
                    log.warning("in_process_handler_failed", event_id=event_id, handlers=self._names,
                                error=repr(exc))
        finally:
            for event_id in events:
                self._under_way.pop(event_id, None)

    async def close(self) -> None:
        """Lets the runs under way finish (the server is stopping)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
