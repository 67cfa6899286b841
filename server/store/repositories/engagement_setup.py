"""Apps, event types, templates, events and channel configurations of one tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from server.domain.engagement.entities import (
    App,
    AppState,
    Channel,
    ChannelConfig,
    ChannelRoute,
    ContentVariant,
    Event,
    EventMessage,
    EventType,
    FallbackPolicy,
    FallbackStep,
    Platform,
    Template,
)
from server.domain.events import Money
from server.store.engagement_models import AppRow, ChannelConfigRow, EventRow, EventTypeRow, TemplateRow
from server.store.repositories.engagement_base import IdKeyedRepository


class AppsRepository(IdKeyedRepository):
    model = AppRow
    id_column = "app_id"

    async def get(self, app_id: str) -> App | None:
        row = await self._row(app_id)
        return app_from_row(row) if row else None

    async def get_many(self, app_ids: set[str]) -> list[App]:
        """The named apps that exist, in one query."""
        return [app_from_row(r) for r in await self._rows(app_ids)]

    async def page(self, after: str | None, limit: int) -> list[App]:
        return [app_from_row(r) for r in await self._page(after, limit)]

    async def save(self, app: App) -> None:
        await self.session.merge(AppRow(
            tenant_id=self.tenant_id, app_id=app.app_id, display_name=app.display_name, category=app.category,
            platforms=[str(p) for p in app.platforms], state=str(app.state), created_at=app.created_at,
            updated_at=app.updated_at))


def app_from_row(row: AppRow) -> App:
    return App(row.app_id, row.display_name, row.category, [Platform(p) for p in row.platforms],
               AppState(row.state), row.created_at, row.updated_at)


class EventTypesRepository(IdKeyedRepository):
    model = EventTypeRow
    id_column = "event_type_id"

    async def get(self, event_type_id: str) -> EventType | None:
        row = await self._row(event_type_id)
        return _event_type(row) if row else None

    async def get_many(self, event_type_ids: set[str]) -> list[EventType]:
        return [_event_type(r) for r in await self._rows(event_type_ids)]

    async def page(self, after: str | None, limit: int) -> list[EventType]:
        return [_event_type(r) for r in await self._page(after, limit)]

    async def add(self, event_type: EventType) -> None:
        self.session.add(EventTypeRow(tenant_id=self.tenant_id, event_type_id=event_type.event_type_id,
                                      display_name=event_type.display_name, description=event_type.description,
                                      created_at=event_type.created_at, fallback=fallback_to_json(event_type.fallback)))

    async def save(self, event_type: EventType) -> None:
        await self.session.merge(EventTypeRow(
            tenant_id=self.tenant_id, event_type_id=event_type.event_type_id, display_name=event_type.display_name,
            description=event_type.description, created_at=event_type.created_at,
            fallback=fallback_to_json(event_type.fallback)))


def _event_type(row: EventTypeRow) -> EventType:
    return EventType(row.event_type_id, row.display_name, row.description, row.created_at,
                     fallback_from_json(row.fallback))


def fallback_to_json(policy: FallbackPolicy) -> dict[str, object] | None:
    if not policy.steps:
        return None
    return {"steps": [{"channel": str(s.channel), "wait_seconds": int(s.wait.total_seconds()) if s.wait else 0}
                      for s in policy.steps]}


def fallback_from_json(stored: dict[str, Any] | None) -> FallbackPolicy:
    steps = (stored or {}).get("steps") or []
    return FallbackPolicy(tuple(FallbackStep(Channel(str(s["channel"])), dt.timedelta(seconds=int(s["wait_seconds"]))
                                             if int(s.get("wait_seconds") or 0) > 0 else None) for s in steps))


class TemplatesRepository(IdKeyedRepository):
    model = TemplateRow
    id_column = "template_id"

    async def get(self, template_id: str) -> Template | None:
        row = await self._row(template_id)
        return _template(row) if row else None

    async def page(self, after: str | None, limit: int, channel: Channel | None) -> list[Template]:
        conditions = [TemplateRow.channel == str(channel)] if channel else []
        return [_template(r) for r in await self._page(after, limit, *conditions)]

    async def save(self, template: Template) -> None:
        await self.session.merge(TemplateRow(
            tenant_id=self.tenant_id, template_id=template.template_id, display_name=template.display_name,
            channel=str(template.channel), content=dict(template.content), created_at=template.created_at,
            updated_at=template.updated_at, variants=variants_to_json(template.variants)))


def variants_to_json(variants: tuple[ContentVariant, ...]) -> list[dict[str, object]]:
    return [{"persona": v.persona_id, "content": dict(v.content)} for v in variants]


def variants_from_json(stored: list[dict[str, Any]] | None) -> tuple[ContentVariant, ...]:
    return tuple(ContentVariant(str(v["persona"]), dict(v["content"])) for v in stored or ())


def _template(row: TemplateRow) -> Template:
    return Template(row.template_id, row.display_name, Channel(row.channel), dict(row.content), row.created_at,
                    row.updated_at, variants_from_json(row.variants))


class EventsRepository(IdKeyedRepository):
    model = EventRow
    id_column = "event_id"

    async def get(self, event_id: str) -> Event | None:
        row = await self._row(event_id)
        return event_from_row(row) if row else None

    async def get_many(self, event_ids: set[str]) -> list[Event]:
        """The named events that exist, in one query."""
        return [event_from_row(r) for r in await self._rows(event_ids)]

    async def page(self, after: str | None, limit: int) -> list[Event]:
        return [event_from_row(r) for r in await self._page(after, limit)]

    async def save(self, event: Event) -> None:
        await self.session.merge(EventRow(
            tenant_id=self.tenant_id, event_id=event.event_id, display_name=event.display_name,
            description=event.description, owner=event.owner, event_type_id=event.event_type_id, app_id=event.app_id,
            message_class=event.message_class,
            messages=[{"channel": str(m.channel), "template_id": m.template_id, "content": dict(m.content),
                       **({"variants": variants_to_json(m.variants)} if m.variants else {})} for m in event.messages],
            created_at=event.created_at, updated_at=event.updated_at))


def event_from_row(row: EventRow) -> Event:
    messages = [EventMessage(Channel(str(m["channel"])), str(m.get("template_id") or ""),
                             dict(m["content"]),  # type: ignore[call-overload]
                             variants_from_json(m.get("variants")))  # type: ignore[arg-type]
                for m in row.messages]
    return Event(row.event_id, row.display_name, row.description, row.owner, row.event_type_id, row.app_id,
                 row.message_class, messages, row.created_at, row.updated_at)


class ChannelConfigsRepository(IdKeyedRepository):
    model = ChannelConfigRow
    id_column = "config_id"

    async def get(self, config_id: str) -> ChannelConfig | None:
        row = await self._row(config_id)
        return _config(row) if row else None

    async def with_sealed_secrets(self, config_ids: set[str]) -> dict[str, tuple[ChannelConfig, bytes | None]]:
        """The named configurations that exist, each with its sealed secrets, in one query."""
        return {row.config_id: (_config(row), row.sealed_secrets) for row in await self._rows(config_ids)}

    async def sealed_secrets(self, config_id: str) -> bytes | None:
        row = await self._row(config_id)
        return row.sealed_secrets if row else None

    async def page(self, after: str | None, limit: int) -> list[ChannelConfig]:
        return [_config(r) for r in await self._page(after, limit)]

    async def routes(self) -> list[ChannelRoute]:
        """Every configuration's routing facts: fan-out chooses with these, and has no use for the
        settings or the sealed secrets (only the worker that sends opens those)."""
        rows = await self.session.execute(select(
            ChannelConfigRow.config_id, ChannelConfigRow.channel, ChannelConfigRow.provider,
            ChannelConfigRow.updated_at, ChannelConfigRow.app_id).where(ChannelConfigRow.tenant_id == self.tenant_id))
        return [ChannelRoute(config_id, Channel(channel), provider, updated_at, app_id or "")
                for config_id, channel, provider, updated_at, app_id in rows]

    async def save(self, config: ChannelConfig, sealed_secrets: bytes) -> None:
        await self.session.merge(ChannelConfigRow(
            tenant_id=self.tenant_id, config_id=config.config_id, display_name=config.display_name,
            channel=str(config.channel), provider=config.provider, settings=dict(config.settings),
            sealed_secrets=sealed_secrets, secret_keys=sorted(config.secret_keys),
            rate_limit_per_second=config.rate_limit_per_second, created_at=config.created_at,
            updated_at=config.updated_at, app_id=config.app_id,
            cost_per_message=config.cost_per_message.amount if config.cost_per_message else None,
            cost_currency=config.cost_per_message.currency if config.cost_per_message else None))


def _config(row: ChannelConfigRow) -> ChannelConfig:
    return ChannelConfig(row.config_id, row.display_name, Channel(row.channel), row.provider, dict(row.settings),
                         list(row.secret_keys), row.rate_limit_per_second, row.created_at, row.updated_at,
                         row.app_id or "", _cost(row.cost_per_message, row.cost_currency))


def _cost(amount: Decimal | None, currency: str | None) -> Money | None:
    return None if amount is None or not currency else Money(amount, currency)
