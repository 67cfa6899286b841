"""account_balance_months (server.store.models.AccountBalanceMonthRow), kept with the transactions: of each
account and calendar month (UTC), a low at most and a high at least every balance value a stored posting of
that month shows (its running balance after it and the balance before it), and whether a posting of the
month stored no running balance. The backtest's pre-filter reads it to find each account's last month
that can hold a balance passing a threshold, and reads only that month's postings
(TriggerBacktestRepository.threshold_days, docs/triggers.md#backtest).

Every write of `transactions` widens it in the same unit of work: ingestion's batches (summarize_postings,
after the accounts' balances are moved, so that a batch locks its accounts first and then their months, in
order, and concurrent batches cannot deadlock; CoveredMonths leaves out the months known covered already),
the migration that made it and whatever loads transactions in bulk (fill_statement). Deletes leave it as it
is: a wider range only makes the backtest read more."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.ingest.model import IncomingTransaction
from server.store.array_literals import integer_array, text_array

_COLUMNS = "tenant_id, account_id, month, low, high, uncovered"
# A month's bounds only widen. A posting without a running balance counts as 0 (its values are unknown here) and
# marks its month uncovered (1): such a month's bounds say nothing.
_WIDEN = {
    "postgresql": """
ON CONFLICT (tenant_id, account_id, month) DO UPDATE SET
  low = least(s.low, excluded.low), high = greatest(s.high, excluded.high),
  uncovered = greatest(s.uncovered, excluded.uncovered)
WHERE excluded.low < s.low OR excluded.high > s.high OR excluded.uncovered > s.uncovered""",
    "sqlite": """
ON CONFLICT (tenant_id, account_id, month) DO UPDATE SET
  low = min(s.low, excluded.low), high = max(s.high, excluded.high), uncovered = max(s.uncovered, excluded.uncovered)
WHERE excluded.low < s.low OR excluded.high > s.high OR excluded.uncovered > s.uncovered"""}
_MONTH_OF_POSTED_AT = {"postgresql": "date_trunc('month', t.posted_at AT TIME ZONE 'UTC')::date",
                       "sqlite": "date(t.posted_at, 'start of month')"}
_LEAST = {"postgresql": "least", "sqlite": "min"}
_GREATEST = {"postgresql": "greatest", "sqlite": "max"}

# A batch's months, each only when its stored row does not already cover it: a covered month is neither written
# nor locked (bounds only widen, so what covers it at the statement's start still does at its end). The stored row
# is one probe of the key per month (LIMIT 1 keeps the planner from joining the batch to the whole table, as it
# did with NOT EXISTS: a merge join over every row of the tenant, each batch).
_POSTGRES_UPSERT = f"""
INSERT INTO account_balance_months AS s ({_COLUMNS})
SELECT $1::text, m.account_id, m.month, m.low, m.high, m.uncovered
FROM unnest($2::text::text[], $3::date[], $4::text::bigint[], $5::text::bigint[], $6::text::int[])
     AS m(account_id, month, low, high, uncovered)
LEFT JOIN LATERAL (SELECT c.low, c.high, c.uncovered FROM account_balance_months c
                   WHERE c.tenant_id = $1::text AND c.account_id = m.account_id AND c.month = m.month LIMIT 1) c ON true
WHERE c.low IS NULL OR c.low > m.low OR c.high < m.high OR c.uncovered < m.uncovered
ORDER BY m.account_id, m.month{_WIDEN["postgresql"]}"""
_SQLITE_ROW = "(?, ?, ?, ?, ?, ?)"
_SQLITE_ROWS_PER_STATEMENT = 5000  # 6 parameters a row, of SQLite's 32,766


def fill_statement(dialect_name: str) -> str:
    """The statement that widens every account's months by all its stored transactions (every tenant): the
    migration's fill, and the bench's after it loads transactions by COPY. Plain SQL, no parameters."""
    running = "coalesce(t.running_balance, 0)"
    before = "coalesce(t.running_balance - t.signed_amount, 0)"
    month = _MONTH_OF_POSTED_AT[dialect_name]
    where = "WHERE true" if dialect_name == "sqlite" else ""  # SQLite: no ON CONFLICT right after a FROM
    return f"""
