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
    assert "PENDING" in table.stdout  # no worker here: the whole evaluation after the update waits
    assert json.loads(widened_persona.stdout)["members_state"] == "PENDING"
    in_use = await engagectl("attributes", "delete", "IsGlobetrotter", token=admin)
    assert in_use.exit_code != 0 and "ATTRIBUTE_IN_USE" in in_use.stderr
    assert (await engagectl("personas", "delete", "globetrotter", token=admin)).exit_code == 0
    assert (await engagectl("attributes", "delete", "IsGlobetrotter", token=admin)).exit_code == 0
    gone = await engagectl("personas", "show", "globetrotter", token=admin)
    assert gone.exit_code != 0 and "NOT_FOUND" in gone.stderr.upper()


async def test_persona_tokens_and_template_variants_from_the_command_line(engagectl, server, tenant, tmp_path):
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")

    async def ok(*args: str):  # type: ignore[no-untyped-def]
        result = await engagectl("--json", *args, token=admin)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    await ok("attributes", "create", "IsGlobetrotter", "--type", "BOOL", "--default", "false")
    created = await ok("personas", "create", "globetrotter", "--name", "Globetrotter", "--expression",
                       "IsGlobetrotter", "--token", "offer_rate=4.5%", "--token", "offer_name=Travel loan")
    assert created["tokens"] == {"offer_rate": "4.5%", "offer_name": "Travel loan"}
    await ok("personas", "create", "saver", "--name", "Saver", "--expression", "NOT IsGlobetrotter")
    shown = await engagectl("personas", "show", "globetrotter", token=admin)
    assert "tokens.offer_rate:\t4.5%" in shown.stdout and "tokens.offer_name:\tTravel loan" in shown.stdout
    replaced = await ok("personas", "update", "globetrotter", "--token", "offer_rate=4.2%")
    assert (replaced["tokens"], replaced["expression"]) == ({"offer_rate": "4.2%"}, "IsGlobetrotter = true")
    both = await engagectl("personas", "update", "globetrotter", "--token", "a=b", "--clear-tokens", token=admin)
    assert both.exit_code == 2 and "not both" in both.stderr
    not_a_pair = await engagectl("personas", "update", "globetrotter", "--token", "offer_rate", token=admin)
    assert not_a_pair.exit_code == 2 and "is not KEY=VALUE" in not_a_pair.stderr

    sms = await ok("templates", "create", "--channel", "SMS", "--name", "Loan offer", "--text", "A loan for you",
                   "--variant", 'globetrotter={"text": "Travel loans at {{ persona.globetrotter.offer_rate }}"}')
    assert [(v["persona"], v["content"]["sms"]["text"]) for v in sms["variants"]] == [
        ("personas/globetrotter", "Travel loans at {{ persona.globetrotter.offer_rate }}")]
    template_id = sms["name"].rpartition("/")[2]
    read = await engagectl("templates", "get", template_id, token=admin)
    assert "variants[0].persona:\tpersonas/globetrotter" in read.stdout
    assert "variants[0].content.sms.text:\tTravel loans at {{ persona.globetrotter.offer_rate }}" in read.stdout

    unknown = await engagectl("templates", "create", "--channel", "SMS", "--name", "Nobody's", "--text", "Hi",
                              "--variant", 'nobody={"text": "Hi, nobody"}', token=admin)
    assert unknown.exit_code == 1 and unknown.stderr.startswith("error: INVALID_ARGUMENT"), unknown.stderr
    assert "TEMPLATE_INVALID" in unknown.stderr and "template.variants[0].persona" in unknown.stderr
    unknown_token = await engagectl("templates", "update", template_id, "--variant",
                                    'saver={"text": "{{ persona.saver.offer_rate }}"}', token=admin)
    assert unknown_token.exit_code == 1 and "TEMPLATE_INVALID" in unknown_token.stderr, unknown_token.stderr
    wrong_part = await engagectl("templates", "update", template_id, "--variant", 'saver={"subject": "Hi"}',
                                 token=admin)
    assert wrong_part.exit_code == 2 and "subject: not for this template's channel, SMS" in wrong_part.stderr
    not_json = await engagectl("templates", "update", template_id, "--variant", "saver=Hi", token=admin)
    assert not_json.exit_code == 2 and "not a JSON object" in not_json.stderr

    saver_file = tmp_path / "saver.json"
    saver_file.write_text(json.dumps({"text": "Savings at 3%"}))
    both_variants = await ok("templates", "update", template_id, "--variant", f"saver=@{saver_file}",
                             "--variant", 'globetrotter={"text": "Travel loans"}')
    assert [(v["persona"], v["content"]["sms"]["text"]) for v in both_variants["variants"]] == [
        ("personas/saver", "Savings at 3%"), ("personas/globetrotter", "Travel loans")]
    assert both_variants["content"]["sms"]["text"] == "A loan for you"
    renamed = await ok("templates", "update", template_id, "--name", "Loan offers")
    assert len(renamed["variants"]) == 2
    cleared = await ok("templates", "update", template_id, "--clear-variants")
    assert (cleared["variants"], cleared["display_name"]) == ([], "Loan offers")

    email_file = tmp_path / "globetrotter.json"
    email_file.write_text(json.dumps({"subject": "Travel loans", "html": "<p>{{ persona.globetrotter.offer_rate }}</p>",
                                      "text": "{{ persona.globetrotter.offer_rate }}"}))
    email = await ok("templates", "create", "--channel", "EMAIL", "--name", "Loan email", "--subject", "A loan",
                     "--text", "For you", "--variant", f"globetrotter=@{email_file}")
    assert email["variants"][0]["content"]["email"] == {
        "subject": "Travel loans", "html": "<p>{{ persona.globetrotter.offer_rate }}</p>",
        "text": "{{ persona.globetrotter.offer_rate }}"}

    cleared_tokens = await ok("personas", "update", "globetrotter", "--clear-tokens")
    assert cleared_tokens["tokens"] == {}
