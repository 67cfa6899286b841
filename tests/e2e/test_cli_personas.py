"""engagectl attributes and personas as an operator runs them, against the real server: attributes
defined and set, a persona refused with the position of its fault, then saved, its members listed and
one membership explained."""

import json

from engage.ingest.v1 import ingest_service_pb2 as ipb
from server.domain.auth import Role
from tests.support.builders import customer


async def test_attributes_and_a_persona_from_the_command_line(engagectl, server, tenant, service_stubs):
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    for customer_id in ("ana", "ben", "eva"):
        await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(customer_id)))

    created = await engagectl("--json", "attributes", "create", "IsGlobetrotter", "--type", "bool",
                              "--default", "false", "--description", "Travels abroad", token=admin)
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["default_value"] == {"bool_value": False}
    assert (await engagectl("attributes", "create", "income", "--type", "DECIMAL", token=admin)).exit_code == 0
    assert (await engagectl("attributes", "create", "risk", "--type", "ENUM", "--value", "LOW", "--value", "HIGH",
                            token=admin)).exit_code == 0
    wrong_type = await engagectl("attributes", "create", "x", "--type", "FLOAT", token=admin)
    assert wrong_type.exit_code != 0 and "FLOAT" in wrong_type.stderr

    widened = await engagectl("--json", "attributes", "update", "risk", "--add-value", "MEDIUM", token=admin)
    assert widened.exit_code == 0, widened.stderr
    assert json.loads(widened.stdout)["enum_values"] == ["LOW", "HIGH", "MEDIUM"]
    listed = await engagectl("attributes", "list", "--all", token=admin)
    assert listed.exit_code == 0, listed.stderr
    assert "IsGlobetrotter" in listed.stdout and "risk" in listed.stdout
    built_in = await engagectl("--json", "attributes", "show", "age", token=admin)
    assert built_in.exit_code == 0 and json.loads(built_in.stdout)["built_in"] is True

    for customer_id, traveller, income in (("ana", "true", "5200"), ("ben", "true", "4000"), ("eva", "false", "9000")):
        set_ = await engagectl("attributes", "set", customer_id, f"IsGlobetrotter={traveller}", f"income={income}",
                               "risk=LOW", token=admin)
        assert set_.exit_code == 0, set_.stderr
    not_a_number = await engagectl("attributes", "set", "ana", "income=lots", token=admin)
    assert not_a_number.exit_code != 0 and "'lots' is not a DECIMAL value" in not_a_number.stderr
    cleared = await engagectl("--json", "attributes", "set", "ana", "--clear", "risk", token=admin)
    assert json.loads(cleared.stdout) == {"IsGlobetrotter": "true", "income": "5200"}
    shown = await engagectl("--json", "attributes", "get", "ben", token=admin)
    assert json.loads(shown.stdout) == {"IsGlobetrotter": "true", "income": "4000", "risk": "LOW"}

    faulty = await engagectl("personas", "create", "globetrotter", "--name", "Globetrotter",
                             "--expression", "IsGlobetrotter AND income >", token=admin)
    assert faulty.exit_code != 0 and "SEGMENT_EXPRESSION_INVALID" in faulty.stderr
    persona = await engagectl("--json", "personas", "create", "globetrotter", "--name", "Globetrotter",
                              "--expression", "IsGlobetrotter and income > 5000", token=admin)
    assert persona.exit_code == 0, persona.stderr
    assert json.loads(persona.stdout)["expression"] == "IsGlobetrotter = true AND income > 5000"

    members = await engagectl("--json", "personas", "members", "globetrotter", "--all", token=admin)
    assert members.exit_code == 0, members.stderr
    assert json.loads(members.stdout) == ["ana"]
    is_member = await engagectl("--json", "personas", "is-member", "globetrotter", "ben", token=admin)
    assert json.loads(is_member.stdout)["member"] is False
    explained = await engagectl("personas", "explain", "globetrotter", "ben", token=admin)
    assert explained.exit_code == 0, explained.stderr
    assert "member:\tfalse" in explained.stdout and "income = 4000" in explained.stdout and "failed" in explained.stdout

    widened_persona = await engagectl("--json", "personas", "update", "globetrotter", "--expression",
                                      "IsGlobetrotter", token=admin)
    assert widened_persona.exit_code == 0, widened_persona.stderr
    table = await engagectl("personas", "list", token=admin)
    assert "Globetrotter" in table.stdout and "IsGlobetrotter = true" in table.stdout
    in_use = await engagectl("attributes", "delete", "IsGlobetrotter", token=admin)
    assert in_use.exit_code != 0 and "ATTRIBUTE_IN_USE" in in_use.stderr
    assert (await engagectl("personas", "delete", "globetrotter", token=admin)).exit_code == 0
    assert (await engagectl("attributes", "delete", "IsGlobetrotter", token=admin)).exit_code == 0
    gone = await engagectl("personas", "show", "globetrotter", token=admin)
    assert gone.exit_code != 0 and "NOT_FOUND" in gone.stderr.upper()
