"""The message bus: hands each committed domain event to the handlers registered for its type
(server.bootstrap.EVENT_HANDLERS), and relays events the queue lost.

Each handler runs in a unit of work of its own, which also records that the handler finished the event.
So a handler that fails is retried alone (the event's job is retried, and the handlers that finished are
skipped), and a handler never runs twice for an event it finished: two jobs of one event that race
both try to record the same (event, handler) row, and the one that loses rolls its work back. Handlers
are idempotent besides (feed items are unique per customer, insight and period; deliveries are keyed by
their trigger), so nothing depends on the queue running a job once.

An event a handler raises (FeedItemsCreated from the EVENT insights) is handled by the same job right
after that handler commits, as cosmicpython's bus does, rather than through a job of its own: it is in
the outbox all the same, so when its handling fails (or the worker dies first) it is announced to the
queue, by this job or by the relay sweep, like any other.

Ordering: most handlers rely on no order between events. An event carries the state as committed (a
posting's balance right after it), so a handler derives everything from the event itself. The store
guarantees that per account event ids rise in commit order; a handler whose work depends on the order
postings reach it (trigger_rules' day series) is kept in order (EventHandler.in_order): it finishes a
tenant's earlier events before its own, whichever job or process runs them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, cast

import structlog

from server.domain.events import (
    AccountsChanged,
    AuthorizationsRecorded,
    BalancesRecorded,
    CustomerAttributesChanged,
    DerivedAttributesRefreshRequested,
    DomainEvent,
    FeedItemsCreated,
    HoldingsChanged,
    PersonaEvaluationRequested,
    PersonaMembershipChanged,
    ScheduledPaymentsChanged,
    TransactionsPosted,
    kind_of,
)
from server.domain.operations import OutboxFigures
from server.services.clock import Clock, utc_now
from server.services.events import AfterCommit, EventPublisher, announce_committed
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

HandlerFunction = Callable[[UnitOfWork, str, Any], Awaitable[AfterCommit | None]]
# Several handlers' work at once (MessageBus.run_together): also given the names of those claimed.
TogetherFunction = Callable[[UnitOfWork, str, Any, frozenset[str]], Awaitable[AfterCommit | None]]
# What a handler holds for its unit of work, taken before its claim (EventHandler.hold).
HoldFunction = Callable[[UnitOfWork, str, Any], Awaitable[None]]

# An event the queue has not finished after this long is taken as lost and sent again.
LOST_AFTER = dt.timedelta(minutes=2)
# An event re-sent this many times (each a job of up to 8 tries) is given up: its handlers keep failing.
MAX_RESENDS = 10
# An event never re-sent and not finished after this long is announced again under its first job id:
# a no-op while Redis still holds that job (queued, running or finished), a new job when Redis lost it
# (restarted empty) or never had it (down when the event was committed). So an outage's backlog
# drains within a sweep of Redis coming back instead of waiting LOST_AFTER.
ANNOUNCE_AGAIN_AFTER = dt.timedelta(seconds=15)
# The outbox's figures (outbox_figures) count up to this many events: a backlog past it reads as this.
OUTBOX_COUNT_CAP = 100_000
# A job that handles several events at once (events_per_job) stops adding them at this many postings.
POSTINGS_PER_JOB = 5_000
# How long the events a job takes are its own: other jobs leave them alone meanwhile. Shorter than
# LOST_AFTER, so that the events of a job that died are free again when the relay sweep sends them.
TAKEN_FOR = dt.timedelta(seconds=60)
# A handler kept in order (EventHandler.in_order) waits for an earlier event of the tenant until the relay
# sweep has re-sent that event this many times (its jobs failed or were lost for some LOST_AFTER x 2):
# then it goes on without it, and that event is handled out of order when it is, rather than one failing
# event holding the tenant's later ones back until it is given up.
KEEPS_ORDER_BELOW_RESENDS = 2
# A handler kept in order handles the earlier events nobody has claimed with its own, up to this many
# postings (a few seconds of trigger evaluation): jobs started out of id order catch up, and a backlog
# that Redis lost is left to the jobs the relay sweep sends rather than taken in whole.
EARLIER_POSTINGS_AT_MOST = 50_000
# Work of at most this many postings kept in order waits only for the earlier events sharing its accounts
# (MessageBus._claim_in_order): the server's own runs and the jobs of small live batches.
SHARING_READ_UP_TO = 500


@dataclass(frozen=True)
class EventHandler:
    """`name` is recorded as the handler's progress: renaming a handler runs it again on unfinished events.

    `wants`: whether an event may concern the handler at all, judged from the event alone (and the time),
    never from the store. An event it does not want is one the handler would do nothing with, now or on
    any retry: the handler is not run for it and records no progress (a unit of work, a claim and a commit
    fewer; history for the handlers that tell a customer something, an event with no salary credit for
    the salary attributes...). None: every event.

    `replaces`: names the handler's work was recorded under before (a handler split in parts): an event
    one of them finished is finished for this handler too.

    `in_order`: the handler's work on a tenant's TransactionsPosted must be done in event id order (per
    account, commit order), because what it keeps depends on the order postings reach it (trigger_rules'
    day series). Before its own events it claims the tenant's earlier ones it has not finished: one that
    another job is handling makes it wait for that job's transaction, and one that nobody has claimed it
    handles first, in the same unit of work (MessageBus._claim_in_order).

    `hold`: takes what the handler's work holds until its commit (goal_allocation: its target accounts),
    first in the unit of work, before the claim writes anything: so a handler that waits its turn there
    waits in a transaction that has written nothing (GoalsRepository.hold_accounts_before_writing). Given
    the events as the handler would be; the handler finds what was held in the unit of work."""

    name: str
    handle: HandlerFunction
    wants: Callable[[Any], bool] | None = None
    replaces: tuple[str, ...] = ()
    in_order: bool = False
    hold: HoldFunction | None = None

    def finished(self, handled_by: frozenset[str]) -> bool:
        return self.name in handled_by or not handled_by.isdisjoint(self.replaces)


EventHandlers = Mapping[type[DomainEvent], Sequence[EventHandler]]


class EarlierEventsPending(Exception):
    """A handler kept in order found more unfinished earlier postings than it takes in: it leaves them to
    their own jobs (announced again by the relay sweep when lost) and its job is retried after them."""


class HandlersFailed(Exception):
    """Some handlers of an event failed; the others' work is kept. The event's job is retried."""

    def __init__(self, event_id: int, failed: dict[str, BaseException]) -> None:
        super().__init__(f"event {event_id}: handlers {sorted(failed)} failed: "
                         + "; ".join(f"{name}: {error!r}" for name, error in failed.items()))
        self.failed = failed


def _together(events: list[DomainEvent]) -> DomainEvent:
    """One event for a handler: several TransactionsPosted (of one job, all live or all not) as one, their
    postings in event order, so that each account's still follow the order they moved its balance in."""
    if len(events) == 1:
        return events[0]
    first = events[0]
    assert isinstance(first, TransactionsPosted)
    return TransactionsPosted(tuple(p for e in events if isinstance(e, TransactionsPosted) for p in e.postings),
                              first.live)


