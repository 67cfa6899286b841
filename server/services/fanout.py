"""Fan-out: one trigger of an event for one customer becomes one delivery per channel address, recorded
in the caller's unit of work (the transactional outbox). Every trigger path uses it: TriggerEvent,
transaction alerts, insight notifications, campaigns and one-time passwords."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from server.domain.engagement.delivery_outbox import RecordedTrigger
from server.domain.engagement.entities import (
    App,
    AppState,
    Channel,
    ChannelRoute,
    Contact,
    Delivery,
    DeliveryState,
    Event,
    EventMessage,
    FallbackPolicy,
    Platform,
)
from server.domain.engagement.fallback import plan_chain
from server.domain.engagement.persona_content import chosen_content, persona_tokens_context, uses_personas
from server.domain.engagement.preferences import ChannelPreferences, Decision, MessageClass, decide
from server.domain.engagement.quiet_hours import QuietHours
from server.domain.engagement.templates import TemplateRenderError, render_parts
from server.domain.errors import DomainError, FailedPrecondition, FieldViolation, InvalidArgument
from server.domain.ids import new_id
from server.security.secret_box import SecretBox
from server.services import wallet_sending
from server.services.wallet_sending import PassPlan, WalletView
from server.store.uow import UnitOfWork

# Deliveries due within this horizon are handed to Redis right after their transaction commits (a job
# deferred until due); later ones (quiet hours) are left to the relay sweep, which enqueues them when
# they fall due.
PARK_HORIZON = dt.timedelta(minutes=5)
# record_triggers hands the event loop back this often while it renders.
_PLANS_BETWEEN_YIELDS = 50


@dataclass
class Trigger:
    """What is being sent, to whom, and the values its tokens may use."""

    event: Event
    customer_id: str
    trigger_key: str
    tokens: dict[str, Any] = field(default_factory=dict)
    campaign_id: str = ""
    message_class: MessageClass = MessageClass.REGULAR
    # Only these channels (one-time passwords pick one); None = every message of the event.
    channels: frozenset[Channel] | None = None
    # Content with a secret in it (a one-time password) is stored sealed.
    sensitive: bool = False
    # The personas the customer belongs to, looked up when the event's messages need them.
    personas: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SendingSetup:
    """The tenant's side of sending, read once and shared by every customer a trigger path sends to:
    the apps of the events sent (only published apps send), the channel routes and the bank's name."""

    apps: dict[str, App]
    routes: list[ChannelRoute]
    bank_name: str
    # persona id -> its tokens, read (by record_trigger/s) only when an event sent needs personas.
    persona_tokens: dict[str, dict[str, str]] | None = None
    # event type id -> its fallback policy, for the event types that have one.
    fallbacks: dict[str, FallbackPolicy] = field(default_factory=dict)


def _uses_personas(event: Event) -> bool:
    return any(uses_personas(m.content, m.variants) for m in event.messages)


async def load_sending_setup(uow: UnitOfWork, events: list[Event]) -> SendingSetup:
    apps = {app.app_id: app for app in await uow.apps.get_many({e.app_id for e in events if e.app_id})}
    tenant = await uow.tenants.get(uow.tenant_id)
    kinds = await uow.event_types.get_many({e.event_type_id for e in events if e.event_type_id})
    return SendingSetup(apps, await uow.channel_configs.routes(), tenant.display_name if tenant else "",
                        fallbacks={k.event_type_id: k.fallback for k in kinds if k.fallback.steps})


async def _with_personas(uow: UnitOfWork, triggers: list[Trigger], setup: SendingSetup
                         ) -> tuple[list[Trigger], SendingSetup]:
    """The triggers with their customers' personas from the kept memberships, and the setup with the
    personas' tokens, where an event needs them (two reads for all the triggers; none when no event does)."""
    customers = {t.customer_id for t in triggers if _uses_personas(t.event)}
    if not customers:
        return triggers, setup
    if setup.persona_tokens is None:
        setup = replace(setup, persona_tokens=await uow.personas.tokens())
    member_of: dict[str, set[str]] = {}
    for persona_id, customer_id in await uow.persona_members.of_customers(customers):
        member_of.setdefault(customer_id, set()).add(persona_id)
    return [replace(t, personas=frozenset(member_of.get(t.customer_id, ()))) if t.customer_id in customers else t
            for t in triggers], setup


@dataclass
class Target:
    address: str
    config: ChannelRoute | None
    extra: dict[str, str] = field(default_factory=dict)


