"""An operator disables, enables and deletes a tenant with engagectl (its own process, on the database)
while servers run: each server takes the change within ENGAGE_TENANT_CACHE_SECONDS (1 s here), a disabled
tenant's queued deliveries wait on the worker, and a deletion takes every row of that tenant and nothing
of another's."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from sqlalchemy import select, update

from clients.stubs import connect
from engage.engagement.v1 import engagement_service_pb2 as epb
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.insights.v1 import insights_service_pb2 as ipb
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from server.store.engagement_models import DeliveryRow
from server.store.models import Base, InsightBatchChunkRow, InsightBatchRow
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import error_info, failure, stream, transaction
from tests.support.processes import process_env
from tests.support.stack import running_server
from tests.support.yes_bank import add_customer, set_up_yes_bank

CACHE_SECONDS = 1.0
# What a server may take beyond the cache lifetime to refuse: a poll's round trip and a busy machine.
MARGIN_SECONDS = 1.5
CLI_ENV = {"ENGAGE_TENANT_CACHE_SECONDS": str(CACHE_SECONDS)}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"tenant_cache_seconds": CACHE_SECONDS})


async def _answer(address: str, token: str) -> tuple[grpc.StatusCode, str]:
    """What a call with the token gets: (OK, '') or the refusal's status and reason."""
    async with connect(address, token) as stubs:
        try:
            await stubs.ingest.ListCustomers(pb.ListCustomersRequest(), timeout=5)
        except grpc.aio.AioRpcError as error:
            code, reason, _ = error_info(error)
            return code, reason
    return grpc.StatusCode.OK, ""


async def _all_answer(addresses: list[str], token: str, wanted: tuple[grpc.StatusCode, str],
                      within: float) -> float:
    """Polls every server until each answers `wanted`; returns the seconds it took (fails past `within`)."""
    started = time.monotonic()
    pending = set(addresses)
    while pending:
        for address in sorted(pending):
            if await _answer(address, token) == wanted:
                pending.discard(address)
        elapsed = time.monotonic() - started
        assert elapsed < within, f"{sorted(pending)} still answer otherwise after {elapsed:.2f} s"
        if pending:
            await asyncio.sleep(0.05)
    return time.monotonic() - started


DISABLED = (grpc.StatusCode.PERMISSION_DENIED, "TENANT_DISABLED")
OK = (grpc.StatusCode.OK, "")


