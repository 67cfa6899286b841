"""Push through Firebase Cloud Messaging HTTP v1: POST {base}/v1/projects/{project}/messages:send with
{"message": {"token", "notification": {"title", "body", "image"}, "data"}} and an OAuth2 bearer token:
a ready access_token secret, or one minted from service_account_json (an RS256 JWT assertion
exchanged at its token_uri, cached until shortly before it expires). Settings: base_url, project_id."""

from __future__ import annotations

import json
import math
import time

import aiohttp
import jwt

from server.domain.engagement.provider_codes import provider_code
from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult, permanent, sent, temporary
from workers.channels.egress import EgressPolicy
from workers.channels.http import Http1Client, HttpAnswer, first_object, http_error, json_field, post

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
TOKEN_LIFETIME_SECONDS = 3600.0
PERMANENT_ERRORS = {"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR"}


class FcmSender:
    provider = "fcm"

    def __init__(self, config: ProviderConfig, timeout_seconds: float, egress: EgressPolicy) -> None:
        base = config.setting("base_url", "https://fcm.googleapis.com").rstrip("/")
        self._url = f"{base}/v1/projects/{config.setting('project_id')}/messages:send"
        self._static_token = config.secrets.get("access_token", "")
        account = config.secrets.get("service_account_json", "")
        self._account = json.loads(account) if account else None
        if not self._static_token and self._account is None:
            raise ValueError("fcm: secret 'access_token' or 'service_account_json' is required")
        self._token, self._token_expires = "", 0.0
        self._client = Http1Client(timeout_seconds, egress)

    async def _access_token(self) -> str:
        if self._static_token:
            return self._static_token
        assert self._account is not None
        if self._token and time.time() < self._token_expires - 60:
            return self._token
        now = int(time.time())
        assertion = jwt.encode({"iss": self._account["client_email"], "scope": SCOPE, "aud": self._account["token_uri"],
                                "iat": now, "exp": now + 3600}, self._account["private_key"], algorithm="RS256")
        answer = await self._client.post(self._account["token_uri"], form={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})
        if not answer.is_success:
            raise ValueError(f"the token endpoint answered {answer.status_code}: {answer.text[:200]}")
        body = answer.json_object()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ValueError(f"the token endpoint's answer has no access_token: {answer.text[:200]}")
        self._token, self._token_expires = token, time.time() + _token_lifetime(body.get("expires_in"))
        return self._token

    async def send(self, message: OutgoingMessage) -> SendResult:
        content = message.content
        notification = {"title": content.get("title", ""), "body": content.get("body", "")}
        if content.get("image_url"):
            notification["image"] = content["image_url"]
        payload: dict[str, object] = {"token": message.address, "notification": notification}
        data = {"delivery_id": message.delivery_id}
        if message.callback_url:  # where the app reports the push delivered (channel fallback)
            data["receipt_url"] = message.callback_url
        if content.get("rich_text"):
            data["rich_text"] = content["rich_text"]
        payload["data"] = data
        try:
            token = await self._access_token()
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            return temporary("FCM_AUTH", f"could not get an access token: {exc!r}")
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": message.idempotency_key}
        return await post(lambda: self._client.post(self._url, json_body={"message": payload}, headers=headers),
                          _interpret)

    async def aclose(self) -> None:
        await self._client.aclose()


def _token_lifetime(expires_in: object) -> float:
    """Seconds a minted token is used for: as the endpoint says, within Google's hour."""
    try:
        seconds = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return TOKEN_LIFETIME_SECONDS
    return min(max(seconds, 0.0), TOKEN_LIFETIME_SECONDS) if math.isfinite(seconds) else TOKEN_LIFETIME_SECONDS


def _interpret(response: HttpAnswer) -> SendResult:
    body = response.json_object()
    if response.is_success and isinstance(body.get("name"), str) and body["name"]:
        return sent(body["name"])
    error = json_field(body, "error")
    fcm_code = first_object(error.get("details")).get("errorCode", error.get("status"))
    code = provider_code("FCM", fcm_code, response.status_code)
    if fcm_code in PERMANENT_ERRORS or response.status_code in (400, 403, 404):
        return permanent(code, str(error.get("message", response.text)))
    return http_error(response, code)
