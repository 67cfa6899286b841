"""What the HTTP providers share: one client per sender, one shape of answer, and the usual
classification of answers.

HTTP/1.1 providers (the SMS APIs, FCM) go through aiohttp, HTTP/2 ones (APNs, wallet passes) through
httpcore (httpx's transport), which speaks HTTP/2. aiohttp because httpcore's connection pool looks at
every pooled connection on every request (a socket check each): with a batch's sends in flight at once
that was the largest part of a dispatch worker's CPU.

Both connect only where the egress policy allows (workers.channels.egress): aiohttp through its
resolver and socket factory, httpcore through its network backend."""

from __future__ import annotations

import json
import math
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpcore
import httpx

from server.domain.bounded_json import loads_bounded
from server.domain.engagement.sending import EGRESS_DENIED
from workers.channels.base import SendResult, permanent, temporary
from workers.channels.egress import EgressDenied, EgressPolicy

# A provider's answer is a few hundred bytes of JSON; the workers serve every bank, so an endpoint that
# streams without end must not take their memory. Past this the rest is not read.
ANSWER_LIMIT_BYTES = 256 * 1024


@dataclass(frozen=True)
class HttpAnswer:
    """A provider's answer, read up to ANSWER_LIMIT_BYTES; the adapters decide what it means."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]  # names case-insensitive
    text: str
    truncated: bool = False  # the body went on past ANSWER_LIMIT_BYTES; `text` is its start

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or {} when it is none (not JSON, nested too deeply to read, or a
        list, a number...): the adapters read the provider's fields from it without guarding against
        every other shape."""
        try:
            value = loads_bounded(self.text)
        except ValueError:  # JsonTooDeep too
            return {}
        return value if isinstance(value, dict) else {}


def json_field(value: Any, name: str) -> dict[str, Any]:
    """`value[name]` when value is a JSON object whose `name` is an object too, else {}."""
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def first_object(value: Any) -> dict[str, Any]:
    """The first element of a JSON array when it is an object, else {}."""
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}


class _GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's name resolution through the egress policy: a name with no allowed address fails with
    the policy's EgressDenied. (Addresses written as such skip resolvers: the socket factory checks them.)"""

    def __init__(self, egress: EgressPolicy) -> None:
        self._egress = egress

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[aiohttp.abc.ResolveResult]:
        return [aiohttp.abc.ResolveResult(hostname=host, host=address, port=port, family=found, proto=0,
                                          flags=socket.AI_NUMERICHOST)
                for found, address in await self._egress.resolve(host, port)
                if family in (socket.AF_UNSPEC, found)]

    async def close(self) -> None:
        pass


