"""Real-time trigger evaluation (docs/triggers.md#firings): the bus handler `trigger_rules` on
TransactionsPosted and BalancesRecorded, and the daily re-check of calendar-dependent rules.

Per batch, a few statements over all its accounts: the live rules (compiled once per version), the
accounts' day series back as far as the rules read, the state rows, the customers' last firings, who
of them each audience takes, and their attributes and holdings when a condition names some. Then every
posting is applied to its account's series in order and each rule evaluated in memory, the series and
states written back, and the new firings' actions done (server.services.triggers.actions) in the same
unit of work. History loaded as backfill moves the series and fires nothing.

Only BANK-container accounts are followed: a card's, loan's or investment's balance is a debt or a
holding, not collected funds (the derived attributes leave them out for the same reason)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import repeat
from operator import contains

import structlog

from server.domain.events import BalancesRecorded, Posting, TransactionsPosted
from server.domain.ids import new_id
from server.domain.ingest.model import Direction
from server.domain.money import from_scaled, to_scaled
from server.domain.segments.attributes import AttributeDefinition
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.evaluate import Evaluation, PointEvaluation, Program, compiled
from server.domain.triggers.firing import ConditionKind, Firing, cooled_down
from server.domain.triggers.guards import families
from server.domain.triggers.parts import part_of
from server.domain.triggers.records import FiringRecord
from server.domain.triggers.rules import Audience, AudienceKind
from server.domain.triggers.scaled_evaluate import ScaledPoint, ScaledProgram, scaled_compiled, scaled_program
from server.domain.triggers.scaled_series import ColumnsMark, ScaledAccount, ScaledColumns, ScaledDay, decimal_day
from server.domain.triggers.series import AccountDay, AccountSnapshot, apply_fed_balance, apply_posting
from server.domain.triggers.unread_facts import UNREAD_FACTS, FactsNotRead
from server.services.activity_metrics import NO_ACTIVITY_METRICS, ActivityMetrics
from server.services.audiences import audience_selection
from server.services.bus import HandlerFunction, TogetherFunction
from server.services.clock import Clock, utc_now
from server.services.events import AfterCommit
from server.services.triggers.actions import TriggerActions
from server.services.triggers.live_rules import LiveRule, LiveRules
from server.store.db import Database
from server.store.repositories.trigger_runtime import SeriesRead, StateKey, StoredAccount
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

DEPOSIT_CONTAINER = "BANK"
RECHECK_CHUNK = 500  # accounts per unit of work of the daily re-check
NO_FACTS = CustomerFacts()


# A rule as evaluate_scaled looks at it: its condition compiled for a scaled point; for a state condition its
# id and version (None: an event condition); then the rule, its condition compiled for a Decimal, its id.
_ScaledPlan = tuple[ScaledProgram, tuple[str, int] | None, tuple[LiveRule, Program, str]]
# A guard family's plans: its loosest guard (None: a rule alone), its state rules' (rule id, version), its rules.
_ScaledGroup = tuple[ScaledProgram | None, frozenset[tuple[str, int]], list[_ScaledPlan]]
_NONE_HELD: frozenset[tuple[str, int]] = frozenset()
# Guard families of the rules a posting can make hold, by those rules (their LiveRules' ids, in order: the
# same objects while the rule set stands, server.services.triggers.live_rules), kept across batches.
_GROUPS: dict[tuple[int, ...], tuple[list[LiveRule], list[_ScaledGroup]]] = {}
_MOST_GROUPS = 256


@dataclass
class _Batch:
    """One evaluation's working state: what was read, and what is to be written."""

    now: dt.datetime
    rules: list[LiveRule]
    audiences: dict[str, set[str] | None]  # rule id -> customers it takes (None: everyone)
    facts: dict[str, CustomerFacts]
    states: set[StateKey]
    last_fired: dict[tuple[str, str], dt.datetime]
    # The facts of a customer absent from `facts`: none (NO_FACTS), or not read yet (UNREAD_FACTS: a rule
    # that reads them raises FactsNotRead, and _evaluate_postings undoes the account's work).
    absent_facts: CustomerFacts = NO_FACTS
    changed_days: dict[tuple[str, dt.date], AccountDay] = field(default_factory=dict)
    changed_rows: list[tuple[str, ScaledDay]] = field(default_factory=list)  # evaluate_scaled's, as stored
    became_true: list[StateKey] = field(default_factory=list)
    became_false: list[StateKey] = field(default_factory=list)
    firings: list[tuple[LiveRule, Firing]] = field(default_factory=list)
    # Each firing's cool-down key and its last firing before it, in order: what `undo` puts back.
    cooled: list[tuple[tuple[str, str], dt.datetime | None]] = field(default_factory=list)
    postings: dict[str, Posting] = field(default_factory=dict)  # those firings were made at, by transaction id
    # Per rule, what `evaluate` looks at, made at its first call: (rule, its condition compiled, is an event
    # condition, the direction it needs, who its audience takes, rule id, version).
    plan: list[tuple[LiveRule, Program, bool, Direction | None, set[str] | None, str, int]] | None = None
    # For evaluate_scaled, by the posting's direction and which of the batch's distinct audiences (`taking`)
    # take its customer: the state rules and the event rules it can make hold, in the rules' order.
    by_direction: dict[tuple[Direction, tuple[bool, ...]], list[_ScaledGroup]] | None = None
    taking: list[set[str]] = field(default_factory=list)
    # For evaluate_scaled, `states` by account: the (rule id, version) of each state holding there, so that a
    # rule's state is looked up without a key made per rule and posting (kept with `states`).
    held_by_account: dict[str, set[tuple[str, int]]] | None = None
    # Each rule's position (by its LiveRule's id), made when a posting first fires two rules at once.
    positions: dict[int, int] | None = None

    def mark(self) -> tuple[int, int, int, int]:
        """Where the firings, state changes and cool-downs stand, for `undo`."""
        return len(self.firings), len(self.became_true), len(self.became_false), len(self.cooled)

    def undo(self, mark: tuple[int, int, int, int]) -> None:
        """Takes back what evaluate_scaled recorded since `mark` (one account's postings, cut short): its
        firings, the cool-downs they started and the states they changed. Postings noted for the firings
        stay: they are looked up by the firings kept."""
        fired, became_true, became_false, cooled = mark
        for key, before in reversed(self.cooled[cooled:]):
            if before is None:
                del self.last_fired[key]
            else:
                self.last_fired[key] = before
        del self.cooled[cooled:], self.firings[fired:]
        # A key's changes alternate: more to true than to false means it did not hold at the mark.
        net = Counter(self.became_true[became_true:])
        net.subtract(self.became_false[became_false:])
        del self.became_true[became_true:], self.became_false[became_false:]
        held_by_account = self.held_by_account
        for state, changes in net.items():
            if changes:
                rule_id, version, account_id = state
                if changes > 0:
                    self.states.discard(state)
                    if held_by_account is not None:
                        held_by_account[account_id].discard((rule_id, version))
                else:
                    self.states.add(state)
                    if held_by_account is not None:
                        held_by_account[account_id].add((rule_id, version))

    @property
    def rule_order(self) -> dict[int, int]:
        if self.positions is None:
            self.positions = {id(live): position for position, live in enumerate(self.rules)}
        return self.positions

    def evaluate(self, snapshot: AccountSnapshot, day: dt.date, posting: Posting | None,
                 before: AccountSnapshot | None) -> None:
        """Every rule for the account at this point, the firings and state changes recorded. A rule whose
        audience does not take the customer, or an event rule at a posting going the other way (or at no
        posting), cannot hold: it is not evaluated. The rest share one PointEvaluation (each metric
        computed once for all of them)."""
        customer = snapshot.customer_id
        direction = None if posting is None else posting.direction
        point = PointEvaluation(snapshot, day, posting, before, self.facts.get(customer, self.absent_facts))
        states = self.states
        if self.plan is None:
            self.plan = [(live, compiled(live.condition), live.kind is ConditionKind.EVENT, live.direction,
                          self.audiences[live.rule.rule_id], live.rule.rule_id, live.rule.version)
                         for live in self.rules]
        for live, program, is_event, needs, takes, rule_id, version in self.plan:
            if is_event:
                if posting is None or (needs is not None and needs is not direction):
                    continue
                state = False
            if takes is not None and customer not in takes:
                continue
            matched, read = point.run(program)
            if not is_event:
                key = (rule_id, version, snapshot.account_id)
                held = key in states
                if matched != held:
                    (self.became_true if matched else self.became_false).append(key)
                    if matched:
                        states.add(key)
                    else:
                        states.discard(key)
                    self.held_by_account = None  # derived from `states`: rebuilt when next needed
                state = held
            if not matched or state:  # decide_fire's rule, written out on this hot path: no change, no firing
                continue
            cooldown_key = (rule_id, customer)
            if cooled_down(self.last_fired.get(cooldown_key), live.rule.definition.cooldown, self.now):
                self.firings.append((live, Firing(snapshot.account_id, customer, day, self.now,
                                                  None if posting is None else posting.transaction_id,
                                                  dict(Evaluation(matched, read).values))))
                self.last_fired[cooldown_key] = self.now
                if posting is not None:
                    self.postings[posting.transaction_id] = posting

    def evaluate_scaled(self, account_id: str, customer: str, day: dt.date, posting: Posting,
                        point: ScaledPoint) -> None:
        """Every rule for the account at a posting, decided on its scaled series; the Decimal snapshot made
        only for a rule that fires, for the values it shows. As `evaluate`, with the rules a posting of this
        direction can make hold, and whose audiences take the customer, picked once per batch for each
        direction and set of audiences taking (this loop runs fifty rules at every posting). Rules of one
        guard family (server.domain.triggers.guards) are passed over together where their loosest guard
        fails and none of their states holds: none of them can hold, or change state."""
        by_direction = self.by_direction
        if by_direction is None:
            by_direction = self.by_direction = {}
            self.taking = list({id(taken): taken for taken in self.audiences.values() if taken is not None}.values())
        taking = self.taking
        # Which audiences take the customer, tested at C speed (this runs at every posting).
        which = (posting.direction, tuple(map(contains, taking, repeat(customer))) if taking else ())
        plans = by_direction.get(which)
        if plans is None:
            plans = by_direction[which] = self._scaled_plans(posting.direction, customer)
        held_by_account = self.held_by_account
        if held_by_account is None:
            held_by_account = self.held_by_account = defaultdict(set)
            for rule_id, version, state_account in self.states:
                held_by_account[state_account].add((rule_id, version))
        held = held_by_account.get(account_id, _NONE_HELD)
        fired_before = len(self.firings)
        for guard, guarded_states, members in plans:
            if guard is not None and not guard(point) and held.isdisjoint(guarded_states):
                continue
            # Three names a rule (what each one needs), the rest unpacked only for a rule that acts.
            for decide, rule_key, rule in members:
                matched = decide(point)
                if rule_key is not None:  # a state condition
                    if matched == (rule_key in held):  # no crossing: no change, no firing
                        continue
                    key = (*rule_key, account_id)
                    if matched:
                        self.became_true.append(key)
                        self.states.add(key)
                        held = held_by_account[account_id]
                        held.add(rule_key)
                    else:
                        self.became_false.append(key)
                        self.states.discard(key)
                        held_by_account[account_id].discard(rule_key)
                        continue
                elif not matched:
                    continue
                live, program, rule_id = rule
                cooldown_key = (rule_id, customer)
                last_fired = self.last_fired.get(cooldown_key)
                if not cooled_down(last_fired, live.rule.definition.cooldown, self.now):
                    continue
                confirmed, read = point.readings(program)
                if not confirmed:  # a bug: the two evaluations are to agree (tests compare them)
                    log.error("trigger_scaled_evaluation_differs", rule=rule_id, account=account_id,
                              transaction=posting.transaction_id)
                    continue
                self.firings.append((live, Firing(account_id, customer, day, self.now, posting.transaction_id,
                                                  dict(Evaluation(True, read).values))))
                self.cooled.append((cooldown_key, last_fired))
                self.last_fired[cooldown_key] = self.now
                self.postings[posting.transaction_id] = posting
        if len(self.firings) > fired_before + 1:  # a posting's firings in the rules' order, as `evaluate` makes them
            order = self.rule_order
            self.firings[fired_before:] = sorted(self.firings[fired_before:], key=lambda fired: order[id(fired[0])])

    def _scaled_plans(self, direction: Direction, customer: str) -> list[_ScaledGroup]:
        """The rules a posting of this direction can make hold whose audiences take the customer, in guard
        families (a family's loosest guard compiled, and its state rules' keys), in the rules' order."""
        eligible = [live for live in self.rules
                    if (live.kind is ConditionKind.STATE or live.direction in (None, direction))
                    and ((takes := self.audiences[live.rule.rule_id]) is None or customer in takes)]
        by_rules = tuple(map(id, eligible))
        known = _GROUPS.get(by_rules)
        if known is not None:
            return known[1]
        groups: list[_ScaledGroup] = []
        for loosest, positions in families([live.condition for live in eligible]):
            members = [(scaled_compiled(live.condition), None if live.kind is ConditionKind.EVENT else live.key,
                        (live, compiled(live.condition), live.rule.rule_id))
                       for live in (eligible[position] for position in positions)]
            groups.append((None if loosest is None else scaled_program(loosest),
                           frozenset(key for _, key, _ in members if key is not None), members))
        if len(_GROUPS) >= _MOST_GROUPS:
            _GROUPS.clear()
        _GROUPS[by_rules] = (eligible, groups)  # the rules kept with it, so that their ids stay theirs
        return groups


