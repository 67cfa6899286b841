"""Trigger rules and their versions, firings and banners (server.store.triggers_models). A rule's parts
are kept as the JSON of server.domain.triggers.rules_codec; every version's snapshot is kept too, so
a firing of an old version is explained with the condition it had."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, literal, select, update

from server.domain.ids import new_id
from server.domain.triggers.records import Banner, FiringAction, FiringRecord
from server.domain.triggers.rules import RuleDefinition, RuleStatus, TriggerRule
from server.domain.triggers.rules_codec import (
    actions_from_json,
    actions_to_json,
    audience_from_json,
    audience_to_json,
    version_snapshot,
)
from server.store.array_literals import integer_array, text_array
from server.store.db import json_text
from server.store.driver import dialect_of, rowcount
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository
from server.store.triggers_models import (
    BannerEventRow,
    BannerRow,
    TriggerFiringRow,
    TriggerRuleRow,
    TriggerRuleVersionRow,
)


def _rule(row: TriggerRuleRow) -> TriggerRule:
    definition = RuleDefinition(row.display_name, row.description, audience_from_json(row.audience), row.condition,
                                actions_from_json(row.actions), row.active_from, row.active_until,
                                dt.timedelta(seconds=row.cooldown_seconds))
    return TriggerRule(row.rule_id, definition, RuleStatus(row.status), row.version, row.created_by, row.updated_by,
                       row.created_at, row.updated_at, row.approved_by, row.approved_at, row.rejection_reason,
                       row.latest_backtest)


def _rule_fields(rule: TriggerRule) -> dict[str, Any]:
    d = rule.definition
    return {"display_name": d.display_name, "description": d.description, "status": rule.status.value,
            "version": rule.version, "audience": audience_to_json(d.audience), "condition": d.condition,
            "actions": actions_to_json(d.actions), "active_from": d.active_from, "active_until": d.active_until,
            "cooldown_seconds": int(d.cooldown.total_seconds()), "created_by": rule.created_by,
            "updated_by": rule.updated_by, "approved_by": rule.approved_by, "approved_at": rule.approved_at,
            "rejection_reason": rule.rejection_reason,
            "latest_backtest": None if rule.latest_backtest is None else dict(rule.latest_backtest),
            "created_at": rule.created_at, "updated_at": rule.updated_at}


class TriggerRulesRepository(TenantRepository):
    async def add(self, rule: TriggerRule) -> bool:
        """Inserts the rule and its first version; False when the tenant has a rule of that id."""
        stmt = self.upsert(TriggerRuleRow).values(tenant_id=self.tenant_id, rule_id=rule.rule_id, **_rule_fields(rule))
        result = await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "rule_id"]))
        if rowcount(result) != 1:
            return False
        await self._add_version(rule)
        return True

    async def get(self, rule_id: str) -> TriggerRule | None:
        row = await self.session.get(TriggerRuleRow, (self.tenant_id, rule_id))
        return None if row is None else _rule(row)

    async def hold(self, rule_id: str) -> bool:
        """Holds the rule until the transaction ends: one lifecycle step or edit of a rule at a time."""
        return await self.hold_row(TriggerRuleRow.rule_id, rule_id)

    async def save(self, rule: TriggerRule) -> None:
        """Rewrites the (held) rule; a new version's snapshot is kept as well."""
        await self.session.execute(update(TriggerRuleRow).where(
            TriggerRuleRow.tenant_id == self.tenant_id, TriggerRuleRow.rule_id == rule.rule_id
        ).values(**_rule_fields(rule)), execution_options={"synchronize_session": False})
        exists = await self.session.scalar(select(func.count()).select_from(TriggerRuleVersionRow).where(
            TriggerRuleVersionRow.tenant_id == self.tenant_id, TriggerRuleVersionRow.rule_id == rule.rule_id,
            TriggerRuleVersionRow.version == rule.version))
        if not exists:
            await self._add_version(rule)

    async def _add_version(self, rule: TriggerRule) -> None:
        self.session.add(TriggerRuleVersionRow(tenant_id=self.tenant_id, rule_id=rule.rule_id, version=rule.version,
                                               snapshot=version_snapshot(rule), created_by=rule.updated_by,
                                               created_at=rule.updated_at))
        await self.session.flush()

    async def list_after(self, after: str | None, limit: int) -> list[TriggerRule]:
        query = select(TriggerRuleRow).where(TriggerRuleRow.tenant_id == self.tenant_id)
        rows = await self.session.scalars(keyset_page(query, [TriggerRuleRow.rule_id],
                                                      None if after is None else (after,), limit))
        return [_rule(r) for r in rows]

    async def active(self) -> list[TriggerRule]:
        """The tenant's ACTIVE rules (whether each is inside its active window: TriggerRule.is_live)."""
        rows = await self.session.scalars(select(TriggerRuleRow).where(
            TriggerRuleRow.tenant_id == self.tenant_id, TriggerRuleRow.status == RuleStatus.ACTIVE.value))
        return [_rule(r) for r in rows]

    async def version_snapshot(self, rule_id: str, version: int) -> dict[str, Any] | None:
        """rules_codec.version_snapshot of that version, as it was saved."""
        return await self.session.scalar(select(TriggerRuleVersionRow.snapshot).where(
            TriggerRuleVersionRow.tenant_id == self.tenant_id, TriggerRuleVersionRow.rule_id == rule_id,
            TriggerRuleVersionRow.version == version))

    async def set_latest_backtest(self, rule_id: str, version: int, backtest: dict[str, Any]) -> bool:
        """Keeps a backtest of the rule's current version; False if the rule is at another version now."""
        result = await self.session.execute(update(TriggerRuleRow).where(
            TriggerRuleRow.tenant_id == self.tenant_id, TriggerRuleRow.rule_id == rule_id,
            TriggerRuleRow.version == version).values(latest_backtest=backtest),
            execution_options={"synchronize_session": False})
        return rowcount(result) == 1


