"""Payment due and overdue reminders, and scheduled payment notices, end to end: statements and
payments ingested through the stubs, payment alerts set up by the bank's admin, the hourly reminder run
and the bus handler on a real arq worker (the run's "now" given as the job's argument), SMS and push
requests counted at the local provider sinks (docs/services/engagement.md#payment-alerts)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import grpc
from sqlalchemy import select

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from server.rpc.convert import money_to_proto
from server.services.payment_alerts import PaymentAlertsService
from server.store.event_payloads import decode
from server.store.models import DomainEventRow
from server.store.uow import UnitOfWork
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import account, failure, stream, transaction
from tests.support.crons import run_cron_once
from tests.support.yes_bank import add_customer, set_up_yes_bank

SMS = "{{ bank.name }}: {{ statement.remaining }} {{ statement.currency }} due {{ statement.due_date }} ({{ kind }})"


def day(value: str) -> date_pb2.Date:
    parsed = dt.date.fromisoformat(value)
    return date_pb2.Date(year=parsed.year, month=parsed.month, day=parsed.day)


def statement(statement_id: str, account_id: str, due: str, minimum: str, *, closed: str = "2024-03-01",
              balance: str = "5000", currency: str = "CZK") -> ipb.Statement:
    return ipb.Statement(statement_id=statement_id, account_id=account_id, statement_date=day(closed),
                         due_date=day(due), minimum_due=money_to_proto(Decimal(minimum), currency),
                         statement_balance=money_to_proto(Decimal(balance), currency))


def payment(payment_id: str, account_id: str, amount: str, state: int, *, scheduled: str = "2024-03-18",
            currency: str = "CZK") -> ipb.ScheduledPayment:
    return ipb.ScheduledPayment(payment_id=payment_id, account_id=account_id,
                                amount=money_to_proto(Decimal(amount), currency), scheduled_date=day(scheduled),
                                state=state)


async def reminder_event(admin, bank, kind: str) -> str:
    """An event of SMS and push whose texts name the statement's figures and the alert kind."""
    event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name=f"Payment {kind}", description=f"Card payment {kind}", event_type=bank.event_type,
        app=bank.app, messages=[
            pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(sms=pb.SmsContent(
                text=SMS.replace("{{ kind }}", kind)))),
            pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(push=pb.PushContent(
                title=f"Payment {kind}", body="{{ account.id }} {{ statement.id }} {{ statement.days_left }}")))])))
    return event.name


async def notice_event(admin, bank, kind: str) -> str:
    event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name=f"Payment {kind}", description=f"A scheduled payment {kind}", event_type=bank.event_type,
        app=bank.app, messages=[
            pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(sms=pb.SmsContent(
                text=f"{kind}: {{{{ payment.amount }}}} {{{{ payment.currency }}}} on "
                     "{{ payment.scheduled_date }} to {{ account.id }}"))),
            pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(push=pb.PushContent(
                title=f"Payment {kind}", body="{{ payment.id }} {{ payment.state }}")))])))
    return event.name


async def add_card(service, customer_id: str, account_id: str) -> None:
    await service.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account(
        account_id, customer_id, "CZK", type=ipb.ACCOUNT_TYPE_CREDIT, container=ipb.CONTAINER_CREDIT_CARD)))


async def remind_at(services, settings, now: str) -> None:
    """The hourly reminder run, as the worker runs it, at `now` (UTC)."""
    await services.redis.enqueue_job("send_payment_reminders", now, _queue_name=settings.queue_name)
    await run_worker(settings)


def texts(provider_sink) -> list[str]:
    return sorted(r.body["Body"] for r in provider_sink.received("twilio"))


def pushes(provider_sink) -> list[str]:
    return sorted(r.body["message"]["notification"]["body"] for r in provider_sink.received("fcm"))


async def settle() -> None:
    """Nothing more arrives: a short wait for requests that should not come."""
    await asyncio.sleep(0.2)


