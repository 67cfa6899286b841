"""Journeys through gRPC on both databases: the reference's loan origination journey, whose flow control
asks IsGlobetrotter (written to the customer), shortens the globetrotters' path, and routes by persona,
income and amount to the loan offer; a journey that cannot end refused when saved; answers of the wrong
type refused naming the field; versions; every route recorded with the rule that chose it."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.journeys.v1 import journeys_service_pb2 as pb
from engage.personas.v1 import personas_service_pb2 as ppb
from server.domain.auth import Role
from tests.e2e.test_personas_attributes import attribute_events, definition
from tests.support.builders import account, customer, error_details, failure

PREMIUM = "persona_globetrotter AND income > 5000 AND loan_amount > 10000"
GLOBETROTTER_PRICE = "persona_globetrotter AND income < 5000 AND loan_amount BETWEEN 5000 AND 10000"


def to_step(step_id: str) -> pb.Route:
    return pb.Route(step=step_id)


def loan_origination() -> pb.Journey:
    """The reference's journey: globetrotters skip the employment step; the offer follows their
    persona, income and the amount asked; a customer with a loan is sent to the refinancing journey."""
    return pb.Journey(
        display_name="Loan origination",
        fields=[pb.JourneyField(name="loan_amount", type=ppb.ATTRIBUTE_TYPE_DECIMAL),
                pb.JourneyField(name="employer", type=ppb.ATTRIBUTE_TYPE_STRING)],
        steps=[
            pb.Step(id="applicant", title="Retail applicant data", captures=["IsGlobetrotter"], rules=[
                pb.FlowRule(expression="holds('LOAN')", route=pb.Route(journey="journeys/refinance")),
                pb.FlowRule(expression="IsGlobetrotter", route=to_step("loan_details")),
            ], default_route=to_step("employment")),
            pb.Step(id="employment", captures=["employer"], default_route=to_step("loan_details")),
            pb.Step(id="loan_details", captures=["loan_amount"], rules=[
                pb.FlowRule(expression=PREMIUM, route=to_step("offer_premium")),
                pb.FlowRule(expression=GLOBETROTTER_PRICE, route=to_step("offer_globetrotter")),
            ], default_route=to_step("offer_standard")),
            pb.Step(id="offer_premium", title="5.3%, zero commissions", end=True),
            pb.Step(id="offer_globetrotter", title="4.5%", end=True),
            pb.Step(id="offer_standard", end=True),
        ])


async def _set_up(server, tenant, service_stubs):  # type: ignore[no-untyped-def]
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(definition(
            "IsGlobetrotter", ppb.ATTRIBUTE_TYPE_BOOL, default=ppb.AttributeValue(bool_value=False)))
        await admin.personas.CreateAttributeDefinition(definition("income", ppb.ATTRIBUTE_TYPE_DECIMAL))
        await admin.personas.CreatePersona(ppb.CreatePersonaRequest(persona_id="globetrotter", persona=ppb.Persona(
            display_name="Globetrotter - customer looking to travel", expression="IsGlobetrotter = true")))
        await admin.journeys.CreateJourney(pb.CreateJourneyRequest(journey_id="refinance", journey=pb.Journey(
            display_name="Refinance", steps=[pb.Step(id="current_loan", default_route=to_step("done")),
                                             pb.Step(id="done", end=True)])))
        created = await admin.journeys.CreateJourney(pb.CreateJourneyRequest(
            journey_id="loan_origination", journey=loan_origination()))
    for customer_id, income in {"c1": "6000", "c2": "4000", "c3": "4000", "c4": "9000"}.items():
        await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(customer_id)))
        await service_stubs.personas.UpdateCustomerAttributes(ppb.UpdateCustomerAttributesRequest(
            name=f"customers/{customer_id}/attributes", values={"income": ppb.AttributeValue(decimal_value=income)}))
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account("a4", "c4")))
    await service_stubs.ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[
        ipb.Holding(holding_id="h4", kind=ipb.HOLDING_KIND_LOAN, account_id="a4")]))
    return created


async def _run(stubs, customer_id: str, *answers: tuple[str, dict]) -> pb.JourneyInstance:  # type: ignore[no-untyped-def]
    instance = await stubs.journeys.StartJourney(pb.StartJourneyRequest(
        parent=f"customers/{customer_id}", journey="journeys/loan_origination"))
    for step, values in answers:
        assert instance.current_step == step
        instance = await stubs.journeys.SubmitStep(pb.SubmitStepRequest(name=instance.name, step=step, values=values))
    return instance


def yes(answer: bool) -> dict:  # type: ignore[type-arg]
    return {"IsGlobetrotter": ppb.AttributeValue(bool_value=answer)}


def amount(text: str) -> dict:  # type: ignore[type-arg]
    return {"loan_amount": ppb.AttributeValue(decimal_value=text)}


async def _routes(stubs, instance: str) -> list[tuple]:  # type: ignore[no-untyped-def, type-arg]
    found, token = [], ""
    while True:
        page = await stubs.journeys.ListJourneyRoutes(pb.ListJourneyRoutesRequest(
            parent=instance, page_size=1, page_token=token))
        found += [(r.sequence, r.from_step, r.rule_index if r.HasField("rule_index") else None, r.rule_expression,
                   r.route.step or r.route.journey) for r in page.routes]
        token = page.next_page_token
        if not token:
            return found


async def test_the_globetrotter_journey_routes_by_answer_persona_income_and_amount(
        server, tenant, service_stubs, services):  # type: ignore[no-untyped-def]
    created = await _set_up(server, tenant, service_stubs)
    assert (created.name, created.version) == ("journeys/loan_origination", 1)
    assert created.steps[0].rules[1].expression == "IsGlobetrotter = true"  # saved in canonical text

    # A globetrotter earning 6,000 asking 12,000: the short path and the premium offer.
    started = await service_stubs.journeys.StartJourney(pb.StartJourneyRequest(
        parent="customers/c1", journey="journeys/loan_origination"))
    assert (started.state, started.current_step, list(started.captures)) == (
        pb.JOURNEY_STATE_ACTIVE, "applicant", ["IsGlobetrotter"])
    answered = await service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=started.name, step="applicant", values=yes(True)))
    assert answered.current_step == "loan_details"  # the persona read the answer just given
    attributes = await service_stubs.personas.GetCustomerAttributes(ppb.GetCustomerAttributesRequest(
        name="customers/c1/attributes"))
    assert attributes.values["IsGlobetrotter"].bool_value is True
    changes = [c for e in await attribute_events(services, tenant) for c in e["changes"]
               if c["customer_id"] == "c1" and "IsGlobetrotter" in str(c)]
    assert changes, "the answer is written as UpdateCustomerAttributes writes it"
    done = await service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=started.name, step="loan_details", values=amount("12000")))
    assert (done.state, done.current_step, list(done.captures)) == (pb.JOURNEY_STATE_COMPLETED, "offer_premium", [])
    assert done.captured["loan_amount"].decimal_value == "12000"
    assert await _routes(service_stubs, started.name) == [
        (1, "applicant", 1, "IsGlobetrotter = true", "loan_details"),
        (2, "loan_details", 0, "persona_globetrotter = true AND income > 5000 AND loan_amount > 10000",
         "offer_premium")]
    state = await service_stubs.journeys.GetJourneyState(pb.GetJourneyStateRequest(name=started.name))
    assert (state.state, state.current_step, state.version) == (pb.JOURNEY_STATE_COMPLETED, "offer_premium", 1)

    # Not a globetrotter: the employment step, then the default offer.
    other = await _run(service_stubs, "c2", ("applicant", yes(False)),
                       ("employment", {"employer": ppb.AttributeValue(string_value="ACME")}),
                       ("loan_details", amount("8000")))
    assert other.current_step == "offer_standard"
    assert await _routes(service_stubs, other.name) == [
        (1, "applicant", None, "", "employment"), (2, "employment", None, "", "loan_details"),
        (3, "loan_details", None, "", "offer_standard")]

    # A globetrotter earning under 5,000 asking 8,000: the second rule's price.
    third = await _run(service_stubs, "c3", ("applicant", yes(True)), ("loan_details", amount("8000")))
    assert third.current_step == "offer_globetrotter"

    # A customer with a loan is handed to the refinancing journey, which starts at its first step.
    handed = await _run(service_stubs, "c4", ("applicant", yes(True)))
    assert (handed.state, handed.current_step) == (pb.JOURNEY_STATE_HANDED_OFF, "applicant")
    refinance = await service_stubs.journeys.GetJourneyState(pb.GetJourneyStateRequest(name=handed.handed_to))
    assert (refinance.journey, refinance.current_step, refinance.state) == (
        "journeys/refinance", "current_loan", pb.JOURNEY_STATE_ACTIVE)
    routes = (await service_stubs.journeys.ListJourneyRoutes(pb.ListJourneyRoutesRequest(parent=handed.name))).routes
    assert (routes[0].route.journey, routes[0].handed_to, routes[0].rule_index) == (
        "journeys/refinance", handed.handed_to, 0)
    # An ended instance takes no more answers.
    assert (await failure(service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=handed.name, step="applicant", values=yes(True)))))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION, "JOURNEY_STEP_MISMATCH")


async def test_a_journey_that_cannot_end_is_refused_naming_its_steps(server, tenant, service_stubs):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(definition("income", ppb.ATTRIBUTE_TYPE_DECIMAL))
        looping = pb.Journey(display_name="Loops", steps=[
            pb.Step(id="ask", default_route=to_step("check")),
            pb.Step(id="check", rules=[pb.FlowRule(expression="income > 100", route=to_step("start_over"))],
                    default_route=to_step("ask")),
            pb.Step(id="start_over", default_route=to_step("ask")),
            pb.Step(id="done", end=True)])
        try:
            await admin.journeys.CreateJourney(pb.CreateJourneyRequest(journey_id="loops", journey=looping))
            raise AssertionError("a journey no end is reachable in was saved")
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            info = error_details(error)["ErrorInfo"]
            assert info.reason == "JOURNEY_INVALID"
            assert (info.metadata["problem"], info.metadata["steps"]) == ("NO_END", "ask,check,start_over")
            assert "ask, check, start_over" in error.details()

        # A rule leaving the loop makes it acceptable.
        looping.steps[1].rules.append(pb.FlowRule(expression="income > 9000", route=to_step("done")))
        saved = await admin.journeys.CreateJourney(pb.CreateJourneyRequest(journey_id="loops", journey=looping))
        assert saved.version == 1

        # Other refusals name the field at fault.
        unknown_step = pb.Journey(display_name="x", steps=[pb.Step(id="a", default_route=to_step("nowhere"))])
        assert await failure(admin.journeys.CreateJourney(pb.CreateJourneyRequest(
            journey_id="x1", journey=unknown_step))) == (
            grpc.StatusCode.INVALID_ARGUMENT, "JOURNEY_INVALID", ["journey.steps[0].default_route"])
        bad_rule = pb.Journey(display_name="x", steps=[
            pb.Step(id="a", captures=["loan_amount"], default_route=to_step("b"),
                    rules=[pb.FlowRule(expression="loan_amount > 'much'", route=to_step("b"))]),
            pb.Step(id="b", end=True)], fields=[pb.JourneyField(name="loan_amount", type=ppb.ATTRIBUTE_TYPE_DECIMAL)])
        assert await failure(admin.journeys.CreateJourney(pb.CreateJourneyRequest(
            journey_id="x2", journey=bad_rule))) == (
            grpc.StatusCode.INVALID_ARGUMENT, "SEGMENT_EXPRESSION_INVALID", ["journey.steps[0].rules[0].expression"])
        # Data not captured on the way to a step is not in its rules' reach.
        not_yet = pb.Journey(display_name="x", steps=[
            pb.Step(id="a", default_route=to_step("b"),
                    rules=[pb.FlowRule(expression="loan_amount > 10", route=to_step("b"))]),
            pb.Step(id="b", captures=["loan_amount"], default_route=to_step("c")), pb.Step(id="c", end=True)],
            fields=[pb.JourneyField(name="loan_amount", type=ppb.ATTRIBUTE_TYPE_DECIMAL)])
        assert (await failure(admin.journeys.CreateJourney(pb.CreateJourneyRequest(
            journey_id="x3", journey=not_yet))))[1] == "SEGMENT_EXPRESSION_INVALID"
        assert (await failure(admin.journeys.CreateJourney(pb.CreateJourneyRequest(
            journey_id="x4", journey=pb.Journey(display_name="x", steps=[
                pb.Step(id="a", default_route=pb.Route(journey="journeys/missing"))])))))[1:] == (
            "JOURNEY_INVALID", ["journey.steps[0].default_route"])


async def test_an_answer_of_the_wrong_type_is_refused_naming_the_field(server, tenant, service_stubs):
    await _set_up(server, tenant, service_stubs)
    started = await service_stubs.journeys.StartJourney(pb.StartJourneyRequest(
        parent="customers/c1", journey="journeys/loan_origination"))
    refused = await failure(service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=started.name, step="applicant", values={"IsGlobetrotter": ppb.AttributeValue(string_value="Yes")})))
    assert refused == (grpc.StatusCode.INVALID_ARGUMENT, "JOURNEY_ANSWER_INVALID", ["values[IsGlobetrotter]"])
    assert (await failure(service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=started.name, step="applicant", values={})))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "JOURNEY_ANSWER_INVALID", ["values[IsGlobetrotter]"])
    assert (await failure(service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=started.name, step="loan_details", values=amount("10")))))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION, "JOURNEY_STEP_MISMATCH")
    at_amount = await service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=started.name, step="applicant", values=yes(True)))
    assert (await failure(service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=at_amount.name, step="loan_details",
        values={"loan_amount": ppb.AttributeValue(decimal_value="12000.12345")})))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "JOURNEY_ANSWER_INVALID", ["values[loan_amount]"])
    # Nothing was routed by the refused answers.
    assert len(await _routes(service_stubs, started.name)) == 1
    # An attribute the version's rules read is kept while the journey names it.
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        assert (await failure(admin.personas.DeleteAttributeDefinition(ppb.DeleteAttributeDefinitionRequest(
            name="attributeDefinitions/income"))))[:2] == (grpc.StatusCode.FAILED_PRECONDITION, "ATTRIBUTE_IN_USE")


async def test_running_instances_stay_on_their_version(server, tenant, service_stubs):
    await _set_up(server, tenant, service_stubs)
    on_one = await service_stubs.journeys.StartJourney(pb.StartJourneyRequest(
        parent="customers/c2", journey="journeys/loan_origination"))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        shorter = loan_origination()
        shorter.steps[0].default_route.CopyFrom(to_step("loan_details"))  # no employment step for anyone
        del shorter.steps[1]
        updated = await admin.journeys.UpdateJourney(pb.UpdateJourneyRequest(
            journey=pb.Journey(name="journeys/loan_origination", steps=shorter.steps),
            update_mask=field_mask_pb2.FieldMask(paths=["steps"])))
        assert (updated.version, updated.display_name, len(updated.fields)) == (2, "Loan origination", 2)
        first = await admin.journeys.GetJourney(pb.GetJourneyRequest(name="journeys/loan_origination", version=1))
        assert [s.id for s in first.steps][:2] == ["applicant", "employment"]
        listed = await admin.journeys.ListJourneys(pb.ListJourneysRequest())
        assert [(j.name, j.version) for j in listed.journeys] == [
            ("journeys/loan_origination", 2), ("journeys/refinance", 1)]
    still_one = await service_stubs.journeys.SubmitStep(pb.SubmitStepRequest(
        name=on_one.name, step="applicant", values=yes(False)))
    assert (still_one.version, still_one.current_step) == (1, "employment")
    on_two = await _run(service_stubs, "c3", ("applicant", yes(False)))
    assert (on_two.version, on_two.current_step) == (2, "loan_details")
