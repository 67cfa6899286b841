"""Each channel adapter against a real server speaking its provider's protocol: what arrives, and how
the answers are classified."""

import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.egress import LOCAL_EGRESS
from tests.support.keys import pkcs8_pem
from tests.support.ports import free_port
from workers.channels import build_sender
from workers.channels.base import ChannelKind, Outcome, OutgoingMessage, ProviderConfig


def message(kind: ChannelKind, address: str, key: str = "k1", **content: str) -> OutgoingMessage:
    return OutgoingMessage(delivery_id="d1", idempotency_key=key, kind=kind, address=address, content=content)


async def send(config: ProviderConfig, outgoing: OutgoingMessage):
    sender = build_sender(config, egress=LOCAL_EGRESS, timeout_seconds=2)
    try:
        return await sender.send(outgoing)
    finally:
        await sender.aclose()


def smtp(sink) -> ProviderConfig:
    return ProviderConfig(ChannelKind.EMAIL, "smtp", {"host": sink.host, "port": str(sink.port), "security": "NONE",
                                                      "from_address": "alerts@bank.example", "from_name": "Bank"},
                          {"username": "u", "password": "p"})


async def test_email_has_both_parts_and_a_stable_message_id(smtp_sink):
    mail = message(ChannelKind.EMAIL, "lisa@example.com", subject="Hello", text="plain body", html="<p>html</p>")
    first, second = await send(smtp(smtp_sink), mail), await send(smtp(smtp_sink), mail)
    assert first.outcome is Outcome.SENT and first.provider_message_id == second.provider_message_id
    received = await smtp_sink.wait_for(2)
    assert smtp_sink.logins == [("u", "p"), ("u", "p")]
    assert received[0]["Message-ID"] == received[1]["Message-ID"] == first.provider_message_id
    assert (received[0]["From"], received[0]["To"], received[0]["Subject"]) == (
        "Bank <alerts@bank.example>", "lisa@example.com", "Hello")
    assert received[0].get_body(("plain",)).get_content().strip() == "plain body"
    assert received[0].get_body(("html",)).get_content().strip() == "<p>html</p>"


@pytest.mark.parametrize(("reply", "outcome"), [("451 4.3.0 Try again later", Outcome.TEMPORARY_FAILURE),
                                                ("550 5.1.1 No such user", Outcome.PERMANENT_FAILURE)])
async def test_smtp_replies_are_classified(smtp_sink, reply, outcome):
    smtp_sink.script(reply)
    result = await send(smtp(smtp_sink), message(ChannelKind.EMAIL, "x@example.com", subject="s", text="t"))
    assert (result.outcome, result.error_code) == (outcome, f"SMTP_{reply[:3]}")


async def test_an_unreachable_smtp_server_is_temporary():
    config = ProviderConfig(ChannelKind.EMAIL, "smtp", {"host": "127.0.0.1", "port": "1", "security": "NONE",
                                                        "from_address": "a@b.example"}, {})
    result = await send(config, message(ChannelKind.EMAIL, "x@example.com", subject="s", text="t"))
    assert result.outcome is Outcome.TEMPORARY_FAILURE


async def test_vonage_sends_unicode_when_the_text_needs_it(provider_sink):
    config = ProviderConfig(ChannelKind.SMS, "vonage", {"base_url": provider_sink.base_url, "api_key": "key",
                                                        "from": "YesBank"}, {"api_secret": "secret"})
    assert (await send(config, message(ChannelKind.SMS, "+420601234567", text="Plain text"))).outcome is Outcome.SENT
    result = await send(config, message(ChannelKind.SMS, "+420601234567", text="Výběr z bankomatu"))
    assert result.outcome is Outcome.SENT
    plain, unicode = provider_sink.received("vonage")
    assert (plain.body["to"], plain.body.get("type"), unicode.body["type"]) == ("420601234567", None, "unicode")
    assert unicode.body["api_secret"] == "secret" and result.provider_message_id == unicode.response_id


async def test_clickatell_sends_its_api_key(provider_sink):
    config = ProviderConfig(ChannelKind.SMS, "clickatell", {"base_url": provider_sink.base_url}, {"api_key": "ck"})
    result = await send(config, message(ChannelKind.SMS, "+420601234567", text="Hello"))
    [received] = provider_sink.received("clickatell")
    assert result.outcome is Outcome.SENT
    assert (received.headers["Authorization"], received.body["to"]) == ("ck", ["420601234567"])


async def test_twilio_statuses_are_classified(provider_sink):
    config = ProviderConfig(ChannelKind.SMS, "twilio", {"base_url": provider_sink.base_url,
                                                        "account_sid": "AC" + "1" * 32, "from_number": "+15005550006"},
                            {"auth_token": "token"})
    provider_sink.script("twilio", [500, 429, 400])
    outcomes = [(await send(config, message(ChannelKind.SMS, "+420601234567", text="x"))).outcome for _ in range(3)]
    assert outcomes == [Outcome.TEMPORARY_FAILURE, Outcome.TEMPORARY_FAILURE, Outcome.PERMANENT_FAILURE]
    refused = await send(config, message(ChannelKind.SMS, "not-a-number", text="x"))
    assert (refused.outcome, refused.error_code) == (Outcome.PERMANENT_FAILURE, "TWILIO_21211")


