"""Ingestion use cases: the one place that stores what the bank feeds us."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from server.domain.auth import Caller, Role
from server.domain.date_ranges import day_bounds
from server.domain.errors import FailedPrecondition, not_found
from server.domain.events import (
    AccountsChanged,
    AuthorizationsRecorded,
    BalancesRecorded,
    CustomerAttributesChanged,
    HoldingChange,
    HoldingsChanged,
    Money,
    RecordedBalance,
    account_change,
    attribute_changes,
    unbooked_posting,
)
from server.domain.ingest.balances import move_balances
from server.domain.ingest.freshness import is_live
from server.domain.ingest.model import (
    Account,
    BatchOutcome,
    Customer,
    DailyBalance,
    Holding,
    IncomingTransaction,
    Rejection,
    Transaction,
    TransactionStatus,
)
from server.domain.ingest.validation import (
    balance_rejection_reason,
    check_account,
    check_batch_size,
    check_customer,
    check_holding,
    reject_repeated_ids,
    transaction_rejection_reason,
)
from server.domain.pagination import Page, PageRequest, page_key, paginate
from server.services.clock import Clock, utc_now
from server.services.events import EventPublisher, announce_committed
from server.store.db import Database
from server.store.repositories.balance_months import CoveredMonths, MonthBounds, month_bounds
from server.store.repositories.domain_events import WrittenEvents
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

MAX_UPSERT_BATCH = 5000
MAX_TRANSACTION_BATCH = 5000
MAX_BALANCE_BATCH = 20000
WRITERS = (Role.SERVICE,)
READERS = (Role.SERVICE, Role.BANK_ADMIN, Role.USER)


@dataclass
class PreparedBatch:
    """A batch of transactions checked for everything that needs no database, ready to store."""

    tenant_id: str
    backfill: bool = False  # history: stored, but announced to no real-time consumer
    outcome: BatchOutcome = field(default_factory=BatchOutcome)
    candidates: list[tuple[int, IncomingTransaction]] = field(default_factory=list)  # (index, row)


@dataclass
class StoreProgress:
    """How far the storing of one batch got, for the batch sent after it."""

    inserted: asyncio.Event = field(default_factory=asyncio.Event)  # its rows are in (or it ended)
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # committed, or failed
    failed: bool = False


class _PreviousBatchFailed(Exception):
    """The batch sent before this one failed: the stream stops there, as if this one was never sent."""


class TransactionStream:
    """The batches of one IngestTransactions stream, stored in the order they were sent. On PostgreSQL
    two are in flight: while one moves its balances and commits, the next inserts its rows (and the
    caller converts the one after), so the server, the database's two processes and the round trips
    overlap. Outcomes come back in order; a batch that fails stops the stream (nothing sent after it
    is kept)."""

    def __init__(self, service: IngestionService, caller: Caller, in_flight: int) -> None:
        self._service = service
        self._caller = caller
        self._in_flight = in_flight
        self._storing: deque[asyncio.Task[BatchOutcome]] = deque()
        self._last: StoreProgress | None = None

    async def add(self, batch: list[IncomingTransaction | Rejection], first_index: int,
                  backfill: bool = False) -> list[BatchOutcome]:
        """Starts storing the batch; returns the outcomes of earlier batches that had to finish first."""
        prepared = self._service.prepare_transactions(self._caller, batch, first_index, backfill)
        finished = []
        while len(self._storing) >= self._in_flight:
            finished.append(await self._storing.popleft())
        progress = StoreProgress()
        self._storing.append(asyncio.ensure_future(
            self._service.store_transactions(prepared, self._last, progress)))
        self._last = progress
        return finished

    async def finish(self) -> list[BatchOutcome]:
        """The outcomes of the batches still being stored."""
        finished = []
        while self._storing:
            finished.append(await self._storing.popleft())
        return finished

    async def close(self) -> None:
        """After a failure: lets every batch in flight end (committed or rolled back) before the call
        does; the stream's own error is the one reported."""
        if self._storing:
            await asyncio.wait(self._storing)
        for task in self._storing:
            if not task.cancelled():
                task.exception()
        self._storing.clear()


