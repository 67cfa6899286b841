"""The tenant's rules that fire now, each condition parsed once per rule version (and per attribute
catalogue: a changed attribute default is read by the next parse), never per posting."""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from operator import is_

from server.domain.events import TransactionsPosted, kind_of
from server.domain.ingest.model import Direction
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition
from server.domain.segments.expression import Holds
from server.domain.triggers.condition import (
    Condition,
    SegmentLeaf,
    history_days,
    is_calendar_dependent,
    is_event_condition,
    leaves,
)
from server.domain.triggers.evaluate import required_direction
from server.domain.triggers.firing import ConditionKind
from server.domain.triggers.guards import guard_of
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.rules import TriggerRule
from server.services.clock import utc_now
from server.store.db import Database
from server.store.event_payloads import posting_count
from server.store.repositories.domain_events import WrittenEvents
from server.store.repositories.trigger_runtime import RuleSetStamp
from server.store.uow import UnitOfWork

CACHED_VERSIONS = 10_000
TRANSACTIONS_POSTED = kind_of(TransactionsPosted)


@dataclass(frozen=True)
class LiveRule:
    rule: TriggerRule
    condition: Condition
    kind: ConditionKind
    calendar_dependent: bool  # re-checked daily: a window or FOR months moves with the date alone
    history_days: int  # the days of series the condition reads, the evaluation day included
    reads_attributes: bool  # names attributes (segment leaves other than holds())
    reads_holdings: bool  # names holds()
    direction: Direction | None = None  # an event condition holds only at a posting going this way
    guarded: bool = False  # has a guard (server.domain.triggers.guards): asked only where the guard holds

    @property
    def key(self) -> tuple[str, int]:
        return self.rule.rule_id, self.rule.version


def compile_rule(rule: TriggerRule, catalogue: AttributeCatalogue) -> LiveRule:
    condition = parse_condition(rule.definition.condition, catalogue, field="trigger_rule.condition")
    segments = [leaf.expression for leaf in leaves(condition) if isinstance(leaf, SegmentLeaf)]
    return LiveRule(rule, condition, ConditionKind.of(is_event_condition(condition)),
                    is_calendar_dependent(condition), max(history_days(condition), 1),
                    any(not isinstance(e, Holds) for e in segments), any(isinstance(e, Holds) for e in segments),
                    required_direction(condition), guard_of(condition) is not None)


@dataclass(frozen=True)
class _RuleSet:
    stamp: RuleSetStamp
    active: tuple[TriggerRule, ...]  # the ACTIVE rules, live or not yet
    definitions: tuple[AttributeDefinition, ...]  # () when no rule is ACTIVE (none needed)


