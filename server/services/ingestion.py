"""Ingestion use cases: the one place that stores what the bank feeds us."""

from __future__ import annotations

import datetime as dt

import structlog

from server.domain.auth import Caller, Role
from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, not_found
from server.domain.ingest.model import (
    Account,
    BatchOutcome,
    Customer,
    DailyBalance,
    Holding,
    Rejection,
    Transaction,
)
from server.domain.ingest.validation import (
    balance_rejection_reason,
    check_account,
    check_batch_size,
    check_customer,
    check_holding,
    transaction_rejection_reason,
)
from server.domain.pagination import Page, PageRequest, paginate
from server.services.clock import Clock, utc_now
from server.services.events import EventPublisher
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

MAX_UPSERT_BATCH = 5000
MAX_TRANSACTION_BATCH = 5000
MAX_BALANCE_BATCH = 20000
WRITERS = (Role.SERVICE,)
READERS = (Role.SERVICE, Role.BANK_ADMIN, Role.USER)


def _day_bounds(since: dt.date | None, until: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    start = dt.datetime.combine(since, dt.time(), dt.UTC) if since else None
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC) if until else None
    return start, end


class IngestionService:
    def __init__(self, database: Database, publisher: EventPublisher, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock

    # -- customers ------------------------------------------------------------------------------

    async def upsert_customers(self, caller: Caller, customers: list[Customer]) -> int:
        caller.require_role(*WRITERS)
        check_batch_size(len(customers), MAX_UPSERT_BATCH, "customers")
        for position, customer in enumerate(customers):
            check_customer(customer, f"customers[{position}]" if len(customers) > 1 else "customer")
        _reject_repeated_ids([c.customer_id for c in customers], "customer_id")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await uow.customers.upsert_many(customers, self._clock())
            await uow.commit()
        return len(customers)

    async def get_customer(self, caller: Caller, customer_id: str) -> Customer:
        caller.require_role(*READERS)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            customer = await uow.customers.get(customer_id)
        if customer is None:
            raise not_found("customer", customer_id)
        return customer

    async def list_customers(self, caller: Caller, page: PageRequest) -> Page[Customer]:
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.customers.list_after(page.after, page.size + 1)
        return paginate(found, page, "customers", lambda c: c.customer_id)

    # -- accounts -------------------------------------------------------------------------------

    async def upsert_accounts(self, caller: Caller, accounts: list[Account]) -> int:
        caller.require_role(*WRITERS)
        check_batch_size(len(accounts), MAX_UPSERT_BATCH, "accounts")
        for position, account in enumerate(accounts):
            check_account(account, f"accounts[{position}]" if len(accounts) > 1 else "account")
        _reject_repeated_ids([a.account_id for a in accounts], "account_id")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            named = {c for a in accounts for c in [a.customer_id, *a.authorized_customer_ids]}
            missing = sorted(named - await uow.customers.existing_ids(named))
            if missing:
                raise FailedPrecondition(
                    "UNKNOWN_CUSTOMER", f"upsert the customers first: unknown {', '.join(missing[:10])}",
                    metadata={"customer_ids": ",".join(missing[:50])})
            await uow.accounts.upsert_many(accounts, self._clock())
            await uow.commit()
        return len(accounts)

    async def get_account(self, caller: Caller, account_id: str) -> Account:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            account = await uow.accounts.get(account_id)
            visible = account is not None and (
                not caller.is_user or await uow.accounts.is_party(account_id, caller.subject))
        if not visible:
            # A user asking for someone else's account learns no more than that it is not theirs.
            raise not_found("account", account_id)
        assert account is not None
        return account

    async def list_accounts(self, caller: Caller, customer_id: str | None, page: PageRequest) -> Page[Account]:
        caller.require_role(*READERS)
        if caller.is_user:
            customer_id = customer_id or caller.subject
            caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.accounts.list_after(page.after, page.size + 1, customer_id or None)
        return paginate(found, page, "accounts", lambda a: a.account_id)

    # -- holdings -------------------------------------------------------------------------------

    async def upsert_holdings(self, caller: Caller, holdings: list[Holding]) -> int:
        caller.require_role(*WRITERS)
        check_batch_size(len(holdings), MAX_UPSERT_BATCH, "holdings")
        for position, holding in enumerate(holdings):
            check_holding(holding, f"holdings[{position}]")
        _reject_repeated_ids([h.holding_id for h in holdings], "holding_id")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            customers = {h.customer_id for h in holdings if h.customer_id}
            missing = sorted(customers - await uow.customers.existing_ids(customers))
            accounts = {h.account_id for h in holdings if h.account_id}
            missing += sorted(accounts - set(await uow.accounts.currencies(accounts)))
            if missing:
                raise FailedPrecondition("UNKNOWN_CUSTOMER_OR_ACCOUNT",
                                         f"holdings name unknown customers or accounts: {', '.join(missing[:10])}")
            await uow.holdings.upsert_many(holdings, self._clock())
            await uow.commit()
        return len(holdings)

    async def list_holdings(self, caller: Caller, customer_id: str | None, page: PageRequest) -> Page[Holding]:
        caller.require_role(*READERS)
        if caller.is_user:
            customer_id = customer_id or caller.subject
            caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.holdings.list_after(page.after, page.size + 1, customer_id or None)
        return paginate(found, page, "holdings", lambda h: h.holding_id)

    # -- transactions ---------------------------------------------------------------------------

    async def ingest_transactions(self, caller: Caller, batch: list[Transaction | Rejection],
                                  first_index: int) -> BatchOutcome:
        """Stores one batch in one database transaction. `batch` holds the rows as the client sent
        them, already turned into domain objects, or Rejections where even that failed."""
        caller.require_role(*WRITERS)
        if len(batch) > MAX_TRANSACTION_BATCH:
            check_batch_size(len(batch), MAX_TRANSACTION_BATCH, "transactions")
        outcome = BatchOutcome()
        candidates: list[tuple[int, Transaction]] = []
        seen: set[str] = set()
        for offset, item in enumerate(batch):
            index = first_index + offset
            if isinstance(item, Rejection):
                outcome.rejected.append(item)
                continue
            reason = transaction_rejection_reason(item)
            if reason:
                outcome.rejected.append(Rejection(index, item.transaction_id, *reason))
            elif item.transaction_id in seen:
                outcome.duplicate += 1  # repeated inside the batch: the first one stands
            else:
                seen.add(item.transaction_id)
                candidates.append((index, item))
        if not candidates:
            return outcome

        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            currencies = await uow.accounts.currencies({t.account_id for _, t in candidates})
            storable = []
            for index, txn in candidates:
                currency = currencies.get(txn.account_id)
                if currency is None:
                    outcome.rejected.append(Rejection(index, txn.transaction_id, "UNKNOWN_ACCOUNT",
                                                      f"account '{txn.account_id}' does not exist"))
                elif currency != txn.currency:
                    outcome.rejected.append(Rejection(
                        index, txn.transaction_id, "CURRENCY_MISMATCH",
                        f"amount is in {txn.currency} but account '{txn.account_id}' is in {currency}"))
                else:
                    storable.append(txn)
            now = self._clock()
            inserted = await uow.transactions.insert_new_moving_balances(storable, now)
            outcome.duplicate += len(storable) - len(inserted)
            outcome.accepted_ids = [t.transaction_id for t in storable if t.transaction_id in inserted]
            outcome.accepted = len(outcome.accepted_ids)
            event_id = None
            if inserted:
                event_id = await uow.ingest_events.add(caller.tenant_id, outcome.accepted_ids, now)
            await uow.commit()
        outcome.rejected.sort(key=lambda r: r.index)
        if event_id is not None:
            await self._announce([event_id])
        return outcome

    async def _announce(self, event_ids: list[int]) -> None:
        try:
            await self._publisher.announce_ingest_events(event_ids)
        except Exception as exc:  # the queue is lossy by design: the outbox sweep re-sends
            log.warning("ingest_event_not_enqueued", event_ids=event_ids, error=str(exc))

    async def list_transactions(self, caller: Caller, account_id: str, since: dt.date | None,
                                until: dt.date | None, page: PageRequest) -> Page[Transaction]:
        await self.get_account(caller, account_id)  # existence and visibility
        start, end = _day_bounds(since, until)
        before = _cursor(page, lambda after: (dt.datetime.fromisoformat(after[0]), str(after[1])))
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.transactions.list_newest_first(account_id, since=start, until=end, before=before,
                                                             limit=page.size + 1)
        return paginate(found, page, "transactions", lambda t: [t.posted_at.isoformat(), t.transaction_id])

    # -- balances -------------------------------------------------------------------------------

    async def record_balances(self, caller: Caller, balances: list[DailyBalance | Rejection]) -> BatchOutcome:
        caller.require_role(*WRITERS)
        check_batch_size(len(balances), MAX_BALANCE_BATCH, "balances")
        outcome = BatchOutcome()
        candidates: dict[tuple[str, dt.date], tuple[int, DailyBalance]] = {}
        for index, item in enumerate(balances):
            if isinstance(item, Rejection):
                outcome.rejected.append(item)
                continue
            reason = balance_rejection_reason(item)
            if reason:
                outcome.rejected.append(Rejection(index, item.account_id, *reason))
            else:
                candidates[(item.account_id, item.date)] = (index, item)  # a later row for the day wins
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            currencies = await uow.accounts.currencies({b.account_id for _, b in candidates.values()})
            storable = []
            for index, balance in candidates.values():
                currency = currencies.get(balance.account_id)
                if currency is None:
                    outcome.rejected.append(Rejection(index, balance.account_id, "UNKNOWN_ACCOUNT",
                                                      f"account '{balance.account_id}' does not exist"))
                elif currency != balance.currency:
                    outcome.rejected.append(Rejection(index, balance.account_id, "CURRENCY_MISMATCH",
                                                      f"balance is in {balance.currency}, the account in {currency}"))
                else:
                    storable.append(balance)
            await uow.balances.upsert_many(storable)
            await uow.commit()
        outcome.accepted = len(storable)
        outcome.rejected.sort(key=lambda r: r.index)
        return outcome

    async def list_balances(self, caller: Caller, account_id: str, since: dt.date | None, until: dt.date | None,
                            page: PageRequest) -> Page[DailyBalance]:
        await self.get_account(caller, account_id)
        after = _cursor(page, dt.date.fromisoformat)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.balances.list_oldest_first(account_id, since=since, until=until, after=after,
                                                         limit=page.size + 1)
        return paginate(found, page, "balances", lambda b: b.date.isoformat())


def _cursor(page: PageRequest, parse):  # type: ignore[no-untyped-def]
    """Parses the key inside a page token; a token that decodes but does not parse is still invalid."""
    if page.after is None:
        return None
    try:
        return parse(page.after)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not one this list returned",
                              violations=[FieldViolation("page_token", "not a token of this list")]) from exc


def _reject_repeated_ids(ids: list[str], field_name: str) -> None:
    seen: set[str] = set()
    repeated = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if repeated:
        raise InvalidArgument("REPEATED_ID", f"{field_name} repeated in one request: {', '.join(repeated[:10])}",
                              violations=[FieldViolation(field_name, f"'{r}' appears more than once")
                                          for r in repeated[:10]])