async def record_trigger(uow: UnitOfWork, trigger: Trigger, setup: SendingSetup, contact: Contact | None,
                         box: SecretBox, now: dt.datetime) -> tuple[list[Delivery], bool]:
    """Records the deliveries of one trigger to the customer whose contact is given (None: no
    addresses). Returns them and whether they are new: a trigger key seen before returns the first
    call's deliveries and records nothing, even if the event could no longer be sent now."""
    [trigger], setup = await _with_personas(uow, [trigger], setup)
    wallet = await _load_wallet(uow, box, [trigger])
    try:
        trigger, contact, passes = _plan_passes(trigger, setup, contact, wallet, box, now)
        deliveries = _plan_deliveries(trigger, setup, contact, box, now)
    except (FailedPrecondition, InvalidArgument):
        if await uow.deliveries.trigger_recorded(trigger.trigger_key):
            return await uow.deliveries.of_trigger(trigger.trigger_key), False
        raise
    wallet_sending.attach(deliveries, passes, box)
    if passes.writes:
        uow.writes_more()  # the passes are written with the deliveries, in one transaction
    # Recorded as handed to the queue: the caller enqueues them once this is committed, and should that
    # fail the relay sweep finds them not picked up after its grace period. So enqueuing costs no second
    # write per trigger.
    if not await uow.deliveries.add_trigger(trigger.trigger_key, trigger.event.event_id, trigger.customer_id, now,
                                            deliveries, queued_until=now + PARK_HORIZON):
        return await uow.deliveries.of_trigger(trigger.trigger_key), False
    await wallet_sending.save(uow, passes)
    return deliveries, True


async def record_triggers(uow: UnitOfWork, triggers: list[Trigger], setup: SendingSetup,
                          contacts: dict[str, Contact], box: SecretBox, now: dt.datetime, *,
                          content_limit: int) -> list[tuple[list[Delivery], bool] | DomainError]:
    """record_trigger for many triggers at once, with a few statements instead of one or two per
    trigger. One result per trigger, in their order: its deliveries and whether they are new, or why it
    cannot be sent (nothing of it recorded). A key repeated in the list, or recorded before, gives the
    first trigger's deliveries. Raises when the rendered messages pass `content_limit` characters in
    all: each message is bounded, but a thousand of them at once would hold the shared server's memory."""
    triggers, setup = await _with_personas(uow, triggers, setup)
    wallet = await _load_wallet(uow, box, triggers)
    pass_plans: dict[int, PassPlan] = {}
    first_of_key: dict[str, int] = {}
    plans: dict[int, list[Delivery]] = {}
    unsendable: dict[int, DomainError] = {}
    rendered = 0
    for index, trigger in enumerate(triggers):
        if index % _PLANS_BETWEEN_YIELDS == _PLANS_BETWEEN_YIELDS - 1:
            await asyncio.sleep(0)  # rendering is CPU work: let the server's other calls run meanwhile
        if trigger.trigger_key in first_of_key:
            continue
        first_of_key[trigger.trigger_key] = index
        try:
            planned, contact, pass_plans[index] = _plan_passes(trigger, setup, contacts.get(trigger.customer_id),
                                                                wallet, box, now)
            plans[index] = _plan_deliveries(planned, setup, contact, box, now)
        except (FailedPrecondition, InvalidArgument) as exc:
            unsendable[index] = exc
            continue
        wallet_sending.attach(plans[index], pass_plans[index], box)
        rendered += sum(len(part) for d in plans[index] for part in d.content.values())
        if rendered > content_limit:
            raise InvalidArgument("BATCH_CONTENT_TOO_LARGE", f"the rendered messages of these triggers pass "
                                  f"{content_limit:,} characters: send them in smaller batches",
                                  violations=[FieldViolation("requests", "too much content for one call")])
    new_keys = await uow.deliveries.add_triggers(
        [RecordedTrigger(triggers[i].trigger_key, triggers[i].event.event_id, triggers[i].customer_id, plan)
         for i, plan in plans.items()], now, queued_until=now + PARK_HORIZON)
    await wallet_sending.save(uow, *[pass_plans[i] for i in plans if triggers[i].trigger_key in new_keys])
    # Keys recorded before this call, sendable now or not: the first call's deliveries answer them.
    recorded_before = {triggers[i].trigger_key for i in plans} - new_keys
    recorded_before |= await uow.deliveries.recorded_trigger_keys({triggers[i].trigger_key for i in unsendable})
    earlier = await uow.deliveries.of_triggers(recorded_before)
    results: list[tuple[list[Delivery], bool] | DomainError] = []
    for index, trigger in enumerate(triggers):
        first = first_of_key[trigger.trigger_key]
        if trigger.trigger_key in earlier:
            results.append((earlier[trigger.trigger_key], False))
        elif first in unsendable:
            results.append(unsendable[first])
        else:
            results.append((plans[first], first == index))
    return results


