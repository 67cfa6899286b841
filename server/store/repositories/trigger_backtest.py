"""What a backtest reads (server.services.triggers.backtest): the audience's customers a page at a time,
their deposit (BANK) accounts, and those accounts' stored transactions and fed end-of-day balances
for a span of days. Each read is one statement over a whole page of customers or accounts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Select,
    String,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
    values,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from server.domain.money import from_scaled
from server.domain.personas.audiences import Selection
from server.domain.segments.expression import Comparator
from server.domain.triggers.prefilter import COMPARISONS
from server.store.audience_sql import selection_condition
from server.store.driver import dialect_of, fetch_sql
from server.store.models import AccountRow, DailyBalanceRow, TransactionRow
from server.store.repositories.base import TenantRepository
from server.store.types import UTCDateTime

DEPOSIT = "BANK"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)  # the container whose balances trigger conditions read


@dataclass(frozen=True)
class BacktestAccount:
    account_id: str
    customer_id: str
    account_type: str
    currency: str
    balance: Decimal
    available_balance: Decimal


class StoredPosting(NamedTuple):
    """A stored transaction as read, its amounts left in whole ten-thousandths (server.store.types.
    ScaledAmount): the backtest turns into Decimals only the postings it replays."""

    transaction_id: str
    signed_scaled: int
    direction: str
    currency: str
    posted_at: dt.datetime
    running_scaled: int | None
    category: str
    description: str


class PostingColumns(NamedTuple):
    """What a balance condition reads of a page's stored transactions, as columns in posting order: each
    row's account (its place in the limits given), id (None: not asked for), posted_at in microseconds since
    1970 UTC, signed amount and running balance (0 where none is stored, `stored` False) in whole
    ten-thousandths (numpy arrays as PostgreSQL's are read)."""

    account: Sequence[int] | npt.NDArray[np.int64]
    transaction_id: Sequence[str] | None  # None: not read
    micros: Sequence[int] | npt.NDArray[np.int64]
    signed_scaled: Sequence[int] | npt.NDArray[np.int64]
    running_scaled: Sequence[int] | npt.NDArray[np.int64]
    stored: Sequence[bool] | npt.NDArray[np.bool_]


class FirstPosting(NamedTuple):
    signed_scaled: int
    running_scaled: int | None


@dataclass(frozen=True)
class PageAccounts:
    """What a backtest reads of a page's deposit accounts before their postings (page_accounts): the accounts,
    in id order; of each, its latest fed balance (day, balance) for a day before the warm-up and its latest
    posting time before the span, its first posting in the span, and its fed balances for the days of the
    warm-up and the period, ascending (accounts without one left out of each)."""

    accounts: list[BacktestAccount]
    fed_before: dict[str, tuple[dt.date, Decimal]]
    posted_before: dict[str, dt.datetime]
    firsts: dict[str, FirstPosting]
    fed: dict[str, list[tuple[dt.date, Decimal]]]


_SIGNED = type_coerce(TransactionRow.signed_amount, BigInteger)
_RUNNING = type_coerce(TransactionRow.running_balance, BigInteger)
# Posting order within an account: time, then id (ids as the ingest numbers them: shorter first).
_POSTING_ORDER = (TransactionRow.posted_at, func.length(TransactionRow.transaction_id), TransactionRow.transaction_id)


# posting_columns on PostgreSQL: each account's limit from two arrays; one row, the postings in posting order
# as packed records (_PACKED_POSTING, each value in its binary send form) and their ids. A row per posting cost
# the driver and the interpreter more than the statement cost the database.
_POSTING_ORDER_SQL = "l.n, t.posted_at, length(t.transaction_id), t.transaction_id"
_PACKED_POSTINGS = f"""string_agg(
  int4send((l.n - 1)::int4) || timestamptz_send(t.posted_at) || int8send(t.signed_amount)
  || int8send(coalesce(t.running_balance, 0)) || boolsend(t.running_balance IS NOT NULL), ''
  ORDER BY {_POSTING_ORDER_SQL})"""
_POSTINGS_LIMITED = """
FROM unnest($2::text[], $3::timestamptz[]) WITH ORDINALITY AS l(account_id, until, n)
JOIN transactions t ON t.tenant_id = $1 AND t.account_id = l.account_id AND t.posted_at >= $4
  AND t.posted_at < l.until"""
_POSTING_COLUMNS = (f"SELECT {_PACKED_POSTINGS}, array_agg(t.transaction_id ORDER BY {_POSTING_ORDER_SQL})"
                    f"{_POSTINGS_LIMITED}")
# The ids cost a third of the statement (a second ordered aggregate, an array of text): only asked for when needed.
_POSTING_COLUMNS_WITHOUT_IDS = f"SELECT {_PACKED_POSTINGS}, NULL::text[]{_POSTINGS_LIMITED}"
# A timestamptz is sent as microseconds since 2000-01-01 00:00 UTC.
_PACKED_POSTING = np.dtype([("account", ">i4"), ("micros_since_2000", ">i8"), ("signed", ">i8"), ("running", ">i8"),
                            ("stored", "?")])
_MICROS_1970_TO_2000 = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // _MICROSECOND

# page_accounts on PostgreSQL, one statement: each account's latest fed balance before the warm-up, latest posting
# before the span and first posting in it are each one probe of their index (an aggregate over a page's rows
# before the span would read all its history); its fed balances as two arrays. $3 the warm-up's first day,
# [$4, $5) the span, [$3, $6] the fed balances' days.
_PAGE_ACCOUNTS = """
SELECT a.account_id, a.customer_id, a.account_type, a.currency, a.current_balance, a.available_balance,
  fed_before.balance_date, fed_before.balance,
  (SELECT e.posted_at FROM transactions e
   WHERE e.tenant_id = $1 AND e.account_id = a.account_id AND e.posted_at < $4
   ORDER BY e.posted_at DESC LIMIT 1),
  first.signed_amount, first.running_balance,
  fed.days, fed.balances
FROM accounts a
LEFT JOIN LATERAL (SELECT d.balance_date, d.balance FROM daily_balances d
                   WHERE d.tenant_id = $1 AND d.account_id = a.account_id AND d.balance_date < $3
                   ORDER BY d.balance_date DESC LIMIT 1) AS fed_before ON true
LEFT JOIN LATERAL (SELECT t.signed_amount, t.running_balance FROM transactions t
                   WHERE t.tenant_id = $1 AND t.account_id = a.account_id AND t.posted_at >= $4 AND t.posted_at < $5
                   ORDER BY t.posted_at, length(t.transaction_id), t.transaction_id LIMIT 1) AS first ON true
LEFT JOIN LATERAL (SELECT array_agg(d.balance_date ORDER BY d.balance_date) AS days,
                          array_agg(d.balance ORDER BY d.balance_date) AS balances
                   FROM daily_balances d
                   WHERE d.tenant_id = $1 AND d.account_id = a.account_id AND d.balance_date >= $3
                     AND d.balance_date <= $6) AS fed ON true
WHERE a.tenant_id = $1 AND a.container = 'BANK' AND a.customer_id = ANY($2::text[])
ORDER BY a.account_id"""

# first_postings on PostgreSQL: each account's earliest time is one probe of the (tenant, account, posted_at)
# index, not an aggregate over every row of the span; the first of the postings at that time.
_FIRST_POSTINGS = """
SELECT DISTINCT ON (t.account_id) t.account_id, t.signed_amount, t.running_balance
FROM unnest($2::text[]) AS a(account_id)
CROSS JOIN LATERAL (SELECT min(e.posted_at) AS at FROM transactions e
                    WHERE e.tenant_id = $1 AND e.account_id = a.account_id AND e.posted_at >= $3
                      AND e.posted_at < $4) AS earliest
JOIN transactions t ON t.tenant_id = $1 AND t.account_id = a.account_id AND t.posted_at = earliest.at
ORDER BY t.account_id, length(t.transaction_id), t.transaction_id"""


class TriggerBacktestRepository(TenantRepository):
    # Whether threshold_days on PostgreSQL reads of each account only the postings of its last month that can
    # pass, as account_balance_months bounds them; False: the aggregate over every posting (tests compare them).
    by_month = True

    async def connected(self) -> bool:
        """Whether the session has (or could take from the pool in its wait) a connection: a backtest reads on
        a second session only when one is free, never holding one while it waits for another for long."""
        try:
            await self.session.connection()
        except PoolTimeout:
            return False
        return True

    async def customers_after(self, after: str | None, limit: int, *, customer_ids: Collection[str] | None = None,
                              selection: Selection | str | None = None) -> list[str]:
        """The next `limit` customers by id who own a deposit account: of `customer_ids` when given, taken
        by `selection` (a persona id, or an audience's) when given, else all."""
        query = select(AccountRow.customer_id).distinct().where(
            AccountRow.tenant_id == self.tenant_id, AccountRow.container == DEPOSIT)
        if customer_ids is not None:
            if not customer_ids:
                return []
            query = query.where(self.one_of(AccountRow.customer_id, customer_ids))
        if selection is not None:
            query = query.where(selection_condition(self.tenant_id, selection, AccountRow.customer_id))
        if after is not None:
            query = query.where(AccountRow.customer_id > after)
        return list(await self.session.scalars(query.order_by(AccountRow.customer_id).limit(limit)))

    async def within_plans(self) -> None:
        """Plans this unit of work's statements without PostgreSQL's JIT compilation: a page's aggregate over
        its year of postings is estimated just over jit_above_cost, and compiling it took about as long as
        running it, every page."""
        if dialect_of(self.session).name == "postgresql":
            await self.session.execute(select(func.set_config("jit", "off", True)))

    async def page_accounts(self, customer_ids: Collection[str], warm_up: dt.date, since: dt.datetime,
                            until: dt.datetime, fed_until: dt.date) -> PageAccounts:
        """The customers' deposit accounts and what the backtest reads of each before its postings (PageAccounts):
        the latest fed balance for a day before `warm_up`, the latest posting before `since`, the first posting in
        [since, until) and the fed balances for the days in [warm_up, fed_until]."""
        if dialect_of(self.session).name != "postgresql":
            accounts = await self.deposit_accounts(customer_ids)
            ids = [a.account_id for a in accounts]
            return PageAccounts(accounts, await self.latest_fed_before(ids, warm_up),
                                await self.latest_posted_before(ids, since),
                                await self.first_postings(ids, since, until),
                                await self.fed_balances(ids, warm_up, fed_until))
        page = PageAccounts([], {}, {}, {}, {})
        for (account_id, customer_id, account_type, currency, balance, available, fed_day, fed_balance, posted_before,
             first_signed, first_running, fed_days, fed_balances) in await fetch_sql(
                self.session, _PAGE_ACCOUNTS, self.tenant_id, list(customer_ids), warm_up, since, until, fed_until):
            page.accounts.append(BacktestAccount(account_id, customer_id, account_type, currency, from_scaled(balance),
                                                 from_scaled(available)))
            if fed_day is not None:
                page.fed_before[account_id] = (fed_day, from_scaled(fed_balance))
            if posted_before is not None:
                page.posted_before[account_id] = posted_before
            if first_signed is not None:  # the amount is never NULL: a first posting was found
                page.firsts[account_id] = FirstPosting(first_signed, first_running)
            if fed_days is not None:
                page.fed[account_id] = [(day, from_scaled(value)) for day, value in zip(fed_days, fed_balances,
                                                                                           strict=True)]
        return page

    async def deposit_accounts(self, customer_ids: Collection[str]) -> list[BacktestAccount]:
        rows = await self.session.execute(select(
            AccountRow.account_id, AccountRow.customer_id, AccountRow.account_type, AccountRow.currency,
            AccountRow.current_balance, AccountRow.available_balance).where(
            AccountRow.tenant_id == self.tenant_id, AccountRow.container == DEPOSIT,
            self.one_of(AccountRow.customer_id, customer_ids)).order_by(AccountRow.account_id))
        return [BacktestAccount(*r) for r in rows]

    async def postings(self, limits: Mapping[str, dt.datetime], since: dt.datetime) -> dict[str, list[StoredPosting]]:
        """Each account's transactions posted in [since, its limit), in posting order (time, then id). Read as
        plain rows on the session's connection: the ORM's row handling and a Decimal per amount were a
        third of a backtest's time, for postings most of which the pre-filter leaves out."""
        found: dict[str, list[StoredPosting]] = defaultdict(list)
        if not limits:
            return found
        t = TransactionRow
        query = self._within_limits(select(t.account_id, t.transaction_id, _SIGNED, t.direction, t.currency,
                                           t.posted_at, _RUNNING, t.category, t.description), limits, since)
        connection = await self.session.connection()
        rows = await connection.execute(query.order_by(TransactionRow.account_id, *_POSTING_ORDER))
        for row in rows:
            found[row[0]].append(StoredPosting(*row[1:]))
        return found

    async def posting_columns(self, limits: Mapping[str, dt.datetime], since: dt.datetime, *, with_ids: bool = True
                              ) -> PostingColumns:
        """postings() for a condition that reads balances only, as columns: the transactions of each account
        posted in [since, its limit), account by account in the limits' order, each in posting order; their
        ids only `with_ids`."""
        if not limits:
            return PostingColumns((), () if with_ids else None, (), (), (), ())
        if dialect_of(self.session).name == "postgresql":
            # Packed by the database, unpacked by numpy: no Python object per posting but its id.
            [(packed, transaction_ids)] = await fetch_sql(
                self.session, _POSTING_COLUMNS if with_ids else _POSTING_COLUMNS_WITHOUT_IDS, self.tenant_id,
                list(limits), list(limits.values()), since)
            if packed is None:
                return PostingColumns((), () if with_ids else None, (), (), (), ())
            postings = np.frombuffer(packed, _PACKED_POSTING)
            return PostingColumns(postings["account"].astype(np.int64), transaction_ids,
                                  postings["micros_since_2000"].astype(np.int64) + _MICROS_1970_TO_2000,
                                  postings["signed"].astype(np.int64), postings["running"].astype(np.int64),
                                  postings["stored"].copy())
        t = TransactionRow
        place = {account_id: n for n, account_id in enumerate(limits)}
        query = self._within_limits(select(t.account_id, t.transaction_id, t.posted_at, _SIGNED, _RUNNING), limits,
                                    since)
        connection = await self.session.connection()
        rows = sorted(((place[account_id], *rest) for account_id, *rest in
                       await connection.execute(query.order_by(t.account_id, *_POSTING_ORDER))),
                      key=lambda row: row[0])  # stable: each account's rows stay in posting order
        return PostingColumns([row[0] for row in rows], [row[1] for row in rows] if with_ids else None,
                              [(row[2] - _EPOCH) // _MICROSECOND for row in rows],
                              [row[3] for row in rows], [row[4] or 0 for row in rows],
                              [row[4] is not None for row in rows])

    def _within_limits(self, query: Any, limits: Mapping[str, dt.datetime], since: dt.datetime) -> Any:
        """`query` of transactions narrowed to each account's posted in [since, its limit). On PostgreSQL the
        limits are two array parameters (unnest), which compile once, not a VALUES list of a row each."""
        t = TransactionRow
        query = query.where(t.tenant_id == self.tenant_id, self.one_of(t.account_id, list(limits)),
                            t.posted_at >= since, t.posted_at < max(limits.values()))
        if len(set(limits.values())) == 1:
            return query
        until: Any
        if dialect_of(self.session).name == "postgresql":
            until = func.unnest(bindparam("limit_accounts", list(limits), type_=postgresql.ARRAY(String)),
                                bindparam("limit_times", list(limits.values()),
                                          type_=postgresql.ARRAY(DateTime(timezone=True)))
                                ).table_valued("account_id", "until").render_derived(name="limits")
        else:
            until = values(column("account_id", String), column("until", UTCDateTime()), name="limits").data(
                list(limits.items())).cte()
        return query.join(until, (until.c.account_id == t.account_id) & (t.posted_at < until.c.until))

    async def first_postings(self, account_ids: Collection[str], since: dt.datetime, until: dt.datetime
                             ) -> dict[str, FirstPosting]:
        """Each account's first transaction posted in [since, until), in posting order (accounts without one
        left out)."""
        if dialect_of(self.session).name == "postgresql":
            firsts = await fetch_sql(self.session, _FIRST_POSTINGS, self.tenant_id, list(account_ids), since, until)
            return {account_id: FirstPosting(signed, running) for account_id, signed, running in firsts}
        t = TransactionRow
        earliest = select(t.account_id, func.min(t.posted_at).label("at")).where(
            t.tenant_id == self.tenant_id, self.one_of(t.account_id, account_ids), t.posted_at >= since,
            t.posted_at < until).group_by(t.account_id).subquery()
        # The postings at each account's earliest time, the first of them first (no sort of the whole span).
        rows = await self.session.execute(select(t.account_id, _SIGNED, _RUNNING).join(
            earliest, (t.account_id == earliest.c.account_id) & (t.posted_at == earliest.c.at)).where(
            t.tenant_id == self.tenant_id).order_by(t.account_id, *_POSTING_ORDER[1:]))
        found: dict[str, FirstPosting] = {}
        for account_id, signed, running in rows:
            found.setdefault(account_id, FirstPosting(signed, running))
        return found

    async def threshold_days(self, openings: Mapping[str, tuple[int, dt.date]], tests: Sequence[tuple[Comparator, int]],
                             since: dt.datetime, until: dt.datetime, fed_since: dt.date, fed_until: dt.date
                             ) -> dict[str, list[tuple[dt.date | None, dt.date | None]]]:
        """For each account (its opening balance, scaled, and the day it counts on) and each test (a comparator
        and a scaled threshold): the last day holding a balance value that passes the test, and the booking day
        of the first posting after that day (server.domain.triggers.prefilter: its values are the opening, each
        posting in [since, until)'s balance after and before it, and each fed balance in [fed_since,
        fed_until]). A posting's balance after it is its running balance when stored, else the previous one
        plus its amount. Every account is first read as if each of its postings stored its running balance,
        which needs no ordering of the rows; an account with a posting that does not is read again in posting
        order (balances_in_order)."""
        if not openings:
            return {}
        ids = list(openings)
        if dialect_of(self.session).name == "postgresql" and self.by_month:
            found, whole = await self._threshold_days_by_month(openings, tests, since, until, fed_since, fed_until)
            missing: list[str] = []
            if whole:
                again, missing = await self._threshold_days_as_stored(
                    {account_id: openings[account_id] for account_id in whole}, tests, since, until, fed_since,
                    fed_until)
                found.update(again)
        elif dialect_of(self.session).name == "postgresql":
            found, missing = await self._threshold_days_as_stored(openings, tests, since, until, fed_since, fed_until)
        else:
            found, missing = await self._threshold_days(self._balances_as_stored(ids, since, until), ids,
                                                        _opening_values(openings), tests, fed_since, fed_until)
        if missing:
            opening = _opening_values({account_id: openings[account_id] for account_id in missing})
            again, _ = await self._threshold_days(self._balances_in_order(missing, opening, since, until), missing,
                                                  opening, tests, fed_since, fed_until)
            found.update(again)
        return found

    async def _threshold_days_as_stored(self, openings: Mapping[str, tuple[int, dt.date]],
                                        tests: Sequence[tuple[Comparator, int]], since: dt.datetime,
                                        until: dt.datetime, fed_since: dt.date, fed_until: dt.date
                                        ) -> tuple[dict[str, list[tuple[dt.date | None, dt.date | None]]], list[str]]:
        """threshold_days' first read on PostgreSQL, as _threshold_days(_balances_as_stored) gives it: each
        test's last day by one aggregate over the rows (no window, so no sort of them), then the first posting
        after it by one probe of the (tenant, account, posted_at) index per account and test."""
        rows = await fetch_sql(
            self.session, _threshold_days_sql(tuple(comparator for comparator, _ in tests)), self.tenant_id,
            list(openings), [balance for balance, _ in openings.values()], [day for _, day in openings.values()],
            since, until, fed_since, fed_until, *(threshold for _, threshold in tests))
        found = {row[0]: [(row[2 + 2 * n], row[3 + 2 * n]) for n in range(len(tests))] for row in rows}
        return found, [row[0] for row in rows if row[1]]

    async def _threshold_days_by_month(self, openings: Mapping[str, tuple[int, dt.date]],
                                       tests: Sequence[tuple[Comparator, int]], since: dt.datetime,
                                       until: dt.datetime, fed_since: dt.date, fed_until: dt.date
                                       ) -> tuple[dict[str, list[tuple[dt.date | None, dt.date | None]]], list[str]]:
        """threshold_days' first read on PostgreSQL with account_balance_months: each test's last passing posting
        looked for only in the account's last month whose bounds can pass (a probe of the (tenant, account,
        posted_at) index over that month), then the first posting after the day as _threshold_days_as_stored
        finds it. Also the accounts to read whole instead (_threshold_days_as_stored): those with a month in the
        span whose bounds do not cover every posting (one without a running balance), and those whose month
        holds no passing posting in the span (the bounds were wider, or the passing postings are outside it)."""
        rows = await fetch_sql(
            self.session, _threshold_days_by_month_sql(tuple(comparator for comparator, _ in tests)), self.tenant_id,
            list(openings), [balance for balance, _ in openings.values()], [day for _, day in openings.values()],
            since, until, fed_since, fed_until, *(threshold for _, threshold in tests))
        found: dict[str, list[tuple[dt.date | None, dt.date | None]]] = {}
        whole = []
        for row in rows:
            if row[1]:
                whole.append(row[0])
            else:
                found[row[0]] = [(row[2 + 2 * n], row[3 + 2 * n]) for n in range(len(tests))]
        return found, whole

    def _booking_day(self, at: Any) -> ColumnElement[Any]:
        if dialect_of(self.session).name == "postgresql":
            return cast(func.timezone("UTC", at), Date)
        return func.date(at)  # SQLite keeps naive UTC text

    def _balances_as_stored(self, account_ids: list[str], since: dt.datetime, until: dt.datetime) -> Select[Any]:
        """Each posting's (account, booking day, balance after, balance before, whether its running balance is
        missing), the balances its running balance gives (none when it is missing)."""
        t = TransactionRow
        return select(t.account_id, self._booking_day(t.posted_at).label("day"), _RUNNING.label("after"),
                      (_RUNNING - _SIGNED).label("before"), case((_RUNNING.is_(None), 1), else_=0).label("missing")
                      ).where(t.tenant_id == self.tenant_id, self.one_of(t.account_id, account_ids),
                              t.posted_at >= since, t.posted_at < until)

    def _balances_in_order(self, account_ids: list[str], opening: CTE, since: dt.datetime, until: dt.datetime
                           ) -> Select[Any]:
        """What _balances_as_stored gives, each posting's balance after it carried from the previous one when its
        running balance is missing: the postings after each stored running balance (or from the first, the
        opening) make a group, whose balances are that group's start plus the amounts summed so far."""
        t = TransactionRow
        moves = select(
            t.account_id, self._booking_day(t.posted_at).label("day"), _SIGNED.label("amount"),
            _RUNNING.label("running"),
            func.count(_RUNNING).over(partition_by=t.account_id, order_by=_POSTING_ORDER, rows=(None, 0)).label("grp"),
            func.row_number().over(partition_by=t.account_id, order_by=_POSTING_ORDER).label("n")).where(
            t.tenant_id == self.tenant_id, self.one_of(t.account_id, account_ids), t.posted_at >= since,
            t.posted_at < until).subquery("moves")
        m = moves.c
        group = (m.account_id, m.grp)
        after = (func.coalesce(func.max(m.running).over(partition_by=group), opening.c.balance)
                 + cast(func.sum(case((m.running.is_(None), m.amount), else_=0)).over(
                     partition_by=group, order_by=m.n, rows=(None, 0)), BigInteger))  # PostgreSQL sums to numeric
        balances = select(m.account_id, m.day, after.label("after"), m.amount).join(
            opening, opening.c.account_id == m.account_id).subquery("balances")
        b = balances.c
        return select(b.account_id, b.day, b.after, (b.after - b.amount).label("before"), literal(0).label("missing"))

    async def _threshold_days(self, postings: Select[Any], account_ids: list[str], opening: CTE,
                              tests: Sequence[tuple[Comparator, int]], fed_since: dt.date, fed_until: dt.date
                              ) -> tuple[dict[str, list[tuple[dt.date | None, dt.date | None]]], list[str]]:
        """threshold_days from `postings` (a _balances_ select), and the accounts with a posting whose running
        balance is missing."""
        d = DailyBalanceRow
        fed = type_coerce(d.balance, BigInteger)
        candidates = union_all(
            postings.add_columns(literal(1).label("posting")),
            select(d.account_id, d.balance_date, fed, fed, literal(0), literal(0)).where(
                d.tenant_id == self.tenant_id, self.one_of(d.account_id, account_ids), d.balance_date >= fed_since,
                d.balance_date <= fed_until),
            select(opening.c.account_id, opening.c.day, opening.c.balance, opening.c.balance, literal(0), literal(0))
        ).subquery("candidates")
        c = candidates.c
        marked = select(c.account_id, c.day, c.posting, c.missing, *(
            func.max(case((or_(COMPARISONS[comparator](c.after, threshold),
                               COMPARISONS[comparator](c.before, threshold)), c.day))
                     ).over(partition_by=c.account_id).label(f"last_{n}")
            for n, (comparator, threshold) in enumerate(tests))).subquery("marked")
        k = marked.c
        query = select(k.account_id, func.sum(k.missing), *(
            column for last in (k[f"last_{n}"] for n in range(len(tests)))
            for column in (type_coerce(func.max(last), Date),
                           type_coerce(func.min(case(((k.posting == 1) & (k.day > last), k.day))), Date)))
        ).group_by(k.account_id)
        found: dict[str, list[tuple[dt.date | None, dt.date | None]]] = {}
        missing = []
        for row in await self.session.execute(query):
            found[row[0]] = [(row[2 + 2 * n], row[3 + 2 * n]) for n in range(len(tests))]
            if row[1]:
                missing.append(row[0])
        return found, missing

    async def sums_since(self, account_ids: Collection[str], since: dt.datetime) -> dict[str, Decimal]:
        """Each account's sum of the signed amounts posted from `since` on (accounts without any left out)."""
        rows = await self.session.execute(select(TransactionRow.account_id, func.sum(TransactionRow.signed_amount))
                                          .where(TransactionRow.tenant_id == self.tenant_id,
                                                 self.one_of(TransactionRow.account_id, account_ids),
                                                 TransactionRow.posted_at >= since)
                                          .group_by(TransactionRow.account_id))
        return {account_id: Decimal(total) for account_id, total in rows if total is not None}

    async def fed_balances(self, account_ids: Collection[str], since: dt.date, until: dt.date
                           ) -> dict[str, list[tuple[dt.date, Decimal]]]:
        """Each account's fed end-of-day balances for the days in [since, until], ascending."""
        found: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        rows = await self.session.execute(select(
            DailyBalanceRow.account_id, DailyBalanceRow.balance_date, DailyBalanceRow.balance).where(
            DailyBalanceRow.tenant_id == self.tenant_id, self.one_of(DailyBalanceRow.account_id, account_ids),
            DailyBalanceRow.balance_date >= since, DailyBalanceRow.balance_date <= until).order_by(
            DailyBalanceRow.account_id, DailyBalanceRow.balance_date))
        for account_id, day, balance in rows:
            found[account_id].append((day, balance))
        return found

    async def latest_fed_before(self, account_ids: Collection[str], day: dt.date) -> dict[str, tuple[dt.date, Decimal]]:
        """Each account's latest fed end-of-day balance for a day before `day` (accounts without one left out)."""
        latest = (select(DailyBalanceRow.account_id, func.max(DailyBalanceRow.balance_date).label("day"))
                  .where(DailyBalanceRow.tenant_id == self.tenant_id,
                         self.one_of(DailyBalanceRow.account_id, account_ids), DailyBalanceRow.balance_date < day)
                  .group_by(DailyBalanceRow.account_id).subquery())
        rows = await self.session.execute(select(
            DailyBalanceRow.account_id, DailyBalanceRow.balance_date, DailyBalanceRow.balance).join(
            latest, (DailyBalanceRow.account_id == latest.c.account_id)
            & (DailyBalanceRow.balance_date == latest.c.day)).where(DailyBalanceRow.tenant_id == self.tenant_id))
        return {account_id: (balance_date, balance) for account_id, balance_date, balance in rows}

    async def latest_posted_before(self, account_ids: Collection[str], before: dt.datetime) -> dict[str, dt.datetime]:
        """Each account's latest posting time before `before` (accounts without a posting then left out)."""
        rows = await self.session.execute(select(TransactionRow.account_id, func.max(TransactionRow.posted_at)).where(
            TransactionRow.tenant_id == self.tenant_id, self.one_of(TransactionRow.account_id, account_ids),
            TransactionRow.posted_at < before).group_by(TransactionRow.account_id))
        return {account_id: at for account_id, at in rows}


def _passing_lasts(count: int) -> str:
    """The `lasts` columns of both threshold statements: per test, the later of the last passing posting's day
    (`p.at_n`) and the last passing fed balance's or opening's (`o.last_n`)."""
    return ",\n    ".join(f"greatest((p.at_{n} AT TIME ZONE 'UTC')::date, o.last_{n}) AS last_{n}"
                           for n in range(count))


def _first_day_after_last(n: int) -> str:
    """Of test n, the day of the account's first posting in the span after its last passing day (`l.last_n`):
    one probe of the (tenant, account, posted_at) index."""
    return ("(SELECT (min(f.posted_at) AT TIME ZONE 'UTC')::date FROM transactions f "
            "WHERE f.tenant_id = $1 AND f.account_id = l.account_id AND f.posted_at >= $5 AND f.posted_at < $6 "
            f"AND f.posted_at >= (l.last_{n} + 1)::timestamp AT TIME ZONE 'UTC')")


def _fed_and_opening_lasts(comparators: tuple[Comparator, ...]) -> str:
    """The `others` WITH of both threshold statements: of each account, per test, the last day a fed balance
    or the opening passes (parameters as _threshold_days_sql's)."""
    others = ",\n    ".join(f"max(v.day) FILTER (WHERE v.balance {c.value} ${9 + n}) AS last_{n}"
                            for n, c in enumerate(comparators))
    return f"""others AS (
  SELECT v.account_id,
    {others}
  FROM (SELECT d.account_id, d.balance_date AS day, d.balance FROM daily_balances d
        WHERE d.tenant_id = $1 AND d.account_id = ANY($2::text[]) AND d.balance_date >= $7 AND d.balance_date <= $8
        UNION ALL
        SELECT o.account_id, o.day, o.balance FROM unnest($2::text[], $3::bigint[], $4::date[])
          AS o(account_id, balance, day)) v
  GROUP BY v.account_id)"""


def _threshold_days_sql(comparators: tuple[Comparator, ...]) -> str:
    """The statement of _threshold_days_as_stored for tests of these comparators (their thresholds from $9 on).
    $1 tenant, $2..$4 the openings (account, scaled balance, day), [$5, $6) the postings' span, [$7, $8] the
    fed balances'. The comparators are the enum's own operators, never text from outside.

    The postings are aggregated on their own, by time: the latest passing posted_at gives the same day as the
    latest passing day, and a row's day is then made once per account, not once per row (with a UNION ALL of
    the fed balances and openings in front, the aggregate took two thirds more time)."""
    passes = [f"t.running_balance {c.value} ${9 + n} OR t.running_balance - t.signed_amount {c.value} ${9 + n}"
              for n, c in enumerate(comparators)]
    posted = ",\n    ".join(f"max(t.posted_at) FILTER (WHERE {test}) AS at_{n}" for n, test in enumerate(passes))
    # Only the postings that pass a test, or store no running balance, reach the aggregate: the others count
    # in none of its columns, and skipping them in the scan costs less than passing each to the aggregate.
    wanted = " OR ".join(["t.running_balance IS NULL", *passes])
    lasts = _passing_lasts(len(comparators))
    firsts = ",\n  ".join(f"l.last_{n}, {_first_day_after_last(n)}" for n in range(len(comparators)))
    return f"""
WITH posted AS (
  SELECT t.account_id, sum((t.running_balance IS NULL)::int) AS missing,
    {posted}
  FROM transactions t
  WHERE t.tenant_id = $1 AND t.account_id = ANY($2::text[]) AND t.posted_at >= $5 AND t.posted_at < $6
    AND ({wanted})
  GROUP BY t.account_id),
{_fed_and_opening_lasts(comparators)},
lasts AS (
  SELECT o.account_id, coalesce(p.missing, 0) AS missing,
    {lasts}
  FROM others o LEFT JOIN posted p ON p.account_id = o.account_id)
SELECT l.account_id, l.missing,
  {firsts}
FROM lasts l"""


def _threshold_days_by_month_sql(comparators: tuple[Comparator, ...]) -> str:
    """The statement of _threshold_days_by_month, with the parameters of _threshold_days_sql. A value passes
    `< X` or `<= X` only if its month's low does, `> X` or `>= X` only if its month's high does, so no posting
    after the last month whose bound passes can pass; of that month, only the postings in the span are read.
    An account is read whole (`whole`) when a month of the span has a posting without a running balance, or
    when its last month whose bound passes holds no passing posting in the span, or when it has no month in the
    span but a posting there (written past the bounds' upkeep: read, not taken for absent)."""
    bound = {Comparator.LT: "low", Comparator.LE: "low", Comparator.GT: "high", Comparator.GE: "high"}
    months = ",\n    ".join(f"max(s.month) FILTER (WHERE s.{bound[c]} {c.value} ${9 + n}) AS month_{n}"
                            for n, c in enumerate(comparators))
    posted = ",\n    ".join(
        f"(SELECT max(t.posted_at) FROM transactions t WHERE t.tenant_id = $1 AND t.account_id = m.account_id "
        f"AND t.posted_at >= $5 AND t.posted_at < $6 AND t.posted_at >= m.month_{n}::timestamp AT TIME ZONE 'UTC' "
        f"AND t.posted_at < (m.month_{n} + interval '1 month') AT TIME ZONE 'UTC' "
        f"AND (t.running_balance {c.value} ${9 + n} OR t.running_balance - t.signed_amount {c.value} ${9 + n})"
        f") AS at_{n}" for n, c in enumerate(comparators))
    lasts = _passing_lasts(len(comparators))
    unfound = " OR ".join(f"(p.month_{n} IS NOT NULL AND p.at_{n} IS NULL)" for n in range(len(comparators)))
    firsts = ",\n  ".join(f"l.last_{n}, CASE WHEN NOT l.whole THEN {_first_day_after_last(n)} END"
                           for n in range(len(comparators)))
    return f"""
WITH months AS (
  SELECT s.account_id, bool_or(s.uncovered > 0) AS uncovered,
    {months}
  FROM account_balance_months s
  WHERE s.tenant_id = $1 AND s.account_id = ANY($2::text[])
    AND s.month >= date_trunc('month', $5 AT TIME ZONE 'UTC')::date AND s.month < ($6 AT TIME ZONE 'UTC')
  GROUP BY s.account_id),
posted AS (
  SELECT m.*,
    {posted}
  FROM months m WHERE NOT m.uncovered),
{_fed_and_opening_lasts(comparators)},
lasts AS (
  SELECT o.account_id, coalesce(m.uncovered OR {unfound}, EXISTS (
      SELECT 1 FROM transactions t WHERE t.tenant_id = $1 AND t.account_id = o.account_id
        AND t.posted_at >= $5 AND t.posted_at < $6)) AS whole,
    {lasts}
  FROM others o LEFT JOIN months m ON m.account_id = o.account_id LEFT JOIN posted p ON p.account_id = o.account_id)
SELECT l.account_id, l.whole,
  {firsts}
FROM lasts l"""


def _opening_values(openings: Mapping[str, tuple[int, dt.date]]) -> CTE:
    """The accounts' opening balances (scaled) and the days they count on, as a table (a WITH, which SQLite
    takes where it takes no VALUES with column names)."""
    return values(column("account_id", String), column("balance", BigInteger), column("day", Date),
                  name="opening").data([(account_id, *opening) for account_id, opening in openings.items()]).cte()
