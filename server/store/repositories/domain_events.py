"""The outbox of domain events and each handler's progress through them. Relaying spans tenants, so the
sweep reads across them; each event carries its own tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Text, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.events import DomainEvent, TransactionsPosted, kind_of
from server.domain.ingest.model import AccountHolder, Direction, IncomingTransaction
from server.store import driver
from server.store.event_payloads import decode, encode, posting_count, transactions_posted_payload
from server.store.models import DomainEventHandlingRow, DomainEventRow

# Built once: the bus reads an event and its progress with two plain statements, outside a transaction
# (on PostgreSQL straight through the driver), at every job of every event.
_UNPROCESSED_EVENT = select(DomainEventRow.tenant_id, DomainEventRow.kind, DomainEventRow.payload).where(
    DomainEventRow.event_id == bindparam("event_id"), DomainEventRow.processed_at.is_(None))
_FINISHED_HANDLERS = select(DomainEventHandlingRow.handler).where(
    DomainEventHandlingRow.event_id == bindparam("event_id"))
# Taking events for a bus job (take, take_untouched_after): one not processed that no other job has, or
# whose taker's time ran out, or that this job (its first event's id: a retry of it) took before.
_EVENTS = DomainEventRow.__table__
_FREE_FOR_JOB = (_EVENTS.c.processed_at.is_(None),
                 _EVENTS.c.taken_until.is_(None) | (_EVENTS.c.taken_until <= bindparam("now"))
                 | (_EVENTS.c.taken_by == bindparam("job")))
_TAKEN: dict[str, Any] = {"taken_by": bindparam("job"), "taken_until": bindparam("until")}
_FREE = select(_EVENTS.c.event_id).where(_EVENTS.c.event_id == bindparam("job"), *_FREE_FOR_JOB)
_TAKE_ONE = (update(_EVENTS).where(_EVENTS.c.event_id == bindparam("job"), *_FREE_FOR_JOB).values(**_TAKEN)
             .returning(_EVENTS.c.event_id))
# Rows another job is taking at this instant are skipped (SKIP LOCKED), not waited for; SQLite has one
# writer and no row locks. The pick is materialized: as a plain subquery PostgreSQL may run it again
# for each row it updates, skipping the rows this statement has just taken and taking more than the limit.
_PICK_UNTOUCHED_AFTER = (
    select(_EVENTS.c.event_id)
    .where(_EVENTS.c.event_id > bindparam("job"), _EVENTS.c.tenant_id == bindparam("tenant"),
           _EVENTS.c.kind == kind_of(TransactionsPosted), *_FREE_FOR_JOB,
           ~select(DomainEventHandlingRow.event_id)
           .where(DomainEventHandlingRow.event_id == _EVENTS.c.event_id).exists())
    .order_by(_EVENTS.c.event_id).limit(bindparam("limit")).with_for_update(skip_locked=True)
    .cte("picked").prefix_with("MATERIALIZED"))
_TAKE_UNTOUCHED_AFTER = (
    update(_EVENTS).where(_EVENTS.c.event_id.in_(select(_PICK_UNTOUCHED_AFTER.c.event_id)), *_FREE_FOR_JOB)
    .values(**_TAKEN).returning(_EVENTS.c.event_id, cast(_EVENTS.c.payload, Text)))
_GIVE_BACK = (update(_EVENTS).where(_EVENTS.c.event_id.in_(bindparam("event_ids", expanding=True)),
                                    _EVENTS.c.processed_at.is_(None), _EVENTS.c.taken_by == bindparam("job"))
              .values(taken_by=None, taken_until=None).returning(_EVENTS.c.event_id))

# A handler's claim on events (claim_handling), by dialect: built once, not at every handler of every event.
_HANDLINGS = DomainEventHandlingRow.__table__
_CLAIM_MANY = {name: upsert(_HANDLINGS).on_conflict_do_nothing().returning(_HANDLINGS.c.event_id)
               for name, upsert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_CLAIM_ONE = {name: upsert(_HANDLINGS).values(event_id=bindparam("event_id"), handler=bindparam("handler"),
                                              finished_at=bindparam("finished_at"))
              .on_conflict_do_nothing().returning(_HANDLINGS.c.event_id)
              for name, upsert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
# A tenant's TransactionsPosted before an event, unprocessed, that none of the handler's names finished and
# that were re-sent fewer than `below_attempts` times (MessageBus, a handler kept in order): read through
# ix_domain_events_unprocessed, a range of the tenant's unprocessed events, not the whole outbox.
_UNFINISHED_BEFORE = (
    select(_EVENTS.c.event_id)
    .where(_EVENTS.c.tenant_id == bindparam("tenant"), _EVENTS.c.processed_at.is_(None),
           _EVENTS.c.event_id < bindparam("before"), _EVENTS.c.kind == kind_of(TransactionsPosted),
           _EVENTS.c.attempts < bindparam("below_attempts"),
           ~select(_HANDLINGS.c.event_id)
           .where(_HANDLINGS.c.event_id == _EVENTS.c.event_id,
                  _HANDLINGS.c.handler.in_(bindparam("handlers", expanding=True))).exists())
    .order_by(_EVENTS.c.event_id))
_EVENTS_BY_ID = select(_EVENTS.c.event_id, _EVENTS.c.kind, _EVENTS.c.payload).where(
    _EVENTS.c.event_id.in_(bindparam("event_ids", expanding=True)))
_MARK_PROCESSED = update(DomainEventRow.__table__).where(
    DomainEventRow.__table__.c.event_id.in_(bindparam("event_ids", expanding=True))).values(
    processed_at=bindparam("processed_at"))

# Events a unit of work wrote, as written: event id -> (kind, payload).
WrittenEvents = dict[int, tuple[str, dict[str, Any]]]


def written_event(kind: str, payload: dict[str, Any]) -> DomainEvent:
    """An event as the outbox will read it back, from the payload it was written with (through JSON, as
    the column stores it): the server's in-process handlers take it from memory, without a read."""
    return decode(kind, orjson.loads(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)))