async def test_due_and_overdue_reminders_once_per_statement_unless_paid(server, services, settings, tenant,
                                                                       service_stubs, smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        for card in ("card-1", "card-2", "card-3"):
            await add_card(service_stubs, "lisa-customer", card)
        due = await admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(payment_alert=pb.PaymentAlert(
            event=await reminder_event(admin, bank, "due"), kind=pb.PAYMENT_ALERT_KIND_DUE, days_before_due=3)))
        assert (due.kind, due.days_before_due) == (pb.PAYMENT_ALERT_KIND_DUE, 3)
        await admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(payment_alert=pb.PaymentAlert(
            event=await reminder_event(admin, bank, "overdue"), kind=pb.PAYMENT_ALERT_KIND_OVERDUE)))

        # card-1: 100 of its 500 paid; card-2: its 300 paid in full before the reminder; card-3: unpaid
        # until the due date itself. An older statement of card-1 (superseded) is never reminded of.
        await service_stubs.ingest.BatchUpsertStatements(ipb.BatchUpsertStatementsRequest(statements=[
            statement("s-old", "card-1", "2024-02-20", "900", closed="2024-02-01"),
            statement("s-1", "card-1", "2024-03-20", "500"), statement("s-2", "card-2", "2024-03-20", "300"),
            statement("s-3", "card-3", "2024-03-20", "200")]))
        counts = await service_stubs.ingest.IngestTransactions(stream([
            transaction("pay-1", "card-1", "100.00", "CREDIT", day=dt.date(2024, 3, 10), currency="CZK"),
            transaction("pay-2", "card-2", "300.00", "CREDIT", day=dt.date(2024, 3, 15), currency="CZK"),
            # Before the statement closed: counts towards the earlier one, not s-3.
            transaction("pay-3-early", "card-3", "200.00", "CREDIT", day=dt.date(2024, 3, 1), currency="CZK"),
            # A debit on the card is spending, not a payment.
            transaction("spend-3", "card-3", "900.00", "DEBIT", day=dt.date(2024, 3, 12), currency="CZK")]))
        assert counts.accepted_count == 4
        await run_worker(settings)

        # The day before the window opens, in UTC as in the tenant's zone: nothing.
        await remind_at(services, settings, "2024-03-16T12:00:00+00:00")
        await settle()
        assert texts(provider_sink) == []

        # Three days before the due date: card-1 (400 left) and card-3 (200 left); card-2 is paid.
        await remind_at(services, settings, "2024-03-17T06:00:00+00:00")
        await provider_sink.wait_for("twilio", 2)
        await provider_sink.wait_for("fcm", 2)
        assert texts(provider_sink) == [f"{tenant}: 200.00 CZK due 2024-03-20 (due)",
                                        f"{tenant}: 400.00 CZK due 2024-03-20 (due)"]
        assert pushes(provider_sink) == ["card-1 s-1 3", "card-3 s-3 3"]

        # The run again (a retried job), and the next days of the window: nothing twice.
        for now in ("2024-03-17T06:00:00+00:00", "2024-03-18T06:00:00+00:00", "2024-03-20T06:00:00+00:00"):
            await remind_at(services, settings, now)
        await settle()
        assert len(provider_sink.received("twilio")) == 2 and len(provider_sink.received("fcm")) == 2

        # card-3 is paid on the due date: no overdue reminder for it; card-1 is still 400 short.
        await service_stubs.ingest.IngestTransactions(stream([
            transaction("pay-3", "card-3", "200.00", "CREDIT", day=dt.date(2024, 3, 20), currency="CZK")]))
        await run_worker(settings)
        await remind_at(services, settings, "2024-03-21T06:00:00+00:00")
        await provider_sink.wait_for("twilio", 3)
        await remind_at(services, settings, "2024-03-22T06:00:00+00:00")
        await settle()
        assert texts(provider_sink)[2:] == [f"{tenant}: 400.00 CZK due 2024-03-20 (overdue)"]
        assert len(provider_sink.received("fcm")) == 3
        assert "card-1 s-1 -1" in pushes(provider_sink)

        sent = await admin.engagement.ListDeliveries(pb.ListDeliveriesRequest(customer_id="lisa-customer"))
        assert sorted((d.channel, d.state) for d in sent.deliveries) == [
            *[(pb.CHANNEL_SMS, pb.SENT)] * 3, *[(pb.CHANNEL_PUSH, pb.SENT)] * 3]

        # The customer reads their own card's statements; another customer learns nothing of them.
        async with server.stubs(server.token(tenant, Role.USER, "lisa-customer")) as lisa, \
                server.stubs(server.token(tenant, Role.USER, "someone-else")) as other:
            mine = await lisa.ingest.ListStatements(ipb.ListStatementsRequest(parent="accounts/card-3"))
            assert [s.statement_id for s in mine.statements] == ["s-3"]
            code, _, _ = await failure(other.ingest.ListStatements(ipb.ListStatementsRequest(
                parent="accounts/card-3")))
            assert code == grpc.StatusCode.NOT_FOUND
            code, reason, _ = await failure(lisa.ingest.BatchUpsertStatements(ipb.BatchUpsertStatementsRequest(
                statements=[statement("s-9", "card-3", "2024-04-20", "1")])))
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")

        # Read back as ingested, latest due date first.
        listed = await service_stubs.ingest.ListStatements(ipb.ListStatementsRequest(parent="accounts/card-1",
                                                                                     page_size=1))
        assert [s.name for s in listed.statements] == ["accounts/card-1/statements/s-1"]
        rest = await service_stubs.ingest.ListStatements(ipb.ListStatementsRequest(
            parent="accounts/card-1", page_size=1, page_token=listed.next_page_token))
        assert [s.statement_id for s in rest.statements] == ["s-old"] and not rest.next_page_token


