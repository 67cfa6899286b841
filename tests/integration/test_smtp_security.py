"""The email sender's security modes against a real SMTP server (aiosmtpd) presenting a certificate
from a throwaway CA: STARTTLS and TLS carry the login and the message, and a certificate the sender
cannot verify stops the send."""

import ssl

import pytest
import trustme

from tests.support.egress import LOCAL_EGRESS
from tests.support.sinks.smtp import SmtpSink
from workers.channels import build_sender
from workers.channels.base import ChannelKind, Outcome, OutgoingMessage, ProviderConfig


@pytest.fixture
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def server_certificate(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(SmtpSink.host).configure_cert(context)
    return context


def mail(number: int) -> OutgoingMessage:
    return OutgoingMessage(delivery_id=f"d{number}", idempotency_key=f"k{number}", kind=ChannelKind.EMAIL,
                           address="lisa@example.com", content={"subject": f"Statement {number}", "text": "t"})


def config(sink: SmtpSink) -> ProviderConfig:
    return ProviderConfig(ChannelKind.EMAIL, "smtp", {"host": sink.host, "port": str(sink.port),
                                                      "security": sink.security, "from_address": "a@bank.example"},
                          {"username": "u", "password": "p"})


@pytest.mark.parametrize("security", ["STARTTLS", "TLS"])
async def test_messages_go_over_tls_with_one_login(security, certificate_authority, tmp_path, monkeypatch):
    # The sender trusts what the system does: here the throwaway CA, through OpenSSL's SSL_CERT_FILE.
    certificate_authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    async with SmtpSink(security, server_certificate(certificate_authority)) as sink:
        sender = build_sender(config(sink), egress=LOCAL_EGRESS, timeout_seconds=5)
        try:
            results = [await sender.send(mail(n)) for n in range(2)]
        finally:
            await sender.aclose()
        assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
        assert [m["Subject"] for m in await sink.wait_for(2)] == ["Statement 0", "Statement 1"]
        assert sink.logins == [("u", "p")]


@pytest.mark.parametrize("security", ["STARTTLS", "TLS"])
async def test_a_certificate_from_an_unknown_authority_stops_the_send(security, certificate_authority):
    async with SmtpSink(security, server_certificate(certificate_authority)) as sink:
        sender = build_sender(config(sink), egress=LOCAL_EGRESS, timeout_seconds=5)
        try:
            result = await sender.send(mail(1))
        finally:
            await sender.aclose()
        assert (result.outcome, result.error_code) == (Outcome.TEMPORARY_FAILURE, "SMTP_CONNECTION")
        assert sink.raw == [] and sink.logins == []
