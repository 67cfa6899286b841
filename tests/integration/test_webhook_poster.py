"""The workers' webhook poster against a local endpoint: an answer's status, a hung endpoint cut at the
timeout, an address the egress rule refuses never connected to, and plain http kept to listed networks."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tests.support.egress import LOCAL_EGRESS
from tests.support.ports import free_port
from workers.channels.egress import EgressPolicy
from workers.webhook_poster import EgressWebhookPoster


class EveryAddressPublic(EgressPolicy):
    """The general rule as if the local endpoint were a public address; no network listed."""

    def allows(self, address: str) -> bool:
        return True


async def _endpoint(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/hook"


async def test_answers_timeouts_and_refused_addresses():
    seen: list[bytes] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(await request.read())
        if request.headers.get("X-Hang"):
            await asyncio.sleep(1.5)
        return web.Response(status=int(request.headers.get("X-Status", "200")), text="nope")

    runner, url = await _endpoint(answer)
    poster = EgressWebhookPoster(LOCAL_EGRESS, timeout_seconds=0.5)
    try:
        ok = await poster.post(url, b'{"a":1}', {"Content-Type": "application/json"})
        assert (ok.http_status, ok.error, ok.delivered) == (200, "", True)
        refused = await poster.post(url, b"{}", {"X-Status": "500"})
        assert (refused.http_status, refused.delivered) == (500, False)
        assert refused.error.startswith("HTTP 500") and "nope" in refused.error
        hung = await poster.post(url, b"{}", {"X-Hang": "1"})
        assert hung.http_status is None and hung.error.startswith("TIMEOUT")
        assert seen == [b'{"a":1}', b"{}", b"{}"]

        strict = EgressWebhookPoster(EgressPolicy.from_setting(""), timeout_seconds=0.5)
        denied = await strict.post(url, b"{}", {})
        await strict.aclose()
        assert denied.http_status is None and denied.error.startswith("EGRESS_DENIED")
        assert len(seen) == 3  # never connected

        # Plain http goes only to listed networks, even to an address the general rule would allow.
        everywhere = EgressWebhookPoster(EveryAddressPublic(), timeout_seconds=0.5)
        plain = await everywhere.post(url, b"{}", {})
        await everywhere.aclose()
        assert plain.http_status is None and plain.error.startswith("EGRESS_DENIED")
        assert len(seen) == 3
    finally:
        await poster.aclose()
        await runner.cleanup()
