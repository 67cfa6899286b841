"""Transaction statuses end to end (docs/services/ingest.md#transaction-status): PENDING and DECLINED
transactions ingested through the stubs move no balance and reach no consumer of postings, a DECLINED
one alerts the customer by SMS, email and push through the real worker, a PENDING one is booked by its
id; unusual activity judged against the customer's own baseline; a gift card running low; and the
current balance sent on request (docs/events.md)."""

from __future__ import annotations

import datetime as dt

import grpc
from sqlalchemy import select

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from server.domain.auth import Role
from server.domain.events import TransactionsPosted
from server.domain.ingest.model import TransactionStatus
from server.store.event_payloads import decode
from server.store.models import DomainEventRow
from server.store.uow import UnitOfWork
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import account, amount_of, failure, stream, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank

ACCOUNT = "lisa-customer-chk"
DECLINED = ingest.TRANSACTION_STATUS_DECLINED
PENDING = ingest.TRANSACTION_STATUS_PENDING
BOOKED = ingest.TRANSACTION_STATUS_BOOKED


def czk(transaction_id: str, amount: str, direction: str = "DEBIT", account_id: str = ACCOUNT,
        **fields) -> ingest.Transaction:
    return transaction(transaction_id, account_id, amount, direction, currency="CZK", **fields)


async def balance(stubs, account_id: str = ACCOUNT) -> str:
    found = await stubs.ingest.GetAccount(ingest.GetAccountRequest(name=f"accounts/{account_id}"))
    return amount_of(found.current_balance)


async def posted_ids(server) -> set[str]:
    """Every transaction id any TransactionsPosted carried: what insights, goals, triggers, personas and
    the booked-transaction alerts ever saw."""
    async with server.services.database.sessions() as session:
        rows = (await session.execute(select(DomainEventRow.kind, DomainEventRow.payload).where(
            DomainEventRow.kind == "TransactionsPosted"))).all()
    found = set()
    for kind, payload in rows:
        event = decode(kind, payload)
        assert isinstance(event, TransactionsPosted)
        found.update(p.transaction_id for p in event.postings)
    return found


async def test_declined_and_pending_transactions_move_nothing_and_a_declined_one_alerts(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        alert = await admin.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
            transaction_alert=pb.TransactionAlert(event=bank.event, directions=["DEBIT"], statuses=["DECLINED"])))
        assert list(alert.statuses) == ["DECLINED"]
        # An alert on every booked debit: it must not fire for the declined or pending ones.
        await admin.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
            transaction_alert=pb.TransactionAlert(event=bank.event, directions=["DEBIT"], min_amount="250")))

        counts = await service_stubs.ingest.IngestTransactions(stream([
            czk("t-salary", "1000.00", "CREDIT"),
            czk("t-declined", "900.00", status=DECLINED, description="Card payment Electro"),
            czk("t-pending", "300.00", status=PENDING, description="Hotel deposit"),
        ]))
        assert (counts.accepted_count, counts.duplicate_count, counts.rejected_count) == (3, 0, 0)
        assert await balance(service_stubs) == "1000.00"
        listed = await service_stubs.ingest.ListTransactions(ingest.ListTransactionsRequest(
            parent=f"accounts/{ACCOUNT}"))
        assert [(t.transaction_id, t.status) for t in listed.transactions] == [("t-salary", BOOKED)]
        for status, expected in ((DECLINED, [("t-declined", "900.00")]), (PENDING, [("t-pending", "300.00")])):
            listed = await service_stubs.ingest.ListTransactions(ingest.ListTransactionsRequest(
                parent=f"accounts/{ACCOUNT}", status=status))
            assert [(t.transaction_id, amount_of(t.amount)) for t in listed.transactions] == expected
            assert {t.status for t in listed.transactions} == {status}
        code, reason, fields = await failure(service_stubs.ingest.ListTransactions(ingest.ListTransactionsRequest(
            parent=f"accounts/{ACCOUNT}", status=9)))
        assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM", ["status"])

        await run_worker(settings)
        [sms] = await provider_sink.wait_for("twilio", 1)
        assert sms.body["Body"].startswith(f"{tenant}: 900.00 CZK withdrawn")
        [email] = await smtp_sink.wait_for(1)
        assert "Balance: 1,000.00" in email.get_body(("plain",)).get_content()  # what it stands at, unmoved
        assert len(provider_sink.received("fcm")) == 1

        # The pending one is booked under its id: now it moves the balance and the booked alert fires;
        # the declined id stays taken, and a pending one sent again changes nothing.
        counts = await service_stubs.ingest.IngestTransactions(stream([
            czk("t-pending", "300.00", status=BOOKED), czk("t-declined", "900.00"),
            czk("t-salary", "1000.00", "CREDIT", status=PENDING)]))
        assert (counts.accepted_count, counts.duplicate_count) == (1, 2)
        assert await balance(service_stubs) == "700.00"
        # A pending authorization declined later alerts as declined.
        await service_stubs.ingest.IngestTransactions(stream([czk("t-pending-2", "50.00", status=PENDING)]))
        counts = await service_stubs.ingest.IngestTransactions(stream([czk("t-pending-2", "50.00", status=DECLINED)]))
        assert counts.accepted_count == 1
        assert await balance(service_stubs) == "700.00"
        await run_worker(settings)
        sms_bodies = [m.body["Body"] for m in await provider_sink.wait_for("twilio", 3)]
        assert len(sms_bodies) == 3
        assert sorted(b.split(":")[1].split("withdrawn")[0].strip() for b in sms_bodies) == [
            "300.00 CZK", "50.00 CZK", "900.00 CZK"]
        assert await posted_ids(server) == {"t-salary", "t-pending"}
        async with UnitOfWork(server.services.database, tenant) as uow:
            kept = await uow.transactions.list_authorizations(ACCOUNT)
        assert [(t, s) for t, s, _ in kept] == [("t-declined", TransactionStatus.DECLINED),
                                                 ("t-pending-2", TransactionStatus.DECLINED)]

        # Backfill: a declined transaction of history is kept and alerts no one.
        counts = await service_stubs.ingest.IngestTransactions(
            ingest.IngestTransactionsRequest(transactions=[czk("t-old", "10.00", status=DECLINED)], backfill=True)
            for _ in range(1))
        assert counts.accepted_count == 1
        await run_worker(settings)
        assert len(provider_sink.received("twilio")) == 3


