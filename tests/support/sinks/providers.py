"""One local HTTP server that answers like Twilio, Vonage, Clickatell, FCM (and its OAuth token
endpoint) and APNs (alerts and Wallet pass updates) at the real APIs' paths: it checks what the real
API would reject, records what it accepted, de-duplicates where the real provider does (Twilio's
idempotency token, APNs' apns-id), and can be scripted to fail, to hold its answer, or to answer in ways
no provider should (RawAnswer)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from tests.support.ports import free_port

E164 = "+"


@dataclass
class Received:
    provider: str
    path: str
    headers: CIMultiDict[str]  # case-insensitive, as HTTP headers are
    body: Any
    response_id: str
    idempotency_key: str = ""
    received_at: float = field(default_factory=time.time)  # wall clock, as the workers' rate limits count


@dataclass(frozen=True)
class RawAnswer:
    """An answer given as is, whatever the provider's format: status, headers and body; or, with
    `stream_bytes`, that much filler streamed after the headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    stream_bytes: int = 0


@dataclass
class _Behaviour:
    statuses: list[int | RawAnswer] = field(default_factory=list)
    delay: float = 0.0


ERROR_BODIES = {
    "twilio": lambda status: {"code": 21211 if status == 400 else 20000 + status, "status": status,
                              "message": "The 'To' number is not a valid phone number." if status == 400
                              else "Service unavailable"},
    "vonage": lambda status: {"error-code": str(status), "error-code-label": "error"},
    "clickatell": lambda status: {"messages": [], "error": {"code": status, "description": "rejected"}},
    "fcm": lambda status: {"error": {"code": status, "status": "NOT_FOUND" if status == 404 else "UNAVAILABLE",
                                     "message": "Requested entity was not found." if status == 404 else "unavailable",
                                     "details": [{"errorCode": "UNREGISTERED" if status == 404 else "UNAVAILABLE"}]}},
    "apns": lambda status: {"reason": {400: "BadDeviceToken", 410: "Unregistered", 429: "TooManyRequests"}.get(
        status, "InternalServerError")},
}
ERROR_BODIES["apple_pass"] = ERROR_BODIES["apns"]


class ProviderSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.accepted: dict[str, list[Received]] = {}
        self.requests: dict[str, int] = {}
        self._by_key: dict[tuple[str, str], Received] = {}
        self._behaviour: dict[str, _Behaviour] = {}
        self._runner: web.AppRunner | None = None
        # Streamed answers the client hung up on before their end.
        self.streams_cut_short = 0
        # provider -> the status it reports to the message's callback URL before answering the send.
        self._early_reports: dict[str, str] = {}
        self.early_report_answers: list[int] = []  # what the receipt endpoint answered to them

    # -- scripting and reading -----------------------------------------------------------------

    def script(self, provider: str, statuses: list[int | RawAnswer]) -> None:
        """The next answers of this provider get these statuses (200 = answer normally) or are these
        raw answers."""
        self._behaviour.setdefault(provider, _Behaviour()).statuses.extend(statuses)

    def report_before_answering(self, provider: str, status: str) -> None:
        """Be a fast provider (Vonage or Clickatell): report each accepted message's delivery to its
        callback URL before answering the request that sent it; for FCM, be the app that got the push
        and reports it to the push's receipt URL before FCM answers."""
        self._early_reports[provider] = status

    def delay(self, provider: str, seconds: float) -> None:
        self._behaviour.setdefault(provider, _Behaviour()).delay = seconds

    def received(self, provider: str) -> list[Received]:
        return list(self.accepted.get(provider, []))

    async def wait_for(self, provider: str, count: int, timeout: float = 10.0) -> list[Received]:
        async with asyncio.timeout(timeout):
            while len(self.accepted.get(provider, [])) < count:  # noqa: ASYNC110 (a short poll)
                await asyncio.sleep(0.02)
        return self.received(provider)

    async def wait_for_request(self, provider: str, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.requests.get(provider):  # noqa: ASYNC110 (a short poll)
                await asyncio.sleep(0.02)

    # -- the server ------------------------------------------------------------------------------

    async def __aenter__(self) -> ProviderSink:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._twilio)
        app.router.add_post("/sms/json", self._vonage)
        app.router.add_post("/messages", self._clickatell)
        app.router.add_post("/v1/projects/{project}/messages:send", self._fcm)
        app.router.add_post("/token", self._oauth_token)
        app.router.add_post("/3/device/{token}", self._apns)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, provider: str, request: web.Request, body: Any, key: str,
                      make: Any) -> web.StreamResponse:
        """Scripted failure, or accept (de-duplicated by key) and answer like the provider."""
        self.requests[provider] = self.requests.get(provider, 0) + 1
        behaviour = self._behaviour.setdefault(provider, _Behaviour())
        status = behaviour.statuses.pop(0) if behaviour.statuses else 200
        if isinstance(status, RawAnswer):
            return await self._raw(request, status)
        if status != 200:
            return web.json_response(ERROR_BODIES[provider](status), status=status)
        existing = self._by_key.get((provider, key)) if key else None
        if existing is None:
            existing = Received(provider, request.path, CIMultiDict(request.headers), body, make(), key)
            self.accepted.setdefault(provider, []).append(existing)
            if key:
                self._by_key[(provider, key)] = existing
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if provider in self._early_reports:
            await self._report(provider, existing, self._early_reports[provider])
        return self._success(provider, existing)

    async def _report(self, provider: str, record: Received, status: str) -> None:
        async with aiohttp.ClientSession() as session:
            if provider == "vonage":
                answer = await session.get(record.body["callback"], params={
                    "messageId": record.response_id, "status": status, "err-code": "0"})
            elif provider == "fcm":  # the app that got the push reports it, to the URL the push carried
                data = record.body["message"]["data"]
                answer = await session.post(data["receipt_url"], json={"delivery_id": data["delivery_id"],
                                                                       "status": status})
            else:
                answer = await session.post(record.body["callbackUrl"], json={
                    "apiMessageId": record.response_id, "status": status})
            self.early_report_answers.append(answer.status)

    async def _raw(self, request: web.Request, answer: RawAnswer) -> web.StreamResponse:
        if not answer.stream_bytes:
            return web.Response(status=answer.status, body=answer.body, headers=answer.headers)
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        await response.prepare(request)
        chunk = b" " * 65536
        try:
            for _ in range(answer.stream_bytes // len(chunk)):
                await response.write(chunk)
        except (ConnectionError, RuntimeError):  # aiohttp: ClientConnectionResetError / "closing transport"
            self.streams_cut_short += 1
            return response
        await response.write_eof()
        return response

    def _success(self, provider: str, record: Received) -> web.Response:
        if provider == "twilio":
            return web.json_response({"sid": record.response_id, "status": "queued", "to": record.body["To"]},
                                     status=201)
        if provider == "vonage":
            return web.json_response({"message-count": "1", "messages": [
                {"to": record.body["to"], "message-id": record.response_id, "status": "0"}]})
        if provider == "clickatell":
            return web.json_response({"messages": [{"apiMessageId": record.response_id, "accepted": True,
                                                    "to": record.body["to"][0]}], "error": None}, status=202)
        if provider == "fcm":
            return web.json_response({"name": record.response_id})
        return web.Response(status=200, headers={"apns-id": record.response_id})

    async def _twilio(self, request: web.Request) -> web.StreamResponse:
        form = dict(parse_qsl(await request.text()))
        sid = request.match_info["sid"]
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Basic ") or not base64.b64decode(auth[6:]).decode().startswith(f"{sid}:"):
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if not form.get("To", "").startswith(E164) or not form.get("Body") or not (
                form.get("From") or form.get("MessagingServiceSid")):
            return web.json_response({"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                      "status": 400}, status=400)
        return await self._answer("twilio", request, form, request.headers.get("I-Twilio-Idempotency-Token", ""),
                                  lambda: "SM" + secrets.token_hex(16))

    async def _vonage(self, request: web.Request) -> web.StreamResponse:
        form = dict(parse_qsl(await request.text()))
        if not form.get("api_key") or not form.get("api_secret"):
            return web.json_response({"message-count": "1", "messages": [
                {"status": "2", "error-text": "Missing api_key"}]})
        if not form.get("to", "").isdigit() or not form.get("text"):
            return web.json_response({"message-count": "1", "messages": [
                {"status": "3", "error-text": "Invalid to number"}]})
        return await self._answer("vonage", request, form, "", lambda: uuid.uuid4().hex)

    async def _clickatell(self, request: web.Request) -> web.StreamResponse:
        if not request.headers.get("Authorization"):
            return web.json_response({"error": {"code": 1, "description": "Invalid or missing API key"}},
                                     status=401)
        body = await request.json()
        if not body.get("content") or not body.get("to"):
            return web.json_response({"messages": [], "error": {"code": 101, "description": "Invalid or missing "
                                                                                            "parameters"}},
                                     status=400)
        return await self._answer("clickatell", request, body, request.headers.get("Idempotency-Key", ""),
                                  lambda: uuid.uuid4().hex)

    async def _oauth_token(self, request: web.Request) -> web.StreamResponse:
        form = dict(parse_qsl(await request.text()))
        scripted = self._behaviour.get("oauth", _Behaviour()).statuses
        if scripted and isinstance(scripted[0], RawAnswer):
            return await self._raw(request, scripted.pop(0))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not form.get("assertion"):
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.accepted.setdefault("oauth", []).append(Received("oauth", request.path, CIMultiDict(request.headers), form,
                                                              "minted-access-token"))
        return web.json_response({"access_token": "minted-access-token", "expires_in": 3599, "token_type": "Bearer"})

    async def _fcm(self, request: web.Request) -> web.StreamResponse:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"error": {"code": 401, "status": "UNAUTHENTICATED"}}, status=401)
        body = await request.json()
        if not body.get("message", {}).get("token"):
            return web.json_response({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                "details": [{"errorCode": "INVALID_ARGUMENT"}]}}, status=400)
        project = request.match_info["project"]
        return await self._answer("fcm", request, body, request.headers.get("Idempotency-Key", ""),
                                  lambda: f"projects/{project}/messages/{uuid.uuid4().int % 10**16}")

    async def _apns(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw or b"{}")
        provider = "apple_pass" if request.headers.get("apns-push-type") == "background" and body == {} else "apns"
        if not request.headers.get("apns-topic"):
            return web.json_response({"reason": "MissingTopic"}, status=400)
        if provider == "apns" and not request.headers.get("authorization", "").startswith("bearer "):
            return web.json_response({"reason": "MissingProviderToken"}, status=403)
        apns_id = request.headers.get("apns-id") or str(uuid.uuid4())
        return await self._answer(provider, request, body, apns_id, lambda: apns_id)
