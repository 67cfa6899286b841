"""History is not news: transactions loaded as backfill (a flagged stream, `engagectl import berka`,
`engagectl ingest --backfill`, or a posting older than ENGAGE_LIVE_WINDOW_DAYS in a live stream) move
balances but create no real-time feed item, alert delivery or message; fresh live postings still do."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engage.engagement.v1 import engagement_service_pb2 as epb
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.insights.v1 import insights_service_pb2 as ipb
from server.domain.auth import Role
from server.store.engagement_models import DeliveryRow
from server.store.models import DomainEventRow, FeedItemRow, TransactionRow
from tests.e2e.test_berka_import import BERKA, as_decimal, day_end, table, yymmdd
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import amount_of, stream, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """The production window (the suite's default turns it off for its fixed 2024 dates)."""
    return settings.model_copy(update={"live_window_days": 7})


async def count(services, tenant: str, model) -> int:  # type: ignore[no-untyped-def]
    async with services.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant))


async def posted_events(services, tenant: str, *, live: bool = True) -> int:  # type: ignore[no-untyped-def]
    """Live (or backfill) TransactionsPosted events (upserts of customers and accounts write events of their
    own). Backfill is announced too, as live=False, for the goal allocations: never as news."""
    async with services.database.sessions() as session:
        payloads = await session.scalars(select(DomainEventRow.payload).where(
            DomainEventRow.tenant_id == tenant, DomainEventRow.kind == "TransactionsPosted"))
        return sum(1 for payload in payloads if payload["live"] is live)


