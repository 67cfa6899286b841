"""Real-time triggers end to end on both databases: rules set up and approved through gRPC, transactions
and balances fed through the ingest stubs, the real worker running the bus, and banners, bank
notifications and messages read back through their stubs. The reference's two examples, plus large
withdrawals, deposits relative to the balance, new overdrafts, cool-down, unapproved and paused rules,
backfill, and another bank."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from google.protobuf import duration_pb2

from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.personas.v1 import personas_service_pb2 as ppb
from engage.triggers.v1 import bank_notifications_service_pb2 as npb
from engage.triggers.v1 import banners_service_pb2 as bpb
from engage.triggers.v1 import trigger_rules_service_pb2 as pb
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import account, customer, stream, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too

WEEK = duration_pb2.Duration(seconds=7 * 86_400)
NO_COOLDOWN = duration_pb2.Duration(seconds=0)


def banner(title: str, product: str = "") -> pb.TriggerAction:
    return pb.TriggerAction(banner=pb.BannerAction(
        title=title, body=f"{title}: see what we offer", call_to_action_label="See",
        call_to_action_url="https://bank.example/offer", lifetime=WEEK, product=product))


def notify(note: str) -> pb.TriggerAction:
    return pb.TriggerAction(bank_notification=pb.BankNotificationAction(note=note))


def rule(condition: str, *actions: pb.TriggerAction, cooldown: duration_pb2.Duration = WEEK,
         audience: pb.TriggerAudience | None = None) -> pb.TriggerRule:
    return pb.TriggerRule(display_name="Rule", audience=audience or pb.TriggerAudience(all_customers=True),
                          condition=condition, actions=list(actions), cooldown=cooldown)


async def active_rule(server, tenant: str, rule_id: str, definition: pb.TriggerRule) -> str:
    """Created by one admin, approved by another: live."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
        created = await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=definition, trigger_rule_id=rule_id))
        await ana.trigger_rules.SubmitTriggerRule(pb.SubmitTriggerRuleRequest(name=created.name))
        approved = await ben.trigger_rules.ApproveTriggerRule(pb.ApproveTriggerRuleRequest(name=created.name))
        assert approved.status == pb.TRIGGER_RULE_STATUS_ACTIVE
        return created.name


async def banners_of(stubs, customer_id: str) -> list[str]:
    listed = await stubs.banners.ListBanners(bpb.ListBannersRequest(parent=f"customers/{customer_id}"))
    return [b.title for b in listed.banners]


async def firings_of(server, tenant: str, rule_name: str) -> list[pb.Firing]:
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        return list((await ana.trigger_rules.ListFirings(pb.ListFiringsRequest(parent=rule_name))).firings)


async def ingest(stubs, *transactions: ipb.Transaction, backfill: bool = False) -> None:
    async def requests():  # type: ignore[no-untyped-def]
        yield ipb.IngestTransactionsRequest(transactions=list(transactions), backfill=backfill)
    response = await stubs.ingest.IngestTransactions(requests() if backfill else stream(transactions))
    assert response.accepted_count == len(transactions)


async def with_account(stubs, customer_id: str) -> str:
    await stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(customer_id)))
    await stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account(f"{customer_id}-chk", customer_id)))
    return f"{customer_id}-chk"


TODAY = dt.datetime.now(dt.UTC).date()


