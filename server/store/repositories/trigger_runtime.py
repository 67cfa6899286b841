"""What the live trigger evaluation reads and writes per batch (server.services.triggers.evaluation): the
accounts' day series, the "true since" states of state conditions, the customers' last firings of each
rule (cool-down), and who of a batch's customers an audience takes. A few statements per batch, each
over all of the batch's accounts or customers, never one per posting."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from operator import lt
from typing import Any

import orjson
from sqlalchemy import Integer, delete, func, literal, null, select, text, true, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.events import Posting
from server.domain.money import from_scaled, to_scaled
from server.domain.personas.audiences import Selection
from server.domain.triggers.rules import RuleStatus
from server.domain.triggers.scaled_series import ScaledColumns, ScaledDay, decimal_day, scaled_day
from server.domain.triggers.series import AccountDay
from server.store.array_literals import boolean_array, integer_array, text_array
from server.store.audience_sql import selection_condition
from server.store.driver import dialect_of, fetch_sql
from server.store.models import AccountRow, CustomerRow
from server.store.personas_models import AttributeDefinitionRow, PersonaMemberRow
from server.store.repositories.base import TenantRepository
from server.store.triggers_models import TriggerAccountDayRow, TriggerFiringRow, TriggerRuleRow, TriggerRuleStateRow

StateKey = tuple[str, int, str]  # rule id, version, account id
# What the tenant's rule set is made of, cheap to read (LiveRules): each ACTIVE rule's id, version and last
# change, and each attribute definition's name and last change. Any approval, pause, resume, archive or edit
# of a rule, and any change of an attribute definition, changes it.
RuleSetStamp = frozenset[tuple[str, str, int, dt.datetime]]
_PLAN = "plan"  # rule_set_stamp's row of set_config, not part of the stamp


@dataclass(frozen=True)
class StoredAccount:
    account_id: str
    customer_id: str
    container: str
    currency: str
    balance: Decimal
    available_balance: Decimal


_ACCOUNT_COLUMNS = (AccountRow.account_id, AccountRow.customer_id, AccountRow.container, AccountRow.currency,
                    AccountRow.current_balance, AccountRow.available_balance)  # StoredAccount's fields
_DAY_COLUMNS = (TriggerAccountDayRow.account_id, TriggerAccountDayRow.day, TriggerAccountDayRow.closing_balance,
                TriggerAccountDayRow.fed_balance, TriggerAccountDayRow.min_balance, TriggerAccountDayRow.postings,
                TriggerAccountDayRow.posting_total, TriggerAccountDayRow.overdraft_began)


# The day series moved by a batch's postings in one statement (TriggerRuntimeRepository.apply_postings):
# what apply_posting does posting by posting, aggregated per account and day. A posting counts on its
# booking date, or on the account's latest day when that is later (its stored latest row, or an earlier
# posting's day): the running maximum. Per account and day (d): the balance after its last posting, the
# lowest of each posting's opening and after balances, the count, the magnitudes' sum, whether one took
# the balance from >= 0 to < 0; merged into the day's row when it exists (only the latest can).
_DAYS_OF_POSTINGS = """
WITH p AS ({postings}),
latest AS (
  SELECT a.account_id, (SELECT max(d.day) FROM trigger_account_days AS d
                        WHERE d.tenant_id = {tenant} AND d.account_id = a.account_id) AS day
  FROM (SELECT DISTINCT account_id FROM p) AS a
),
e AS (
  SELECT p.account_id, p.n, p.bal, p.bal - p.amount AS opening, abs(p.amount) AS magnitude, l.day AS latest,
         max(p.day) OVER (PARTITION BY p.account_id ORDER BY p.n ROWS UNBOUNDED PRECEDING) AS booked
  FROM p LEFT JOIN latest AS l ON l.account_id = p.account_id
),
f AS (
  SELECT account_id, n, bal, opening, magnitude, latest,
         CASE WHEN latest IS NOT NULL AND latest > booked THEN latest ELSE booked END AS day
  FROM e
),
g AS (
  SELECT account_id, day, latest, bal, opening, magnitude,
         row_number() OVER (PARTITION BY account_id, day ORDER BY n DESC) AS from_last
  FROM f
),
d AS (
  SELECT account_id, day, max(latest) AS latest, max(CASE WHEN from_last = 1 THEN bal END) AS closing,
         min(CASE WHEN opening < bal THEN opening ELSE bal END) AS low, count(*) AS postings,
         sum(magnitude) AS total, max(CASE WHEN opening >= 0 AND bal < 0 THEN 1 ELSE 0 END) = 1 AS overdraft
  FROM g GROUP BY account_id, day
)"""
_INSERT_DAYS = """INSERT INTO trigger_account_days (tenant_id, account_id, day, closing_balance, fed_balance,
                                  min_balance, postings, posting_total, overdraft_began)
