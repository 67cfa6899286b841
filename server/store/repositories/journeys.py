"""Journey versions, instances and their recorded routes (server.store.journeys_models)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update

from server.domain.journeys.model import (
    FlowRule,
    InstanceState,
    JourneyDefinition,
    JourneyInstance,
    JourneyVersion,
    RecordedRoute,
    Route,
    Step,
)
from server.domain.segments.attributes import (
    AttributeDefinition,
    AttributeType,
    AttributeValue,
    value_from_text,
    value_to_text,
)
from server.store.driver import rowcount
from server.store.journeys_models import JourneyInstanceRow, JourneyRouteRow, JourneyVersionRow
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository


def _route_to_json(route: Route | None) -> dict[str, str] | None:
    if route is None:
        return None
    return {"step": route.step} if route.step is not None else {"journey": route.journey or ""}


def _route_from_json(data: Mapping[str, str] | None) -> Route | None:
    return None if data is None else Route(step=data.get("step"), journey=data.get("journey"))


def definition_to_json(definition: JourneyDefinition) -> dict[str, Any]:
    return {
        "fields": [{"name": f.name, "type": f.type.value, "values": list(f.values)} for f in definition.fields],
        "steps": [{"id": s.step_id, "title": s.title, "captures": list(s.captures),
                   "rules": [{"expression": r.expression, "route": _route_to_json(r.route)} for r in s.rules],
                   "default": _route_to_json(s.default_route), "end": s.end} for s in definition.steps],
    }


def definition_from_json(display_name: str, data: Mapping[str, Any]) -> JourneyDefinition:
    fields = tuple(AttributeDefinition(f["name"], AttributeType(f["type"]), tuple(f["values"])) for f in data["fields"])
    steps = tuple(Step(s["id"], s["title"], tuple(s["captures"]),
                       tuple(FlowRule(r["expression"], _route_from_json(r["route"]) or Route()) for r in s["rules"]),
                       _route_from_json(s["default"]), s["end"]) for s in data["steps"])
    return JourneyDefinition(display_name, steps, fields)


def _version(row: JourneyVersionRow) -> JourneyVersion:
    return JourneyVersion(row.journey_id, row.version, definition_from_json(row.display_name, row.definition),
                          row.created_at)


class JourneyVersionsRepository(TenantRepository):
    async def add(self, journey_id: str, version: int, definition: JourneyDefinition, now: dt.datetime) -> bool:
        """False when that version exists already (a journey created twice, or two updates at once)."""
        stmt = self.upsert(JourneyVersionRow).values(
            tenant_id=self.tenant_id, journey_id=journey_id, version=version, display_name=definition.display_name,
            definition=definition_to_json(definition), created_at=now)
        result = await self.session.execute(
            stmt.on_conflict_do_nothing(index_elements=["tenant_id", "journey_id", "version"]))
        return rowcount(result) == 1

    async def get(self, journey_id: str, version: int | None = None) -> JourneyVersion | None:
        """The version asked for, or the latest (None)."""
        query = select(JourneyVersionRow).where(JourneyVersionRow.tenant_id == self.tenant_id,
                                                JourneyVersionRow.journey_id == journey_id)
        if version is not None:
            query = query.where(JourneyVersionRow.version == version)
        row = await self.session.scalar(query.order_by(JourneyVersionRow.version.desc()).limit(1))
        return None if row is None else _version(row)

    async def ids(self) -> set[str]:
        rows = await self.session.scalars(select(JourneyVersionRow.journey_id).distinct().where(
            JourneyVersionRow.tenant_id == self.tenant_id))
        return set(rows)

    async def latest_after(self, after: str | None, limit: int) -> list[JourneyVersion]:
        """Each journey at its latest version, by id: the page of ids and their highest versions, then
        those rows, in two statements."""
        latest = select(JourneyVersionRow.journey_id, func.max(JourneyVersionRow.version)).where(
            JourneyVersionRow.tenant_id == self.tenant_id).group_by(JourneyVersionRow.journey_id)
        wanted = list(await self.session.execute(keyset_page(latest, [JourneyVersionRow.journey_id],
                                                             None if after is None else (after,), limit)))
        if not wanted:
            return []
        rows = await self.session.scalars(select(JourneyVersionRow).where(
            JourneyVersionRow.tenant_id == self.tenant_id,
            self.one_of(JourneyVersionRow.journey_id, [journey_id for journey_id, _ in wanted])))
        by_key = {(r.journey_id, r.version): r for r in rows}
        return [_version(by_key[(journey_id, version)]) for journey_id, version in wanted]


def _instance(row: JourneyInstanceRow, types: Mapping[str, AttributeDefinition]) -> JourneyInstance:
    captured: dict[str, AttributeValue] = {}
    for name, text in (row.captured or {}).items():
        if name in types:  # an attribute deleted since is no longer read
            captured[name] = value_from_text(types[name], text)
    return JourneyInstance(row.instance_id, row.customer_id, row.journey_id, row.version, row.current_step,
                           InstanceState(row.state), captured, row.handed_to, row.started_at, row.updated_at)


class JourneyInstancesRepository(TenantRepository):
    async def add(self, instance: JourneyInstance, now: dt.datetime) -> None:
        self.session.add(JourneyInstanceRow(
            tenant_id=self.tenant_id, instance_id=instance.instance_id, customer_id=instance.customer_id,
            journey_id=instance.journey_id, version=instance.version, current_step=instance.current_step,
            state=instance.state.value, captured={}, handed_to=None, route_count=0, started_at=now, updated_at=now))
        await self.session.flush()

    async def journey_of(self, customer_id: str, instance_id: str) -> tuple[str, int] | None:
        """(journey id, version) of the customer's instance: what its values are read with."""
        row = (await self.session.execute(select(JourneyInstanceRow.journey_id, JourneyInstanceRow.version).where(
            JourneyInstanceRow.tenant_id == self.tenant_id, JourneyInstanceRow.instance_id == instance_id,
            JourneyInstanceRow.customer_id == customer_id))).first()
        return None if row is None else (row[0], row[1])

    async def get(self, customer_id: str, instance_id: str, types: Mapping[str, AttributeDefinition],
                  *, hold: bool = False) -> JourneyInstance | None:
        """The customer's instance; `hold`: held until the transaction ends (one answer at a time)."""
        if hold and not await self.hold_row(JourneyInstanceRow.instance_id, instance_id):
            return None
        row = await self.session.scalar(select(JourneyInstanceRow).where(
            JourneyInstanceRow.tenant_id == self.tenant_id, JourneyInstanceRow.instance_id == instance_id,
            JourneyInstanceRow.customer_id == customer_id))
        return None if row is None else _instance(row, types)

    async def advance(self, instance: JourneyInstance, route: RecordedRoute) -> None:
        """Writes the instance as it is after `route`, and records the route (numbered `route.sequence`)."""
        await self.session.execute(update(JourneyInstanceRow).where(
            JourneyInstanceRow.tenant_id == self.tenant_id, JourneyInstanceRow.instance_id == instance.instance_id
        ).values(current_step=instance.current_step, state=instance.state.value,
                 captured={n: value_to_text(v) for n, v in instance.captured.items()},
                 handed_to=instance.handed_to, route_count=route.sequence, updated_at=route.taken_at),
            execution_options={"synchronize_session": False})
        self.session.add(JourneyRouteRow(
            tenant_id=self.tenant_id, instance_id=instance.instance_id, sequence=route.sequence,
            from_step=route.from_step, rule_index=route.rule_index, rule_expression=route.rule_expression,
            to_step=route.route.step, to_journey=route.route.journey, handed_to=route.handed_to,
            taken_at=route.taken_at))
        await self.session.flush()

    async def route_count(self, instance_id: str) -> int:
        count = await self.session.scalar(select(JourneyInstanceRow.route_count).where(
            JourneyInstanceRow.tenant_id == self.tenant_id, JourneyInstanceRow.instance_id == instance_id))
        return int(count or 0)

    async def routes_after(self, instance_id: str, after: int | None, limit: int) -> list[RecordedRoute]:
        query = select(JourneyRouteRow).where(JourneyRouteRow.tenant_id == self.tenant_id,
                                              JourneyRouteRow.instance_id == instance_id)
        rows = await self.session.scalars(keyset_page(query, [JourneyRouteRow.sequence],
                                                      None if after is None else (after,), limit))
        return [RecordedRoute(r.sequence, r.from_step, r.rule_index, r.rule_expression,
                              Route(step=r.to_step, journey=r.to_journey), r.handed_to, r.taken_at) for r in rows]
