"""A TCP proxy in front of a real server (PostgreSQL), whose link a test can cut in the two ways a
database goes away:

- `refuse`: nothing listens any more (a new connection is refused) and every open connection is reset,
  as when the database's host is up but PostgreSQL is not;
- `blackhole`: connections are still accepted but nothing goes through, either way, on new or open
  ones, as when packets are dropped (a firewall, a partition). Bytes read before the cut are held, not
  lost, and go on when the link is restored, as TCP would retransmit them.

`pass` forwards everything. The proxy runs on the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Literal

Mode = Literal["pass", "refuse", "blackhole"]
CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._listen_host = listen_host
        self.port = 0
        self.mode: Mode = "pass"
        self._server: asyncio.Server | None = None
        self._passing = asyncio.Event()
        self._passing.set()
        self._links: set[_Link] = set()
        self.accepted = 0

    @property
    def address(self) -> tuple[str, int]:
        return self._listen_host, self.port

    async def start(self) -> TcpProxy:
        await self._listen()
        return self

    async def _listen(self) -> None:
        # The same port when the link comes back: SO_REUSEADDR lets it be bound again at once.
        self._server = await asyncio.start_server(self._accept, self._listen_host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def set_mode(self, mode: Mode) -> None:
        if mode == self.mode:
            return
        if self.mode == "refuse":
            await self._listen()
        self.mode = mode
        if mode == "pass":
            self._passing.set()
            return
        self._passing.clear()
        if mode == "refuse":
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            for link in list(self._links):
                link.reset()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.reset()
        await asyncio.sleep(0)  # lets the links' tasks see it
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(client_writer)
        self._links.add(link)
        try:
            if not await self._until_passing(link):  # a blackholed connection is accepted, then nothing
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
            except OSError:
                link.reset()
                return
            link.upstream = upstream_writer
            await asyncio.gather(self._pump(client_reader, upstream_writer, link),
                                 self._pump(upstream_reader, client_writer, link))
        finally:
            self._links.discard(link)
            link.close()

    async def _until_passing(self, link: _Link) -> bool:
        """Waits while the link is cut; False once this connection is closed."""
        if not self._passing.is_set() and not link.closed:
            waits = {asyncio.ensure_future(self._passing.wait()), asyncio.ensure_future(link.ended.wait())}
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for wait in pending:
                wait.cancel()
        return not link.closed

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link) -> None:
        try:
            while await self._until_passing(link):
                data = await reader.read(CHUNK)
                if not data:
                    break
                if not await self._until_passing(link):  # read just before a cut: held until it is back
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            link.close()


class _Link:
    """One client connection and its connection to the target."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.ended = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self.ended.is_set()

    def reset(self) -> None:
        """Both ends get a TCP reset (SO_LINGER 0), not an orderly close."""
        self.ended.set()
        for writer in (self.client, self.upstream):
            if writer is None or writer.transport.is_closing():
                continue
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    def close(self) -> None:
        self.ended.set()
        for writer in (self.client, self.upstream):
            if writer is not None and not writer.transport.is_closing():
                writer.close()
