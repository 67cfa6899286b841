"""The reference's walk-through (seeds 001, "Personalize Journeys") in one piece, through the gRPC
stubs and through engagectl, on both databases: the bank extends its data with IsGlobetrotter, defines
the Globetrotter persona (with a token for its content), approves the personal loan priced for the
persona (the approver sees the grid's gaps), and a customer who answers "yes" in the loan origination
journey skips the employment step, becomes a Globetrotter, is routed to the premium offer and is
quoted its figures."""

from __future__ import annotations

import json
from decimal import Decimal

from google.protobuf import field_mask_pb2, json_format

from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.journeys.v1 import journeys_service_pb2 as jpb
from engage.personas.v1 import personas_service_pb2 as ppb
from server.domain.auth import Role
from server.rpc.convert import money_from_proto
from tests.support.builders import customer
from tests.support.products import (
    AGE,
    add_customer,
    approved_reference_loan,
    define_reference_facts,
    quote_request,
    terms_json,
)

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


async def test_the_globetrotter_walkthrough_through_engagectl(engagectl, server, tenant, service_stubs, tmp_path):
    """The same walk-through as bank admins run it from the command line; only the customer record comes
    from the bank's core (ingestion)."""
    ana, ben = server.token(tenant, Role.BANK_ADMIN, "ana"), server.token(tenant, Role.BANK_ADMIN, "ben")

    async def run(*args: str, token: str = ana) -> str:
        result = await engagectl("--json", *args, token=token)
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout

    await run("attributes", "create", "IsGlobetrotter", "--type", "BOOL", "--description", "likes to travel")
    await run("attributes", "create", "monthly_income", "--type", "DECIMAL")
    await run("attributes", "create", "risk_profile", "--type", "ENUM", "--value", "LOW", "--value", "MEDIUM",
              "--value", "HIGH")
    await run("attributes", "create", AGE, "--type", "INT")
    await run("personas", "create", "globetrotter", "--name", "Globetrotter",
              "--description", "customer looking to travel", "--expression", "IsGlobetrotter")
    terms = tmp_path / "loan.json"
    terms.write_text(terms_json())
    await run("products", "create", "personal-loan", "--name", "Personal loan")
    await run("products", "versions", "create", "personal-loan", "--terms", str(terms))
    approved = json.loads(await run("products", "approve", "personal-loan", "1", "--yes", token=ben))
    assert len(approved["coverage"]["gaps"]) == 3
    journey = tmp_path / "journey.json"
    journey.write_text(json_format.MessageToJson(LOAN_ORIGINATION))
    await run("journeys", "create", "loan_origination", "--file", str(journey))

    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("lisa")))
    await run("attributes", "set", "lisa", "monthly_income=6000", "risk_profile=LOW", f"{AGE}=35",
              "IsGlobetrotter=false")
    assert json.loads(await run("personas", "is-member", "globetrotter", "lisa"))["member"] is False

    instance = json.loads(await run("journeys", "start", "loan_origination", "lisa"))
    step = json.loads(await run("journeys", "submit", instance["name"], "--step", "applicant",
                                "--value", "IsGlobetrotter=true"))
    assert step["current_step"] == "loan_details"
    step = json.loads(await run("journeys", "submit", instance["name"], "--step", "loan_details",
                                "--value", "loan_amount=15000"))
    assert step["current_step"] == "offer_premium"

    assert json.loads(await run("personas", "is-member", "globetrotter", "lisa"))["member"] is True
    quote = json.loads(await run("products", "quote", "personal-loan", "lisa", "--amount", "15000", "--term", "36"))
    assert quote["pricing"]["annual_rate"] == "5.3" and quote["pricing"]["monthly_instalment"]["amount"] == "451.59"
