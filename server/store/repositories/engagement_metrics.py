"""Read-side query of the engagement metrics (server.domain.reporting.metrics): one GROUP BY on the database
over the units (feed items, deliveries, banners) and firings of a dimension, cut into the tenant's periods,
one keyset page of (value, period) rows at a time. It writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from server.domain.money import from_scaled
from server.domain.reporting.metrics import Dimension, MetricsGroup, MetricsQuery, PeriodBounds
from server.store.driver import dialect_of
from server.store.engagement_models import ChannelConfigRow, DeliveryRow, InsightNotificationRow
from server.store.local_periods import bucket_text, period_bucket
from server.store.models import AccountRow, FeedInteractionRow, FeedItemRow, HoldingRow, TransactionRow
from server.store.personas_models import PersonaMemberRow
from server.store.products_models import ProductRow
from server.store.repositories.base import TenantRepository
from server.store.triggers_models import BannerRow, TriggerFiringRow
from server.store.types import UTCDateTime

_FEED = FeedItemRow.__table__
_INTERACTIONS = FeedInteractionRow.__table__
_DELIVERIES = DeliveryRow.__table__
_NOTIFICATIONS = InsightNotificationRow.__table__
_FIRINGS = TriggerFiringRow.__table__
_BANNERS = BannerRow.__table__
_MEMBERS = PersonaMemberRow.__table__
_HOLDINGS = HoldingRow.__table__
_CONFIGS = ChannelConfigRow.__table__
_ACCOUNTS = AccountRow.__table__
_TRANSACTIONS = TransactionRow.__table__
_PRODUCTS = ProductRow.__table__

COUNTS = ("generated", "delivered", "viewed", "clicked", "dismissed", "converted", "firings", "deliveries")
DETAILS = ("state", "reason", "currency", "cost")
# A period_bucket of an instant column, labelled "bucket".
_Bucket = Callable[[Any], ColumnElement[Any]]
_NO_DETAILS = (cast(null(), String), cast(null(), String), cast(null(), String), cast(null(), BigInteger))


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _unit(value: Any, at: Any, *, details: Sequence[Any] = _NO_DETAILS, **counts: Any) -> list[Any]:
    """A union member's columns: the dimension value, the time that places it in a period, the counts, and
    for deliveries their state, reason, cost currency and cost (NULL for the other units)."""
    return [cast(value, String).label("value"), at.label("at"),
            *(literal_column(str(counts.get(name, 0))).label(name) if isinstance(counts.get(name, 0), int)
              else counts[name].label(name) for name in COUNTS),
            *(column.label(name) for column, name in zip(details, DETAILS, strict=True))]


def _sum(value: Any, bucket: Any, *, details: Sequence[Any] = _NO_DETAILS, **counts: Any) -> list[Any]:
    """A sums part's columns, in the order every part of the union has them: the value, the period bucket,
    the deliveries' state, reason and cost currency, the counts (0 where not given), and the cost."""
    state, reason, currency, cost = details
    return [value.label("value"), bucket.label("bucket"), state.label("state"), reason.label("reason"),
            currency.label("currency"),
            *(counts[name].label(name) if name in counts else literal_column("0").label(name) for name in COUNTS),
            cost.label("cost")]


def _notification_id(trigger_key: Any, postgres: bool) -> ColumnElement[str]:
    """The notification id of an insight notification's delivery key, `insight:<notification id>:<item>`."""
    if postgres:
        return func.split_part(trigger_key, ":", 2)
    rest = func.substr(trigger_key, len("insight:") + 1)
    return func.substr(rest, 1, func.instr(rest, ":") - 1)


def _rows(statement: Select[Any], postgres: bool) -> Any:
    """A statement's rows as a subquery to group by its columns. On PostgreSQL kept apart (OFFSET 0): the
    planner then guesses a few hundred periods for the computed bucket instead of one per distinct instant,
    and hashes the groups instead of sorting every row (which spilled to disk)."""
    return (statement.offset(0) if postgres else statement).subquery()