class LiveRules:
    """Compiled rule versions, kept across batches (a bounded cache: least recently used out first), and each
    tenant's rule set as last read. A batch reads only the set's stamp (RuleSetStamp: one small statement)
    and reads the rules and attribute definitions again only when it changed: never stale, as every batch
    sees what was committed when it began, as a full read would."""

    def __init__(self, capacity: int = CACHED_VERSIONS) -> None:
        self._compiled: OrderedDict[tuple[str, str, int, str, tuple[AttributeDefinition, ...]], LiveRule] = (
            OrderedDict())
        self._capacity = capacity
        self._sets: dict[str, _RuleSet] = {}
        # Per tenant, the last answer: its rule set, the rules live then and them compiled. While the set
        # is the same object and the same rules are live, the answer stands without a look-up per rule
        # (a key hashing the tenant's attribute definitions, a rule compared field by field).
        self._last: dict[str, tuple[_RuleSet, list[TriggerRule], list[LiveRule]]] = {}

    async def of(self, uow: UnitOfWork, at: dt.datetime) -> list[LiveRule]:
        """The tenant's ACTIVE rules inside their active window at `at`, compiled."""
        return (await self.with_definitions(uow, at))[0]

    async def with_definitions(self, uow: UnitOfWork, at: dt.datetime
                               ) -> tuple[list[LiveRule], tuple[AttributeDefinition, ...]]:
        """The rules as `of` gives them, and the tenant's attribute definitions they were compiled with
        (none read when no rule is live): an evaluation reading customers' facts needs them again."""
        rule_set = await self._rule_set(uow)
        rules = [rule for rule in rule_set.active if rule.is_live(at)]
        if not rules:
            return [], ()
        custom = rule_set.definitions
        last = self._last.get(uow.tenant_id)
        if last is not None and last[0] is rule_set and len(last[1]) == len(rules) and all(map(is_, last[1], rules)):
            return list(last[2]), custom
        catalogue: AttributeCatalogue | None = None
        compiled = []
        for rule in rules:
            key = (uow.tenant_id, rule.rule_id, rule.version, rule.definition.condition, custom)
            live = self._compiled.get(key)
            if live is None or live.rule != rule:
                catalogue = catalogue or AttributeCatalogue.of(custom)
                live = compile_rule(rule, catalogue)
                self._compiled[key] = live
                if len(self._compiled) > self._capacity:
                    self._compiled.popitem(last=False)
            else:
                self._compiled.move_to_end(key)
            compiled.append(live)
        self._last[uow.tenant_id] = (rule_set, rules, compiled)
        return list(compiled), custom

    async def _rule_set(self, uow: UnitOfWork) -> _RuleSet:
        stamp = await uow.trigger_runtime.rule_set_stamp()
        kept = self._sets.get(uow.tenant_id)
        if kept is not None and kept.stamp == stamp:
            return kept
        # Read after the stamp: a change committed in between is in what is kept, and the next stamp,
        # differing, reads it all again.
        active = tuple(await uow.trigger_rules.active())
        rule_set = _RuleSet(stamp, active, tuple(await uow.attribute_definitions.all()) if active else ())
        self._sets[uow.tenant_id] = rule_set
        return rule_set


IN_PROCESS_MAX_POSTINGS = 100  # a batch above this is a bulk load: no banner waits on it
LIVE_TENANT_SECONDS = 5.0  # how long whether a tenant has live rules is taken as known


class InProcessTriggers:
    """The server's gate of its own trigger_rules runs (server.services.in_process, docs/triggers.md#latency):
    only for live batches of at most IN_PROCESS_MAX_POSTINGS postings of a tenant with a live rule. The
    rest is the workers' (the bus runs it as always): a tenant without rules has no banner to hurry, and a
    bulk load must not be slowed by a path for latency. Whether a tenant has a live rule is read once per
    LIVE_TENANT_SECONDS (the rules' active windows kept, so a window opening or closing counts at once): a
    rule approved meanwhile fires through the queue until then."""

    def __init__(self, database: Database, clock: Callable[[], dt.datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic, max_postings: int = IN_PROCESS_MAX_POSTINGS,
                 lifetime_seconds: float = LIVE_TENANT_SECONDS) -> None:
        self._database = database
        self._clock = clock
        self._monotonic = monotonic
        self._max_postings = max_postings
        self._lifetime = lifetime_seconds
        self._rules: dict[str, tuple[float, tuple[TriggerRule, ...]]] = {}  # tenant -> (read at, its ACTIVE rules)

    def declines(self, tenant_id: str, written: WrittenEvents) -> bool:
        postings = [posting_count(payload) for kind, payload in written.values()
                    if kind == TRANSACTIONS_POSTED and payload.get("live")]
        if not postings or sum(postings) > self._max_postings:
            return True
        known = self._known(tenant_id)
        return known is not None and not known

    async def wants(self, tenant_id: str) -> bool:
        known = self._known(tenant_id)
        if known is not None:
            return known
        async with UnitOfWork(self._database, tenant_id) as uow:
            rules = await uow.trigger_rules.active()
        self._rules[tenant_id] = (self._monotonic(), tuple(rules))
        return bool(self._known(tenant_id))

    def _known(self, tenant_id: str) -> bool | None:
        cached = self._rules.get(tenant_id)
        if cached is None or self._monotonic() - cached[0] > self._lifetime:
            return None
        now = self._clock()
        return any(rule.is_live(now) for rule in cached[1])