def _in_runs(events: list[DomainEvent]) -> list[DomainEvent]:
    """TransactionsPosted in id order as few events as keep their order: one per run of equally live ones
    (a handler is given live postings and history apart)."""
    return [_together(list(run)) for _, run in groupby(events, key=lambda e: cast(TransactionsPosted, e).live)]


async def _run_after_commit(after_commits: list[AfterCommit | None]) -> None:
    for after_commit in after_commits:
        if after_commit is not None:
            await after_commit()


def _sharing_accounts(events: Iterable[DomainEvent], earlier: list[int], found: Mapping[int, DomainEvent]
                      ) -> list[int]:
    """Of the `earlier` event ids (ascending, all before `events`), those whose postings share an account
    with `events` or with a later one of them that does: walked from the latest back, each event taken
    adds its accounts."""
    accounts = {p.account_id for event in events if isinstance(event, TransactionsPosted) for p in event.postings}
    sharing = []
    for event_id in reversed(earlier):
        event = found.get(event_id)
        if isinstance(event, TransactionsPosted) and not accounts.isdisjoint(p.account_id for p in event.postings):
            sharing.append(event_id)
            accounts.update(p.account_id for p in event.postings)
    return sharing[::-1]


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
        case PersonaMembershipChanged():
            return len(event.changes)
        case PersonaEvaluationRequested() | DerivedAttributesRefreshRequested():
            return 1
        case AuthorizationsRecorded():
            return len(event.postings)
        case ScheduledPaymentsChanged():
            return len(event.changes)


