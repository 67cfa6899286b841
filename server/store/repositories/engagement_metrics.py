"""Read-side query of the engagement metrics (server.domain.reporting.metrics): one GROUP BY on the database
over the units (feed items, deliveries, banners) and firings of a dimension, cut into the tenant's periods,
one keyset page of (value, period) rows at a time. It writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
            await self.session.execute(text("SET LOCAL jit = off"))
        start, end = bounds[0].start, bounds[-1].end
        # Each table's units summed by value, period and details first (grouping on the truncated time, the
        # cheapest to compute per row), then those few sums by the period's text.
        parts = []
        for part in self._units(query, start, end, postgres, zone):
            unit = part.subquery()
            bucket = period_bucket(unit.c.at, query.granularity, bounds, postgres, zone).label("bucket")
            grouping = [unit.c.value, bucket, unit.c.state, unit.c.reason, unit.c.currency]
            parts.append(select(*grouping, *(func.sum(unit.c[name]).label(name) for name in COUNTS),
                                func.sum(unit.c.cost).label("cost")).group_by(*grouping))
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

    def _units(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime, postgres: bool,
               zone: str) -> list[Select[Any]]:
        dimension = query.dimension
        parts: list[Select[Any]] = []
        if dimension in (Dimension.INSIGHT, Dimension.PERSONA):
            parts.append(self._feed_units(query, start, end))
        parts.append(self._delivery_units(query, start, end))
        if dimension in (Dimension.RULE, Dimension.PERSONA):
            parts.append(self._banner_units(query, start, end, postgres, zone))
        if dimension is Dimension.RULE:
            parts.append(self._firing_units(query, start, end))
        return parts

    def _within(self, column: Any, start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
        return [column >= literal(start, UTCDateTime()), column < literal(end, UTCDateTime())]

    def _values(self, value: Any, query: MetricsQuery) -> list[ColumnElement[bool]]:
        return [self.one_of(value, query.values)] if query.values else []

    def _members(self, statement: Select[Any], customer: Any, query: MetricsQuery) -> tuple[Select[Any], Any]:
        """PERSONA: the unit once per persona its customer is a member of now."""
        statement = statement.join(_MEMBERS, and_(_MEMBERS.c.tenant_id == self.tenant_id,
                                                  _MEMBERS.c.customer_id == customer))
        return statement.where(*self._values(_MEMBERS.c.persona_id, query)), _MEMBERS.c.persona_id

    def _feed_units(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime) -> Select[Any]:
        """A feed item is delivered when generated (it is in the feed); its interactions, once each:
        viewed is any interaction at all (a click or a dismissal was seen first)."""
        i = _INTERACTIONS.c
        interactions = (select(i.feed_item_id,
                               func.max(_flag(i.interaction == "CLICKED")).label("clicked"),
                               func.max(_flag(i.interaction == "DISMISSED")).label("dismissed"))
                        .where(i.tenant_id == self.tenant_id).group_by(i.feed_item_id).subquery("interactions"))
        f = _FEED.c
        seen = interactions.c.feed_item_id.is_not(None)
        columns: dict[str, Any] = dict(generated=1, delivered=1, viewed=_flag(seen),
                       clicked=func.coalesce(interactions.c.clicked, 0),
                       dismissed=func.coalesce(interactions.c.dismissed, 0))
        statement = (select(_FEED).outerjoin(interactions, interactions.c.feed_item_id == f.feed_item_id)
                     .where(f.tenant_id == self.tenant_id, *self._within(f.created_at, start, end)))
        if query.dimension is Dimension.PERSONA:
            statement, value = self._members(statement, f.customer_id, query)
        else:
            statement, value = statement.where(*self._values(f.insight_name, query)), f.insight_name
        return statement.with_only_columns(*_unit(value, f.created_at, **columns))

    def _deliveries(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime) -> tuple[Select[Any], Any]:
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
            n = _NOTIFICATIONS.c
            statement = statement.join(_NOTIFICATIONS, and_(
                n.tenant_id == self.tenant_id, n.event_id == d.event_id,
                d.trigger_key.like(literal("insight:") + n.notification_id + literal(":%"))))
            return statement.where(*self._values(n.insight_name, query)), n.insight_name
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

    def _delivery_units(self, query: MetricsQuery, start: dt.datetime, end: dt.datetime) -> Select[Any]:
        """Delivered when its provider reported it DELIVERED. Its reason: FAILED and DEAD_LETTER, the error
        code; SKIPPED, the skip reason. Its cost, once sent (a send time), its configuration's cost per
        message now."""
        statement, value = self._deliveries(query, start, end)
        d, c = _DELIVERIES.c, _CONFIGS.c
        statement = statement.outerjoin(_CONFIGS, and_(c.tenant_id == self.tenant_id, c.config_id == d.config_id))
        reason = case((d.state.in_(("FAILED", "DEAD_LETTER")), d.error_code), (d.state == "SKIPPED", d.skip_reason),
                      else_="")
        cost = case((d.sent_at.is_not(None), type_coerce(c.cost_per_message, BigInteger)))
        return statement.with_only_columns(*_unit(
            value, d.created_at, generated=1, delivered=_flag(d.state == "DELIVERED"), deliveries=1,
            details=(cast(d.state, String), cast(reason, String), cast(c.cost_currency, String),
                     cast(cost, BigInteger))))

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
