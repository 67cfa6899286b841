"""An SMTP server (aiosmtpd) on a free local port that keeps every message it accepts, parsed."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from server.embedded_redis import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._sink.scripted:
            return self._sink.scripted.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self._sink.messages.append(message)  # type: ignore[arg-type]
        self._sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK: queued"


class SmtpSink:
    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.scripted: list[str] = []  # replies for the next messages instead of 250, e.g. "451 4.3.0 busy"
        self.logins: list[tuple[str, str]] = []
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, auth_require_tls=False,
                                      authenticator=self._authenticate)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        # Any credentials are accepted and remembered, so that tests can check what was sent.
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def script(self, *replies: str) -> None:
        self.scripted.extend(replies)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        # The server runs on its own thread and loop: poll rather than share an asyncio.Event.
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:  # noqa: ASYNC110 (a short poll)
                await asyncio.sleep(0.02)
        return list(self.messages)

    async def __aenter__(self) -> SmtpSink:
        await asyncio.to_thread(self._controller.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self._controller.stop)
