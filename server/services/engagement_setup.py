"""Engagement set-up use cases: apps, event types, contacts, channel configurations, templates, events,
transaction alerts and insight notifications."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TypeVar

from server.domain.auth import Caller, Role
from server.domain.engagement import setup_validation as rules
from server.domain.engagement.addresses import validate_contact_addresses
from server.domain.engagement.alerts import AlertCondition
from server.domain.engagement.egress import EgressPolicy
from server.domain.engagement.entities import (
    App,
    AppState,
    Channel,
    ChannelConfig,
    Contact,
    ContentVariant,
    Event,
    EventMessage,
    EventType,
    FallbackPolicy,
    InsightNotification,
    Platform,
    Template,
    TransactionAlert,
)
from server.domain.engagement.fallback import validate_policy
from server.domain.engagement.wallet_passes import PassSummary
from server.domain.errors import FieldViolation, InvalidArgument, not_found
from server.domain.events import Money
from server.domain.ids import new_id
from server.domain.insights.catalogue import Catalogue
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.references import message_personas
from server.security.secret_box import SecretBox
from server.services.clock import Clock, utc_now
from server.services.provider_hosts import check_provider_host
from server.services.references import hold_named
from server.store.db import Database
from server.store.uow import UnitOfWork

T = TypeVar("T")
SETUP_ROLES = (Role.BANK_ADMIN,)
READ_ROLES = (Role.BANK_ADMIN, Role.SERVICE)


def _page(items: list[T], page: PageRequest, name: str, key: Callable[[T], str]) -> Page[T]:
    return paginate(items, page, name, key)


class EngagementSetupService:
    def __init__(self, database: Database, box: SecretBox, catalogue: Catalogue, egress: EgressPolicy,
                 clock: Clock = utc_now) -> None:
        """`egress`: where the workers may send (ENGAGE_PROVIDER_NETWORKS_ALLOWED); a channel
        configuration whose host it refuses is not saved."""
        self._database = database
        self._box = box
        self._catalogue = catalogue
        self._egress = egress
        self._clock = clock

    # -- apps -----------------------------------------------------------------------------------

    async def create_app(self, caller: Caller, display_name: str, category: str, platforms: list[str]) -> App:
        caller.require_role(*SETUP_ROLES)
        rules.validate_app(display_name, category, platforms)
        now = self._clock()
        app = App(new_id(), display_name.strip(), category, [Platform(p) for p in platforms], AppState.UNPUBLISHED,
                  now, now)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await uow.apps.save(app)
            await uow.commit()
        return app

    async def get_app(self, caller: Caller, app_id: str) -> App:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await _existing(uow.apps.get(app_id), "app", app_id)

    async def list_apps(self, caller: Caller, page: PageRequest) -> Page[App]:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.apps.page(page.after, page.size + 1)
        return _page(found, page, "apps", lambda a: a.app_id)

    async def update_app(self, caller: Caller, app_id: str, changes: dict[str, object]) -> App:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            app = await _existing(uow.apps.get(app_id), "app", app_id)
            display_name = str(changes.get("display_name", app.display_name))
            category = str(changes.get("category", app.category))
            platforms = [str(p) for p in changes.get("platforms", app.platforms)]  # type: ignore[attr-defined]
            rules.validate_app(display_name, category, platforms)
            app = dataclasses.replace(app, display_name=display_name.strip(), category=category,
                                      platforms=[Platform(p) for p in platforms], updated_at=self._clock())
            await uow.apps.save(app)
            await uow.commit()
        return app

    async def publish_app(self, caller: Caller, app_id: str) -> App:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            app = await _existing(uow.apps.get(app_id), "app", app_id)
            app = dataclasses.replace(app, state=AppState.PUBLISHED, updated_at=self._clock())
            await uow.apps.save(app)
            await uow.commit()
        return app

    # -- event types ----------------------------------------------------------------------------

    async def create_event_type(self, caller: Caller, display_name: str, description: str,
                                fallback: FallbackPolicy | None = None) -> EventType:
        caller.require_role(*SETUP_ROLES)
        rules.validate_event_type(display_name)
        policy = validate_policy(fallback or FallbackPolicy(), "event_type.fallback_policy")
        event_type = EventType(new_id(), display_name.strip(), description, self._clock(), policy)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await uow.event_types.add(event_type)
            await uow.commit()
        return event_type

    async def update_event_type(self, caller: Caller, event_type_id: str, changes: dict[str, object]) -> EventType:
        """Paths display_name, description, fallback (a FallbackPolicy; no steps removes it). Chains
        already running keep the steps they were planned with."""
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            event_type = await _existing(uow.event_types.get(event_type_id), "event_type", event_type_id)
            display_name = str(changes.get("display_name", event_type.display_name))
            rules.validate_event_type(display_name)
            fallback = changes.get("fallback", event_type.fallback)
            assert isinstance(fallback, FallbackPolicy)
            event_type = dataclasses.replace(
                event_type, display_name=display_name.strip(),
                description=str(changes.get("description", event_type.description)),
                fallback=validate_policy(fallback, "event_type.fallback_policy"))
            await uow.event_types.save(event_type)
            await uow.commit()
        return event_type

    async def list_event_types(self, caller: Caller, page: PageRequest) -> Page[EventType]:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.event_types.page(page.after, page.size + 1)
        return _page(found, page, "eventTypes", lambda e: e.event_type_id)

    # -- contacts -------------------------------------------------------------------------------

    async def upsert_contact(self, caller: Caller, contact: Contact) -> Contact:
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN, Role.USER)
        if caller.is_user and not contact.customer_id:
            contact = dataclasses.replace(contact, customer_id=caller.subject)
        caller.require_customer_access(contact.customer_id)
        contact = validate_contact_addresses(contact)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(contact.customer_id) is None:
                raise not_found("customer", contact.customer_id)
            for device in contact.devices:
                if await uow.apps.get(device.app_id) is None:
                    raise not_found("app", device.app_id)
            contact = dataclasses.replace(contact, updated_at=self._clock())
            await uow.contacts.save(contact)
            await uow.commit()
        return contact

    async def get_contact(self, caller: Caller, customer_id: str) -> Contact:
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN, Role.USER)
        customer_id = customer_id or (caller.subject if caller.is_user else "")
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await _existing(uow.contacts.get(customer_id), "contact", customer_id)

    # -- channel configurations -----------------------------------------------------------------

    async def create_channel_config(self, caller: Caller, display_name: str, channel: str, provider: str,
                                    settings: dict[str, str], secrets: dict[str, str], rate_limit: int,
                                    app_id: str = "", cost_per_message: Money | None = None) -> ChannelConfig:
        """`app_id`: push only, the app whose pushes it sends (its own credentials); "" = tenant-wide.
        `cost_per_message`: what a message sent through it costs the bank (the metrics' cost)."""
        caller.require_role(*SETUP_ROLES)
        rules.validate_display_name(display_name, "channel_config.display_name", "CHANNEL_CONFIG_INVALID")
        rules.validate_channel_config(channel, provider, settings, secrets, creating=True)
        _check_rate_limit(rate_limit)
        _check_app_binding(channel, app_id)
        rules.validate_message_cost(cost_per_message)
        await check_provider_host(self._egress, provider, settings)
        now = self._clock()
        config = ChannelConfig(new_id(), display_name.strip() or provider, Channel(channel), provider, dict(settings),
                               sorted(secrets), rate_limit, now, now, app_id, cost_per_message)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if app_id and await uow.apps.get(app_id) is None:
                raise not_found("app", app_id)
            await uow.channel_configs.save(config, self._box.seal(secrets))
            await uow.commit()
        return config

    async def get_channel_config(self, caller: Caller, config_id: str) -> ChannelConfig:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await _existing(uow.channel_configs.get(config_id), "channel_config", config_id)

    async def list_channel_configs(self, caller: Caller, page: PageRequest) -> Page[ChannelConfig]:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.channel_configs.page(page.after, page.size + 1)
        return _page(found, page, "channelConfigs", lambda c: c.config_id)

    async def update_channel_config(self, caller: Caller, config_id: str, changes: dict[str, object]
                                    ) -> ChannelConfig:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            config = await _existing(uow.channel_configs.get(config_id), "channel_config", config_id)
            sealed = await uow.channel_configs.sealed_secrets(config_id)
            secrets = self._box.open(sealed) if sealed else {}
            secrets.update(changes.get("secrets", {}))  # type: ignore[call-overload]
            settings = dict(changes.get("settings", config.settings))  # type: ignore[call-overload]
            rules.validate_channel_config(str(config.channel), config.provider, settings, secrets, creating=True)
            rate_limit = int(changes.get("rate_limit_per_second", config.rate_limit_per_second))  # type: ignore[call-overload]
            _check_rate_limit(rate_limit)
            display_name = str(changes.get("display_name", config.display_name))
            rules.validate_display_name(display_name, "channel_config.display_name", "CHANNEL_CONFIG_INVALID")
            if "settings" in changes:  # a host saved earlier is not judged again by a rename
                await check_provider_host(self._egress, config.provider, settings)
            app_id = str(changes.get("app_id", config.app_id))
            _check_app_binding(str(config.channel), app_id)
            if app_id and app_id != config.app_id and await uow.apps.get(app_id) is None:
                raise not_found("app", app_id)
            cost = changes.get("cost_per_message", config.cost_per_message)
            assert cost is None or isinstance(cost, Money)
            rules.validate_message_cost(cost)
            config = dataclasses.replace(
                config, display_name=display_name, settings=settings, app_id=app_id, cost_per_message=cost,
                secret_keys=sorted(secrets), rate_limit_per_second=rate_limit, updated_at=self._clock())
            await uow.channel_configs.save(config, self._box.seal(secrets))
            await uow.commit()
        return config

    # -- templates ------------------------------------------------------------------------------

    async def create_template(self, caller: Caller, display_name: str, channel: str, content: dict[str, str],
                              variants: tuple[ContentVariant, ...] = ()) -> Template:
        caller.require_role(*SETUP_ROLES)
        _require_channel(channel)
        rules.validate_display_name(display_name, "template.display_name", "TEMPLATE_INVALID")
        now = self._clock()
        template = Template(new_id(), display_name.strip() or channel.lower(), Channel(channel), content, now, now,
                            variants)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            persona_tokens = await uow.personas.tokens()
            rules.validate_template(channel, content, "template.content", persona_tokens, variants, "template.variants")
            # see server.services.references
            await hold_named(uow, personas=message_personas(content, variants, persona_tokens))
            await uow.templates.save(template)
            await uow.commit()
        return template

    async def get_template(self, caller: Caller, template_id: str) -> Template:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await _existing(uow.templates.get(template_id), "template", template_id)

    async def list_templates(self, caller: Caller, channel: str | None, page: PageRequest) -> Page[Template]:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.templates.page(page.after, page.size + 1, Channel(channel) if channel else None)
        return _page(found, page, "templates", lambda t: t.template_id)

    async def update_template(self, caller: Caller, template_id: str, changes: dict[str, object]) -> Template:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            template = await _existing(uow.templates.get(template_id), "template", template_id)
            content = dict(changes.get("content", template.content))  # type: ignore[call-overload]
            if "channel" in changes and changes["channel"] != str(template.channel):
                raise InvalidArgument("TEMPLATE_CHANNEL_NOT_MODIFIABLE", "a template's channel cannot be changed",
                                      violations=[FieldViolation("template.channel", "not modifiable")])
            variants = changes.get("variants", template.variants)
            assert isinstance(variants, tuple)
            display_name = str(changes.get("display_name", template.display_name))
            rules.validate_display_name(display_name, "template.display_name", "TEMPLATE_INVALID")
            persona_tokens = await uow.personas.tokens()
            rules.validate_template(str(template.channel), content, "template.content", persona_tokens,
                                    variants, "template.variants")
            # see server.services.references
            await hold_named(uow, personas=message_personas(content, variants, persona_tokens))
            template = dataclasses.replace(template, content=content, variants=variants, updated_at=self._clock(),
                                           display_name=display_name)
            await uow.templates.save(template)
            await uow.commit()
        return template

    # -- events ---------------------------------------------------------------------------------

    async def create_event(self, caller: Caller, display_name: str, description: str, event_type_id: str,
                           app_id: str, message_class: str, messages: list[EventMessage]) -> Event:
        caller.require_role(*SETUP_ROLES)
        rules.validate_event(display_name, description, event_type_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            event = Event(new_id(), display_name.strip(), description.strip(), caller.subject, event_type_id, app_id,
                          _message_class(message_class), await self._event_messages(uow, messages), now, now)
            await self._check_references(uow, event)
            await uow.events.save(event)
            await uow.commit()
        return event

    async def get_event(self, caller: Caller, event_id: str) -> Event:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await _existing(uow.events.get(event_id), "event", event_id)

    async def list_events(self, caller: Caller, page: PageRequest) -> Page[Event]:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.events.page(page.after, page.size + 1)
        return _page(found, page, "events", lambda e: e.event_id)

    async def update_event(self, caller: Caller, event_id: str, changes: dict[str, object]) -> Event:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            event = await _existing(uow.events.get(event_id), "event", event_id)
            display_name = str(changes.get("display_name", event.display_name))
            description = str(changes.get("description", event.description))
            event_type_id = str(changes.get("event_type_id", event.event_type_id))
            rules.validate_event(display_name, description, event_type_id)
            messages = event.messages
            if "messages" in changes:
                messages = await self._event_messages(uow, changes["messages"])  # type: ignore[arg-type]
            event = dataclasses.replace(
                event, display_name=display_name.strip(), description=description.strip(),
                event_type_id=event_type_id, messages=messages, updated_at=self._clock(),
                message_class=_message_class(str(changes.get("message_class", event.message_class))))
            await self._check_references(uow, event)
            await uow.events.save(event)
            await uow.commit()
        return event

    async def _event_messages(self, uow: UnitOfWork, messages: list[EventMessage]) -> list[EventMessage]:
        """Copies each template's content into the event (then editable here without touching the
        template) and validates what the event will send."""
        resolved: list[EventMessage] = []
        seen: set[Channel] = set()
        persona_tokens = await uow.personas.tokens()
        for index, message in enumerate(messages):
            field = f"event.messages[{index}]"
            if message.channel in seen:
                raise InvalidArgument("EVENT_CHANNEL_REPEATED", f"the {message.channel} channel is given twice",
                                      violations=[FieldViolation(f"{field}.channel", "repeated")])
            seen.add(message.channel)
            content, variants = message.content, message.variants
            if message.template_id:
                template = await _existing(uow.templates.get(message.template_id), "template", message.template_id)
                if template.channel is not message.channel:
                    raise InvalidArgument("TEMPLATE_CHANNEL_MISMATCH",
                                          f"template '{template.template_id}' is for {template.channel}",
                                          violations=[FieldViolation(f"{field}.template", "another channel")])
                if not content:  # the template's variants come with its content
                    content, variants = dict(template.content), variants or template.variants
            if not content:
                raise InvalidArgument("EVENT_MESSAGE_EMPTY", "a message needs a template or content",
                                      violations=[FieldViolation(f"{field}.content", "template or content")])
            rules.validate_template(str(message.channel), content, f"{field}.content", persona_tokens, variants,
                                    f"{field}.variants")
            resolved.append(EventMessage(message.channel, message.template_id, dict(content), variants))
        # Held until the save commits: a delete of a persona the messages read waits, then sees this event.
        await hold_named(uow, personas=set().union(*(message_personas(m.content, m.variants, persona_tokens)
                                                     for m in resolved)))
        return resolved

    async def _check_references(self, uow: UnitOfWork, event: Event) -> None:
        if await uow.event_types.get(event.event_type_id) is None:
            raise not_found("event_type", event.event_type_id)
        if await uow.apps.get(event.app_id) is None:
            raise not_found("app", event.app_id)

    # -- transaction alerts and insight notifications -------------------------------------------

    async def create_transaction_alert(self, caller: Caller, event_id: str, condition: AlertCondition
                                       ) -> TransactionAlert:
        caller.require_role(*SETUP_ROLES)
        alert = TransactionAlert(new_id(), event_id, condition, self._clock())
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await _existing(uow.events.get(event_id), "event", event_id)
            await uow.transaction_alerts.add(alert)
            await uow.commit()
        return alert

    async def list_transaction_alerts(self, caller: Caller, page: PageRequest) -> Page[TransactionAlert]:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.transaction_alerts.page(page.after, page.size + 1)
        return _page(found, page, "transactionAlerts", lambda a: a.alert_id)

    async def delete_transaction_alert(self, caller: Caller, alert_id: str) -> None:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.transaction_alerts.delete(alert_id):
                raise not_found("transaction_alert", alert_id)
            await uow.commit()

    async def create_insight_notification(self, caller: Caller, insight_name: str, event_id: str
                                          ) -> InsightNotification:
        caller.require_role(*SETUP_ROLES)
        if self._catalogue.get(insight_name) is None:
            raise not_found("insight", insight_name)
        notification = InsightNotification(new_id(), insight_name, event_id, self._clock())
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await _existing(uow.events.get(event_id), "event", event_id)
            await uow.insight_notifications.add(notification)
            await uow.commit()
        return notification

    async def list_insight_notifications(self, caller: Caller, page: PageRequest) -> Page[InsightNotification]:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.insight_notifications.page(page.after, page.size + 1)
        return _page(found, page, "insightNotifications", lambda n: n.notification_id)

    async def delete_insight_notification(self, caller: Caller, notification_id: str) -> None:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.insight_notifications.delete(notification_id):
                raise not_found("insight_notification", notification_id)
            await uow.commit()

    async def list_wallet_passes(self, caller: Caller, customer_id: str, page: PageRequest) -> Page[PassSummary]:
        """The Wallet passes issued (one customer's, when given), with the devices registered for each."""
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.wallet_passes.page(customer_id, page.after, page.size + 1)
            counts = await uow.wallet_registrations.counts(
                {(p.pass_type_identifier, p.serial_number) for p in found})
        summaries = [PassSummary(p, counts.get((p.pass_type_identifier, p.serial_number), 0)) for p in found]
        return _page(summaries, page, "walletPasses", lambda s: s.issued.serial_number)


async def _existing(lookup: Awaitable[T | None], kind: str, identifier: str) -> T:
    found = await lookup
    if found is None:
        raise not_found(kind, identifier)
    return found


def _require_channel(channel: str) -> None:
    if channel not in Channel.__members__:
        raise InvalidArgument("CHANNEL_REQUIRED", "channel must be EMAIL, SMS, PUSH or PASS",
                              violations=[FieldViolation("channel", "EMAIL, SMS, PUSH or PASS")])


def _check_rate_limit(rate_limit: int) -> None:
    if not 0 <= rate_limit <= 100_000:
        raise InvalidArgument("CHANNEL_CONFIG_INVALID", "rate_limit_per_second must be 0-100000",
                              violations=[FieldViolation("channel_config.rate_limit_per_second", "0-100000")])


def _message_class(value: str) -> str:
    if value in ("", "REGULAR"):
        return "REGULAR"
    if value == "LEGAL":
        return "LEGAL"
    raise InvalidArgument("EVENT_MESSAGE_CLASS_INVALID", "message_class must be REGULAR or LEGAL",
                          violations=[FieldViolation("event.message_class", "REGULAR or LEGAL")])


def _check_app_binding(channel: str, app_id: str) -> None:
    """Only push credentials belong to an app (its FCM project, its APNs key and topic)."""
    if app_id and channel != str(Channel.PUSH):
        raise InvalidArgument("CHANNEL_CONFIG_APP_NOT_PUSH", "only a push configuration can be bound to an app",
                              violations=[FieldViolation("channel_config.app", "only for CHANNEL_PUSH")])
