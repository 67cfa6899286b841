"""The trigger write of the outbox (a trigger key and its deliveries) on both databases: recorded
once per key, all or nothing, and inside the caller's transaction unless the caller declared it its
only write. On PostgreSQL it runs as one statement on the driver's connection."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from server.bootstrap import Services
from server.domain.engagement.delivery_outbox import RecordedTrigger
from server.domain.engagement.entities import Channel, Delivery, DeliveryState
from server.store.uow import UnitOfWork
from tests.support.outbox import queued_delivery


def _delivery(trigger_key: str, channel: Channel, now: dt.datetime, content: dict[str, str],
              address: str = "+420600000001") -> Delivery:
    return queued_delivery(trigger_key, now, channel=channel, content=content, address=address)


# 120: more deliveries than PostgreSQL's one-statement write takes (written with two statements then).
@pytest.mark.parametrize("pushes", [0, 120])
async def test_a_trigger_and_its_deliveries_are_recorded_once(services: Services, tenant: str, pushes: int) -> None:
    now = dt.datetime.now(dt.UTC)
    first = [_delivery("k1", Channel.SMS, now, {"text": "Výběr 500 Kč"}),
             _delivery("k1", Channel.EMAIL, now, {"subject": "s", "text": "t"}),
             *(_delivery("k1", Channel.PUSH, now, {"title": f"device {n}"}, f"push-token-{n}") for n in range(pushes))]
    async with UnitOfWork(services.database, tenant, single_statement_write=True) as uow:
        assert await uow.deliveries.add_trigger("k1", "e1", "c1", now, first, queued_until=now)
        await uow.commit()
    async with UnitOfWork(services.database, tenant, single_statement_write=True) as uow:
        again = [_delivery("k1", Channel.SMS, now, {"text": "other"})]
        assert not await uow.deliveries.add_trigger("k1", "e1", "c1", now, again, queued_until=now)
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        recorded = await uow.deliveries.of_trigger("k1")
    assert sorted(d.delivery_id for d in recorded) == sorted(d.delivery_id for d in first)
    by_id = {d.delivery_id: d for d in recorded}
    for sent in first:  # every column comes back as written (JSON, times with their zone)
        assert by_id[sent.delivery_id].content == sent.content
        assert by_id[sent.delivery_id].next_attempt_at == sent.next_attempt_at
        assert by_id[sent.delivery_id].state is DeliveryState.QUEUED


async def test_without_the_declaration_the_write_is_part_of_the_transaction(services: Services, tenant: str) -> None:
    now = dt.datetime.now(dt.UTC)
    async with UnitOfWork(services.database, tenant) as uow:
        assert await uow.deliveries.add_trigger("k2", "e1", "c1", now, [_delivery("k2", Channel.SMS, now, {})],
                                                queued_until=now)
        # not committed: the unit of work rolls back
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.tenants.get(tenant)  # a read first: the transaction is open when the write comes
        assert await uow.deliveries.add_trigger("k3", "e1", "c1", now, [_delivery("k3", Channel.SMS, now, {})],
                                                queued_until=now)
    async with UnitOfWork(services.database, tenant) as uow:
        assert not await uow.deliveries.trigger_recorded("k2")
        assert not await uow.deliveries.trigger_recorded("k3")
        assert await uow.deliveries.of_trigger("k2") == []
        assert await uow.deliveries.of_trigger("k3") == []


async def test_batches_sharing_trigger_keys_never_wait_for_each_other_both_ways(services: Services,
                                                                                tenant: str) -> None:
    now = dt.datetime.now(dt.UTC)

    def trigger(key: str) -> RecordedTrigger:
        return RecordedTrigger(key, "e1", "c1", [_delivery(key, Channel.SMS, now, {"text": key})])

    async def second_batch() -> set[str]:
        async with UnitOfWork(services.database, tenant) as uow:
            new = await uow.deliveries.add_triggers([trigger("k2"), trigger("k1")], now, queued_until=now)
            await uow.commit()
        return new

    async with UnitOfWork(services.database, tenant) as first:
        assert await first.deliveries.add_triggers([trigger("k1")], now, queued_until=now) == {"k1"}
        second = asyncio.create_task(second_batch())
        await asyncio.sleep(0.5)  # the second batch now waits for k1
        # Had the second batch taken k2 before waiting for k1, this would wait for it: a deadlock.
        assert await first.deliveries.add_triggers([trigger("k2")], now, queued_until=now) == {"k2"}
        await first.commit()
    assert await asyncio.wait_for(second, 10) == set()
    async with UnitOfWork(services.database, tenant) as uow:
        recorded = await uow.deliveries.of_triggers({"k1", "k2"})
    assert {key: [d.content["text"] for d in found] for key, found in recorded.items()} == {"k1": ["k1"], "k2": ["k2"]}