SELECT {tenant}, account_id, day, closing, NULL, low, postings, total, overdraft FROM d WHERE {which}
ORDER BY account_id, day"""
_MERGE_DAY = """
ON CONFLICT (tenant_id, account_id, day) DO UPDATE SET
  closing_balance = excluded.closing_balance,
  min_balance = CASE WHEN trigger_account_days.min_balance IS NULL
                          OR excluded.min_balance < trigger_account_days.min_balance
                     THEN excluded.min_balance ELSE trigger_account_days.min_balance END,
  postings = trigger_account_days.postings + excluded.postings,
  posting_total = trigger_account_days.posting_total + excluded.posting_total,
  overdraft_began = trigger_account_days.overdraft_began OR excluded.overdraft_began
"""
# PostgreSQL: a day after the account's latest row (or of an account without one) cannot exist, as the
# caller holds the account's lock (lock_accounts) and only holders of it write its rows: it is inserted
# plainly, without the probe of the key an upsert makes first; the latest day's row is merged.
_POSTGRES_APPLY_POSTINGS = (
    _DAYS_OF_POSTINGS.format(tenant="$1", postings=(
        "SELECT t.account_id, t.day, t.amount, t.bal, t.n FROM unnest($2::text::text[], $3::date[], "
        "$4::text::bigint[], $5::text::bigint[]) WITH ORDINALITY AS t(account_id, day, amount, bal, n)"))
    + ",\nfresh AS (" + _INSERT_DAYS.format(tenant="$1", which="latest IS NULL OR day > latest") + ")\n"
    + _INSERT_DAYS.format(tenant="$1", which="day = latest") + _MERGE_DAY)
# SQLite: the postings as one JSON parameter (one statement text, one cached prepared statement); every day
# upserted (`WHERE true`: SQLite's parser needs it before ON CONFLICT).
_SQLITE_APPLY_POSTINGS = (
    _DAYS_OF_POSTINGS.format(tenant="?1", postings=(
        "SELECT j.value ->> 0 AS account_id, j.value ->> 1 AS day, j.value ->> 2 AS amount, j.value ->> 3 AS bal, "
        "j.key AS n FROM json_each(?2) AS j"))
    + "\n" + _INSERT_DAYS.format(tenant="?1", which="true") + _MERGE_DAY)


# PostgreSQL: the advisory lock keys of a tenant's accounts, each once, in one order (two batches taking theirs
# never deadlock). One text for every statement that takes them, whatever its placeholders: a key derived
# otherwise would not exclude.
_LOCK_KEYS_OF = ("SELECT DISTINCT hashtextextended({tenant} || '/' || a, 20) AS k "
                 "FROM unnest({ids}) AS a ORDER BY k")
_LOCK_KEYS = _LOCK_KEYS_OF.format(tenant=":tenant", ids="CAST(CAST(:ids AS text) AS text[])")  # for text()
# PostgreSQL (lock_accounts_and_held): the locks taken, then each account's hold (scaled, as stored).
_POSTGRES_LOCK_AND_HELD = f"""
SELECT a.account_id, a.held
FROM (SELECT count(pg_advisory_xact_lock(k)) AS taken
      FROM ({_LOCK_KEYS_OF.format(tenant="$1::text", ids="$2::text::text[]")}) AS keys) AS locks
