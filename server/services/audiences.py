"""Audiences: personas and other audiences combined by union, intersection and exclusion
(docs/personas.md, "Audiences"). A definition is checked when saved: every persona and audience it
names exists and it does not reach itself. Members are selected in SQL from the memberships the bus
keeps in persona_members (server.store.audience_sql), never by reading customers into Python."""

from __future__ import annotations

from dataclasses import replace

from server.domain.auth import Caller, Role
from server.domain.errors import AlreadyExists, not_found
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.personas.audiences import (
    Audience,
    AudienceDefinition,
    Selection,
    check_audience,
    check_references,
    expand,
    of_persona,
)
from server.domain.reasons import Reason
from server.services.clock import Clock, utc_now
from server.services.references import refuse_audience_delete
from server.store.db import Database
from server.store.uow import UnitOfWork

ADMINS = (Role.BANK_ADMIN,)
READERS = (Role.BANK_ADMIN, Role.SERVICE)
AUDIENCES_LIST = "audiences"
AUDIENCE_MEMBERS_LIST = "audience-members"


async def audience_selection(uow: UnitOfWork, audience_id: str) -> Selection | None:
    """What the audience selects, down to personas; None when there is no such audience."""
    definitions = await uow.audiences.definitions()
    definition = definitions.get(audience_id)
    return None if definition is None else expand(definition, definitions)


async def persona_selection(uow: UnitOfWork, persona_id: str) -> Selection | None:
    """A persona's members as a selection; None when there is no such persona."""
    return None if await uow.personas.get(persona_id) is None else of_persona(persona_id)


class AudiencesService:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._database = database
        self._clock = clock

    async def create(self, caller: Caller, audience_id: str, display_name: str, description: str,
                     definition: AudienceDefinition) -> Audience:
        caller.require_role(*ADMINS)
        check_audience(audience_id, display_name, description)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await uow.audiences.hold_all()
            await self._check(uow, audience_id, definition)
            now = self._clock()
            audience = Audience(audience_id, display_name, description, definition, now, now)
            if not await uow.audiences.add(audience):
                raise AlreadyExists(Reason.AUDIENCE_EXISTS, f"audience {audience_id} exists already",
                                    metadata={"audience": audience_id})
            await uow.commit()
        return audience

    @staticmethod
    async def _check(uow: UnitOfWork, audience_id: str, definition: AudienceDefinition) -> None:
        others = {a: d for a, d in (await uow.audiences.definitions()).items() if a != audience_id}
        personas = await uow.audiences.hold_personas({p.id for p in definition.parts() if p.kind == "personas"})
        check_references(audience_id, definition, personas, others)

    async def get(self, caller: Caller, audience_id: str) -> Audience:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await self._audience(uow, audience_id)

    @staticmethod
    async def _audience(uow: UnitOfWork, audience_id: str) -> Audience:
        audience = await uow.audiences.get(audience_id)
        if audience is None:
            raise not_found("audience", audience_id)
        return audience

    async def list(self, caller: Caller, page: PageRequest) -> Page[Audience]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rows = await uow.audiences.list_after(page.after, page.size + 1)
        return paginate(rows, page, AUDIENCES_LIST, lambda a: a.audience_id)

    async def update(self, caller: Caller, audience_id: str, display_name: str | None, description: str | None,
                     definition: AudienceDefinition | None) -> Audience:
        caller.require_role(*ADMINS)
        check_audience(None, display_name, description)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await uow.audiences.hold_all()
            audience = await self._audience(uow, audience_id)
            if definition is not None:
                await self._check(uow, audience_id, definition)
            changed = replace(audience, display_name=audience.display_name if display_name is None else display_name,
                              description=audience.description if description is None else description,
                              definition=audience.definition if definition is None else definition,
                              updated_at=self._clock())
            await uow.audiences.replace(changed)
            await uow.commit()
        return changed

    async def delete(self, caller: Caller, audience_id: str) -> None:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await refuse_audience_delete(uow, audience_id)
            if not await uow.audiences.delete(audience_id):
                raise not_found("audience", audience_id)
            await uow.commit()

    async def list_members(self, caller: Caller, audience_id: str, page: PageRequest) -> Page[str]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            selection = await audience_selection(uow, audience_id)
            if selection is None:
                raise not_found("audience", audience_id)
            ids = await uow.audiences.members_after(selection, page.after, page.size + 1)
        return paginate(ids, page, AUDIENCE_MEMBERS_LIST, lambda customer_id: customer_id)

    async def is_member(self, caller: Caller, audience_id: str, customer_id: str) -> bool:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            selection = await audience_selection(uow, audience_id)
            if selection is None:
                raise not_found("audience", audience_id)
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            return await uow.audiences.is_member(selection, customer_id)