async def feed_transactions(stubs, customer_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    feed = await stubs.insights.GetFeed(ipb.GetFeedRequest(customer_id=customer_id))
    return {item.transaction.transaction_id for item in feed.feed}


async def alerted_bank(server, tenant, service_stubs, smtp_sink, provider_sink):  # type: ignore[no-untyped-def]
    """Yes Bank with lisa-customer reachable and every ATM withdrawal bound to an alert."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        await admin.engagement.CreateTransactionAlert(epb.CreateTransactionAlertRequest(
            transaction_alert=epb.TransactionAlert(event=bank.event, operation="ATM_WITHDRAWAL", min_amount="100")))
    return bank


def withdrawal(transaction_id: str, day: dt.date, amount: str = "5000.00") -> pb.Transaction:
    return transaction(transaction_id, "lisa-customer-chk", amount, "DEBIT", day, currency="CZK",
                       description="ATM withdrawal Prague 1", category="VYBER")


@pytest.mark.sqlite_too  # the bus's own SQLite path; the Berka import below is PostgreSQL's
async def test_ingest_backfill_moves_balances_and_sends_nothing(server, services, settings, tenant, service_stubs,
                                                                engagectl, smtp_sink, provider_sink, tmp_path: Path):
    await alerted_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    today = dt.datetime.now(dt.UTC).date()
    history = tmp_path / "history.csv"
    # Even today's withdrawal is history in a file loaded with --backfill.
    history.write_text("transaction_id,account_id,amount,currency,direction,posted_at,description,category\n"
                       "h1,lisa-customer-chk,5000.00,CZK,DEBIT,2024-01-15,ATM withdrawal Prague 1,VYBER\n"
                       f"h2,lisa-customer-chk,300.00,CZK,DEBIT,{today.isoformat()},ATM withdrawal Prague 1,VYBER\n")
    loaded = await engagectl("--json", "ingest", "--backfill", str(history),
                             token=server.token(tenant, "service", "loader"))
    assert loaded.exit_code == 0, loaded.stderr
    assert json.loads(loaded.stdout)["transactions"]["accepted"] == 2

    await run_worker(settings)
    assert await posted_events(services, tenant) == 0
    assert await posted_events(services, tenant, live=False) == 1
    assert await count(services, tenant, FeedItemRow) == 0
    assert await count(services, tenant, DeliveryRow) == 0
    assert not smtp_sink.messages
    account = await service_stubs.ingest.GetAccount(pb.GetAccountRequest(name="accounts/lisa-customer-chk"))
    assert amount_of(account.current_balance) == "-5300.00"


@pytest.mark.sqlite_too
async def test_live_stream_announces_fresh_postings_only(server, services, settings, tenant, service_stubs,
                                                         smtp_sink, provider_sink):
    await alerted_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    today = dt.datetime.now(dt.UTC).date()
    response = await service_stubs.ingest.IngestTransactions(stream([
        withdrawal("fresh", today),
        withdrawal("last-month", today - dt.timedelta(days=30)),  # older than the 7-day window: backfill
    ]))
    assert response.accepted_count == 2

    await run_worker(settings)
    [email] = await smtp_sink.wait_for(1)
    assert email["Subject"] == "ATM withdrawal of 5,000.00 CZK"
    assert await count(services, tenant, DeliveryRow) == 3  # email, SMS and push of "fresh" only
    assert await feed_transactions(service_stubs, "lisa-customer") == {"fresh"}  # LARGE_WITHDRAWAL, LOW_BALANCE
    account = await service_stubs.ingest.GetAccount(pb.GetAccountRequest(name="accounts/lisa-customer-chk"))
    assert amount_of(account.current_balance) == "-10000.00"  # both moved the balance


def berka_part(folder: Path, keep: Callable[[str], bool]) -> Path:
    """The Berka data set with the transactions of the accounts `keep` picks (and trans.asc's cut last
    line): every account's chain of rows whole, a tenth of the rows to import."""
    folder.mkdir()
    for source in BERKA.glob("*.asc"):
        if source.name != "trans.asc":
            (folder / source.name).symlink_to(source)
    header, *rows = (BERKA / "trans.asc").read_bytes().split(b"\r\n")
    kept = [row for row in rows[:-1] if keep(row.split(b";")[1].decode())]
    (folder / "trans.asc").write_bytes(b"\r\n".join([header, *kept, rows[-1]]))
    return folder


async def test_berka_import_is_backfill(server, services, settings, tenant, engagectl, smtp_sink, provider_sink,
                                        tmp_path: Path):
    if not (BERKA / "trans.asc").is_file():
        pytest.skip(f"the Berka data set is not at {BERKA}")
    everything, _ = table("trans.asc")
    dispositions, _ = table("disp.asc")
    # A Berka customer who withdrew cash, reachable, with every ATM withdrawal bound to an alert.
    account_id = next(row[1] for row in everything
                      if row[4] == "VYBER" and not row[7].strip() and Decimal(row[5]) >= 100)
    # Every customer and account, and the transactions of a tenth of the accounts: the subject is how the
    # import posts them (the whole import is tests/e2e/test_berka_import.py's).
    part = berka_part(tmp_path / "berka", lambda each: each == account_id or int(each) % 10 == 0)
    transactions = [row for row in everything if row[1] == account_id or int(row[1]) % 10 == 0]
    assert 2000 < len(transactions) < len(everything)
    owner = next(row[1] for row in dispositions if row[2] == account_id and row[3] == "OWNER")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin, \
            server.stubs(server.token(tenant, Role.SERVICE, "loader")) as service:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await admin.engagement.CreateTransactionAlert(epb.CreateTransactionAlertRequest(
            transaction_alert=epb.TransactionAlert(event=bank.event, operation="ATM_WITHDRAWAL", min_amount="100")))

        imported = await engagectl("--json", "import", "berka", str(part), token=server.token(tenant, "service",
                                                                                                "loader"))
        assert imported.exit_code == 0, imported.stderr
        summary = json.loads(imported.stdout)
        assert (summary["transactions_accepted"], summary["transactions_rejected"]) == (len(transactions), 1)
        await add_customer(service, bank.app, owner, with_account=False)

        await run_worker(settings)
        assert await count(services, tenant, TransactionRow) == len(transactions)
        assert await posted_events(services, tenant) == 0
        assert await count(services, tenant, FeedItemRow) == 0
        assert await count(services, tenant, DeliveryRow) == 0
        assert not smtp_sink.messages

        # Balances are right: each account ends on the bank's own balance after its last day.
        by_day: dict[tuple[str, dt.date], list[list[str]]] = {}
        for row in transactions:
            by_day.setdefault((row[1], yymmdd(row[2])), []).append(row)
        for checked in [account_id, *sorted({row[1] for row in transactions})[::50]]:
            last_day = max(day for (each, day) in by_day if each == checked)
            end = day_end(by_day[(checked, last_day)])
            if end is None:
                continue
            stored = await service.ingest.GetAccount(pb.GetAccountRequest(name=f"accounts/{checked}"))
            assert as_decimal(stored.current_balance) == Decimal(end[6]), checked
