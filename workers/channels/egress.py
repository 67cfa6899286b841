"""Where the workers may connect when they send: the rule (public addresses, and the networks the
operator lists in ENGAGE_PROVIDER_NETWORKS_ALLOWED) is the domain's (server/domain/engagement/egress.py);
here it is applied to the connections the senders open. The check is made on the addresses a
connection is opened to, after name resolution, so a name that resolves to a public address when
checked and a private one when connecting (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.domain.engagement import egress

Connection = TypeVar("Connection")


class EgressDenied(OSError):
    """The host resolves to no address the workers may reach. Permanent: the configuration has to change
    (or the operator allow the network). An OSError, as the HTTP clients expect of a failed connect."""


class EgressPolicy(egress.EgressPolicy):
    """The domain's policy, with the resolving and connecting that only the workers do."""

    def socket_for(self, addr_info: tuple[Any, ...]) -> socket.socket:
        """A socket for one resolved address (family, type, proto, canonname, sockaddr), made only when
        the address is allowed: for clients that open their sockets through a factory."""
        family, kind, proto, _, sockaddr = addr_info
        if not self.allows(str(sockaddr[0])):
            raise EgressDenied(f"{sockaddr[0]} is not an address the workers may reach "
                               f"(ENGAGE_PROVIDER_NETWORKS_ALLOWED)")
        return socket.socket(family, kind, proto)

    async def resolve(self, host: str, port: int, timeout: float | None = None
                      ) -> list[tuple[socket.AddressFamily, str]]:
        """The host's addresses the workers may connect to, in resolver order; EgressDenied if none."""
        async with asyncio.timeout(timeout):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys((family, str(sockaddr[0])) for family, _, _, _, sockaddr in infos))
        allowed: list[tuple[socket.AddressFamily, str]] = [
            (family, address) for family, address in addresses if self.allows(address)]
        if not allowed:
            raise EgressDenied(f"{host} resolves to {', '.join(a for _, a in addresses) or 'nothing'}: not an "
                               f"address the workers may reach (ENGAGE_PROVIDER_NETWORKS_ALLOWED)")
        return allowed

    async def connect_first(self, host: str, port: int, timeout: float | None,
                            connect: Callable[[socket.AddressFamily, str], Awaitable[Connection]],
                            failures: tuple[type[Exception], ...]) -> Connection:
        """`connect` to the host's allowed addresses in resolver order until one succeeds; the last
        of `failures` if none does."""
        last: Exception | None = None
        for family, address in await self.resolve(host, port, timeout):
            try:
                return await connect(family, address)
            except failures as exc:
                last = exc
        assert last is not None  # resolve() returned at least one address
        raise last

    async def open_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP socket connected to an allowed address of the host."""

        async def connect(family: socket.AddressFamily, address: str) -> socket.socket:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.get_running_loop().sock_connect(sock, (address, port))
            except BaseException:
                sock.close()
                raise
            return sock

        return await self.connect_first(host, port, timeout, connect, (OSError,))  # TimeoutError included
