"""Nothing a live definition names is deleted from under it, through gRPC on both databases: a persona
named by an audience, a journey's rule, a template's and an event's variants, an open campaign, a trigger
rule, an offer recommendation and a product version; an audience named by another audience, a campaign,
a trigger rule and an offer recommendation; an attribute named by a persona, a journey, a trigger rule's
condition, an offer's criteria and a product version. Each refusal names its users kind by kind; once
they are gone (archived, cancelled, edited, deleted) the delete goes through."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from engage.engagement.v1 import engagement_service_pb2 as epb
from engage.journeys.v1 import journeys_service_pb2 as jpb
from engage.personas.v1 import personas_service_pb2 as pb
from engage.products.v1 import products_service_pb2 as ppb
from engage.triggers.v1 import offers_service_pb2 as opb
from engage.triggers.v1 import trigger_rules_service_pb2 as tpb
from server.domain.auth import Role
from server.domain.products.codec import terms_to_json
from server.domain.products.conditions import Condition, InPersona, Rule, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.terms import ProductTerms
from tests.e2e.test_personas_audiences import audience, set_up_personas
from tests.support.builders import error_details
from tests.support.offers import add_product, create_recommendation
from tests.support.triggers import low_balance_rule
from tests.support.yes_bank import published_app


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def refusal(call: Any) -> tuple[str, dict[str, str]]:
    """(reason, metadata) of a call refused with FAILED_PRECONDITION."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION, caught.value.details()
    info = error_details(caught.value)["ErrorInfo"]
    return info.reason, dict(info.metadata)


def email(subject: str, text: str) -> epb.MessageContent:
    return epb.MessageContent(email=epb.EmailContent(subject=subject, text=text))


def journey(expression: str | None) -> jpb.Journey:
    """One question, routed by `expression` when given, then the end."""
    rules = [] if expression is None else [jpb.FlowRule(expression=expression, route=jpb.Route(step="done"))]
    return jpb.Journey(display_name="Savers", steps=[
        jpb.Step(id="ask", rules=rules, default_route=jpb.Route(step="done")), jpb.Step(id="done", end=True)])


def terms(*conditions: Condition) -> str:
    return json.dumps(terms_to_json(ProductTerms(
        "EUR", Interval(Decimal(1000), Decimal(20000)), Interval(Decimal(6), Decimal(60)),
        availability=(Rule("savers", conditions),) if conditions else ())))


def rule_for(target: tpb.TriggerAudience, condition: str = "balance < 50") -> tpb.TriggerRule:
    rule = low_balance_rule(condition)
    rule.audience.CopyFrom(target)
    return rule