async def test_disable_enable_and_delete_through_the_cli(server, tenant, engagectl):
    token = server.token(tenant)
    other = (await server.services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    assert await _answer(server.address, token) == OK  # the server now remembers the tenant as enabled

    disabled = await engagectl("tenants", "disable", tenant, env=CLI_ENV)
    assert disabled.exit_code == 0, disabled.stderr
    assert disabled.stdout.strip() == f"disabled tenant {tenant}: refused everywhere within 1 s"
    assert await _all_answer([server.address], token, DISABLED, CACHE_SECONDS + MARGIN_SECONDS) > 0
    async with connect(server.address, server.token(tenant, Role.BANK_ADMIN)) as admin:  # every role, every call
        assert (await failure(admin.engagement.ListApps(epb.ListAppsRequest())))[:2] == DISABLED
    listed = {t["tenant_id"]: t for t in json.loads((await engagectl("--json", "tenants", "list")).stdout)}
    assert listed[tenant]["state"] == "disabled" and listed[tenant]["disabled_at"]
    assert (listed[other]["state"], listed[other]["disabled_at"]) == ("enabled", None)
    assert await _answer(server.address, server.token(other)) == OK

    enabled = await engagectl("tenants", "enable", tenant, env=CLI_ENV)
    assert enabled.exit_code == 0, enabled.stderr
    await _all_answer([server.address], token, OK, CACHE_SECONDS + MARGIN_SECONDS)

    refused = await engagectl("tenants", "delete", tenant, "--yes", env=CLI_ENV)
    assert refused.exit_code == 1  # the store refused: not a usage error
    assert refused.stderr.startswith(f"error: TENANT_NOT_DISABLED: tenant '{tenant}' is enabled")
    assert (await engagectl("tenants", "disable", tenant, env=CLI_ENV)).exit_code == 0
    unconfirmed = await engagectl("tenants", "delete", tenant, env=CLI_ENV)
    assert unconfirmed.exit_code == 2 and "add --yes" in unconfirmed.stderr
    await asyncio.sleep(CACHE_SECONDS)  # deleting waits until every process has seen the tenant disabled
    deleted = await engagectl("tenants", "delete", tenant, "--yes", env=CLI_ENV)
    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout.startswith(f"deleted tenant {tenant}: 1 rows (tenants 1)")
    await _all_answer([server.address], token, (grpc.StatusCode.UNAUTHENTICATED, "UNKNOWN_TENANT"),
                      CACHE_SECONDS + MARGIN_SECONDS)
    assert tenant not in {t["tenant_id"] for t in json.loads((await engagectl("--json", "tenants", "list")).stdout)}
    again = await engagectl("tenants", "delete", tenant, "--yes", env=CLI_ENV)
    assert again.stderr.strip() == f"error: TENANT_NOT_FOUND: tenant '{tenant}' was not found"


async def test_a_tenant_deleted_soon_after_it_was_disabled_is_kept(server, tenant, engagectl):
    long_cache = {"ENGAGE_TENANT_CACHE_SECONDS": "300"}
    assert (await engagectl("tenants", "disable", tenant, env=long_cache)).exit_code == 0
    early = await engagectl("tenants", "delete", tenant, "--yes", env=long_cache)
    assert early.exit_code == 1
    assert early.stderr.startswith(f"error: TENANT_DISABLED_RECENTLY: tenant '{tenant}' was disabled")
    assert tenant in {t.tenant_id for t in await server.services.tenants.list()}


async def _rows_by_tenant(services) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table, by tenant and table (a batch's chunks under the batch's tenant)."""
    found: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    async with services.database.sessions() as session:
        batches = dict((await session.execute(select(InsightBatchRow.batch_id, InsightBatchRow.tenant_id))).all())
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                owner = batches[row.batch_id] if table is InsightBatchChunkRow.__table__ else row.tenant_id
                found.setdefault(owner, {}).setdefault(table.name, []).append(tuple(row))
    for tables in found.values():
        for rows in tables.values():
            rows.sort(key=repr)
    return found


async def _fill(server, tenant: str, smtp_sink, provider_sink) -> None:
    """A tenant with rows in most tables: its set-up, a customer, transactions and their event, an alert,
    a trigger and its deliveries, an insight batch and its chunks, a campaign."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin, \
            server.stubs(server.token(tenant)) as service:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service, bank.app)
        await admin.engagement.CreateTransactionAlert(epb.CreateTransactionAlertRequest(
            transaction_alert=epb.TransactionAlert(event=bank.event, operation="ATM_WITHDRAWAL", min_amount="100")))
        await service.ingest.IngestTransactions(stream([
            transaction("t1", "lisa-customer-chk", "2500.00", "DEBIT", currency="CZK", category="VYBER")]))
        await service.engagement.TriggerEvent(epb.TriggerEventRequest(
            event=bank.notice_event, customer_id="lisa-customer", data={"note": "hello"}))
        await admin.insights.RunInsightBatch(ipb.RunInsightBatchRequest(
            as_of=date_pb2.Date(year=2024, month=2, day=1), chunk_size=10))
        await admin.engagement.CreateCampaign(epb.CreateCampaignRequest(campaign=epb.Campaign(
            display_name="Spring", event=bank.notice_event, is_offer=True,
            audience=epb.Audience(customer_list=epb.CustomerList(customer_ids=["lisa-customer"])))))


async def test_delete_takes_every_row_of_the_tenant_and_none_of_another(server, tenant, engagectl, smtp_sink,
                                                                        provider_sink):
    other = (await server.services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    await _fill(server, tenant, smtp_sink, provider_sink)
    await _fill(server, other, smtp_sink, provider_sink)
    before = await _rows_by_tenant(server.services)
    assert len(before[tenant]) >= 15 and before[tenant].keys() == before[other].keys()

    assert (await engagectl("tenants", "disable", tenant, env=CLI_ENV)).exit_code == 0
    await asyncio.sleep(CACHE_SECONDS)
    deleted = await engagectl("--json", "tenants", "delete", tenant, "--yes", env=CLI_ENV)
    assert deleted.exit_code == 0, deleted.stderr
    counts = json.loads(deleted.stdout)["deleted_rows"]
    assert counts.keys() == {t.name for t in Base.metadata.sorted_tables}  # every table was looked at
    assert {name: count for name, count in counts.items() if count} == {
        name: len(rows) for name, rows in before[tenant].items()}

    after = await _rows_by_tenant(server.services)
    assert tenant not in after
    assert after[other] == before[other]
    assert await _answer(server.address, server.token(other)) == OK
    assert await _answer(server.address, server.token(tenant)) == (grpc.StatusCode.UNAUTHENTICATED,
                                                                    "UNKNOWN_TENANT")


async def _delivery_states(services, tenant: str) -> list[str]:
    async with services.database.sessions() as session:
        return sorted(await session.scalars(select(DeliveryRow.state).where(DeliveryRow.tenant_id == tenant)))


async def test_a_disabled_tenants_queued_deliveries_wait_and_go_once_it_is_enabled(
        server, settings, tenant, service_stubs, engagectl, smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app)
    await service_stubs.engagement.TriggerEvent(epb.TriggerEventRequest(
        event=bank.notice_event, customer_id="lisa-customer", data={"note": "held back"}))
    assert await _delivery_states(server.services, tenant) == ["QUEUED"] * 3  # no worker ran yet

    assert (await engagectl("tenants", "disable", tenant, env=CLI_ENV)).exit_code == 0
    await run_worker(settings)  # takes the dispatch jobs, sends nothing
    await asyncio.sleep(0.3)
    assert not smtp_sink.messages and not provider_sink.received("twilio")
    assert await _delivery_states(server.services, tenant) == ["QUEUED"] * 3
    # Long past the relay's grace, the sweep still leaves them be.
    await _age_deliveries(server.services, tenant)
    assert await server.services.engagement.relay_lost() == 0

    assert (await engagectl("tenants", "enable", tenant, env=CLI_ENV)).exit_code == 0
    assert await server.services.engagement.relay_lost() == 3
    await run_worker(settings)
    [email] = await smtp_sink.wait_for(1)
    assert "held back" in email.get_body(("plain",)).get_content()
    assert await _delivery_states(server.services, tenant) == ["SENT"] * 3


async def _age_deliveries(services, tenant: str) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    async with services.database.sessions() as session:
        await session.execute(update(DeliveryRow).where(DeliveryRow.tenant_id == tenant).values(
            next_attempt_at=past, enqueued_at=past))
        await session.commit()


async def _in_processes(server, run: Callable[[list[str]], Awaitable[None]]) -> None:
    env = process_env(server.settings, ENGAGE_LOG_LEVEL="WARNING", ENGAGE_TENANT_CACHE_SECONDS=str(CACHE_SECONDS))
    async with running_server(env) as (_, first), running_server(env) as (_, second):
        await run([first, second])


async def test_two_server_processes_refuse_a_disabled_tenant_within_the_cache_lifetime(server, tenant, engagectl):
    token = server.token(tenant)

    async def run(addresses: list[str]) -> None:
        for address in addresses:  # each remembers the tenant as enabled
            assert await _answer(address, token) == OK
        assert (await engagectl("tenants", "disable", tenant, env=CLI_ENV)).exit_code == 0
        took = await _all_answer(addresses, token, DISABLED, CACHE_SECONDS + MARGIN_SECONDS)
        assert took <= CACHE_SECONDS + MARGIN_SECONDS
        assert (await engagectl("tenants", "enable", tenant, env=CLI_ENV)).exit_code == 0
        await _all_answer(addresses, token, OK, CACHE_SECONDS + MARGIN_SECONDS)

    await _in_processes(server, run)
