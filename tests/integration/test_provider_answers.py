"""What the adapters make of answers no provider documents: a body of any shape, a provider code that
is free text, a body without end, a Retry-After that is no number of seconds. Every one is classified,
none raises (a raise was a SEND_CRASHED, retried: a 2xx sent again, a 4xx tried eight times), and a
2xx the adapter cannot read is not retried, since the message may have gone out."""

import asyncio
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.integration.test_channel_adapters import message, send
from tests.support.keys import pkcs8_pem
from tests.support.sinks.providers import RawAnswer
from workers.channels.base import ChannelKind, Outcome, ProviderConfig
from workers.channels.http import ANSWER_LIMIT_BYTES

ODD_BODIES = [b"[]", b'"text"', b"null", b"123", b"true", b'{"messages": "x"}', b'{"messages": [1]}',
              b'{"messages": [{"error": []}]}', b'{"error": []}', b'{"error": {"details": [1, {}]}}',
              b'{"sid": {}, "name": [], "reason": {}}', b"\xff\xfe{", b"<html>proxy error</html>", b""]
# Nested past what Python's JSON parser recurses through (within ANSWER_LIMIT_BYTES), or near it in the
# fields the adapters read (900: read or not, depending on how deep the stack already is).
NEAR_THE_LIMIT = b"[" * 900 + b"1" + b"]" * 900
DEEP_BODIES = [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
               b'{"error": ' + b"[" * 100_000,
               b'{"code": 21211, "message": %s, "sid": "SM1", "name": "n", "reason": %s, "error": {"code": 114, '
               b'"description": %s, "message": %s}, "messages": [{"status": "15", "error-text": %s}]}'
               % ((NEAR_THE_LIMIT,) * 5)]
ERROR_CODE = re.compile(r"[A-Z_]+_[A-Za-z0-9_.-]{1,40}")
# APNs (and Wallet passes through it) tell success by the status alone; the others by the body.
STATUS_ONLY = {"apns", "apple_pass"}


def configs(base_url: str) -> dict[str, ProviderConfig]:
    apple_key = pkcs8_pem(ec.generate_private_key(ec.SECP256R1()))
    return {
        "twilio": ProviderConfig(ChannelKind.SMS, "twilio", {"base_url": base_url, "account_sid": "AC" + "4" * 32,
                                                            "from_number": "+15005550006"}, {"auth_token": "t"}),
        "vonage": ProviderConfig(ChannelKind.SMS, "vonage", {"base_url": base_url, "api_key": "k", "from": "Bank"},
                                 {"api_secret": "s"}),
        "clickatell": ProviderConfig(ChannelKind.SMS, "clickatell", {"base_url": base_url}, {"api_key": "ck"}),
        "fcm": ProviderConfig(ChannelKind.PUSH, "fcm", {"base_url": base_url, "project_id": "yes"},
                              {"access_token": "t"}),
        "apns": ProviderConfig(ChannelKind.PUSH, "apns", {"base_url": base_url, "topic": "com.yesbank.app",
                                                         "team_id": "TEAM123456", "key_id": "KEY1234567"},
                               {"private_key": apple_key}),
        "apple_pass": ProviderConfig(ChannelKind.PASS, "apple_pass", {"base_url": base_url,
                                                                     "pass_type_identifier": "pass.com.yesbank"},
                                     {"certificate_pem": "-", "private_key_pem": "-"}),
    }


def outgoing(config: ProviderConfig):
    content = {ChannelKind.SMS: {"text": "Hello"}, ChannelKind.PUSH: {"title": "T", "body": "B"},
               ChannelKind.PASS: {"message": "Balance updated"}}[config.kind]
    return message(config.kind, "+420601234567", **content)


@pytest.mark.parametrize("provider", ["twilio", "vonage", "clickatell", "fcm", "apns", "apple_pass"])
@pytest.mark.parametrize("status", [200, 400])
async def test_answers_of_any_shape_are_classified_and_never_raise(provider_sink, provider, status):
    config = configs(provider_sink.base_url)[provider]
    for body in ODD_BODIES + DEEP_BODIES:
        provider_sink.script(provider, [RawAnswer(status, body)])
        result = await send(config, outgoing(config))
        if status == 200 and provider in STATUS_ONLY:
            assert result.outcome is Outcome.SENT, body
            continue
        assert result.outcome is Outcome.PERMANENT_FAILURE, (body, result)
        assert ERROR_CODE.fullmatch(result.error_code), (body, result.error_code)


