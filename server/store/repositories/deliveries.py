"""The delivery outbox of one tenant: recorded with the trigger in one transaction, claimed by one
worker at a time (a lease), finished with the provider's answer."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import orjson
from sqlalchemy import Insert, String, Update, and_, bindparam, case, func, insert, or_, select, union_all, update
from sqlalchemy.dialects import postgresql

from server.domain.engagement.delivery_outbox import FinishedSend, RecordedTrigger
from server.domain.engagement.entities import Channel, Delivery, DeliveryState, FallbackMark, FallbackState
from server.domain.engagement.fallback import ChainMove, Move
from server.domain.engagement.receipts import (
    DeliveryReceipt,
    could_name_a_message,
    push_receipt_applies,
    receipt_applies,
)
from server.store import driver
from server.store.engagement_models import DeliveryRow, TriggerRow
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository, dialect_insert, storable
from server.store.repositories.tenants import disabled_tenant_ids
from server.store.types import sqlite_datetime_text

# The dispatch hot path changes rows it never loaded into the session: nothing there to keep in step.
_NO_SYNC = {"synchronize_session": False}

# Statements of the trigger hot path are built once and run with bound parameters: building one with
# its values inlined cost SQLAlchemy more per call (values coerced, the cache key walked) than sending it.
_INSERT_DELIVERIES = DeliveryRow.__table__.insert()


@functools.cache
def _insert_trigger(dialect: str) -> Insert:
    return dialect_insert(dialect)(TriggerRow.__table__).on_conflict_do_nothing(
        index_elements=["tenant_id", "trigger_key"])


# A customer with many devices has many deliveries per trigger; past this many (32 parameters each,
# PostgreSQL takes at most 32,767 per statement) the trigger is written with two statements instead.
_MOST_DELIVERIES_IN_ONE_STATEMENT = 100


@functools.lru_cache(maxsize=32)
def _insert_trigger_and_deliveries(count: int) -> Insert:
    """PostgreSQL: the trigger (skipped when its key is taken) and, only if it was new, its `count`
    deliveries, in one statement. Parameters t_<column> and d<n>_<column>."""
    triggers, deliveries = TriggerRow.__table__, DeliveryRow.__table__
    new_trigger = (postgresql.insert(triggers)
                   .values({c.key: bindparam(f"t_{c.key}", type_=c.type) for c in triggers.c})
                   .on_conflict_do_nothing(index_elements=["tenant_id", "trigger_key"])
                   .returning(triggers.c.trigger_key).cte("new_trigger"))
    is_new = select(new_trigger.c.trigger_key).exists()
    rows = [select(*(bindparam(f"d{number}_{c.key}", type_=c.type) for c in deliveries.c)).where(is_new)
            for number in range(count)]
    return (insert(deliveries).from_select([c.key for c in deliveries.c], union_all(*rows) if count > 1 else rows[0])
            .add_cte(new_trigger))


@functools.cache
def _claim_due() -> Update:
    """claim_due's statement, built once. Parameters b_tenant_id, b_now, b_limit, b_lease_until."""
    table = DeliveryRow.__table__
    now = bindparam("b_now", type_=table.c.updated_at.type)
    # The due rows are picked once, in a materialized CTE, and updated by primary key alone: the CTE's
    # FOR UPDATE locked them after re-checking its conditions on their latest versions (SQLite: one
    # writer, one statement). Written as `delivery_id IN (subquery)` with the conditions repeated,
    # PostgreSQL could plan the subquery (a scan of the due index that locks rows) as the inner side of
    # a nested loop, run once per queued row of the tenant: on a table not analyzed yet it did, and each
    # claim of 30 rows cost 6-15 ms.
    due = (select(table.c.delivery_id).where(
        table.c.tenant_id == bindparam("b_tenant_id"), table.c.state == DeliveryState.QUEUED.value,
        table.c.next_attempt_at <= now,
    ).order_by(table.c.next_attempt_at).limit(bindparam("b_limit")).with_for_update(skip_locked=True)
        .cte("due").prefix_with("MATERIALIZED", dialect="postgresql"))
    # Table columns, not the ORM entity: loading ORM objects for rows that are only read cost more than
    # the statement.
    return update(table).where(table.c.delivery_id == due.c.delivery_id).values(
        state=DeliveryState.SENDING.value, attempts=table.c.attempts + 1,
        lease_until=bindparam("b_lease_until", type_=table.c.lease_until.type), updated_at=now,
    ).returning(*table.c)


