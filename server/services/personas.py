"""Attribute definitions, customers' attribute values and personas (docs/personas.md).

A persona's expression is parsed against the tenant's catalogue (built-in and custom attributes) when
saved and when read; a definition a persona names cannot be deleted, its type never changes and its
ENUM values are only added to, so a stored expression always parses again.

Memberships are kept in persona_members: the bus handlers recompute the customers named by
CustomerAttributesChanged and HoldingsChanged, and a persona saved with a new expression (or an
attribute given a new default) gets a new revision and a PersonaEvaluationRequested, whose handler
recomputes it whole in the workers; every change of the rows is announced in a
PersonaMembershipChanged. IsMember, ExplainMembership and ListMembers evaluate the expression at the
call, so they never wait for either."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import structlog

from server.domain.auth import Caller, Role
from server.domain.errors import AlreadyExists, not_found
from server.domain.events import (
    CustomerAttributesChanged,
    HoldingsChanged,
    MembershipChange,
    PersonaEvaluationRequested,
    PersonaMembershipChanged,
    attribute_changes,
)
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.personas.model import (
    BUILT_IN_NAMES,
    Persona,
    StoredDefinition,
    canonical,
    changed_definition,
    check_persona,
    check_tokens,
    check_updates,
    new_definition,
)
from server.domain.reasons import Reason
from server.domain.segments.attributes import (
    BUILT_IN_ATTRIBUTES,
    AttributeCatalogue,
    AttributeDefinition,
    AttributeType,
    AttributeValue,
    value_to_text,
)
from server.domain.segments.evaluate import CustomerFacts, Explanation, evaluate, explain
from server.domain.segments.expression import Expression, attributes_named, render
from server.domain.segments.parser import parse_expression
from server.services.clock import Clock, utc_now
from server.services.events import AfterCommit, EventPublisher, announce_committed
from server.services.references import hold_named, refuse_attribute_delete, refuse_persona_delete
from server.store.db import Database
from server.store.uow import UnitOfWork

ADMINS = (Role.BANK_ADMIN,)
READERS = (Role.BANK_ADMIN, Role.SERVICE)
VALUE_WRITERS = (Role.SERVICE, Role.BANK_ADMIN)
EVERYONE = (Role.BANK_ADMIN, Role.SERVICE, Role.USER)
DEFINITIONS_LIST = "attribute-definitions"
PERSONAS_LIST = "personas"
MEMBERS_LIST = "persona-members"
_BUILT_IN = {d.name: d for d in BUILT_IN_ATTRIBUTES}
log = structlog.get_logger(__name__)
# Customers per statement of a whole evaluation: each chunk is one INSERT ... SELECT and one DELETE,
# and one PersonaMembershipChanged.
EVALUATION_CHUNK = 10_000
# What a compiled expression reads, and the kept rows.
EXPRESSION_TABLES = ("customers", "accounts", "holdings", "customer_attribute_values", "persona_members")


def _catalogue(custom: list[AttributeDefinition]) -> AttributeCatalogue:
    return AttributeCatalogue.of(custom)


class PersonasService:
    def __init__(self, database: Database, publisher: EventPublisher, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock

    # -- attribute definitions ----------------------------------------------------------------------

    async def create_definition(self, caller: Caller, name: str, type_: AttributeType, values: tuple[str, ...],
                                default: AttributeValue | None, description: str) -> StoredDefinition:
        caller.require_role(*ADMINS)
        definition = new_definition(name, type_, values, default, description)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            now = self._clock()
            if name in BUILT_IN_NAMES or not await uow.attribute_definitions.add(definition, now):
                raise AlreadyExists(Reason.ATTRIBUTE_DEFINITION_EXISTS, f"attribute {name} is defined already",
                                    metadata={"attribute": name})
            await uow.commit()
        return StoredDefinition(definition, now, now)

    async def get_definition(self, caller: Caller, name: str) -> StoredDefinition:
        caller.require_role(*READERS)
        if name in _BUILT_IN:
            return StoredDefinition(_BUILT_IN[name])
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            stored = await uow.attribute_definitions.get(name)
        if stored is None:
            raise not_found("attribute_definition", name)
        return stored

    async def list_definitions(self, caller: Caller, page: PageRequest) -> Page[StoredDefinition]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rows = await uow.attribute_definitions.list_after(page.after, page.size + 1)
        return paginate(rows, page, DEFINITIONS_LIST, lambda s: s.definition.name)

    async def update_definition(self, caller: Caller, name: str, values: tuple[str, ...] | None,
                                description: str | None, *, change_default: bool,
                                default: AttributeValue | None) -> StoredDefinition:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            stored = await uow.attribute_definitions.get(name)
            if stored is None:
                raise not_found("attribute_definition", name)
            changed = changed_definition(stored.definition, values, description, change_default=change_default,
                                         default=default)
            now = self._clock()
            await uow.attribute_definitions.replace(changed, now)
            if change_default and changed.default != stored.definition.default:
                custom = await uow.attribute_definitions.all()
                for persona in await uow.personas.all():
                    if name in attributes_named(self._parse(persona.expression, custom)):
                        await self._request_evaluation(uow, persona.persona_id, now)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        return StoredDefinition(changed, stored.created_at, now)

    async def delete_definition(self, caller: Caller, name: str) -> None:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await refuse_attribute_delete(uow, name)
            if await uow.attribute_definitions.get(name) is None:
                raise not_found("attribute_definition", name)
            await uow.attribute_definitions.delete(name)
            await uow.commit()

    # -- customer attribute values -----------------------------------------------------------------

    async def update_customer_attributes(self, caller: Caller, customer_id: str,
                                         values: dict[str, AttributeValue], clear: list[str]
                                         ) -> dict[str, AttributeValue]:
        """Sets and clears only the named attributes; the customer's own values after the change."""
        caller.require_role(*VALUE_WRITERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            after = await self.write_customer_attributes(uow, customer_id, values, clear)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        return after

    async def write_customer_attributes(self, uow: UnitOfWork, customer_id: str, values: dict[str, AttributeValue],
                                        clear: list[str]) -> dict[str, AttributeValue]:
        """UpdateCustomerAttributes inside the caller's unit of work (a journey's answer is written with
        its step): the caller checks the role, commits, and announces `uow.domain_events.added`."""
        definitions = {d.name: d for d in await uow.attribute_definitions.all()}
        check_updates(definitions, values, clear)
        if not await uow.customers.hold(customer_id):  # one change of a customer at a time
            raise not_found("customer", customer_id)
        before = await uow.customer_attribute_values.of_customer(customer_id, definitions)
        values = {n: canonical(v) for n, v in values.items()}
        await uow.customer_attribute_values.set_many(
            customer_id, {name: (definitions[name], value) for name, value in values.items()}, now := self._clock())
        await uow.customer_attribute_values.clear(customer_id, clear)
        after = {**{n: v for n, v in before.items() if n not in clear}, **values}
        change = attribute_changes(customer_id, {n: value_to_text(v) for n, v in before.items()},
                                   {n: value_to_text(v) for n, v in after.items()})
        if change is not None:
            await uow.domain_events.add(uow.tenant_id, CustomerAttributesChanged((change,)), now)
        return after

    async def get_customer_attributes(self, caller: Caller, customer_id: str) -> dict[str, AttributeValue]:
        caller.require_role(*EVERYONE)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            definitions = {d.name: d for d in await uow.attribute_definitions.all()}
            return await uow.customer_attribute_values.of_customer(customer_id, definitions)

    # -- personas ------------------------------------------------------------------------------------

    async def create_persona(self, caller: Caller, persona_id: str, display_name: str, description: str,
                             expression: str, tokens: dict[str, str] | None = None) -> Persona:
        caller.require_role(*ADMINS)
        check_persona(persona_id, display_name, description)
        check_tokens(tokens or {})
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            parsed = await self._parse_held(uow, expression)
            now = self._clock()
            persona = Persona(persona_id, display_name, description, render(parsed), now, now, dict(tokens or {}),
                              members_current=False)  # its whole evaluation is requested below
            if not await uow.personas.add(persona):
                raise AlreadyExists(Reason.PERSONA_EXISTS, f"persona {persona_id} exists already",
                                    metadata={"persona": persona_id})
            await self._request_evaluation(uow, persona_id, now)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        return persona

    async def _parse_held(self, uow: UnitOfWork, expression: str) -> Expression:
        """The expression parsed; the custom attributes it names held until the save commits, so that a
        delete of one waits, then sees this persona (server.services.references)."""
        custom = await uow.attribute_definitions.all()
        parsed = self._parse(expression, custom)
        await hold_named(uow, attributes=attributes_named(parsed) & {d.name for d in custom})
        return parsed

    @staticmethod
    def _parse(expression: str, custom: list[AttributeDefinition]) -> Expression:
        return parse_expression(expression, _catalogue(custom), field="persona.expression")

    async def get_persona(self, caller: Caller, persona_id: str) -> Persona:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await self._persona(uow, persona_id)

    @staticmethod
    async def _persona(uow: UnitOfWork, persona_id: str) -> Persona:
        persona = await uow.personas.get(persona_id)
        if persona is None:
            raise not_found("persona", persona_id)
        return persona

    async def list_personas(self, caller: Caller, page: PageRequest) -> Page[Persona]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rows = await uow.personas.list_after(page.after, page.size + 1)
        return paginate(rows, page, PERSONAS_LIST, lambda p: p.persona_id)

    async def update_persona(self, caller: Caller, persona_id: str, display_name: str | None,
                             description: str | None, expression: str | None,
                             tokens: dict[str, str] | None = None) -> Persona:
        caller.require_role(*ADMINS)
        check_persona(None, display_name, description)
        check_tokens(tokens or {})
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            persona = await self._persona(uow, persona_id)
            parsed = None
            if expression is not None:
                parsed = await self._parse_held(uow, expression)
                expression = render(parsed)
            changed = replace(persona, display_name=persona.display_name if display_name is None else display_name,
                              description=persona.description if description is None else description,
                              expression=persona.expression if expression is None else expression,
                              tokens=persona.tokens if tokens is None else dict(tokens), updated_at=self._clock())
            await uow.personas.replace(changed)
            if parsed is not None and changed.expression != persona.expression:
                await self._request_evaluation(uow, persona_id, changed.updated_at)
                changed = replace(changed, members_current=False)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        return changed

    async def delete_persona(self, caller: Caller, persona_id: str) -> None:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await refuse_persona_delete(uow, persona_id)
            if not await uow.personas.delete(persona_id):
                raise not_found("persona", persona_id)
            left = [MembershipChange(persona_id, c, False)
                    for c in sorted(await uow.persona_members.of_persona(persona_id))]
            await uow.persona_members.remove_persona(persona_id)
            await self._announce(uow, left, self._clock())
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)

    # -- membership ----------------------------------------------------------------------------------

    async def explain_membership(self, caller: Caller, persona_id: str, customer_id: str) -> Explanation:
        """The persona's expression evaluated for one customer now, every clause with what it read."""
        return explain(*await self._one_customer(caller, persona_id, customer_id))

    async def is_member(self, caller: Caller, persona_id: str, customer_id: str) -> bool:
        return evaluate(*await self._one_customer(caller, persona_id, customer_id))

    async def _one_customer(self, caller: Caller, persona_id: str, customer_id: str
                            ) -> tuple[Expression, CustomerFacts]:
        """The persona's expression and what it reads of the customer, in memory (no SQL compiled)."""
        caller.require_role(*EVERYONE)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            persona = await self._persona(uow, persona_id)
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            custom = await uow.attribute_definitions.all()
            facts = await uow.segment_reads.facts(customer_id, {d.name: d for d in custom})
        return self._parse(persona.expression, custom), facts

    async def list_members(self, caller: Caller, persona_id: str, page: PageRequest) -> Page[str]:
        """The persona's members by customer id, selected in SQL by the compiled expression."""
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            persona = await self._persona(uow, persona_id)
            parsed = self._parse(persona.expression, await uow.attribute_definitions.all())
            ids = await uow.segment_reads.members_after(parsed, page.after, page.size + 1)
        return paginate(ids, page, MEMBERS_LIST, lambda customer_id: customer_id)

    # -- kept memberships ----------------------------------------------------------------------------

    @staticmethod
    async def _announce(uow: UnitOfWork, changes: list[MembershipChange], now: dt.datetime) -> None:
        if changes:
            await uow.domain_events.add(uow.tenant_id, PersonaMembershipChanged(tuple(changes)), now)

    @staticmethod
    async def _request_evaluation(uow: UnitOfWork, persona_id: str, now: dt.datetime) -> None:
        """What the persona selects changed: a new revision, recomputed whole by the workers."""
        revision = await uow.personas.raise_revision(persona_id)
        await uow.domain_events.add(uow.tenant_id, PersonaEvaluationRequested(persona_id, revision), now)

    async def on_persona_evaluation_requested(self, uow: UnitOfWork, tenant_id: str,
                                              event: PersonaEvaluationRequested) -> AfterCommit | None:
        """Bus handler (persona_full_evaluation): the persona's members over the whole tenant, in chunks of
        EVALUATION_CHUNK customers, each one INSERT ... SELECT of those the compiled expression selects and
        one DELETE of those it no longer does. Skipped when a later revision is saved (its own event
        follows) or this one was done already. The persona's row is held throughout: a save of it waits."""
        revisions = await uow.personas.hold_revisions(event.persona_id)
        if revisions is None or revisions[0] != event.revision or revisions[1] >= event.revision:
            return None
        persona = await self._persona(uow, event.persona_id)
        parsed = self._parse(persona.expression, await uow.attribute_definitions.all())
        # Tables never analyzed are planned as nearly empty: holds() then joined accounts and holdings
        # by a scan per customer (PostgreSQL; seconds for 2,000 customers instead of milliseconds).
        analyzed = await self._database.planner_statistics.ensure(*EXPRESSION_TABLES)
        if analyzed:
            log.info("planner_statistics_gathered", tables=analyzed)
        await uow.persona_members.without_jit()
        had_members = await uow.persona_members.any_of(event.persona_id)  # none: nobody to remove
        after: str | None = None
        while True:
            last = await uow.persona_members.chunk_end(after, EVALUATION_CHUNK)
            joined = await uow.persona_members.join_selected(event.persona_id, parsed, after, last)
            left = await uow.persona_members.leave_unselected(event.persona_id, parsed, after, last) \
                if had_members else []
            await self._announce(uow, [*(MembershipChange(event.persona_id, c, True) for c in sorted(joined)),
                                       *(MembershipChange(event.persona_id, c, False) for c in sorted(left))],
                                 self._clock())
            if last is None:
                break
            after = last
        await uow.personas.record_members_revision(event.persona_id, event.revision)
        log.info("persona_evaluated", tenant=tenant_id, persona=event.persona_id, revision=event.revision)
        return None

    async def _recompute_customers(self, uow: UnitOfWork, customer_ids: set[str]) -> list[MembershipChange]:
        """Every persona for these customers, in memory, against their stored memberships."""
        personas = await uow.personas.all()
        if not personas or not customer_ids:
            return []
        custom = await uow.attribute_definitions.all()
        definitions = {d.name: d for d in custom}
        parsed = [(p.persona_id, self._parse(p.expression, custom)) for p in personas]
        existing = await uow.customers.existing_ids(customer_ids)
        stored = await uow.persona_members.of_customers(customer_ids)
        now_in: set[tuple[str, str]] = set()
        for customer_id, facts in (await uow.segment_reads.facts_of(existing, definitions)).items():
            now_in |= {(persona_id, customer_id) for persona_id, expression in parsed if evaluate(expression, facts)}
        joined, left = sorted(now_in - stored), sorted(stored - now_in)
        await uow.persona_members.add(joined)
        await uow.persona_members.remove(left)
        return [*(MembershipChange(p, c, True) for p, c in joined), *(MembershipChange(p, c, False) for p, c in left)]

    async def on_customer_attributes_changed(self, uow: UnitOfWork, tenant_id: str,
                                             event: CustomerAttributesChanged) -> AfterCommit | None:
        """Bus handler (persona_membership): the memberships of the customers whose attributes changed.
        Recomputed from the values as committed now, so a late or repeated event does no harm."""
        await self._announce(uow, await self._recompute_customers(uow, {c.customer_id for c in event.changes}),
                             self._clock())
        return None

    async def on_holdings_changed(self, uow: UnitOfWork, tenant_id: str, event: HoldingsChanged
                                  ) -> AfterCommit | None:
        """Bus handler (persona_membership_holdings): the memberships of the holdings' customers, a
        holding on an account counting for the account's owner."""
        customers = {h.customer_id for h in event.holdings if h.customer_id}
        accounts = {h.account_id for h in event.holdings if h.account_id}
        if accounts:
            customers |= {a.customer_id for a in await uow.accounts.get_many(accounts)}
        await self._announce(uow, await self._recompute_customers(uow, customers), self._clock())
        return None