class Http1Client:
    """A pooled aiohttp session, opened on first use (aiohttp wants a running event loop)."""

    def __init__(self, timeout_seconds: float, egress: EgressPolicy) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._egress = egress
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, *, form: dict[str, str] | None = None, json_body: Any = None,
                   headers: dict[str, str] | None = None) -> HttpAnswer:
        if self._session is None:
            # Providers set no cookies that matter, and a cookie jar costs work on every answer.
            connector = aiohttp.TCPConnector(resolver=_GuardedResolver(self._egress),
                                             socket_factory=self._egress.socket_for)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                                  cookie_jar=aiohttp.DummyCookieJar())
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
            if response.content_length is not None and response.content_length <= ANSWER_LIMIT_BYTES:
                body, truncated = await response.read(), False  # the usual answer: read at once
            else:
                body, truncated = await _read_at_most(response.content.iter_chunked(65536))
            return HttpAnswer(response.status, response.reason or "", response.headers,
                              body.decode(response.charset or "utf-8", errors="replace"), truncated)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's connections opened to the allowed addresses of a host, one after another. TLS still
    names the host (httpcore passes the origin's name to the handshake, not the address)."""

    def __init__(self, egress: EgressPolicy) -> None:
        self._egress = egress
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return await self._egress.connect_first(
            host, port, timeout,
            lambda _, address: self._inner.connect_tcp(address, port, timeout, local_address, socket_options),
            (httpcore.ConnectError, httpcore.ConnectTimeout))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise EgressDenied("a provider is not reached through a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class Http2Client:
    """httpcore over HTTP/2 (HTTP/1.1 where the server has no HTTP/2), optionally with a TLS client
    certificate."""

    def __init__(self, timeout_seconds: float, egress: EgressPolicy, cert: tuple[str, str] | None = None) -> None:
        # httpx's trust roots (SSL_CERT_FILE / SSL_CERT_DIR when set), with the client certificate.
        context = httpx.create_ssl_context()
        if cert is not None:
            context.load_cert_chain(*cert)
        self._pool = httpcore.AsyncConnectionPool(ssl_context=context, http1=True, http2=True,
                                                  network_backend=_GuardedBackend(egress))
        self._timeouts = {"connect": timeout_seconds, "read": timeout_seconds, "write": timeout_seconds,
                          "pool": timeout_seconds}

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> HttpAnswer:
        async with self._pool.stream("POST", url, headers=list(headers.items()), content=content,
                                     extensions={"timeout": self._timeouts}) as response:
            body, truncated = await _read_at_most(response.aiter_stream())
        reason = response.extensions.get("reason_phrase", b"").decode("ascii", errors="replace")
        return HttpAnswer(response.status, reason, httpx.Headers(response.headers),
                          body.decode("utf-8", errors="replace"), truncated)

    async def aclose(self) -> None:
        await self._pool.aclose()


async def _read_at_most(chunks: AsyncIterator[bytes]) -> tuple[bytes, bool]:
    """The body up to ANSWER_LIMIT_BYTES, and whether there was more (left unread: the connection
    is then closed rather than reused)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > ANSWER_LIMIT_BYTES:
            return b"".join(parts)[:ANSWER_LIMIT_BYTES], True
    return b"".join(parts), False


def retry_after(answer: HttpAnswer) -> float | None:
    """Retry-After in seconds; None when absent, an HTTP date, or not a finite number."""
    try:
        seconds = float(answer.headers.get("retry-after", ""))
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def stable_uuid(idempotency_key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"engage:{idempotency_key}"))


async def post(call: Callable[[], Awaitable[HttpAnswer]], interpret: Callable[[HttpAnswer], SendResult]) -> SendResult:
    """Runs one provider request: transport problems and 429/5xx are temporary, other 4xx permanent,
    as is an answer too large to be the provider's; `interpret` reads the provider's own answer
    (success or its error body)."""
    try:
        answer = await call()
    except (TimeoutError, httpcore.TimeoutException) as exc:
        return temporary("TIMEOUT", f"the provider did not answer in time ({type(exc).__name__})")
    except (EgressDenied, aiohttp.ClientError, httpcore.NetworkError, httpcore.ProtocolError,
            httpcore.UnsupportedProtocol) as exc:
        denied = _egress_denial(exc)
        if denied is not None:
            return permanent(EGRESS_DENIED, str(denied))
        return temporary("CONNECTION_ERROR", f"could not reach the provider: {exc!r}")
    if answer.status_code == 429 or answer.status_code >= 500:
        return temporary(f"HTTP_{answer.status_code}", answer.text[:300] or answer.reason_phrase, retry_after(answer))
    if answer.truncated:
        # Not a provider's answer. Not retried either: a 2xx may mean the message went out.
        return permanent("PROVIDER_ANSWER_TOO_LARGE", f"the provider answered {answer.status_code} with more than "
                                                      f"{ANSWER_LIMIT_BYTES} bytes: {answer.text[:200]}")
    return interpret(answer)


def _egress_denial(exc: BaseException) -> EgressDenied | None:
    """The policy's refusal, as raised or as wrapped by aiohttp (a connector error holding it)."""
    seen: BaseException | None = exc
    for _ in range(4):  # a refusal is at most a wrapper or two deep
        if seen is None or isinstance(seen, EgressDenied):
            return seen
        wrapped = getattr(seen, "os_error", None)
        seen = wrapped if isinstance(wrapped, BaseException) else seen.__cause__
    return None


def http_error(answer: HttpAnswer, code: str | None = None, message: str | None = None) -> SendResult:
    return permanent(code or f"HTTP_{answer.status_code}", message or answer.text[:300] or answer.reason_phrase)
