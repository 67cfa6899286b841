"""The email sender keeps its SMTP sessions open from message to message, against a real SMTP server
(aiosmtpd): how many sessions it opens, and that it recovers when the server ends them."""

import asyncio

import pytest

from tests.support.egress import LOCAL_EGRESS
from workers.channels import build_sender, smtp_sessions
from workers.channels.base import ChannelKind, Outcome, OutgoingMessage, ProviderConfig
from workers.channels.smtp_sessions import DEFAULT_SESSIONS, MAX_MESSAGES_PER_SESSION


def mail(number: int) -> OutgoingMessage:
    return OutgoingMessage(delivery_id=f"d{number}", idempotency_key=f"k{number}", kind=ChannelKind.EMAIL,
                           address=f"c{number}@example.com", content={"subject": f"Alert {number}", "text": "t"})


def config(sink, from_name: str = "Bank", **settings: str) -> ProviderConfig:
    return ProviderConfig(ChannelKind.EMAIL, "smtp", {"host": sink.host, "port": str(sink.port), "security": "NONE",
                                                      "from_address": "alerts@bank.example", "from_name": from_name,
                                                      **settings},
                          {"username": "u", "password": "p"})


async def test_messages_in_a_row_share_one_session(smtp_sink):
    sender = build_sender(config(smtp_sink, from_name="Banka Česká"), egress=LOCAL_EGRESS, timeout_seconds=5)
    try:
        results = [await sender.send(mail(n)) for n in range(3)]
    finally:
        await sender.aclose()
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    received = await smtp_sink.wait_for(3)
    assert smtp_sink.logins == [("u", "p")]  # one session, one login
    assert [m["Subject"] for m in received] == ["Alert 0", "Alert 1", "Alert 2"]
    assert received[0]["From"] == "Banka Česká <alerts@bank.example>"
    assert smtp_sink.envelopes[0] == ("alerts@bank.example", ["c0@example.com"])


@pytest.mark.parametrize(("settings", "most"), [({}, DEFAULT_SESSIONS), ({"max_sessions": "2"}, 2)])
async def test_concurrent_messages_use_a_few_sessions_at_most(smtp_sink, settings, most):
    sender = build_sender(config(smtp_sink, **settings), egress=LOCAL_EGRESS, timeout_seconds=5)
    try:
        results = await asyncio.gather(*(sender.send(mail(n)) for n in range(30)))
    finally:
        await sender.aclose()
    assert {r.outcome for r in results} == {Outcome.SENT}
    assert len(await smtp_sink.wait_for(30)) == 30
    assert 1 < len(smtp_sink.logins) <= most


async def test_a_session_is_replaced_after_its_share_of_messages(smtp_sink):
    sender = build_sender(config(smtp_sink), egress=LOCAL_EGRESS, timeout_seconds=5)
    try:
        for n in range(MAX_MESSAGES_PER_SESSION + 1):
            assert (await sender.send(mail(n))).outcome is Outcome.SENT
    finally:
        await sender.aclose()
    assert len(await smtp_sink.wait_for(MAX_MESSAGES_PER_SESSION + 1)) == MAX_MESSAGES_PER_SESSION + 1
    assert len(smtp_sink.logins) == 2


async def test_a_refused_message_ends_its_session_and_the_next_one_goes_through(smtp_sink):
    smtp_sink.script("550 5.1.1 No such user")
    sender = build_sender(config(smtp_sink), egress=LOCAL_EGRESS, timeout_seconds=5)
    try:
        refused, accepted = await sender.send(mail(1)), await sender.send(mail(2))
    finally:
        await sender.aclose()
    assert (refused.outcome, refused.error_code, accepted.outcome) == (
        Outcome.PERMANENT_FAILURE, "SMTP_550", Outcome.SENT)
    [received] = await smtp_sink.wait_for(1)
    assert received["Subject"] == "Alert 2" and len(smtp_sink.logins) == 2


async def test_sessions_the_server_ended_are_not_used_again(smtp_sink):
    sender = build_sender(config(smtp_sink), egress=LOCAL_EGRESS, timeout_seconds=5)
    try:
        assert (await sender.send(mail(1))).outcome is Outcome.SENT
        await smtp_sink.restart()  # the server goes away and comes back: the idle session is gone
        assert (await sender.send(mail(2))).outcome is Outcome.SENT
    finally:
        await sender.aclose()
    assert [m["Subject"] for m in await smtp_sink.wait_for(2)] == ["Alert 1", "Alert 2"]
    assert len(smtp_sink.logins) == 2


async def test_a_session_idle_for_a_while_is_checked_before_its_next_message(smtp_sink, monkeypatch):
    monkeypatch.setattr(smtp_sessions, "IDLE_CHECK_SECONDS", 0.0)
    smtp_sink.noop_replies = ["250 OK", "421 4.4.2 Idle too long, closing"]
    sender = build_sender(config(smtp_sink), egress=LOCAL_EGRESS, timeout_seconds=5)
    try:
        for n in range(3):
            assert (await sender.send(mail(n))).outcome is Outcome.SENT
    finally:
        await sender.aclose()
    assert len(await smtp_sink.wait_for(3)) == 3
    # The first check passed and kept the session; the second failed and a new session was opened.
    assert (smtp_sink.noops, len(smtp_sink.logins)) == (2, 2)