# finish_many's answers, in the order of its rows; on PostgreSQL one array per column, zipped back into
# rows by unnest().
_FINISHED_COLUMNS = ("delivery_id", "state", "provider_message_id", "error_code", "error_message")


@functools.cache
def _finish_by_arrays() -> Update:
    """PostgreSQL: a batch's answers in one statement, each delivery found by its primary key (an
    executemany ran one statement per row, and without table statistics PostgreSQL looked each one up
    through the tenant-and-state index). Parameters b_tenant_id, b_now and a_<column> (arrays)."""
    table = DeliveryRow.__table__
    answers = func.unnest(*(bindparam(f"a_{name}", type_=postgresql.ARRAY(String)) for name in _FINISHED_COLUMNS)
                          ).table_valued(*_FINISHED_COLUMNS).render_derived()
    now = bindparam("b_now", type_=table.c.updated_at.type)
    sent = answers.c.state == DeliveryState.SENT.value
    return update(table).where(
        table.c.delivery_id == answers.c.delivery_id, table.c.tenant_id == bindparam("b_tenant_id"),
        table.c.state == DeliveryState.SENDING.value,
    ).values(state=answers.c.state, lease_until=None, updated_at=now, error_code=answers.c.error_code,
             error_message=answers.c.error_message, sealed_content=None,
             provider_message_id=case((answers.c.provider_message_id != "", answers.c.provider_message_id),
                                      else_=table.c.provider_message_id),
             sent_at=case((sent, now), else_=table.c.sent_at))


# Triggers of a batch per INSERT, with their deliveries after it.
_TRIGGERS_PER_STATEMENT = 1000

# add_triggers' insert: the keys, events and customers as arrays (PostgreSQL) or one JSON array
# (SQLite), so the statement's text is the same whatever the number of triggers. A multi-row VALUES
# was compiled by SQLAlchemy anew for every call (its text changes with the count): 5 parameters a
# trigger, about 40% of transaction_alerts' CPU on the newsworthy bench. Rows go in in the order given.
_POSTGRES_INSERT_TRIGGERS = """
INSERT INTO event_triggers (tenant_id, trigger_key, event_id, customer_id, created_at)
SELECT $1, t.trigger_key, t.event_id, t.customer_id, $5
FROM unnest($2::text[], $3::text[], $4::text[]) AS t(trigger_key, event_id, customer_id)
ON CONFLICT (tenant_id, trigger_key) DO NOTHING
RETURNING trigger_key
"""

_SQLITE_INSERT_TRIGGERS = """
INSERT INTO event_triggers (tenant_id, trigger_key, event_id, customer_id, created_at)
SELECT ?, j.value ->> 0, j.value ->> 1, j.value ->> 2, ?
FROM json_each(?) AS j WHERE true
ON CONFLICT (tenant_id, trigger_key) DO NOTHING
RETURNING trigger_key
"""


