"""The tenant's rules that fire now, each condition parsed once per rule version (and per attribute
catalogue: a changed attribute default is read by the next parse), never per posting."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass

from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition
from server.domain.triggers.condition import (
    Condition,
    SegmentLeaf,
    history_days,
    is_calendar_dependent,
    is_event_condition,
    leaves,
)
from server.domain.triggers.firing import ConditionKind
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.rules import TriggerRule
from server.store.uow import UnitOfWork

CACHED_VERSIONS = 10_000


@dataclass(frozen=True)
class LiveRule:
    rule: TriggerRule
    condition: Condition
    kind: ConditionKind
    calendar_dependent: bool  # re-checked daily: a window or FOR months moves with the date alone
    history_days: int  # the days of series the condition reads, the evaluation day included
    reads_facts: bool  # names attributes or holdings (segment leaves)

    @property
    def key(self) -> tuple[str, int]:
        return self.rule.rule_id, self.rule.version


def compile_rule(rule: TriggerRule, catalogue: AttributeCatalogue) -> LiveRule:
    condition = parse_condition(rule.definition.condition, catalogue, field="trigger_rule.condition")
    return LiveRule(rule, condition, ConditionKind.of(is_event_condition(condition)),
                    is_calendar_dependent(condition), max(history_days(condition), 1),
                    any(isinstance(leaf, SegmentLeaf) for leaf in leaves(condition)))


class LiveRules:
    """Compiled rule versions, kept across batches (a bounded cache: least recently used out first)."""

    def __init__(self, capacity: int = CACHED_VERSIONS) -> None:
        self._compiled: OrderedDict[tuple[str, str, int, str, tuple[AttributeDefinition, ...]], LiveRule] = (
            OrderedDict())
        self._capacity = capacity

    async def of(self, uow: UnitOfWork, at: dt.datetime) -> list[LiveRule]:
        """The tenant's ACTIVE rules inside their active window at `at`, compiled."""
        return (await self.with_definitions(uow, at))[0]

    async def with_definitions(self, uow: UnitOfWork, at: dt.datetime
                               ) -> tuple[list[LiveRule], tuple[AttributeDefinition, ...]]:
        """The rules as `of` gives them, and the tenant's attribute definitions they were compiled with
        (none read when no rule is live): an evaluation reading customers' facts needs them again."""
        rules = [rule for rule in await uow.trigger_rules.active() if rule.is_live(at)]
        if not rules:
            return [], ()
        custom = tuple(await uow.attribute_definitions.all())
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
        return compiled, custom
