"""Read-side query of the event history view (server.domain.reporting.event_history): deliveries,
banner impressions and clicks, rule firings, campaign steps and journey steps as one stream ordered by
(time, kind, id), one keyset page at a time.

A page is two steps. First the keys: one UNION ALL branch per kind, each a range scan of that kind's
(tenant, time, id) index cut to the page's size, merged in order by the database. Then the rows: one
lookup by primary key per kind on the page. The branches read only indexed columns, so a page reads
at most its size of index entries per kind, wherever it starts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


# Restricts a kind's select of its columns to the rows wanted (by ids, or by the view's filters and page).
AnySelect = Select[*tuple[Any, ...]]
Narrow = Callable[[AnySelect], AnySelect]


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
        if len(kinds) == 1:  # one kind (an export of deliveries): its rows in one query, no union
            return await self._one_kind(kinds[0], wanted, occurred, after, limit)
        keys = await self._rows(self.keys_query(wanted, kinds, occurred, after, limit))
        by_kind: dict[int, list[str]] = {}
        for _, rank, event_id in keys:
            by_kind.setdefault(rank, []).append(event_id)
        found: dict[tuple[int, str], EventHistoryLine] = {}
        for rank, ids in by_kind.items():
            kind = _BY_RANK[rank]
            for line in await _LOADERS[kind](self, kind, self._by_ids(kind, ids)):
                found[(rank, line.event_id)] = line
        # A row deleted between the two steps (a tenant being deleted) is left out, not failed on.
        return [line for line in (found.get((rank, event_id)) for _, rank, event_id in keys) if line is not None]

    async def _one_kind(self, kind: EventKind, wanted: EventHistoryFilter, occurred: Period,
                        after: EventKey | None, limit: int) -> list[EventHistoryLine]:
        branch = self._branch(kind, wanted)  # its joins are the loader's own
        return await _LOADERS[kind](
            self, kind, lambda query: _page_of(query, kind, branch, occurred, after, wanted.newest_first, limit))

    def _by_ids(self, kind: EventKind, ids: list[str]) -> Narrow:
        """The rows of these ids; journey steps by their instances (a page keeps only its own routes)."""
        if kind is EventKind.JOURNEY_STEP:
            instances = {step[0] for step in map(split_journey_step_id, ids) if step is not None}
            return lambda query: query.where(self.one_of(JourneyRouteRow.instance_id, instances))
        column = _ID_COLUMNS[kind]
        return lambda query: query.where(self.one_of(column, ids))

    async def _rows(self, query: Any) -> Sequence[Any]:
        """Plain Core rows: the session's connection, without the ORM's result machinery (an export pages
        through millions of rows)."""
        connection = await self.session.connection()
        return (await connection.execute(query)).all()

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
            selects.append(select(_page_of(query, kind, branch, occurred, after, descending, limit).subquery()))
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

    async def _deliveries(self, kind: EventKind, narrow: Narrow) -> list[EventHistoryLine]:
        d = DeliveryRow
        # The columns in EventHistoryLine's order after its kind: the most numerous kind, built positionally.
        rows = await self._rows(narrow(select(
            d.delivery_id, d.created_at, d.customer_id, d.channel, d.provider, d.state, d.event_id, d.campaign_id,
            d.attempts, d.sent_at, d.delivered_at, d.updated_at, d.error_code, d.error_message, d.skip_reason,
            d.fallback_step, d.fallback_state).where(d.tenant_id == self.tenant_id)))
        return [EventHistoryLine(kind, *row) for row in rows]

    async def _banner_events(self, kind: EventKind, narrow: Narrow) -> list[EventHistoryLine]:
        b = BannerEventRow
        rows = await self._rows(narrow(select(
            b.event_id, b.occurred_at, b.customer_id, b.banner_id, b.rule_id, b.version, b.firing_id).where(
            b.tenant_id == self.tenant_id)))
        return [EventHistoryLine(kind, r.event_id, r.occurred_at, r.customer_id, banner_id=r.banner_id,
                                 rule_id=r.rule_id or "", rule_version=r.version or 0, firing_id=r.firing_id or "")
                for r in rows]

    async def _firings(self, kind: EventKind, narrow: Narrow) -> list[EventHistoryLine]:
        f = TriggerFiringRow
        rows = await self._rows(narrow(select(
            f.firing_id, f.fired_at, f.customer_id, f.rule_id, f.version, f.account_id, f.transaction_id).where(
            f.tenant_id == self.tenant_id)))
        return [EventHistoryLine(kind, r.firing_id, r.fired_at, r.customer_id, rule_id=r.rule_id,
                                 rule_version=r.version, firing_id=r.firing_id, account_id=r.account_id,
                                 transaction_id=r.transaction_id or "") for r in rows]

    async def _campaign_steps(self, kind: EventKind, narrow: Narrow) -> list[EventHistoryLine]:
        c = CampaignStepRow
        rows = await self._rows(narrow(select(
            c.step_id, c.occurred_at, c.campaign_id, c.state, c.previous_state, c.actor, c.reason).where(
            c.tenant_id == self.tenant_id)))
        return [EventHistoryLine(kind, r.step_id, r.occurred_at, campaign_id=r.campaign_id, campaign_state=r.state,
                                 previous_campaign_state=r.previous_state, actor=r.actor, reason=r.reason)
                for r in rows]

    async def _journey_steps(self, kind: EventKind, narrow: Narrow) -> list[EventHistoryLine]:
        r, i = JourneyRouteRow, JourneyInstanceRow
        rows = await self._rows(narrow(select(
            r.instance_id, r.sequence, r.taken_at, r.from_step, r.to_step, r.to_journey,
            i.customer_id, i.journey_id, i.version)
            .join_from(r, i, and_(i.tenant_id == r.tenant_id, i.instance_id == r.instance_id))
            .where(r.tenant_id == self.tenant_id)))
        return [EventHistoryLine(
            kind, journey_step_id(row.instance_id, row.sequence), row.taken_at, row.customer_id,
            journey_id=row.journey_id, journey_version=row.version, journey_instance_id=row.instance_id,
            from_step=row.from_step, to_step=row.to_step or "", handed_to_journey=row.to_journey or "")
            for row in rows]


def _equal(branch: _Branch, column: Any, value: str) -> None:
    if value:
        branch.conditions.append(column == value)


def _page_of(query: AnySelect, kind: EventKind, branch: _Branch, occurred: Period, after: EventKey | None,
             descending: bool, limit: int) -> AnySelect:
    """A kind's rows cut to the view's filters, its dates and the page: at most `limit`, in the view's order."""
    query = query.where(*branch.conditions, *_within(branch.time, occurred))
    if after is not None:
        query = query.where(_after(branch, bound_for(kind, after, descending), after, descending))
    order = [branch.time, branch.event_id]
    return query.order_by(*(column.desc() if descending else column for column in order)).limit(limit)