INSERT INTO account_balance_months AS s ({_COLUMNS})
SELECT t.tenant_id, t.account_id, {month}, min({_LEAST[dialect_name]}({running}, {before})),
  max({_GREATEST[dialect_name]}({running}, {before})), max(CASE WHEN t.running_balance IS NULL THEN 1 ELSE 0 END)
FROM transactions t {where}
GROUP BY t.tenant_id, t.account_id, {month}
ORDER BY t.tenant_id, t.account_id, {month}{_WIDEN[dialect_name]}"""


MonthBounds = dict[tuple[str, dt.date], list[int]]  # (account, month) -> [low, high, uncovered]


def month_bounds(postings: Iterable[IncomingTransaction]) -> MonthBounds:
    """The postings' months with their bounds, as fill_statement counts them."""
    found: MonthBounds = {}
    for t in postings:
        at = t.posted_at
        assert at is not None
        if at.tzinfo is not dt.UTC:
            at = at.astimezone(dt.UTC)
        running = t.running_balance
        if running is None:
            low = high = 0
            uncovered = 1
        else:
            before = running - t.signed_amount
            low, high = (before, running) if before < running else (running, before)
            uncovered = 0
        key = (t.account_id, dt.date(at.year, at.month, 1))
        bounds = found.get(key)
        if bounds is None:
            found[key] = [low, high, uncovered]
        else:
            if low < bounds[0]:
                bounds[0] = low
            if high > bounds[1]:
                bounds[1] = high
            if uncovered:
                bounds[2] = 1
    return found


class CoveredMonths:
    """What this process knows the stored months to cover at least: the bounds of the batches it committed. A
    stored month only widens (nothing narrows or removes it), so a batch's month within what is known here needs
    no statement: most of a feed's batches, whose accounts' months were written by an earlier batch and whose
    postings fall within them (always, for postings without a running balance). Remembered only after the
    commit; forgotten all at once past `limit` months (then they are written again, and known again)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._known: dict[tuple[str, str, dt.date], tuple[int, int, int]] = {}

    def not_covered(self, tenant_id: str, bounds: MonthBounds) -> MonthBounds:
        """The months of `bounds` not known to be covered already."""
        known = self._known
        found: MonthBounds = {}
        for (account_id, month), (low, high, uncovered) in bounds.items():
            stored = known.get((tenant_id, account_id, month))
            if stored is None or stored[0] > low or stored[1] < high or stored[2] < uncovered:
                found[(account_id, month)] = [low, high, uncovered]
        return found

    def remember(self, tenant_id: str, bounds: MonthBounds) -> None:
        """A committed batch's months that were not known covered (those known are so already): the stored rows
        cover them and what was known of them before."""
        known = self._known
        if len(known) + len(bounds) > self._limit:
            known.clear()
        for (account_id, month), (low, high, uncovered) in bounds.items():
            key = (tenant_id, account_id, month)
            stored = known.get(key)
            known[key] = (low, high, uncovered) if stored is None else (
                min(stored[0], low), max(stored[1], high), max(stored[2], uncovered))


async def summarize_postings(connection: AsyncConnection, tenant_id: str, months: MonthBounds) -> None:
    """Widens the stored months by `months` (month_bounds of postings just stored): one statement on PostgreSQL,
    the months in order, each written only when its stored row does not cover it already."""
    bounds = sorted(months.items())
    if not bounds:
        return
    if connection.dialect.name == "postgresql":
        await connection.exec_driver_sql(_POSTGRES_UPSERT, (
            tenant_id, text_array([account_id for (account_id, _), _ in bounds]), [month for (_, month), _ in bounds],
            integer_array([low for _, (low, _, _) in bounds]), integer_array([high for _, (_, high, _) in bounds]),
            integer_array([uncovered for _, (_, _, uncovered) in bounds])))
        return
    for start in range(0, len(bounds), _SQLITE_ROWS_PER_STATEMENT):
        part = bounds[start:start + _SQLITE_ROWS_PER_STATEMENT]
        parameters: list[Any] = []
        for (account_id, month), (low, high, uncovered) in part:
            parameters += (tenant_id, account_id, month.isoformat(), low, high, uncovered)
        await connection.exec_driver_sql(
            f"INSERT INTO account_balance_months AS s ({_COLUMNS}) VALUES {', '.join([_SQLITE_ROW] * len(part))}"
            f"{_WIDEN['sqlite']}", tuple(parameters))