class EngagementMetricsRepository(TenantRepository):
    async def page(self, query: MetricsQuery, bounds: Sequence[PeriodBounds], zone: str,
                   after: tuple[str, str] | None, limit: int) -> list[MetricsGroup]:
        """The groups of the first `limit` (value, period) pairs after `after`, by value then period (ISO
        dates order as days do). One scan of each table: the units are summed by value, period and the
        deliveries' state, reason and cost currency, and the page's pairs are picked from those sums."""
        postgres = dialect_of(self.session).name == "postgresql"
        if postgres:
            # The plan's cost makes PostgreSQL compile it (JIT), which took longer than the query itself
            # on a million deliveries (4 of 12 s); its expressions are simple sums.
            # One process per query and room to hash in memory: on a small shared machine parallel workers
            # only competed for the same cores (a CHANNEL DAY took twice as long at a load of 5), and the
            # per-item interaction flags need some 45 MB of hash table. The three in one round trip
            # (set_config(..., true) is SET LOCAL).
            await self.session.execute(text(
                "SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true), "
                "set_config('work_mem', '32MB', true)"))
        start, end = bounds[0].start, bounds[-1].end

        def bucket(at: Any) -> ColumnElement[Any]:
            return period_bucket(at, query.granularity, bounds, postgres, zone)

        # Each table's units summed by value, period and details first (grouping on the truncated time, the
        # cheapest to compute per row), then those few sums by the period's text.
        parts = self._sums(query, start, end, bucket, postgres, zone)
        if postgres:
            # Each table's sums planned on their own: beside the outer GROUP BY the planner sorted every
            # row by value to feed it (spilling to disk) where hashing them took half the time.
            parts = [select(part.cte(f"units_{index}").prefix_with("MATERIALIZED"))
                     for index, part in enumerate(parts)]
        units = union_all(*parts).subquery("units")
        period = bucket_text(units.c.bucket, bounds, postgres).label("period")
        details = [units.c.state, units.c.reason, units.c.currency]
        groups = (select(units.c.value, period, *details, *(func.sum(units.c[name]).label(name) for name in COUNTS),
                         func.sum(units.c.cost).label("cost"))
                  .group_by(units.c.value, period, *details).cte("groups"))
        keys = select(groups.c.value, groups.c.period).group_by(groups.c.value, groups.c.period)
        if after is not None:
            keys = keys.where(tuple_(groups.c.value, groups.c.period) > tuple_(*after))
        page = keys.order_by(groups.c.value, groups.c.period).limit(limit).subquery("page")
        rows = await self.session.execute(
            select(groups).join(page, and_(groups.c.value == page.c.value, groups.c.period == page.c.period))
            .order_by(groups.c.value, groups.c.period))
        return [MetricsGroup(
            row.value, dt.date.fromisoformat(row.period), row.state or "", row.reason or "", row.currency or "",
            generated=int(row.generated), delivered=int(row.delivered), viewed=int(row.viewed),
            clicked=int(row.clicked), dismissed=int(row.dismissed), converted=int(row.converted),
            firings=int(row.firings), deliveries=int(row.deliveries),
            cost=None if row.cost is None else from_scaled(int(row.cost))) for row in rows]

    # -- the units of each dimension ---------------------------------------------------------------

    def _sums(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime, bucket: _Bucket, postgres: bool,
              zone: str) -> list[Select[Any]]:
        """The dimension's units summed by value, period bucket and details, one statement per table."""
        dimension = query.dimension
        units: list[Select[Any]] = []
        sums: list[Select[Any]] = []
        if dimension in (Dimension.INSIGHT, Dimension.PERSONA):
            units.append(self._feed_units(query, start, end))
        sums.append(self._delivery_sums(query, start, end, bucket, postgres))
        if dimension in (Dimension.RULE, Dimension.PERSONA):
            units.append(self._banner_units(query, start, end, postgres, zone))
        if dimension is Dimension.RULE:
            units.append(self._firing_units(query, start, end))
        for part in units:
            unit = _rows(part.add_columns(bucket(part.selected_columns.at).label("bucket")), postgres)
            grouping = [unit.c.value, unit.c.bucket, unit.c.state, unit.c.reason, unit.c.currency]
            sums.append(select(*_sum(*grouping[:2], details=(*grouping[2:], func.sum(unit.c.cost)),
                                     **{name: func.sum(unit.c[name]) for name in COUNTS})).group_by(*grouping))
        return sums

    def _within(self, column: Any, start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
        return [column >= literal(start, UTCDateTime()), column < literal(end, UTCDateTime())]

    def _values(self, value: Any, query: MetricsQuery) -> list[ColumnElement[bool]]:
        return [self.one_of(value, query.values)] if query.values else []

    def _members(self, statement: Select[Any], customer: Any, query: MetricsQuery) -> tuple[Select[Any], Any]:
        """PERSONA: the unit once per persona its customer is a member of now."""
        statement = statement.join(_MEMBERS, and_(_MEMBERS.c.tenant_id == self.tenant_id,
                                                  _MEMBERS.c.customer_id == customer))
        return statement.where(*self._values(_MEMBERS.c.persona_id, query)), _MEMBERS.c.persona_id

    def _feed_items(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime) -> tuple[Select[Any], Any]:
        """The dimension's feed items created in [start, end), and the expression of their dimension value."""
        f = _FEED.c
        statement = select(_FEED).where(f.tenant_id == self.tenant_id, *self._within(f.created_at, start, end))
        if query.dimension is Dimension.PERSONA:
            return self._members(statement, f.customer_id, query)
        return statement.where(*self._values(f.insight_name, query)), f.insight_name

    def _feed_units(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime) -> Select[Any]:
        """A feed item is delivered when generated (it is in the feed); its interactions, once each:
        viewed is any interaction at all (a click or a dismissal was seen first)."""
        i = _INTERACTIONS.c
        interactions = (select(i.feed_item_id,
                               func.max(_flag(i.interaction == "CLICKED")).label("clicked"),
                               func.max(_flag(i.interaction == "DISMISSED")).label("dismissed"))
                        .where(i.tenant_id == self.tenant_id).group_by(i.feed_item_id).subquery("interactions"))
        statement, value = self._feed_items(query, start, end)
        seen = interactions.c.feed_item_id.is_not(None)
        columns: dict[str, Any] = dict(generated=1, delivered=1, viewed=_flag(seen),
                       clicked=func.coalesce(interactions.c.clicked, 0),
                       dismissed=func.coalesce(interactions.c.dismissed, 0))
        statement = statement.outerjoin(interactions, interactions.c.feed_item_id == _FEED.c.feed_item_id)
        return statement.with_only_columns(*_unit(value, _FEED.c.created_at, **columns))

    def _deliveries(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime,
                    postgres: bool) -> tuple[Select[Any], Any]:
        """The dimension's deliveries created in [start, end), and the expression of their dimension value.
        Not the later steps of fallback chains that are still held back or were not needed: messages
        never meant to go unless an earlier one failed."""
        d = _DELIVERIES.c
        statement = select(_DELIVERIES).where(
            d.tenant_id == self.tenant_id, d.state != "HELD",
            or_(d.state != "SKIPPED", d.skip_reason != "FALLBACK_NOT_NEEDED"),
            *self._within(d.created_at, start, end))
        dimension = query.dimension
        if dimension is Dimension.INSIGHT:
            # Its notification's id, read from its key (insight:<notification id>:<feed item id>; the ids are
            # hex): the deliveries are summed by it and their event, and the sums joined to the notifications.
            return statement.where(d.trigger_key.like("insight:%")), _notification_id(d.trigger_key, postgres)
        if dimension is Dimension.CAMPAIGN:
            return statement.where(d.campaign_id != "", *self._values(d.campaign_id, query)), d.campaign_id
        if dimension is Dimension.RULE:
            r = _FIRINGS.c
            statement = statement.join(_FIRINGS, and_(
                r.tenant_id == self.tenant_id,
                d.trigger_key == literal("trigger:") + r.rule_id + literal(":") + r.firing_id))
            return statement.where(d.trigger_key.like("trigger:%"), *self._values(r.rule_id, query)), r.rule_id
        if dimension is Dimension.PERSONA:
            return self._members(statement, d.customer_id, query)
        return statement.where(*self._values(d.channel, query)), d.channel

    def _delivery_sums(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime, bucket: _Bucket,
                       postgres: bool) -> Select[Any]:
        """Delivered when its provider reported it DELIVERED. Its reason: FAILED and DEAD_LETTER, the error
        code; SKIPPED, the skip reason. Its cost, once sent (a send time), its configuration's cost per
        message now. Summed on the deliveries' own columns first, and only those few sums joined to the
        configurations and turned into reasons: a million deliveries are one hashing pass."""
        statement, value = self._deliveries(query, start, end, postgres)
        d, c, n = _DELIVERIES.c, _CONFIGS.c, _NOTIFICATIONS.c
        insight = query.dimension is Dimension.INSIGHT
        rows = _rows(statement.with_only_columns(
            cast(value, String).label("value"), bucket(d.created_at).label("bucket"), d.state, d.error_code,
            d.skip_reason, d.config_id, d.event_id, _flag(d.state == "DELIVERED").label("delivered"),
            _flag(d.sent_at.is_not(None)).label("sent")), postgres)
        grouping = [rows.c.value, rows.c.bucket, rows.c.state, rows.c.error_code, rows.c.skip_reason,
                    rows.c.config_id, *([rows.c.event_id] if insight else [])]
        summed = select(*grouping, func.count().label("deliveries"), func.sum(rows.c.delivered).label("delivered"),
                        func.sum(rows.c.sent).label("sent")).group_by(*grouping)
        table = summed.cte("delivery_sums").prefix_with("MATERIALIZED") if postgres else summed.subquery()
        s = table.c
        reason = case((s.state.in_(("FAILED", "DEAD_LETTER")), s.error_code), (s.state == "SKIPPED", s.skip_reason),
                      else_="")
        cost = case((s.sent > 0, s.sent * type_coerce(c.cost_per_message, BigInteger)))
        sums = select(*_sum(n.insight_name if insight else s.value, s.bucket, generated=s.deliveries,
                            delivered=s.delivered, deliveries=s.deliveries,
                            details=(cast(s.state, String), cast(reason, String), cast(c.cost_currency, String),
                                     cast(cost, BigInteger)))).select_from(table)
        if insight:
            sums = sums.join(_NOTIFICATIONS, and_(n.tenant_id == self.tenant_id, n.event_id == s.event_id,
                                                  n.notification_id == s.value))
            sums = sums.where(*self._values(n.insight_name, query))
        return sums.outerjoin(_CONFIGS, and_(c.tenant_id == self.tenant_id, c.config_id == s.config_id))

    def _banner_units(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime, postgres: bool,
                      zone: str) -> Select[Any]:
        """A banner is delivered when made (the customer's app shows it); viewed once it had an impression
        (or a click), clicked once clicked, converted as _converted says."""
        b, p = _BANNERS.c, _PRODUCTS.c
        # The product's conversion match, read once per banner for _converted.
        statement = (select(_BANNERS).outerjoin(_PRODUCTS, and_(p.tenant_id == self.tenant_id,
                                                                p.product_id == b.product_id))
                     .where(b.tenant_id == self.tenant_id, *self._within(b.created_at, start, end)))
        if query.dimension is Dimension.PERSONA:
            statement, value = self._members(statement, b.customer_id, query)
        else:
            statement = statement.where(b.rule_id.is_not(None), *self._values(b.rule_id, query))
            value = b.rule_id
        columns: dict[str, Any] = dict(generated=1, delivered=1, viewed=_flag(or_(b.impressions > 0, b.clicks > 0)),
                       clicked=_flag(b.clicks > 0), converted=_flag(self._converted(query, postgres, zone)))
        return statement.with_only_columns(*_unit(value, b.created_at, **columns))

    def _converted(self, query: MetricsQuery, postgres: bool, zone: str) -> ColumnElement[bool]:
        """An offer banner (one naming a product) converts when, on the day of its first impression or one
        of the `conversion_days` after it (the tenant's dates), its customer gains a holding of that
        product (`product_id` among the holding's attributes) or books a transaction on an account of
        theirs that the product's conversion match accepts (docs/reporting-metrics.md, "Conversion").
        A flag: a banner converted both ways counts once."""
        b, h = _BANNERS.c, _HOLDINGS.c
        days = query.conversion_days
        if postgres:
            seen_day = func.date(func.timezone(zone, b.first_seen_at))
            last_day = seen_day + days
            # The instants the window's tenant days start and end: posted_at compared bare, as its index has it.
            window_start = func.timezone(zone, cast(seen_day, DateTime))
            window_end = func.timezone(zone, cast(seen_day + (days + 1), DateTime))
        else:
            # SQLite knows no time zones: the date of the first impression in UTC. Its instants are naive UTC
            # text, which `datetime()`'s midnights ('2026-02-03 00:00:00') order with.
            seen_day = func.date(b.first_seen_at)
            last_day = func.date(b.first_seen_at, f"+{days} days")
            window_start = func.datetime(seen_day)
            window_end = func.datetime(func.date(b.first_seen_at, f"+{days + 1} days"))
        holding = exists().where(
            h.tenant_id == self.tenant_id, h.customer_id == b.customer_id,
            h.attributes["product_id"].as_string() == b.product_id,
            h.start_date >= seen_day, h.start_date <= last_day)
        # The banner's product (joined by _banner_units): without a match, no transaction is looked at.
        a, t, p = _ACCOUNTS.c, _TRANSACTIONS.c, _PRODUCTS.c
        contains = func.strpos if postgres else func.instr
        has_match = or_(p.conversion_category.is_not(None), p.conversion_description.is_not(None))
        transaction = and_(has_match, exists().where(
            a.tenant_id == self.tenant_id, a.customer_id == b.customer_id,
            t.tenant_id == self.tenant_id, t.account_id == a.account_id,
            t.posted_at >= window_start, t.posted_at < window_end,
            or_(p.conversion_category.is_(None), func.lower(t.category) == func.lower(p.conversion_category)),
            or_(p.conversion_description.is_(None),
                contains(func.lower(t.description), func.lower(p.conversion_description)) > 0),
            or_(p.conversion_direction.is_(None), t.direction == p.conversion_direction)))
        return and_(b.product_id.is_not(None), b.first_seen_at.is_not(None), or_(holding, transaction))

    def _firing_units(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime) -> Select[Any]:
        r = _FIRINGS.c
        statement = select(_FIRINGS).where(r.tenant_id == self.tenant_id, *self._within(r.fired_at, start, end),
                                           *self._values(r.rule_id, query))
        return statement.with_only_columns(*_unit(r.rule_id, r.fired_at, firings=1))
