"""engage.triggers.v1.OffersService: proto <-> domain translation only."""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf import empty_pb2

from engage.triggers.v1 import offers_service_pb2 as pb
from engage.triggers.v1 import offers_service_pb2_grpc
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import page_request
from server.domain.reasons import Reason
from server.domain.triggers.offers import (
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    OfferBanner,
    OfferRecommendation,
    OfferTarget,
    RunCount,
    SuggestedOffer,
    SuggestionStatus,
    TargetKind,
)
from server.rpc.context import current_caller
from server.rpc.convert import timestamp_to_proto
from server.rpc.triggers_convert import BANNER, duration_to_proto
from server.services.triggers.offers import RECOMMENDATIONS_LIST, SUGGESTIONS_LIST, OffersService

Context = grpc.aio.ServicerContext

_STATUS_TO_PROTO = {SuggestionStatus.PENDING: pb.SUGGESTED_OFFER_STATUS_PENDING,
                    SuggestionStatus.APPROVED: pb.SUGGESTED_OFFER_STATUS_APPROVED,
                    SuggestionStatus.REJECTED: pb.SUGGESTED_OFFER_STATUS_REJECTED}
_STATUS_FROM_PROTO = {v: k for k, v in _STATUS_TO_PROTO.items()}
_AUDIENCE_FIELD = "offer_recommendation.audience"


def _target(name: str) -> OfferTarget:
    if not name:
        return OfferTarget()
    if name.startswith("personas/"):
        return OfferTarget(TargetKind.PERSONA, resource_names.PERSONA.id(name, _AUDIENCE_FIELD))
    if name.startswith("audiences/"):
        return OfferTarget(TargetKind.AUDIENCE, resource_names.AUDIENCE.id(name, _AUDIENCE_FIELD))
    raise InvalidArgument(Reason.OFFER_RECOMMENDATION_INVALID,
                          f"{_AUDIENCE_FIELD} must be personas/{{persona}}, audiences/{{audience}} or empty",
                          violations=[FieldViolation(_AUDIENCE_FIELD, "personas/{persona} or audiences/{audience}")])


def _target_name(target: OfferTarget) -> str:
    match target.kind:
        case TargetKind.PERSONA:
            return resource_names.PERSONA.format(target.id)
        case TargetKind.AUDIENCE:
            return resource_names.AUDIENCE.format(target.id)
    return ""


