"""A customer's holdings as facts (SegmentReadsRepository.facts_of) on both databases: its own and those on
any of its accounts, read for all the customers at once; the trigger evaluation's read customer by customer
(`by_customer`, its own statement on PostgreSQL) gives the same. And which customers a persona's audience
takes (TriggerRuntimeRepository.selected)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from server.bootstrap import Services
from server.store.models import AccountRow, CustomerRow, HoldingRow
from server.store.uow import UnitOfWork

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
# customer -> its accounts; holdings: (id, kind, customer or None, account or None).
ACCOUNTS = {"c1": ["c1-a", "c1-b"], "c2": ["c2-a"], "c3": ["c3-a"], "c4": [], "c5": ["c5-a"]}
HOLDINGS = [("h1", "CARD", "c1", None), ("h2", "SAVINGS", None, "c1-b"), ("h3", "CARD", None, "c1-a"),
            ("h4", "LOAN", "c2", None), ("h5", "OVERDRAFT_PROTECTION", "c3", "c3-a"), ("h6", "SAVINGS", "c4", None),
            ("h7", "MORTGAGE", None, "nobodys-account")]
EXPECTED = {"c1": {"CARD", "SAVINGS"}, "c2": {"LOAN"}, "c3": {"OVERDRAFT_PROTECTION"}, "c4": {"SAVINGS"},
            "c5": set(), "c6": set()}


async def _seed(services: Services, tenant: str) -> None:
    async with UnitOfWork(services.database, tenant) as uow:
        uow.session.add_all([CustomerRow(tenant_id=tenant, customer_id=c, attributes={}, created_at=NOW,
                                         updated_at=NOW) for c in ACCOUNTS])
        await uow.session.flush()
        uow.session.add_all([AccountRow(tenant_id=tenant, account_id=a, customer_id=c, authorized_customer_ids=[],
                                        account_type="CHECKING", container="BANK", currency="EUR",
                                        current_balance=Decimal(0), available_balance=Decimal(0), attributes={},
                                        created_at=NOW, updated_at=NOW)
                             for c, accounts in ACCOUNTS.items() for a in accounts])
        uow.session.add_all([HoldingRow(tenant_id=tenant, holding_id=h, kind=kind, customer_id=c, account_id=a,
                                        attributes={}, updated_at=NOW) for h, kind, c, a in HOLDINGS])
        await uow.commit()


async def test_holdings_are_a_customers_own_and_those_on_its_accounts_either_way(services: Services,
                                                                                tenant: str) -> None:
    await _seed(services, tenant)
    # Another bank with the same ids holds more: none of it counts here.
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    await _seed(services, other)
    async with UnitOfWork(services.database, other) as uow:
        uow.session.add(HoldingRow(tenant_id=other, holding_id="h8", kind="PENSION", customer_id="c5", account_id=None,
                                   attributes={}, updated_at=NOW))
        uow.session.add(HoldingRow(tenant_id=other, holding_id="h9", kind="PENSION", customer_id=None,
                                   account_id="c2-a", attributes={}, updated_at=NOW))
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        reads = uow.segment_reads
        together = await reads.facts_of(EXPECTED, {}, values=False)
        by_customer = await reads.facts_of(EXPECTED, {}, values=False, by_customer=True)
        alone = {c: await reads.facts(c, {}) for c in EXPECTED}
        none = await reads.facts_of(EXPECTED, {}, values=False, holdings=False, by_customer=True)
    assert {c: set(f.holdings) for c, f in together.items()} == EXPECTED
    assert by_customer == together
    assert {c: f.holdings for c, f in alone.items()} == {c: f.holdings for c, f in together.items()}
    assert {c: f.holdings for c, f in none.items()} == dict.fromkeys(EXPECTED, frozenset())


async def test_a_personas_members_among_customers(services: Services, tenant: str) -> None:
    # TriggerRuntimeRepository.selected, a persona's audience: its own probes on PostgreSQL.
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.persona_members.add([("savers", "c1"), ("savers", "c3"), ("savers", "c9"), ("spenders", "c2")])
        await uow.commit()
    async with UnitOfWork(services.database, other) as uow:
        await uow.persona_members.add([("savers", "c2")])
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        assert await uow.trigger_runtime.selected("savers", ["c3", "c1", "c2", "c4", "c1"]) == {"c1", "c3"}
        assert await uow.trigger_runtime.selected("spenders", {"c2"}) == {"c2"}
        assert await uow.trigger_runtime.selected("nobody", {"c1"}) == set()
        assert await uow.trigger_runtime.selected("savers", set()) == set()
