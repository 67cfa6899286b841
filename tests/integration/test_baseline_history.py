"""The history an unusual-activity baseline is judged against, as the store supplies it (one statement
for every customer of a batch): on both databases it is exactly the booked transactions a plain filter
of everything ingested picks, whatever the mix of customers, accounts, categories, directions, account
types, times and statuses (pending and declined ones never count)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from server.domain.ingest.model import (
    Account,
    AccountType,
    Container,
    Customer,
    Direction,
    IncomingTransaction,
    TransactionStatus,
)
from server.store.uow import UnitOfWork

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CATEGORIES = ["ATM", "vyber", "CARD_PAYMENT", ""]
TYPES = [AccountType.CHECKING, AccountType.SAVINGS, AccountType.PREPAID_CARD]


@pytest.mark.parametrize("seed", range(4))
async def test_the_history_is_what_a_plain_filter_picks(services, tenant, seed):
    rng = random.Random(seed)
    customers = [f"c{n}" for n in range(4)]
    accounts = [Account(f"a{n}", rng.choice(customers), rng.choice(TYPES), Container.BANK, "EUR") for n in range(8)]
    rows = []
    for n in range(300):
        account = rng.choice(accounts)
        rows.append(IncomingTransaction(
            f"t{n}", account.account_id, rng.randint(1, 5_000_000), "EUR", rng.choice(list(Direction)),
            START + dt.timedelta(minutes=rng.randint(0, 200 * 24 * 60)), f"ref {rng.choice(['atm', 'shop'])}",
            rng.choice(CATEGORIES), status=rng.choice([TransactionStatus.BOOKED] * 3 + [TransactionStatus.PENDING,
                                                                                         TransactionStatus.DECLINED])))
    now = START + dt.timedelta(days=400)
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.customers.upsert_many([Customer(c) for c in customers], now)
        await uow.accounts.upsert_many(accounts, now)
        await uow.transactions.insert_new([r for r in rows if r.status is TransactionStatus.BOOKED], now)
        await uow.transactions.add_authorizations([r for r in rows if r.status is not TransactionStatus.BOOKED], now)
        await uow.commit()

    owner = {a.account_id: a for a in accounts}
    seen = 0
    for _ in range(6):
        asked = set(rng.sample(customers, rng.randint(1, len(customers))))
        since = START + dt.timedelta(days=rng.randint(0, 150))
        until = since + dt.timedelta(days=rng.randint(1, 90))
        categories = frozenset(rng.sample(["ATM", "VYBER", "CARD_PAYMENT"], rng.randint(0, 2)))
        directions = frozenset(rng.sample(["DEBIT", "CREDIT"], rng.randint(0, 1)))
        types = frozenset(rng.sample([t.value for t in TYPES], rng.randint(0, 2)))
        async with UnitOfWork(services.database, tenant) as uow:
            found = await uow.transactions.customers_debits(asked, since, until, categories, directions, types)
        expected = sorted(
            (owner[r.account_id].customer_id, r.transaction_id, Decimal(r.amount) / 10_000)  # type: ignore[operator]
            for r in rows if r.status is TransactionStatus.BOOKED and owner[r.account_id].customer_id in asked
            and since <= r.posted_at < until  # type: ignore[operator]
            and (not categories or r.category.upper() in categories)
            and (not directions or r.direction.value in directions)  # type: ignore[union-attr]
            and (not types or owner[r.account_id].type.value in types))
        assert sorted((c, t, amount) for c, t, _, amount, _ in found) == expected
        seen += len(found)
    assert seen  # the queries found something to compare
