"""engagectl's conventions, through the real binary as gh and kubectl users expect them: piped output
is tab-separated with every id whole; a terminal never cuts an id; --json before or after the command;
lists say when there is more; money always has its amount; exit codes 0/1/2 with one-line errors;
--version and shell completion."""

import asyncio
import importlib.metadata
import json
import os
import re
import sys

from engage.engagement.v1 import engagement_service_pb2 as epb
from engage.ingest.v1 import ingest_service_pb2 as ipb
from server.domain.auth import Role
from tests.conftest import REPO_ROOT
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import seed_accounts
from tests.support.yes_bank import add_customer, set_up_yes_bank

# Two ids of 30 characters: in a terminal 80 columns wide they fit only if other columns give way.
CUSTOMER = "customer-" + "7" * 21
ACCOUNTS = [f"account-{n}-" + "9" * 20 for n in range(1, 4)]
# A Python class name in a message, e.g. `UsageError:` or `RecursionError:`.
CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception)\b")


async def _seeded(server, tenant, service_stubs) -> str:
    await seed_accounts(service_stubs, CUSTOMER, *ACCOUNTS, currency="CZK")
    return server.token(tenant, Role.BANK_ADMIN, "ops")


async def test_piped_lists_are_tab_separated_with_every_id_whole(engagectl, server, tenant, service_stubs):
    token = await _seeded(server, tenant, service_stubs)
    listed = await engagectl("accounts", "list", token=token)
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split("\t") == ["account", "customer", "type", "current", "available", "name"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[:5] for row in rows] == [[a, CUSTOMER, "CHECKING", "0.00 CZK", "0.00 CZK"] for a in ACCOUNTS]
    assert listed.stderr == ""  # no more pages, nothing to say

    wide = await engagectl("accounts", "list", "-o", "wide", token=token)
    assert wide.stdout.splitlines()[0].split("\t")[-1] == "container"
    assert wide.stdout.splitlines()[1].split("\t")[-1] == "BANK"


async def test_a_terminal_table_keeps_ids_whole_and_drops_columns_instead(engagectl, server, tenant, service_stubs):
    token = await _seeded(server, tenant, service_stubs)
    narrow = await engagectl("accounts", "list", token=token, terminal_columns=80)
    assert narrow.exit_code == 0, narrow.stdout
    for identifier in (CUSTOMER, *ACCOUNTS):
        assert identifier in narrow.stdout, narrow.stdout
    assert "…" not in narrow.stdout
    assert "not shown to fit the terminal" in narrow.stdout
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines()), narrow.stdout

    # Narrower than the ids themselves: they wrap onto more lines, and still nothing is cut.
    tiny = await engagectl("accounts", "list", token=token, terminal_columns=40)
    assert tiny.exit_code == 0 and "…" not in tiny.stdout and "CUSTOMER" not in tiny.stdout

    roomy = await engagectl("accounts", "list", token=token, terminal_columns=200)
    assert "0.00 CZK" in roomy.stdout and "not shown" not in roomy.stdout
    assert "\t" not in roomy.stdout  # a table, not the piped form


async def test_json_and_output_go_before_or_after_the_command(engagectl, server, tenant, service_stubs):
    token = await _seeded(server, tenant, service_stubs)
    placements = [("--json", "accounts", "list"), ("accounts", "list", "--json"), ("-o", "json", "accounts", "list"),
                  ("accounts", "list", "-o", "json"), ("accounts", "list", "--output=json"),
                  ("--output", "table", "accounts", "list", "--json")]
    outputs = []
    for placement in placements:
        result = await engagectl(*placement, token=token)
        assert result.exit_code == 0, (placement, result.stderr)
        outputs.append(json.loads(result.stdout))
    assert all(output == outputs[0] for output in outputs)
    first = outputs[0][0]
    # Every field, the zero balance with its amount, the enum without its type's prefix.
    assert first["current_balance"] == {"amount": "0.00", "currency_code": "CZK"}
    assert (first["type"], first["container"], first["account_name"]) == ("CHECKING", "BANK", "")


