"""engagectl reports insight-history / event-history: the history views as a list command prints them
(piped: tab-separated under a header; --json), with their filters and usage errors."""

import json

from server.domain.auth import Role
from tests.support.history_seed import seed_history


async def test_the_history_views_from_engagectl(engagectl, server, services, tenant):
    await seed_history(services.database, tenant)
    admin = server.token(tenant, Role.BANK_ADMIN, "lisa")

    shown = await engagectl("reports", "event-history", "--state", "failed", "--state", "SKIPPED", token=admin)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "time\tkind\tevent id\tcustomer\twhat\tstate\terror / reason",
        "2026-03-01T09:00:00\tDELIVERY\td3\tc1\tPUSH\tSKIPPED\tNO_ADDRESS",
        "2026-03-01T10:00:00\tDELIVERY\td2\tc2\tSMS twilio campaign k1\tFAILED\t21211"]

    paged = await engagectl("reports", "event-history", "--kind", "RULE_FIRING", "--kind", "campaign_step",
                            "--newest-first", "--limit", "3", token=admin)
    assert paged.exit_code == 0, paged.stderr
    assert [line.split("\t")[2] for line in paged.stdout.splitlines()[1:]] == ["f2", "s2", "f1"]
    assert "--page-token" in paged.stderr  # s1 is left: the list says how to go on

    listed = await engagectl("--json", "reports", "insight-history", "--customer", "c1", "--from", "2026-03-01",
                             "--to", "2026-03-01", token=admin)
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["feed_item_id"], r["origin"], [i["kind"] for i in r["interactions"]]) for r in rows] == [
        ("fi1", "SCHEDULE", ["VIEWED", "CLICKED"]), ("fi3", "UNSPECIFIED", [])]

    table = await engagectl("reports", "insight-history", "--interaction", "DISMISSED", token=admin)
    assert table.stdout.splitlines()[1].split("\t")[:6] == [
        "fi2", "c2", "LOW_BALANCE_WARNING", "EVENT", "2026-03-01", "2026-03-01T10:00:00"]

    wrong = await engagectl("reports", "event-history", "--state", "LOST", token=admin)
    assert wrong.exit_code == 2 and "--state" in wrong.stderr
    refused = await engagectl("reports", "insight-history", token=server.token(tenant, Role.USER, "c1"))
    assert refused.exit_code == 1 and "ROLE_NOT_ALLOWED" in refused.stderr