async def card_with_a_due_alert(admin, service, smtp_sink, provider_sink, kind: str, days_before_due: int,
                                minimum: str) -> None:
    """The bank set up, lisa-customer's card-1 with statement s-1 due 2024-03-20, and a DUE alert."""
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    await add_customer(service, bank.app)
    await add_card(service, "lisa-customer", "card-1")
    await admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(payment_alert=pb.PaymentAlert(
        event=await reminder_event(admin, bank, kind), kind=pb.PAYMENT_ALERT_KIND_DUE,
        days_before_due=days_before_due)))
    await service.ingest.BatchUpsertStatements(ipb.BatchUpsertStatementsRequest(statements=[
        statement("s-1", "card-1", "2024-03-20", minimum)]))


async def _zone_bank(server, services, time_zone: str, smtp_sink, provider_sink) -> str:
    tenant = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}", time_zone=time_zone)).tenant_id
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin, \
            server.stubs(server.token(tenant, Role.SERVICE, "loader")) as service:
        await card_with_a_due_alert(admin, service, smtp_sink, provider_sink, "today", 0, "250")
    return tenant


async def test_reminders_follow_each_tenants_time_zone(server, services, settings, smtp_sink, provider_sink):
    tokyo = await _zone_bank(server, services, "Asia/Tokyo", smtp_sink, provider_sink)
    los_angeles = await _zone_bank(server, services, "America/Los_Angeles", smtp_sink, provider_sink)

    # 2024-03-19 15:30 UTC: the 20th began in Tokyo (00:30), it is the 19th in Los Angeles (08:30).
    await remind_at(services, settings, "2024-03-19T15:30:00+00:00")
    await provider_sink.wait_for("twilio", 1)
    await settle()
    assert texts(provider_sink) == [f"{tokyo}: 250.00 CZK due 2024-03-20 (today)"]

    # 2024-03-20 07:30 UTC: the 20th began in Los Angeles (00:30 PDT); Tokyo's went out already.
    await remind_at(services, settings, "2024-03-20T07:30:00+00:00")
    await provider_sink.wait_for("twilio", 2)
    await settle()
    assert texts(provider_sink) == sorted([f"{tokyo}: 250.00 CZK due 2024-03-20 (today)",
                                           f"{los_angeles}: 250.00 CZK due 2024-03-20 (today)"])
    assert len(provider_sink.received("fcm")) == 2