class DeliveriesRepository(TenantRepository):
    async def add_trigger(self, trigger_key: str, event_id: str, customer_id: str, now: dt.datetime,
                          deliveries: list[Delivery], queued_until: dt.datetime) -> bool:
        """Records a trigger and its deliveries; False (and nothing recorded) when the trigger was
        recorded before. Queued deliveries due by `queued_until` are recorded as enqueued for their due
        time (the caller enqueues them after commit); later ones are left for the relay sweep."""
        trigger = {"tenant_id": self.tenant_id, "trigger_key": trigger_key, "event_id": event_id,
                   "customer_id": customer_id, "created_at": now}
        rows = [_outbox_row(self.tenant_id, d, queued_until) for d in deliveries]
        dialect = driver.dialect_of(self.session).name
        if dialect == "postgresql" and 0 < len(rows) <= _MOST_DELIVERIES_IN_ONE_STATEMENT:
            # One statement, atomic on its own: the deliveries are inserted only if the trigger is new.
            params = {f"t_{key}": value for key, value in trigger.items()}
            for number, row in enumerate(rows):
                params.update({f"d{number}_{key}": value for key, value in row.items()})
            return await driver.execute(self.session, _insert_trigger_and_deliveries(len(rows)), params) > 0
        # Two statements, through the session and so inside the unit of work's transaction.
        if not driver.rowcount(await self.session.execute(_insert_trigger(dialect), trigger)):
            return False
        if rows:
            await self.session.execute(_INSERT_DELIVERIES, rows)
        return True

    async def add_triggers(self, triggers: list[RecordedTrigger], now: dt.datetime,
                           queued_until: dt.datetime) -> set[str]:
        """Records many triggers with their deliveries (add_trigger's rules, keys distinct) in two
        statements per chunk; returns the keys that were new. The deliveries of a key recorded before
        are not recorded again."""
        new_keys: set[str] = set()
        connection = await self.session.connection()
        postgres = connection.dialect.name == "postgresql"
        # In key order: two batches sharing keys (a caller and its retry) then wait for each other's keys
        # one way only. In the order given, each could hold a key the other waits for (PostgreSQL: a deadlock).
        triggers = sorted(triggers, key=lambda t: t.trigger_key)
        for start in range(0, len(triggers), _TRIGGERS_PER_STATEMENT):
            chunk = triggers[start:start + _TRIGGERS_PER_STATEMENT]
            if postgres:
                result = await connection.exec_driver_sql(_POSTGRES_INSERT_TRIGGERS, (
                    self.tenant_id, [t.trigger_key for t in chunk], [t.event_id for t in chunk],
                    [t.customer_id for t in chunk], now))
            else:
                result = await connection.exec_driver_sql(_SQLITE_INSERT_TRIGGERS, (
                    self.tenant_id, sqlite_datetime_text(now),
                    orjson.dumps([[t.trigger_key, t.event_id, t.customer_id] for t in chunk]).decode()))
            chunk_new = {row[0] for row in result}
            rows = [_outbox_row(self.tenant_id, d, queued_until)
                    for t in chunk if t.trigger_key in chunk_new for d in t.deliveries]
            if rows:
                await self.session.execute(_INSERT_DELIVERIES, rows)
            new_keys |= chunk_new
        return new_keys

    async def recorded_trigger_keys(self, trigger_keys: set[str]) -> set[str]:
        if not trigger_keys:
            return set()
        return set(await self.session.scalars(select(TriggerRow.trigger_key).where(
            TriggerRow.tenant_id == self.tenant_id, TriggerRow.trigger_key.in_(trigger_keys))))

    async def of_triggers(self, trigger_keys: set[str]) -> dict[str, list[Delivery]]:
        found: dict[str, list[Delivery]] = {key: [] for key in trigger_keys}
        if trigger_keys:
            rows = await self.session.scalars(select(DeliveryRow).where(
                DeliveryRow.tenant_id == self.tenant_id, DeliveryRow.trigger_key.in_(trigger_keys)
            ).order_by(DeliveryRow.delivery_id))
            for row in rows:
                found[row.trigger_key].append(_delivery(row))
        return found

    async def trigger_recorded(self, trigger_key: str) -> bool:
        return await self.session.scalar(select(TriggerRow.trigger_key).where(
            TriggerRow.tenant_id == self.tenant_id, TriggerRow.trigger_key == trigger_key)) is not None

    async def of_trigger(self, trigger_key: str) -> list[Delivery]:
        rows = await self.session.scalars(select(DeliveryRow).where(
            DeliveryRow.tenant_id == self.tenant_id, DeliveryRow.trigger_key == trigger_key
        ).order_by(DeliveryRow.delivery_id))
        return [_delivery(r) for r in rows]

    async def chains(self, trigger_keys: list[str]) -> dict[str, list[Delivery]]:
        """trigger key -> the deliveries of its fallback chain, by step; one statement for them all."""
        rows = await self.session.scalars(select(DeliveryRow).where(
            DeliveryRow.tenant_id == self.tenant_id, self.one_of(DeliveryRow.trigger_key, sorted(set(trigger_keys))),
            DeliveryRow.fallback_step > 0).order_by(DeliveryRow.trigger_key, DeliveryRow.fallback_step,
                                                    DeliveryRow.delivery_id),
            execution_options={"populate_existing": True})
        chains: dict[str, list[Delivery]] = {}
        for row in rows:
            chains.setdefault(row.trigger_key, []).append(_delivery(row))
        return chains

    async def move_chain(self, moves: list[ChainMove], now: dt.datetime, queued_until: dt.datetime) -> list[str]:
        """Applies a chain's moves, each only if its delivery is still in the fallback state it was decided
        from (and a held one still HELD): of two processes deciding at once, one moves each delivery.
        Returns the deliveries released (QUEUED now); those due by `queued_until` count as enqueued (the
        caller enqueues them after commit)."""
        released: list[str] = []
        for move in moves:
            mark = move.mark
            values: dict[str, Any] = {"fallback_state": str(mark.state), "fallback_started_at": mark.started_at,
                                      "fallback_deadline": mark.deadline, "fallback_ended_at": mark.ended_at}
            conditions = [DeliveryRow.delivery_id == move.delivery_id, DeliveryRow.tenant_id == self.tenant_id,
                          DeliveryRow.fallback_state == str(move.expected)]
            if move.move is Move.RELEASE:
                assert move.due is not None
                values.update(state=DeliveryState.QUEUED.value, next_attempt_at=move.due, updated_at=now,
                              enqueued_at=_enqueued_at(move.due, queued_until))
                conditions.append(DeliveryRow.state == DeliveryState.HELD.value)
            elif move.move is Move.DROP:
                values.update(state=DeliveryState.SKIPPED.value, skip_reason=move.skip_reason, content={},
                              updated_at=now)
                conditions.append(DeliveryRow.state == DeliveryState.HELD.value)
            result = await self.session.execute(update(DeliveryRow).where(*conditions).values(**values),
                                                execution_options=_NO_SYNC)
            if move.move is Move.RELEASE and driver.rowcount(result):
                released.append(move.delivery_id)
        return released

    async def get(self, delivery_id: str) -> Delivery | None:
        row = await self.session.get(DeliveryRow, delivery_id)
        return _delivery(row) if row is not None and row.tenant_id == self.tenant_id else None

    async def page(self, *, state: DeliveryState | None, customer_id: str, event_id: str, campaign_id: str,
                   before: str | None, limit: int) -> list[Delivery]:
        """Newest first."""
        query = select(DeliveryRow).where(DeliveryRow.tenant_id == self.tenant_id)
        if state is not None:
            query = query.where(DeliveryRow.state == str(state))
        if customer_id:
            query = query.where(DeliveryRow.customer_id == customer_id)
        if event_id:
            query = query.where(DeliveryRow.event_id == event_id)
        if campaign_id:
            query = query.where(DeliveryRow.campaign_id == campaign_id)
        rows = await self.session.scalars(
            keyset_page(query, [DeliveryRow.delivery_id], (before,) if before else None, limit, descending=True))
        return [_delivery(r) for r in rows]

    async def failures_since(self, since: dt.datetime) -> list[tuple[str, str, int]]:
        """(state, error code, count) of the deliveries that ended FAILED or DEAD_LETTER since then."""
        rows = await self.session.execute(
            select(DeliveryRow.state, DeliveryRow.error_code, func.count())
            .where(DeliveryRow.tenant_id == self.tenant_id,
                   DeliveryRow.state.in_([DeliveryState.FAILED.value, DeliveryState.DEAD_LETTER.value]),
                   DeliveryRow.updated_at >= since)
            .group_by(DeliveryRow.state, DeliveryRow.error_code)
            .order_by(func.count().desc(), DeliveryRow.state, DeliveryRow.error_code))
        return [(state, error_code, int(count)) for state, error_code, count in rows]

    async def claim(self, delivery_id: str, now: dt.datetime, lease: dt.timedelta) -> Delivery | None:
        """Takes the delivery for one send when it is due, or when another worker's lease ran out (that
        worker died mid-send). None when it is not this worker's to send (done, not due, leased)."""
        # One statement: the claim and the row as claimed (RETURNING; SQLite has it since 3.35).
        row = (await self.session.scalars(update(DeliveryRow).where(
            DeliveryRow.delivery_id == delivery_id, DeliveryRow.tenant_id == self.tenant_id,
            or_(and_(DeliveryRow.state == DeliveryState.QUEUED.value, DeliveryRow.next_attempt_at <= now),
                and_(DeliveryRow.state == DeliveryState.SENDING.value, DeliveryRow.lease_until < now)),
        ).values(state=DeliveryState.SENDING.value, attempts=DeliveryRow.attempts + 1, lease_until=now + lease,
                 updated_at=now).returning(DeliveryRow), execution_options={"populate_existing": True})).first()
        return _delivery(row) if row is not None else None

    async def claim_due(self, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[Delivery]:
        """Takes up to `limit` of the tenant's due deliveries, oldest due first, for one send each. Rows
        another worker is claiming at the same moment are skipped, not waited for (PostgreSQL's SKIP
        LOCKED; SQLite has one writer at a time)."""
        result = await self.session.execute(_claim_due(), {
            "b_tenant_id": self.tenant_id, "b_now": now, "b_limit": limit, "b_lease_until": now + lease})
        return sorted((_delivery(r) for r in result), key=lambda d: (d.next_attempt_at, d.delivery_id))

    async def finish_many(self, finished: list[FinishedSend], now: dt.datetime) -> None:
        """Final answers for deliveries this worker holds, in one statement on PostgreSQL (one per kind
        of answer, executed for all its rows at once, on SQLite). Wipes sealed (one-time password)
        content."""
        # Each answer as stored: (delivery_id, state, provider_message_id, error_code, error_message).
        rows = [(a.delivery_id, a.state.value, storable(a.provider_message_id, 200), storable(a.error_code, 64),
                 storable(a.error_message, 2000)) for a in finished]
        if not rows:
            return
        if driver.dialect_of(self.session).name == "postgresql":
            columns = zip(*rows, strict=True)
            await driver.execute(self.session, _finish_by_arrays(), {
                "b_tenant_id": self.tenant_id, "b_now": now,
                **{f"a_{name}": list(values) for name, values in zip(_FINISHED_COLUMNS, columns, strict=True)}})
            return
        kinds: dict[tuple[str, bool], list[tuple[str, str, str, str, str]]] = {}
        for row in rows:
            kinds.setdefault((row[1], bool(row[2])), []).append(row)
        table = DeliveryRow.__table__
        for (state, has_provider_id), answers in kinds.items():
            values: dict[str, Any] = {"state": state, "lease_until": None, "updated_at": now,
                                      "error_code": bindparam("b_error_code"),
                                      "error_message": bindparam("b_error_message"), "sealed_content": None}
            if has_provider_id:
                values["provider_message_id"] = bindparam("b_provider_message_id")
            if state == DeliveryState.SENT.value:
                values["sent_at"] = now
            statement = update(table).where(
                table.c.delivery_id == bindparam("b_delivery_id"), table.c.tenant_id == self.tenant_id,
                table.c.state == DeliveryState.SENDING.value).values(**values)
            await self.session.execute(statement, [
                {"b_delivery_id": delivery_id, "b_provider_message_id": provider_message_id,
                 "b_error_code": error_code, "b_error_message": error_message}
                for delivery_id, _, provider_message_id, error_code, error_message in answers])

    async def reschedule(self, delivery_id: str, at: dt.datetime, now: dt.datetime, *, error_code: str = "",
                         error_message: str = "") -> bool:
        """Back to the queue until `at` (a temporary error); the job for `at` counts as enqueued."""
        result = await self.session.execute(update(DeliveryRow).where(
            DeliveryRow.delivery_id == delivery_id, DeliveryRow.tenant_id == self.tenant_id,
            DeliveryRow.state == DeliveryState.SENDING.value,
        ).values(state=DeliveryState.QUEUED.value, lease_until=None, next_attempt_at=at, enqueued_at=at,
                 updated_at=now, error_code=storable(error_code, 64), error_message=storable(error_message, 2000)),
            execution_options=_NO_SYNC)
        return bool(driver.rowcount(result))

    async def release(self, delivery_id: str, at: dt.datetime, now: dt.datetime) -> bool:
        """Back to the queue until `at` without having been sent (held back by a rate limit): the
        claim's try is given back."""
        result = await self.session.execute(update(DeliveryRow).where(
            DeliveryRow.delivery_id == delivery_id, DeliveryRow.tenant_id == self.tenant_id,
            DeliveryRow.state == DeliveryState.SENDING.value,
        ).values(state=DeliveryState.QUEUED.value, attempts=DeliveryRow.attempts - 1, lease_until=None,
                 next_attempt_at=at, enqueued_at=at, updated_at=now), execution_options=_NO_SYNC)
        return bool(driver.rowcount(result))

    async def requeue(self, delivery_ids: list[str] | None, states: list[DeliveryState], now: dt.datetime) -> list[str]:
        """Re-drives deliveries in the given states with their tries starting again (RetryDeliveries)."""
        query = select(DeliveryRow.delivery_id).where(DeliveryRow.tenant_id == self.tenant_id,
                                                      DeliveryRow.state.in_([s.value for s in states]))
        if delivery_ids is not None:
            query = query.where(DeliveryRow.delivery_id.in_(delivery_ids))
        ids = list(await self.session.scalars(query))
        if ids:
            await self.session.execute(update(DeliveryRow).where(
                DeliveryRow.tenant_id == self.tenant_id, DeliveryRow.delivery_id.in_(ids)
            ).values(state=DeliveryState.QUEUED.value, attempts=0, next_attempt_at=now, enqueued_at=now,
                     lease_until=None, updated_at=now, error_code="", error_message=""))
        return ids

    async def record_receipt(self, receipt: DeliveryReceipt, now: dt.datetime) -> str | None:
        """A provider's delivery report; returns the delivery id it matched, if any."""
        if receipt.delivery_id:  # a push app's report: the delivery the push carried, sent through this config
            row = (await self.session.scalars(select(DeliveryRow).where(
                DeliveryRow.delivery_id == receipt.delivery_id, DeliveryRow.tenant_id == self.tenant_id,
                DeliveryRow.provider == receipt.provider, DeliveryRow.config_id == receipt.config_id))).first()
            if row is None:
                return None
        elif not could_name_a_message(receipt.provider_message_id):  # and PostgreSQL refuses to compare a NUL
            return None
        else:
            row = (await self.session.scalars(select(DeliveryRow).where(
                DeliveryRow.tenant_id == self.tenant_id, DeliveryRow.provider == receipt.provider,
                DeliveryRow.provider_message_id == receipt.provider_message_id).limit(1))).first()
        if row is None:
            return None
        state = DeliveryState(receipt.status)
        applies = push_receipt_applies if receipt.delivery_id else receipt_applies
        if applies(DeliveryState(row.state), state):
            row.state = state.value
            row.updated_at = now
            if state is DeliveryState.DELIVERED:
                row.delivered_at = now
                row.sent_at = row.sent_at or now  # a push's app can report before the send's answer is recorded
                row.error_code, row.error_message = "", ""  # an earlier failure report no longer holds
            if receipt.error_code or receipt.error_message:
                row.error_code = storable(receipt.error_code, 64)
                row.error_message = storable(receipt.error_message, 2000)
        return row.delivery_id


class OutboxRepository:
    """The relay's cross-tenant view: deliveries whose job Redis may have lost."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def fallbacks_due(self, now: dt.datetime, limit: int) -> list[tuple[str, str]]:
        """(tenant, trigger key) of fallback chains whose current step's deadline has passed."""
        rows = await self.session.execute(select(DeliveryRow.tenant_id, DeliveryRow.trigger_key).where(
            DeliveryRow.fallback_deadline <= now, DeliveryRow.tenant_id.not_in(disabled_tenant_ids()),
        ).order_by(DeliveryRow.fallback_deadline).limit(limit))
        return list(dict.fromkeys((r.tenant_id, r.trigger_key) for r in rows))

    async def lost(self, now: dt.datetime, grace: dt.timedelta, limit: int) -> list[tuple[str, str, int]]:
        """(tenant, delivery id, attempts) of deliveries due but not picked up within `grace`, never
        enqueued, or held by a worker whose lease ran out. Not those of disabled tenants: dispatch leaves
        them queued, and sent round again they would crowd out the others (found again once enabled)."""
        cutoff = now - grace
        rows = await self.session.execute(select(
            DeliveryRow.tenant_id, DeliveryRow.delivery_id, DeliveryRow.attempts).where(or_(
                and_(DeliveryRow.state == DeliveryState.QUEUED.value, DeliveryRow.next_attempt_at <= now,
                     DeliveryRow.enqueued_at.is_(None)),
                and_(DeliveryRow.state == DeliveryState.QUEUED.value, DeliveryRow.next_attempt_at <= cutoff,
                     DeliveryRow.enqueued_at <= cutoff),
                and_(DeliveryRow.state == DeliveryState.SENDING.value, DeliveryRow.lease_until < now),
            ), DeliveryRow.tenant_id.not_in(disabled_tenant_ids())).order_by(DeliveryRow.next_attempt_at).limit(limit))
        return [(r.tenant_id, r.delivery_id, r.attempts) for r in rows]

    async def mark_enqueued(self, delivery_ids: list[str], now: dt.datetime) -> None:
        if delivery_ids:
            await self.session.execute(update(DeliveryRow).where(
                DeliveryRow.delivery_id.in_(delivery_ids),
                DeliveryRow.state == DeliveryState.QUEUED.value).values(enqueued_at=now))

    async def requeue_abandoned(self, delivery_ids: list[str], now: dt.datetime) -> None:
        """Of these deliveries, those still held by a worker whose lease ran out (it died mid-send) back
        to the queue, due as they were, for their tenant's next dispatch job to claim in a batch. The
        try they used stays counted: the provider may have had the message."""
        if delivery_ids:
            await self.session.execute(update(DeliveryRow).where(
                DeliveryRow.delivery_id.in_(delivery_ids), DeliveryRow.state == DeliveryState.SENDING.value,
                DeliveryRow.lease_until < now,
            ).values(state=DeliveryState.QUEUED.value, lease_until=None, enqueued_at=now, updated_at=now),
                execution_options=_NO_SYNC)


def _outbox_row(tenant_id: str, d: Delivery, queued_until: dt.datetime) -> dict[str, Any]:
    """A new delivery's row; queued ones due by `queued_until` count as enqueued for their due time."""
    return {"delivery_id": d.delivery_id, "tenant_id": tenant_id, "trigger_key": d.trigger_key,
            "event_id": d.event_id, "campaign_id": d.campaign_id, "customer_id": d.customer_id,
            "channel": str(d.channel), "provider": d.provider, "config_id": d.config_id, "address": d.address,
            "message_class": d.message_class, "content": d.content, "sealed_content": d.sealed_content,
            "state": str(d.state), "skip_reason": d.skip_reason, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at, "lease_until": None,
            "enqueued_at": _enqueued_at(d.next_attempt_at, queued_until) if d.state is DeliveryState.QUEUED else None,
            "provider_message_id": d.provider_message_id, "error_code": d.error_code,
            "error_message": d.error_message, "created_at": d.created_at, "updated_at": d.updated_at,
            "sent_at": d.sent_at, "delivered_at": d.delivered_at, **_fallback_columns(d.fallback)}


def _enqueued_at(due: dt.datetime, queued_until: dt.datetime) -> dt.datetime | None:
    """When a delivery queued now counts as handed to Redis: at its due time if that is by `queued_until`
    (the caller enqueues it once committed); later ones are left to the relay sweep."""
    return due if due <= queued_until else None


def _fallback_columns(mark: FallbackMark | None) -> dict[str, Any]:
    if mark is None:
        return {"fallback_step": 0, "fallback_state": "", "fallback_wait_seconds": 0, "fallback_started_at": None,
                "fallback_deadline": None, "fallback_ended_at": None}
    return {"fallback_step": mark.step, "fallback_state": str(mark.state), "fallback_wait_seconds": mark.wait_seconds,
            "fallback_started_at": mark.started_at, "fallback_deadline": mark.deadline,
            "fallback_ended_at": mark.ended_at}


def _fallback_mark(row: Any) -> FallbackMark | None:
    if not row.fallback_step:
        return None
    return FallbackMark(row.fallback_step, FallbackState(row.fallback_state), row.fallback_wait_seconds,
                        row.fallback_started_at, row.fallback_deadline, row.fallback_ended_at)


def _delivery(row: Any) -> Delivery:
    """From a DeliveryRow or a Core row of its table (the same attribute names)."""
    return Delivery(
        delivery_id=row.delivery_id, trigger_key=row.trigger_key, event_id=row.event_id, campaign_id=row.campaign_id,
        customer_id=row.customer_id, channel=Channel(row.channel), provider=row.provider, config_id=row.config_id,
        address=row.address, message_class=row.message_class, content=dict(row.content or {}),
        state=DeliveryState(row.state), skip_reason=row.skip_reason, attempts=row.attempts,
        next_attempt_at=row.next_attempt_at, provider_message_id=row.provider_message_id,
        error_code=row.error_code, error_message=row.error_message, created_at=row.created_at,
        updated_at=row.updated_at, sent_at=row.sent_at, delivered_at=row.delivered_at,
        sealed_content=row.sealed_content, fallback=_fallback_mark(row))
