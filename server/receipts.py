"""The delivery-receipt endpoint providers call: POST (or GET, for Vonage)
/receipts/{tenant}/{config}/{token}, the URL the workers gave the provider with the message. The token
is checked before anything is read (server/security/receipt_urls.py), and Twilio's signature too. It
runs in the server process beside gRPC when ENGAGE_RECEIPTS_PORT is set, and only translates: the
dispatch service records the new state."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from server.bootstrap import Services
from server.domain.bounded_json import JsonTooDeep, loads_bounded
from server.domain.engagement.receipts import parse_receipt, twilio_signature_valid
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)


def receipts_app(services: Services) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        tenant_id, config_id = request.match_info["tenant"], request.match_info["config"]
        token = request.match_info["token"]
        if not services.receipt_urls.token_valid(tenant_id, config_id, token):
            return web.Response(status=403, text="not a receipt URL Engage gave out")
        async with UnitOfWork(services.database, tenant_id) as uow:
            config = await uow.channel_configs.get(config_id) if await uow.tenants.get(tenant_id) else None
            sealed = await uow.channel_configs.sealed_secrets(config_id) if config else None
        if config is None:
            return web.Response(status=404, text="unknown receipt endpoint")
        fields: dict[str, object] = dict(request.query)
        if request.method == "POST":
            try:
                fields.update(await _posted_fields(request))
            except _Unreadable as exc:
                return web.Response(status=400, text=str(exc))
        if config.provider == "twilio":
            auth_token = services.secret_box.open(sealed).get("auth_token", "") if sealed else ""
            # Twilio signs the URL it called: the one given with the message, whichever key made its token.
            url = f"{services.receipt_urls.base_url}/{tenant_id}/{config_id}/{token}"
            form = {k: str(v) for k, v in fields.items()}
            if not twilio_signature_valid(auth_token, url, form, request.headers.get("X-Twilio-Signature", "")):
                return web.Response(status=403, text="bad signature")
        receipt = parse_receipt(config.provider, fields)
        if receipt is not None:
            matched = await services.engagement.record_receipt(tenant_id, receipt)
            log.info("delivery_receipt", tenant=tenant_id, provider=receipt.provider, status=receipt.status,
                     delivery=matched)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("POST", "/receipts/{tenant}/{config}/{token}", receive)
    app.router.add_route("GET", "/receipts/{tenant}/{config}/{token}", receive)
    return app


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