def _firing(row: TriggerFiringRow) -> FiringRecord:
    return FiringRecord(row.firing_id, row.rule_id, row.version, row.customer_id, row.account_id, row.fired_at,
                        row.transaction_id, row.dedupe_key, dict(row.values),
                        tuple(FiringAction(a["kind"], a.get("resource", ""), a.get("outcome", ""))
                              for a in row.actions))


def _action_json(action: FiringAction) -> dict[str, str]:
    return {"kind": action.kind, "resource": action.resource, "outcome": action.outcome}


def _firing_columns(firings: Sequence[FiringRecord]) -> tuple[Any, ...]:
    """The parameters $2..$11 of _POSTGRES_ADD_FIRINGS: one array per column, the ids and versions as literals
    (server.store.array_literals), the times and the JSON ones (as text) as lists."""
    return (text_array([f.firing_id for f in firings]), text_array([f.rule_id for f in firings]),
            integer_array([f.version for f in firings]), text_array([f.customer_id for f in firings]),
            text_array([f.account_id for f in firings]), [f.fired_at.astimezone(dt.UTC) for f in firings],
            text_array([f.transaction_id for f in firings]), text_array([f.dedupe_key for f in firings]),
            [json_text(dict(f.values)) for f in firings],
            [json_text([_action_json(a) for a in f.actions]) for f in firings])


def _banner_columns(banners: Sequence[Banner]) -> tuple[Any, ...]:
    """The parameters $12..$28 of _POSTGRES_ADD_FIRINGS: the ids and counts as literals, the texts and times
    as lists."""
    def utc(at: dt.datetime | None) -> dt.datetime | None:
        return None if at is None else at.astimezone(dt.UTC)
    return (text_array([b.banner_id for b in banners]), text_array([b.customer_id for b in banners]),
            text_array([b.rule_id for b in banners]), integer_array([b.version for b in banners]),
            text_array([b.firing_id for b in banners]), text_array([b.suggestion_id for b in banners]),
            [b.title for b in banners], [b.body for b in banners], [b.cta_label for b in banners],
            [b.cta_url for b in banners], text_array([b.product_id for b in banners]),
            [utc(b.created_at) for b in banners], [utc(b.expires_at) for b in banners],
            integer_array([b.impressions for b in banners]), integer_array([b.clicks for b in banners]),
            [utc(b.first_seen_at) for b in banners], [utc(b.last_clicked_at) for b in banners])


# Rows per INSERT of firings: SQLite binds at most 32,766 parameters a statement (11 a row here).
FIRINGS_PER_INSERT = 1_000

