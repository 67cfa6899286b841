"""Trigger rules' lifecycle, their firings and the explanation of one (docs/triggers.md).

The rules are the domain's (server.domain.triggers.rules); this layer loads and saves, checks roles and
what a rule names (persona, audience, products, event type), and holds a rule while it changes, so
that versions are numbered once and a lifecycle step sees the status the previous one left."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server.domain.auth import Caller, Role
from server.domain.errors import AlreadyExists, FailedPrecondition, not_found
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.reasons import Reason
from server.domain.references import condition_attributes
from server.domain.segments.attributes import AttributeCatalogue
from server.domain.triggers import rules
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.records import FiringRecord
from server.domain.triggers.rules import (
    AudienceKind,
    BannerAction,
    MessageAction,
    RuleDefinition,
    TriggerRule,
)
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.uow import UnitOfWork

ADMINS = (Role.BANK_ADMIN,)
RULES_LIST = "trigger-rules"
FIRINGS_LIST = "trigger-firings"


@dataclass(frozen=True)
class FiringExplanation:
    firing: FiringRecord  # its values and what its actions did
    condition: str  # the condition of the version that fired, as it was then


class TriggerRulesService:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._database = database
        self._clock = clock

    async def create_rule(self, caller: Caller, rule_id: str, definition: RuleDefinition) -> TriggerRule:
        caller.require_role(*ADMINS)
        rule = rules.new_rule(rule_id, definition, by=caller.subject, at=self._clock())
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await self._check(uow, definition)
            if not await uow.trigger_rules.add(rule):
                raise AlreadyExists(Reason.TRIGGER_RULE_EXISTS, f"trigger rule {rule_id} exists already",
                                    metadata={"rule": rule_id})
            await uow.commit()
        return rule

    async def get_rule(self, caller: Caller, rule_id: str) -> TriggerRule:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await self._rule(uow, rule_id)

    async def list_rules(self, caller: Caller, page: PageRequest) -> Page[TriggerRule]:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.trigger_rules.list_after(page.after, page.size + 1)
        return paginate(found, page, RULES_LIST, lambda r: r.rule_id)

    async def update_rule(self, caller: Caller, rule_id: str,
                     change: Callable[[RuleDefinition], RuleDefinition]) -> TriggerRule:
        """`change` makes the new definition from the current one (the fields of the update mask)."""
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            current = await self._held(uow, rule_id)
            definition = change(current.definition)
            edited = rules.edit(current, definition, by=caller.subject, at=self._clock())
            await self._check(uow, definition)
            await uow.trigger_rules.save(edited)
            await uow.commit()
        return edited

    async def submit(self, caller: Caller, rule_id: str) -> TriggerRule:
        return await self._step(caller, rule_id, lambda rule: rules.submit(rule, at=self._clock()))

    async def approve(self, caller: Caller, rule_id: str, version: int = 0) -> TriggerRule:
        return await self._step(caller, rule_id,
                                lambda rule: rules.approve(rule, by=caller.subject, at=self._clock(), version=version))

    async def reject(self, caller: Caller, rule_id: str, reason: str) -> TriggerRule:
        return await self._step(caller, rule_id, lambda rule: rules.reject(rule, reason=reason, at=self._clock()))

    async def pause(self, caller: Caller, rule_id: str) -> TriggerRule:
        return await self._step(caller, rule_id, lambda rule: rules.pause(rule, at=self._clock()))

    async def resume(self, caller: Caller, rule_id: str) -> TriggerRule:
        return await self._step(caller, rule_id, lambda rule: rules.resume(rule, at=self._clock()))

    async def archive(self, caller: Caller, rule_id: str) -> TriggerRule:
        return await self._step(caller, rule_id, lambda rule: rules.archive(rule, at=self._clock()))

    async def list_firings(self, caller: Caller, rule_id: str, customer_id: str | None, page: PageRequest
                           ) -> Page[FiringRecord]:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await self._rule(uow, rule_id)
            found = await uow.trigger_firings.list_after(rule_id, customer_id, page.after, page.size + 1)
        return paginate(found, page, FIRINGS_LIST, lambda f: f.firing_id)

    async def explain_firing(self, caller: Caller, rule_id: str, firing_id: str) -> FiringExplanation:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            firing = await uow.trigger_firings.get(rule_id, firing_id)
            if firing is None:
                raise not_found("trigger_firing", firing_id)
            snapshot = await uow.trigger_rules.version_snapshot(rule_id, firing.version)
        condition = "" if snapshot is None else str(snapshot["definition"]["condition"])
        return FiringExplanation(firing, condition)

    async def _step(self, caller: Caller, rule_id: str, step: Callable[[TriggerRule], TriggerRule]) -> TriggerRule:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            changed = step(await self._held(uow, rule_id))
            await uow.trigger_rules.save(changed)
            await uow.commit()
        return changed

    @staticmethod
    async def _rule(uow: UnitOfWork, rule_id: str) -> TriggerRule:
        rule = await uow.trigger_rules.get(rule_id)
        if rule is None:
            raise not_found("trigger_rule", rule_id)
        return rule

    async def _held(self, uow: UnitOfWork, rule_id: str) -> TriggerRule:
        if not await uow.trigger_rules.hold(rule_id):
            raise not_found("trigger_rule", rule_id)
        return await self._rule(uow, rule_id)

    @staticmethod
    async def _check(uow: UnitOfWork, definition: RuleDefinition) -> None:
        """The condition parses against the bank's attributes, and what the rule names exists."""
        rules.check_definition(definition)  # every bad field named at once, then the condition's bad part
        custom = await uow.attribute_definitions.all()
        catalogue = AttributeCatalogue.of(custom)
        parse_condition(definition.condition, catalogue, field="trigger_rule.condition")
        audience = definition.audience
        missing: list[str] = []
        # What the rule names is held until the save commits: its delete waits, then sees this rule.
        if audience.kind is AudienceKind.PERSONA and not await uow.references.hold_persona(audience.reference_id):
            missing.append(f"personas/{audience.reference_id}")
        if audience.kind is AudienceKind.AUDIENCE and not await uow.references.hold_audience(audience.reference_id):
            missing.append(f"audiences/{audience.reference_id}")
        named = condition_attributes(definition.condition, catalogue) & {d.name for d in custom}
        missing += [f"attributeDefinitions/{n}" for n in sorted(named) if not await uow.references.hold_attribute(n)]
        for action in definition.actions:
            if isinstance(action, BannerAction | MessageAction) and action.product_id is not None \
                    and await uow.products.get(action.product_id) is None:
                missing.append(f"products/{action.product_id}")
            if isinstance(action, MessageAction) and not await uow.events.get_many({action.event_id}):
                missing.append(f"events/{action.event_id}")
        if missing:
            raise FailedPrecondition(Reason.TRIGGER_RULE_REFERENCE_UNKNOWN,
                                     f"the rule names what the bank does not have: {', '.join(missing)}",
                                     metadata={"reference": missing[0]})

