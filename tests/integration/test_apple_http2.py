"""APNs and Apple Wallet pass updates over HTTP/2 with TLS, as Apple's servers take them only that way:
through an HTTP/2 front (hypercorn, ALPN h2 only, a certificate from a throwaway CA) to the provider
sink, which checks and records each request as it does over HTTP/1.1."""

import asyncio

import pytest
import trustme

from tests.support.egress import LOCAL_EGRESS
from tests.support.keys import apns_key_pem
from tests.support.sinks.http2_front import Http2Front
from workers.channels import build_sender
from workers.channels.base import ChannelKind, Outcome, OutgoingMessage, ProviderConfig, SendResult


@pytest.fixture
def authority(tmp_path, monkeypatch) -> trustme.CA:
    """A CA the senders trust (httpx reads SSL_CERT_FILE), which issues the front's certificate."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return ca


def push(number: int) -> OutgoingMessage:
    return OutgoingMessage(delivery_id=f"d{number}", idempotency_key=f"k{number}", kind=ChannelKind.PUSH,
                           address=f"{number:064x}", content={"title": f"Alert {number}", "body": "B"})


def apns_config(front: Http2Front) -> ProviderConfig:
    key = apns_key_pem()
    return ProviderConfig(ChannelKind.PUSH, "apns", {"base_url": front.base_url, "topic": "com.yesbank.app",
                                                     "team_id": "TEAM123456", "key_id": "KEY1234567"},
                          {"private_key": key})


async def test_apns_pushes_go_over_http2_sharing_a_connection(provider_sink, authority, tmp_path):
    async with Http2Front(provider_sink, authority, tmp_path) as front:
        sender = build_sender(apns_config(front), egress=LOCAL_EGRESS, timeout_seconds=5)
        try:
            first = await sender.send(push(0))
            rest = await asyncio.gather(*(sender.send(push(n)) for n in range(1, 20)))
        finally:
            await sender.aclose()
    assert {r.outcome for r in [first, *rest]} == {Outcome.SENT}
    assert front.http_versions == ["2"] * 20
    assert len(front.connections) == 1  # one connection, its streams multiplexed
    received = provider_sink.received("apns")
    assert sorted(r.body["aps"]["alert"]["title"] for r in received) == sorted(f"Alert {n}" for n in range(20))
    assert received[0].headers["apns-topic"] == "com.yesbank.app"
    assert first.provider_message_id == received[0].headers["apns-id"]


async def send_pass_update(front: Http2Front, issuer: trustme.CA) -> SendResult:
    """One pass update, authenticated with a pass certificate that `issuer` issued."""
    certificate = issuer.issue_cert("pass.com.yesbank.store")
    sender = build_sender(ProviderConfig(
        ChannelKind.PASS, "apple_pass", {"base_url": front.base_url, "pass_type_identifier": "pass.com.yesbank.store"},
        {"certificate_pem": certificate.cert_chain_pems[0].bytes().decode(),
         "private_key_pem": certificate.private_key_pem.bytes().decode()}), egress=LOCAL_EGRESS, timeout_seconds=5)
    try:
        return await sender.send(OutgoingMessage(delivery_id="d1", idempotency_key="k1", kind=ChannelKind.PASS,
                                                 address="pass-device-token", content={"message": "Balance updated"}))
    finally:
        await sender.aclose()


async def test_pass_updates_go_over_http2_with_the_pass_certificate(provider_sink, authority, tmp_path):
    async with Http2Front(provider_sink, authority, tmp_path, require_client_certificate=True) as front:
        result = await send_pass_update(front, authority)
    assert result.outcome is Outcome.SENT and front.http_versions == ["2"]
    [update] = provider_sink.received("apple_pass")
    assert (update.body, update.headers["apns-topic"]) == ({}, "pass.com.yesbank.store")


async def test_a_pass_certificate_apple_did_not_issue_is_refused(provider_sink, authority, tmp_path):
    async with Http2Front(provider_sink, authority, tmp_path, require_client_certificate=True) as front:
        result = await send_pass_update(front, trustme.CA())
    assert result.outcome is not Outcome.SENT and provider_sink.received("apple_pass") == []
