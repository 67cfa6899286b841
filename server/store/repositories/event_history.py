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

from sqlalchemy import Integer, Select, String, and_, bindparam, cast, func, literal, select, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement

from server.domain.goals.reports import Period
from server.domain.reporting.event_history import (
    Bound,
    EventHistoryFilter,
    EventHistoryLine,
    EventKey,
    EventKind,
    bound_after_kind,
    bound_for,
    kinds_to_read,
    split_journey_step_id,
)
from server.domain.reporting.export_columns import ExportTable
from server.store.csv_cells import absent_cell, csv_cell
from server.store.driver import copy_csv
from server.store.engagement_models import CampaignStepRow, DeliveryRow
from server.store.journeys_models import JourneyInstanceRow, JourneyRouteRow
from server.store.repositories.base import TenantRepository, within
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
            for line in await self._lines(kind, self._by_ids(kind, ids)):
                found[(rank, line.event_id)] = line
        # A row deleted between the two steps (a tenant being deleted) is left out, not failed on.
        return [line for line in (found.get((rank, event_id)) for _, rank, event_id in keys) if line is not None]

    async def _one_kind(self, kind: EventKind, wanted: EventHistoryFilter, occurred: Period,
                        after: EventKey | None, limit: int) -> list[EventHistoryLine]:
        branch = self._branch(kind, wanted)  # its joins are the loader's own
        return await self._lines(
            kind, lambda query: _page_of(query, kind, branch, occurred, after, wanted.newest_first, limit))

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
        branch = _Branch(r.taken_at, _JOURNEY_STEP_ID,
                         [r.tenant_id == self.tenant_id])
        if wanted.customer_id or wanted.journey_id:
            branch.joins.append((i, and_(i.tenant_id == r.tenant_id, i.instance_id == r.instance_id)))
            _equal(branch, i.customer_id, wanted.customer_id)
            _equal(branch, i.journey_id, wanted.journey_id)
        return branch

    # -- the rows of a page, by kind ------------------------------------------------------------

    async def _lines(self, kind: EventKind, narrow: Narrow) -> list[EventHistoryLine]:
        """The kind's rows as lines: its columns (_KIND_COLUMNS) read positionally."""
        columns = _KIND_COLUMNS[kind]
        rows = await self._rows(narrow(self._kind_select(kind, list(columns.values()))))
        if kind is EventKind.DELIVERY:  # the most numerous kind: its columns are the line's, in order
            return [EventHistoryLine(kind, *row) for row in rows]
        names = list(columns)
        return [EventHistoryLine(kind, **dict(zip(names, row, strict=True))) for row in rows]

    def _kind_select(self, kind: EventKind, columns: Sequence[Any]) -> AnySelect:
        """These columns of the kind's rows of this tenant (a journey step's with its instance's)."""
        if kind is EventKind.JOURNEY_STEP:
            r, i = JourneyRouteRow, JourneyInstanceRow
            return (select(*columns).join_from(r, i, and_(i.tenant_id == r.tenant_id, i.instance_id == r.instance_id))
                    .where(r.tenant_id == self.tenant_id))
        table = _TABLES[kind]
        query: AnySelect = select(*columns).select_from(table).where(table.tenant_id == self.tenant_id)
        if kind in BANNER_EVENT_KINDS:
            query = query.where(BannerEventRow.kind == BANNER_EVENT_KINDS[kind])
        return query

    async def count(self, wanted: EventHistoryFilter, occurred: Period) -> int:
        """The rows `page` reads with these filters: one COUNT per kind over its (tenant, time) index, for an
        export's progress."""
        total = 0
        for kind in kinds_to_read(wanted):
            branch = self._branch(kind, wanted)
            query = self._kind_select(kind, [func.count()]).where(*branch.conditions, *within(branch.time, occurred))
            total += int(await self.session.scalar(query) or 0)
        return total

    # -- pages written as CSV by PostgreSQL --------------------------------------------------------

    async def copy_csv_page(self, wanted: EventHistoryFilter, occurred: Period, after: EventKey | None,
                            limit: int, table: ExportTable[EventHistoryLine]) -> CopiedPage:
        """Up to `limit` rows after `after` as CSV rows in `table`'s columns, written by the database (COPY;
        PostgreSQL only), and the key of the page's last row when more rows follow it. First the page's end:
        the keys at `limit` and `limit + 1` (an index range scan); then the rows from `after` to that end."""
        kinds = tuple(kinds_to_read(wanted))
        if not kinds:
            return CopiedPage(b"", 0, None)
        ends = await self._rows(
            self.keys_query(wanted, list(kinds), occurred, after, limit + 1).offset(limit - 1).limit(2))
        last = _key(ends[0]) if len(ends) == 2 else None  # None: the rest of the view fits in this page
        after_kind, last_kind = (after.kind if after else None), (last.kind if last else None)
        shape = (self.tenant_id, wanted, kinds, occurred, table, after_kind, last_kind)
        statement = _COPY_STATEMENTS.get(shape)
        if statement is None:
            statement = self._copy_statement(wanted, kinds, occurred, table, after_kind, last_kind)
            _COPY_STATEMENTS[shape] = statement
            if len(_COPY_STATEMENTS) > _COPY_STATEMENTS_KEPT:
                del _COPY_STATEMENTS[next(iter(_COPY_STATEMENTS))]
        params: dict[str, Any] = {}
        if after is not None:
            params |= {"after_at": after.at, "after_id": after.event_id}
        if last is not None:
            params |= {"last_at": last.at, "last_id": last.event_id}
        data, rows = await copy_csv(self.session, statement, params)
        return CopiedPage(data, rows, last)

    def _copy_statement(self, wanted: EventHistoryFilter, kinds: tuple[EventKind, ...], occurred: Period,
                        table: ExportTable[EventHistoryLine], after_kind: EventKind | None,
                        last_kind: EventKind | None) -> AnySelect:
        """The rows between two keys (bindparams after_at, after_id, last_at, last_id; either end open when its
        kind is None) in the view's order, each as the table's cells: one statement for every page of an
        export whose ends are of the same kinds, compiled once."""
        descending = wanted.newest_first
        branches = []
        for kind in kinds:
            branch = self._branch(kind, wanted)
            query = self._kind_select(kind, [*_csv_cells(kind, table), branch.time.label("at"),
                                             literal(kind.rank, Integer).label("kind_rank"),
                                             branch.event_id.label("ordering_id")])
            query = query.where(*branch.conditions, *within(branch.time, occurred))
            if after_kind is not None:
                query = query.where(_after(branch, bound_after_kind(kind, after_kind, descending),
                                           bindparam("after_at", type_=branch.time.type),
                                           bindparam("after_id", type_=String), descending))
            if last_kind is not None:
                query = query.where(_up_to(branch, bound_after_kind(kind, last_kind, descending),
                                           bindparam("last_at", type_=branch.time.type),
                                           bindparam("last_id", type_=String), descending))
            branches.append(query)
        merged = (branches[0] if len(branches) == 1 else union_all(*branches)).subquery()
        order = [merged.c.at, merged.c.kind_rank, merged.c.ordering_id]
        return select(*(merged.c[f"cell_{index}"] for index in range(len(table.columns)))).order_by(
            *(column.desc() if descending else column for column in order))


