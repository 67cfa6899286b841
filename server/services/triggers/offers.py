"""Recommended offers (docs/triggers.md, "Recommended offers"): recommendations a bank admin saves, the
suggestions a run makes of them, and the approval that turns a suggestion into the customer's banner.

A run selects the customers in SQL, a chunk of EVALUATION_CHUNK customers per statement: the criteria
compiled as a persona's expression is (server.store.segments_sql), the persona or audience from the kept
memberships (server.store.audience_sql), and the customers kept out (an open suggestion, a recent
rejection, an unexpired banner for the product) by NOT EXISTS. The daily cron `recommend_offers` runs
every tenant's recommendations; RunOfferRecommendations runs them on demand."""

from __future__ import annotations

from dataclasses import replace

import structlog

from server.domain.auth import Caller, Role
from server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, not_found
from server.domain.ids import new_id
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.personas.audiences import Selection
from server.domain.reasons import Reason
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition
from server.domain.segments.expression import Expression, attributes_named, render
from server.domain.segments.parser import parse_expression
from server.domain.triggers.offers import (
    Decision,
    OfferBanner,
    OfferRecommendation,
    OfferTarget,
    RunCount,
    SuggestedOffer,
    SuggestionStatus,
    TargetKind,
    banner_expiry,
    check_recommendation,
    check_rejection_reason,
    decide,
    rejected_before,
)
from server.domain.triggers.records import Banner
from server.services.audiences import audience_selection
from server.services.clock import Clock, utc_now
from server.services.personas import EXPRESSION_TABLES
from server.services.references import hold_named
from server.store.db import Database
from server.store.uow import UnitOfWork

ADMINS = (Role.BANK_ADMIN,)
RECOMMENDATIONS_LIST = "offer-recommendations"
SUGGESTIONS_LIST = "suggested-offers"
# Customers per statement of a run (one SELECT, one read of values, one INSERT each).
EVALUATION_CHUNK = 10_000
CRITERIA_FIELD = "offer_recommendation.criteria"
log = structlog.get_logger(__name__)


def _parse(criteria: str, custom: list[AttributeDefinition]) -> Expression:
    return parse_expression(criteria, AttributeCatalogue.of(custom), field=CRITERIA_FIELD)