class IngestionService:
    def __init__(self, database: Database, publisher: EventPublisher, clock: Clock = utc_now,
                 live_window: dt.timedelta | None = None,
                 committed: Callable[[str, WrittenEvents], bool] | None = None, gather_seconds: float = 0.0) -> None:
        """`live_window`: a posting older than this is backfill even in a live batch (None: none is).
        `committed`: told the tenant and the events of each stored batch, as written, right after its
        commit, before they are announced (the server's in-process handlers: server.services.in_process);
        True when their jobs should start at once.
        `gather_seconds`: how much later the job of a stored batch's TransactionsPosted starts otherwise, so
        that it takes in the batches committed meanwhile (Settings.bus_gather_seconds)."""
        self._database = database
        self._publisher = publisher
        self._gather_seconds = gather_seconds
        self._committed = committed
        self._clock = clock
        self._live_window = live_window
        # The account months this process committed (account_balance_months): a batch writes only the others.
        self._covered_months = CoveredMonths()

    async def _ensure_statistics(self, *tables: str) -> None:
        """After a write: the tables it filled get planner statistics if they never had any."""
        analyzed = await self._database.planner_statistics.ensure(*tables)
        if analyzed:
            log.info("planner_statistics_gathered", tables=analyzed)

    # -- customers ------------------------------------------------------------------------------

    async def upsert_customers(self, caller: Caller, customers: list[Customer]) -> int:
        caller.require_role(*WRITERS)
        check_batch_size(len(customers), MAX_UPSERT_BATCH, "customers")
        for position, customer in enumerate(customers):
            check_customer(customer, f"customers[{position}]" if len(customers) > 1 else "customer")
        reject_repeated_ids([c.customer_id for c in customers], "customer_id")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            now = self._clock()
            before = await uow.customers.get_many({c.customer_id for c in customers}, for_update=True)
            await uow.customers.upsert_many(customers, now)
            changes = [change for c in customers if (change := attribute_changes(
                c.customer_id, before[c.customer_id].attributes if c.customer_id in before else None, c.attributes))]
            if changes:
                await uow.domain_events.add(caller.tenant_id, CustomerAttributesChanged(tuple(changes)), now)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        await self._ensure_statistics("customers")
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
        reject_repeated_ids([a.account_id for a in accounts], "account_id")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            named = {c for a in accounts for c in [a.customer_id, *a.authorized_customer_ids]}
            missing = sorted(named - await uow.customers.existing_ids(named))
            if missing:
                raise FailedPrecondition(
                    "UNKNOWN_CUSTOMER", f"upsert the customers first: unknown {', '.join(missing[:10])}",
                    metadata={"customer_ids": ",".join(missing[:50])})
            now = self._clock()
            before = {a.account_id: a for a in await uow.accounts.get_many({a.account_id for a in accounts})}
            await uow.accounts.upsert_many(accounts, now)
            changes = [change for a in accounts if (change := account_change(before.get(a.account_id), a))]
            if changes:
                await uow.domain_events.add(caller.tenant_id, AccountsChanged(tuple(changes)), now)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        await self._ensure_statistics("accounts", "account_parties")
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
        reject_repeated_ids([h.holding_id for h in holdings], "holding_id")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            customers = {h.customer_id for h in holdings if h.customer_id}
            missing = sorted(customers - await uow.customers.existing_ids(customers))
            accounts = {h.account_id for h in holdings if h.account_id}
            missing += sorted(accounts - set(await uow.accounts.currencies(accounts)))
            if missing:
                raise FailedPrecondition("UNKNOWN_CUSTOMER_OR_ACCOUNT",
                                         f"holdings name unknown customers or accounts: {', '.join(missing[:10])}")
            now = self._clock()
            known = await uow.holdings.get_many({h.holding_id for h in holdings})
            await uow.holdings.upsert_many(holdings, now)
            # Only what changed is news: a feed that repeats yesterday's holdings raises nothing.
            changes = tuple(HoldingChange(h.holding_id, h.customer_id, h.account_id, h.holding_id not in known)
                            for h in holdings if known.get(h.holding_id) != h)
            if changes:
                await uow.domain_events.add(caller.tenant_id, HoldingsChanged(changes), now)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        await self._ensure_statistics("holdings")
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

    def prepare_transactions(self, caller: Caller, batch: list[IncomingTransaction | Rejection],
                             first_index: int, backfill: bool = False) -> PreparedBatch:
        """Everything about one batch that needs no database: the caller's role, the batch size, each
        row's own validity and ids repeated inside the batch. `batch` holds the rows as the client sent
        them, already turned into domain objects, or Rejections where even that failed. `backfill`: the batch
is history (see server.domain.ingest.freshness)."""
        caller.require_role(*WRITERS)
        if len(batch) > MAX_TRANSACTION_BATCH:  # an empty message of a stream is allowed: only the upper bound
            check_batch_size(len(batch), MAX_TRANSACTION_BATCH, "transactions")
        prepared = PreparedBatch(caller.tenant_id, backfill)
        outcome = prepared.outcome
        seen: set[str] = set()
        for offset, item in enumerate(batch):
            if isinstance(item, Rejection):
                outcome.rejected.append(item)
                continue
            reason = transaction_rejection_reason(item)
            if reason:
                outcome.rejected.append(Rejection(first_index + offset, item.transaction_id, *reason))
            elif item.transaction_id in seen:
                outcome.duplicate += 1  # repeated inside the batch: the first one stands
            else:
                seen.add(item.transaction_id)
                prepared.candidates.append((first_index + offset, item))
        return prepared

    def transaction_stream(self, caller: Caller) -> TransactionStream:
        """One IngestTransactions stream of batches (see TransactionStream)."""
        # SQLite has one writer at a time (and a transaction that read before another committed may not
        # write): its batches are stored strictly one after the other.
        return TransactionStream(self, caller, in_flight=2 if self._database.dialect == "postgresql" else 1)

    async def store_transactions(self, prepared: PreparedBatch, previous: StoreProgress | None = None,
                                 progress: StoreProgress | None = None) -> BatchOutcome:
        """Stores a prepared batch in one database transaction: ids already stored are duplicates, rows
        of unknown accounts or in another currency are rejected, and so are rows that would take their
        account's balance out of the storable range (BALANCE_OUT_OF_RANGE); the rest is inserted and moves
        its accounts' balances, and its live rows are announced through the outbox. With `previous` (the
        batch sent before, still being stored) the rows are inserted only once that batch's are, so that a
        transaction id sent twice is stored as first sent, and committed only once that batch is, so that
        nothing sent after a batch that failed is kept; `progress` tells the next batch the same."""
        progress = progress or StoreProgress()
        try:
            outcome, written = await self._store(prepared, previous, progress)
        except BaseException:
            progress.failed = True
            raise
        finally:
            progress.inserted.set()
            progress.ended.set()
        if written:
            # Urgent: the server's own run of trigger_rules was wanted but busy, so a banner waits for the job.
            urgent = self._committed is not None and self._committed(prepared.tenant_id, written)
            await announce_committed(self._publisher, list(written),
                                     gather_seconds=0.0 if urgent else self._gather_seconds)
        if outcome.accepted:
            await self._ensure_statistics("transactions", "account_balance_months")
        return outcome

    async def _store(self, prepared: PreparedBatch, previous: StoreProgress | None,
                     progress: StoreProgress) -> tuple[BatchOutcome, WrittenEvents]:
        """The outcome, and the outbox events that announce the accepted rows, as written: one of the live
        rows, one of the backfill rows (each only when there are such rows)."""
        outcome = prepared.outcome
        candidates = prepared.candidates
        event_ids: list[int] = []
        months: MonthBounds = {}
        if not candidates:
            return outcome, {}
        async with UnitOfWork(self._database, prepared.tenant_id) as uow:
            currencies = await uow.accounts.currencies({t.account_id for _, t in candidates})
            storable: list[tuple[int, IncomingTransaction]] = []
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
                    storable.append((index, txn))
            # Only BOOKED rows are postings: PENDING and DECLINED ones are kept apart and move nothing
            # (docs/services/ingest.md#transaction-status).
            unbooked = [(i, t) for i, t in storable if t.status is not TransactionStatus.BOOKED]
            if unbooked:
                storable = [(i, t) for i, t in storable if t.status is TransactionStatus.BOOKED]
            if previous is not None:
                await previous.inserted.wait()
                if previous.failed:
                    raise _PreviousBatchFailed
            now = self._clock()
            inserted = await uow.transactions.insert_new([t for _, t in storable], now)
            progress.inserted.set()
            outcome.duplicate += len(storable) - len(inserted)
            accepted = [(i, t) for i, t in storable if t.transaction_id in inserted]
            if previous is not None:
                # Before taking any account lock: a batch never holds one while it waits for another.
                await previous.ended.wait()
                if previous.failed:
                    raise _PreviousBatchFailed
            # Read only now, after the batch before committed: its PENDING rows are visible. One read for
            # the booked rows and the PENDING or DECLINED ones.
            authorized = await uow.transactions.authorization_statuses(
                [t.transaction_id for _, t in accepted] + [t.transaction_id for _, t in unbooked])
            if authorized:
                # A DECLINED id stays taken: booking it again is a duplicate (its row just inserted goes).
                declined = [t.transaction_id for _, t in accepted
                            if authorized.get(t.transaction_id) is TransactionStatus.DECLINED]
                if declined:
                    await uow.transactions.delete_ids(declined)
                    outcome.duplicate += len(declined)
                    taken = set(declined)
                    accepted = [(i, t) for i, t in accepted if t.transaction_id not in taken]
            kept_unbooked = await self._keep_unbooked(uow, unbooked, authorized, outcome, now)
            if accepted or kept_unbooked:
                # Locks the accounts in id order: batches stored at the same time (other streams) wait
                # for each other here instead of deadlocking. The balances read under the lock decide
                # which rows fit; a row that does not is taken out again (it was inserted just now).
                balances, holders = await uow.accounts.lock_balances(
                    {t.account_id for _, t in accepted} | {t.account_id for t in kept_unbooked})
                moves = move_balances(balances, accepted)
                if moves.rejected:
                    await uow.transactions.delete_ids([r.item_id for r in moves.rejected])
                    outcome.rejected += moves.rejected
                    refused = {r.item_id for r in moves.rejected}
                    accepted = [(i, t) for i, t in accepted if t.transaction_id not in refused]
                await uow.accounts.add_to_balances(moves.deltas, now)
                # The backtest's month bounds (server.store.repositories.balance_months), after the accounts.
                months = self._covered_months.not_covered(prepared.tenant_id, month_bounds(t for _, t in accepted))
                await uow.transactions.summarize(months)
                # PENDING rows of transactions booked now leave (the booked row took their place).
                pending = TransactionStatus.PENDING
                await uow.transactions.forget_pending([t.transaction_id for _, t in accepted
                                                       if authorized.get(t.transaction_id) is pending])
            outcome.accepted_ids = [t.transaction_id for _, t in accepted] + [t.transaction_id for t in kept_unbooked]
            outcome.accepted = len(accepted) + len(kept_unbooked)
            outcome.rejected.sort(key=lambda r: r.index)
            # The one place that tells news from history: backfill moves the balances above like any
            # posting, and is announced apart (live=False): what derives state from balances (goal
            # allocations) reacts to it, what tells a customer news (EVENT insights, alerts, messages)
            # returns at once. The events are written under the accounts' locks: per account, event ids
            # rise in commit order.
            live: list[IncomingTransaction] = []
            history: list[IncomingTransaction] = []
            for _, t in accepted:
                if t.posted_at is not None and is_live(prepared.backfill, t.posted_at, now, self._live_window):
                    live.append(t)
                else:
                    history.append(t)
            for postings, is_news in ((live, True), (history, False)):
                if postings:
                    event_ids.append(await uow.domain_events.add_transactions_posted(
                        prepared.tenant_id, postings, holders, moves.current_after, now, live=is_news))
            news = [t for t in kept_unbooked
                    if t.posted_at is not None and is_live(prepared.backfill, t.posted_at, now, self._live_window)]
            if news:
                # Each with its account's current balance as this batch leaves it (they moved none of it).
                current = {a: balance + moves.deltas.get(a, 0) for a, (balance, _) in balances.items()}
                event_ids.append(await uow.domain_events.add(prepared.tenant_id, AuthorizationsRecorded(tuple(
                    unbooked_posting(t, holders[t.account_id], current[t.account_id]) for t in news)), now))
            await uow.commit()
        self._covered_months.remember(prepared.tenant_id, months)
        return outcome, {event_id: uow.domain_events.written[event_id] for event_id in event_ids}

    async def _keep_unbooked(self, uow: UnitOfWork, unbooked: list[tuple[int, IncomingTransaction]],
                             known: dict[str, TransactionStatus], outcome: BatchOutcome, now: dt.datetime
                             ) -> list[IncomingTransaction]:
        """Stores a batch's PENDING and DECLINED rows, `known` the statuses of those kept before; returns
        those kept or changed (news). An id booked before, or already kept, is a duplicate, except a
        PENDING one sent now as DECLINED: it is declined."""
        if not unbooked:
            return []
        booked = await uow.transactions.existing_ids([t.transaction_id for _, t in unbooked])
        new: list[IncomingTransaction] = []
        declined: list[IncomingTransaction] = []
        for _, t in unbooked:
            if t.transaction_id in booked:
                outcome.duplicate += 1
            elif t.transaction_id not in known:
                new.append(t)
            elif known[t.transaction_id] is TransactionStatus.PENDING and t.status is TransactionStatus.DECLINED:
                declined.append(t)
            else:
                outcome.duplicate += 1
        await uow.transactions.add_authorizations(new, now)
        await uow.transactions.decline_pending([t.transaction_id for t in declined], now)
        return new + declined

    async def list_transactions(self, caller: Caller, account_id: str, since: dt.date | None,
                                until: dt.date | None, page: PageRequest,
                                status: TransactionStatus = TransactionStatus.BOOKED) -> Page[Transaction]:
        """The booked transactions, or (status PENDING or DECLINED) those kept apart, newest first."""
        await self.get_account(caller, account_id)  # existence and visibility
        start, end = day_bounds(since, until)
        before = page_key(page, lambda after: (dt.datetime.fromisoformat(after[0]), str(after[1])))
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if status is TransactionStatus.BOOKED:
                found = await uow.transactions.list_newest_first(account_id, since=start, until=end, before=before,
                                                                 limit=page.size + 1)
            else:
                found = await uow.transactions.list_authorizations_newest_first(
                    account_id, status, since=start, until=end, before=before, limit=page.size + 1)
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
            if storable:
                await uow.domain_events.add(caller.tenant_id, BalancesRecorded(tuple(
                    RecordedBalance(b.account_id, b.date, Money(b.balance, b.currency)) for b in storable)),
                    self._clock())
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        await self._ensure_statistics("daily_balances")
        outcome.accepted = len(storable)
        outcome.rejected.sort(key=lambda r: r.index)
        return outcome

    async def list_balances(self, caller: Caller, account_id: str, since: dt.date | None, until: dt.date | None,
                            page: PageRequest) -> Page[DailyBalance]:
        await self.get_account(caller, account_id)
        after = page_key(page, dt.date.fromisoformat)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.balances.list_oldest_first(account_id, since=since, until=until, after=after,
                                                         limit=page.size + 1)
        return paginate(found, page, "balances", lambda b: b.date.isoformat())