async def test_an_unknown_status_is_rejected_alone(server, tenant, service_stubs, smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
    counts = await service_stubs.ingest.IngestTransactions(stream([
        czk("t-odd", "1.00", status=7), czk("t-fine", "2.00", "CREDIT")]))
    assert counts.accepted_count == 1
    assert [(r.index, r.transaction_id, r.reason) for r in counts.rejected] == [(0, "t-odd", "INVALID_STATUS")]
    for bad in (pb.TransactionAlert(event=bank.event, statuses=["SETTLED"]),
                pb.TransactionAlert(event=bank.event, baseline=pb.UnusualActivityBaseline(percentile="100.5"))):
        async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
            code, reason, _ = await failure(admin.engagement.CreateTransactionAlert(
                pb.CreateTransactionAlertRequest(transaction_alert=bad)))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "TRANSACTION_ALERT_INVALID")


async def test_a_withdrawal_above_the_customers_own_baseline_is_unusual(server, settings, tenant, service_stubs,
                                                                       smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        await add_customer(service_stubs, bank.app, "new-customer", phone="+420601000000", email="new@example.com",
                           push_token="")
        created = await admin.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
            transaction_alert=pb.TransactionAlert(event=bank.event, operation="ATM_WITHDRAWAL",
                                                  baseline=pb.UnusualActivityBaseline())))
        assert (created.baseline.percentile, created.baseline.days, created.baseline.min_history) == ("99", 90, 10)
    # Lisa's history: 12 withdrawals of 100 to 1,200 CZK over the last weeks, loaded as backfill, and a
    # 5,000 one 100 days ago (outside the 90-day window) that would otherwise set her baseline.
    today = dt.date(2024, 6, 1)
    history = [czk(f"h{n}", f"{100 * n}.00", day=today - dt.timedelta(days=n), category="ATM")
               for n in range(1, 13)]
    history.append(czk("h-old", "5000.00", day=today - dt.timedelta(days=100), category="ATM"))
    history.append(czk("h-salary", "90000.00", "CREDIT", day=today - dt.timedelta(days=30)))
    # A large card payment is another kind of transaction: not part of the ATM baseline.
    history.append(czk("h-card", "9000.00", day=today - dt.timedelta(days=3), category="CARD_PAYMENT"))
    await service_stubs.ingest.IngestTransactions(
        ingest.IngestTransactionsRequest(transactions=history, backfill=True) for _ in range(1))
    await service_stubs.ingest.IngestTransactions(stream([
        czk("usual", "1100.00", day=today, category="VYBER"),      # below the 99th percentile (1,189)
        czk("unusual", "2500.00", day=today, category="ATM_WITHDRAWAL"),
        # The new customer has no baseline yet, and the alert has no min_amount: no alert.
        czk("first", "2500.00", account_id="new-customer-chk", day=today, category="ATM"),
    ]))
    await run_worker(settings)
    [sms] = await provider_sink.wait_for("twilio", 1)
    assert sms.body["Body"].startswith(f"{tenant}: 2,500.00 CZK withdrawn")
    assert len(provider_sink.received("twilio")) == 1 and len(smtp_sink.messages) == 1


