"""engagectl journeys as an operator runs it against the real server: a journey saved from a JSON file,
one refused for a loop, a customer taken through it with typed answers, its state and its routes."""

import json

from google.protobuf import json_format

from engage.journeys.v1 import journeys_service_pb2 as pb
from server.domain.auth import Role
from tests.e2e.test_journeys import _set_up, loan_origination, to_step


async def test_create_start_submit_state_and_routes(engagectl, server, tenant, service_stubs, tmp_path):
    await _set_up(server, tenant, service_stubs)
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    definition = tmp_path / "loans.json"
    definition.write_text(json_format.MessageToJson(loan_origination()))

    created = await engagectl("--json", "journeys", "create", "loans", "--file", str(definition), token=admin)
    assert created.exit_code == 0, created.stderr
    assert (json.loads(created.stdout)["name"], json.loads(created.stdout)["version"]) == ("journeys/loans", 1)
    looping = tmp_path / "loops.json"
    looping.write_text(json_format.MessageToJson(pb.Journey(display_name="Loops", steps=[
        pb.Step(id="ask", default_route=to_step("again")), pb.Step(id="again", default_route=to_step("ask"))])))
    refused = await engagectl("journeys", "create", "loops", "--file", str(looping), token=admin)
    assert refused.exit_code != 0 and "JOURNEY_INVALID" in refused.stderr and "ask, again" in refused.stderr

    listed = await engagectl("journeys", "list", token=admin)
    assert listed.exit_code == 0 and "loans" in listed.stdout and "refinance" in listed.stdout
    shown = await engagectl("--json", "journeys", "show", "loans", token=admin)
    assert json.loads(shown.stdout)["steps"][0]["rules"][1]["expression"] == "IsGlobetrotter = true"

    started = await engagectl("--json", "journeys", "start", "loans", "c1", token=admin)
    assert started.exit_code == 0, started.stderr
    instance = json.loads(started.stdout)
    assert (instance["current_step"], instance["asks"]) == ("applicant", "IsGlobetrotter")
    answered = await engagectl("--json", "journeys", "submit", instance["name"], "--step", "applicant",
                               "--value", "IsGlobetrotter=true", token=admin)
    assert answered.exit_code == 0, answered.stderr
    assert json.loads(answered.stdout)["current_step"] == "loan_details"
    wrong = await engagectl("journeys", "submit", instance["name"], "--step", "loan_details",
                            "--value", "loan_amount=lots", token=admin)
    assert wrong.exit_code != 0 and "loan_amount" in wrong.stderr
    done = await engagectl("--json", "journeys", "submit", instance["name"], "--step", "loan_details",
                           "--value", "loan_amount=12000", token=admin)
    assert done.exit_code == 0, done.stderr

    state = json.loads((await engagectl("--json", "journeys", "state", instance["name"], token=admin)).stdout)
    assert (state["state"], state["current_step"]) == ("COMPLETED", "offer_premium")
    assert state["captured"] == "IsGlobetrotter=true, loan_amount=12000"
    routes = await engagectl("journeys", "routes", instance["name"], token=admin)
    assert routes.exit_code == 0, routes.stderr
    assert "IsGlobetrotter = true" in routes.stdout and "step offer_premium" in routes.stdout
