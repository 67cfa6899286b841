"""The delivery-receipt endpoint providers call: POST (or GET, for Vonage)
/receipts/{tenant}/{config}/{token}, the URL the workers gave the provider with the message. It runs
in the server process beside gRPC when ENGAGE_RECEIPTS_PORT is set, and only translates HTTP: the
delivery-receipts service checks the URL's token (before the body is read) and the provider's
signature, and records the new state."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from server.bootstrap import Services
from server.domain.bounded_json import JsonTooDeep, loads_bounded
from server.services.delivery_receipts import Refusal

_REFUSED = {Refusal.NOT_OURS: (403, "not a receipt URL Engage gave out"),
            Refusal.UNKNOWN_ENDPOINT: (404, "unknown receipt endpoint"),
            Refusal.BAD_SIGNATURE: (403, "bad signature")}


def receipts_app(services: Services) -> web.Application:
    receipts = services.delivery_receipts

    async def receive(request: web.Request) -> web.Response:
        endpoint = await receipts.endpoint(request.match_info["tenant"], request.match_info["config"],
                                           request.match_info["token"])
        if isinstance(endpoint, Refusal):
            return _refused(endpoint)
        fields: dict[str, object] = dict(request.query)
        if request.method == "POST":
            try:
                fields.update(await _posted_fields(request))
            except _Unreadable as exc:
                return web.Response(status=400, text=str(exc))
        refusal = await receipts.receive(endpoint, fields, request.headers.get("X-Twilio-Signature", ""))
        return _refused(refusal) if refusal is not None else web.Response(status=204)

    app = web.Application()
    app.router.add_route("POST", "/receipts/{tenant}/{config}/{token}", receive)
    app.router.add_route("GET", "/receipts/{tenant}/{config}/{token}", receive)
    return app


def _refused(refusal: Refusal) -> web.Response:
    status, text = _REFUSED[refusal]
    return web.Response(status=status, text=text)


class _Unreadable(Exception):
    """A posted body that is no report: answered 400 with this text."""


# What aiohttp raises reading a body it cannot decode: an unknown charset (LookupError), bytes not in
# the charset or a malformed multipart body (ValueError, BadHttpMessage), a part's unknown transfer
# encoding (RuntimeError).
_UNDECODABLE = (LookupError, ValueError, RuntimeError, HttpProcessingError)


async def _posted_fields(request: web.Request) -> Mapping[str, object]:
    """A report's fields: one JSON object, or a form (URL-encoded or multipart)."""
    try:
        if request.content_type != "application/json":
            return await request.post()
        text = await request.text()
    except _UNDECODABLE as exc:
        raise _Unreadable(f"cannot read the body: {exc}") from exc
    try:
        body = loads_bounded(text or "{}")
    except JsonTooDeep as exc:
        raise _Unreadable(f"not JSON: {exc}") from exc
    except ValueError as exc:
        raise _Unreadable("not JSON") from exc
    if not isinstance(body, dict):
        raise _Unreadable("not a JSON object")
    return body