async def test_overdraft_protection_banner_when_the_average_drops_below_100(server, settings, tenant, service_stubs):
    """The reference's first example: customers without overdraft protection whose average collected
    balance drops below 100 see a banner offering it, once (on the crossing), and the bank is told."""
    name = await active_rule(server, tenant, "overdraft_offer", rule(
        "average_collected_balance(30d) < 100 AND NOT holds('OVERDRAFT_PROTECTION')",
        banner("Overdraft protection"), notify("offer overdraft protection")))
    for who in ("alice", "bob"):
        await with_account(service_stubs, who)
    await service_stubs.ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[ipb.Holding(
        holding_id="bob-odp", customer_id="bob", account_id="bob-chk", kind=ipb.HOLDING_KIND_OVERDRAFT_PROTECTION)]))
    await ingest(service_stubs, transaction("a1", "alice-chk", "150.00", "CREDIT", TODAY),
                 transaction("b1", "bob-chk", "150.00", "CREDIT", TODAY))
    await run_worker(settings)
    assert await banners_of(service_stubs, "alice") == []  # average 150: above

    await ingest(service_stubs, transaction("a2", "alice-chk", "100.00", "DEBIT", TODAY),
                 transaction("b2", "bob-chk", "100.00", "DEBIT", TODAY))
    await run_worker(settings)
    await ingest(service_stubs, transaction("a3", "alice-chk", "10.00", "DEBIT", TODAY))  # still below: no more
    await run_worker(settings)
    assert await banners_of(service_stubs, "alice") == ["Overdraft protection"]
    assert await banners_of(service_stubs, "bob") == []  # he has overdraft protection

    [firing] = await firings_of(server, tenant, name)
    assert (firing.customer, firing.account_id, firing.transaction_id) == ("customers/alice", "alice-chk", "a2")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        explained = await ana.trigger_rules.ExplainFiring(pb.ExplainFiringRequest(name=firing.name))
        assert explained.condition.startswith("average_collected_balance(30d) < 100")
        assert dict(explained.firing.values)["average_collected_balance(30d)"] == "50.0000"
        inbox = await ana.bank_notifications.ListBankNotifications(npb.ListBankNotificationsRequest())
        assert [(n.note, n.customer) for n in inbox.bank_notifications] == \
            [("offer overdraft protection", "customers/alice")]


async def test_interest_checking_banner_after_two_consecutive_months_only(server, services, settings, tenant,
                                                                          service_stubs):
    """The reference's second example: the average collected balance above the threshold for two
    consecutive calendar months, checked by the daily re-check (months end without postings); after one
    month only, nothing."""
    name = await active_rule(server, tenant, "interest_checking", rule(
        "average_collected_balance(last_month) > 2500 FOR 2 MONTHS", banner("Interest-bearing checking")))
    first = (TODAY.replace(day=1) - dt.timedelta(days=100)).replace(day=1)  # three or four months back
    second = (first + dt.timedelta(days=32)).replace(day=1)
    third = (second + dt.timedelta(days=32)).replace(day=1)
    for who in ("carol", "dave"):
        await with_account(service_stubs, who)
    # History: loaded as backfill, it moves the day series and fires nothing.
    await ingest(service_stubs, transaction("c1", "carol-chk", "3000.00", "CREDIT", first),
                 transaction("d1", "dave-chk", "3000.00", "CREDIT", first),
                 transaction("d2", "dave-chk", "2900.00", "DEBIT", second), backfill=True)
    await run_worker(settings)

    async def recheck(day: dt.date) -> None:
        await services.redis.enqueue_job("recheck_trigger_rules", day.isoformat(), tenant,
                                         _queue_name=settings.queue_name)
        await run_worker(settings)

    await recheck(second)  # one complete month above (first's): not yet
    assert await banners_of(service_stubs, "carol") == []
    await recheck(third)  # two: carol's banner; dave dropped in the second month
    assert await banners_of(service_stubs, "carol") == ["Interest-bearing checking"]
    assert await banners_of(service_stubs, "dave") == []
    await recheck(third)  # run twice: nothing more
    [firing] = await firings_of(server, tenant, name)
    assert firing.transaction_id == "" and firing.customer == "customers/carol"


async def test_withdrawals_deposits_and_overdrafts_fire_per_posting_within_cooldown(server, settings, tenant,
                                                                                    service_stubs):
    large = await active_rule(server, tenant, "large_withdrawal", rule(
        "withdrawal > 1000", notify("large withdrawal"), cooldown=NO_COOLDOWN))
    half = await active_rule(server, tenant, "big_deposit", rule(
        "deposit > 50% OF balance", banner("Put it to work"), cooldown=WEEK))
    overdraft = await active_rule(server, tenant, "new_overdraft", rule(
        "overdraft", notify("new overdraft"), cooldown=NO_COOLDOWN))
    await with_account(service_stubs, "erin")
    await ingest(service_stubs,
                 transaction("e1", "erin-chk", "4000.00", "CREDIT", TODAY),  # over 50% of 0: fires
                 transaction("e2", "erin-chk", "1500.00", "DEBIT", TODAY),   # large
                 transaction("e3", "erin-chk", "1200.00", "DEBIT", TODAY),   # large again (no cool-down)
                 transaction("e4", "erin-chk", "3000.00", "CREDIT", TODAY),  # over 50% of 1300, in cool-down
                 transaction("e5", "erin-chk", "4400.00", "DEBIT", TODAY),   # large, and overdrawn: -100
                 transaction("e6", "erin-chk", "50.00", "DEBIT", TODAY))     # still overdrawn: no new one
    await run_worker(settings)
    assert sorted(f.transaction_id for f in await firings_of(server, tenant, large)) == ["e2", "e3", "e5"]
    assert [f.transaction_id for f in await firings_of(server, tenant, half)] == ["e1"]
    assert [f.transaction_id for f in await firings_of(server, tenant, overdraft)] == ["e5"]
    assert await banners_of(service_stubs, "erin") == ["Put it to work"]


