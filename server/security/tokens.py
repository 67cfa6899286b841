"""JWT verification and minting (PyJWT). Only HS256 and RS256 are ever accepted, each with its own key,
so neither `none` nor an RS256 public key used as an HMAC secret can pass."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cachetools import TLRUCache

from server.config import Settings, read_key
from server.domain.auth import Caller, Role
from server.domain.errors import Unauthenticated

# The seed APIs answer Y020 for any token problem; our stable codes say which problem it was.
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub", "tenant", "role"]
# Services call with the same token many times in its life: a token that verified is taken as verified
# again until it expires, without checking its signature on every call (a large part of a small call's
# CPU). Bounded: the least recently used goes first.
VERIFIED_TOKENS_KEPT = 10_000


def _until_expiry(token: str, verified: tuple[Caller, float], now: float) -> float:
    return verified[1]


@dataclass
class TokenVerifier:
    issuer: str
    audience: str
    leeway_seconds: int
    hmac_secret: str | None
    rsa_public_key: str | None
    kept: int = VERIFIED_TOKENS_KEPT
    clock: Callable[[], float] = time.time
    # token -> (its caller, the time it stops being valid); each entry leaves the cache at that time.
    _verified: TLRUCache[str, tuple[Caller, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._verified = TLRUCache(maxsize=self.kept, ttu=_until_expiry, timer=self.clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        return cls(settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway_seconds,
                   settings.hmac_secret(), read_key(settings.jwt_public_key))

    def _key_for(self, algorithm: str) -> Any:
        if algorithm == "HS256" and self.hmac_secret:
            return self.hmac_secret
        if algorithm == "RS256" and self.rsa_public_key:
            return self.rsa_public_key
        raise Unauthenticated("TOKEN_ALGORITHM_NOT_ALLOWED", f"tokens signed with '{algorithm}' are not accepted")

    def verify(self, token: str) -> Caller:
        known = self._verified.get(token)  # an expired entry is not returned: verifying it again says so
        if known is not None:
            return known[0]
        caller, expires_at = self._verify(token)
        self._verified[token] = (caller, expires_at + self.leeway_seconds)
        return caller

    def _verify(self, token: str) -> tuple[Caller, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("TOKEN_MALFORMED", "the bearer token is not a JWT") from exc
        algorithm = str(header.get("alg", ""))
        key = self._key_for(algorithm)
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway_seconds, options={"require": _REQUIRED_CLAIMS})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("TOKEN_EXPIRED", "the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("TOKEN_NOT_YET_VALID", "the token is not valid yet (nbf/iat)") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated("TOKEN_BAD_SIGNATURE", "the token's signature does not verify") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("TOKEN_WRONG_AUDIENCE", "the token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("TOKEN_WRONG_ISSUER", "the token comes from another issuer") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated("TOKEN_MISSING_CLAIM", f"the token lacks the '{exc.claim}' claim") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("TOKEN_INVALID", f"the token is invalid: {exc}") from exc
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise Unauthenticated("TOKEN_UNKNOWN_ROLE", f"unknown role '{claims['role']}'") from exc
        tenant, subject = claims["tenant"], claims["sub"]
        if not isinstance(tenant, str) or not tenant or not isinstance(subject, str) or not subject:
            raise Unauthenticated("TOKEN_MISSING_CLAIM", "tenant and sub must be non-empty strings")
        return Caller(tenant_id=tenant, subject=subject, role=role), float(claims["exp"])


def mint_token(settings: Settings, *, tenant: str, role: Role, subject: str, ttl: dt.timedelta,
               algorithm: str = "HS256", now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": subject, "tenant": tenant,
              "role": role.value, "iat": now, "nbf": now, "exp": now + ttl}
    if algorithm == "HS256":
        secret = settings.hmac_secret()
        if not secret:
            raise ValueError("no HS256 secret configured (ENGAGE_JWT_SECRET)")
        return jwt.encode(claims, secret, algorithm="HS256")
    if algorithm == "RS256":
        private_key = read_key(settings.jwt_private_key)
        if not private_key:
            raise ValueError("RS256 needs ENGAGE_JWT_PRIVATE_KEY")
        return jwt.encode(claims, private_key, algorithm="RS256")
    raise ValueError(f"unsupported algorithm {algorithm}")