class TriggerEvaluationService:
    def __init__(self, database: Database, actions: TriggerActions, clock: Clock = utc_now,
                 metrics: ActivityMetrics = NO_ACTIVITY_METRICS) -> None:
        self._database = database
        self._actions = actions
        self._clock = clock
        self._metrics = metrics
        self._rules = LiveRules()

    async def warm_up(self, tenant_ids: Iterable[str]) -> None:
        """The live rules of these tenants compiled and kept, as the first batch of each would have them."""
        for tenant_id in tenant_ids:
            async with UnitOfWork(self._database, tenant_id) as uow:
                await self._rules.with_definitions(uow, self._clock())

    # -- bus handlers ---------------------------------------------------------------------------------

    def part_handler(self, part: int) -> tuple[HandlerFunction, Callable[[TransactionsPosted], bool]]:
        """The bus handler of one part (server.domain.triggers.parts) and whether an event concerns it."""
        async def handle(uow: UnitOfWork, tenant_id: str, event: TransactionsPosted) -> AfterCommit | None:
            return await self.on_transactions_posted(uow, tenant_id, event, frozenset({part}))

        def wants(event: TransactionsPosted) -> bool:
            return any(p.account_container == DEPOSIT_CONTAINER and part_of(p.customer_id) == part
                       for p in event.postings)
        return handle, wants

    def parts_together(self, names: Sequence[str]) -> TogetherFunction:
        """The server's own run of the parts (MessageBus.run_together): one evaluation of the postings of
        every part claimed, `names[k]` being part k's handler."""
        async def handle(uow: UnitOfWork, tenant_id: str, event: TransactionsPosted,
                         claimed: frozenset[str]) -> AfterCommit | None:
            return await self.on_transactions_posted(
                uow, tenant_id, event, frozenset(part for part, name in enumerate(names) if name in claimed))
        return handle

    async def on_transactions_posted(self, uow: UnitOfWork, tenant_id: str, event: TransactionsPosted,
                                     parts: Collection[int]) -> AfterCommit | None:
        """Bus handler (trigger_rules, the parts given: server.domain.triggers.parts): the postings of those
        parts' customers applied to their accounts' day series in order, each live rule evaluated at each
        posting; backfill moves the series only."""
        postings = [p for p in event.postings
                    if p.account_container == DEPOSIT_CONTAINER and part_of(p.customer_id) in parts]
        if not postings:
            return None
        now = self._clock()
        rules, definitions = await self._rules.with_definitions(uow, now) if event.live else ([], ())
        by_account: dict[str, list[Posting]] = defaultdict(list)
        for posting in postings:
            by_account[posting.account_id].append(posting)
        if not rules:  # nothing reads the series now: moved in one statement, none of it read back
            await uow.trigger_runtime.lock_accounts(by_account.keys())
            await uow.trigger_runtime.apply_postings([p for ps in by_account.values() for p in ps])
            return None
        # Planned for values since the rule set's stamp was read (TriggerRuntimeRepository.rule_set_stamp).
        # What the account locks do not guard (other handlers change it without them) is read before they
        # are taken (the accounts with them, in their statement): the locks are held to the commit, and
        # batches that share an account wait on them.
        customers = {ps[0].customer_id for ps in by_account.values()}
        # Facts that only guarded rules read are read for the customers whose rules come to ask (few: the
        # guard fails at most postings); an unguarded rule would ask at every posting.
        reading = [live for live in rules if live.reads_attributes or live.reads_holdings]
        on_demand = bool(reading) and all(live.guarded for live in reading)
        audiences, facts = await self._who(uow, rules, definitions, customers, with_facts=not on_demand)
        held = await uow.trigger_runtime.lock_accounts_and_held(by_account.keys())
        since = min(p.booking_date for p in postings) - dt.timedelta(days=max((r.history_days for r in rules),
                                                                              default=1))
        read = await self._series(uow, rules, by_account.keys(), since, customers, scaled=True)
        batch = _Batch(now, rules, audiences, facts, read.states, read.last_fired,
                       absent_facts=UNREAD_FACTS if on_demand else NO_FACTS)
        unread = _evaluate_postings(batch, by_account, held, read.scaled_columns)
        if unread:  # read under the accounts' locks, which do not guard them: as current as read before
            facts = await self._facts(uow, reading, definitions, _customers_of(by_account, unread))
            _evaluate_with_facts(batch, by_account, unread, facts, held, read.scaled_columns)
        return await self._write(uow, batch)

    async def on_balances_recorded(self, uow: UnitOfWork, tenant_id: str, event: BalancesRecorded
                                   ) -> AfterCommit | None:
        """Bus handler (trigger_rules_balances): fed end-of-day balances into the day series, and the state
        conditions re-checked as of each fed day (no posting: deposit and withdrawal conditions are false)."""
        accounts = await uow.trigger_runtime.accounts({b.account_id for b in event.balances})
        fed = sorted((b for b in event.balances if (a := accounts.get(b.account_id)) is not None
                      and a.container == DEPOSIT_CONTAINER), key=lambda b: (b.account_id, b.date))
        if not fed:
            return None
        now = self._clock()
        fed_accounts = {b.account_id for b in fed}
        await uow.trigger_runtime.lock_accounts(fed_accounts)
        live, definitions = await self._rules.with_definitions(uow, now)  # and planned for values from here
        rules = [r for r in live if r.kind is ConditionKind.STATE]
        since = min(b.date for b in fed) - dt.timedelta(days=max((r.history_days for r in rules), default=1))
        customers = {accounts[a].customer_id for a in fed_accounts}
        read = await self._series(uow, rules, fed_accounts, since, customers)
        snapshots = {a: _snapshot(accounts[a], read.days.get(a, ())) for a in fed_accounts}
        batch = _Batch(now, rules, *await self._who(uow, rules, definitions, customers), read.states,
                       read.last_fired)
        for balance in fed:
            snapshot, row = apply_fed_balance(snapshots[balance.account_id], balance.date, balance.balance.amount)
            snapshots[balance.account_id] = snapshot
            batch.changed_days[(balance.account_id, row.day)] = row
            if rules:
                batch.evaluate(snapshot, balance.date, None, None)
        return await self._write(uow, batch)

    # -- the daily re-check ---------------------------------------------------------------------------

    async def recheck_all(self, as_of: dt.date | None = None) -> int:
        """The daily cron: every enabled tenant re-checked as of `as_of` (today's UTC date when None, the
        day postings are booked on). The firings made."""
        day = as_of or self._clock().astimezone(dt.UTC).date()
        async with UnitOfWork(self._database) as uow:
            tenants = [t.tenant_id for t in await uow.tenants.list() if not t.disabled]
        return sum([await self.recheck(tenant_id, day) for tenant_id in tenants])

    async def recheck(self, tenant_id: str, as_of: dt.date) -> int:
        """Calendar-dependent state conditions re-checked as of `as_of` for every deposit account (a month
        ends, a window moves, without a posting), RECHECK_CHUNK accounts per unit of work. A repeated
        run fires nothing twice (firings of a day are unique per rule and account). The firings made."""
        fired = 0
        after: str | None = None
        while True:
            async with UnitOfWork(self._database, tenant_id) as uow:
                now = self._clock()
                live, definitions = await self._rules.with_definitions(uow, now)
                rules = [r for r in live if r.kind is ConditionKind.STATE and r.calendar_dependent]
                if not rules:
                    return fired
                accounts = await uow.trigger_runtime.deposit_accounts_after(after, RECHECK_CHUNK)
                if not accounts:
                    return fired
                since = as_of - dt.timedelta(days=max(r.history_days for r in rules))
                customers = {a.customer_id for a in accounts}
                read = await self._series(uow, rules, [a.account_id for a in accounts], since, customers)
                snapshots = {a.account_id: _snapshot(a, [d for d in read.days.get(a.account_id, ())
                                                         if d.day <= as_of]) for a in accounts}
                batch = _Batch(now, rules, *await self._who(uow, rules, definitions, customers),
                               read.states, read.last_fired)
                for snapshot in snapshots.values():
                    batch.evaluate(snapshot, as_of, None, None)
                after_commit = await self._write(uow, batch)
                await uow.commit()
                fired += len(batch.firings)
            if after_commit is not None:
                await after_commit()
            after = accounts[-1].account_id

    # -- shared steps ---------------------------------------------------------------------------------

    async def _who(self, uow: UnitOfWork, rules: list[LiveRule], definitions: Sequence[AttributeDefinition],
                   customers: set[str], *, with_facts: bool = True
                   ) -> tuple[dict[str, set[str] | None], dict[str, CustomerFacts]]:
        """Who of these customers each rule's audience takes (rule id -> customers, None: everyone), and
        (`with_facts`) their facts when a condition reads some. `definitions`: the tenant's attribute
        definitions, as the rules were compiled with."""
        if not rules:
            return {}, {}
        # One read per distinct audience: rules often share a persona.
        taken: dict[Audience, set[str] | None] = {}
        for live in rules:
            audience = live.rule.definition.audience
            if audience not in taken:
                taken[audience] = await self._audience(uow, live, customers)
        audiences = {live.rule.rule_id: taken[live.rule.definition.audience] for live in rules}
        return audiences, await self._facts(uow, rules, definitions, customers) if with_facts else {}

    @staticmethod
    async def _facts(uow: UnitOfWork, rules: list[LiveRule], definitions: Sequence[AttributeDefinition],
                     customers: set[str]) -> dict[str, CustomerFacts]:
        """The customers' facts of the kinds the rules' conditions name (none read when they name none)."""
        values, holdings = any(r.reads_attributes for r in rules), any(r.reads_holdings for r in rules)
        if not (values or holdings):
            return {}
        return await uow.segment_reads.facts_of(customers, {d.name: d for d in definitions}, values=values,
                                                holdings=holdings, by_customer=True)

    @staticmethod
    async def _series(uow: UnitOfWork, rules: list[LiveRule], account_ids: Collection[str], since: dt.date,
                      customers: set[str], *, scaled: bool = False) -> SeriesRead:
        """Under the accounts' locks: their day series from `since` (scaled: as stored, in `scaled_days`), the
        states of the rules' state conditions there, and the customers' last firings of the rules."""
        return await uow.trigger_runtime.series(account_ids, since,
                                                [live.key for live in rules if live.kind is ConditionKind.STATE],
                                                [live.rule.rule_id for live in rules], customers, scaled=scaled)

    @staticmethod
    async def _audience(uow: UnitOfWork, live: LiveRule, customers: set[str]) -> set[str] | None:
        audience = live.rule.definition.audience
        match audience.kind:
            case AudienceKind.ALL:
                return None
            case AudienceKind.CUSTOMERS:
                return customers & set(audience.customer_ids)
            case AudienceKind.PERSONA:
                return await uow.trigger_runtime.selected(audience.reference_id, customers)
            case AudienceKind.AUDIENCE:
                selection = await audience_selection(uow, audience.reference_id)
                return set() if selection is None else await uow.trigger_runtime.selected(selection, customers)
        return set()

    async def _write(self, uow: UnitOfWork, batch: _Batch) -> AfterCommit | None:
        # A key that became true and false again within the batch nets out.
        await uow.trigger_runtime.save_series(
            ((account_id, row) for (account_id, _), row in batch.changed_days.items()),
            _net(batch.became_true, batch.states, True), _net(batch.became_false, batch.states, False), batch.now,
            scaled_rows=batch.changed_rows)
        if not batch.firings:
            return None
        records = [(live, FiringRecord(new_id(), live.rule.rule_id, live.rule.version, f.customer_id, f.account_id,
                                       f.fired_at, f.transaction_id, f.dedupe_key, dict(f.values)))
                   for live, f in batch.firings]
        planned = await self._actions.plan(uow, records, batch.postings)
        inserted = set(await uow.trigger_firings.add_firings(
            [replace(record, actions=planned.done[record.firing_id]) for _, record in records], planned.banners))
        new = [(live, record) for live, record in records if record.firing_id in inserted]
        tenant_id, fired_rules = uow.tenant_id, [record.rule_id for _, record in new]
        uow.after_commit(lambda: self._metrics.rules_fired(tenant_id, fired_rules))
        log.info("trigger_rules_fired", tenant=uow.tenant_id, firings=len(new),
                 rules=len({live.rule.rule_id for live, _ in new}))
        return await self._actions.perform(uow, planned, inserted)


