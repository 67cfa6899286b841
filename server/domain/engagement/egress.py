"""Which addresses the workers may send to: the rule of ENGAGE_PROVIDER_NETWORKS_ALLOWED, shared by the
workers (checked on every connection they open: workers/channels/egress.py) and the server (checked
when a bank admin saves a channel configuration, so that a refused host is told at once instead of
as a failed delivery later).

A provider's address is allowed when it is globally routable, or inside a network the operator lists
(a bank's own mail relay on 10.1.2.3, say). Channel configurations are written by each bank's admins:
without the rule a base URL or an SMTP host could point the workers at the operator's own network (a
metadata service, an internal API) and read the answer back in a delivery's error message.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

from server.domain.errors import FieldViolation, InvalidArgument

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTING = "ENGAGE_PROVIDER_NETWORKS_ALLOWED"


@dataclass(frozen=True)
class EgressPolicy:
    allowed_networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def from_setting(cls, text: str | None) -> Self:
        """Comma-separated networks ('10.1.2.0/24, 127.0.0.1'); ValueError naming a bad one."""
        networks = []
        for item in (text or "").split(","):
            if item.strip():
                try:
                    networks.append(ipaddress.ip_network(item.strip(), strict=False))
                except ValueError as exc:
                    raise ValueError(f"{SETTING}: '{item.strip()}' is not a network (e.g. 10.1.2.0/24)") from exc
        return cls(tuple(networks))

    def allows(self, address: str) -> bool:
        if self.lists(address):
            return True
        ip, mapped = _forms(address)
        judged = mapped or ip
        return judged.is_global and not judged.is_multicast

    def lists(self, address: str) -> bool:
        """Whether the address is inside a network the operator lists."""
        return any(form in network for form in _forms(address) if form is not None for network in self.allowed_networks)


def _forms(address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ipaddress.IPv4Address | None]:
    """The address (without an IPv6 zone: fe80::1%eth0), and the IPv4 address it maps when it is one
    (::ffff:127.0.0.1 is 127.0.0.1: judged as such, and allowed by a network written either way)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip, ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None


@dataclass(frozen=True)
class ProviderHost:
    """The host a channel configuration makes the workers connect to, and the setting that names it."""

    field: str
    host: str

    @property
    def address(self) -> str | None:
        """The host when it is an IP address written out (no name to resolve)."""
        try:
            return str(ipaddress.ip_address(self.host))
        except ValueError:
            return None


def provider_host(provider: str, settings: Mapping[str, str]) -> ProviderHost | None:
    """The SMTP server's host, or the host of an HTTP provider's base_url; None when the configuration
    leaves it to the provider's public default."""
    if provider == "smtp" and settings.get("host", "").strip():
        return ProviderHost("channel_config.settings.host", settings["host"].strip())
    if settings.get("base_url"):
        try:
            host = urlsplit(settings["base_url"]).hostname
        except ValueError:  # an unbalanced [ in the URL: setup_validation reports the URL itself
            return None
        if host:
            return ProviderHost("channel_config.settings.base_url", host)
    return None


def host_refused(policy: EgressPolicy, found: ProviderHost, addresses: Iterable[str]) -> InvalidArgument | None:
    """The error for a host whose every address the policy refuses (None when one is allowed, or when
    there is no address to judge)."""
    addresses = list(dict.fromkeys(addresses))
    if not addresses or any(policy.allows(address) for address in addresses):
        return None
    shown = found.host if addresses == [found.host] else f"{found.host} ({', '.join(addresses)})"
    return InvalidArgument(
        "CHANNEL_CONFIG_HOST_NOT_ALLOWED",
        f"{shown} is not an address the workers may send to: only public addresses are, and the networks "
        f"the operator lists in {SETTING}",
        violations=[FieldViolation(found.field, f"a host the workers may reach ({SETTING})")])