# The firings (ON CONFLICT of their dedupe key: skipped) and the banners of those inserted, in one statement
# of one text whatever the count, the rows as one array per column: one round trip on a banner's path, and a
# statement PostgreSQL and the driver prepare once per connection (a multi-row VALUES has a text per count).
_POSTGRES_ADD_FIRINGS = """
WITH firings AS (
  INSERT INTO trigger_firings (tenant_id, firing_id, rule_id, version, customer_id, account_id, fired_at,
                               transaction_id, dedupe_key, "values", actions)
  SELECT $1, t.firing_id, t.rule_id, t.version, t.customer_id, t.account_id, t.fired_at, t.transaction_id,
         t.dedupe_key, t.firing_values::json, t.actions::json
  FROM unnest($2::text::text[], $3::text::text[], $4::text::int[], $5::text::text[], $6::text::text[],
              $7::timestamptz[], $8::text::text[], $9::text::text[], $10::text[], $11::text[])
       AS t(firing_id, rule_id, version, customer_id, account_id, fired_at, transaction_id, dedupe_key,
            firing_values, actions)
  ON CONFLICT DO NOTHING
  RETURNING firing_id
), banners AS (
  INSERT INTO banners (tenant_id, banner_id, customer_id, rule_id, version, firing_id, suggestion_id, title, body,
                       cta_label, cta_url, product_id, created_at, expires_at, impressions, clicks, first_seen_at,
                       last_clicked_at)
  SELECT $1, b.*
  FROM unnest($12::text::text[], $13::text::text[], $14::text::text[], $15::text::int[], $16::text::text[],
              $17::text::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text::text[],
              $23::timestamptz[], $24::timestamptz[], $25::text::int[], $26::text::int[], $27::timestamptz[],
              $28::timestamptz[])
       AS b(banner_id, customer_id, rule_id, version, firing_id, suggestion_id, title, body, cta_label, cta_url,
            product_id, created_at, expires_at, impressions, clicks, first_seen_at, last_clicked_at)
  WHERE b.firing_id IN (SELECT firing_id FROM firings)
  RETURNING 1
)
SELECT firing_id FROM firings
"""


class TriggerFiringsRepository(TenantRepository):
    async def add_firings(self, firings: Sequence[FiringRecord], banners: Sequence[Banner] = ()) -> list[str]:
        """Inserts the firings, skipping one whose rule, account and dedupe key were fired already (a handler
        run twice), and the banners (new, each of one of these firings: `Banner.firing_id`) of those inserted;
        the ids of those inserted. On PostgreSQL in one statement."""
        if not firings:
            return []
        if dialect_of(self.session).name == "postgresql":
            connection = await self.session.connection()  # Core: no ORM bookkeeping
            rows = await connection.exec_driver_sql(_POSTGRES_ADD_FIRINGS, (
                self.tenant_id, *_firing_columns(firings), *_banner_columns(banners)))
            inserted = {row[0] for row in rows}
        else:
            inserted = await self._insert_firings(firings)
            await BannersRepository(self.session, self.tenant_id).add_banners(
                [b for b in banners if b.firing_id in inserted])
        return list(dict.fromkeys(f.firing_id for f in firings if f.firing_id in inserted))

    async def _insert_firings(self, firings: Sequence[FiringRecord]) -> set[str]:
        table = TriggerFiringRow.__table__
        inserted: set[str] = set()
        # The rows as parameters of one statement (SQLAlchemy sends them as multi-row INSERTs): a statement
        # with the rows in its VALUES would be compiled afresh every time.
        insert_new = self.upsert(table).on_conflict_do_nothing().returning(table.c.firing_id)
        for start in range(0, len(firings), FIRINGS_PER_INSERT):
            inserted |= set(await self.session.scalars(insert_new, [
                {"tenant_id": self.tenant_id, "firing_id": f.firing_id, "rule_id": f.rule_id, "version": f.version,
                 "customer_id": f.customer_id, "account_id": f.account_id, "fired_at": f.fired_at,
                 "transaction_id": f.transaction_id, "dedupe_key": f.dedupe_key, "values": dict(f.values),
                 "actions": [_action_json(a) for a in f.actions]} for f in firings[start:start + FIRINGS_PER_INSERT]]))
        return inserted

    async def get(self, rule_id: str, firing_id: str) -> FiringRecord | None:
        row = await self.session.get(TriggerFiringRow, (self.tenant_id, firing_id))
        return None if row is None or row.rule_id != rule_id else _firing(row)

    async def list_after(self, rule_id: str, customer_id: str | None, after: str | None, limit: int
                         ) -> list[FiringRecord]:
        """The rule's firings, newest first (firing ids sort by time: server.domain.ids.new_id)."""
        query = select(TriggerFiringRow).where(TriggerFiringRow.tenant_id == self.tenant_id,
                                               TriggerFiringRow.rule_id == rule_id)
        if customer_id is not None:
            query = query.where(TriggerFiringRow.customer_id == customer_id)
        rows = await self.session.scalars(keyset_page(query, [TriggerFiringRow.firing_id],
                                                      None if after is None else (after,), limit, descending=True))
        return [_firing(r) for r in rows]


