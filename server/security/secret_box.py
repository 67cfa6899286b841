"""Channel secrets at rest: Fernet (AES-CBC + HMAC) with key rotation (the first key seals, all open)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(ValueError):
    """A sealed value that none of the configured keys opens."""


class SecretBox:
    def __init__(self, fernet: MultiFernet) -> None:
        self._fernet = fernet

    @classmethod
    def from_keys(cls, keys: list[str]) -> SecretBox:
        if not keys:
            raise SecretBoxError("no secrets key configured")
        try:
            return cls(MultiFernet([Fernet(k.encode()) for k in keys]))
        except ValueError as exc:
            raise SecretBoxError("a secrets key is not a Fernet key (32 url-safe base64 bytes)") from exc

    def seal(self, values: Mapping[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(dict(values), sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, str]:
        try:
            return dict(json.loads(self._fernet.decrypt(bytes(token))))
        except InvalidToken as exc:
            raise SecretBoxError("the sealed secrets cannot be opened with the configured keys") from exc
