"""Recommended offers (server.store.offers_models): recommendations, and their suggestions made in bulk
by one INSERT of the customers a compiled segment expression selects, never by evaluating customers one
by one in Python (server.store.segments_sql, server.store.audience_sql)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, not_, select, update

from server.domain.ids import new_id
from server.domain.personas.audiences import Selection
from server.domain.personas.model import canonical
from server.domain.segments.attributes import AttributeDefinition, AttributeValue, value_to_text
from server.domain.segments.expression import Expression
from server.domain.triggers.offers import (
    OPEN_STATUSES,
    OfferBanner,
    OfferRecommendation,
    OfferTarget,
    SuggestedOffer,
    SuggestionStatus,
    TargetKind,
)
from server.store.audience_sql import selection_condition
from server.store.driver import rowcount
from server.store.keyset import keyset_page
from server.store.models import CustomerRow
from server.store.offers_models import OfferRecommendationRow, OfferSuggestionRow
from server.store.personas_models import CustomerAttributeValueRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.personas import VALUE_COLUMN, SegmentReadsRepository
from server.store.triggers_models import BannerRow

VALUE_COLUMN_NAMES = tuple(sorted(set(VALUE_COLUMN.values())))


def banner_to_json(banner: OfferBanner) -> dict[str, object]:
    return {"title": banner.title, "body": banner.body, "call_to_action_label": banner.call_to_action_label,
            "call_to_action_url": banner.call_to_action_url,
            "lifetime_seconds": int(banner.lifetime.total_seconds())}


def banner_from_json(stored: Mapping[str, Any]) -> OfferBanner:
    return OfferBanner(str(stored["title"]), str(stored["body"]), str(stored["call_to_action_label"]),
                       str(stored["call_to_action_url"]), dt.timedelta(seconds=int(stored["lifetime_seconds"])))


def _recommendation(row: OfferRecommendationRow) -> OfferRecommendation:
    return OfferRecommendation(row.recommendation_id, row.display_name, row.product_id, row.criteria,
                               OfferTarget(TargetKind(row.target_kind), row.target_id), banner_from_json(row.banner),
                               row.created_by, row.created_at, row.last_run_at)


def _suggestion(row: OfferSuggestionRow) -> SuggestedOffer:
    return SuggestedOffer(row.suggestion_id, row.recommendation_id, row.customer_id, row.product_id,
                          dict(row.indicator_values or {}), SuggestionStatus(row.status), row.created_at,
                          row.decided_by or "", row.decided_at, row.rejection_reason, row.banner_id or "")


class OfferRecommendationsRepository(TenantRepository):
    async def add(self, recommendation: OfferRecommendation) -> bool:
        """False when the tenant has a recommendation of that id already."""
        stmt = self.upsert(OfferRecommendationRow).values(
            tenant_id=self.tenant_id, recommendation_id=recommendation.recommendation_id,
            display_name=recommendation.display_name, product_id=recommendation.product_id,
            criteria=recommendation.criteria, target_kind=recommendation.target.kind.value,
            target_id=recommendation.target.id, banner=banner_to_json(recommendation.banner),
            created_by=recommendation.created_by, created_at=recommendation.created_at, last_run_at=None)
        result = await self.session.execute(
            stmt.on_conflict_do_nothing(index_elements=["tenant_id", "recommendation_id"]))
        return rowcount(result) == 1

    async def get(self, recommendation_id: str) -> OfferRecommendation | None:
        row = await self.session.get(OfferRecommendationRow, (self.tenant_id, recommendation_id))
        return None if row is None else _recommendation(row)

    async def all(self) -> list[OfferRecommendation]:
        rows = await self.session.scalars(select(OfferRecommendationRow).where(
            OfferRecommendationRow.tenant_id == self.tenant_id).order_by(OfferRecommendationRow.recommendation_id))
        return [_recommendation(r) for r in rows]

    async def list_after(self, after: str | None, limit: int) -> list[OfferRecommendation]:
        query = select(OfferRecommendationRow).where(OfferRecommendationRow.tenant_id == self.tenant_id)
        rows = await self.session.scalars(keyset_page(query, [OfferRecommendationRow.recommendation_id],
                                                      None if after is None else (after,), limit))
        return [_recommendation(r) for r in rows]

    async def delete(self, recommendation_id: str) -> bool:
        """The recommendation and its PENDING suggestions; decided ones stay as the record of decisions."""
        await self.session.execute(delete(OfferSuggestionRow).where(
            OfferSuggestionRow.tenant_id == self.tenant_id, OfferSuggestionRow.recommendation_id == recommendation_id,
            OfferSuggestionRow.status == SuggestionStatus.PENDING.value))
        result = await self.session.execute(delete(OfferRecommendationRow).where(
            OfferRecommendationRow.tenant_id == self.tenant_id,
            OfferRecommendationRow.recommendation_id == recommendation_id))
        return rowcount(result) == 1

    async def record_run(self, recommendation_id: str, at: dt.datetime) -> None:
        await self.session.execute(update(OfferRecommendationRow).where(
            OfferRecommendationRow.tenant_id == self.tenant_id,
            OfferRecommendationRow.recommendation_id == recommendation_id).values(last_run_at=at))


class OfferSuggestionsRepository(TenantRepository):
    def _kept_out(self, recommendation: OfferRecommendation, rejected_since: dt.datetime,
                  now: dt.datetime) -> ColumnElement[bool]:
        """Customers (CustomerRow of the outer query) who get no new suggestion of the recommendation: one
        PENDING or APPROVED already, one rejected since `rejected_since`, or an unexpired banner for the
        product (a rule's or an approved offer's)."""
        suggested = exists().where(
            OfferSuggestionRow.tenant_id == self.tenant_id,
            OfferSuggestionRow.recommendation_id == recommendation.recommendation_id,
            OfferSuggestionRow.customer_id == CustomerRow.customer_id,
            (OfferSuggestionRow.status.in_([s.value for s in OPEN_STATUSES]))
            | and_(OfferSuggestionRow.status == SuggestionStatus.REJECTED.value,
                   OfferSuggestionRow.decided_at > rejected_since))
        return suggested | self._banner_shown(CustomerRow.customer_id, recommendation.product_id, now)

    def _banner_shown(self, customer_id: Any, product_id: str, now: dt.datetime) -> ColumnElement[bool]:
        """An unexpired banner for the product (a rule's or an approved offer's) shown to the customer (an id,
        or the outer query's column)."""
        return exists().where(BannerRow.tenant_id == self.tenant_id, BannerRow.customer_id == customer_id,
                              BannerRow.product_id == product_id, BannerRow.expires_at > now)

    async def chunk_end(self, after: str | None, size: int) -> str | None:
        """The id of the `size`th customer after `after`, the last of a chunk; None when fewer are left."""
        query = select(CustomerRow.customer_id).where(CustomerRow.tenant_id == self.tenant_id)
        if after is not None:
            query = query.where(CustomerRow.customer_id > after)
        return await self.session.scalar(query.order_by(CustomerRow.customer_id).offset(size - 1).limit(1))

    async def qualifying(self, recommendation: OfferRecommendation, criteria: Expression,
                         restriction: Selection | str | None, rejected_since: dt.datetime, now: dt.datetime,
                         after: str | None, last: str | None) -> list[str]:
        """The customers with ids in (after, last] that the criteria (and the persona or audience, when the
        recommendation names one) select and nothing keeps out: one SELECT."""
        conditions: list[ColumnElement[bool]] = [
            CustomerRow.tenant_id == self.tenant_id,
            SegmentReadsRepository(self.session, self.tenant_id).selects(criteria),
            not_(self._kept_out(recommendation, rejected_since, now))]
        if after is not None:
            conditions.append(CustomerRow.customer_id > after)
        if last is not None:
            conditions.append(CustomerRow.customer_id <= last)
        if restriction is not None:
            conditions.append(selection_condition(self.tenant_id, restriction, CustomerRow.customer_id))
        return list(await self.session.scalars(select(CustomerRow.customer_id).where(*conditions)
                                               .order_by(CustomerRow.customer_id)))

    async def add_pending(self, recommendation: OfferRecommendation, customer_ids: Sequence[str],
                          named: Mapping[str, AttributeDefinition], now: dt.datetime) -> int:
        """PENDING suggestions for these customers, with their values of the named attributes (one read,
        one INSERT); a customer given an open suggestion meanwhile (a run at the same moment) is skipped by
        the unique index. Returns how many were added."""
        if not customer_ids:
            return 0
        own = await self._values(customer_ids, named)
        rows = []
        for customer_id in customer_ids:
            shown = {}
            for name, definition in named.items():
                value = own.get((customer_id, name), definition.default)
                if value is not None:
                    shown[name] = value_to_text(value)
            rows.append({"tenant_id": self.tenant_id, "suggestion_id": new_id(),
                         "recommendation_id": recommendation.recommendation_id, "customer_id": customer_id,
                         "product_id": recommendation.product_id, "indicator_values": shown,
                         "status": SuggestionStatus.PENDING.value, "created_at": now, "decided_by": None,
                         "decided_at": None, "rejection_reason": "", "banner_id": None})
        result = await self.session.execute(self.upsert(OfferSuggestionRow).on_conflict_do_nothing()
                                            .returning(OfferSuggestionRow.suggestion_id), rows)
        return len(list(result.scalars()))

    async def _values(self, customer_ids: Sequence[str], named: Mapping[str, AttributeDefinition]
                      ) -> dict[tuple[str, str], AttributeValue]:
        """(customer id, attribute) -> the customer's own value, for the named attributes only, in one
        statement of plain rows (no ORM objects: a run reads thousands)."""
        if not named:
            return {}
        row = CustomerAttributeValueRow
        found: dict[tuple[str, str], AttributeValue] = {}
        for customer_id, name, *columns in await self.session.execute(select(
                row.customer_id, row.name, *(getattr(row, c) for c in VALUE_COLUMN_NAMES)).where(
                row.tenant_id == self.tenant_id, self.one_of(row.customer_id, customer_ids),
                self.one_of(row.name, sorted(named)))):
            value = dict(zip(VALUE_COLUMN_NAMES, columns, strict=True))[VALUE_COLUMN[named[name].type]]
            if value is not None:
                found[(customer_id, name)] = canonical(value)  # a DECIMAL reads back with 4 places
        return found

    async def hold(self, suggestion_id: str) -> SuggestedOffer | None:
        """The suggestion, its row held until the transaction ends (one decision at a time)."""
        if not await self.hold_row(OfferSuggestionRow.suggestion_id, suggestion_id):
            return None
        row = (await self.session.execute(select(OfferSuggestionRow).where(
            OfferSuggestionRow.tenant_id == self.tenant_id, OfferSuggestionRow.suggestion_id == suggestion_id)
            .execution_options(populate_existing=True))).scalar_one()
        return _suggestion(row)

    async def list_after(self, recommendation_id: str | None, status: SuggestionStatus | None, after: str | None,
                         limit: int) -> list[SuggestedOffer]:
        query = select(OfferSuggestionRow).where(OfferSuggestionRow.tenant_id == self.tenant_id)
        if recommendation_id is not None:
            query = query.where(OfferSuggestionRow.recommendation_id == recommendation_id)
        if status is not None:
            query = query.where(OfferSuggestionRow.status == status.value)
        rows = await self.session.scalars(keyset_page(query, [OfferSuggestionRow.suggestion_id],
                                                      None if after is None else (after,), limit))
        return [_suggestion(r) for r in rows]

    async def record_decision(self, suggestion: SuggestedOffer) -> None:
        await self.session.execute(update(OfferSuggestionRow).where(
            OfferSuggestionRow.tenant_id == self.tenant_id,
            OfferSuggestionRow.suggestion_id == suggestion.suggestion_id).values(
            status=suggestion.status.value, decided_by=suggestion.decided_by, decided_at=suggestion.decided_at,
            rejection_reason=suggestion.rejection_reason, banner_id=suggestion.banner_id or None))

    async def banner_shown(self, customer_id: str, product_id: str, now: dt.datetime) -> bool:
        """Whether the customer has an unexpired banner for the product."""
        return bool(await self.session.scalar(select(self._banner_shown(customer_id, product_id, now))))