LEFT JOIN LATERAL (
  SELECT a.* FROM unnest($2::text::text[]) AS i(account_id) CROSS JOIN LATERAL (
    SELECT a.account_id, a.available_balance - a.current_balance AS held
    FROM accounts AS a WHERE a.tenant_id = $1 AND a.account_id = i.account_id LIMIT 1) AS a
) AS a ON true
"""
# PostgreSQL, on the driver (the evaluation holds its accounts' locks meanwhile; SQLAlchemy's per-value
# processing of thousands of rows cost tens of milliseconds): the day rows, then the states and the last
# firings (states_and_last_fired) in the same statement, a round trip fewer after the locks. Every part is
# probed account by account or customer by customer on an index, so that it reads what the batch needs:
# given the ids in `= ANY`, the planner scanned all the tenant's states and firings, and firings are kept
# forever (at the bench's end, 1,250 accounts against 3,300 states and 11,300 firings, the probes cost
# 1.7 and 2.2 ms, the scans 0.6 and 3.3). Part 0: an account's day rows (keyed by account) as one row of
# arrays, one per column in day order, the days as Python's ordinals (0001-01-01 is 1): a batch reads some
# fifteen rows a posting, and a record and a tuple per row read were a tenth of the evaluation's CPU. (One
# two-dimensional array of the rows saved PostgreSQL 2 ms a batch but cost the worker 12-16 more to decode and
# transpose.) The rows are one forward range scan from the account's latest row before the window on (found
# by a backward probe): no union of two scans to sort. Part 1: a state that holds (account, rule, version);
# part 2: a customer's last firing of a rule (customer, rule, time). Each probe is a LATERAL subquery that the
# planner cannot merge into a join of its choosing (OFFSET 0), on the account or customer alone, the rules
# filtered outside: the tables often have no statistics when the first batches come, and given the rules
# too, or grouping by them inside, the planner chose to walk all the tenant's firings in rule order
# (ix_trigger_firings_rule) for every customer (170 ms a batch in a replay of the bench's postings).
_POSTGRES_SERIES = """
SELECT 0 AS part, a.account_id AS key, NULL AS rule_id, NULL::int AS version, d.days, d.closing, d.fed, d.low,
       d.postings, d.totals, d.overdraft, NULL::timestamptz AS at
FROM unnest($2::text::text[]) AS a(account_id)
CROSS JOIN LATERAL (
  SELECT array_agg(x.day - DATE '0001-01-01' + 1) AS days, array_agg(x.closing_balance) AS closing,
         array_agg(x.fed_balance) AS fed, array_agg(x.min_balance) AS low, array_agg(x.postings) AS postings,
         array_agg(x.posting_total) AS totals, array_agg(x.overdraft_began) AS overdraft
  FROM (
    SELECT y.* FROM trigger_account_days AS y
    WHERE y.tenant_id = $1 AND y.account_id = a.account_id
      AND y.day >= coalesce((SELECT z.day FROM trigger_account_days AS z
                             WHERE z.tenant_id = $1 AND z.account_id = a.account_id AND z.day < $3
                             ORDER BY z.day DESC LIMIT 1), $3)
    ORDER BY y.day
  ) AS x
  HAVING count(*) > 0
) AS d
UNION ALL
SELECT 1, a.account_id, s.rule_id, s.version, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM unnest($2::text::text[]) AS a(account_id)
CROSS JOIN LATERAL (
  SELECT s.rule_id, s.version FROM trigger_rule_states AS s
  WHERE s.tenant_id = $1 AND s.account_id = a.account_id OFFSET 0
) AS s
WHERE s.rule_id = ANY($4::text[])
UNION ALL
(SELECT 2, c.customer_id, f.rule_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, max(f.fired_at)
 FROM unnest($6::text::text[]) AS c(customer_id)
 CROSS JOIN LATERAL (
   SELECT f.rule_id, f.fired_at FROM trigger_firings AS f
   WHERE f.tenant_id = $1 AND f.customer_id = c.customer_id OFFSET 0
 ) AS f
 WHERE f.rule_id = ANY($5::text[])
 GROUP BY c.customer_id, f.rule_id)
