"""Journeys (docs/journeys.md): versioned definitions checked when saved, and instances that customers
move through one answered step at a time.

An answer is written in one transaction with its effects: the values of customer attributes through
PersonasService.write_customer_attributes (so CustomerAttributesChanged is raised as for
UpdateCustomerAttributes), the instance's new step and captured data, and the route taken. The rules
read the customer as committed plus this answer, and personas evaluated in memory on those facts (the
kept memberships follow the bus later, and would miss the answer just given)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from server.domain.auth import Caller, Role
from server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, not_found
from server.domain.ids import new_id
from server.domain.journeys.model import (
    PERSONA_PREFIX,
    InstanceState,
    JourneyDefinition,
    JourneyInstance,
    JourneyVersion,
    RecordedRoute,
    Route,
    Step,
)
from server.domain.journeys.routing import (
    check_answers,
    choose_route,
    field_definitions,
    journey_facts,
)
from server.domain.journeys.validate import check_definition, check_journey_id, parsed_rules
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.reasons import Reason
from server.domain.references import journey_names
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition, AttributeValue
from server.domain.segments.evaluate import evaluate
from server.domain.segments.expression import attributes_named
from server.domain.segments.parser import parse_expression
from server.services.clock import Clock, utc_now
from server.services.events import EventPublisher, announce_committed
from server.services.personas import PersonasService
from server.services.references import hold_named
from server.store.db import Database
from server.store.uow import UnitOfWork

ADMINS = (Role.BANK_ADMIN,)
READERS = (Role.BANK_ADMIN, Role.SERVICE)
EVERYONE = (Role.BANK_ADMIN, Role.SERVICE, Role.USER)
JOURNEYS_LIST = "journeys"
ROUTES_LIST = "journey-routes"


@dataclass(frozen=True)
class InstanceView:
    """An instance and what its current step asks for (nothing once it has ended)."""

    instance: JourneyInstance
    captures: tuple[str, ...]


def _view(instance: JourneyInstance, definition: JourneyDefinition) -> InstanceView:
    active = instance.state is InstanceState.ACTIVE
    return InstanceView(instance, definition.step(instance.current_step).captures if active else ())


class JourneysService:
    def __init__(self, database: Database, publisher: EventPublisher, personas: PersonasService,
                 clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._personas = personas
        self._clock = clock

    # -- definitions ---------------------------------------------------------------------------------

    @staticmethod
    async def _checked(uow: UnitOfWork, journey_id: str, definition: JourneyDefinition) -> JourneyDefinition:
        custom = await uow.attribute_definitions.all()
        persona_ids = [p.persona_id for p in await uow.personas.all()]
        checked = check_definition(journey_id, definition, custom, persona_ids, await uow.journey_versions.ids())
        # Held until the save commits: a delete of what the journey names waits, then sees this version.
        named = journey_names(checked, custom, persona_ids)
        attributes = named & {d.name for d in custom}
        await hold_named(uow, personas=[p for p in persona_ids if PERSONA_PREFIX + p in named - attributes],
                         attributes=attributes)
        return checked

    async def create_journey(self, caller: Caller, journey_id: str, definition: JourneyDefinition) -> JourneyVersion:
        caller.require_role(*ADMINS)
        check_journey_id(journey_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            checked = await self._checked(uow, journey_id, definition)
            now = self._clock()
            if not await uow.journey_versions.add(journey_id, 1, checked, now):
                raise AlreadyExists(Reason.JOURNEY_EXISTS, f"journey {journey_id} exists already",
                                    metadata={"journey": journey_id})
            await uow.commit()
        return JourneyVersion(journey_id, 1, checked, now)

    async def get_journey(self, caller: Caller, journey_id: str, version: int | None = None) -> JourneyVersion:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await self._version(uow, journey_id, version)

    @staticmethod
    async def _version(uow: UnitOfWork, journey_id: str, version: int | None = None) -> JourneyVersion:
        stored = await uow.journey_versions.get(journey_id, version)
        if stored is None:
            raise not_found("journey", journey_id if version is None else f"{journey_id} version {version}")
        return stored

    async def list_journeys(self, caller: Caller, page: PageRequest) -> Page[JourneyVersion]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rows = await uow.journey_versions.latest_after(page.after, page.size + 1)
        return paginate(rows, page, JOURNEYS_LIST, lambda v: v.journey_id)

    async def update_journey(self, caller: Caller, journey_id: str, display_name: str | None,
                             fields: tuple[AttributeDefinition, ...] | None, steps: tuple[Step, ...] | None
                             ) -> JourneyVersion:
        """A new version: the latest with the given parts replaced (None: kept)."""
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            latest = await self._version(uow, journey_id)
            before = latest.definition
            changed = JourneyDefinition(before.display_name if display_name is None else display_name,
                                        before.steps if steps is None else steps,
                                        before.fields if fields is None else fields)
            checked = await self._checked(uow, journey_id, changed)
            now = self._clock()
            version = latest.version + 1
            if not await uow.journey_versions.add(journey_id, version, checked, now):
                # Another update saved this version number first: this one was checked against the one before.
                raise AlreadyExists(Reason.JOURNEY_EXISTS, f"version {version} of journey {journey_id} was saved "
                                    "by another update at the same moment; read it and try again",
                                    metadata={"journey": journey_id, "version": str(version)})
            await uow.commit()
        return JourneyVersion(journey_id, version, checked, now)

    # -- instances -----------------------------------------------------------------------------------

    async def start_journey(self, caller: Caller, customer_id: str, journey_id: str) -> InstanceView:
        caller.require_role(*EVERYONE)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            view = await self._start(uow, customer_id, await self._version(uow, journey_id))
            await uow.commit()
        return view

    async def _start(self, uow: UnitOfWork, customer_id: str, version: JourneyVersion) -> InstanceView:
        first = version.definition.steps[0]
        now = self._clock()
        instance = JourneyInstance(new_id(), customer_id, version.journey_id, version.version, first.step_id,
                                   InstanceState.COMPLETED if first.end else InstanceState.ACTIVE,
                                   {}, None, now, now)
        await uow.journey_instances.add(instance, now)
        return _view(instance, version.definition)

    async def get_state(self, caller: Caller, customer_id: str, instance_id: str) -> InstanceView:
        caller.require_role(*EVERYONE)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            version, instance = await self._instance(uow, customer_id, instance_id)
        return _view(instance, version.definition)

    async def _instance(self, uow: UnitOfWork, customer_id: str, instance_id: str, *, hold: bool = False
                        ) -> tuple[JourneyVersion, JourneyInstance]:
        found = await uow.journey_instances.journey_of(customer_id, instance_id)
        if found is None:
            raise not_found("journey_instance", instance_id)
        version = await self._version(uow, *found)
        types = field_definitions(version.definition, await uow.attribute_definitions.all())
        instance = await uow.journey_instances.get(customer_id, instance_id, types, hold=hold)
        if instance is None:
            raise not_found("journey_instance", instance_id)
        return version, instance

    async def submit_step(self, caller: Caller, customer_id: str, instance_id: str, step_id: str,
                          values: dict[str, AttributeValue]) -> InstanceView:
        caller.require_role(*EVERYONE)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            version, instance = await self._instance(uow, customer_id, instance_id, hold=True)
            definition = version.definition
            if instance.state is not InstanceState.ACTIVE or instance.current_step != step_id:
                where = f"at step {instance.current_step}" if instance.state is InstanceState.ACTIVE \
                    else instance.state.value.lower().replace("_", " ")
                raise FailedPrecondition(Reason.JOURNEY_STEP_MISMATCH,
                                         f"the instance is {where}, not at {step_id[:40]!r}",
                                         metadata={"current_step": instance.current_step,
                                                   "state": instance.state.value})
            step = definition.step(step_id)
            custom = await uow.attribute_definitions.all()
            types = field_definitions(definition, custom)
            gone = [name for name in step.captures if name not in types]
            if gone:
                raise FailedPrecondition(Reason.JOURNEY_VERSION_STALE,
                                         f"step {step_id} captures attributes deleted since: {', '.join(gone)}",
                                         metadata={"journey": version.journey_id})
            answers = check_answers(step, types, values)
            attribute_names = {d.name for d in custom}
            to_customer = {n: v for n, v in answers.items() if n in attribute_names}
            if to_customer:
                await self._personas.write_customer_attributes(uow, customer_id, to_customer, [])
            captured = {**instance.captured, **answers}
            personas = await uow.personas.all()
            try:
                expressions = parsed_rules(definition, custom, [p.persona_id for p in personas])[step_id]
            except InvalidArgument as error:
                raise FailedPrecondition(Reason.JOURNEY_VERSION_STALE,
                                         f"version {version.version} of journey {version.journey_id} no longer fits "
                                         f"the bank's attributes and personas: {error.message}",
                                         metadata={"journey": version.journey_id}) from None
            facts = await uow.segment_reads.facts(customer_id, {d.name: d for d in custom})
            named = set().union(*(attributes_named(e) for e in expressions))
            catalogue = AttributeCatalogue.of(custom)
            memberships = {p.persona_id: evaluate(parse_expression(p.expression, catalogue), facts)
                           for p in personas if PERSONA_PREFIX + p.persona_id in named}
            decision = choose_route(step, expressions, journey_facts(facts, captured, memberships))
            now = self._clock()
            advanced, handed_to = await self._follow(uow, instance, definition, decision.route, captured)
            await uow.journey_instances.advance(advanced, RecordedRoute(
                await uow.journey_instances.route_count(instance_id) + 1, step_id, decision.rule_index,
                decision.rule_expression, decision.route, handed_to, now))
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        return _view(advanced, definition)

    async def _follow(self, uow: UnitOfWork, instance: JourneyInstance, definition: JourneyDefinition, route: Route,
                      captured: dict[str, AttributeValue]) -> tuple[JourneyInstance, str | None]:
        """The instance after the route; for a route to another journey, the instance started there."""
        if route.step is not None:
            state = InstanceState.COMPLETED if definition.step(route.step).end else InstanceState.ACTIVE
            return replace(instance, current_step=route.step, state=state, captured=captured), None
        assert route.journey is not None
        started = await self._start(uow, instance.customer_id, await self._version(uow, route.journey))
        handed_to = started.instance.instance_id
        return replace(instance, state=InstanceState.HANDED_OFF, captured=captured, handed_to=handed_to), handed_to

    async def list_routes(self, caller: Caller, customer_id: str, instance_id: str, page: PageRequest
                          ) -> Page[RecordedRoute]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.journey_instances.journey_of(customer_id, instance_id) is None:
                raise not_found("journey_instance", instance_id)
            rows = await uow.journey_instances.routes_after(instance_id, page.after, page.size + 1)
        return paginate(rows, page, ROUTES_LIST, lambda r: r.sequence)
