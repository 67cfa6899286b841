"""What the HTTP providers share: one client per sender, and the usual classification of answers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx

from workers.channels.base import SendResult, permanent, temporary


def new_client(timeout_seconds: float, http2: bool = False, cert: tuple[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_seconds), http2=http2, cert=cert)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def stable_uuid(idempotency_key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"engage:{idempotency_key}"))


async def post(call: Callable[[], Awaitable[httpx.Response]],
               interpret: Callable[[httpx.Response], SendResult]) -> SendResult:
    """Runs one provider request: transport problems and 429/5xx are temporary, other 4xx permanent;
    `interpret` reads the provider's own answer (success or its error body)."""
    try:
        response = await call()
    except httpx.TimeoutException as exc:
        return temporary("TIMEOUT", f"the provider did not answer in time ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return temporary("CONNECTION_ERROR", f"could not reach the provider: {exc!r}")
    if response.status_code == 429 or response.status_code >= 500:
        return temporary(f"HTTP_{response.status_code}", response.text[:300] or response.reason_phrase,
                         retry_after(response))
    return interpret(response)


def http_error(response: httpx.Response, code: str | None = None, message: str | None = None) -> SendResult:
    return permanent(code or f"HTTP_{response.status_code}", message or response.text[:300] or response.reason_phrase)