"""
# PostgreSQL: an evaluation's writes of the series and the states in one statement (save_series), each given
# as arrays, one per column. The states that changed are joined on their primary key (one probe each), not
# matched by `(rule_id, version, account_id) IN ((...), ...)`, which PostgreSQL compares with every row it
# scans and SQLAlchemy renders three parameters a key for. A key is in at most one of the states' lists, so
# the order of the parts does not matter. The day rows known to be new ($17: after the latest row the
# evaluation read of the account under its lock) are inserted plainly; the others upserted. An upsert's row
# costs a probe of the key for a conflict before the insertion's own descent of the index: 1,250 new rows on
# the triggers bench's seed, 10.9 ms upserted against 7.0 inserted; most of a live batch's rows are new days.
_POSTGRES_DAYS = """
  INSERT INTO trigger_account_days (tenant_id, account_id, day, closing_balance, fed_balance, min_balance,
                                    postings, posting_total, overdraft_began)
  SELECT $1, t.account_id, t.day, t.closing, t.fed, t.low, t.postings, t.total, t.overdraft
  FROM unnest($2::text::text[], $3::date[], $4::text::bigint[], $5::text::bigint[], $6::text::bigint[],
              $7::text::int[], $8::text::bigint[], $9::text::bool[], $17::text::bool[])
       AS t(account_id, day, closing, fed, low, postings, total, overdraft, new)
  WHERE {which}"""
_POSTGRES_SAVE_SERIES = f"""
WITH days AS ({_POSTGRES_DAYS.format(which="NOT t.new")}
  ON CONFLICT (tenant_id, account_id, day) DO UPDATE SET
    closing_balance = excluded.closing_balance, fed_balance = excluded.fed_balance,
    min_balance = excluded.min_balance, postings = excluded.postings, posting_total = excluded.posting_total,
    overdraft_began = excluded.overdraft_began
  RETURNING 1
), new_days AS ({_POSTGRES_DAYS.format(which="t.new")}
  RETURNING 1
), now_false AS (
  DELETE FROM trigger_rule_states AS s
  USING unnest($10::text::text[], $11::text::int[], $12::text::text[]) AS f(rule_id, version, account_id)
  WHERE s.tenant_id = $1 AND s.rule_id = f.rule_id AND s.version = f.version AND s.account_id = f.account_id
  RETURNING 1
), now_true AS (
  INSERT INTO trigger_rule_states (tenant_id, rule_id, version, account_id, true_since)
  SELECT $1, t.rule_id, t.version, t.account_id, $16
  FROM unnest($13::text::text[], $14::text::int[], $15::text::text[]) AS t(rule_id, version, account_id)
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM days), (SELECT count(*) FROM new_days), (SELECT count(*) FROM now_false),
       (SELECT count(*) FROM now_true)
"""

# PostgreSQL (TriggerRuntimeRepository.selected): which of customers $3 are members of persona $2 of tenant $1,
# each probed on its own (LIMIT 1: not merged into a join the planner may choose).
_POSTGRES_MEMBERS = """
SELECT m.customer_id
FROM unnest($3::text::text[]) AS c(customer_id)
CROSS JOIN LATERAL (
  SELECT m.customer_id FROM persona_members AS m
  WHERE m.tenant_id = $1 AND m.persona_id = $2 AND m.customer_id = c.customer_id LIMIT 1
) AS m
"""


def _day(row: Any) -> AccountDay:
    """From a row of _DAY_COLUMNS: plain columns, not ORM objects (a batch reads tens of thousands)."""
    return AccountDay(row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def _columns(rows: Sequence[ScaledDay]) -> ScaledColumns:
    """The rows (ascending by day) as the columns PostgreSQL's read gives."""
    if not rows:
        return ScaledColumns([], [], [], [], [], [], [])
    days, *rest = zip(*rows, strict=True)
    return ScaledColumns([day.toordinal() for day in days], *map(list, rest))


def _by_day(columns: ScaledColumns) -> ScaledColumns:
    """The columns in day order. PostgreSQL aggregates the rows in the order its subquery's index scan gave
    them, as it does in practice but does not promise (an ORDER BY in each array_agg would sort seven times
    what the index has sorted): a check of the days, and a sort should they ever come otherwise."""
    days = columns.days
    if all(map(lt, days, islice(days, 1, None))):  # each day before the next, compared at C speed
        return columns
    order = sorted(range(len(days)), key=days.__getitem__)
    return ScaledColumns._make([column[i] for i in order] for column in columns)


def _account_and_day(row: tuple[str, ScaledDay]) -> tuple[str, dt.date]:
    return row[0], row[1][0]


def _key_columns(keys: Sequence[StateKey]) -> tuple[str, str, str]:
    """Rule ids, versions and account ids, as the array literals _POSTGRES_SAVE_SERIES takes."""
    return (text_array([k[0] for k in keys]), integer_array([k[1] for k in keys]),
            text_array([k[2] for k in keys]))


def _add_days(found: dict[str, list[AccountDay]], rows: Iterable[Sequence[Any]]) -> None:
    """Day rows as the driver gives them (account id, then _DAY_COLUMNS' others, amounts scaled), in account
    and day order, into `found`."""
    last_account, days = None, []
    for account_id, day, closing, fed, low, postings, total, overdraft in rows:
        if account_id != last_account:
            last_account, days = account_id, found[account_id]
        days.append(AccountDay(day, None if closing is None else from_scaled(closing),
                               None if fed is None else from_scaled(fed),
                               None if low is None else from_scaled(low), postings, from_scaled(total), overdraft))