def _after(branch: _Branch, bound: Bound, after: EventKey, descending: bool) -> ColumnElement[bool]:
    if bound is Bound.FROM_INSTANT:
        return branch.time <= after.at if descending else branch.time >= after.at
    if bound is Bound.AFTER_INSTANT:
        return branch.time < after.at if descending else branch.time > after.at
    key, value = tuple_(branch.time, branch.event_id), tuple_(literal(after.at, branch.time.type), after.event_id)
    return key < value if descending else key > value


_BY_RANK = {kind.rank: kind for kind in EventKind}
_ID_COLUMNS: dict[EventKind, Any] = {
    EventKind.DELIVERY: DeliveryRow.delivery_id, EventKind.BANNER_IMPRESSION: BannerEventRow.event_id,
    EventKind.BANNER_CLICK: BannerEventRow.event_id, EventKind.RULE_FIRING: TriggerFiringRow.firing_id,
    EventKind.CAMPAIGN_STEP: CampaignStepRow.step_id}
Loader = Callable[[EventHistoryRepository, EventKind, Narrow], Any]
_LOADERS: dict[EventKind, Loader] = {
    EventKind.DELIVERY: EventHistoryRepository._deliveries,
    EventKind.BANNER_IMPRESSION: EventHistoryRepository._banner_events,
    EventKind.BANNER_CLICK: EventHistoryRepository._banner_events,
    EventKind.RULE_FIRING: EventHistoryRepository._firings,
    EventKind.CAMPAIGN_STEP: EventHistoryRepository._campaign_steps,
    EventKind.JOURNEY_STEP: EventHistoryRepository._journey_steps,
}
