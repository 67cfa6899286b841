"""Wallet passes as an operator sets them up with engagectl (the steps of docs/wallet-passes.md): the
apple_pass configuration with its certificate, key and WWDR certificate from files, a pass template, a
"new card" event (the pass, an email, an SMS with its link) and a "balance" event (the pass only); the
worker emails the signed pass and texts its link, and `engagectl passes list` shows its new balance."""

import json

import trustme
from cryptography import x509

from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.pkpass import open_pkpass
from tests.support.yes_bank import add_customer

PASS_TYPE = "pass.com.yesbank.store"


async def test_a_store_card_through_engagectl(engagectl, server, settings, tenant, service_stubs, smtp_sink,
                                              provider_sink, tmp_path):
    lisa = server.token(tenant, Role.BANK_ADMIN, "lisa")

    async def ok(*args: str):
        result = await engagectl("--json", *args, token=lisa)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    wwdr = trustme.CA().create_child_ca()
    leaf = wwdr.issue_cert(PASS_TYPE, organization_unit_name="A1B2C3D4E5")
    files = {"certificate_pem": leaf.cert_chain_pems[0].bytes(), "private_key_pem": leaf.private_key_pem.bytes(),
             "wwdr_certificate_pem": wwdr.cert_pem.bytes()}
    for key, data in files.items():
        (tmp_path / f"{key}.pem").write_bytes(data)
    app = await ok("apps", "create", "--name", "Yes Wallet", "--category", "BANKING", "--platform", "APPLE")
    await ok("apps", "publish", app["application_id"])
    kind = await ok("event-types", "create", "--name", "Cards")
    config = await ok("channels", "create", "--channel", "PASS", "--provider", "apple_pass",
                      "--setting", f"pass_type_identifier={PASS_TYPE}",
                      "--setting", f"base_url={provider_sink.base_url}",
                      "--setting", "web_service_url=https://wallet.yesbank.example",
                      *[arg for key in files for arg in ("--secret-file", f"{key}={tmp_path / key}.pem")])
    assert sorted(config["secret_keys"]) == sorted(files)
    await ok("channels", "create", "--channel", "EMAIL", "--provider", "smtp", "--setting", f"host={smtp_sink.host}",
             "--setting", f"port={smtp_sink.port}", "--setting", "security=NONE",
             "--setting", "from_address=cards@yesbank.example")
    await ok("channels", "create", "--channel", "SMS", "--provider", "twilio",
             "--setting", f"base_url={provider_sink.base_url}", "--setting", "account_sid=AC" + "0" * 32,
             "--setting", "from_number=+15005550006", "--secret", "auth_token=twilio-token")
    card = await ok("templates", "create", "--channel", "PASS", "--name", "Store card", "--pass-type", PASS_TYPE,
                    "--message", "{{ data.balance }}", "--label", "Balance")
    event_of = ("--event-type", kind["name"], "--app", app["application_id"], "--message", f"PASS={card['name']}")
    new_card = await ok("events", "create", "--name", "Store card", "--description", "A new store card", *event_of,
                        "--email-subject", "Your store card", "--email-text", "Open the attached card in Wallet.",
                        "--sms-text", "Your store card: {{ pass.url }}")
    balance = await ok("events", "create", "--name", "Card balance", "--description", "Balance changed", *event_of)
    await add_customer(service_stubs, app["name"], push_token="")
    await ok("events", "trigger", new_card["event_id"], "--customer", "lisa-customer", "--data", "balance=120 CZK",
             "--request-id", "card-1")
    await run_worker(settings)

    [received] = await smtp_sink.wait_for(1)
    [attachment] = list(received.iter_attachments())
    certificate = x509.load_pem_x509_certificate(files["certificate_pem"])
    issued = open_pkpass(attachment.get_content(), certificate).pass_json
    assert issued["webServiceURL"] == f"https://wallet.yesbank.example/passes/{tenant}"
    [field] = issued["storeCard"]["primaryFields"]
    assert (field["label"], field["value"]) == ("Balance", "120 CZK")
    [sms] = await provider_sink.wait_for("twilio", 1)
    assert sms.body["Body"].startswith(f"Your store card: https://wallet.yesbank.example/passes/{tenant}/downloads/")
    await ok("events", "trigger", balance["event_id"], "--customer", "lisa-customer", "--data", "balance=80 CZK")
    [listed] = await ok("passes", "list", "--customer", "lisa-customer")
    assert (listed["serial_number"], listed["pass_type_identifier"], listed["message"]) == (
        issued["serialNumber"], PASS_TYPE, "80 CZK")
    shown = await engagectl("passes", "list", token=lisa)
    assert shown.exit_code == 0 and issued["serialNumber"] in shown.stdout
