"""Backtest before approval: a rule's current version replayed over the stored history of a period, what it
would have fired and sent, kept on the rule for its approver (docs/triggers.md#backtest).

Customers are taken a page at a time (CUSTOMERS_PER_CHUNK, in id order) with all their deposit accounts,
because the cool-down is per customer; each page's transactions and fed balances are read in a few
statements, replayed, tallied and dropped. READING_LANES sessions read pages in turn while the replay goes
on, so memory holds a page per lane, the one replayed, the customer ids of PAGES_LISTED pages and the
tally. A balance condition is replayed by vector_replay (a page as arrays), any other by replay.

What is read per account: its transactions and fed end-of-day balances from the warm-up's first day (the
period's start minus the condition's history_days) to the period's end. When the pre-filter bounds the
condition, the database first finds each account's last day the condition can hold (_last_days): only the
postings up to that day are read, and an account whose day is before the period is not read. Its balance
at the end of the day before the warm-up (the opening balance) is, first of what applies:
1. its latest fed balance before the warm-up, when no transaction was posted after that balance's day
   and before the warm-up (the bank's own figure);
2. the running balance of its first transaction from the warm-up on, minus that transaction's amount,
   when the transaction carries one;
3. its current balance minus the sum of every transaction posted from the warm-up on.
The opening balance counts as that day's collected balance only when the account has a transaction or a
fed balance before the warm-up; otherwise its balance is unknown until its first posting or fed
balance, and the days before do not count. A posting's balance after it is its running balance when
stored, else the previous one plus its amount."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from server.domain.auth import Caller, Role
from server.domain.errors import not_found
from server.domain.events import Money, Posting
from server.domain.ingest.model import Direction
from server.domain.money import SCALED_PER_UNIT, from_scaled, to_scaled
from server.domain.personas.audiences import AudienceMode, Selection
from server.domain.segments.attributes import AttributeCatalogue
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers import backtest
from server.domain.triggers.backtest import BacktestResult, Tally, UnitCost
from server.domain.triggers.condition import Condition, SegmentLeaf, history_days, leaves
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.prefilter import ThresholdTest, can_bound, combined_bound, leaf_bound, threshold_tests
from server.domain.triggers.replay import AccountHistory, replay
from server.domain.triggers.rules import AudienceKind, MessageAction, TriggerRule
from server.domain.triggers.scaled_replay import prepare, supports
from server.domain.triggers.series import AccountDay, AccountSnapshot
from server.domain.triggers.vector_replay import Page, balances_after, vector_fired, vector_replay
from server.services.audiences import audience_selection
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.repositories.trigger_backtest import (
    BacktestAccount,
    FirstPosting,
    PostingColumns,
    StoredPosting,
    TriggerBacktestRepository,
)
from server.store.uow import UnitOfWork

ADMINS = (Role.BANK_ADMIN,)
CUSTOMERS_PER_CHUNK = 200
PAGES_LISTED = 10  # customer pages listed in one statement
READING_LANES = 2  # sessions reading pages at once (each on its own database connection)
CUSTOMERS_PER_REPLAY = 1  # the replay hands the loop back after each customer (the next page's reads go on)
_ONE_DAY = dt.timedelta(days=1)
_DIRECTIONS = {d.value: d for d in Direction}  # a dict look-up: Direction(text) costs a tenth of the history


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


@dataclass(frozen=True)
class Before:
    """What is known of an account before the warm-up: its latest fed balance (day, balance) and its
    latest posting time."""

    fed: tuple[dt.date, Decimal] | None = None
    posted_at: dt.datetime | None = None

    @property
    def known(self) -> bool:
        return self.fed is not None or self.posted_at is not None


def opening_balance(account: BacktestAccount, first: FirstPosting | None, total: Decimal | None, before: Before
                    ) -> Decimal | None:
    """The account's balance at the end of the day before the warm-up (the module's docstring), from its first
    posting in the span read and `total`, the sum of the amounts posted from the warm-up on; None when it
    needs the total, not given."""
    fed = before.fed
    if fed is not None and (before.posted_at is None or before.posted_at.astimezone(dt.UTC).date() <= fed[0]):
        return fed[1]
    if first is not None and first.running_scaled is not None:
        return from_scaled(first.running_scaled - first.signed_scaled)
    return None if total is None else account.balance - total


def account_history(account: BacktestAccount, stored: Sequence[StoredPosting], opening: Decimal,
                    fed: Sequence[tuple[dt.date, Decimal]], known: bool, warm_up: dt.date, facts: CustomerFacts,
                    last_day: dt.date | None = None) -> AccountHistory:
    """One account's history from the warm-up's first day: `known`, whether the opening balance counts as
    the collected balance of the day before the warm-up; `last_day`, the last day the condition can hold,
    for replay to stop at (the postings read end with it)."""
    days = (AccountDay(warm_up - _ONE_DAY, closing_balance=opening, min_balance=opening),) if known else ()
    held = account.balance - account.available_balance  # the holds between balance and available
    snapshot = AccountSnapshot(account.account_id, account.customer_id, account.currency, opening,
                               opening - held, days)
    postings = []
    balance = to_scaled(opening)  # the balance after each posting, in ten-thousandths
    for p in stored:
        balance = p.running_scaled if p.running_scaled is not None else balance + p.signed_scaled
        postings.append(Posting(p.transaction_id, account.account_id, account.customer_id, account.account_type,
                                "BANK", Money(from_scaled(p.signed_scaled), p.currency),
                                Money(from_scaled(balance), p.currency), p.posted_at, _DIRECTIONS[p.direction],
                                p.category, p.description))
    return AccountHistory(snapshot, tuple(postings), tuple(fed), facts, last_day)


def balance_page(accounts: Sequence[BacktestAccount], columns: PostingColumns, openings: Mapping[str, Decimal],
                 fed: Mapping[str, Sequence[tuple[dt.date, Decimal]]], before: Mapping[str, Before], warm_up: dt.date,
                 last_days: Mapping[str, dt.date]) -> Page:
    """A page for vector_replay: the accounts (those the postings' columns were read for, in that order) as
    account_history gives them, in whole ten-thousandths, as columns."""
    opening = np.array([to_scaled(openings[a.account_id]) for a in accounts], np.int64)
    account = np.asarray(columns.account, np.int64)
    signed = np.asarray(columns.signed_scaled, np.int64)
    after = balances_after(account, opening, signed, np.asarray(columns.running_scaled, np.int64),
                           np.asarray(columns.stored, np.bool_))
    fed_rows = [(n, day.toordinal(), to_scaled(balance)) for n, a in enumerate(accounts)
                for day, balance in fed.get(a.account_id, ())]
    opening_day = (warm_up - _ONE_DAY).toordinal()
    return Page([a.account_id for a in accounts], [a.customer_id for a in accounts], opening,
                np.array([to_scaled(a.balance - a.available_balance) for a in accounts], np.int64),
                np.array([opening_day if before[a.account_id].known else 0 for a in accounts], np.int64),
                np.array([last_days[a.account_id].toordinal() if a.account_id in last_days else 0 for a in accounts],
                         np.int64),
                account, np.asarray(columns.micros, np.int64), after, signed,
                columns.transaction_id, np.array([f[0] for f in fed_rows], np.int64),
                np.array([f[1] for f in fed_rows], np.int64), np.array([f[2] for f in fed_rows], np.int64))


class TriggerBacktestService:
    def __init__(self, database: Database, clock: Clock = utc_now, *, prefilter: bool = True,
                 scaled: bool = True) -> None:
        """`prefilter=False`: every account read and replayed whole; `scaled=False`: a balance condition
        replayed by the general replay too (what the tests compare the pre-filter and vector_replay with).
        Either way replay looks for no bound of its own: with the pre-filter, each account's history comes
        cut and carries its last day (account_history)."""
        self._database = database
        self._clock = clock
        self._prefilter = prefilter
        self._scaled = scaled

    async def backtest(self, caller: Caller, rule_id: str, start: dt.date | None, end: dt.date | None,
                       unit_costs: Sequence[UnitCost] = ()) -> dict[str, Any]:
        """Replays the rule's current version over [start, end] and keeps the result as its latest
        backtest (unless the rule changed version meanwhile). Returns the result as kept: JSON in the
        shape of engage.triggers.v1.TriggerRuleBacktest (server.domain.triggers.backtest.to_json)."""
        caller.require_role(*ADMINS)
        start, end = backtest.check_period(start, end)
        costs = backtest.check_unit_costs(unit_costs)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rule = await uow.trigger_rules.get(rule_id)
            if rule is None:
                raise not_found("trigger_rule", rule_id)
            result = await self._run(uow, rule, start, end, costs)
        stored = backtest.to_json(result)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.trigger_rules.set_latest_backtest(rule_id, rule.version, stored):
                await uow.commit()
        return stored

    async def _run(self, uow: UnitOfWork, rule: TriggerRule, start: dt.date, end: dt.date,
                   costs: Mapping[str, UnitCost]) -> BacktestResult:
        custom = await uow.attribute_definitions.all()
        condition = parse_condition(rule.definition.condition, AttributeCatalogue.of(custom))
        definitions = {d.name: d for d in custom} if _reads_facts(condition) else None
        tally = Tally()
        # Balance conditions: the replay on arrays, the same firings.
        prepared = prepare(condition) if self._scaled and supports(condition) else None
        scaled = prepared is not None
        audience = await _Audience.of(uow, rule)
        async with contextlib.AsyncExitStack() as stack:
            # Up to READING_LANES sessions read pages in turn (page n on lane n mod their number), each a page
            # ahead of the replay: PostgreSQL answers on one core per session, the replay runs on what is
            # left. Each statement reads its own snapshot either way (read committed).
            sessions = [(uow, TriggerBacktestRepository(uow.session, uow.tenant_id))]
            while len(sessions) < READING_LANES and self._database.has_spare_connection():
                lane = await stack.enter_async_context(UnitOfWork(self._database, uow.tenant_id))
                reads = TriggerBacktestRepository(lane.session, lane.tenant_id)
                if not await reads.connected():
                    break  # another task took the spare connection meanwhile: fewer lanes
                sessions.append((lane, reads))
            for _, reads in sessions:
                await reads.within_plans()
            pager = _Pager(audience)
            lanes = [self._histories(lane, reads, pager, itertools.count(n, len(sessions)), condition, start, end,
                                     definitions, scaled=scaled, sampling=lambda: tally.sampling)
                     for n, (lane, reads) in enumerate(sessions)]
            upcoming = [asyncio.ensure_future(anext(lane, None)) for lane in lanes]
            try:
                for page in itertools.count():
                    histories = await upcoming[page % len(lanes)]
                    if histories is None:
                        break
                    upcoming[page % len(lanes)] = asyncio.ensure_future(anext(lanes[page % len(lanes)], None))
                    if isinstance(histories, Page):
                        assert prepared is not None
                        # In a thread: numpy lets go of the interpreter in its loops, so the next pages'
                        # statements go out and come back meanwhile.
                        if histories.transaction_ids is None:  # read once the sample was full: counted only
                            assert not tally.sampling
                            for fired in await asyncio.to_thread(vector_fired, prepared, histories, start=start,
                                                                 end=end, cooldown=rule.definition.cooldown):
                                tally.count(*fired)
                            continue
                        for firing in await asyncio.to_thread(vector_replay, prepared, histories, start=start,
                                                              end=end, cooldown=rule.definition.cooldown):
                            tally.add(firing)
                        continue
                    # The general replay hands the loop back between customers (a customer's accounts never
                    # apart) so that the next pages' statements go out and come back.
                    for group in _customer_groups(histories, CUSTOMERS_PER_REPLAY):
                        for firing in replay(condition, group, start=start, end=end,
                                             cooldown=rule.definition.cooldown, prefilter=False):
                            tally.add(firing)
                        await asyncio.sleep(0)
            finally:
                for task in upcoming:
                    if not task.done():
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                for pages in lanes:
                    await pages.aclose()
        sends = backtest.sends_per_firing(rule.definition.actions, await _event_channels(uow, rule))
        estimates = backtest.estimate(tally.firing_count, sends, costs)
        return tally.result(rule.rule_id, rule.version, start, end, estimates, self._clock())

    async def _histories(self, uow: UnitOfWork, reads: TriggerBacktestRepository, pager: _Pager,
                         pages: Iterator[int], condition: Condition, start: dt.date, end: dt.date,
                         definitions: Mapping[str, Any] | None, *, scaled: bool = False,
                         sampling: Callable[[], bool] = lambda: True) -> AsyncGenerator[list[AccountHistory] | Page]:
        """The audience's accounts' histories, a page of customers at a time: the pager's `pages` (up to the
        first empty one), read on this unit of work; `scaled`: as vector_replay takes them (a balance
        condition's, which reads no facts), their postings' transaction ids only while `sampling()` (the
        tally still keeps firings whole: once it does not, it never does again, so a page read then is
        only counted)."""
        warm_up = start - dt.timedelta(days=history_days(condition))
        tests = threshold_tests(condition) if self._prefilter and can_bound(condition) else None
        since, until = _midnight(warm_up), _midnight(end + _ONE_DAY)
        for page in pages:
            customers = await pager.page(page, reads)
            if not customers:
                return
            read = await reads.page_accounts(customers, warm_up, since, until, end)
            accounts, fed = read.accounts, read.fed
            ids = [a.account_id for a in accounts]
            before = {i: Before(read.fed_before.get(i), read.posted_before.get(i)) for i in ids}
            openings = await _openings(reads, accounts, read.firsts, before, since)
            limits = dict.fromkeys(ids, until)  # each account's postings are read up to its limit
            last_days: dict[str, dt.date] = {}
            if tests is not None:
                last_days = await _last_days(reads, condition, tests, openings, before, warm_up, since, until, end)
                limits = {i: _midnight(min(last_days[i], end) + _ONE_DAY) if i in last_days else until
                          for i in ids if i not in last_days or last_days[i] >= start}
            if scaled:
                replayed = [a for a in accounts if a.account_id in limits]
                columns = await reads.posting_columns({a.account_id: limits[a.account_id] for a in replayed}, since,
                                                      with_ids=sampling())
                yield balance_page(replayed, columns, openings, fed, before, warm_up, last_days)
                continue
            stored = await reads.postings(limits, since)
            facts: Mapping[str, CustomerFacts] = {}
            if definitions is not None:
                facts = await uow.segment_reads.facts_of(customers, definitions)
            yield [account_history(a, stored.get(a.account_id, ()), openings[a.account_id], fed.get(a.account_id, ()),
                                   before[a.account_id].known, warm_up, facts.get(a.customer_id, CustomerFacts()),
                                   last_days.get(a.account_id))
                   for a in accounts if a.account_id in limits]


@dataclass(frozen=True)
class _Audience:
    """Whom the rule's audience takes: the customers named, or a selection (a persona id, or an audience's)."""

    customer_ids: Sequence[str] | None = None
    selection: Selection | str | None = None

    @classmethod
    async def of(cls, uow: UnitOfWork, rule: TriggerRule) -> _Audience:
        audience = rule.definition.audience
        if audience.kind is AudienceKind.CUSTOMERS:
            return cls(customer_ids=audience.customer_ids)
        if audience.kind is AudienceKind.PERSONA:
            return cls(selection=audience.reference_id)
        if audience.kind is AudienceKind.AUDIENCE:
            return cls(selection=await audience_selection(uow, audience.reference_id)
                       or Selection((), AudienceMode.ANY))
        return cls()


class _Pager:
    """The audience's customers in pages of CUSTOMERS_PER_CHUNK, in id order, listed a few pages at a time by
    whichever reading lane first needs them (one lane lists at a time); each page handed out once."""

    def __init__(self, audience: _Audience) -> None:
        self._audience = audience
        self._pages: dict[int, list[str]] = {}
        self._listed = 0  # pages listed so far
        self._after: str | None = None
        self._exhausted = False
        self._lock = asyncio.Lock()

    async def page(self, page: int, reads: TriggerBacktestRepository) -> list[str]:
        async with self._lock:
            while page >= self._listed and not self._exhausted:
                customers = await reads.customers_after(
                    self._after, CUSTOMERS_PER_CHUNK * PAGES_LISTED, customer_ids=self._audience.customer_ids,
                    selection=self._audience.selection)
                for first in range(0, len(customers), CUSTOMERS_PER_CHUNK):
                    self._pages[self._listed] = customers[first:first + CUSTOMERS_PER_CHUNK]
                    self._listed += 1
                self._exhausted = len(customers) < CUSTOMERS_PER_CHUNK * PAGES_LISTED
                if customers:
                    self._after = customers[-1]
        return self._pages.pop(page, [])


async def _openings(reads: TriggerBacktestRepository, accounts: Sequence[BacktestAccount],
                    firsts: Mapping[str, FirstPosting], before: Mapping[str, Before], since: dt.datetime
                    ) -> dict[str, Decimal]:
    """Each account's opening balance, from its first posting in the span (`firsts`); the sums of what was
    posted from the warm-up on are read only for the accounts that need them."""
    found = {a.account_id: opening_balance(a, firsts.get(a.account_id), None, before[a.account_id]) for a in accounts}
    wanting = [a for a in accounts if found[a.account_id] is None]
    if wanting:
        totals = await reads.sums_since([a.account_id for a in wanting], since)
        for a in wanting:
            found[a.account_id] = opening_balance(a, firsts.get(a.account_id), totals.get(a.account_id, Decimal(0)),
                                                  before[a.account_id])
    return {account_id: opening for account_id, opening in found.items() if opening is not None}


async def _last_days(reads: TriggerBacktestRepository, condition: Condition, tests: Sequence[ThresholdTest],
                     openings: Mapping[str, Decimal], before: Mapping[str, Before], warm_up: dt.date,
                     since: dt.datetime, until: dt.datetime, end: dt.date) -> dict[str, dt.date]:
    """The last day the condition can hold, of each account that has one (server.domain.triggers.prefilter),
    computed by the database from the rows it would read. The opening counts on the day before the warm-up
    when known, else before any day. The postings read come in time order, each booked on or after the
    warm-up's first day, so every account is in booking order."""
    values = {account_id: (to_scaled(opening), warm_up - _ONE_DAY if before[account_id].known else dt.date.min)
              for account_id, opening in openings.items()}
    found = await reads.threshold_days(values, [(t.comparator, t.scaled_threshold(SCALED_PER_UNIT)) for t in tests],
                                       since, until, warm_up, end)
    last_days = {}
    for account_id, days in found.items():
        bounds = {test: leaf_bound(last, first_after, test.reach)
                  for test, (last, first_after) in zip(tests, days, strict=True)}
        last = combined_bound(condition, bounds.__getitem__)
        if last is not None:
            last_days[account_id] = last
    return last_days


def _customer_groups(histories: Sequence[AccountHistory], size: int) -> Iterator[list[AccountHistory]]:
    """The histories in groups of `size` customers, each customer's accounts in one group, customers in the
    order their first account comes (replay's order)."""
    by_customer: dict[str, list[AccountHistory]] = {}
    for history in histories:
        by_customer.setdefault(history.opening.customer_id, []).append(history)
    customers = list(by_customer.values())
    for first in range(0, len(customers), size):
        yield [history for accounts in customers[first:first + size] for history in accounts]


def _reads_facts(condition: Condition) -> bool:
    return any(isinstance(leaf, SegmentLeaf) for leaf in leaves(condition))


async def _event_channels(uow: UnitOfWork, rule: TriggerRule) -> dict[str, set[str]]:
    """event id -> the channels it has a message for, of the rule's message actions' events."""
    event_ids = {a.event_id for a in rule.definition.actions if isinstance(a, MessageAction)}
    if not event_ids:
        return {}
    return {event.event_id: {str(m.channel) for m in event.messages} for event in await uow.events.get_many(event_ids)}