@pytest.mark.parametrize(("provider", "answer", "code"), [
    ("apns", RawAnswer(400, json.dumps({"reason": "no such reason, said at length " * 20}).encode()), "APNS_400"),
    ("apns", RawAnswer(410, b'{"reason": "Unregistered"}'), "APNS_Unregistered"),
    ("twilio", RawAnswer(400, json.dumps({"code": "x" * 100, "message": "m"}).encode()), "TWILIO_400"),
    ("twilio", RawAnswer(400, b'{"code": true}'), "TWILIO_400"),
    ("twilio", RawAnswer(400, b'{"code": 21614, "message": "not a mobile number"}'), "TWILIO_21614"),
    ("vonage", RawAnswer(200, b'{"messages": [{"status": "<b>bad</b>"}]}'), "VONAGE_BAD_RESPONSE"),
    ("vonage", RawAnswer(200, b'{"messages": [{"status": "15", "error-text": "Illegal Sender"}]}'), "VONAGE_15"),
    ("clickatell", RawAnswer(400, b'{"error": {"code": "a b c", "description": "d"}}'), "CLICKATELL_400"),
    ("clickatell", RawAnswer(400, b'{"error": {"code": 114, "description": "Cannot route"}}'), "CLICKATELL_114"),
    ("fcm", RawAnswer(404, b'{"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}'),
     "FCM_UNREGISTERED"),
    ("fcm", RawAnswer(403, b'{"error": {"details": [{"errorCode": "with spaces"}]}}'), "FCM_403"),
])
async def test_a_providers_error_code_is_kept_only_when_it_is_a_token(provider_sink, provider, answer, code):
    config = configs(provider_sink.base_url)[provider]
    provider_sink.script(provider, [answer])
    result = await send(config, outgoing(config))
    assert (result.outcome, result.error_code) == (Outcome.PERMANENT_FAILURE, code)


async def wait_for_cut(provider_sink, count: int) -> None:
    async with asyncio.timeout(10):
        while provider_sink.streams_cut_short < count:  # noqa: ASYNC110 (a short poll)
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("provider", ["twilio", "fcm", "apns"])
async def test_an_answer_without_end_is_cut_off_and_only_a_5xx_is_retried(provider_sink, provider):
    config = configs(provider_sink.base_url)[provider]
    endless = 64 * 1024 * 1024  # far past ANSWER_LIMIT_BYTES, and past any socket buffer
    assert endless > 100 * ANSWER_LIMIT_BYTES
    provider_sink.script(provider, [RawAnswer(200, stream_bytes=endless)])
    accepted = await send(config, outgoing(config))
    assert (accepted.outcome, accepted.error_code) == (Outcome.PERMANENT_FAILURE, "PROVIDER_ANSWER_TOO_LARGE")
    await wait_for_cut(provider_sink, 1)
    provider_sink.script(provider, [RawAnswer(503, stream_bytes=endless)])
    failing = await send(config, outgoing(config))
    assert (failing.outcome, failing.error_code) == (Outcome.TEMPORARY_FAILURE, "HTTP_503")
    await wait_for_cut(provider_sink, 2)


@pytest.mark.parametrize(("header", "seconds"), [("inf", None), ("nan", None), ("1e400", None), ("-5", 0.0),
                                                 ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("120", 120.0)])
async def test_a_retry_after_counts_only_as_a_finite_number_of_seconds(provider_sink, header, seconds):
    config = configs(provider_sink.base_url)["twilio"]
    provider_sink.script("twilio", [RawAnswer(429, b"{}", {"Content-Type": "application/json", "Retry-After": header})])
    result = await send(config, outgoing(config))
    assert (result.outcome, result.retry_after_seconds) == (Outcome.TEMPORARY_FAILURE, seconds)


@pytest.mark.parametrize("answer", [b"[]", b'{"access_token": 5}', b'{"access_token": ""}', b"not json",
                                    *DEEP_BODIES[:3], b'{"access_token": "t", "expires_in": %s}' % NEAR_THE_LIMIT])
async def test_a_token_endpoint_answer_without_a_token_is_a_temporary_auth_failure(provider_sink, answer):
    account = {"client_email": "engage@yes-bank.iam.example", "token_uri": f"{provider_sink.base_url}/token",
               "private_key": pkcs8_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))}
    config = ProviderConfig(ChannelKind.PUSH, "fcm", {"base_url": provider_sink.base_url, "project_id": "yes"},
                            {"service_account_json": json.dumps(account)})
    provider_sink.script("oauth", [RawAnswer(200, answer)])
    result = await send(config, outgoing(config))
    assert (result.outcome, result.error_code) == (Outcome.TEMPORARY_FAILURE, "FCM_AUTH")
    assert provider_sink.received("fcm") == []