async def test_fcm_mints_an_access_token_from_a_service_account(provider_sink):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    account = {"client_email": "engage@yes-bank.iam.example", "private_key": pem,
               "token_uri": f"{provider_sink.base_url}/token"}
    config = ProviderConfig(ChannelKind.PUSH, "fcm", {"base_url": provider_sink.base_url, "project_id": "yes"},
                            {"service_account_json": json.dumps(account)})
    result = await send(config, message(ChannelKind.PUSH, "device-1", title="T", body="B",
                                        image_url="https://x.example/i.png", rich_text="rich"))
    assert result.outcome is Outcome.SENT and result.provider_message_id.startswith("projects/yes/messages/")
    [exchange] = provider_sink.received("oauth")
    claims = jwt.decode(exchange.body["assertion"], key.public_key(), algorithms=["RS256"],
                        audience=account["token_uri"])
    assert claims["iss"] == account["client_email"]
    [push] = provider_sink.received("fcm")
    assert push.headers["Authorization"] == "Bearer minted-access-token"
    assert push.body["message"]["notification"] == {"title": "T", "body": "B", "image": "https://x.example/i.png"}


async def test_fcm_unregistered_token_is_permanent(provider_sink):
    config = ProviderConfig(ChannelKind.PUSH, "fcm", {"base_url": provider_sink.base_url, "project_id": "yes"},
                            {"access_token": "t"})
    provider_sink.script("fcm", [404])
    result = await send(config, message(ChannelKind.PUSH, "gone", title="T", body="B"))
    assert (result.outcome, result.error_code) == (Outcome.PERMANENT_FAILURE, "FCM_UNREGISTERED")


async def test_apns_signs_es256_and_derives_apns_id(provider_sink):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = pkcs8_pem(key)
    config = ProviderConfig(ChannelKind.PUSH, "apns", {"base_url": provider_sink.base_url, "topic": "com.yesbank.app",
                                                       "team_id": "TEAM123456", "key_id": "KEY1234567"},
                            {"private_key": pem})
    outgoing = message(ChannelKind.PUSH, "apple-device", key="same", title="T", body="B")
    first, again = await send(config, outgoing), await send(config, outgoing)
    assert first.outcome is Outcome.SENT and first.provider_message_id == again.provider_message_id
    [push] = provider_sink.received("apns")  # APNs de-duplicates on apns-id
    token = push.headers["authorization"].removeprefix("bearer ")
    assert jwt.get_unverified_header(token)["kid"] == "KEY1234567"
    assert jwt.decode(token, key.public_key(), algorithms=["ES256"])["iss"] == "TEAM123456"
    assert push.headers["apns-topic"] == "com.yesbank.app"
    assert push.body["aps"]["alert"] == {"title": "T", "body": "B"}
    provider_sink.script("apns", [410])
    gone = await send(config, message(ChannelKind.PUSH, "old-device", key="other", title="T", body="B"))
    assert (gone.outcome, gone.error_code) == (Outcome.PERMANENT_FAILURE, "APNS_Unregistered")


async def test_wallet_pass_update_is_an_empty_push_to_the_pass_topic(provider_sink):
    config = ProviderConfig(ChannelKind.PASS, "apple_pass", {"base_url": provider_sink.base_url,
                                                             "pass_type_identifier": "pass.com.yesbank.store"},
                            {"certificate_pem": "-----BEGIN CERTIFICATE-----", "private_key_pem": "-----BEGIN "})
    result = await send(config, message(ChannelKind.PASS, "pass-device-token", message="Balance updated"))
    assert result.outcome is Outcome.SENT
    [update] = provider_sink.received("apple_pass")
    assert (update.body, update.headers["apns-topic"]) == ({}, "pass.com.yesbank.store")


async def test_a_provider_that_does_not_answer_is_temporary(provider_sink):
    config = ProviderConfig(ChannelKind.SMS, "twilio", {"base_url": provider_sink.base_url,
                                                        "account_sid": "AC" + "2" * 32, "from_number": "+15005550006"},
                            {"auth_token": "token"})
    provider_sink.delay("twilio", 5)
    result = await send(config, message(ChannelKind.SMS, "+420601234567", text="slow"))
    assert (result.outcome, result.error_code) == (Outcome.TEMPORARY_FAILURE, "TIMEOUT")


@pytest.mark.parametrize(("provider", "settings", "secrets"), [
    ("twilio", {"account_sid": "AC" + "3" * 32, "from_number": "+15005550006"}, {"auth_token": "token"}),
    ("vonage", {"api_key": "key", "from": "Bank"}, {"api_secret": "secret"}),
    ("clickatell", {}, {"api_key": "ck"}),
])
async def test_an_unreachable_sms_provider_is_temporary(provider, settings, secrets):
    closed_port = free_port()  # nothing listens there
    config = ProviderConfig(ChannelKind.SMS, provider, {"base_url": f"http://127.0.0.1:{closed_port}", **settings},
                            secrets)
    result = await send(config, message(ChannelKind.SMS, "+420601234567", text="x"))
    assert (result.outcome, result.error_code) == (Outcome.TEMPORARY_FAILURE, "CONNECTION_ERROR")