async def test_a_persona_is_kept_while_anything_names_it(server, tenant, service_stubs):
    await set_up_personas(server, tenant, service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        delete = pb.DeletePersonaRequest(name="personas/saver")
        await admin.personas.CreateAudience(audience("savers", ["personas/saver"], pb.AUDIENCE_MODE_ANY))
        await admin.journeys.CreateJourney(jpb.CreateJourneyRequest(journey_id="savers",
                                                                    journey=journey("persona_saver")))
        variant = [epb.ContentVariant(persona="personas/saver", content=email("Savers", "Save more"))]
        template = await admin.engagement.CreateTemplate(epb.CreateTemplateRequest(template=epb.Template(
            display_name="Offer", channel=epb.CHANNEL_EMAIL, content=email("Hi", "Hello"), variants=variant)))
        app, kind = await published_app(admin.engagement, "Bank", [epb.PLATFORM_WEB], "Offers")
        event = await admin.engagement.CreateEvent(epb.CreateEventRequest(event=epb.Event(
            display_name="Offer", description="an offer", event_type=kind.name, app=app.name,
            messages=[epb.EventMessage(channel=epb.CHANNEL_EMAIL, content=email("Hi", "Hello"), variants=variant)])))
        campaign = await admin.engagement.CreateCampaign(epb.CreateCampaignRequest(campaign=epb.Campaign(
            display_name="Savers", event=event.name, audience=epb.Audience(persona="personas/saver"))))
        rule = await admin.trigger_rules.CreateTriggerRule(tpb.CreateTriggerRuleRequest(
            trigger_rule_id="savers", trigger_rule=rule_for(tpb.TriggerAudience(persona="personas/saver"))))
        await add_product(admin)
        await create_recommendation(admin, "savers", audience="personas/saver")
        await admin.products.CreateProduct(ppb.CreateProductRequest(product_id="loan", product=ppb.Product(
            display_name="Loan")))
        version = await admin.products.CreateProductVersion(ppb.CreateProductVersionRequest(
            parent="products/loan", product_version=ppb.ProductVersion(terms_json=terms(InPersona("saver")))))

        reason, metadata = await refusal(admin.personas.DeletePersona(delete))
        assert reason == "PERSONA_IN_USE"
        assert metadata == {"persona": "saver", "audiences": "savers", "journeys": "savers",
                            "templates": template.name.removeprefix("templates/"),
                            "events": event.name.removeprefix("events/"),
                            "campaigns": campaign.name.removeprefix("campaigns/"), "trigger_rules": "savers",
                            "offer_recommendations": "savers", "products": "loan/versions/1"}

        # Each user let go of it in turn: archived, cancelled, edited or deleted.
        await admin.personas.DeleteAudience(pb.DeleteAudienceRequest(name="audiences/savers"))
        await admin.journeys.UpdateJourney(jpb.UpdateJourneyRequest(
            journey=jpb.Journey(name="journeys/savers", steps=journey(None).steps), update_mask=mask("steps")))
        await admin.engagement.UpdateTemplate(epb.UpdateTemplateRequest(
            template=epb.Template(name=template.name), update_mask=mask("variants")))
        await admin.engagement.UpdateEvent(epb.UpdateEventRequest(event=epb.Event(name=event.name, messages=[
            epb.EventMessage(channel=epb.CHANNEL_EMAIL, content=email("Hi", "Hello"))]), update_mask=mask("messages")))
        await admin.engagement.CancelCampaign(epb.CancelCampaignRequest(name=campaign.name))
        await admin.offers.DeleteOfferRecommendation(opb.DeleteOfferRecommendationRequest(
            name="offerRecommendations/savers"))
        await admin.products.UpdateProductVersion(ppb.UpdateProductVersionRequest(
            product_version=ppb.ProductVersion(name=version.name, terms_json=terms()), update_mask=mask("terms_json")))
        assert await refusal(admin.personas.DeletePersona(delete)) == \
            ("PERSONA_IN_USE", {"persona": "saver", "trigger_rules": "savers"})
        await admin.trigger_rules.ArchiveTriggerRule(tpb.ArchiveTriggerRuleRequest(name=rule.name))
        await admin.personas.DeletePersona(delete)
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await admin.personas.GetPersona(pb.GetPersonaRequest(name="personas/saver"))
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_audience_is_kept_while_anything_names_it(server, tenant, service_stubs):
    await set_up_personas(server, tenant, service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        delete = pb.DeleteAudienceRequest(name="audiences/savers")
        await admin.personas.CreateAudience(audience("savers", ["personas/saver"], pb.AUDIENCE_MODE_ANY))
        await admin.personas.CreateAudience(audience("outer", ["audiences/savers"], pb.AUDIENCE_MODE_ANY))
        app, kind = await published_app(admin.engagement, "Bank", [epb.PLATFORM_WEB], "Offers")
        event = await admin.engagement.CreateEvent(epb.CreateEventRequest(event=epb.Event(
            display_name="Offer", description="an offer", event_type=kind.name, app=app.name,
            messages=[epb.EventMessage(channel=epb.CHANNEL_EMAIL, content=email("Hi", "Hello"))])))
        campaign = await admin.engagement.CreateCampaign(epb.CreateCampaignRequest(campaign=epb.Campaign(
            display_name="Savers", event=event.name, audience=epb.Audience(named_audience="audiences/savers"))))
        rule = await admin.trigger_rules.CreateTriggerRule(tpb.CreateTriggerRuleRequest(
            trigger_rule_id="savers", trigger_rule=rule_for(tpb.TriggerAudience(audience="audiences/savers"))))
        await add_product(admin)
        await create_recommendation(admin, "savers", audience="audiences/savers")

        assert await refusal(admin.personas.DeleteAudience(delete)) == ("AUDIENCE_IN_USE", {
            "audience": "savers", "audiences": "outer", "campaigns": campaign.name.removeprefix("campaigns/"),
            "trigger_rules": "savers", "offer_recommendations": "savers"})

        await admin.personas.DeleteAudience(pb.DeleteAudienceRequest(name="audiences/outer"))
        await admin.engagement.CancelCampaign(epb.CancelCampaignRequest(name=campaign.name))
        await admin.trigger_rules.ArchiveTriggerRule(tpb.ArchiveTriggerRuleRequest(name=rule.name))
        assert await refusal(admin.personas.DeleteAudience(delete)) == \
            ("AUDIENCE_IN_USE", {"audience": "savers", "offer_recommendations": "savers"})
        await admin.offers.DeleteOfferRecommendation(opb.DeleteOfferRecommendationRequest(
            name="offerRecommendations/savers"))
        await admin.personas.DeleteAudience(delete)


async def test_an_attribute_is_kept_while_anything_names_it(server, tenant, service_stubs):
    await set_up_personas(server, tenant, service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        delete = pb.DeleteAttributeDefinitionRequest(name="attributeDefinitions/IsSaver")
        await admin.journeys.CreateJourney(jpb.CreateJourneyRequest(journey_id="savers", journey=journey("IsSaver")))
        rule = await admin.trigger_rules.CreateTriggerRule(tpb.CreateTriggerRuleRequest(
            trigger_rule_id="savers", trigger_rule=rule_for(tpb.TriggerAudience(all_customers=True),
                                                            "balance < 50 AND IsSaver")))
        await add_product(admin)
        await create_recommendation(admin, "savers", criteria="IsSaver AND NOT holds('LOAN')")
        await admin.products.CreateProduct(ppb.CreateProductRequest(product_id="loan", product=ppb.Product(
            display_name="Loan")))
        version = await admin.products.CreateProductVersion(ppb.CreateProductVersionRequest(
            parent="products/loan", product_version=ppb.ProductVersion(
                terms_json=terms(ValueIn("IsSaver", frozenset({True}))))))

        assert await refusal(admin.personas.DeleteAttributeDefinition(delete)) == ("ATTRIBUTE_IN_USE", {
            "attribute": "IsSaver", "personas": "saver", "journeys": "savers", "trigger_rules": "savers",
            "offer_recommendations": "savers", "products": "loan/versions/1"})

        await admin.personas.UpdatePersona(pb.UpdatePersonaRequest(
            persona=pb.Persona(name="personas/saver", expression="IsGlobetrotter"), update_mask=mask("expression")))
        await admin.journeys.UpdateJourney(jpb.UpdateJourneyRequest(
            journey=jpb.Journey(name="journeys/savers", steps=journey("IsStudent").steps), update_mask=mask("steps")))
        await admin.offers.DeleteOfferRecommendation(opb.DeleteOfferRecommendationRequest(
            name="offerRecommendations/savers"))
        await admin.products.UpdateProductVersion(ppb.UpdateProductVersionRequest(
            product_version=ppb.ProductVersion(name=version.name, terms_json=terms()), update_mask=mask("terms_json")))
        assert await refusal(admin.personas.DeleteAttributeDefinition(delete)) == \
            ("ATTRIBUTE_IN_USE", {"attribute": "IsSaver", "trigger_rules": "savers"})
        await admin.trigger_rules.ArchiveTriggerRule(tpb.ArchiveTriggerRuleRequest(name=rule.name))
        await admin.personas.DeleteAttributeDefinition(delete)


async def test_a_journey_version_an_instance_is_on_keeps_what_it_names(server, tenant, service_stubs):
    await set_up_personas(server, tenant, service_stubs)
    delete = pb.DeletePersonaRequest(name="personas/saver")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.journeys.CreateJourney(jpb.CreateJourneyRequest(journey_id="savers",
                                                                    journey=journey("persona_saver")))
        started = await service_stubs.journeys.StartJourney(jpb.StartJourneyRequest(
            parent="customers/c1", journey="journeys/savers"))
        await admin.journeys.UpdateJourney(jpb.UpdateJourneyRequest(
            journey=jpb.Journey(name="journeys/savers", steps=journey(None).steps), update_mask=mask("steps")))
        # The latest version no longer names it; the instance's version 1 still does.
        assert await refusal(admin.personas.DeletePersona(delete)) == \
            ("PERSONA_IN_USE", {"persona": "saver", "journeys": "savers"})
        ended = await service_stubs.journeys.SubmitStep(jpb.SubmitStepRequest(name=started.name, step="ask"))
        assert ended.state == jpb.JOURNEY_STATE_COMPLETED
        await admin.personas.DeletePersona(delete)