def _plan_deliveries(trigger: Trigger, setup: SendingSetup, contact: Contact | None, box: SecretBox,
                    now: dt.datetime) -> list[Delivery]:
    """One delivery per channel address, rendered; raises when the event cannot be sent (its app is
    not published, its content does not render)."""
    event = trigger.event
    # Only published apps send. A one-time password by SMS names no app.
    app = setup.apps.get(event.app_id) if event.app_id else None
    if event.app_id and (app is None or app.state is not AppState.PUBLISHED):
        raise FailedPrecondition("APP_NOT_PUBLISHED", f"app '{event.app_id}' is not published: it cannot send",
                                 metadata={"app": event.app_id})
    contact = contact or Contact(trigger.customer_id)
    context = _context(trigger, setup)
    deliveries: list[Delivery] = []
    for message in event.messages:
        if trigger.channels is not None and message.channel not in trigger.channels:
            continue
        content = _render(message, chosen_content(message.content, message.variants, trigger.personas), context,
                          event.event_id)
        # One delivery per address: Wallet passes of one type on one device share its push token (Apple
        # asks the device which passes changed), and contacts saved before repeats were refused may
        # list a token twice.
        addresses: set[str] = set()
        for target in _targets(message, contact, app, setup.routes):
            if target.address in addresses:
                continue
            addresses.add(target.address)
            deliveries.append(_delivery(trigger, message.channel, target, {**content, **target.extra}, contact,
                                        box, now))
    policy = setup.fallbacks.get(event.event_type_id)
    # A trigger limited to some channels (a one-time password) picked its channel itself.
    return plan_chain(deliveries, policy, now) if policy is not None and trigger.channels is None else deliveries


def _context(trigger: Trigger, setup: SendingSetup) -> dict[str, Any]:
    """The values a trigger's messages may read as tokens."""
    return {"customer": {"id": trigger.customer_id, **trigger.tokens.get("customer", {})},
            "event": {"name": trigger.event.display_name}, "bank": {"name": setup.bank_name},
            "persona": persona_tokens_context(setup.persona_tokens or {}, trigger.personas),
            **{k: v for k, v in trigger.tokens.items() if k != "customer"}}


def _sent_pass_types(trigger: Trigger) -> set[str]:
    return wallet_sending.pass_types(trigger.channels, [(m.channel, m.content) for m in trigger.event.messages])


async def _load_wallet(uow: UnitOfWork, box: SecretBox, triggers: list[Trigger]) -> WalletView:
    wanted: dict[str, set[str]] = {}
    for trigger in triggers:
        types = _sent_pass_types(trigger)
        if types:
            wanted.setdefault(trigger.customer_id, set()).update(types)
    return await wallet_sending.load_wallet(uow, box, wanted)


def _plan_passes(trigger: Trigger, setup: SendingSetup, contact: Contact | None, wallet: WalletView, box: SecretBox,
                 now: dt.datetime) -> tuple[Trigger, Contact | None, PassPlan]:
    """The trigger's PASS messages (server.services.wallet_sending): the trigger with its `pass` tokens,
    the contact with the devices registered for its passes, and what it writes to them."""
    if not _sent_pass_types(trigger):
        return trigger, contact, PassPlan()
    context = _context(trigger, setup)
    allowed = [m for m in trigger.event.messages if trigger.channels is None or m.channel in trigger.channels]
    rendered = [_render(m, chosen_content(m.content, m.variants, trigger.personas), context, trigger.event.event_id)
                for m in allowed if m.channel is Channel.PASS]
    carried = any(m.channel in wallet_sending.CARRIERS for m in allowed)
    plan = wallet_sending.plan_passes(trigger.customer_id, rendered, carried, wallet, box, now,
                                      organization=setup.bank_name, description=trigger.event.display_name)
    return (replace(trigger, tokens={**trigger.tokens, "pass": plan.tokens}),
            wallet_sending.with_devices(contact, trigger.customer_id, plan), plan)