async def test_scheduled_and_processed_payments_are_told_once(server, services, settings, tenant, service_stubs,
                                                              smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        await add_card(service_stubs, "lisa-customer", "loan-1")
        for kind, number in (("scheduled", pb.PAYMENT_ALERT_KIND_SCHEDULED),
                             ("processed", pb.PAYMENT_ALERT_KIND_PROCESSED), ("failed", pb.PAYMENT_ALERT_KIND_FAILED)):
            await admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(payment_alert=pb.PaymentAlert(
                event=await notice_event(admin, bank, kind), kind=number)))
        await admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(payment_alert=pb.PaymentAlert(
            event=await reminder_event(admin, bank, "due"), kind=pb.PAYMENT_ALERT_KIND_DUE, days_before_due=2)))
        await service_stubs.ingest.BatchUpsertStatements(ipb.BatchUpsertStatementsRequest(statements=[
            statement("s-9", "loan-1", "2024-03-20", "1200")]))

        scheduled = payment("p-1", "loan-1", "1200", ipb.SCHEDULED_PAYMENT_STATE_SCHEDULED)
        await service_stubs.ingest.BatchUpsertScheduledPayments(ipb.BatchUpsertScheduledPaymentsRequest(
            scheduled_payments=[scheduled]))
        await run_worker(settings)
        await provider_sink.wait_for("twilio", 1)
        assert texts(provider_sink) == ["scheduled: 1,200.00 CZK on 2024-03-18 to loan-1"]
        assert pushes(provider_sink) == ["p-1 SCHEDULED"]

        # The same record again changes nothing and tells nothing.
        await service_stubs.ingest.BatchUpsertScheduledPayments(ipb.BatchUpsertScheduledPaymentsRequest(
            scheduled_payments=[scheduled]))
        await run_worker(settings)
        await settle()
        assert len(provider_sink.received("twilio")) == 1

        processed = payment("p-1", "loan-1", "1200", ipb.SCHEDULED_PAYMENT_STATE_PROCESSED)
        processed.settle_time.FromDatetime(dt.datetime(2024, 3, 16, 9, tzinfo=dt.UTC))
        for _ in range(2):
            await service_stubs.ingest.BatchUpsertScheduledPayments(ipb.BatchUpsertScheduledPaymentsRequest(
                scheduled_payments=[processed]))
        await run_worker(settings)
        await provider_sink.wait_for("twilio", 2)
        await settle()
        assert texts(provider_sink) == ["processed: 1,200.00 CZK on 2024-03-18 to loan-1",
                                        "scheduled: 1,200.00 CZK on 2024-03-18 to loan-1"]
        assert pushes(provider_sink) == ["p-1 PROCESSED", "p-1 SCHEDULED"]

        # The bus handler run again on the stored event (a retried job) records nothing new.
        async with services.database.sessions() as session:
            stored_events = list(await session.scalars(select(DomainEventRow).where(
                DomainEventRow.tenant_id == tenant, DomainEventRow.kind == "ScheduledPaymentsChanged")))
        assert len(stored_events) == 2  # SCHEDULED, then PROCESSED: the repeats changed nothing
        for row in stored_events:
            async with UnitOfWork(services.database, tenant) as uow:
                assert await services.payment_alerts.on_scheduled_payments_changed(
                    uow, tenant, decode(row.kind, row.payload)) is None
                await uow.commit()

        # A payment that failed is told too, with its own alert.
        await service_stubs.ingest.BatchUpsertScheduledPayments(ipb.BatchUpsertScheduledPaymentsRequest(
            scheduled_payments=[payment("p-2", "loan-1", "80", ipb.SCHEDULED_PAYMENT_STATE_FAILED,
                                        scheduled="2024-03-19")]))
        await run_worker(settings)
        await provider_sink.wait_for("twilio", 3)
        assert "failed: 80.00 CZK on 2024-03-19 to loan-1" in texts(provider_sink)
        assert "p-2 FAILED" in pushes(provider_sink)

        # A processed payment is final.
        code, reason, _ = await failure(service_stubs.ingest.BatchUpsertScheduledPayments(
            ipb.BatchUpsertScheduledPaymentsRequest(scheduled_payments=[
                payment("p-1", "loan-1", "1200", ipb.SCHEDULED_PAYMENT_STATE_CANCELLED)])))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PAYMENT_STATE_FINAL")

        # The processed payment covers the minimum: the due reminder is not sent.
        await remind_at(services, settings, "2024-03-18T12:00:00+00:00")
        await settle()
        assert len(provider_sink.received("twilio")) == 3

        listed = await service_stubs.ingest.ListScheduledPayments(ipb.ListScheduledPaymentsRequest(
            parent="accounts/loan-1"))
        assert [p.payment_id for p in listed.scheduled_payments] == ["p-2", "p-1"]  # latest scheduled first
        stored = listed.scheduled_payments[1]
        assert (stored.name, stored.state, stored.settle_time.ToDatetime(dt.UTC)) == (
            "accounts/loan-1/scheduledPayments/p-1", ipb.SCHEDULED_PAYMENT_STATE_PROCESSED,
            dt.datetime(2024, 3, 16, 9, tzinfo=dt.UTC))


