"""Apple Wallet pass updates: an APNs push with an empty JSON payload to the pass's device push token,
topic = the pass type identifier, authenticated by the uploaded pass certificate as a TLS client
certificate (https base URLs). Settings: base_url, pass_type_identifier; secrets: certificate_pem,
private_key_pem."""

from __future__ import annotations

import os
import tempfile

from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult
from workers.channels.egress import EgressPolicy
from workers.channels.http import Http2Client, post, stable_uuid
from workers.channels.push_apns import interpret_apns


class WalletPassSender:
    provider = "apple_pass"

    def __init__(self, config: ProviderConfig, timeout_seconds: float, egress: EgressPolicy) -> None:
        self._base = config.setting("base_url", "https://api.push.apple.com").rstrip("/")
        self._topic = config.setting("pass_type_identifier")
        self._files: list[str] = []
        cert = None
        if self._base.startswith("https://"):
            cert = (self._secret_file(config.secret("certificate_pem")),
                    self._secret_file(config.secret("private_key_pem")))
        self._client = Http2Client(timeout_seconds, egress, cert=cert)

    def _secret_file(self, text: str) -> str:
        descriptor, path = tempfile.mkstemp(prefix="engage-pass-", suffix=".pem")
        with os.fdopen(descriptor, "w") as handle:  # mkstemp creates it 0600
            handle.write(text)
        self._files.append(path)
        return path

    async def send(self, message: OutgoingMessage) -> SendResult:
        headers = {"apns-topic": message.content.get("pass_type_identifier") or self._topic,
                   "apns-push-type": "background", "apns-id": stable_uuid(message.idempotency_key),
                   "apns-priority": "5"}
        return await post(lambda: self._client.post(f"{self._base}/3/device/{message.address}", content=b"{}",
                                                    headers=headers), interpret_apns)

    async def aclose(self) -> None:
        await self._client.aclose()
        for path in self._files:
            if os.path.exists(path):
                os.unlink(path)
        self._files.clear()