def _snapshot(account: StoredAccount, days: Iterable[AccountDay]) -> AccountSnapshot:
    return AccountSnapshot(account.account_id, account.customer_id, account.currency, account.balance,
                           account.available_balance, tuple(days))


def _evaluate_postings(batch: _Batch, by_account: dict[str, list[Posting]], held_of: dict[str, int],
                       columns_of: dict[str, ScaledColumns]) -> list[str]:
    """Each account's postings applied to its scaled series in order and every rule evaluated at each; the
    rows they changed recorded for the write. `held_of`: each account's available minus current balance,
    scaled, as stored now (taken to hold throughout; none for an account not found). The series take the
    columns read over (postings change them).

    Where a customer's facts are not read (the batch's absent facts UNREAD_FACTS), an account at which a rule
    reads them is undone, its series included, and left with the customer's later accounts (one customer's
    accounts are evaluated in order: the cool-down counts across them) for a call once they are read. The
    accounts left, in order."""
    unread: list[str] = []
    waiting: set[str] = set()  # customers whose facts a rule read
    for account_id, account_postings in by_account.items():
        customer = account_postings[0].customer_id
        if customer in waiting:
            unread.append(account_id)
            continue
        columns, held = columns_of.get(account_id), held_of.get(account_id)
        if columns is None:
            columns = ScaledColumns.empty()
        facts = batch.facts.get(customer, batch.absent_facts)
        as_read = columns.mark()
        decided = batch.mark() if facts is UNREAD_FACTS else None  # only those facts raise FactsNotRead
        try:
            series, changed_from = _apply_postings(batch, account_id, customer, columns, as_read, held,
                                                   account_postings, facts)
        except FactsNotRead:
            assert decided is not None
            batch.undo(decided)
            columns.restore(as_read)
            waiting.add(customer)
            unread.append(account_id)
            continue
        batch.changed_rows.extend((account_id, series.row(index)) for index in range(changed_from, len(series.days)))
    return unread


