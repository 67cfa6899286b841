"""engagectl insights and subscriptions as an operator runs them, against the real server and worker."""

import json

from server.domain.auth import Role
from tests.e2e.test_insights_savings import seed_reference_customer
from tests.integration.test_insight_batches import run_worker


async def test_subscriptions_get_set_and_history(engagectl, server, tenant, service_stubs):
    await seed_reference_customer(service_stubs)
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    changed = await engagectl("--json", "subscriptions", "set", "--insight",
                              "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE", "--duration", "LAST_SIX_MONTHS",
                              "--threshold", "CHANGE=12.5", token=admin)
    assert changed.exit_code == 0, changed.stderr
    [savings] = json.loads(changed.stdout)
    assert savings["customer_configuration"][0]["duration"] == "LAST_SIX_MONTHS"
    assert savings["customer_configuration"][0]["threshold"][0]["value"] == "12.5"

    user = await engagectl("--json", "subscriptions", "set", "--insight", "LARGE_DEPOSIT", "--customer", "u1",
                           "--unsubscribed", token=server.token(tenant))
    assert user.exit_code == 0, user.stderr
    shown = await engagectl("subscriptions", "get", "--customer", "u1", "--insight", "LARGE_DEPOSIT",
                            token=server.token(tenant))
    assert "LARGE_DEPOSIT" in shown.stdout and "False" in shown.stdout

    bad = await engagectl("subscriptions", "set", "--insight", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE",
                          "--threshold", "CHANGE=501", token=admin)
    assert bad.exit_code != 0
    assert bad.stderr.strip() == ("error: INVALID_ARGUMENT Y800: Invalid value for CHANGE in "
                                  "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight Min = 0.00 and Max = 500.00: "
                                  "customerSubscription[0].customerConfiguration[0].threshold[0].value: "
                                  "must be between 0.00 and 500.00, with at most 2 decimal places")
    history = json.loads((await engagectl("--json", "subscriptions", "history", token=admin)).stdout)
    assert [(c.get("customer_id", ""), c["insight_name"]) for c in history] == [
        ("u1", "LARGE_DEPOSIT"), ("", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE")]


async def test_insights_list_trigger_feed_and_batch(engagectl, server, settings, tenant, service_stubs):
    await seed_reference_customer(service_stubs)
    listed = json.loads((await engagectl("--json", "insights", "list", token=server.token(tenant))).stdout)
    assert {d["insight_name"] for d in listed} >= {"SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE", "LOW_BALANCE_WARNING",
                                                   "LARGE_DEPOSIT", "LARGE_WITHDRAWAL"}
    user = server.token(tenant, Role.USER, "u1")
    triggered = await engagectl("insights", "trigger", "--as-of", "2021-07-01", token=user)
    assert triggered.exit_code == 0, triggered.stderr
    assert "26,555.01 USD (11.88%)" in triggered.stdout
    feed = json.loads((await engagectl("--json", "insights", "feed", token=user)).stdout)
    assert [i["change_values"][0]["change_percent"] for i in feed] == ["11.88"]

    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    started = json.loads((await engagectl("--json", "insights", "run-batch", "--as-of", "2021-08-01",
                                          token=admin)).stdout)
    await run_worker(settings)
    status = json.loads((await engagectl("--json", "insights", "batch", started["batch_id"], token=admin)).stdout)
    assert (status["state"], status["users_evaluated"]) == ("SUCCEEDED", "1")


async def test_a_subscriptions_body_nested_too_deeply_is_refused_in_one_line(engagectl, server, tenant, tmp_path):
    # Python's JSON parser recurses once per level: this was `error: RecursionError` from inside it,
    # then `error: BadParameter: ...`: a usage error names the option, not a Python class.
    body = tmp_path / "deep.json"
    body.write_text('{"customerSubscription": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = await engagectl("subscriptions", "set", "--insight", "LARGE_DEPOSIT", "--body", str(body),
                             token=server.token(tenant, Role.BANK_ADMIN, "ops"))
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: Invalid value for --body: cannot read a JSON body: nested too deeply "
                                     "(see 'engagectl subscriptions set --help')")


async def test_a_trigger_that_generates_nothing_says_why(engagectl, server, tenant, service_stubs):
    await seed_reference_customer(service_stubs)
    service = server.token(tenant, Role.SERVICE, "loader")
    savings = "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"

    async def trigger(as_of: str, *options: str) -> dict:  # type: ignore[type-arg]
        result = await engagectl("--json", "insights", "trigger", "--customer", "u1", "--insight", savings,
                                 "--as-of", as_of, *options, token=service)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    first = await trigger("2021-07-01")
    assert ([i["insight_name"] for i in first["generated"]], first["not_generated"]) == ([savings], [])
    again = await trigger("2021-07-03")
    assert (again["generated"], again["not_generated"]) == (
        [], [{"insight_name": savings, "reason": "ALREADY_GENERATED", "period": "2021-07"}])
    too_early = await trigger("2021-04-01")  # no month-end balance before April's end: nothing to compare
    assert too_early == {"generated": [], "not_generated": [
        {"insight_name": savings, "reason": "CONDITION_NOT_MET", "period": "2021-04"}]}

    unsubscribed = await engagectl("subscriptions", "set", "--insight", savings, "--customer", "u1", "--unsubscribed",
                                   token=server.token(tenant, Role.USER, "u1"))
    assert unsubscribed.exit_code == 0, unsubscribed.stderr
    shown = await engagectl("insights", "trigger", "--customer", "u1", "--as-of", "2021-08-01", token=service)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == ["id\tinsight\tperiod\tcreated\tfigures"]  # an empty table, piped
    assert (f"not generated: {savings} for 2021-08: UNSUBSCRIBED (not subscribed: engagectl subscriptions get "
            "--customer u1)") in shown.stderr.splitlines()


async def test_insight_batches_list_the_latest_first(engagectl, server, settings, tenant, service_stubs):
    await seed_reference_customer(service_stubs)
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    started = []
    for as_of in ("2021-07-01", "2021-09-01", "2021-08-01"):
        result = await engagectl("--json", "insights", "run-batch", "--as-of", as_of, token=admin)
        assert result.exit_code == 0, result.stderr
        started.append(json.loads(result.stdout)["batch_id"])
    await run_worker(settings)

    listed = json.loads((await engagectl("--json", "insights", "batches", token=admin)).stdout)
    assert [(b["batch_id"], b["state"]) for b in listed] == [
        (started[1], "SUCCEEDED"), (started[2], "SUCCEEDED"), (started[0], "SUCCEEDED")]

    first = await engagectl("insights", "batches", "--limit", "2", token=admin)
    assert [line.split("\t")[:3] for line in first.stdout.splitlines()] == [
        ["batch id", "as of", "state"], [started[1], "2021-09-01", "SUCCEEDED"],
        [started[2], "2021-08-01", "SUCCEEDED"]]
    token = first.stderr.split("--page-token ")[1].strip()
    rest = await engagectl("insights", "batches", "--page-token", token, token=admin)
    assert [line.split("\t")[0] for line in rest.stdout.splitlines()[1:]] == [started[0]]

    forged = await engagectl("insights", "batches", "--page-token", "bm90LWEtdG9rZW4", token=admin)
    assert forged.exit_code == 1 and "INVALID_PAGE_TOKEN" in forged.stderr
