"""The pass web service Apple Wallet calls (Apple's PassKit web service protocol), under each pass's
webServiceURL `{web_service_url}/passes/{tenant}`:

    POST   /passes/{tenant}/v1/devices/{device}/registrations/{passType}/{serial}  register (ApplePass token)
    DELETE /passes/{tenant}/v1/devices/{device}/registrations/{passType}/{serial}  unregister
    GET    /passes/{tenant}/v1/devices/{device}/registrations/{passType}?passesUpdatedSince=tag
    GET    /passes/{tenant}/v1/passes/{passType}/{serial}                             the latest .pkpass
    POST   /passes/{tenant}/v1/log                                                    the device's log lines
    GET    /passes/{tenant}/downloads/{token}                                         a new pass by its link

It runs in the server process beside gRPC when ENGAGE_PASS_WEB_SERVICE_PORT is set, and only
translates HTTP: server.services.wallet_passes checks the tokens and signs the passes."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime

import structlog
from aiohttp import web

from server.bootstrap import Services
from server.domain.bounded_json import JsonTooDeep, loads_bounded
from server.domain.engagement.wallet_passes import MEDIA_TYPE
from server.services.wallet_passes import PassFile, Refusal

log = structlog.get_logger("engage.wallet")

# A device's registration body and its log are small; anything past this is not a wallet's.
MAX_BODY_BYTES = 64 * 1024
MAX_LOG_LINES = 100


def _refused(refusal: Refusal) -> web.Response:
    return web.Response(status=refusal.value)


async def _json_body(request: web.Request) -> dict[str, object] | None:
    try:
        body = loads_bounded((await request.read()).decode() or "{}")
    except (JsonTooDeep, ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _pass_response(request: web.Request, found: PassFile) -> web.Response:
    # Versions of a pass are whole seconds apart (server.services.wallet_sending), so a date of whole
    # seconds tells them apart.
    modified = found.last_modified.replace(microsecond=0)
    since = request.headers.get("If-Modified-Since", "")
    if since:
        try:
            if modified <= parsedate_to_datetime(since).astimezone(dt.UTC):
                return web.Response(status=304)
        except (TypeError, ValueError):
            pass  # a date that is not one: answered with the pass
    return web.Response(body=found.data, content_type=MEDIA_TYPE, headers={
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Content-Disposition": f'attachment; filename="{found.serial_number}.pkpass"'})


def pass_web_service_app(services: Services) -> web.Application:
    wallet = services.wallet_passes

    async def register(request: web.Request) -> web.Response:
        body = await _json_body(request)
        push_token = body.get("pushToken") if body else None
        if not isinstance(push_token, str) or not push_token:
            return web.Response(status=400, text="pushToken is required")
        m = request.match_info
        answer = await wallet.register(m["tenant"], m["device"], m["pass_type"], m["serial"], push_token,
                                       request.headers.get("Authorization", ""))
        if isinstance(answer, Refusal):
            return _refused(answer)
        return web.Response(status=201 if answer else 200)

    async def unregister(request: web.Request) -> web.Response:
        m = request.match_info
        refusal = await wallet.unregister(m["tenant"], m["device"], m["pass_type"], m["serial"],
                                          request.headers.get("Authorization", ""))
        return _refused(refusal) if refusal else web.Response(status=200)

    async def updated(request: web.Request) -> web.Response:
        m = request.match_info
        found = await wallet.updated_serials(m["tenant"], m["device"], m["pass_type"],
                                             request.query.get("passesUpdatedSince", ""))
        if found is None:
            return web.Response(status=204)
        return web.json_response({"serialNumbers": found.serial_numbers, "lastUpdated": found.last_updated})

    async def latest(request: web.Request) -> web.Response:
        m = request.match_info
        found = await wallet.latest(m["tenant"], m["pass_type"], m["serial"], request.headers.get("Authorization", ""))
        return _refused(found) if isinstance(found, Refusal) else _pass_response(request, found)

    async def download(request: web.Request) -> web.Response:
        m = request.match_info
        found = await wallet.download(m["tenant"], m["token"])
        return _refused(found) if isinstance(found, Refusal) else _pass_response(request, found)

    async def device_log(request: web.Request) -> web.Response:
        body = await _json_body(request)
        lines = body.get("logs") if body else None
        if not isinstance(lines, list):
            return web.Response(status=400, text="logs is required")
        for line in lines[:MAX_LOG_LINES]:
            log.info("wallet_device_log", tenant=request.match_info["tenant"], line=str(line)[:500])
        return web.Response(status=200)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    base = "/passes/{tenant}"
    registration = base + "/v1/devices/{device}/registrations/{pass_type}/{serial}"
    app.router.add_route("POST", registration, register)
    app.router.add_route("DELETE", registration, unregister)
    app.router.add_route("GET", base + "/v1/devices/{device}/registrations/{pass_type}", updated)
    app.router.add_route("GET", base + "/v1/passes/{pass_type}/{serial}", latest)
    app.router.add_route("POST", base + "/v1/log", device_log)
    app.router.add_route("GET", base + "/downloads/{token}", download)
    return app
