"""Evaluation of insights for many users at once: the one code path behind the monthly batch chunks,
the on-demand trigger and each ingested transaction. Set-based: a few statements per chunk."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from server.domain.events import Posting
from server.domain.goals.enrolment import GoalSettings
from server.domain.ids import time_ordered_hexes
from server.domain.insights.catalogue import Catalogue, GoalsPlugin, MonthEndBalancesPlugin, Payload
from server.domain.insights.definition import (
    EffectiveSubscription,
    Frequency,
    InsightDefinition,
    SubscriptionSettings,
    effective_subscription,
)
from server.domain.insights.feed import FeedItem, NotGenerated, NotGeneratedReason, Origin
from server.domain.insights.periods import month_period, previous_month_ends
from server.domain.insights.plugins import goals as goal_insights
from server.domain.subscriptions.levels import BANK_LEVEL
from server.services.goals.inputs import DEFAULT_PACE_MONTHS, CustomerInputs, goals_inputs
from server.store.uow import UnitOfWork

# How long an item stays in the feed after it was generated.
VALIDITY = {Frequency.MONTHLY: dt.timedelta(days=35), Frequency.DAILY: dt.timedelta(days=7),
            Frequency.EACH_EVENT: dt.timedelta(days=30)}


@dataclass
class EvaluationResult:
    users_evaluated: int
    generated: list[FeedItem]
    # Only when asked for (an on-demand trigger): each user and insight that generated nothing, and why.
    not_generated: list[NotGenerated] = field(default_factory=list)


def content_header(definition: InsightDefinition, subscription: EffectiveSubscription) -> dict[str, Any]:
    """What every item of this insight and configuration carries besides its payload."""
    snapshot = {"entityType": definition.applicable_entity[0].value, "frequency": definition.frequency.value,
                "duration": subscription.duration.value if subscription.duration else None,
                "threshold": [{"name": t.name, "value": str(subscription.thresholds[t.name]), "type": t.type.value}
                              for t in definition.thresholds]}
    return {"insightTitle": subscription.insight_title, "insightType": definition.insight_type.value,
            "triggerType": definition.trigger_type.value, "subscription": snapshot}


class ItemMaker:
    """Makes one evaluation's feed items, each distinct configuration's header once: customers who override
    nothing share one EffectiveSubscription (`subscriptions`), so a batch of thousands makes a few headers."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now
        # By the subscription object's id; the object is kept with its header, so that its id is not reused.
        self._headers: dict[int, tuple[EffectiveSubscription, dict[str, Any]]] = {}

    def item(self, definition: InsightDefinition, customer_id: str, period: str, payload: Payload,
             subscription: EffectiveSubscription, feed_item_id: str | None = None) -> FeedItem:
        """`feed_item_id`: None for a new version-4 id (batch and on-demand items; EVENT items come with
        time-ordered ones)."""
        known = self._headers.get(id(subscription))
        if known is None:
            known = self._headers[id(subscription)] = (subscription, content_header(definition, subscription))
        now = self._now
        return FeedItem(feed_item_id or uuid.uuid4().hex, customer_id, definition.name, period, now,
                        now + VALIDITY[definition.frequency], {**known[1], **payload})


# Postings in the order they were posted (a transaction id breaks ties), as evaluate_postings judges them.
_IN_TIME_ORDER = attrgetter("posted_at", "transaction_id")


def subscriptions(definition: InsightDefinition, customer_ids: list[str],
                   stored: dict[tuple[str, str], SubscriptionSettings]) -> dict[str, EffectiveSubscription]:
    """The effective configuration of each customer who is subscribed. Customers who override nothing
    (nearly all of them) share one object."""
    bank = stored.get((BANK_LEVEL, definition.name))
    default = effective_subscription(definition, bank, None)
    found = {}
    for customer_id in customer_ids:
        user = stored.get((customer_id, definition.name))
        effective = default if user is None else effective_subscription(definition, bank, user)
        if effective.is_subscribed:
            found[customer_id] = effective
    return found


