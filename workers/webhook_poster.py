"""The WebhookPoster the webhook deliveries POST through: httpcore (httpx's transport) connecting only
where the egress policy allows (workers.channels.http), with a timeout; an answer or the reason there
was none, never an exception. A plain-http webhook connects only to the networks the operator lists, as
it was checked when saved (server.domain.triggers.notifications): a name that resolves elsewhere since
is refused at the connection, not sent in clear to the public internet."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpcore

from server.domain.triggers.notifications import AttemptOutcome
from workers.channels.egress import EgressDenied, EgressPolicy
from workers.channels.http import Http2Client

TIMEOUT_SECONDS = 10.0
SHOWN_ANSWER = 200  # characters of a refusing answer kept in the attempt's error


class ListedNetworksOnly(EgressPolicy):
    """Only the networks the operator lists: where plain http may go."""

    def allows(self, address: str) -> bool:
        return self.lists(address)


class EgressWebhookPoster:
    def __init__(self, egress: EgressPolicy, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._client = Http2Client(timeout_seconds, egress)
        self._plain_client = Http2Client(timeout_seconds, ListedNetworksOnly(egress.allowed_networks))
        self._timeout = timeout_seconds

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        parts = urlsplit(url)
        host = parts.netloc
        client = self._plain_client if parts.scheme == "http" else self._client
        try:
            # The client's timeout bounds each phase (connect, write, read); this one the whole POST, so
            # that an attempt ends well within its lease (server.services.triggers.webhooks.LEASE).
            async with asyncio.timeout(self._timeout):
                answer = await client.post(url, content=body, headers={"Host": host, **headers})
        except EgressDenied as exc:
            return AttemptOutcome(None, f"EGRESS_DENIED: {exc}")
        except (httpcore.TimeoutException, TimeoutError) as exc:
            return AttemptOutcome(None, f"TIMEOUT: {type(exc).__name__} after {self._timeout:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
            return AttemptOutcome(None, f"{type(exc).__name__}: {exc}"[:500])
        if answer.is_success:
            return AttemptOutcome(answer.status_code)
        return AttemptOutcome(answer.status_code,
                              f"HTTP {answer.status_code} {answer.reason_phrase}: {answer.text[:SHOWN_ANSWER]}")

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._plain_client.aclose()