class OffersService:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._database = database
        self._clock = clock

    # -- recommendations -----------------------------------------------------------------------------

    async def create(self, caller: Caller, recommendation_id: str, display_name: str, product_id: str,
                     criteria: str, target: OfferTarget, banner: OfferBanner) -> OfferRecommendation:
        caller.require_role(*ADMINS)
        check_recommendation(recommendation_id, display_name, banner)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            custom = await uow.attribute_definitions.all()
            parsed = _parse(criteria, custom)
            if await uow.products.get(product_id) is None:
                raise not_found("product", product_id)
            # Held until the save commits: a delete of what it names waits, then sees this recommendation.
            await hold_named(uow, personas=[target.id] if target.kind is TargetKind.PERSONA else [],
                             audiences=[target.id] if target.kind is TargetKind.AUDIENCE else [],
                             attributes=attributes_named(parsed) & {d.name for d in custom})
            recommendation = OfferRecommendation(recommendation_id, display_name, product_id, render(parsed), target,
                                                 banner, caller.subject, self._clock())
            if not await uow.offer_recommendations.add(recommendation):
                raise AlreadyExists(Reason.OFFER_RECOMMENDATION_EXISTS,
                                    f"offer recommendation {recommendation_id} exists already",
                                    metadata={"offer_recommendation": recommendation_id})
            await uow.commit()
        return recommendation

    async def get(self, caller: Caller, recommendation_id: str) -> OfferRecommendation:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await self._recommendation(uow, recommendation_id)

    @staticmethod
    async def _recommendation(uow: UnitOfWork, recommendation_id: str) -> OfferRecommendation:
        recommendation = await uow.offer_recommendations.get(recommendation_id)
        if recommendation is None:
            raise not_found("offer_recommendation", recommendation_id)
        return recommendation

    async def list_recommendations(self, caller: Caller, page: PageRequest) -> Page[OfferRecommendation]:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rows = await uow.offer_recommendations.list_after(page.after, page.size + 1)
        return paginate(rows, page, RECOMMENDATIONS_LIST, lambda r: r.recommendation_id)

    async def delete(self, caller: Caller, recommendation_id: str) -> None:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.offer_recommendations.delete(recommendation_id):
                raise not_found("offer_recommendation", recommendation_id)
            await uow.commit()

    # -- runs ----------------------------------------------------------------------------------------

    async def run(self, caller: Caller, recommendation_id: str | None) -> list[RunCount]:
        """RunOfferRecommendations: the tenant's recommendations (or the one named) run now."""
        caller.require_role(*ADMINS)
        if recommendation_id is not None:
            async with UnitOfWork(self._database, caller.tenant_id) as uow:
                await self._recommendation(uow, recommendation_id)
        return await self.run_tenant(caller.tenant_id, recommendation_id)

    async def run_all(self) -> int:
        """The daily cron: every enabled tenant's recommendations. Returns the suggestions made."""
        async with UnitOfWork(self._database) as uow:
            tenants = [t.tenant_id for t in await uow.tenants.list() if not t.disabled]
        return sum([sum(c.suggested for c in await self.run_tenant(tenant_id)) for tenant_id in tenants])

    async def run_tenant(self, tenant_id: str, recommendation_id: str | None = None) -> list[RunCount]:
        """Each recommendation in a transaction of its own, so one whose persona or audience went missing
        does not hold back the others. Safe to run twice at once: the store's unique index takes a
        customer's open suggestion once."""
        async with UnitOfWork(self._database, tenant_id) as uow:
            recommendations = await uow.offer_recommendations.all()
        if recommendations:
            # Never-analyzed tables are planned as nearly empty on PostgreSQL (see PersonasService).
            await self._database.planner_statistics.ensure(*EXPRESSION_TABLES, "offer_suggestions", "banners")
        counts = []
        for recommendation in recommendations:
            if recommendation_id is None or recommendation.recommendation_id == recommendation_id:
                suggested = await self._run_one(tenant_id, recommendation)
                counts.append(RunCount(recommendation.recommendation_id, suggested))
        return counts

    async def _run_one(self, tenant_id: str, recommendation: OfferRecommendation) -> int:
        async with UnitOfWork(self._database, tenant_id) as uow:
            custom = await uow.attribute_definitions.all()
            try:
                criteria = _parse(recommendation.criteria, custom)
            except InvalidArgument as error:
                # Criteria that no longer parse (an attribute they name gone): this one suggests nobody,
                # the tenant's others and the other tenants still run.
                log.warning("offer_recommendation_criteria_invalid", tenant=tenant_id,
                            recommendation=recommendation.recommendation_id, error=error.message)
                return 0
            catalogue = AttributeCatalogue.of(custom)
            named = {name: definition for name in sorted(attributes_named(criteria))
                     if (definition := catalogue.get(name)) is not None}
            reachable, restriction = await self._restriction(uow, recommendation.target)
            now = self._clock()
            suggested = 0
            if reachable:
                await uow.persona_members.without_jit()
                after: str | None = None
                while True:
                    last = await uow.offer_suggestions.chunk_end(after, EVALUATION_CHUNK)
                    customers = await uow.offer_suggestions.qualifying(
                        recommendation, criteria, restriction, rejected_before(now), now, after, last)
                    suggested += await uow.offer_suggestions.add_pending(recommendation, customers, named, now)
                    if last is None:
                        break
                    after = last
            else:
                log.warning("offer_recommendation_target_missing", tenant=tenant_id,
                            recommendation=recommendation.recommendation_id, target=recommendation.target.id)
            await uow.offer_recommendations.record_run(recommendation.recommendation_id, now)
            await uow.commit()
        log.info("offer_recommendation_run", tenant=tenant_id, recommendation=recommendation.recommendation_id,
                 suggested=suggested)
        return suggested

    @staticmethod
    async def _restriction(uow: UnitOfWork, target: OfferTarget) -> tuple[bool, Selection | str | None]:
        """(False, None) when the persona or audience named is no longer stored: nobody is suggested.
        Else None for every customer, or the persona's id or the audience's selection."""
        match target.kind:
            case TargetKind.PERSONA:
                return await uow.personas.get(target.id) is not None, target.id
            case TargetKind.AUDIENCE:
                selection = await audience_selection(uow, target.id)
                return selection is not None, selection
        return True, None

    # -- suggestions ---------------------------------------------------------------------------------

    async def list_suggestions(self, caller: Caller, recommendation_id: str | None,
                               status: SuggestionStatus | None, page: PageRequest) -> Page[SuggestedOffer]:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rows = await uow.offer_suggestions.list_after(recommendation_id, status, page.after, page.size + 1)
        return paginate(rows, page, SUGGESTIONS_LIST, lambda s: s.suggestion_id)

    async def approve(self, caller: Caller, suggestion_id: str) -> SuggestedOffer:
        """PENDING -> APPROVED, and the customer's banner made in the same transaction."""
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            suggestion = await self._held(uow, suggestion_id)
            now = self._clock()
            decided = decide(suggestion, Decision(SuggestionStatus.APPROVED, caller.subject, now))
            recommendation = await self._recommendation(uow, suggestion.recommendation_id)
            # Two approvals for one customer at the same moment (two recommendations of one product) see
            # each other's banner: the second waits here for the first to commit.
            await uow.customers.hold(suggestion.customer_id)
            if await uow.offer_suggestions.banner_shown(suggestion.customer_id, suggestion.product_id, now):
                raise FailedPrecondition(Reason.OFFER_ALREADY_SHOWN,
                                         f"customer {suggestion.customer_id} has an unexpired banner for product "
                                         f"{suggestion.product_id}: reject this suggestion",
                                         metadata={"customer": suggestion.customer_id,
                                                   "product": suggestion.product_id})
            banner_id = new_id()
            content = recommendation.banner
            await uow.banners.add_banners([Banner(
                banner_id, suggestion.customer_id, content.title, content.body, content.call_to_action_label,
                content.call_to_action_url, now, banner_expiry(content, now), product_id=suggestion.product_id,
                suggestion_id=suggestion.suggestion_id)])
            decided = replace(decided, banner_id=banner_id)
            await uow.offer_suggestions.record_decision(decided)
            await uow.commit()
        return decided

    async def reject(self, caller: Caller, suggestion_id: str, reason: str) -> SuggestedOffer:
        caller.require_role(*ADMINS)
        check_rejection_reason(reason)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            suggestion = await self._held(uow, suggestion_id)
            decided = decide(suggestion, Decision(SuggestionStatus.REJECTED, caller.subject, self._clock(), reason))
            await uow.offer_suggestions.record_decision(decided)
            await uow.commit()
        return decided

    @staticmethod
    async def _held(uow: UnitOfWork, suggestion_id: str) -> SuggestedOffer:
        suggestion = await uow.offer_suggestions.hold(suggestion_id)
        if suggestion is None:
            raise not_found("suggested_offer", suggestion_id)
        return suggestion