@dataclass(frozen=True)
class SeriesRead:
    """TriggerRuntimeRepository.series: each account's day rows, the states that hold, the last firings."""

    days: dict[str, list[AccountDay]]
    states: set[StateKey]
    last_fired: dict[tuple[str, str], dt.datetime]
    # series(scaled=True): the day rows as the store holds them (amounts scaled), as columns, in `days`' stead.
    scaled_columns: dict[str, ScaledColumns] = field(default_factory=dict)


class TriggerRuntimeRepository(TenantRepository):
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        super().__init__(session, tenant_id)
        # PostgreSQL: the accounts of the last `series` read, each with the day of its latest row (None: it has
        # none), for the `save_series` that follows it (see there); emptied by that save.
        self._latest_read: dict[str, dt.date | None] = {}

    async def accounts(self, account_ids: Collection[str]) -> dict[str, StoredAccount]:
        if not account_ids:
            return {}
        rows = await self.session.execute(select(*_ACCOUNT_COLUMNS).where(
            AccountRow.tenant_id == self.tenant_id, self.one_of(AccountRow.account_id, account_ids)))
        return {r[0]: StoredAccount(*r) for r in rows}

    async def rule_set_stamp(self) -> RuleSetStamp:
        """The tenant's RuleSetStamp; on PostgreSQL the same statement plans the rest of the transaction for
        its values (a round trip fewer: every evaluation reads the stamp before its other reads).

        Planned for values: until the transaction ends, PostgreSQL plans each statement for the values it
        is given (a custom plan), never a prepared statement's generic plan. The evaluation's reads take
        thousands of ids in one array (`= ANY($n)`); in a generic plan, chosen after five executions on a
        connection and looking as cheap as any when the tables have no statistics yet (a first load), such
        an array cannot be hashed and every row scanned is compared with all of it: a second and more per
        statement for 5,000 accounts against 8,000 states or 11,000 firings. Planning each costs well under
        a millisecond a batch. SQLite plans each statement anyway."""
        at_type = TriggerRuleRow.updated_at.type
        parts = [select(literal("rule"), TriggerRuleRow.rule_id, TriggerRuleRow.version,
                        TriggerRuleRow.updated_at).where(TriggerRuleRow.tenant_id == self.tenant_id,
                                                         TriggerRuleRow.status == RuleStatus.ACTIVE.value),
                 select(literal("attribute"), AttributeDefinitionRow.name, literal(0, Integer),
                        AttributeDefinitionRow.updated_at).where(AttributeDefinitionRow.tenant_id == self.tenant_id)]
        if dialect_of(self.session).name == "postgresql":
            parts.append(select(literal(_PLAN), func.set_config("plan_cache_mode", "force_custom_plan", true()),
                                literal(0, Integer), null().cast(at_type)))
        return frozenset((kind, key, version, at) for kind, key, version, at
                         in await self.session.execute(union_all(*parts)) if kind != _PLAN)

    async def deposit_accounts_after(self, after: str | None, limit: int) -> list[StoredAccount]:
        """The tenant's BANK-container accounts by id, a page at a time (the daily re-check)."""
        query = select(*_ACCOUNT_COLUMNS).where(AccountRow.tenant_id == self.tenant_id, AccountRow.container == "BANK")
        if after is not None:
            query = query.where(AccountRow.account_id > after)
        rows = await self.session.execute(query.order_by(AccountRow.account_id).limit(limit))
        return [StoredAccount(*r) for r in rows]

    async def lock_accounts(self, account_ids: Collection[str]) -> None:
        """Takes a lock per account, held until the transaction ends (PostgreSQL advisory locks, in one
        order, so that two batches never deadlock): batches that move one account's day series are
        evaluated one after the other, the later reading what the earlier wrote. Taken before the reads.
        SQLite has one writer at a time: nothing to take."""
        if not account_ids or dialect_of(self.session).name != "postgresql":
            return
        await self.session.execute(text(f"SELECT pg_advisory_xact_lock(k) FROM ({_LOCK_KEYS}) AS keys"),
                                   {"tenant": self.tenant_id, "ids": text_array(sorted(account_ids))})

    async def lock_accounts_and_held(self, account_ids: Collection[str]) -> dict[str, int]:
        """`lock_accounts`, then each account's hold: its available balance minus its current balance, scaled
        (accounts not found left out); on PostgreSQL in one statement (the accounts are not what the locks
        guard: read as of the statement's start, as a read before the locks would), on the driver (a batch's
        thousands of rows as SQLAlchemy's rows, each balance a Decimal, cost more than the statement)."""
        if not account_ids or dialect_of(self.session).name != "postgresql":
            await self.lock_accounts(account_ids)
            return {account_id: to_scaled(account.available_balance - account.balance)
                    for account_id, account in (await self.accounts(account_ids)).items()}
        # The locks' side is kept whatever the accounts' (LEFT JOIN): every lock is taken, in order. The
        # accounts probed one by one on the key (LIMIT 1: not merged into a join the planner may choose): given
        # them in `= ANY`, it scanned the tenant's accounts, as many pages as some thousand probes would read
        # by its costs, twice as long (1,400 of 100,000 accounts: 11 against 6 ms with the locks).
        # Transaction-scoped locks on the driver's connection: held only inside the transaction the session
        # opened with an earlier statement (the evaluation reads the rule set's stamp first).
        rows = await fetch_sql(self.session, _POSTGRES_LOCK_AND_HELD, self.tenant_id, text_array(sorted(account_ids)))
        return {account_id: held for account_id, held in rows if account_id is not None}

    async def _sqlite_days(self, account_ids: Collection[str], since: dt.date) -> dict[str, list[AccountDay]]:
        """`series`' day rows on SQLite."""
        found: dict[str, list[AccountDay]] = defaultdict(list)
        if not account_ids:
            return found
        earlier = (select(TriggerAccountDayRow.account_id, func.max(TriggerAccountDayRow.day).label("day"))
                   .where(TriggerAccountDayRow.tenant_id == self.tenant_id,
                          self.one_of(TriggerAccountDayRow.account_id, account_ids),
                          TriggerAccountDayRow.day < since)
                   .group_by(TriggerAccountDayRow.account_id).subquery())
        before = select(*_DAY_COLUMNS).join(
            earlier, (TriggerAccountDayRow.account_id == earlier.c.account_id)
            & (TriggerAccountDayRow.day == earlier.c.day)).where(TriggerAccountDayRow.tenant_id == self.tenant_id)
        within = select(*_DAY_COLUMNS).where(
            TriggerAccountDayRow.tenant_id == self.tenant_id,
            self.one_of(TriggerAccountDayRow.account_id, account_ids),
            TriggerAccountDayRow.day >= since)
        # One statement (a round trip fewer on the banner's path); the row before `since` sorts first.
        both = union_all(before, within).subquery()
        for row in await self.session.execute(select(*both.c).order_by(both.c.account_id, both.c.day)):
            found[row[0]].append(_day(row))
        return found

    async def series(self, account_ids: Collection[str], since: dt.date, versions: Collection[tuple[str, int]],
                     rule_ids: Collection[str], customer_ids: Collection[str], *, scaled: bool = False) -> SeriesRead:
        """What an evaluation reads under its accounts' locks: each account's day rows from `since` on,
        ascending, preceded by its latest row before `since` (whose collected balance carries into the
        window); and `states_and_last_fired`. On PostgreSQL in one statement. `scaled`: the rows in
        `scaled_days`, as stored (no Decimal made), not in `days`."""
        if dialect_of(self.session).name != "postgresql":
            days = await self._sqlite_days(account_ids, since)
            states, last_fired = await self.states_and_last_fired(versions, account_ids, rule_ids, customer_ids)
            if scaled:
                return SeriesRead({}, states, last_fired, {account: _columns([scaled_day(d) for d in rows])
                                                           for account, rows in days.items()})
            return SeriesRead(days, states, last_fired)
        read = SeriesRead(defaultdict(list), set(), {}, {})
        if not account_ids:
            return read
        wanted = set(versions)
        asked = sorted(set(account_ids))
        rows = await fetch_sql(self.session, _POSTGRES_SERIES, self.tenant_id, text_array(asked), since,
                               sorted({rule for rule, _ in wanted}), sorted(set(rule_ids)),
                               text_array(sorted(set(customer_ids))))
        found: list[tuple[Any, ...]] = []
        scaled_columns = read.scaled_columns
        latest: dict[str, dt.date | None] = dict.fromkeys(asked)
        self._latest_read = latest
        for row in rows:
            part = row[0]
            if part == 0:
                columns = _by_day(ScaledColumns(*row[4:11]))
                latest[row[1]] = dt.date.fromordinal(columns.days[-1])  # the rows run to the account's latest
                if scaled:
                    scaled_columns[row[1]] = columns
                else:
                    found.extend((row[1], *day) for day in columns.rows())
            elif part == 1:
                if (row[2], row[3]) in wanted:
                    read.states.add((row[2], row[3], row[1]))
            else:
                read.last_fired[(row[2], row[1])] = row[11]
        _add_days(read.days, found)
        return read

    async def save_series(self, rows: Iterable[tuple[str, AccountDay]], now_true: Sequence[StateKey],
                          now_false: Sequence[StateKey], at: dt.datetime, *,
                          scaled_rows: Iterable[tuple[str, ScaledDay]] = ()) -> None:
        """An evaluation's writes: the changed day rows (upserted; `scaled_rows`: more, as stored, at most one
        per account and day), the states that became true (since `at`) and those that became false; on
        PostgreSQL in one statement.

        On PostgreSQL, a row of an account that the `series` read just before took, dated after the latest
        row it found there (or of an account with none), is inserted as new, not upserted: the caller holds
        the account's lock (lock_accounts) from before that read to the commit, and only holders of the lock
        write an account's rows. Any other row is upserted."""
        if dialect_of(self.session).name == "postgresql":
            latest_read, self._latest_read = self._latest_read, {}
            converted = [(account_id, scaled_day(row)) for account_id, row in rows]
            # Scaled rows alone (the live evaluation's) sort as tuples, by account and then day (ScaledDay's
            # first field), compared in C: no key called per row.
            stored = sorted([*converted, *scaled_rows], key=_account_and_day) if converted else sorted(scaled_rows)
            if stored or now_true or now_false:
                new = [account_id in latest_read and ((latest := latest_read[account_id]) is None or row[0] > latest)
                       for account_id, row in stored]
                connection = await self.session.connection()
                await connection.exec_driver_sql(_POSTGRES_SAVE_SERIES, (
                    *self._day_columns(stored), *_key_columns(now_false), *_key_columns(now_true), at,
                    boolean_array(new)))
            return
        rows = sorted([*rows, *((account_id, decimal_day(row)) for account_id, row in scaled_rows)],
                      key=lambda row: (row[0], row[1].day))
        if rows:
            stmt = self.upsert(TriggerAccountDayRow)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "account_id", "day"],
                set_={name: getattr(stmt.excluded, name) for name in (
                    "closing_balance", "fed_balance", "min_balance", "postings", "posting_total", "overdraft_began")})
            await self.session.execute(stmt, [
                {"tenant_id": self.tenant_id, "account_id": account_id, "day": d.day,
                 "closing_balance": d.closing_balance, "fed_balance": d.fed_balance, "min_balance": d.min_balance,
                 "postings": d.postings, "posting_total": d.posting_total, "overdraft_began": d.overdraft_began}
                for account_id, d in rows])
        if now_false:
            await self.session.execute(delete(TriggerRuleStateRow).where(
                TriggerRuleStateRow.tenant_id == self.tenant_id,
                tuple_(TriggerRuleStateRow.rule_id, TriggerRuleStateRow.version,
                       TriggerRuleStateRow.account_id).in_(list(now_false))))
        if now_true:
            stmt = self.upsert(TriggerRuleStateRow).on_conflict_do_nothing()
            await self.session.execute(stmt, [
                {"tenant_id": self.tenant_id, "rule_id": rule, "version": version, "account_id": account,
                 "true_since": at} for rule, version, account in now_true])

    def _day_columns(self, rows: Sequence[tuple[str, ScaledDay]]) -> tuple[Any, ...]:
        """The parameters $1..$9 of _POSTGRES_SAVE_SERIES: the tenant, then one array per column of the days
        (the days a list, the others literals)."""
        if not rows:
            return self.tenant_id, "{}", [], *(["{}"] * 6)
        accounts, days = zip(*rows, strict=True)
        day, closing, fed, low, postings, total, overdraft = zip(*days, strict=True)
        return (self.tenant_id, text_array(accounts), list(day), integer_array(closing), integer_array(fed),
                integer_array(low), integer_array(postings), integer_array(total), boolean_array(overdraft))

    async def apply_postings(self, postings: Sequence[Posting]) -> None:
        """Each posting applied to its account's day series as apply_posting would, in their order, in one
        statement (docs/triggers.md: the path of a tenant without live rules, which reads no series)."""
        if not postings:
            return
        self._latest_read = {}  # rows written outside save_series: what the last read found may be past
        connection = await self.session.connection()  # Core: no ORM bookkeeping
        accounts = [p.account_id for p in postings]
        amounts = [to_scaled(p.amount.amount) for p in postings]
        afters = [to_scaled(p.balance_after.amount) for p in postings]
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(_POSTGRES_APPLY_POSTINGS, (
                self.tenant_id, text_array(accounts), [p.booking_date for p in postings], integer_array(amounts),
                integer_array(afters)))
            return
        await connection.exec_driver_sql(_SQLITE_APPLY_POSTINGS, (self.tenant_id, orjson.dumps([
            [a, p.booking_date.isoformat(), amount, after]
            for a, p, amount, after in zip(accounts, postings, amounts, afters, strict=True)]).decode()))

    async def states_and_last_fired(self, versions: Collection[tuple[str, int]], account_ids: Collection[str],
                                    rule_ids: Collection[str], customer_ids: Collection[str]
                                    ) -> tuple[set[StateKey], dict[tuple[str, str], dt.datetime]]:
        """Which (rule, version, account) hold now, of these rule versions and accounts; and (rule, customer) ->
        the customer's last firing of the rule, any version (the cool-down's start). One statement (a round
        trip fewer on a banner's path): the firings' rows carry no version, the states' no time."""
        parts = []
        if rule_ids and customer_ids:
            parts.append(select(TriggerFiringRow.rule_id, null().cast(Integer), TriggerFiringRow.customer_id,
                                func.max(TriggerFiringRow.fired_at)).where(
                TriggerFiringRow.tenant_id == self.tenant_id, self.one_of(TriggerFiringRow.rule_id, rule_ids),
                self.one_of(TriggerFiringRow.customer_id, customer_ids)
            ).group_by(TriggerFiringRow.rule_id, TriggerFiringRow.customer_id))
        if versions and account_ids:
            parts.append(select(TriggerRuleStateRow.rule_id, TriggerRuleStateRow.version,
                                TriggerRuleStateRow.account_id, null().cast(TriggerFiringRow.fired_at.type)).where(
                TriggerRuleStateRow.tenant_id == self.tenant_id,
                self.one_of(TriggerRuleStateRow.rule_id, sorted({rule for rule, _ in versions})),
                self.one_of(TriggerRuleStateRow.account_id, account_ids)))
        states: set[StateKey] = set()
        last_fired: dict[tuple[str, str], dt.datetime] = {}
        if not parts:
            return states, last_fired
        wanted = set(versions)
        for rule, version, key, at in await self.session.execute(parts[0] if len(parts) == 1 else union_all(*parts)):
            if version is None:
                last_fired[(rule, key)] = at
            elif (rule, version) in wanted:
                states.add((rule, version, key))
        return states, last_fired

    async def selected(self, selection: Selection | str, customer_ids: Collection[str]) -> set[str]:
        """Which of these customers the selection (a persona id, or an audience's) takes now. Its callers
        plan for values first (rule_set_stamp): a generic plan compared every member with the whole array."""
        if not customer_ids:
            return set()
        if isinstance(selection, str):
            # A persona: its kept rows by their key. (The general EXISTS below got a scan of the members
            # from the planner, 70 ms with 100,000 customers, before the tables had statistics.) On PostgreSQL
            # probed customer by customer: given them in `= ANY`, the planner read the persona's whole range of
            # the key, 1,400 customers against 33,000 members: 6.7 ms against 2.9.
            if dialect_of(self.session).name == "postgresql":
                return {row[0] for row in await fetch_sql(self.session, _POSTGRES_MEMBERS, self.tenant_id, selection,
                                                          text_array(sorted(set(customer_ids))))}
            return set(await self.session.scalars(select(PersonaMemberRow.customer_id).where(
                PersonaMemberRow.tenant_id == self.tenant_id, PersonaMemberRow.persona_id == selection,
                self.one_of(PersonaMemberRow.customer_id, customer_ids))))
        rows = await self.session.scalars(select(CustomerRow.customer_id).where(
            CustomerRow.tenant_id == self.tenant_id, self.one_of(CustomerRow.customer_id, customer_ids),
            selection_condition(self.tenant_id, selection, CustomerRow.customer_id)))
        return set(rows)
