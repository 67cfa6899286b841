"""Push through Apple Push Notification service: POST {base}/3/device/{token} over HTTP/2 with an ES256
provider token (iss team_id, kid key_id; reused for 50 minutes), apns-topic, apns-push-type,
apns-id (a UUID derived from the idempotency key) and apns-priority. Settings: base_url, topic,
team_id, key_id; secrets: private_key (the .p8 PEM)."""

from __future__ import annotations

import json
import time

import jwt

from server.domain.engagement.provider_codes import provider_code
from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult, permanent, sent
from workers.channels.egress import EgressPolicy
from workers.channels.http import Http2Client, HttpAnswer, post, stable_uuid

TOKEN_LIFETIME = 50 * 60


class ApnsSender:
    provider = "apns"

    def __init__(self, config: ProviderConfig, timeout_seconds: float, egress: EgressPolicy) -> None:
        self._base = config.setting("base_url", "https://api.push.apple.com").rstrip("/")
        self._topic = config.setting("topic")
        self._team = config.setting("team_id")
        self._key_id = config.setting("key_id")
        self._key = config.secret("private_key")
        self._token, self._token_made = "", 0.0
        self._client = Http2Client(timeout_seconds, egress)

    def _provider_token(self) -> str:
        if not self._token or time.time() - self._token_made > TOKEN_LIFETIME:
            self._token_made = time.time()
            self._token = jwt.encode({"iss": self._team, "iat": int(self._token_made)}, self._key, algorithm="ES256",
                                     headers={"kid": self._key_id})
        return self._token

    def payload(self, message: OutgoingMessage) -> dict[str, object]:
        content = message.content
        aps: dict[str, object] = {"alert": {"title": content.get("title", ""), "body": content.get("body", "")}}
        payload: dict[str, object] = {"aps": aps, "delivery_id": message.delivery_id}
        if message.callback_url:  # where the app reports the push delivered (channel fallback)
            payload["receipt_url"] = message.callback_url
        if content.get("image_url"):
            aps["mutable-content"] = 1
            payload["image_url"] = content["image_url"]
            payload["rich_text"] = content.get("rich_text", "")
        return payload

    async def send(self, message: OutgoingMessage) -> SendResult:
        apns_id = stable_uuid(message.idempotency_key)
        headers = {"authorization": f"bearer {self._provider_token()}", "apns-topic": self._topic,
                   "apns-push-type": "alert", "apns-id": apns_id, "apns-priority": "10"}
        body = json.dumps(self.payload(message)).encode()
        return await post(lambda: self._client.post(f"{self._base}/3/device/{message.address}", content=body,
                                                    headers=headers), interpret_apns)

    async def aclose(self) -> None:
        await self._client.aclose()


def interpret_apns(response: HttpAnswer) -> SendResult:
    if response.status_code == 200:
        return sent(response.headers.get("apns-id", ""))
    reason = response.json_object().get("reason")
    said = response.text[:200] if reason is None else reason
    # 400 BadDeviceToken, 403, 410 Unregistered ...: a retry cannot help.
    return permanent(provider_code("APNS", reason, response.status_code),
                     f"APNs answered {response.status_code} {said}")