async def test_unapproved_and_paused_rules_fire_nothing_and_backfill_is_no_news(server, settings, tenant,
                                                                               service_stubs):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
        draft = await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=rule("withdrawal > 10", banner("Draft")), trigger_rule_id="draft"))
        pending = await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=rule("withdrawal > 10", banner("Pending")), trigger_rule_id="pending"))
        await ana.trigger_rules.SubmitTriggerRule(pb.SubmitTriggerRuleRequest(name=pending.name))
    paused = await active_rule(server, tenant, "paused", rule("withdrawal > 10", banner("Paused"),
                                                              cooldown=NO_COOLDOWN))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        await ana.trigger_rules.PauseTriggerRule(pb.PauseTriggerRuleRequest(name=paused))
    await with_account(service_stubs, "finn")
    await ingest(service_stubs, transaction("f1", "finn-chk", "100.00", "DEBIT", TODAY))
    await run_worker(settings)
    assert await banners_of(service_stubs, "finn") == []
    assert await firings_of(server, tenant, draft.name) == []

    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
        await ben.trigger_rules.ResumeTriggerRule(pb.ResumeTriggerRuleRequest(name=paused))
    await ingest(service_stubs, transaction("f2", "finn-chk", "100.00", "DEBIT", TODAY), backfill=True)
    await run_worker(settings)
    assert await banners_of(service_stubs, "finn") == []  # history: no news
    await ingest(service_stubs, transaction("f3", "finn-chk", "100.00", "DEBIT", TODAY))
    await run_worker(settings)
    assert await banners_of(service_stubs, "finn") == ["Paused"]
    assert [f.transaction_id for f in await firings_of(server, tenant, paused)] == ["f3"]


async def test_a_message_action_is_sent_through_the_dispatch(server, settings, tenant, service_stubs, smtp_sink,
                                                              provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app)
    await active_rule(server, tenant, "big_spend", rule("withdrawal > 1000", pb.TriggerAction(
        message=pb.MessageAction(event=bank.event))))
    await ingest(service_stubs, transaction("l1", "lisa-customer-chk", "5000.00", "DEBIT", TODAY, currency="CZK",
                                            description="ATM withdrawal Prague 1", category="VYBER"))
    await run_worker(settings)
    await smtp_sink.wait_for(1)


async def test_another_banks_postings_fire_nothing_here(server, services, settings, tenant, service_stubs):
    await active_rule(server, tenant, "large_withdrawal", rule("withdrawal > 10", banner("Here")))
    other_tenant = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other_tenant, Role.SERVICE, "loader")) as other:
        await with_account(other, "gina")
        await ingest(other, transaction("g1", "gina-chk", "100.00", "DEBIT", TODAY))
    await run_worker(settings)
    async with server.stubs(server.token(other_tenant, Role.SERVICE, "loader")) as other:
        assert await banners_of(other, "gina") == []



async def test_a_persona_audience_takes_its_members_only(server, settings, tenant, service_stubs):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        await ana.personas.CreatePersona(ppb.CreatePersonaRequest(persona_id="card_holders", persona=ppb.Persona(
            display_name="Card holders", expression="holds('CARD')")))
    for who in ("hank", "ivy"):
        await with_account(service_stubs, who)
    await service_stubs.ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[ipb.Holding(
        holding_id="hank-card", customer_id="hank", kind=ipb.HOLDING_KIND_CARD)]))
    await run_worker(settings)  # the persona's kept members
    name = await active_rule(server, tenant, "card_spend", rule(
        "withdrawal > 10", banner("Card perks"), audience=pb.TriggerAudience(persona="personas/card_holders")))
    await ingest(service_stubs, transaction("h1", "hank-chk", "20.00", "DEBIT", TODAY),
                 transaction("i1", "ivy-chk", "20.00", "DEBIT", TODAY))
    await run_worker(settings)
    assert [f.customer for f in await firings_of(server, tenant, name)] == ["customers/hank"]
    assert await banners_of(service_stubs, "ivy") == []