async def test_bad_statements_payments_and_alerts_are_refused_with_stable_codes(server, tenant, service_stubs):
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=ipb.Customer(customer_id="o")))
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account("c-1", "o", "CZK")))
    await add_card(service_stubs, "o", "card-1")

    async def statements(*items: ipb.Statement):
        return await failure(service_stubs.ingest.BatchUpsertStatements(
            ipb.BatchUpsertStatementsRequest(statements=list(items))))

    assert await statements(statement("s", "card-1", "2024-02-01", "10")) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_STATEMENT", ["statements[0].due_date"])
    assert await statements(statement("s", "card-1", "2024-03-20", "-1")) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_STATEMENT", ["statements[0].minimum_due"])
    assert await statements(ipb.Statement(statement_id="s", account_id="card-1")) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_STATEMENT", ["statements[0].minimum_due"])
    assert await statements(statement("s", "nope", "2024-03-20", "1")) == (
        grpc.StatusCode.FAILED_PRECONDITION, "UNKNOWN_ACCOUNT", [])
    assert await statements(statement("s", "c-1", "2024-03-20", "1")) == (
        grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_NOT_PAYABLE", [])
    assert await statements(statement("s", "card-1", "2024-03-20", "1", currency="EUR")) == (
        grpc.StatusCode.INVALID_ARGUMENT, "CURRENCY_MISMATCH", [])
    assert await statements(statement("s", "card-1", "2024-03-20", "1"), statement("s", "card-1", "2024-04-20", "1")
                            ) == (grpc.StatusCode.INVALID_ARGUMENT, "REPEATED_ID", ["statement_id"])
    assert await statements() == (grpc.StatusCode.INVALID_ARGUMENT, "EMPTY_BATCH", ["statements"])

    async def payments(*items: ipb.ScheduledPayment):
        return await failure(service_stubs.ingest.BatchUpsertScheduledPayments(
            ipb.BatchUpsertScheduledPaymentsRequest(scheduled_payments=list(items))))

    assert await payments(payment("p", "card-1", "0", ipb.SCHEDULED_PAYMENT_STATE_SCHEDULED)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SCHEDULED_PAYMENT", ["scheduled_payments[0].amount"])
    assert await payments(payment("p", "card-1", "5", ipb.SCHEDULED_PAYMENT_STATE_UNSPECIFIED)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM", ["scheduled_payments[0].state"])
    assert await payments(payment("p", "c-1", "5", ipb.SCHEDULED_PAYMENT_STATE_SCHEDULED)) == (
        grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_NOT_PAYABLE", [])

    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        code, reason, fields = await failure(admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(
            payment_alert=pb.PaymentAlert(event="events/x", kind=pb.PAYMENT_ALERT_KIND_DUE, days_before_due=61))))
        assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "PAYMENT_ALERT_INVALID",
                                          ["payment_alert.days_before_due"])
        code, reason, _ = await failure(admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(
            payment_alert=pb.PaymentAlert(event="events/x", kind=pb.PAYMENT_ALERT_KIND_OVERDUE, days_before_due=2))))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PAYMENT_ALERT_INVALID")
        code, reason, _ = await failure(admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(
            payment_alert=pb.PaymentAlert(event="events/x"))))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM")
        code, reason, _ = await failure(admin.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(
            payment_alert=pb.PaymentAlert(event="events/x", kind=pb.PAYMENT_ALERT_KIND_OVERDUE))))
        assert code == grpc.StatusCode.NOT_FOUND
        code, _, _ = await failure(admin.engagement.DeletePaymentAlert(pb.DeletePaymentAlertRequest(
            name="paymentAlerts/nope")))
        assert code == grpc.StatusCode.NOT_FOUND


async def run_reminder_cron(settings, now: dt.datetime) -> object:
    """The deployment's cron send_payment_reminders, run once on a burst worker whose payment alerts
    service reads `now` from its clock (tests.support.crons, as tests/e2e/test_crons_on_worker.py drives
    the other crons); returns what the run returned."""
    return await run_cron_once(settings, "send_payment_reminders", lambda s: dataclasses.replace(
        s, payment_alerts=PaymentAlertsService(s.database, s.engagement, clock=lambda: now)))


async def test_the_hourly_cron_sends_a_reminder_once_on_the_worker(server, settings, tenant, service_stubs,
                                                                  smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        await card_with_a_due_alert(admin, service_stubs, smtp_sink, provider_sink, "due", 5, "500")

    assert await run_reminder_cron(settings, dt.datetime(2024, 3, 14, 12, tzinfo=dt.UTC)) == 0  # 6 days before
    assert await run_reminder_cron(settings, dt.datetime(2024, 3, 15, 0, 30, tzinfo=dt.UTC)) == 1
    await provider_sink.wait_for("twilio", 1)
    await provider_sink.wait_for("fcm", 1)
    # The next hours and days of the window: the reminder is recorded already.
    for hours in (1, 24, 5 * 24):
        later = dt.datetime(2024, 3, 15, 0, 30, tzinfo=dt.UTC) + dt.timedelta(hours=hours)
        assert await run_reminder_cron(settings, later) == 0
    await settle()
    assert texts(provider_sink) == [f"{tenant}: 500.00 CZK due 2024-03-20 (due)"]
    assert pushes(provider_sink) == ["card-1 s-1 5"]
