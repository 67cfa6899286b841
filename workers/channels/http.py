"""What the HTTP providers share: one client per sender, one shape of answer, and the usual
classification of answers.

HTTP/1.1 providers (the SMS APIs, FCM) go through aiohttp, HTTP/2 ones (APNs, wallet passes) through
httpx, which speaks HTTP/2. aiohttp because httpx's connection pool looks at every pooled connection
on every request (a socket check each): with a batch's sends in flight at once that was the largest
part of a dispatch worker's CPU."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx

from workers.channels.base import SendResult, permanent, temporary


@dataclass(frozen=True)
class HttpAnswer:
    """A provider's answer, read whole; the adapters decide what it means."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]  # names case-insensitive
    text: str

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.text)


class Http1Client:
    """A pooled aiohttp session, opened on first use (aiohttp wants a running event loop)."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, *, form: dict[str, str] | None = None, json_body: Any = None,
                   headers: dict[str, str] | None = None) -> HttpAnswer:
        if self._session is None:
            # Providers set no cookies that matter, and a cookie jar costs work on every answer.
            self._session = aiohttp.ClientSession(timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar())
        # The body is encoded here, as bytes with its content type: given a dict, aiohttp builds a FormData
        # (and a multipart writer it then does not use) or a JSON payload object per request, about a
        # fifth of a dispatch worker's CPU per message in py-spy.
        headers = dict(headers or {})
        body: bytes | None = None
        if form is not None:
            body, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        elif json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        async with self._session.post(url, data=body, headers=headers) as response:
            body = await response.read()
            return HttpAnswer(response.status, response.reason or "", response.headers,
                              body.decode(response.charset or "utf-8", errors="replace"))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class Http2Client:
    """httpx over HTTP/2, optionally with a TLS client certificate."""

    def __init__(self, timeout_seconds: float, cert: tuple[str, str] | None = None) -> None:
        # httpx's own trust roots (SSL_CERT_FILE / SSL_CERT_DIR when set), with the client certificate
        # loaded into the context: httpx's cert= argument is deprecated.
        context = httpx.create_ssl_context()
        if cert is not None:
            context.load_cert_chain(*cert)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_seconds), http2=True, verify=context)

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> HttpAnswer:
        response = await self._client.post(url, content=content, headers=headers)
        return HttpAnswer(response.status_code, response.reason_phrase, response.headers, response.text)

    async def aclose(self) -> None:
        await self._client.aclose()


def retry_after(answer: HttpAnswer) -> float | None:
    value = answer.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def stable_uuid(idempotency_key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"engage:{idempotency_key}"))


async def post(call: Callable[[], Awaitable[HttpAnswer]], interpret: Callable[[HttpAnswer], SendResult]) -> SendResult:
    """Runs one provider request: transport problems and 429/5xx are temporary, other 4xx permanent;
    `interpret` reads the provider's own answer (success or its error body)."""
    try:
        answer = await call()
    except (TimeoutError, httpx.TimeoutException) as exc:
        return temporary("TIMEOUT", f"the provider did not answer in time ({type(exc).__name__})")
    except (aiohttp.ClientError, httpx.TransportError) as exc:
        return temporary("CONNECTION_ERROR", f"could not reach the provider: {exc!r}")
    if answer.status_code == 429 or answer.status_code >= 500:
        return temporary(f"HTTP_{answer.status_code}", answer.text[:300] or answer.reason_phrase, retry_after(answer))
    return interpret(answer)


def http_error(answer: HttpAnswer, code: str | None = None, message: str | None = None) -> SendResult:
    return permanent(code or f"HTTP_{answer.status_code}", message or answer.text[:300] or answer.reason_phrase)
