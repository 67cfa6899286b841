"""Read-side query of the event history view (server.domain.reporting.event_history): deliveries,
banner impressions and clicks, rule firings, campaign steps and journey steps as one stream ordered by
(time, kind, id), one keyset page at a time.

A page is two steps. First the keys: one UNION ALL branch per kind, each a range scan of that kind's
(tenant, time, id) index cut to the page's size, merged in order by the database. Then the rows: one
lookup by primary key per kind on the page. The branches read only indexed columns, so a page reads
at most its size of index entries per kind, wherever it starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, String, and_, cast, literal, select, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement

from server.domain.goals.reports import Period
from server.domain.reporting.event_history import (
    Bound,
    EventHistoryFilter,
    EventHistoryLine,
    EventKey,
    EventKind,
    bound_for,
    journey_step_id,
    kinds_to_read,
    split_journey_step_id,
)
from server.store.engagement_models import CampaignStepRow, DeliveryRow
from server.store.journeys_models import JourneyInstanceRow, JourneyRouteRow
from server.store.repositories.base import TenantRepository
from server.store.triggers_models import BannerEventRow, TriggerFiringRow

BANNER_EVENT_KINDS = {EventKind.BANNER_IMPRESSION: "IMPRESSION", EventKind.BANNER_CLICK: "CLICK"}


@dataclass
class _Branch:
    """One kind's rows as the union reads them: its time and id columns, and its conditions."""

    time: Any
    event_id: Any
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    joins: list[tuple[Any, Any]] = field(default_factory=list)


def _within(column: Any, period: Period) -> list[ColumnElement[bool]]:
    found = []
    if period.start is not None:
        found.append(column >= period.start)
    if period.end is not None:
        found.append(column < period.end)
    return found


