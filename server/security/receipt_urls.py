"""The callback URLs Engage gives providers with each message, and the check of a URL a report came to.

Only Twilio signs its delivery reports. Vonage's and Clickatell's would be accepted from anyone who
knew a tenant id and a channel configuration id, and those are no secret (they are in resource names
and logs): a forged report could mark a bank's messages delivered or failed. So each URL carries a
token, an HMAC of the tenant and the configuration under a key derived from the secrets keys. It needs
no storage, and a provider echoes it back untouched because it is part of the URL.

Key rotation as for channel secrets: the first key makes tokens, every configured key is accepted, so
reports of messages sent before a rotation still count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# Keeps these tokens apart from anything else made with the same secrets keys.
_PURPOSE = b"engage receipt url v1"


class ReceiptUrls:
    def __init__(self, base_url: str, secret_keys: list[str]) -> None:
        if not secret_keys:
            raise ValueError("no secrets key configured")
        self.base_url = base_url.rstrip("/")
        self._keys = [hmac.new(key.encode(), _PURPOSE, hashlib.sha256).digest() for key in secret_keys]

    def url(self, tenant_id: str, config_id: str) -> str:
        """Where the provider reports on a message sent through this configuration of this tenant."""
        return f"{self.base_url}/{tenant_id}/{config_id}/{_token(self._keys[0], tenant_id, config_id).decode()}"

    def token_valid(self, tenant_id: str, config_id: str, token: str) -> bool:
        # As bytes: compare_digest refuses str with non-ASCII characters, and a URL may carry any.
        given = token.encode()
        return any(hmac.compare_digest(_token(key, tenant_id, config_id), given) for key in self._keys)


def _token(key: bytes, tenant_id: str, config_id: str) -> bytes:
    # NUL cannot occur in either id, so no two (tenant, configuration) pairs share a message.
    digest = hmac.new(key, f"{tenant_id}\x00{config_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=")