async def test_lists_say_when_more_pages_exist_and_all_fetches_them(engagectl, server, tenant, service_stubs):
    token = await _seeded(server, tenant, service_stubs)
    first = await engagectl("accounts", "list", "--limit", "2", token=token)
    assert [line.split("\t")[0] for line in first.stdout.splitlines()[1:]] == ACCOUNTS[:2]
    hint = first.stderr.strip()
    assert hint.startswith("more results: use --all or --page-token ")
    rest = await engagectl("accounts", "list", "--page-token", hint.rsplit(" ", 1)[1], "--json", token=token)
    assert [a["account_id"] for a in json.loads(rest.stdout)] == ACCOUNTS[2:]
    assert rest.stderr == ""
    every = await engagectl("accounts", "list", "--limit", "1", "--all", "--json", token=token)
    assert [a["account_id"] for a in json.loads(every.stdout)] == ACCOUNTS and every.stderr == ""


async def test_exit_codes_and_errors_in_one_line(engagectl, server, tenant):
    token = server.token(tenant, Role.BANK_ADMIN, "ops")
    assert (await engagectl("accounts", "list", token=token)).exit_code == 0

    long_id = "no-such-account-" + "5" * 24  # the longest id a name may hold: 40 characters
    refused = await engagectl("transactions", "list", "--account", long_id, token=token)
    assert refused.exit_code == 1
    assert refused.stderr == f"error: NOT_FOUND ACCOUNT_NOT_FOUND: account '{long_id}' was not found\n"
    on_terminal = await engagectl("transactions", "list", "--account", long_id, token=token, terminal_columns=80)
    assert on_terminal.exit_code == 1
    assert on_terminal.stdout.strip() == refused.stderr.strip()  # not wrapped at the terminal's width

    usage_errors = {
        ("accounts", "list", "--bogus"): "error: No such option: --bogus",
        ("transactions", "list"): "error: Missing option '--account'",
        ("accounts", "list", "--limit", "0"): "error: Invalid value for '--limit'",
        ("transactions", "list", "--account", "a1", "--from", "yesterday"): "error: Invalid value for --from",
        ("acounts", "list"): "error: No such command 'acounts'",
        ("accounts", "list", "-o", "yaml"): "error: Invalid value for '-o' / '--output': 'yaml' is not one of",
    }
    for args, start in usage_errors.items():
        result = await engagectl(*args, token=token)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.startswith(start), (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "--help')" in result.stderr, result.stderr
        assert not CLASS_NAME.search(result.stderr), result.stderr
    bare = await engagectl("tenants")
    assert bare.exit_code == 2 and "Commands" in bare.stdout and not CLASS_NAME.search(bare.stdout + bare.stderr)


async def test_version_and_shell_completion(engagectl):
    version = await engagectl("--version")
    assert (version.exit_code, version.stdout) == (0, f"engagectl {importlib.metadata.version('engage')}\n")

    script = await engagectl("completion", "bash")
    assert script.exit_code == 0, script.stderr
    assert "_ENGAGECTL_COMPLETE=complete_bash" in script.stdout
    assert "complete -o default -F _engagectl_completion engagectl" in script.stdout
    # typer's own option gives the same script (it guesses the shell unless told not to).
    shown = await engagectl("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert shown.stdout.strip() == script.stdout.strip()
    zsh = await engagectl("completion", "zsh")
    assert zsh.exit_code == 0 and "compdef _engagectl_completion engagectl" in zsh.stdout
    # What bash asks through that script: the completions of `engagectl acc` and of an option's start.
    asked = await engagectl(env={"_ENGAGECTL_COMPLETE": "complete_bash", "COMP_WORDS": "engagectl acc",
                                 "COMP_CWORD": "1"})
    assert asked.stdout.split() == ["accounts"]
    option = await engagectl(env={"_ENGAGECTL_COMPLETE": "complete_bash",
                                  "COMP_WORDS": "engagectl deliveries list --cust", "COMP_CWORD": "3"})
    assert option.stdout.split() == ["--customer"]


async def test_help_names_values_and_shows_examples(engagectl):
    shown = await engagectl("deliveries", "list", "--help", terminal_columns=120)
    assert shown.exit_code == 0
    assert "CUSTOMER_ID" in shown.stdout and "<str>" not in shown.stdout
    assert "engagectl deliveries list --state DEAD_LETTER" in shown.stdout
    argument = await engagectl("apps", "get", "--help", terminal_columns=120)
    assert re.search(r"\*\s+APP_ID\s+Id or apps/ID", argument.stdout) and "<str>" not in argument.stdout
    required = await engagectl("transactions", "list", "--help", terminal_columns=120)
    assert re.search(r"\*\s+--account\s+ACCOUNT_ID", required.stdout), required.stdout


async def test_a_delivery_detail_shows_every_field_with_its_error_message(engagectl, server, settings, tenant,
                                                                        service_stubs, smtp_sink, provider_sink):
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    async with server.stubs(admin) as stubs:
        bank = await set_up_yes_bank(stubs, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url="http://127.0.0.1:9")
    await add_customer(service_stubs, bank.app, email="", push_token="")
    sent = await service_stubs.engagement.TriggerEvent(epb.TriggerEventRequest(
        event=bank.notice_event, customer_id="lisa-customer", data={"note": "hello"}))
    settings.provider_networks_allowed = ""  # the SMS provider's address is refused: the delivery fails
    await run_worker(settings)
    [sms] = [d for d in sent.deliveries if d.channel == epb.CHANNEL_SMS]

    piped = await engagectl("deliveries", "get", sms.name, token=admin)
    assert piped.exit_code == 0, piped.stderr
    fields = dict(line.split(":\t", 1) for line in piped.stdout.splitlines())
    assert (fields["name"], fields["state"], fields["channel"], fields["error_code"]) == (
        sms.name, "FAILED", "SMS", "EGRESS_DENIED")
    assert "127.0.0.1" in fields["error_message"]
    assert {"attempts", "create_time", "skip_reason", "provider_message_id"} <= fields.keys()

    on_terminal = await engagectl("deliveries", "get", sms.name.rpartition("/")[2], token=admin,
                                  terminal_columns=100)
    assert re.search(r"error_message:\s+\S*.*127\.0\.0\.1", on_terminal.stdout), on_terminal.stdout
    listed = await engagectl("deliveries", "list", "-o", "wide", token=admin)
    assert "error message" in listed.stdout.splitlines()[0].split("\t")


async def test_a_template_error_is_one_line_in_a_message_writers_words(engagectl, server, tenant):
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    result = await engagectl("templates", "create", "--channel", "SMS", "--name", "Paid", "--text",
                             "Paid {{ data.amount ", token=admin)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "TEMPLATE_INVALID" in result.stderr, result.stderr
    assert "the text ends too soon; expected '}}'" in result.stderr
    assert "print statement" not in result.stderr and "Jinja" not in result.stderr


async def test_plain_answers_have_a_json_form_too(engagectl, tenant):
    minted = await engagectl("token", "mint", "--tenant", tenant, "--role", "user", "--sub", "c1", "--json")
    assert minted.exit_code == 0, minted.stderr
    assert list(json.loads(minted.stdout)) == ["token"]
    upgraded = await engagectl("db", "upgrade", "-o", "json")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["revision"] == "head"


async def test_a_reader_that_stops_early_gets_no_traceback(server, tenant, service_stubs):
    # More than a pipe holds (64 KiB), so that engagectl is still writing when `head` has gone.
    accounts = [ipb.Account(account_id=f"acct-{n:05d}", customer_id=CUSTOMER, currency_code="EUR",
                            type=ipb.ACCOUNT_TYPE_CHECKING, container=ipb.CONTAINER_BANK) for n in range(2000)]
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=ipb.Customer(customer_id=CUSTOMER)))
    for start in range(0, len(accounts), 500):
        await service_stubs.ingest.BatchUpsertAccounts(ipb.BatchUpsertAccountsRequest(
            accounts=accounts[start:start + 500]))
    environment = {**os.environ, "ENGAGE_ADDRESS": server.address,
                   "ENGAGE_TOKEN": server.token(tenant, Role.BANK_ADMIN, "ops")}
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", f"{sys.executable} -m clients.engagectl.main accounts list --all | head -2; "
                      "echo ${PIPESTATUS[0]} >&2",
        cwd=REPO_ROOT, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert out.decode().splitlines()[1].startswith("acct-00000\t")
    # The pipe closed under it (typer's click then exits 1), and nothing else was said: no traceback.
    assert err.decode() == "1\n"
