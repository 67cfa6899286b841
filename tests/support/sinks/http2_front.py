"""An HTTP/2-over-TLS front for the provider sink, as APNs speaks it (ALPN h2 only, like Apple's
servers): hypercorn serves it with a certificate from a throwaway CA and hands every request on to the
sink over HTTP/1.1, so the sink's checks and records apply. It notes each request's HTTP version and
connection, to show what went over HTTP/2 and how many connections carried it."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.support.ports import free_port
from tests.support.sinks.providers import ProviderSink

# Set by the client or the transport, not passed on.
_NOT_FORWARDED = {"host", "content-length", "connection", "transfer-encoding"}


class Http2Front:
    host = "127.0.0.1"

    def __init__(self, sink: ProviderSink, authority: trustme.CA, folder: Path, *,
                 require_client_certificate: bool = False) -> None:
        """`require_client_certificate`: the TLS handshake asks for a client certificate issued by
        `authority`, as Apple's pass updates authenticate with the pass certificate."""
        self._sink = sink
        self.port = free_port()
        self.base_url = f"https://{self.host}:{self.port}"
        self.http_versions: list[str] = []
        self.connections: set[tuple[str, int]] = set()  # the clients' (address, port)
        certificate = authority.issue_cert(self.host)
        certificate.cert_chain_pems[0].write_to_path(str(folder / "front-cert.pem"))
        certificate.private_key_pem.write_to_path(str(folder / "front-key.pem"))
        self._config = Config()
        self._config.bind = [f"{self.host}:{self.port}"]
        self._config.certfile = str(folder / "front-cert.pem")
        self._config.keyfile = str(folder / "front-key.pem")
        self._config.alpn_protocols = ["h2"]
        self._config.accesslog = None
        if require_client_certificate:
            authority.cert_pem.write_to_path(str(folder / "front-clients-ca.pem"))
            self._config.ca_certs = str(folder / "front-clients-ca.pem")
            self._config.verify_mode = ssl.CERT_REQUIRED
        self._stopping = asyncio.Event()
        self._server: asyncio.Task[None] | None = None
        self._client: aiohttp.ClientSession | None = None

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan: nothing to set up
            return
        self.http_versions.append(scope["http_version"])
        self.connections.add(tuple(scope["client"]))  # type: ignore[arg-type]
        body = b""
        while True:
            part = await receive()
            body += part.get("body", b"")
            if not part.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode() not in _NOT_FORWARDED]
        assert self._client is not None
        async with self._client.request(scope["method"], f"{self._sink.base_url}{scope['raw_path'].decode()}",
                                        data=body, headers=headers) as answer:
            reply = await answer.read()
            await send({"type": "http.response.start", "status": answer.status, "headers": [
                (k.lower().encode(), v.encode()) for k, v in answer.headers.items()
                if k.lower() not in _NOT_FORWARDED and k.lower() not in {"date", "server"}]})
            await send({"type": "http.response.body", "body": reply})

    async def __aenter__(self) -> Http2Front:
        self._client = aiohttp.ClientSession()
        self._server = asyncio.create_task(serve(self._app, self._config,  # type: ignore[arg-type]
                                                 shutdown_trigger=self._stopping.wait))
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection(self.host, self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                return self

    async def __aexit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._server is not None:
            await self._server
        if self._client is not None:
            await self._client.close()