def _customers_of(by_account: dict[str, list[Posting]], account_ids: Iterable[str]) -> set[str]:
    return {by_account[account_id][0].customer_id for account_id in account_ids}


def _evaluate_with_facts(batch: _Batch, by_account: dict[str, list[Posting]], unread: list[str],
                         facts: dict[str, CustomerFacts], held_of: dict[str, int],
                         columns_of: dict[str, ScaledColumns]) -> None:
    """The accounts _evaluate_postings left (`unread`) evaluated again, with their customers' facts read since."""
    batch.facts, batch.absent_facts = facts, NO_FACTS
    _evaluate_postings(batch, {account_id: by_account[account_id] for account_id in unread}, held_of, columns_of)


def _apply_postings(batch: _Batch, account_id: str, customer: str, columns: ScaledColumns, as_read: ColumnsMark,
                    held: int | None, postings: list[Posting], facts: CustomerFacts) -> tuple[ScaledAccount, int]:
    """The account's postings applied to its series (taking `columns` over, `as_read` their mark) in order,
    every rule evaluated at each; the series, and the index of the first row they changed."""
    first = postings[0]
    after, amount = to_scaled(first.balance_after.amount), to_scaled(first.amount.amount)
    series = ScaledAccount.of_columns(after - amount, 0 if held is None else held, columns)
    # What a firing's Decimal point is made from (once per account, not per posting: most fire nothing).
    decimal_point = _decimal_points(account_id, first.currency, held, series, postings, facts, as_read)
    changed_from = len(series.days)
    for number, posting in enumerate(postings):
        if number:
            after, amount = to_scaled(posting.balance_after.amount), to_scaled(posting.amount.amount)
        before = series.balance
        day = dt.date.fromordinal(series.apply_posting(after, amount, posting.booking_date.toordinal()))
        changed_from = min(changed_from, len(series.days) - 1)
        batch.evaluate_scaled(account_id, customer, day, posting,
                              ScaledPoint(series, day, posting.direction, amount if amount >= 0 else -amount,
                                          before, facts, partial(decimal_point, number)))
    return series, changed_from