class EventHistoryRepository(TenantRepository):
    async def page(self, wanted: EventHistoryFilter, occurred: Period, after: EventKey | None,
                   limit: int) -> list[EventHistoryLine]:
        kinds = kinds_to_read(wanted)
        if not kinds:
            return []
        keys = await self._keys(wanted, kinds, occurred, after, limit)
        by_kind: dict[EventKind, list[str]] = {}
        for key in keys:
            by_kind.setdefault(key.kind, []).append(key.event_id)
        found: dict[tuple[EventKind, str], EventHistoryLine] = {}
        for kind, ids in by_kind.items():
            for line in await _LOADERS[kind](self, kind, ids):
                found[(kind, line.event_id)] = line
        # A row deleted between the two steps (a tenant being deleted) is left out, not failed on.
        return [found[(key.kind, key.event_id)] for key in keys if (key.kind, key.event_id) in found]

    async def _keys(self, wanted: EventHistoryFilter, kinds: list[EventKind], occurred: Period,
                    after: EventKey | None, limit: int) -> list[EventKey]:
        rows = await self.session.execute(self.keys_query(wanted, kinds, occurred, after, limit))
        ranks = {kind.rank: kind for kind in EventKind}
        return [EventKey(at, ranks[rank], event_id) for at, rank, event_id in rows]

    def keys_query(self, wanted: EventHistoryFilter, kinds: list[EventKind], occurred: Period,
                   after: EventKey | None, limit: int) -> Select[tuple[Any, int, str]]:
        """The page's keys, (time, kind rank, event id), in the view's order: one branch per kind."""
        descending = wanted.newest_first
        selects = []
        for kind in kinds:
            branch = self._branch(kind, wanted)
            query = select(branch.time.label("at"), literal(kind.rank, Integer).label("kind"),
                           branch.event_id.label("event_id"))
            for table, on in branch.joins:
                query = query.join(table, on)
            query = query.where(*branch.conditions, *_within(branch.time, occurred))
            if after is not None:
                query = query.where(_after(branch, bound_for(kind, after, descending), after, descending))
            order = [branch.time, branch.event_id]
            query = query.order_by(*(column.desc() if descending else column for column in order)).limit(limit)
            selects.append(select(query.subquery()))
        merged = (selects[0] if len(selects) == 1 else union_all(*selects)).subquery()
        columns = [merged.c.at, merged.c.kind, merged.c.event_id]
        return select(*columns).order_by(*(column.desc() if descending else column for column in columns)).limit(limit)

    def _branch(self, kind: EventKind, wanted: EventHistoryFilter) -> _Branch:
        if kind is EventKind.DELIVERY:
            d = DeliveryRow
            branch = _Branch(d.created_at, d.delivery_id, [d.tenant_id == self.tenant_id])
            _equal(branch, d.customer_id, wanted.customer_id)
            _equal(branch, d.campaign_id, wanted.campaign_id)
            _equal(branch, d.event_id, wanted.engagement_event_id)
            if wanted.delivery_states:
                branch.conditions.append(self.one_of(d.state, wanted.delivery_states))
            if wanted.channels:
                branch.conditions.append(self.one_of(d.channel, wanted.channels))
            return branch
        if kind in BANNER_EVENT_KINDS:
            b = BannerEventRow
            branch = _Branch(b.occurred_at, b.event_id, [b.tenant_id == self.tenant_id,
                                                         b.kind == BANNER_EVENT_KINDS[kind]])
            _equal(branch, b.customer_id, wanted.customer_id)
            _equal(branch, b.rule_id, wanted.rule_id)
            return branch
        if kind is EventKind.RULE_FIRING:
            f = TriggerFiringRow
            branch = _Branch(f.fired_at, f.firing_id, [f.tenant_id == self.tenant_id])
            _equal(branch, f.customer_id, wanted.customer_id)
            _equal(branch, f.rule_id, wanted.rule_id)
            return branch
        if kind is EventKind.CAMPAIGN_STEP:
            c = CampaignStepRow
            branch = _Branch(c.occurred_at, c.step_id, [c.tenant_id == self.tenant_id])
            _equal(branch, c.campaign_id, wanted.campaign_id)
            return branch
        r, i = JourneyRouteRow, JourneyInstanceRow
        branch = _Branch(r.taken_at, r.instance_id + literal(":") + cast(r.sequence, String),
                         [r.tenant_id == self.tenant_id])
        if wanted.customer_id or wanted.journey_id:
            branch.joins.append((i, and_(i.tenant_id == r.tenant_id, i.instance_id == r.instance_id)))
            _equal(branch, i.customer_id, wanted.customer_id)
            _equal(branch, i.journey_id, wanted.journey_id)
        return branch

    # -- the rows of a page, by kind ------------------------------------------------------------

    async def _deliveries(self, kind: EventKind, ids: list[str]) -> list[EventHistoryLine]:
        d = DeliveryRow
        rows = await self.session.execute(select(
            d.delivery_id, d.created_at, d.customer_id, d.channel, d.provider, d.state, d.event_id, d.campaign_id,
            d.attempts, d.sent_at, d.delivered_at, d.updated_at, d.error_code, d.error_message, d.skip_reason,
            d.fallback_step, d.fallback_state).where(d.tenant_id == self.tenant_id, self.one_of(d.delivery_id, ids)))
        return [EventHistoryLine(
            kind, r.delivery_id, r.created_at, r.customer_id, channel=r.channel, provider=r.provider,
            delivery_state=r.state, engagement_event_id=r.event_id, campaign_id=r.campaign_id, attempts=r.attempts,
            sent_at=r.sent_at, delivered_at=r.delivered_at, updated_at=r.updated_at, error_code=r.error_code,
            error_message=r.error_message, skip_reason=r.skip_reason, fallback_step=r.fallback_step,
            fallback_state=r.fallback_state) for r in rows]

    async def _banner_events(self, kind: EventKind, ids: list[str]) -> list[EventHistoryLine]:
        b = BannerEventRow
        rows = await self.session.execute(select(
            b.event_id, b.occurred_at, b.customer_id, b.banner_id, b.rule_id, b.version, b.firing_id).where(
            b.tenant_id == self.tenant_id, self.one_of(b.event_id, ids)))
        return [EventHistoryLine(kind, r.event_id, r.occurred_at, r.customer_id, banner_id=r.banner_id,
                                 rule_id=r.rule_id or "", rule_version=r.version or 0, firing_id=r.firing_id or "")
                for r in rows]

    async def _firings(self, kind: EventKind, ids: list[str]) -> list[EventHistoryLine]:
        f = TriggerFiringRow
        rows = await self.session.execute(select(
            f.firing_id, f.fired_at, f.customer_id, f.rule_id, f.version, f.account_id, f.transaction_id).where(
            f.tenant_id == self.tenant_id, self.one_of(f.firing_id, ids)))
        return [EventHistoryLine(kind, r.firing_id, r.fired_at, r.customer_id, rule_id=r.rule_id,
                                 rule_version=r.version, firing_id=r.firing_id, account_id=r.account_id,
                                 transaction_id=r.transaction_id or "") for r in rows]

    async def _campaign_steps(self, kind: EventKind, ids: list[str]) -> list[EventHistoryLine]:
        c = CampaignStepRow
        rows = await self.session.execute(select(
            c.step_id, c.occurred_at, c.campaign_id, c.state, c.previous_state, c.actor, c.reason).where(
            c.tenant_id == self.tenant_id, self.one_of(c.step_id, ids)))
        return [EventHistoryLine(kind, r.step_id, r.occurred_at, campaign_id=r.campaign_id, campaign_state=r.state,
                                 previous_campaign_state=r.previous_state, actor=r.actor, reason=r.reason)
                for r in rows]

    async def _journey_steps(self, kind: EventKind, ids: list[str]) -> list[EventHistoryLine]:
        r, i = JourneyRouteRow, JourneyInstanceRow
        steps = {step for step in map(split_journey_step_id, ids) if step is not None}
        # By instance (an instance has a few routes), then only the page's.
        rows = await self.session.execute(select(
            r.instance_id, r.sequence, r.taken_at, r.from_step, r.to_step, r.to_journey,
            i.customer_id, i.journey_id, i.version)
            .join_from(r, i, and_(i.tenant_id == r.tenant_id, i.instance_id == r.instance_id))
            .where(r.tenant_id == self.tenant_id, self.one_of(r.instance_id, {step[0] for step in steps})))
        return [EventHistoryLine(
            kind, journey_step_id(row.instance_id, row.sequence), row.taken_at, row.customer_id,
            journey_id=row.journey_id, journey_version=row.version, journey_instance_id=row.instance_id,
            from_step=row.from_step, to_step=row.to_step or "", handed_to_journey=row.to_journey or "")
            for row in rows if (row.instance_id, row.sequence) in steps]


def _equal(branch: _Branch, column: Any, value: str) -> None:
    if value:
        branch.conditions.append(column == value)


def _after(branch: _Branch, bound: Bound, after: EventKey, descending: bool) -> ColumnElement[bool]:
    if bound is Bound.FROM_INSTANT:
        return branch.time <= after.at if descending else branch.time >= after.at
    if bound is Bound.AFTER_INSTANT:
        return branch.time < after.at if descending else branch.time > after.at
    key, value = tuple_(branch.time, branch.event_id), tuple_(literal(after.at, branch.time.type), after.event_id)
    return key < value if descending else key > value


Loader = Callable[[EventHistoryRepository, EventKind, list[str]], Any]
_LOADERS: dict[EventKind, Loader] = {
    EventKind.DELIVERY: EventHistoryRepository._deliveries,
    EventKind.BANNER_IMPRESSION: EventHistoryRepository._banner_events,
    EventKind.BANNER_CLICK: EventHistoryRepository._banner_events,
    EventKind.RULE_FIRING: EventHistoryRepository._firings,
    EventKind.CAMPAIGN_STEP: EventHistoryRepository._campaign_steps,
    EventKind.JOURNEY_STEP: EventHistoryRepository._journey_steps,
}
