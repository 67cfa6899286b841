"""A channel configuration's host checked against the egress policy when it is saved, so that a bank admin
hears of a refused host from the save, not from a delivery that fails EGRESS_DENIED later.

The workers check again on every connection (after their own resolution): this is the early answer,
not the guard. So a host name that does not resolve here is accepted, with a warning logged: the
workers may resolve names the server cannot (a relay in the bank's network, a split DNS), and they
refuse it then if it is not allowed. A name is refused only when every address it resolves to is.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping

import structlog

from server.domain.engagement.egress import EgressPolicy, host_refused, provider_host

log = structlog.get_logger(__name__)

# A save waits at most this long for the resolver; past it the name counts as unresolved.
RESOLVE_TIMEOUT_SECONDS = 2.0


async def check_provider_host(policy: EgressPolicy, provider: str, settings: Mapping[str, str],
                              timeout_seconds: float = RESOLVE_TIMEOUT_SECONDS) -> None:
    """InvalidArgument CHANNEL_CONFIG_HOST_NOT_ALLOWED when the configuration's host is refused."""
    found = provider_host(provider, settings)
    if found is None:
        return
    addresses = [found.address] if found.address else await resolve_addresses(found.host, timeout_seconds)
    if addresses is None:
        log.warning("provider_host_unresolved", host=found.host, field=found.field, provider=provider,
                    note="saved unchecked: the workers check the addresses they connect to")
        return
    refused = host_refused(policy, found, addresses)
    if refused is not None:
        raise refused


async def resolve_addresses(host: str, timeout_seconds: float = RESOLVE_TIMEOUT_SECONDS) -> list[str] | None:
    """The host's addresses, each once (the resolver runs off the event loop, in the loop's executor);
    None when it does not resolve in time. For the checks made when a host is saved."""
    try:
        async with asyncio.timeout(timeout_seconds):
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):  # gaierror is an OSError; a label past 63 characters a UnicodeError
        return None
    return list(dict.fromkeys(str(sockaddr[0]) for _, _, _, _, sockaddr in infos))
