"""Audiences (server.store.audiences_models) and their members, selected in SQL from persona_members."""

from __future__ import annotations

from sqlalchemy import delete, literal, select, update

from server.domain.personas.audiences import (
    Audience,
    AudienceDefinition,
    AudienceMode,
    Part,
    Selection,
)
from server.store.audience_sql import selection_condition
from server.store.audiences_models import AudienceRow
from server.store.driver import rowcount
from server.store.keyset import keyset_page
from server.store.models import CustomerRow
from server.store.personas_models import PersonaRow
from server.store.repositories.base import TenantRepository


def definition_to_json(definition: AudienceDefinition) -> dict[str, object]:
    return {"include": [p.name for p in definition.include], "mode": definition.mode.value,
            "exclude": [p.name for p in definition.exclude]}


def _parts(names: object) -> tuple[Part, ...]:
    assert isinstance(names, list)
    return tuple(Part(*name.split("/", 1)) for name in names)


def definition_from_json(stored: dict[str, object]) -> AudienceDefinition:
    return AudienceDefinition(_parts(stored["include"]), AudienceMode(str(stored["mode"])), _parts(stored["exclude"]))


def _audience(row: AudienceRow) -> Audience:
    return Audience(row.audience_id, row.display_name, row.description, definition_from_json(row.definition),
                    row.created_at, row.updated_at)


class AudiencesRepository(TenantRepository):
    async def add(self, audience: Audience) -> bool:
        """False when the tenant has an audience of that id already."""
        stmt = self.upsert(AudienceRow).values(
            tenant_id=self.tenant_id, audience_id=audience.audience_id, display_name=audience.display_name,
            description=audience.description, definition=definition_to_json(audience.definition),
            created_at=audience.created_at, updated_at=audience.updated_at)
        result = await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "audience_id"]))
        return rowcount(result) == 1

    async def hold_all(self) -> None:
        """Holds the tenant's audiences until the transaction ends (a write that changes nothing): saves
        and deletes of audiences, and deletes of personas, then see each other's writes, so two saves at
        once cannot together make a cycle, nor a delete leave a name pointing nowhere."""
        await self.session.execute(update(AudienceRow).where(AudienceRow.tenant_id == self.tenant_id).values(
            audience_id=AudienceRow.audience_id), execution_options={"synchronize_session": False})

    async def hold_personas(self, persona_ids: set[str]) -> set[str]:
        """Holds the named personas' rows until the transaction ends; the ones that exist. A persona's
        delete then waits for an audience's save naming it (and sees it), or the save sees it gone."""
        return {p for p in sorted(persona_ids) if await self.hold_row(PersonaRow.persona_id, p)}

    async def get(self, audience_id: str) -> Audience | None:
        row = await self.session.get(AudienceRow, (self.tenant_id, audience_id))
        return None if row is None else _audience(row)

    async def definitions(self) -> dict[str, AudienceDefinition]:
        """Every audience's definition by id: what saving one checks and what expanding one reads."""
        rows = await self.session.execute(select(AudienceRow.audience_id, AudienceRow.definition).where(
            AudienceRow.tenant_id == self.tenant_id))
        return {row.audience_id: definition_from_json(row.definition) for row in rows}

    async def list_after(self, after: str | None, limit: int) -> list[Audience]:
        query = select(AudienceRow).where(AudienceRow.tenant_id == self.tenant_id)
        rows = await self.session.scalars(keyset_page(query, [AudienceRow.audience_id],
                                                      None if after is None else (after,), limit))
        return [_audience(r) for r in rows]

    async def replace(self, audience: Audience) -> None:
        await self.session.execute(update(AudienceRow).where(
            AudienceRow.tenant_id == self.tenant_id, AudienceRow.audience_id == audience.audience_id
        ).values(display_name=audience.display_name, description=audience.description,
                 definition=definition_to_json(audience.definition), updated_at=audience.updated_at))

    async def delete(self, audience_id: str) -> bool:
        result = await self.session.execute(delete(AudienceRow).where(
            AudienceRow.tenant_id == self.tenant_id, AudienceRow.audience_id == audience_id))
        return rowcount(result) == 1

    async def members_after(self, selection: Selection, after: str | None, limit: int) -> list[str]:
        """The selected customers after `after` by id, `limit` of them."""
        query = select(CustomerRow.customer_id).where(
            CustomerRow.tenant_id == self.tenant_id,
            selection_condition(self.tenant_id, selection, CustomerRow.customer_id))
        return list(await self.session.scalars(keyset_page(query, [CustomerRow.customer_id],
                                                           None if after is None else (after,), limit)))

    async def is_member(self, selection: Selection, customer_id: str) -> bool:
        condition = selection_condition(self.tenant_id, selection, literal(customer_id))
        return bool(await self.session.scalar(select(condition)))
