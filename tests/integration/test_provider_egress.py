"""The egress policy on each kind of client the senders use (aiohttp, httpcore, the SMTP socket): a provider
address on this machine is refused unless the operator allowed its network, before any byte reaches it,
as a permanent EGRESS_DENIED; by name or by address alike."""

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.support.keys import apns_key_pem
from workers.channels import build_sender
from workers.channels.base import ChannelKind, Outcome, OutgoingMessage, ProviderConfig
from workers.channels.egress import EgressPolicy

PUBLIC_ONLY = EgressPolicy()
SMS = OutgoingMessage(delivery_id="d1", idempotency_key="k1", kind=ChannelKind.SMS, address="+420601234567",
                      content={"text": "Hello"})


def twilio(base_url: str) -> ProviderConfig:
    return ProviderConfig(ChannelKind.SMS, "twilio", {"base_url": base_url, "account_sid": "AC" + "0" * 32,
                                                      "from_number": "+15005550006"}, {"auth_token": "t"})


async def send(config: ProviderConfig, message: OutgoingMessage, egress: EgressPolicy):
    sender = build_sender(config, egress=egress, timeout_seconds=2)
    try:
        return await sender.send(message)
    finally:
        await sender.aclose()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_sms_through_aiohttp_to_this_machine_is_refused_unless_allowed(provider_sink, host):
    config = twilio(f"http://{host}:{provider_sink.port}")
    refused = await send(config, SMS, PUBLIC_ONLY)
    assert (refused.outcome, refused.error_code) == (Outcome.PERMANENT_FAILURE, "EGRESS_DENIED")
    assert "ENGAGE_PROVIDER_NETWORKS_ALLOWED" in refused.error_message
    assert provider_sink.requests == {}
    allowed = await send(config, SMS, EgressPolicy.from_setting("127.0.0.1/32, ::1"))
    assert allowed.outcome is Outcome.SENT and provider_sink.requests == {"twilio": 1}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_push_through_httpcore_to_this_machine_is_refused(provider_sink, host):
    config = ProviderConfig(ChannelKind.PUSH, "apns", {"base_url": f"http://{host}:{provider_sink.port}",
                                                       "topic": "com.yesbank.app", "team_id": "TEAM123456",
                                                       "key_id": "KEY1234567"}, {"private_key": apns_key_pem()})
    push = OutgoingMessage(delivery_id="d1", idempotency_key="k1", kind=ChannelKind.PUSH, address="ab" * 32,
                           content={"title": "T", "body": "B"})
    refused = await send(config, push, PUBLIC_ONLY)
    assert (refused.outcome, refused.error_code) == (Outcome.PERMANENT_FAILURE, "EGRESS_DENIED")
    assert provider_sink.requests == {}


async def test_email_to_a_mail_server_on_this_machine_is_refused(smtp_sink):
    config = ProviderConfig(ChannelKind.EMAIL, "smtp", {"host": smtp_sink.host, "port": str(smtp_sink.port),
                                                        "security": "NONE", "from_address": "alerts@bank.example"},
                            {"username": "u", "password": "p"})
    mail = OutgoingMessage(delivery_id="d1", idempotency_key="k1", kind=ChannelKind.EMAIL, address="lisa@example.com",
                           content={"subject": "S", "text": "T"})
    refused = await send(config, mail, PUBLIC_ONLY)
    assert (refused.outcome, refused.error_code) == (Outcome.PERMANENT_FAILURE, "EGRESS_DENIED")
    assert smtp_sink.logins == [] and smtp_sink.raw == []


def test_a_network_that_is_not_one_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'10\.1\.2\.0/33' is not a network"):
        EgressPolicy.from_setting("127.0.0.1, 10.1.2.0/33")


@given(st.ip_addresses())
@example(ipaddress.ip_address("::ffff:0:0"))  # an IPv4 address as IPv6, in a network written as IPv6
def test_an_address_is_allowed_when_public_or_in_an_allowed_network(address):
    judged = getattr(address, "ipv4_mapped", None) or address  # an IPv4 address written as IPv6 is itself
    assert PUBLIC_ONLY.allows(str(address)) == (judged.is_global and not judged.is_multicast)
    network = ipaddress.ip_network(f"{address}/{address.max_prefixlen - 8}", strict=False)
    assert EgressPolicy((network,)).allows(str(address))


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_written_as_ipv6_is_judged_as_itself(address):
    assert PUBLIC_ONLY.allows(f"::ffff:{address}") == PUBLIC_ONLY.allows(str(address))

