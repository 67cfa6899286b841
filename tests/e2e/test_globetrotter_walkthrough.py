"""The reference's walk-through (seeds 001, "Personalize Journeys") in one piece through the gRPC stubs,
on both databases: the bank extends its data with IsGlobetrotter, defines the Globetrotter persona with
a token for its content, approves the personal loan priced for the persona (the approver sees the
grid's gaps), and a customer who answers "yes" in the loan origination journey skips the employment
step, becomes a Globetrotter, is routed to the premium offer and is quoted its figures."""

from __future__ import annotations

from decimal import Decimal

from google.protobuf import field_mask_pb2

from engage.journeys.v1 import journeys_service_pb2 as jpb
from engage.personas.v1 import personas_service_pb2 as ppb
from server.domain.auth import Role
from server.rpc.convert import money_from_proto
from tests.support.products import add_customer, approved_reference_loan, define_reference_facts, quote_request

PREMIUM = "persona_globetrotter AND monthly_income > 5000 AND loan_amount > 10000"
GLOBETROTTER_PRICE = "persona_globetrotter AND monthly_income < 5000 AND loan_amount BETWEEN 5000 AND 10000"


def _to(step: str) -> jpb.Route:
    return jpb.Route(step=step)


LOAN_ORIGINATION = jpb.Journey(
    display_name="Loan origination",
    fields=[jpb.JourneyField(name="loan_amount", type=ppb.ATTRIBUTE_TYPE_DECIMAL),
            jpb.JourneyField(name="employer", type=ppb.ATTRIBUTE_TYPE_STRING)],
    steps=[
        jpb.Step(id="applicant", title="Retail applicant data", captures=["IsGlobetrotter"],
                 rules=[jpb.FlowRule(expression="IsGlobetrotter", route=_to("loan_details"))],
                 default_route=_to("employment")),
        jpb.Step(id="employment", captures=["employer"], default_route=_to("loan_details")),
        jpb.Step(id="loan_details", captures=["loan_amount"], rules=[
            jpb.FlowRule(expression=PREMIUM, route=_to("offer_premium")),
            jpb.FlowRule(expression=GLOBETROTTER_PRICE, route=_to("offer_globetrotter")),
        ], default_route=_to("offer_standard")),
        jpb.Step(id="offer_premium", title="5.3%, zero commissions", end=True),
        jpb.Step(id="offer_globetrotter", title="4.5%", end=True),
        jpb.Step(id="offer_standard", end=True),
    ])


async def test_the_globetrotter_walkthrough(server, tenant, service_stubs):
    ana = server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana"))
    ben = server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben"))
    async with ana, ben:
        # Data model and persona: IsGlobetrotter, the Globetrotter persona, a token for campaigns' content.
        await define_reference_facts(ana)
        persona = await ana.personas.UpdatePersona(ppb.UpdatePersonaRequest(
            persona=ppb.Persona(name="personas/globetrotter", tokens={"offer_rate": "5.3%"}),
            update_mask=field_mask_pb2.FieldMask(paths=["tokens"])))
        assert dict(persona.tokens) == {"offer_rate": "5.3%"}
        # The product, written by one admin and approved by another, who is shown the grid's gaps.
        approval = await approved_reference_loan(ana, ben)
        assert len(approval.coverage.gaps) == 3
        # The journey with its flow-control rules.
        await ana.journeys.CreateJourney(jpb.CreateJourneyRequest(journey_id="loan_origination",
                                                                  journey=LOAN_ORIGINATION))

    lisa = await add_customer(service_stubs, "lisa", "6000", globetrotter=False)
    not_yet = await service_stubs.personas.IsMember(ppb.IsMemberRequest(persona="personas/globetrotter",
                                                                        customer=lisa))
    assert not not_yet.member
    before = await service_stubs.products.QuoteProduct(quote_request(lisa, "15000"))
    assert before.pricing.annual_rate != "5.3"  # the Globetrotter price is not hers yet

    instance = await service_stubs.journeys.StartJourney(jpb.StartJourneyRequest(
        parent=lisa, journey="journeys/loan_origination"))
    assert instance.current_step == "applicant"
    instance = await service_stubs.journeys.SubmitStep(jpb.SubmitStepRequest(
        name=instance.name, step="applicant", values={"IsGlobetrotter": ppb.AttributeValue(bool_value=True)}))
    assert instance.current_step == "loan_details"  # the employment step is skipped
    instance = await service_stubs.journeys.SubmitStep(jpb.SubmitStepRequest(
        name=instance.name, step="loan_details", values={"loan_amount": ppb.AttributeValue(decimal_value="15000")}))
    assert instance.current_step == "offer_premium"

    # The journey's answer is the customer's attribute now: she is a Globetrotter, quoted as one.
    values = await service_stubs.personas.GetCustomerAttributes(ppb.GetCustomerAttributesRequest(
        name="customers/lisa/attributes"))
    assert values.values["IsGlobetrotter"].bool_value is True
    member = await service_stubs.personas.IsMember(ppb.IsMemberRequest(persona="personas/globetrotter",
                                                                       customer=lisa))
    assert member.member
    quote = await service_stubs.products.QuoteProduct(quote_request(lisa, "15000"))
    assert quote.eligible and quote.pricing.annual_rate == "5.3" and not quote.pricing.commissions
    assert [i.name for i in quote.pricing.insurances] == ["life insurance"]
    assert money_from_proto(quote.pricing.monthly_instalment)[0] == Decimal("451.59")