def _decimal_points(account_id: str, currency: str, held: int | None, series: ScaledAccount,
                    postings: Sequence[Posting], facts: CustomerFacts, as_read: ColumnsMark
                    ) -> Callable[[int], PointEvaluation]:
    """The Decimal point at posting `number` of `postings` (counted from 0), as the Decimal series sees it:
    the account's rows as read, each posting up to it applied in turn (what a firing's values are read
    from). `series`: the account's, before the postings; they change only its latest row and append rows
    after it, so the rows as read are the series' own but for that row's values, kept in `as_read`."""
    read, latest = as_read

    def point_at(number: int) -> PointEvaluation:
        rows = [decimal_day(series.row(index)) for index in range(read - 1)]
        if read:
            rows.append(decimal_day((dt.date.fromordinal(latest[0]), *latest[1:])))
        first = postings[0]
        opening = first.balance_after.amount - first.amount.amount
        available = opening if held is None else opening + from_scaled(held)
        snapshot = before = AccountSnapshot(account_id, first.customer_id, currency, opening, available, tuple(rows))
        day = None
        for posting in postings[:number + 1]:
            before = snapshot
            snapshot, changed = apply_posting(snapshot, posting)
            day = changed.day
        assert day is not None
        return PointEvaluation(snapshot, day, postings[number], before, facts)
    return point_at


def _net(changed: Sequence[StateKey], holding: set[StateKey], now_true: bool) -> list[StateKey]:
    """The keys whose final state (in `holding`) is the one they changed to."""
    return sorted({key for key in changed if (key in holding) is now_true})

