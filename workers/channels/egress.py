"""Where the workers may connect when they send: the providers' addresses come from channel
configurations that each bank's admins write (a base URL, an SMTP host), so without a check a bank
could point them at the operator's own network (a metadata service, an internal API) and read the
answer back in a delivery's error message.

A provider's address is allowed when it is globally routable, or inside a network the operator lists
in ENGAGE_PROVIDER_NETWORKS_ALLOWED (a bank's own mail relay on 10.1.2.3, say). The check is made on
the addresses a connection is opened to, after name resolution, so a name that resolves to a public
address when checked and a private one when connecting (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Connection = TypeVar("Connection")


class EgressDenied(OSError):
    """The host resolves to no address the workers may reach. Permanent: the configuration has to change
    (or the operator allow the network). An OSError, as the HTTP clients expect of a failed connect."""


@dataclass(frozen=True)
class EgressPolicy:
    allowed_networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def from_setting(cls, text: str | None) -> EgressPolicy:
        """Comma-separated networks ('10.1.2.0/24, 127.0.0.1'); ValueError naming a bad one."""
        networks = []
        for item in (text or "").split(","):
            if item.strip():
                try:
                    networks.append(ipaddress.ip_network(item.strip(), strict=False))
                except ValueError as exc:
                    raise ValueError(f"ENGAGE_PROVIDER_NETWORKS_ALLOWED: '{item.strip()}' is not a network "
                                     f"(e.g. 10.1.2.0/24)") from exc
        return cls(tuple(networks))

    def allows(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone (fe80::1%eth0)
        # ::ffff:127.0.0.1 is 127.0.0.1: judged as such, and allowed by a network written either way.
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if any(form in network for form in (ip, mapped) if form is not None for network in self.allowed_networks):
            return True
        judged = mapped or ip
        return judged.is_global and not judged.is_multicast

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
