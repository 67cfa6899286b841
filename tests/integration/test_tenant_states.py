"""What a process knows of a tenant (exists, disabled) is read again after the cache lifetime, on a clock
the test moves; the cache is bounded; deleting asks for a tenant disabled long enough; the sweeps and
jobs of workers leave a disabled tenant's campaigns and insight batches waiting."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from server.bootstrap import Services
from server.domain.engagement.audience import CampaignAudience
from server.domain.engagement.entities import Campaign, CampaignState
from server.domain.errors import FailedPrecondition, NotFound, PermissionDenied, Unauthenticated
from server.services import tenants as tenants_module
from server.services.insights import InsightsService
from server.services.tenants import TenantService
from server.store.models import Base, CustomerRow
from server.store.uow import UnitOfWork

LIFETIME = dt.timedelta(seconds=30)


class MovableClock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


async def _refused(tenants: TenantService, tenant: str) -> str:
    try:
        await tenants.require_known(tenant)
    except (PermissionDenied, Unauthenticated) as refused:
        return refused.code
    return ""


async def test_a_tenants_state_is_taken_as_read_for_the_cache_lifetime_and_no_longer(services: Services,
                                                                                    tenant: str) -> None:
    clock = MovableClock()
    server_side = TenantService(services.database, clock, LIFETIME)
    assert await _refused(server_side, tenant) == ""  # read: enabled
    await services.tenants.disable(tenant)  # the operator, in another process
    clock.advance(29.9)
    assert (await _refused(server_side, tenant), await server_side.is_active(tenant)) == ("", True)
    clock.advance(0.1)
    assert (await _refused(server_side, tenant), await server_side.is_active(tenant)) == ("TENANT_DISABLED", False)

    await services.tenants.enable(tenant)
    clock.advance(29.9)
    assert await _refused(server_side, tenant) == "TENANT_DISABLED"  # a disabled state is remembered as long
    clock.advance(0.1)
    assert await _refused(server_side, tenant) == ""


async def test_no_lifetime_reads_each_time_and_an_unknown_tenant_is_never_remembered(services: Services,
                                                                                    tenant: str) -> None:
    uncached = TenantService(services.database, MovableClock(), dt.timedelta(0))
    assert await _refused(uncached, tenant) == ""
    await services.tenants.disable(tenant)
    assert await _refused(uncached, tenant) == "TENANT_DISABLED"

    cached = TenantService(services.database, MovableClock(), LIFETIME)
    newcomer = f"bank-{uuid.uuid4().hex[:12]}"
    assert (await _refused(cached, newcomer), await cached.is_active(newcomer)) == ("UNKNOWN_TENANT", False)
    await services.tenants.create(newcomer)
    assert await _refused(cached, newcomer) == ""  # created: known at once


async def test_a_clock_set_back_does_not_stretch_the_lifetime(services: Services, tenant: str) -> None:
    clock = MovableClock()
    server_side = TenantService(services.database, clock, LIFETIME)
    assert await _refused(server_side, tenant) == ""
    await services.tenants.disable(tenant)
    clock.advance(-3600)
    assert await _refused(server_side, tenant) == "TENANT_DISABLED"


async def test_the_cache_keeps_the_latest_tenants_up_to_its_bound(services: Services,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenants_module, "TENANT_STATES_KEPT", 2)
    server_side = TenantService(services.database, MovableClock(), LIFETIME)
    first, second, third = [(await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
                            for _ in range(3)]
    for tenant in (first, second, third):
        assert await _refused(server_side, tenant) == ""
    for tenant in (first, third):
        await services.tenants.disable(tenant)
    assert await _refused(server_side, first) == "TENANT_DISABLED"  # the oldest was let go: read again
    assert await _refused(server_side, third) == ""  # still remembered within its lifetime


async def test_disable_keeps_its_first_time_and_delete_waits_for_a_lifetime_of_it(services: Services,
                                                                                  tenant: str) -> None:
    clock = MovableClock()
    operator = TenantService(services.database, clock, LIFETIME)
    with pytest.raises(FailedPrecondition) as enabled:
        await operator.delete(tenant)
    assert enabled.value.code == "TENANT_NOT_DISABLED"
    first = await operator.disable(tenant)
    clock.advance(10)
    assert (await operator.disable(tenant)).disabled_at == first.disabled_at
    with pytest.raises(FailedPrecondition) as early:
        await operator.delete(tenant)
    assert early.value.code == "TENANT_DISABLED_RECENTLY"
    clock.advance(20)
    assert await operator.delete(tenant) == {**dict.fromkeys([t.name for t in Base.metadata.sorted_tables], 0),
                                             "tenants": 1}
    for change in (operator.disable, operator.enable, operator.delete):
        with pytest.raises(NotFound) as missing:
            await change(tenant)
        assert missing.value.code == "TENANT_NOT_FOUND"


def _campaign(campaign_id: str, now: dt.datetime) -> Campaign:
    return Campaign(campaign_id, "Spring", "no-event", CampaignAudience(customer_ids=("c1",)), None, False,
                    CampaignState.SCHEDULED, "lisa", "raj", "", "", 0, 0, now, now)


async def test_a_disabled_tenants_campaigns_wait_until_it_is_enabled(services: Services, tenant: str) -> None:
    now = dt.datetime.now(dt.UTC)
    other = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    for owner in (tenant, other):
        async with UnitOfWork(services.database, owner) as uow:
            await uow.campaigns.save(_campaign("cmp-1", now))
            await uow.commit()
    await services.tenants.disable(tenant)
    async with UnitOfWork(services.database) as uow:
        assert await uow.campaigns_sweep.due(now) == [(other, "cmp-1")]
    assert await services.campaigns.run(tenant, "cmp-1") == 0
    async with UnitOfWork(services.database, tenant) as uow:
        assert (await uow.campaigns.get("cmp-1")).state is CampaignState.SCHEDULED  # untouched

    await services.tenants.enable(tenant)
    async with UnitOfWork(services.database) as uow:
        assert sorted(await uow.campaigns_sweep.due(now)) == sorted([(tenant, "cmp-1"), (other, "cmp-1")])
    await services.campaigns.run(tenant, "cmp-1")
    async with UnitOfWork(services.database, tenant) as uow:
        assert (await uow.campaigns.get("cmp-1")).state is CampaignState.COMPLETED


async def test_a_disabled_tenants_insight_batches_wait_until_it_is_enabled(services: Services, tenant: str) -> None:
    first_of_month = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    insights = InsightsService(services.database, services.catalogue, services.publisher, services.publisher,  # type: ignore[arg-type]
                               clock=lambda: first_of_month)
    other = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    async with services.database.sessions() as session:
        session.add_all([CustomerRow(tenant_id=tenant, customer_id=f"c{n}", attributes={}, created_at=first_of_month,
                                     updated_at=first_of_month) for n in range(3)])
        await session.commit()
    batch = await insights.start_batch(tenant, first_of_month.date(), chunk_size=10)
    async with UnitOfWork(services.database, tenant) as uow:
        [chunk] = await uow.insight_batches.chunks(batch.batch_id, only_pending=True)
    await services.tenants.disable(tenant)

    started = await insights.start_due_batches()  # the monthly schedule
    async with UnitOfWork(services.database, other) as uow:
        assert started == [(await uow.insight_batches.by_as_of(first_of_month.date())).batch_id]
    assert await insights.evaluate_chunk(tenant, batch.batch_id, chunk.chunk_number) == 0
    async with UnitOfWork(services.database, tenant) as uow:
        assert await uow.insight_batches.chunks(batch.batch_id, only_pending=True) == [chunk]  # still to do

    await services.tenants.enable(tenant)
    await insights.evaluate_chunk(tenant, batch.batch_id, chunk.chunk_number)
    async with UnitOfWork(services.database, tenant) as uow:
        assert await uow.insight_batches.chunks(batch.batch_id, only_pending=True) == []