async def evaluate_scheduled(uow: UnitOfWork, catalogue: Catalogue, *, as_of: dt.date, now: dt.datetime,
                             customer_ids: list[str], names: list[str] | None = None,
                             id_range: tuple[str, str] | None = None, explain: bool = False,
                             origin: Origin = Origin.SCHEDULE) -> EvaluationResult:
    """Evaluates the SCHEDULE insights for the customers (all of id_range when given) as of a date and
    stores what is new; the caller commits. Items already there for the period are not generated again.
    `explain`: also say, for each customer and insight that generated nothing, why (the on-demand
    trigger answers with it; a batch of thousands has no one to tell). `origin`: a batch's chunk
    (SCHEDULE) or TriggerInsights (ON_DEMAND), stored with the items."""
    plugins = [p for p in catalogue.scheduled() if not names or p.definition.name in names]
    plugin_names = [p.definition.name for p in plugins]
    if id_range is not None:
        stored = await uow.subscriptions.settings_in_range(*id_range, plugin_names)
        stored |= await uow.subscriptions.settings_of([BANK_LEVEL], plugin_names)
    else:
        stored = await uow.subscriptions.settings_of([BANK_LEVEL, *customer_ids], plugin_names)
    candidates: list[FeedItem] = []
    unsubscribed: list[tuple[str, str]] = []
    goals = _GoalsInputs(uow, as_of, customer_ids, id_range)
    for plugin in plugins:
        if isinstance(plugin, GoalsPlugin):
            candidates += await _evaluate_goals_plugin(plugin, goals, as_of, now, customer_ids, stored)
        else:
            candidates += await _evaluate_month_end_plugin(uow, plugin, as_of, now, customer_ids, stored, id_range)
        if explain:
            subscribed = subscriptions(plugin.definition, customer_ids, stored)
            unsubscribed += [(c, plugin.definition.name) for c in customer_ids if c not in subscribed]
    inserted = await uow.feed.insert_new(candidates, origin)
    result = EvaluationResult(len(customer_ids), [i for i in candidates if i.feed_item_id in inserted])
    if explain:
        result.not_generated = _why_not(customer_ids, plugin_names, month_period(as_of), candidates, inserted,
                                        set(unsubscribed))
    return result


def _why_not(customer_ids: list[str], insight_names: list[str], period: str, candidates: list[FeedItem],
             inserted: set[str], unsubscribed: set[tuple[str, str]]) -> list[NotGenerated]:
    """Each customer and insight without a new item: unsubscribed; a candidate the feed already had for
    the period; or no candidate at all, since its evaluation found the condition unmet."""
    candidate_ids = {(i.customer_id, i.insight_name): i.feed_item_id for i in candidates}
    found = []
    for customer_id in customer_ids:
        for name in insight_names:
            candidate = candidate_ids.get((customer_id, name))
            if candidate is not None and candidate in inserted:
                continue
            if (customer_id, name) in unsubscribed:
                reason = NotGeneratedReason.UNSUBSCRIBED
            elif candidate is not None:
                reason = NotGeneratedReason.ALREADY_GENERATED
            else:
                reason = NotGeneratedReason.CONDITION_NOT_MET
            found.append(NotGenerated(customer_id, name, reason, period))
    return found


async def _evaluate_month_end_plugin(uow: UnitOfWork, plugin: MonthEndBalancesPlugin, as_of: dt.date,
                                     now: dt.datetime, customer_ids: list[str],
                                     stored: dict[tuple[str, str], SubscriptionSettings],
                                     id_range: tuple[str, str] | None) -> list[FeedItem]:
    definition = plugin.definition
    subscribed = subscriptions(definition, customer_ids, stored)
    if not subscribed:
        return []
    months = max((s.duration.months for s in subscribed.values() if s.duration), default=0)
    scope = {"first": id_range[0], "last": id_range[1]} if id_range else {"customer_ids": list(subscribed)}
    accounts = await uow.month_end_balances.accounts_by_customer(
        containers=[c.value for c in definition.containers], as_of=as_of,
        month_ends=previous_month_ends(as_of, months), **scope)
    period = month_period(as_of)
    maker = ItemMaker(now)
    items = []
    for customer_id, subscription in subscribed.items():
        payload = plugin.evaluate(accounts.get(customer_id, []), subscription)
        if payload is not None:
            items.append(maker.item(definition, customer_id, period, payload, subscription))
    return items


# Which goal setting of the customer's enrolment lets each goals insight through.
_GOAL_SETTING = {goal_insights.TRACKER: "tracker_insights", goal_insights.AT_RISK: "at_risk_insights"}


