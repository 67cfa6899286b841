"""Recommended offers through gRPC, on both databases: customers whose average collected balance
qualifies and who lack the product are suggested it, the others are not; nothing is shown before the
bank approves; an approval makes the customer's banner, a rejection none and keeps them out for 90
days; another bank sees none of it. Banners are read as the bank's app reads them (ListBanners), and
from the store for what the message does not carry (the suggestion that made it)."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
from sqlalchemy import select

from engage.triggers.v1 import banners_service_pb2 as bpb
from engage.triggers.v1 import offers_service_pb2 as pb
from server.domain.auth import Role
from server.store.triggers_models import BannerRow
from tests.support.builders import failure
from tests.support.offers import PRODUCT, add_customers, add_product, create_recommendation, derive_attributes

PENDING, APPROVED, REJECTED = (pb.SUGGESTED_OFFER_STATUS_PENDING, pb.SUGGESTED_OFFER_STATUS_APPROVED,
                               pb.SUGGESTED_OFFER_STATUS_REJECTED)


async def _banners(services, tenant: str) -> list[BannerRow]:
    async with services.database.sessions() as session:
        return list(await session.scalars(select(BannerRow).where(BannerRow.tenant_id == tenant)
                                          .order_by(BannerRow.customer_id)))


async def _suggestions(admin, **filters) -> list[pb.SuggestedOffer]:
    found, token = [], ""
    while True:
        page = await admin.offers.ListSuggestedOffers(pb.ListSuggestedOffersRequest(
            page_size=1, page_token=token, **filters))
        found += page.suggested_offers
        token = page.next_page_token
        if not token:
            return found


async def _shown(stubs, customer_id: str) -> list[bpb.Banner]:
    return list((await stubs.banners.ListBanners(bpb.ListBannersRequest(parent=f"customers/{customer_id}"))).banners)


def _customers(suggestions: list[pb.SuggestedOffer]) -> list[str]:
    return sorted(s.customer.removeprefix("customers/") for s in suggestions)


async def _bank(server, services, tenant, service_stubs):
    await add_customers(service_stubs)
    await derive_attributes(services, tenant)
    ana = server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana"))
    await add_product(ana)
    return ana


async def test_qualifying_customers_are_suggested_and_shown_only_once_approved(server, services, tenant,
                                                                             service_stubs):
    ana = await _bank(server, services, tenant, service_stubs)
    async with ana, server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
        created = await create_recommendation(ana)
        assert created.name == "offerRecommendations/rich_savers" and created.created_by == "ana"
        assert created.criteria == "avg_collected_balance >= 2500 AND NOT holds('LOAN')"
        assert created.banner.lifetime.seconds == 14 * 86400 and not created.HasField("last_run_time")

        run = await ana.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest())
        assert (run.recommendations_run, run.suggestions_created) == (1, 2)
        assert [(r.offer_recommendation, r.suggestions_created) for r in run.runs] == \
            [("offerRecommendations/rich_savers", 2)]
        # 3,000 and exactly 2,500 qualify; 900 does not; 4,000 with a loan does not.
        suggested = await _suggestions(ana)
        assert _customers(suggested) == ["edge", "rich"]
        rich = next(s for s in suggested if s.customer == "customers/rich")
        assert rich.status == PENDING and rich.product == PRODUCT
        assert dict(rich.indicator_values) == {"avg_collected_balance": "3000"}
        assert rich.offer_recommendation == created.name and not rich.banner and not rich.decided_by
        assert await _banners(services, tenant) == []  # nothing shown before approval
        assert await _shown(service_stubs, "rich") == [] and await _shown(service_stubs, "edge") == []
        assert (await ana.offers.GetOfferRecommendation(pb.GetOfferRecommendationRequest(
            name=created.name))).HasField("last_run_time")

        # A second run suggests nobody again while the suggestions wait.
        again = await ben.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest(
            offer_recommendation=created.name))
        assert again.suggestions_created == 0 and len(await _suggestions(ana)) == 2

        approved = await ben.offers.ApproveSuggestedOffer(pb.ApproveSuggestedOfferRequest(name=rich.name))
        assert approved.status == APPROVED and approved.decided_by == "ben" and approved.HasField("decide_time")
        [banner] = await _banners(services, tenant)
        assert approved.banner == f"customers/rich/banners/{banner.banner_id}"
        assert (banner.customer_id, banner.product_id, banner.rule_id, banner.suggestion_id) == \
            ("rich", "premium-savings", None, rich.name.removeprefix("suggestedOffers/"))
        assert (banner.title, banner.cta_label, banner.cta_url) == \
            ("Earn more on your savings", "Open now", "https://bank.example/premium")
        assert banner.expires_at - banner.created_at == dt.timedelta(days=14)
        async with server.stubs(server.token(tenant, Role.USER, "rich")) as customer:
            [shown] = await _shown(customer, "rich")  # what the bank's app shows the customer
        assert (shown.name, shown.title, shown.body, shown.call_to_action_url, shown.product, shown.trigger_rule) == \
            (approved.banner, "Earn more on your savings", "Premium savings pays 3% a year.",
             "https://bank.example/premium", PRODUCT, "")
        assert (await failure(ben.offers.ApproveSuggestedOffer(pb.ApproveSuggestedOfferRequest(name=rich.name))))[:2] \
            == (grpc.StatusCode.FAILED_PRECONDITION, "SUGGESTED_OFFER_DECIDED")

        edge = next(s for s in suggested if s.customer == "customers/edge")
        rejected = await ben.offers.RejectSuggestedOffer(pb.RejectSuggestedOfferRequest(
            name=edge.name, reason="balance only just at the line"))
        assert rejected.status == REJECTED and rejected.rejection_reason == "balance only just at the line"
        assert [b.customer_id for b in await _banners(services, tenant)] == ["rich"]  # none for edge
        assert await _shown(service_stubs, "edge") == []
        assert _customers(await _suggestions(ana, status=APPROVED)) == ["rich"]
        assert _customers(await _suggestions(ana, status=REJECTED)) == ["edge"]
        assert await _suggestions(ana, status=PENDING) == []

        # Approved stays approved, rejected is not suggested again for 90 days: the run suggests nobody.
        assert (await ana.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest())).suggestions_created \
            == 0


async def test_an_unexpired_banner_for_the_product_keeps_a_customer_out(server, services, tenant, service_stubs):
    ana = await _bank(server, services, tenant, service_stubs)
    async with ana:
        await create_recommendation(ana, "rich_savers", criteria="avg_collected_balance >= 2500")
        await ana.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest())
        rich = next(s for s in await _suggestions(ana) if s.customer == "customers/rich")
        await ana.offers.ApproveSuggestedOffer(pb.ApproveSuggestedOfferRequest(name=rich.name))
        # Another recommendation of the same product: rich holds its banner, the others are suggested.
        await create_recommendation(ana, "any_saver", criteria="avg_collected_balance > 0")
        run = await ana.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest(
            offer_recommendation="offerRecommendations/any_saver"))
        assert run.suggestions_created == 3
        assert _customers(await _suggestions(ana, offer_recommendation="offerRecommendations/any_saver")) == \
            ["edge", "modest", "rich_borrower"]
        # rich_borrower's suggestion of the first recommendation is approved meanwhile: the second is refused.
        first = next(s for s in await _suggestions(ana, offer_recommendation="offerRecommendations/rich_savers")
                     if s.customer == "customers/rich_borrower")
        second = next(s for s in await _suggestions(ana, offer_recommendation="offerRecommendations/any_saver")
                      if s.customer == "customers/rich_borrower")
        await ana.offers.ApproveSuggestedOffer(pb.ApproveSuggestedOfferRequest(name=first.name))
        assert (await failure(ana.offers.ApproveSuggestedOffer(pb.ApproveSuggestedOfferRequest(
            name=second.name))))[:2] == (grpc.StatusCode.FAILED_PRECONDITION, "OFFER_ALREADY_SHOWN")
        # Deleting a recommendation drops its pending suggestions and keeps the decided ones.
        await ana.offers.DeleteOfferRecommendation(pb.DeleteOfferRecommendationRequest(
            name="offerRecommendations/rich_savers"))
        assert _customers(await _suggestions(ana, offer_recommendation="offerRecommendations/rich_savers")) == \
            ["rich", "rich_borrower"]
        assert (await failure(ana.offers.GetOfferRecommendation(pb.GetOfferRecommendationRequest(
            name="offerRecommendations/rich_savers"))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "OFFER_RECOMMENDATION_NOT_FOUND")


async def test_a_persona_restricts_who_is_suggested(server, services, tenant, service_stubs):
    from engage.personas.v1 import personas_service_pb2 as ppb
    from tests.integration.test_domain_events import run_worker_until_idle

    ana = await _bank(server, services, tenant, service_stubs)
    async with ana:
        await ana.personas.CreatePersona(ppb.CreatePersonaRequest(persona_id="comfortable", persona=ppb.Persona(
            display_name="Comfortable", expression="avg_collected_balance >= 2800")))
        await run_worker_until_idle(server.services.settings)  # the persona's kept memberships
        await create_recommendation(ana, criteria="avg_collected_balance >= 2500", audience="personas/comfortable")
        run = await ana.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest())
        assert run.suggestions_created == 2
        assert _customers(await _suggestions(ana)) == ["rich", "rich_borrower"]


async def test_recommendations_are_checked_when_saved(server, services, tenant, service_stubs):
    ana = await _bank(server, services, tenant, service_stubs)
    async with ana, server.stubs(server.token(tenant, Role.USER, "rich")) as rich:
        cases = [({"criteria": "avg_collected_balance >= "}, grpc.StatusCode.INVALID_ARGUMENT,
                  "SEGMENT_EXPRESSION_INVALID"),
                 ({"criteria": "no_such_attribute > 1"}, grpc.StatusCode.INVALID_ARGUMENT,
                  "SEGMENT_EXPRESSION_INVALID"),
                 ({"product": "products/no-such"}, grpc.StatusCode.NOT_FOUND, "PRODUCT_NOT_FOUND"),
                 ({"product": "savings"}, grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_NAME_INVALID"),
                 ({"audience": "personas/nobody"}, grpc.StatusCode.NOT_FOUND, "PERSONA_NOT_FOUND"),
                 ({"audience": "segments/x"}, grpc.StatusCode.INVALID_ARGUMENT, "OFFER_RECOMMENDATION_INVALID"),
                 ({"hours": 0}, grpc.StatusCode.INVALID_ARGUMENT, "OFFER_RECOMMENDATION_INVALID"),
                 ({"hours": 367 * 24}, grpc.StatusCode.INVALID_ARGUMENT, "OFFER_RECOMMENDATION_INVALID")]
        for fields, code, reason in cases:
            assert (await failure(create_recommendation(ana, **fields)))[:2] == (code, reason), fields
        body = await create_recommendation(ana)
        for change in ({"title": "x" * 101}, {"call_to_action_url": "http://bank.example/"},
                       {"call_to_action_label": "x" * 41}, {"body": "x" * 501}):
            bad = pb.OfferRecommendation()
            bad.CopyFrom(body)
            for field, value in change.items():
                setattr(bad.banner, field, value)
            assert (await failure(ana.offers.CreateOfferRecommendation(pb.CreateOfferRecommendationRequest(
                offer_recommendation_id="other", offer_recommendation=bad))))[:2] == \
                (grpc.StatusCode.INVALID_ARGUMENT, "OFFER_RECOMMENDATION_INVALID"), change
        # Past what a Duration may say (the wire does not enforce it) and past what a timedelta holds.
        for seconds, nanos in ((-(2**63), 1), (2**63 - 1, 0), (10**12, 0), (3600, -1), (3600, 10**9)):
            bad = pb.OfferRecommendation()
            bad.CopyFrom(body)
            bad.banner.lifetime.seconds, bad.banner.lifetime.nanos = seconds, nanos
            assert (await failure(ana.offers.CreateOfferRecommendation(pb.CreateOfferRecommendationRequest(
                offer_recommendation_id="other", offer_recommendation=bad)))) == \
                (grpc.StatusCode.INVALID_ARGUMENT, "OFFER_RECOMMENDATION_INVALID",
                 ["offer_recommendation.banner.lifetime"]), (seconds, nanos)
        for bad_id in ("Rich", "1rich", "x" * 41, ""):
            assert (await failure(create_recommendation(ana, bad_id)))[:2] == \
                (grpc.StatusCode.INVALID_ARGUMENT, "OFFER_RECOMMENDATION_INVALID"), bad_id
        assert (await failure(create_recommendation(ana)))[:2] == \
            (grpc.StatusCode.ALREADY_EXISTS, "OFFER_RECOMMENDATION_EXISTS")
        for call in (rich.offers.ListSuggestedOffers(pb.ListSuggestedOffersRequest()),
                     service_stubs.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest()),
                     rich.offers.ListOfferRecommendations(pb.ListOfferRecommendationsRequest())):
            assert (await failure(call))[0] == grpc.StatusCode.PERMISSION_DENIED


async def test_the_daily_cron_runs_every_tenants_recommendations(server, services, settings, tenant, service_stubs):
    from workers.tasks.offers import recommend_offers

    ana = await _bank(server, services, tenant, service_stubs)
    async with ana:
        await create_recommendation(ana)
        assert await recommend_offers({"services": services}) >= 2  # other tests' tenants may add theirs
        assert _customers(await _suggestions(ana)) == ["edge", "rich"]
        assert await recommend_offers({"services": services}, tenant_id=tenant) == 0


async def test_another_bank_sees_no_recommendation_nor_suggestion(server, services, tenant, service_stubs):
    ana = await _bank(server, services, tenant, service_stubs)
    async with ana:
        created = await create_recommendation(ana)
        await ana.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest())
        [suggestion, _] = await _suggestions(ana)
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        for call in (eve.offers.GetOfferRecommendation(pb.GetOfferRecommendationRequest(name=created.name)),
                     eve.offers.DeleteOfferRecommendation(pb.DeleteOfferRecommendationRequest(name=created.name)),
                     eve.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest(
                         offer_recommendation=created.name)),
                     eve.offers.ApproveSuggestedOffer(pb.ApproveSuggestedOfferRequest(name=suggestion.name)),
                     eve.offers.RejectSuggestedOffer(pb.RejectSuggestedOfferRequest(name=suggestion.name))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await eve.offers.ListOfferRecommendations(pb.ListOfferRecommendationsRequest()))\
            .offer_recommendations
        assert not (await eve.offers.ListSuggestedOffers(pb.ListSuggestedOffersRequest())).suggested_offers
        # Their own recommendation of the same id, over their (no) customers, suggests nobody of ours.
        await add_product(eve)
        await create_recommendation(eve, criteria="avg_collected_balance > 0")
        assert (await eve.offers.RunOfferRecommendations(pb.RunOfferRecommendationsRequest())).suggestions_created \
            == 0
    assert await _banners(services, other) == []