# The COPY statements of the exports running now, by shape (copy_csv_page): the most recent few.
_COPY_STATEMENTS: dict[tuple[Any, ...], AnySelect] = {}
_COPY_STATEMENTS_KEPT = 64


@dataclass(frozen=True, slots=True)
class CopiedPage:
    data: bytes  # CSV rows, no header
    row_count: int
    last: EventKey | None  # the key of the page's last row when more rows follow; None on the view's last page


def _key(row: Any) -> EventKey:
    at, rank, event_id = row
    return EventKey(at, _BY_RANK[rank], event_id)


def _csv_cells(kind: EventKind, table: ExportTable[EventHistoryLine]) -> list[Any]:
    """The export's columns for a row of this kind, as the database writes them (its columns the line's,
    the others' empty defaults), labelled cell_0, cell_1, ... in the table's order."""
    columns = _KIND_COLUMNS[kind]
    cells = []
    for index, column in enumerate(table.columns):
        if column.convert is not None:
            raise ValueError(f"column {column.name} is converted in Python")
        if column.attribute == "kind":
            cell = csv_cell(column.kind, literal(str(kind), String))
        elif column.attribute in columns:
            cell = csv_cell(column.kind, columns[column.attribute])
        else:
            cell = absent_cell(column.kind)
        cells.append(cell.label(f"cell_{index}"))
    return cells


def _equal(branch: _Branch, column: Any, value: str) -> None:
    if value:
        branch.conditions.append(column == value)


def _page_of(query: AnySelect, kind: EventKind, branch: _Branch, occurred: Period, after: EventKey | None,
             descending: bool, limit: int) -> AnySelect:
    """A kind's rows cut to the view's filters, its dates and the page: at most `limit`, in the view's order."""
    query = query.where(*branch.conditions, *within(branch.time, occurred))
    if after is not None:
        query = query.where(_after(branch, bound_for(kind, after, descending), literal(after.at, branch.time.type),
                                   literal(after.event_id, String), descending))
    order = [branch.time, branch.event_id]
    return query.order_by(*(column.desc() if descending else column for column in order)).limit(limit)


def _after(branch: _Branch, bound: Bound, at: Any, event_id: Any, descending: bool) -> ColumnElement[bool]:
    """A kind's rows after the key (at, event_id) in the view's order; `at` and `event_id` are SQL values."""
    if bound is Bound.FROM_INSTANT:
        return branch.time <= at if descending else branch.time >= at
    if bound is Bound.AFTER_INSTANT:
        return branch.time < at if descending else branch.time > at
    # The time's own bound beside the row comparison: PostgreSQL estimates a range of one column, not of a row
    # (its guess of a third of the table made pages of an export costly enough to be JIT-compiled, 60-90 ms).
    key, value = tuple_(branch.time, branch.event_id), tuple_(at, event_id)
    if descending:
        return and_(branch.time <= at, key < value)
    return and_(branch.time >= at, key > value)


