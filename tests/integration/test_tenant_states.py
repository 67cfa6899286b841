"""What a process knows of a tenant (exists, disabled) is read again after the cache lifetime, on a clock
the test moves; the cache is bounded; deleting asks for a tenant disabled long enough."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from server.bootstrap import Services
from server.domain.errors import FailedPrecondition, NotFound, PermissionDenied, Unauthenticated
from server.services import tenants as tenants_module
from server.services.tenants import TenantService
from server.store.models import Base

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