def _banner(row: BannerRow) -> Banner:
    return Banner(row.banner_id, row.customer_id, row.title, row.body, row.cta_label, row.cta_url, row.created_at,
                  row.expires_at, row.product_id, row.rule_id, row.version, row.firing_id, row.suggestion_id,
                  row.impressions, row.clicks, row.first_seen_at, row.last_clicked_at)


class BannersRepository(TenantRepository):
    async def add_banners(self, banners: Sequence[Banner]) -> None:
        """Inserts new banners (ids from server.domain.ids.new_id: lists are newest first by id), as rows
        of one cached INSERT: no ORM objects to flush on the banner's path, where nothing reads them back."""
        if not banners:
            return
        await self.session.execute(insert(BannerRow.__table__), [dict(
            tenant_id=self.tenant_id, banner_id=b.banner_id, customer_id=b.customer_id, rule_id=b.rule_id,
            version=b.version, firing_id=b.firing_id, suggestion_id=b.suggestion_id, title=b.title, body=b.body,
            cta_label=b.cta_label, cta_url=b.cta_url, product_id=b.product_id, created_at=b.created_at,
            expires_at=b.expires_at, impressions=b.impressions, clicks=b.clicks, first_seen_at=b.first_seen_at,
            last_clicked_at=b.last_clicked_at) for b in banners])

    async def get(self, customer_id: str, banner_id: str) -> Banner | None:
        row = await self.session.get(BannerRow, (self.tenant_id, banner_id))
        return None if row is None or row.customer_id != customer_id else _banner(row)

    async def list_active(self, customer_id: str, now: dt.datetime, after: str | None, limit: int) -> list[Banner]:
        """The customer's banners not expired at `now`, newest first."""
        query = select(BannerRow).where(BannerRow.tenant_id == self.tenant_id, BannerRow.customer_id == customer_id,
                                        BannerRow.expires_at > now)
        rows = await self.session.scalars(keyset_page(query, [BannerRow.banner_id],
                                                      None if after is None else (after,), limit, descending=True))
        return [_banner(r) for r in rows]

    async def record_impression(self, customer_id: str, banner_id: str, at: dt.datetime) -> bool:
        counted = await self._count(customer_id, banner_id, impressions=BannerRow.impressions + 1,
                                    first_seen_at=func.coalesce(BannerRow.first_seen_at, at))
        if counted:
            await self._record_event("IMPRESSION", banner_id, at)
        return counted

    async def record_click(self, customer_id: str, banner_id: str, at: dt.datetime) -> bool:
        counted = await self._count(customer_id, banner_id, clicks=BannerRow.clicks + 1, last_clicked_at=at)
        if counted:
            await self._record_event("CLICK", banner_id, at)
        return counted

    async def _record_event(self, kind: str, banner_id: str, at: dt.datetime) -> None:
        """The impression or click as a row of its own (the event history's), in the count's transaction,
        with the banner's customer, rule and firing copied from it."""
        await self.session.execute(insert(BannerEventRow).from_select(
            ["tenant_id", "event_id", "kind", "banner_id", "customer_id", "rule_id", "version", "firing_id",
             "occurred_at"],
            select(BannerRow.tenant_id, literal(new_id()), literal(kind), BannerRow.banner_id, BannerRow.customer_id,
                   BannerRow.rule_id, BannerRow.version, BannerRow.firing_id,
                   literal(at, BannerEventRow.occurred_at.type))
            .where(BannerRow.tenant_id == self.tenant_id, BannerRow.banner_id == banner_id)))

    async def _count(self, customer_id: str, banner_id: str, **values: Any) -> bool:
        result = await self.session.execute(update(BannerRow).where(
            BannerRow.tenant_id == self.tenant_id, BannerRow.banner_id == banner_id,
            BannerRow.customer_id == customer_id).values(**values), execution_options={"synchronize_session": False})
        return rowcount(result) == 1