def _render(message: EventMessage, content: dict[str, str], context: dict[str, Any], event_id: str
            ) -> dict[str, str]:
    try:
        return render_parts(content, context)
    except TemplateRenderError as exc:
        problem = f"the {message.channel} message cannot be rendered: {exc}"
        if exc.reason == "TOKEN_MISSING":
            raise InvalidArgument("TEMPLATE_TOKEN_MISSING", problem,
                                  violations=[FieldViolation("data", str(exc))]) from exc
        if exc.reason == "TOO_LONG":
            raise InvalidArgument("MESSAGE_TOO_LONG", problem, violations=[FieldViolation("data", str(exc))]) from exc
        # The event's content, not the request, is at fault: it has to be corrected first.
        raise FailedPrecondition("TEMPLATE_RENDER_FAILED", problem,
                                 metadata={"event": event_id, "channel": str(message.channel)}) from exc


def _targets(message: EventMessage, contact: Contact, app: App | None, configs: list[ChannelRoute]) -> list[Target]:
    """The addresses of this channel and the configuration that sends to each; an empty address stands
    for 'nowhere to send' and is recorded as skipped."""
    if message.channel is Channel.EMAIL:
        return [Target(contact.email, _config(configs, Channel.EMAIL, {"smtp"}))]
    if message.channel is Channel.SMS:
        return [Target(contact.phone, _config(configs, Channel.SMS, {"twilio", "vonage", "clickatell"}))]
    if message.channel is Channel.PUSH:
        devices = [d for d in contact.devices if app and d.app_id == app.app_id and d.platform in app.platforms]
        return [Target(d.push_token, _config(configs, Channel.PUSH, {"apns"} if d.platform is Platform.APPLE
                                             else {"fcm"}, app.app_id if app else ""), {"platform": str(d.platform)})
                for d in devices] or [Target("", None)]
    passes = [p for p in contact.passes if p.pass_type_identifier == message.content.get("pass_type_identifier")]
    return [Target(p.push_token, _config(configs, Channel.PASS, {"apple_pass"}),
                   {"serial_number": p.serial_number}) for p in passes] or [Target("", None)]


def _config(configs: list[ChannelRoute], channel: Channel, providers: set[str], app_id: str = ""
            ) -> ChannelRoute | None:
    """The most recently updated configuration of the channel (and provider family) is the active one:
    of those bound to the app when it has any (its own push credentials), else of the tenant-wide ones.
    A configuration bound to one app never sends another app's messages."""
    matching = [c for c in configs if c.channel is channel and c.provider in providers]
    own = [c for c in matching if app_id and c.app_id == app_id] or [c for c in matching if not c.app_id]
    return max(own, key=lambda c: (c.updated_at, c.config_id)) if own else None


def channel_preferences(contact: Contact) -> ChannelPreferences:
    quiet = contact.preferences.quiet_hours
    return ChannelPreferences(
        opted_out_channels=frozenset(str(c) for c in contact.preferences.opted_out_channels),
        opted_out_event_types=frozenset(contact.preferences.opted_out_event_types),
        quiet_hours=None if quiet is None else QuietHours(dt.time.fromisoformat(quiet.start),
                                                          dt.time.fromisoformat(quiet.end), quiet.time_zone))


def _delivery(trigger: Trigger, channel: Channel, target: Target, content: dict[str, str], contact: Contact,
              box: SecretBox, now: dt.datetime) -> Delivery:
    state, skip_reason, due = DeliveryState.QUEUED, "", now
    if target.address and target.config is None:
        state, skip_reason = DeliveryState.SKIPPED, "NO_CHANNEL_CONFIG"
    else:
        decision: Decision = decide(str(channel), trigger.event.event_type_id, trigger.message_class,
                                    channel_preferences(contact), target.address or None, now)
        if decision.skip_reason:
            state, skip_reason = DeliveryState.SKIPPED, decision.skip_reason
        elif decision.defer_until is not None:
            due = decision.defer_until
    sealed = box.seal(content) if trigger.sensitive and state is DeliveryState.QUEUED else None
    return Delivery(
        delivery_id=new_id(), trigger_key=trigger.trigger_key, event_id=trigger.event.event_id,
        campaign_id=trigger.campaign_id, customer_id=trigger.customer_id, channel=channel,
        provider=target.config.provider if target.config else "", config_id=target.config.config_id
        if target.config else "", address=target.address, message_class=str(trigger.message_class),
        content={} if trigger.sensitive or state is DeliveryState.SKIPPED else content, state=state,
        skip_reason=skip_reason, attempts=0, next_attempt_at=due, provider_message_id="", error_code="",
        error_message="", created_at=now, updated_at=now, sealed_content=sealed)
