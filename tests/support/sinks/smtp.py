"""An SMTP server (aiosmtpd) on a free local port that keeps every message it accepts, parsed when a
test first reads it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.ports import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
        self._sink.noops += 1
        return self._sink.noop_replies.pop(0) if self._sink.noop_replies else "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._sink.scripted:
            return self._sink.scripted.pop(0)
        self._sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self._sink.raw.append(envelope.content)
        return "250 OK: queued"


class SmtpSink:
    host = "127.0.0.1"

    def __init__(self, security: str = "NONE", certificate: ssl.SSLContext | None = None) -> None:
        """`security` as a channel configuration names it: NONE, STARTTLS (offered and required before
        anything else) or TLS (from the first byte); the last two present `certificate`."""
        if (security == "NONE") != (certificate is None):
            raise ValueError("STARTTLS and TLS need a certificate, NONE none")
        self.security = security
        self._certificate = certificate
        self.port = free_port()
        self.raw: list[bytes] = []  # as received; appended by the server's thread
        self._parsed: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.scripted: list[str] = []  # replies for the next messages instead of 250, e.g. "451 4.3.0 busy"
        self.logins: list[tuple[str, str]] = []
        self.noops = 0
        self.noop_replies: list[str] = []  # replies for the next NOOPs instead of 250
        self._controller = self._new_controller()

    def _new_controller(self) -> Controller:
        tls: dict[str, Any] = {"TLS": {"ssl_context": self._certificate},
                               "STARTTLS": {"tls_context": self._certificate, "require_starttls": True}
                               }.get(self.security, {})
        return Controller(_Handler(self), hostname=self.host, port=self.port, auth_require_tls=False,
                          authenticator=self._authenticate, **tls)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        # Any credentials are accepted and remembered, so that tests can check what was sent.
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def script(self, *replies: str) -> None:
        self.scripted.extend(replies)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every accepted message, parsed. Parsing waits for this read: the dispatch bench's thousands of
        messages need only be counted, and parsing each as it came was most of the sink's CPU."""
        for raw in self.raw[len(self._parsed):]:
            self._parsed.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return list(self._parsed)

    async def wait_for_count(self, count: int, timeout: float = 10.0) -> None:
        # The server runs on its own thread and loop: poll rather than share an asyncio.Event.
        async with asyncio.timeout(timeout):
            while len(self.raw) < count:  # noqa: ASYNC110 (a short poll)
                await asyncio.sleep(0.02)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        await self.wait_for_count(count, timeout)
        return self.messages

    async def __aenter__(self) -> SmtpSink:
        await asyncio.to_thread(self._controller.start)
        return self

    async def restart(self) -> None:
        """Stops (ending every open session) and starts again on the same port."""
        await asyncio.to_thread(self._controller.stop)
        self._controller = self._new_controller()  # a controller does not start twice
        await asyncio.to_thread(self._controller.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self._controller.stop)
