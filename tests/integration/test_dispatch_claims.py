"""The outbox's claim and answer statements on both databases: a claim takes only its tenant's due
rows, oldest first, each once; an answer changes only rows this tenant holds in SENDING, with the
provider's id and the sent time where the send succeeded and the sealed content wiped."""

from __future__ import annotations

import datetime as dt
import uuid

from server.bootstrap import Services
from server.domain.engagement.delivery_outbox import FinishedSend
from server.domain.engagement.entities import Delivery, DeliveryState
from server.store.uow import UnitOfWork
from tests.support.outbox import queued_delivery

LEASE = dt.timedelta(seconds=30)


def _delivery(key: str, due: dt.datetime, now: dt.datetime, sealed: bytes | None = None) -> Delivery:
    return queued_delivery(key, now, address=f"+4206{key[-8:]:0>8}", content={} if sealed else {"text": key},
                           next_attempt_at=due, sealed_content=sealed)


async def _record(services: Services, tenant: str, deliveries: list[Delivery], now: dt.datetime) -> None:
    async with UnitOfWork(services.database, tenant) as uow:
        for delivery in deliveries:
            assert await uow.deliveries.add_trigger(delivery.trigger_key, "e1", "c1", now, [delivery],
                                                    queued_until=now)
        await uow.commit()


async def _claim(services: Services, tenant: str, now: dt.datetime, limit: int) -> list[Delivery]:
    async with UnitOfWork(services.database, tenant) as uow:
        claimed = await uow.deliveries.claim_due(now, LEASE, limit)
        await uow.commit()
    return claimed


async def _get(services: Services, tenant: str, delivery_id: str) -> Delivery:
    async with UnitOfWork(services.database, tenant) as uow:
        found = await uow.deliveries.get(delivery_id)
    assert found is not None
    return found


async def test_a_claim_takes_the_tenants_due_rows_oldest_first_and_each_once(services: Services, tenant: str) -> None:
    now = dt.datetime.now(dt.UTC)
    other = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    due = [_delivery(f"k{n}", now - dt.timedelta(seconds=10 - n), now) for n in range(5)]
    later = _delivery("k-later", now + dt.timedelta(minutes=5), now)
    await _record(services, tenant, [*reversed(due), later], now)
    await _record(services, other, [_delivery("k-other", now - dt.timedelta(minutes=1), now)], now)

    first = await _claim(services, tenant, now, 3)
    second = await _claim(services, tenant, now, 3)
    assert [d.delivery_id for d in first] == [d.delivery_id for d in due[:3]]
    assert [d.delivery_id for d in second] == [d.delivery_id for d in due[3:]]  # not the later one
    assert await _claim(services, tenant, now, 3) == []
    for claimed in first + second:
        assert (claimed.state, claimed.attempts) == (DeliveryState.SENDING, 1)
    assert (await _get(services, tenant, later.delivery_id)).state is DeliveryState.QUEUED
    assert len(await _claim(services, other, now, 10)) == 1  # the other tenant's row was left alone


async def test_answers_change_only_rows_the_tenant_holds(services: Services, tenant: str) -> None:
    now = dt.datetime.now(dt.UTC)
    other = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    sent, failed = _delivery("k-sent", now, now, sealed=b"sealed one-time password"), _delivery("k-failed", now, now)
    queued = _delivery("k-queued", now + dt.timedelta(minutes=1), now)
    theirs = _delivery("k-theirs", now, now)
    await _record(services, tenant, [sent, failed, queued], now)
    await _record(services, other, [theirs], now)
    assert len(await _claim(services, tenant, now, 10)) == 2
    assert len(await _claim(services, other, now, 10)) == 1

    answered = now + dt.timedelta(seconds=1)
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.deliveries.finish_many([
            FinishedSend(sent.delivery_id, DeliveryState.SENT, provider_message_id="SM123"),
            FinishedSend(failed.delivery_id, DeliveryState.FAILED, error_code="21211", error_message="not a number"),
            FinishedSend(queued.delivery_id, DeliveryState.SENT, provider_message_id="SM-not-held"),
            FinishedSend(theirs.delivery_id, DeliveryState.SENT, provider_message_id="SM-not-ours"),
        ], answered)
        await uow.commit()

    got_sent = await _get(services, tenant, sent.delivery_id)
    assert (got_sent.state, got_sent.provider_message_id, got_sent.sent_at) == (DeliveryState.SENT, "SM123", answered)
    assert got_sent.sealed_content is None
    got_failed = await _get(services, tenant, failed.delivery_id)
    assert (got_failed.state, got_failed.error_code, got_failed.error_message, got_failed.provider_message_id,
            got_failed.sent_at) == (DeliveryState.FAILED, "21211", "not a number", "", None)
    got_queued = await _get(services, tenant, queued.delivery_id)
    assert (got_queued.state, got_queued.provider_message_id) == (DeliveryState.QUEUED, "")
    got_theirs = await _get(services, other, theirs.delivery_id)
    assert (got_theirs.state, got_theirs.provider_message_id) == (DeliveryState.SENDING, "")
