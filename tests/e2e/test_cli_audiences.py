"""engagectl audiences as an operator runs them, against the real server and workers: an audience of
personas created, a cycle refused, its members listed and one membership asked for."""

import json

from server.domain.auth import Role
from tests.e2e.test_personas_audiences import set_up_personas


async def test_an_audience_from_the_command_line(engagectl, server, tenant, service_stubs):
    await set_up_personas(server, tenant, service_stubs)
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    created = await engagectl("--json", "audiences", "create", "travelling_savers", "--name", "Travelling savers",
                              "--mode", "ALL", "--include", "personas/globetrotter", "--include", "personas/saver",
                              token=admin)
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["definition"]["include"] == ["personas/globetrotter", "personas/saver"]
    cycle = await engagectl("audiences", "update", "travelling_savers", "--include", "audiences/travelling_savers",
                            token=admin)
    assert cycle.exit_code != 0 and "AUDIENCE_CYCLE" in cycle.stderr
    members = await engagectl("--json", "audiences", "members", "travelling_savers", "--all", token=admin)
    assert members.exit_code == 0, members.stderr
    assert json.loads(members.stdout) == ["c1", "c4"]
    answer = await engagectl("--json", "audiences", "is-member", "travelling_savers", "c2", token=admin)
    assert json.loads(answer.stdout)["member"] is False
    listed = await engagectl("audiences", "list", token=admin)
    assert listed.exit_code == 0 and "travelling_savers" in listed.stdout
    shown = await engagectl("audiences", "show", "travelling_savers", token=admin)
    assert shown.exit_code == 0 and "Travelling savers" in shown.stdout
    # campaigns create passes the audience on (the e2e campaign tests send to one; no event here).
    campaign = await engagectl("campaigns", "create", "--name", "Travel", "--event", "nope", "--audience",
                               "travelling_savers", token=admin)
    assert campaign.exit_code != 0 and "EVENT_NOT_FOUND" in campaign.stderr
    unknown = await engagectl("campaigns", "create", "--name", "Travel", "--event", "nope", "--persona", "nobody",
                              token=admin)
    assert unknown.exit_code != 0 and "NOT_FOUND" in unknown.stderr
    assert (await engagectl("audiences", "delete", "travelling_savers", token=admin)).exit_code == 0