class _GoalsInputs:
    """The goals insights' inputs of one evaluation, read once for all of them (on first use)."""

    def __init__(self, uow: UnitOfWork, as_of: dt.date, customer_ids: list[str], id_range: tuple[str, str] | None
                 ) -> None:
        self._uow, self._as_of, self._customer_ids, self._id_range = uow, as_of, customer_ids, id_range
        self._found: dict[str, CustomerInputs] = {}
        self._months = 0

    async def get(self, months: int) -> dict[str, CustomerInputs]:
        """Read again only when an insight asks for more months than read before (each uses its last ones)."""
        if months > self._months:
            zone = await self._uow.tenants.zone(self._uow.tenant_id)
            self._found = await goals_inputs(self._uow, as_of=self._as_of, months=months, zone=zone,
                                             customer_ids=None if self._id_range else self._customer_ids,
                                             id_range=self._id_range)
            self._months = months
        return self._found


def _receives(settings: GoalSettings, insight_name: str) -> bool:
    return bool(getattr(settings, _GOAL_SETTING.get(insight_name, ""), True))


async def _evaluate_goals_plugin(plugin: GoalsPlugin, inputs: _GoalsInputs, as_of: dt.date, now: dt.datetime,
                                 customer_ids: list[str], stored: dict[tuple[str, str], SubscriptionSettings]
                                 ) -> list[FeedItem]:
    """A SCHEDULE goals insight for the enrolled customers who receive goal insights (ACTIVE, not paused)
    with the insight's goal setting on and a subscription to it."""
    definition = plugin.definition
    subscribed = subscriptions(definition, customer_ids, stored)
    if not subscribed:
        return []
    found = await inputs.get(max((s.duration.months for s in subscribed.values() if s.duration),
                                 default=DEFAULT_PACE_MONTHS))
    period = month_period(as_of)
    maker = ItemMaker(now)
    items = []
    for customer_id, subscription in subscribed.items():
        customer = found.get(customer_id)
        if customer is None:
            continue
        enrolment = customer.tracked.enrolment
        if not enrolment.receives_insights or not _receives(enrolment.settings, definition.name):
            continue
        payload = plugin.evaluate(customer.customer, subscription)
        if payload is not None:
            items.append(maker.item(definition, customer_id, period, payload, subscription))
    return items


async def evaluate_postings(uow: UnitOfWork, catalogue: Catalogue, postings: Sequence[Posting],
                            now: dt.datetime) -> list[FeedItem]:
    """EVENT insights for the postings of one committed batch; the caller commits. Each posting is
    judged by its own facts as committed (its balance right after it), so the order in which batches
    are evaluated changes nothing but which item is first in a period."""
    plugins = catalogue.event_driven()
    if not plugins or not postings:
        return []
    owners = sorted({p.customer_id for p in postings})
    stored = await uow.subscriptions.settings_of([BANK_LEVEL, *owners], [p.definition.name for p in plugins])
    subscribed = {p.definition.name: subscriptions(p.definition, owners, stored) for p in plugins}
    # Several postings of one batch may fall in one period (a daily low-balance warning): the first wins.
    found: dict[tuple[str, str, str], tuple[InsightDefinition, Payload, EffectiveSubscription]] = {}
    # Each plugin's parts taken out once: this loop runs for every posting and plugin, and its own
    # attribute and dict lookups were a quarter of the handler's CPU.
    judged = [(p.definition, p.definition.name, subscribed[p.definition.name], p.evaluate, p.period) for p in plugins]
    for posting in sorted(postings, key=_IN_TIME_ORDER):
        customer_id = posting.customer_id
        for definition, name, subscribers, evaluate, period_of in judged:
            subscription = subscribers.get(customer_id)
            if subscription is None:
                continue
            payload = evaluate(posting, subscription)
            if payload is not None:
                key = (customer_id, name, period_of(posting))
                if key not in found:
                    found[key] = (definition, payload, subscription)
    maker = ItemMaker(now)
    # The items' ids from one read of the random source (one read per id was a tenth of the handler's time),
    # in time order: the feed's primary key takes them at its end.
    unique = [maker.item(definition, customer_id, period, payload, subscription, feed_item_id)
              for ((customer_id, _, period), (definition, payload, subscription)), feed_item_id
              in zip(found.items(), time_ordered_hexes(len(found)), strict=True)]
    inserted = await uow.feed.insert_new(unique, Origin.EVENT)
    return [i for i in unique if i.feed_item_id in inserted]