def _up_to(branch: _Branch, bound: Bound, at: Any, event_id: Any, descending: bool) -> ColumnElement[bool]:
    """A kind's rows at or before the key (at, event_id) in the view's order: those not _after it."""
    if bound is Bound.FROM_INSTANT:  # this kind's rows of the key's instant come after it
        return branch.time > at if descending else branch.time < at
    if bound is Bound.AFTER_INSTANT:  # they come before it
        return branch.time >= at if descending else branch.time <= at
    key, value = tuple_(branch.time, branch.event_id), tuple_(at, event_id)  # with the time's bound, as _after
    if descending:
        return and_(branch.time >= at, key >= value)
    return and_(branch.time <= at, key <= value)


_BY_RANK = {kind.rank: kind for kind in EventKind}
_ID_COLUMNS: dict[EventKind, Any] = {
    EventKind.DELIVERY: DeliveryRow.delivery_id, EventKind.BANNER_IMPRESSION: BannerEventRow.event_id,
    EventKind.BANNER_CLICK: BannerEventRow.event_id, EventKind.RULE_FIRING: TriggerFiringRow.firing_id,
    EventKind.CAMPAIGN_STEP: CampaignStepRow.step_id}
_TABLES: dict[EventKind, Any] = {
    EventKind.DELIVERY: DeliveryRow, EventKind.BANNER_IMPRESSION: BannerEventRow,
    EventKind.BANNER_CLICK: BannerEventRow, EventKind.RULE_FIRING: TriggerFiringRow,
    EventKind.CAMPAIGN_STEP: CampaignStepRow}


def _deliveries() -> dict[str, Any]:
    # In EventHistoryLine's order after its kind: the loader builds the most numerous kind positionally.
    d = DeliveryRow
    return {"event_id": d.delivery_id, "occurred_at": d.created_at, "customer_id": d.customer_id,
            "channel": d.channel, "provider": d.provider, "delivery_state": d.state,
            "engagement_event_id": d.event_id, "campaign_id": d.campaign_id, "attempts": d.attempts,
            "sent_at": d.sent_at, "delivered_at": d.delivered_at, "updated_at": d.updated_at,
            "error_code": d.error_code, "error_message": d.error_message, "skip_reason": d.skip_reason,
            "fallback_step": d.fallback_step, "fallback_state": d.fallback_state}


def _banner_events() -> dict[str, Any]:
    b = BannerEventRow
    return {"event_id": b.event_id, "occurred_at": b.occurred_at, "customer_id": b.customer_id,
            "banner_id": b.banner_id, "rule_id": func.coalesce(b.rule_id, ""),
            "rule_version": func.coalesce(b.version, 0), "firing_id": func.coalesce(b.firing_id, "")}


def _firings() -> dict[str, Any]:
    f = TriggerFiringRow
    return {"event_id": f.firing_id, "occurred_at": f.fired_at, "customer_id": f.customer_id,
            "rule_id": f.rule_id, "rule_version": f.version, "firing_id": f.firing_id,
            "account_id": f.account_id, "transaction_id": func.coalesce(f.transaction_id, "")}


def _campaign_steps() -> dict[str, Any]:
    c = CampaignStepRow
    return {"event_id": c.step_id, "occurred_at": c.occurred_at, "campaign_id": c.campaign_id,
            "campaign_state": c.state, "previous_campaign_state": c.previous_state, "actor": c.actor,
            "reason": c.reason}


def _journey_steps() -> dict[str, Any]:
    r, i = JourneyRouteRow, JourneyInstanceRow
    return {"event_id": _JOURNEY_STEP_ID, "occurred_at": r.taken_at, "customer_id": i.customer_id,
            "journey_id": i.journey_id, "journey_version": i.version, "journey_instance_id": r.instance_id,
            "from_step": r.from_step, "to_step": func.coalesce(r.to_step, ""),
            "handed_to_journey": func.coalesce(r.to_journey, "")}


# A journey step's id: its instance and its sequence, `instance:sequence` (split_journey_step_id reads it).
_JOURNEY_STEP_ID = JourneyRouteRow.instance_id + literal(":") + cast(JourneyRouteRow.sequence, String)
# Each kind's columns: the line's attribute, and the expression that holds it. One map for the List RPC's
# lines and the database's CSV.
_KIND_COLUMNS: dict[EventKind, dict[str, Any]] = {
    EventKind.DELIVERY: _deliveries(), EventKind.BANNER_IMPRESSION: _banner_events(),
    EventKind.BANNER_CLICK: _banner_events(), EventKind.RULE_FIRING: _firings(),
    EventKind.CAMPAIGN_STEP: _campaign_steps(), EventKind.JOURNEY_STEP: _journey_steps()}
