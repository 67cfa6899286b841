"""Open SMTP sessions to one server, reused from message to message: opening one costs a TCP connect,
the greeting, EHLO, TLS and a login where configured, several times the exchange of a message itself.
aiosmtplib sends one message at a time per session, so a few sessions run side by side."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiosmtplib

# Sessions to one server at once, per worker process, unless the configuration's max_sessions says
# otherwise: a dispatch batch (100 deliveries, 25 s) then needs under 2 s per message, and two workers
# stay far below the connections a server allows one client (Postfix: 50 by default). Messages per
# session before it is replaced: some servers limit them.
DEFAULT_SESSIONS = 8
MAX_MESSAGES_PER_SESSION = 25
# A session idle this long is asked NOOP before its next message: servers close idle sessions (RFC 5321
# allows after 5 minutes), and a message sent into one that is closing would fail for nothing.
IDLE_CHECK_SECONDS = 15.0


@dataclass
class _Session:
    client: aiosmtplib.SMTP
    messages: int = 0
    last_used: float = field(default_factory=time.monotonic)


class SmtpSessions:
    def __init__(self, connect: Callable[[], Awaitable[aiosmtplib.SMTP]], limit: int = DEFAULT_SESSIONS) -> None:
        self._connect = connect  # a new session, connected (and logged in where configured)
        self._idle: list[_Session] = []
        self._slots = asyncio.Semaphore(limit)
        self._closed = False

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected client for one message. A session that raised is closed, not reused: after a
        failure its state on the server is not known."""
        async with self._slots:
            session = await self._take()
            try:
                yield session.client
            except BaseException:
                session.client.close()
                raise
            session.messages += 1
            session.last_used = time.monotonic()
            if self._closed or session.messages >= MAX_MESSAGES_PER_SESSION:
                await _quit(session.client)
            else:
                self._idle.append(session)

    async def _take(self) -> _Session:
        while self._idle:
            session = self._idle.pop()
            if await _still_open(session):
                return session
            session.client.close()
        return _Session(await self._connect())

    async def aclose(self) -> None:
        """Ends the idle sessions; those in use end when their message is through."""
        self._closed = True
        idle, self._idle = self._idle, []
        for session in idle:
            await _quit(session.client)


async def _still_open(session: _Session) -> bool:
    if not session.client.is_connected:
        return False
    if time.monotonic() - session.last_used < IDLE_CHECK_SECONDS:
        return True
    try:
        await session.client.noop()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        return False
    return True


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()