async def test_a_gift_card_running_low_alerts_once(server, settings, tenant, service_stubs, smtp_sink,
                                                  provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        await service_stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
            "lisa-gift", "lisa-customer", "CZK", type=ingest.ACCOUNT_TYPE_GIFT_CARD, account_name="Gift card",
            current_balance={"currency_code": "CZK", "units": 500})))
        low = await admin.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
            transaction_alert=pb.TransactionAlert(event=bank.event, account_types=["GIFT_CARD", "PREPAID_CARD"],
                                                  balance_below="200")))
        assert low.balance_below == "200"
    await service_stubs.ingest.IngestTransactions(stream([
        czk("g1", "250.00", account_id="lisa-gift"),   # 500 -> 250
        czk("g2", "100.00", account_id="lisa-gift"),   # 250 -> 150: falls below 200
        czk("g3", "20.00", account_id="lisa-gift"),    # 150 -> 130: already below
        czk("c1", "400.00", day=dt.date(2024, 1, 16)),  # a checking account: not a card
    ]))
    await run_worker(settings)
    [sms] = await provider_sink.wait_for("twilio", 1)
    assert sms.body["Body"].startswith(f"{tenant}: 100.00 CZK withdrawn")
    [email] = await smtp_sink.wait_for(1)
    assert "Balance: 150.00" in email.get_body(("plain",)).get_content()
    assert len(provider_sink.received("twilio")) == 1


async def test_the_current_balance_is_sent_on_request(server, settings, tenant, service_stubs, smtp_sink,
                                                      provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        await add_customer(service_stubs, bank.app, "other-customer", phone="+420601000001",
                           email="other@example.com", push_token="fcm-other")
        event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Balance", description="The current balance on request", event_type=bank.event_type,
            app=bank.app, messages=[
                pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(sms=pb.SmsContent(
                    text="{{ account.name }}: {{ account.current_balance }} {{ account.currency }} "
                         "(available {{ account.available_balance }})"))),
                pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(push=pb.PushContent(
                    title="Balance", body="{{ account.current_balance }} {{ account.currency }}")))])))
    await service_stubs.ingest.IngestTransactions(stream([czk("s1", "1234.50", "CREDIT")]))
    sent = await service_stubs.engagement.SendBalance(pb.SendBalanceRequest(
        account=f"accounts/{ACCOUNT}", event=event.name, request_id="ask-1"))
    assert sorted(d.channel for d in sent.deliveries) == [pb.CHANNEL_SMS, pb.CHANNEL_PUSH]
    again = await service_stubs.engagement.SendBalance(pb.SendBalanceRequest(
        account=f"accounts/{ACCOUNT}", event=event.name, request_id="ask-1"))
    assert sorted(d.name for d in again.deliveries) == sorted(d.name for d in sent.deliveries)
    # The customer asks in the app with their own token; another customer's token cannot ask for it.
    async with server.stubs(server.token(tenant, Role.USER, "lisa-customer")) as lisa, \
            server.stubs(server.token(tenant, Role.USER, "other-customer")) as other:
        asked = await lisa.engagement.SendBalance(pb.SendBalanceRequest(account=f"accounts/{ACCOUNT}",
                                                                        event=event.name))
        assert {d.customer_id for d in asked.deliveries} == {"lisa-customer"}
        code, reason, _ = await failure(other.engagement.SendBalance(pb.SendBalanceRequest(
            account=f"accounts/{ACCOUNT}", event=event.name)))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")
    for request, expected in (
            (pb.SendBalanceRequest(account="accounts/nope", event=event.name), "ACCOUNT_NOT_FOUND"),
            (pb.SendBalanceRequest(account=f"accounts/{ACCOUNT}", event="events/nope"), "EVENT_NOT_FOUND")):
        code, reason, _ = await failure(service_stubs.engagement.SendBalance(request))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, expected)
    code, reason, fields = await failure(service_stubs.engagement.SendBalance(pb.SendBalanceRequest(
        account="customers/x", event=event.name)))
    assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_NAME_INVALID", ["account"])
    code, reason, fields = await failure(service_stubs.engagement.SendBalance(pb.SendBalanceRequest(
        account=f"accounts/{ACCOUNT}", event=event.name, request_id="r" * 121)))
    assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_TOO_LONG", ["request_id"])

    await run_worker(settings)
    messages = await provider_sink.wait_for("twilio", 2)
    assert [m.body["Body"] for m in messages] == ["Current account: 1,234.50 CZK (available 1,234.50)"] * 2
    assert [m.body["To"] for m in messages] == ["+420601234567"] * 2
    pushes = await provider_sink.wait_for("fcm", 2)
    assert {p.body["message"]["notification"]["body"] for p in pushes} == {"1,234.50 CZK"}
    assert len(provider_sink.received("twilio")) == 2