class MessageBus:
    def __init__(self, database: Database, publisher: EventPublisher, handlers: EventHandlers,
                 clock: Clock = utc_now, *, events_per_job: int = 1,
                 postings_per_job: int = POSTINGS_PER_JOB, jobs_at_once: int | None = None,
                 earlier_postings_at_most: int = EARLIER_POSTINGS_AT_MOST) -> None:
        """`events_per_job` above 1: a job takes, with its own TransactionsPosted, up to that many (and
        `postings_per_job` postings) of the tenant's next ones that no handler touched yet and no other job
        has taken, and runs each handler once for all of them: each handler's transaction and reads are
        shared by several events. Their own jobs find them taken (or processed) and end; concurrent jobs
        take disjoint events. A job holds what it took for TAKEN_FOR, and gives back what a failing
        handler left unprocessed.

        `jobs_at_once`: how many jobs this process handles at a time (None: no bound). Its jobs share one
        event loop: a job holding locks (its accounts' in `trigger_rules`, its new feed items' keys) waits
        for the CPU the other jobs' handlers take, and every job of another process touching those accounts
        waits with it. Bounded, a job's locks are held as long as its own work takes."""
        self._database = database
        self._publisher = publisher
        self._handlers = handlers
        self._clock = clock
        self._events_per_job = events_per_job
        self._postings_per_job = postings_per_job
        self._turns = asyncio.Semaphore(jobs_at_once) if jobs_at_once is not None else None
        self._earlier_postings_at_most = earlier_postings_at_most
        # The events this process's jobs are handling, by id: a job of this process taking one of them in
        # (_claim_in_order) has it at hand rather than reading and decoding it again. Events never change.
        self._in_hand: dict[int, DomainEvent] = {}

    async def process(self, event_id: int) -> int:
        """Runs every registered handler that has not finished the event, then marks it processed.
        Returns how many facts it carried, with those of the events it took in (0 when it was processed
        already, jobs may run twice, or when another job has taken it). Raises HandlersFailed when a
        handler failed, after the others ran."""
        takes = self._events_per_job > 1
        if self._turns is None:
            return await self._process(event_id, takes)
        if takes:
            # Most jobs find their event taken in by a job before them: they end without waiting a turn.
            async with UnitOfWork(self._database) as uow:
                if not await uow.domain_events.free_for(event_id, self._clock()):
                    return 0
        async with self._turns:
            return await self._process(event_id, takes)

    async def _process(self, event_id: int, takes: bool) -> int:
        async with UnitOfWork(self._database) as uow:
            now = self._clock()
            if takes and not await uow.domain_events.take(event_id, now, now + TAKEN_FOR):
                return 0  # processed, or another job took it: that job handles it, or gives it back
            stored = await uow.domain_events.get_unprocessed(event_id)
            if stored is None:
                return 0
            events: dict[int, DomainEvent] = {event_id: stored.event}
            if takes and not stored.handled_by and isinstance(stored.event, TransactionsPosted):
                room = self._postings_per_job - len(stored.event.postings)
                if room > 0:
                    events |= dict(await uow.domain_events.take_untouched_after(
                        event_id, stored.tenant_id, self._events_per_job - 1, room, stored.event.live,
                        now, now + TAKEN_FOR))
            await uow.commit()
        self._in_hand.update(events)
        try:
            return await self._handle(events, stored.tenant_id, stored.handled_by)
        except Exception:
            if takes:
                await self._give_back(event_id, list(events))
            raise
        finally:
            for handled_id in events:
                self._in_hand.pop(handled_id, None)

    async def _give_back(self, job: int, event_ids: list[int]) -> None:
        """After a handler failed: the events the job took and left unprocessed are free again, and those
        it took in get jobs of their own (theirs found them taken and ended). Its own event is retried by
        the queue. When this fails too (the database is down), the hold runs out (TAKEN_FOR) and the relay
        sweep sends them again (LOST_AFTER), or the retry of this job takes them back."""
        try:
            async with UnitOfWork(self._database) as uow:
                unfinished = await uow.domain_events.give_back(job, event_ids)
                await uow.commit()
            followers = [i for i in unfinished if i != job]
            if followers:
                await self._publisher.announce_events(followers, resend=int(self._clock().timestamp()))
        except Exception as exc:
            log.warning("domain_events_not_given_back", event_id=job, event_ids=event_ids, error=repr(exc))

    async def _handle(self, events: dict[int, DomainEvent], tenant_id: str, handled_by: frozenset[str]) -> int:
        """`events`: one event, or several TransactionsPosted that no handler touched yet (handled_by empty)."""
        event_id, event = next(iter(events.items()))
        pending = [h for h in self._handlers.get(type(event), ()) if not h.finished(handled_by)]
        # The events as one, built once for every handler that claims them all (a job's usual case):
        # rebuilt per handler, a job of ten events walked its 5,000 postings a dozen times.
        whole = _together(list(events.values()))
        if any(h.wants is not None for h in pending):
            pending = [h for h in pending if h.wants is None or h.wants(whole)]
        failed: dict[str, BaseException] = {}
        raised: list[tuple[int, DomainEvent]] = []
        read: dict[int, DomainEvent] = {}  # other events read by a handler kept in order, for the next ones
        for number, handler in enumerate(pending, 1):
            # The last handler, when every other one finished, marks the events processed in its own
            # transaction: one unit of work fewer per event.
            finishes = number == len(pending) and not failed
            try:
                raised += await self._run(handler, events, whole, tenant_id, finishes, read)
            except Exception as exc:
                log.warning("event_handler_failed", event_id=event_id, kind=kind_of(type(event)),
                            handler=handler.name, tenant=tenant_id, error=repr(exc),
                            **({"event_ids": list(events)} if len(events) > 1 else {}))
                failed[handler.name] = exc
        if not pending:  # no handler for its type or wanting it, or the last one's mark was lost with its job
            async with UnitOfWork(self._database) as uow:
                await uow.domain_events.mark_processed(list(events), self._clock())
                await uow.commit()
        for raised_id, raised_event in raised:
            try:
                await self._handle({raised_id: raised_event}, tenant_id, frozenset())
            except Exception:  # logged by its handlers; the queue retries it as it would any event
                await announce_committed(self._publisher, [raised_id])
        if failed:
            raise HandlersFailed(event_id, failed)
        size = sum(size_of(e) for e in events.values())
        log.info("domain_event_processed", event_id=event_id, kind=kind_of(type(event)), tenant=tenant_id, size=size,
                 **({"event_ids": list(events)} if len(events) > 1 else {}))
        return size

    async def _run(self, handler: EventHandler, events: dict[int, DomainEvent], whole: DomainEvent, tenant_id: str,
                   finishes: bool, read: dict[int, DomainEvent]) -> list[tuple[int, DomainEvent]]:
        """Runs one handler in its own unit of work; returns the events it raised to be handled next.
        `whole`: `events` as one (_together); `read`: other events read by id so far, added to."""
        async with UnitOfWork(self._database, tenant_id) as uow:
            if handler.hold is not None:
                await handler.hold(uow, tenant_id, whole)
            # Claimed first (after the hold, which writes nothing), in the handler's own transaction: a job of
            # the same event running this handler at the same time waits here until this one ends, then
            # finds it finished.
            now = self._clock()
            in_order: list[DomainEvent] = []
            if handler.in_order:
                claimed, in_order = await self._claim_in_order(uow, handler, tenant_id, events, now, read)
            else:
                claimed = await uow.domain_events.claim_handling(list(events), handler.name, now)
            if not claimed and not in_order:  # another job finished the handler's work on them
                if finishes:
                    await uow.domain_events.mark_processed(list(events), now)
                    await uow.commit()
                return []
            if in_order:  # other events taken in: all in id order, live postings and history apart
                givens = _in_runs(in_order)
            else:
                givens = [whole if len(claimed) == len(events) else _together([events[i] for i in claimed])]
            after_commits = [await handler.handle(uow, tenant_id, given) for given in givens]
            if finishes:  # those another job claimed it finished first: every handler is done with them
                await uow.domain_events.mark_processed(list(events), now)
            await uow.commit()
            added, objects = list(uow.domain_events.added), dict(uow.domain_events.added_events)
        # Events raised without their object (none today) go to the queue.
        await announce_committed(self._publisher, [i for i in added if i not in objects])
        await _run_after_commit(after_commits)
        return list(objects.items())

    async def _claim_in_order(self, uow: UnitOfWork, handler: EventHandler, tenant_id: str,
                              events: Mapping[int, DomainEvent], now: dt.datetime,
                              read: dict[int, DomainEvent] | None = None) -> tuple[list[int], list[DomainEvent]]:
        """For a handler kept in order (EventHandler.in_order): claims, in ascending id order, `events` with
        the tenant's TransactionsPosted before the last of them that the handler has not finished. Returns
        the ids of `events` claimed, and, when it claimed others (taken in), every event claimed that the
        handler wants, in id order, to be handled so; an empty list when it took none in.

        Every transaction of the handler claims in ascending id order, so two jobs waiting for each other's
        claims cannot wait in a circle: the later one waits at the first event the earlier one holds, and
        takes the accounts' locks only once it has every claim. Raises EarlierEventsPending when the events
        taken in carry more than `earlier_postings_at_most` postings (the transaction is rolled back).

        Events of at most SHARING_READ_UP_TO postings (the server's own runs, a small live batch's job) wait
        for and take in only the earlier events that share an account with them, or with an event so taken
        (order is per account): the earlier events are read and compared, so that a customer's banner does
        not wait for the tenant's other work. Larger ones take every earlier event: their postings share
        accounts with nearly all of them, and reading them all would cost more than it frees. `read`: events
        read already by id (the server's run of several handlers reads each once), added to."""
        own = sorted(events)
        names = [handler.name, *handler.replaces]
        others = [i for i in await uow.domain_events.unfinished_before(
            tenant_id, own[-1], names, KEEPS_ORDER_BELOW_RESENDS) if i not in events]
        found = read if read is not None else {}
        if others and sum(size_of(event) for event in events.values()) <= SHARING_READ_UP_TO:
            await self._read_into(uow, found, others)
            others = _sharing_accounts(events.values(), others, found)
        claimed = await uow.domain_events.claim_handling(sorted([*others, *own]), handler.name, now)
        own_claimed = [i for i in claimed if i in events]
        taken_in = [i for i in claimed if i not in events]
        if not taken_in:
            return own_claimed, []
        await self._read_into(uow, found, taken_in)
        wanted = {i: found[i] for i in taken_in if i in found and isinstance(found[i], TransactionsPosted)
                  and (handler.wants is None or handler.wants(found[i]))}
        postings = sum(size_of(event) for event in wanted.values())
        if postings > self._earlier_postings_at_most:
            raise EarlierEventsPending(f"{handler.name}: {len(wanted)} earlier events of tenant {tenant_id} "
                                       f"({postings} postings) are not handled yet")
        log.info("domain_events_taken_in_order", handler=handler.name, tenant=tenant_id, event_ids=taken_in,
                 before=own[-1])
        return own_claimed, [wanted[i] if i in wanted else events[i]
                             for i in sorted([*wanted, *own_claimed])]

    async def _read_into(self, uow: UnitOfWork, found: dict[int, DomainEvent], event_ids: list[int]) -> None:
        """`found` given the events of these ids: those this process's jobs hold, the rest read."""
        in_hand = self._in_hand
        missing = []
        for event_id in event_ids:
            if event_id not in found:
                if (event := in_hand.get(event_id)) is not None:
                    found[event_id] = event
                else:
                    missing.append(event_id)
        if missing:
            found.update(await uow.domain_events.events(missing))

    async def run_together(self, event_id: int, tenant_id: str, event: DomainEvent, names: Sequence[str],
                           handle: TogetherFunction, known: Mapping[int, DomainEvent] | None = None) -> None:
        """Runs handlers of an event just committed, given as written (no read of the outbox), whose work
        one call does at once: the server runs trigger_rules' parts this way right after an ingest commit
        (server.services.in_process), one evaluation instead of four. One unit of work claims each of
        `names` that wants the event, `handle` does the work of those claimed, and the commit records them
        all, as the queue's job would: the job skips them, still runs the others and marks the event
        processed. The claims are the guard: a part a job finished is not claimed (nor run here), and one a
        job is running makes the claim wait for that job to end. A handler kept in order claims the tenant's
        earlier events it has not finished as well, and handles those nobody had before this one. `known`:
        events at hand by id (as the outbox would give them back), not read again when one is needed."""
        wanted = [h for h in self._handlers.get(type(event), ())
                  if h.name in names and (h.wants is None or h.wants(event))]
        if not wanted:
            return
        async with UnitOfWork(self._database, tenant_id) as uow:
            now = self._clock()
            # Every claim before any work (and its locks), in the handlers' order, as jobs take them.
            claimed: list[str] = []
            in_order: dict[str, list[DomainEvent]] = {}  # a handler's events when it took earlier ones in
            read: dict[int, DomainEvent] = dict(known) if known else {}
            for handler in wanted:
                if handler.in_order:
                    own, in_order[handler.name] = await self._claim_in_order(uow, handler, tenant_id,
                                                                             {event_id: event}, now, read)
                else:
                    own = await uow.domain_events.claim_handling([event_id], handler.name, now)
                if own and not in_order.get(handler.name):
                    claimed.append(handler.name)
            if not claimed and not any(in_order.values()):
                return
            # A handler that took earlier events in does its work alone, in id order; the others together.
            after_commits = [await handle(uow, tenant_id, given, frozenset({name}))
                             for name, events in in_order.items() for given in _in_runs(events)]
            if claimed:
                after_commits.append(await handle(uow, tenant_id, event, frozenset(claimed)))
            await uow.commit()
            added = list(uow.domain_events.added)
        # What it raised is in the outbox: announced to the queue rather than handled on this path.
        await announce_committed(self._publisher, added)
        await _run_after_commit(after_commits)

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

    async def outbox_figures(self) -> OutboxFigures:
        """The outbox across tenants, for the operator's metrics: what waits for its handlers (abandoned
        events apart, counted on their own), and how long the oldest of it has waited."""
        async with UnitOfWork(self._database) as uow:
            pending, oldest, abandoned = await uow.domain_events.outbox_figures(MAX_RESENDS + 1, OUTBOX_COUNT_CAP)
        age = max(dt.timedelta(0), self._clock() - oldest) if oldest is not None else dt.timedelta(0)
        return OutboxFigures(readable=True, pending=pending, oldest_pending_age=age, abandoned=abandoned)

    async def abandoned_count(self, tenant_id: str | None = None) -> int:
        """Events given up after MAX_RESENDS (of one tenant, when given): what an operator has to look at."""
        async with UnitOfWork(self._database) as uow:
            return await uow.domain_events.abandoned_count(MAX_RESENDS + 1, tenant_id)