@dataclass(frozen=True)
class StoredEvent:
    event_id: int
    tenant_id: str
    event: DomainEvent
    handled_by: frozenset[str]  # the handlers that finished it


class DomainEventsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.added: list[int] = []  # ids of the events this unit of work wrote, for the caller to announce
        self.added_events: dict[int, DomainEvent] = {}  # those of them added as objects, by id
        self.written: WrittenEvents = {}  # all of them as written

    async def add(self, tenant_id: str, event: DomainEvent, now: dt.datetime) -> int:
        kind, payload = encode(event)
        event_id = await self.add_encoded(tenant_id, kind, payload, now)
        self.added_events[event_id] = event
        return event_id

    async def add_for_queue(self, tenant_id: str, event: DomainEvent, now: dt.datetime) -> int:
        """An event that the job whose handler raised it does not handle itself: after the commit it goes to
        the queue as its own job (a chain of chunks, each its own job, bounded in time and retried alone)."""
        kind, payload = encode(event)
        return await self.add_encoded(tenant_id, kind, payload, now)

    async def add_encoded(self, tenant_id: str, kind: str, payload: dict[str, Any], now: dt.datetime) -> int:
        # Core, not the ORM's unit of work: one per ingested batch on the hot path.
        event_id = await self.session.scalar(insert(DomainEventRow).values(
            tenant_id=tenant_id, kind=kind, payload=payload, created_at=now, attempts=0,
        ).returning(DomainEventRow.event_id))
        assert event_id is not None
        self.added.append(int(event_id))
        self.written[int(event_id)] = (kind, payload)
        return int(event_id)

    async def add_transactions_posted(self, tenant_id: str, postings: list[IncomingTransaction],
                                      holders: Mapping[str, AccountHolder], current_after: Mapping[str, int],
                                      now: dt.datetime, *, live: bool = True) -> int:
        """A TransactionsPosted of live (or, live=False, backfill) postings, straight from the ingested
        rows: the ingestion hot path,
        where a Posting (and two Decimals) per row cost a tenth of the batch's time. `holders`: account id
        -> its owner, type and container; `current_after`: transaction id -> its account's balance right
        after it (whole ten-thousandths)."""
        credit = Direction.CREDIT
        rows = []
        for t in postings:
            holder = holders[t.account_id]
            assert t.amount is not None  # stored rows have their amounts
            rows.append([t.transaction_id, t.account_id, holder.customer_id, holder.type, holder.container,
                         t.currency, t.amount if t.direction is credit else -t.amount,
                         current_after[t.transaction_id], t.posted_at, t.direction, t.category, t.description])
        return await self.add_encoded(tenant_id, kind_of(TransactionsPosted), transactions_posted_payload(rows, live),
                                      now)

    async def get_unprocessed(self, event_id: int) -> StoredEvent | None:
        """The event with the handlers that finished it; None once every handler has (or if unknown)."""
        found = await driver.fetch_all(self.session, _UNPROCESSED_EVENT, {"event_id": event_id})
        if not found:
            return None
        tenant_id, kind, payload = found[0]
        handled = await driver.fetch_all(self.session, _FINISHED_HANDLERS, {"event_id": event_id})
        return StoredEvent(event_id, tenant_id, decode(kind, payload), frozenset(handler for handler, in handled))

    async def free_for(self, event_id: int, now: dt.datetime) -> bool:
        """Whether the job of the event may take it (see take), read without taking it."""
        return bool(await driver.fetch_all(self.session, _FREE, {"job": event_id, "now": now}))

    async def take(self, event_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Takes the event for the bus job of that event until `until`: False when it is processed, or
        another job has it (see _FREE_FOR_JOB). The caller commits."""
        taken = await self.session.scalar(_TAKE_ONE, {"job": event_id, "now": now, "until": until})
        return taken is not None

    async def take_untouched_after(self, event_id: int, tenant_id: str, limit: int, max_postings: int, live: bool,
                                   now: dt.datetime, until: dt.datetime) -> list[tuple[int, TransactionsPosted]]:
        """Takes, for the job of `event_id`, up to `limit` unprocessed TransactionsPosted of the tenant after
        it, in id order, that no handler has finished yet and no other job has, as `live` as it, and no more
        of them than fit in `max_postings` postings: the bus handles them with that one in a single job. The
        caller commits."""
        rows = sorted((await self.session.execute(_TAKE_UNTOUCHED_AFTER, {
            "job": event_id, "tenant": tenant_id, "limit": limit, "now": now, "until": until})).all())
        found: list[tuple[int, TransactionsPosted]] = []
        for number, (found_id, text) in enumerate(rows):
            payload = orjson.loads(text)
            max_postings -= posting_count(payload)
            event = decode(kind_of(TransactionsPosted), payload) if max_postings >= 0 else None
            if event is None or not isinstance(event, TransactionsPosted) or event.live != live:
                # Given back at once: the first that does not fit, and every later one (ids stay in order).
                await self.give_back(event_id, [int(i) for i, _ in rows[number:]])
                break
            found.append((int(found_id), event))
        return found

    async def give_back(self, job: int, event_ids: list[int]) -> list[int]:
        """Ends the job's hold on those of the events it still has unprocessed, and returns them."""
        if not event_ids:
            return []
        given = await self.session.scalars(_GIVE_BACK, {"job": job, "event_ids": event_ids})
        return sorted(int(i) for i in given)

    async def claim_handling(self, event_ids: list[int], handler: str, now: dt.datetime) -> list[int]:
        """Records that the handler finished the events, in the handler's own transaction. Returns those it
        recorded: an event missing had been finished by the handler already (a job that handled it
        meanwhile), and the caller handles only the others."""
        dialect = driver.dialect_of(self.session).name
        if len(event_ids) == 1:  # PostgreSQL's jobs: one event each
            # One row: a plain execute of a statement built once (its compilation is cached), not the
            # executemany path of several rows.
            found = await self.session.scalar(_CLAIM_ONE[dialect], {"event_id": event_ids[0], "handler": handler,
                                                                     "finished_at": now})
            return event_ids if found is not None else []
        # The rows as parameters, not in the statement's VALUES: compiled once, not at every claim.
        inserted = await self.session.scalars(
            _CLAIM_MANY[dialect], [{"event_id": event_id, "handler": handler, "finished_at": now}
                                   for event_id in event_ids])
        claimed = set(inserted)
        return [event_id for event_id in event_ids if event_id in claimed]

    async def unfinished_before(self, tenant_id: str, event_id: int, handlers: list[str],
                                below_attempts: int) -> list[int]:
        """Ids, ascending, of the tenant's unprocessed TransactionsPosted before `event_id` that no one of
        `handlers` (a handler's names) has finished, re-sent fewer than `below_attempts` times. A claim
        another transaction is holding is not seen as finished until it commits."""
        rows = await self.session.scalars(_UNFINISHED_BEFORE, {
            "tenant": tenant_id, "before": event_id, "below_attempts": below_attempts, "handlers": handlers})
        return list(rows)

    async def events(self, event_ids: list[int]) -> dict[int, DomainEvent]:
        """The events with these ids (processed or not), by id."""
        rows = await self.session.execute(_EVENTS_BY_ID, {"event_ids": event_ids})
        return {int(event_id): decode(kind, payload) for event_id, kind, payload in rows}

    async def mark_processed(self, event_ids: list[int], now: dt.datetime) -> None:
        await self.session.execute(_MARK_PROCESSED, {"event_ids": event_ids, "processed_at": now})

    async def mark_enqueued(self, event_ids: list[int], now: dt.datetime) -> None:
        await self.session.execute(update(DomainEventRow).where(DomainEventRow.event_id.in_(event_ids))
                                   .values(enqueued_at=now, attempts=DomainEventRow.attempts + 1))

    async def unprocessed_ids(self, cutoff: dt.datetime, limit: int, below_attempts: int) -> list[tuple[int, int]]:
        """(event id, attempts) of unprocessed events created, and last re-sent, before the cutoff, that
        were re-sent fewer than `below_attempts` times: their jobs were lost or failed."""
        rows = await self.session.execute(
            select(DomainEventRow.event_id, DomainEventRow.attempts)
            .where(DomainEventRow.processed_at.is_(None), DomainEventRow.created_at < cutoff,
                   DomainEventRow.attempts < below_attempts)
            .where((DomainEventRow.enqueued_at.is_(None)) | (DomainEventRow.enqueued_at < cutoff))
            .order_by(DomainEventRow.event_id).limit(limit))
        return [(event_id, attempts) for event_id, attempts in rows]

    async def abandoned_count(self, attempts: int, tenant_id: str | None = None) -> int:
        """Unprocessed events re-sent at least `attempts` times (of one tenant, when given)."""
        query = select(func.count()).select_from(DomainEventRow).where(
            DomainEventRow.processed_at.is_(None), DomainEventRow.attempts >= attempts)
        if tenant_id is not None:
            query = query.where(DomainEventRow.tenant_id == tenant_id)
        return int(await self.session.scalar(query) or 0)

    async def outbox_figures(self, below_attempts: int, count_cap: int
                             ) -> tuple[int, dt.datetime | None, int]:
        """(unprocessed events re-sent fewer than `below_attempts` times, the creation time of the oldest
        of them, unprocessed events re-sent at least that often), the counts stopping at `count_cap`:
        all three read through the pending index, however many events the outbox has handled."""
        unprocessed = DomainEventRow.processed_at.is_(None)
        live = (unprocessed, DomainEventRow.attempts < below_attempts)
        given_up = (unprocessed, DomainEventRow.attempts >= below_attempts)
        pending = await self.session.scalar(select(func.count()).select_from(
            select(DomainEventRow.event_id).where(*live).limit(count_cap).subquery()))
        oldest = await self.session.scalar(select(DomainEventRow.created_at).where(*live)
                                           .order_by(DomainEventRow.created_at).limit(1))
        abandoned = await self.session.scalar(select(func.count()).select_from(
            select(DomainEventRow.event_id).where(*given_up).limit(count_cap).subquery()))
        return int(pending or 0), oldest, int(abandoned or 0)

    async def never_resent_ids(self, cutoff: dt.datetime, limit: int) -> list[int]:
        """Unprocessed events created before the cutoff and announced only by their own commit."""
        rows = await self.session.scalars(
            select(DomainEventRow.event_id)
            .where(DomainEventRow.processed_at.is_(None), DomainEventRow.created_at < cutoff,
                   DomainEventRow.attempts == 0)
            .order_by(DomainEventRow.event_id).limit(limit))
        return list(rows)