def _lifetime(banner: pb.OfferBanner) -> dt.timedelta:
    if not banner.HasField("lifetime"):
        return DEFAULT_LIFETIME
    # The domain checks 1 hour to 366 days; a Duration past that (even past the range Duration documents,
    # which the wire does not enforce) is refused here, before timedelta overflows on it.
    seconds, nanos = banner.lifetime.seconds, banner.lifetime.nanos
    if not 0 <= seconds <= MAX_LIFETIME.total_seconds() or not 0 <= nanos < 10**9:
        path = "offer_recommendation.banner.lifetime"
        raise InvalidArgument(Reason.OFFER_RECOMMENDATION_INVALID, f"{path}: from 1 hour to 366 days",
                              violations=[FieldViolation(path, "from 1 hour to 366 days")], metadata={"field": path})
    return dt.timedelta(seconds=seconds, microseconds=nanos // 1000)


def recommendation_to_proto(recommendation: OfferRecommendation) -> pb.OfferRecommendation:
    banner = recommendation.banner
    return pb.OfferRecommendation(
        name=resource_names.OFFER_RECOMMENDATION.format(recommendation.recommendation_id),
        display_name=recommendation.display_name, product=resource_names.PRODUCT.format(recommendation.product_id),
        criteria=recommendation.criteria, audience=_target_name(recommendation.target),
        banner=pb.OfferBanner(title=banner.title, body=banner.body, call_to_action_label=banner.call_to_action_label,
                              call_to_action_url=banner.call_to_action_url,
                              lifetime=duration_to_proto(banner.lifetime)),
        created_by=recommendation.created_by, create_time=timestamp_to_proto(recommendation.created_at),
        last_run_time=timestamp_to_proto(recommendation.last_run_at))


def suggestion_to_proto(suggestion: SuggestedOffer) -> pb.SuggestedOffer:
    return pb.SuggestedOffer(
        name=resource_names.SUGGESTED_OFFER.format(suggestion.suggestion_id),
        offer_recommendation=resource_names.OFFER_RECOMMENDATION.format(suggestion.recommendation_id),
        customer=resource_names.CUSTOMER.format(suggestion.customer_id),
        product=resource_names.PRODUCT.format(suggestion.product_id), indicator_values=dict(suggestion.values),
        status=_STATUS_TO_PROTO[suggestion.status], decided_by=suggestion.decided_by,
        decide_time=timestamp_to_proto(suggestion.decided_at), rejection_reason=suggestion.rejection_reason,
        banner=BANNER.format(suggestion.customer_id, suggestion.banner_id) if suggestion.banner_id else "",
        create_time=timestamp_to_proto(suggestion.created_at))


def _runs_to_proto(counts: list[RunCount]) -> pb.RunOfferRecommendationsResponse:
    return pb.RunOfferRecommendationsResponse(
        recommendations_run=len(counts), suggestions_created=sum(c.suggested for c in counts),
        runs=[pb.OfferRecommendationRun(
            offer_recommendation=resource_names.OFFER_RECOMMENDATION.format(c.recommendation_id),
            suggestions_created=c.suggested) for c in counts])


class OffersServicer(offers_service_pb2_grpc.OffersServiceServicer):
    def __init__(self, offers: OffersService) -> None:
        self.offers = offers

    async def CreateOfferRecommendation(self, request: pb.CreateOfferRecommendationRequest, context: Context
                                        ) -> pb.OfferRecommendation:
        body = request.offer_recommendation
        product_id = resource_names.PRODUCT.id(body.product, "offer_recommendation.product")
        banner = OfferBanner(body.banner.title, body.banner.body, body.banner.call_to_action_label,
                             body.banner.call_to_action_url, _lifetime(body.banner))
        return recommendation_to_proto(await self.offers.create(
            current_caller(), request.offer_recommendation_id, body.display_name, product_id, body.criteria,
            _target(body.audience), banner))

    async def GetOfferRecommendation(self, request: pb.GetOfferRecommendationRequest, context: Context
                                     ) -> pb.OfferRecommendation:
        recommendation_id = resource_names.OFFER_RECOMMENDATION.id(request.name, "name")
        return recommendation_to_proto(await self.offers.get(current_caller(), recommendation_id))

    async def ListOfferRecommendations(self, request: pb.ListOfferRecommendationsRequest, context: Context
                                       ) -> pb.ListOfferRecommendationsResponse:
        page = await self.offers.list_recommendations(
            current_caller(), page_request(request.page_size, request.page_token, RECOMMENDATIONS_LIST))
        return pb.ListOfferRecommendationsResponse(
            offer_recommendations=[recommendation_to_proto(r) for r in page.items],
            next_page_token=page.next_page_token)

    async def DeleteOfferRecommendation(self, request: pb.DeleteOfferRecommendationRequest, context: Context
                                        ) -> empty_pb2.Empty:
        recommendation_id = resource_names.OFFER_RECOMMENDATION.id(request.name, "name")
        await self.offers.delete(current_caller(), recommendation_id)
        return empty_pb2.Empty()

    async def RunOfferRecommendations(self, request: pb.RunOfferRecommendationsRequest, context: Context
                                      ) -> pb.RunOfferRecommendationsResponse:
        recommendation_id = None
        if request.offer_recommendation:
            recommendation_id = resource_names.OFFER_RECOMMENDATION.id(request.offer_recommendation,
                                                                       "offer_recommendation")
        return _runs_to_proto(await self.offers.run(current_caller(), recommendation_id))

    async def ListSuggestedOffers(self, request: pb.ListSuggestedOffersRequest, context: Context
                                  ) -> pb.ListSuggestedOffersResponse:
        recommendation_id = None
        if request.offer_recommendation:
            recommendation_id = resource_names.OFFER_RECOMMENDATION.id(request.offer_recommendation,
                                                                       "offer_recommendation")
        status = None
        if request.status != pb.SUGGESTED_OFFER_STATUS_UNSPECIFIED:
            status = _STATUS_FROM_PROTO.get(request.status)
            if status is None:
                raise InvalidArgument(Reason.OFFER_RECOMMENDATION_INVALID, f"status {request.status} is unknown",
                                      violations=[FieldViolation("status", "PENDING, APPROVED or REJECTED")])
        page = await self.offers.list_suggestions(
            current_caller(), recommendation_id, status,
            page_request(request.page_size, request.page_token, SUGGESTIONS_LIST))
        return pb.ListSuggestedOffersResponse(suggested_offers=[suggestion_to_proto(s) for s in page.items],
                                              next_page_token=page.next_page_token)

    async def ApproveSuggestedOffer(self, request: pb.ApproveSuggestedOfferRequest, context: Context
                                    ) -> pb.SuggestedOffer:
        suggestion_id = resource_names.SUGGESTED_OFFER.id(request.name, "name")
        return suggestion_to_proto(await self.offers.approve(current_caller(), suggestion_id))

    async def RejectSuggestedOffer(self, request: pb.RejectSuggestedOfferRequest, context: Context
                                   ) -> pb.SuggestedOffer:
        suggestion_id = resource_names.SUGGESTED_OFFER.id(request.name, "name")
        return suggestion_to_proto(await self.offers.reject(current_caller(), suggestion_id, request.reason))
