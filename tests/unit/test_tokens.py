import base64
import datetime as dt
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from server.config import Settings
from server.domain.auth import Role
from server.domain.errors import Unauthenticated
from server.security.tokens import TokenVerifier, mint_token

SECRET = "s" * 48


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


PRIVATE, PUBLIC = _rsa_pair()


def verifier(secret: str | None = SECRET, public: str | None = None) -> TokenVerifier:
    return TokenVerifier("engage", "engage-api", 30, secret, public)


def claims(**overrides: object) -> dict[str, object]:
    # Times are offsets from the moment the token is made: a module-level "now" goes stale in a long run.
    now = dt.datetime.now(dt.UTC)
    base: dict[str, object] = {"iss": "engage", "aud": "engage-api", "sub": "u1", "tenant": "bank-a", "role": "user",
                               "iat": now, "nbf": now, "exp": now + dt.timedelta(minutes=5)}
    base.update({k: now + v if isinstance(v, dt.timedelta) else v for k, v in overrides.items()})
    return {k: v for k, v in base.items() if v is not None}


def reason_of(token: str, check: TokenVerifier | None = None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        (check or verifier()).verify(token)
    return caught.value.code


def test_valid_hs256_token_gives_the_caller() -> None:
    caller = verifier().verify(jwt.encode(claims(), SECRET, algorithm="HS256"))
    assert (caller.tenant_id, caller.subject, caller.role) == ("bank-a", "u1", Role.USER)


def test_valid_rs256_token_with_public_key() -> None:
    caller = verifier(None, PUBLIC).verify(jwt.encode(claims(role="service"), PRIVATE, algorithm="RS256"))
    assert caller.role is Role.SERVICE


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"exp": -dt.timedelta(minutes=5)}, "TOKEN_EXPIRED"),
    ({"nbf": dt.timedelta(minutes=5)}, "TOKEN_NOT_YET_VALID"),
    ({"iss": "someone-else"}, "TOKEN_WRONG_ISSUER"),
    ({"aud": "another-api"}, "TOKEN_WRONG_AUDIENCE"),
    ({"tenant": None}, "TOKEN_MISSING_CLAIM"),
    ({"exp": None}, "TOKEN_MISSING_CLAIM"),
    ({"role": "superuser"}, "TOKEN_UNKNOWN_ROLE"),
    ({"tenant": ""}, "TOKEN_MISSING_CLAIM"),
])
def test_claim_problems_have_their_own_reason(overrides: dict[str, object], reason: str) -> None:
    assert reason_of(jwt.encode(claims(**overrides), SECRET, algorithm="HS256")) == reason


def test_small_clock_skew_is_tolerated() -> None:
    token = jwt.encode(claims(exp=-dt.timedelta(seconds=10)), SECRET, algorithm="HS256")
    assert verifier().verify(token).subject == "u1"


def test_wrong_secret_is_a_bad_signature() -> None:
    assert reason_of(jwt.encode(claims(), "t" * 48, algorithm="HS256")) == "TOKEN_BAD_SIGNATURE"


def test_alg_none_is_rejected() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")  # type: ignore[arg-type]
    assert reason_of(unsigned) == "TOKEN_ALGORITHM_NOT_ALLOWED"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_algorithm_confusion_public_key_as_hmac_secret_is_rejected() -> None:
    # An attacker signs HS256 with the server's *public* RSA key as the HMAC secret.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    expires = int((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).timestamp())
    payload = _b64(json.dumps({"iss": "engage", "aud": "engage-api", "sub": "x", "tenant": "bank-a",
                               "role": "bank_admin", "exp": expires}).encode())
    signature = _b64(hmac.new(PUBLIC.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert reason_of(f"{header}.{payload}.{signature}", verifier(None, PUBLIC)) == "TOKEN_ALGORITHM_NOT_ALLOWED"


def test_other_algorithms_are_rejected() -> None:
    token = jwt.encode(claims(), SECRET * 2, algorithm="HS512")
    assert reason_of(token) == "TOKEN_ALGORITHM_NOT_ALLOWED"


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "", "...."])
def test_garbage_is_malformed(garbage: str) -> None:
    assert reason_of(garbage) in {"TOKEN_MALFORMED", "TOKEN_INVALID"}


def test_mint_round_trips(tmp_path) -> None:
    settings = Settings(jwt_secret=SECRET, var_dir=tmp_path)
    token = mint_token(settings, tenant="bank-a", role=Role.BANK_ADMIN, subject="ops", ttl=dt.timedelta(minutes=1))
    assert TokenVerifier.from_settings(settings).verify(token).role is Role.BANK_ADMIN


def test_development_secret_is_generated_once_and_kept(tmp_path) -> None:
    first = Settings(var_dir=tmp_path).hmac_secret()
    assert first and len(first) >= 32
    assert Settings(var_dir=tmp_path).hmac_secret() == first


def test_a_token_verified_before_is_refused_once_it_expires() -> None:
    # Verified tokens are kept for their lifetime: the kept answer must end with the token's.
    check = TokenVerifier("engage", "engage-api", 0, SECRET, None)
    token = jwt.encode(claims(exp=dt.timedelta(seconds=1.5)), SECRET, algorithm="HS256")
    assert check.verify(token).subject == "u1"
    assert check.verify(token).subject == "u1"
    time.sleep(2.0)
    assert reason_of(token, check) == "TOKEN_EXPIRED"


def test_a_kept_token_does_not_vouch_for_a_tampered_copy() -> None:
    check = verifier()
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    check.verify(token)
    header, payload, signature = token.split(".")
    other = base64.urlsafe_b64encode(json.dumps({**json.loads(base64.urlsafe_b64decode(payload + "==")),
                                                 "tenant": "bank-b"}).encode()).rstrip(b"=").decode()
    assert reason_of(f"{header}.{other}.{signature}", check) == "TOKEN_BAD_SIGNATURE"


def _counting_checks(check: TokenVerifier) -> list[str]:
    """The subjects whose signature the verifier checked, in order (a kept token is not checked)."""
    checked: list[str] = []
    verify_signature = check._verify

    def counted(token: str):
        caller, expires_at = verify_signature(token)
        checked.append(caller.subject)
        return caller, expires_at

    check._verify = counted  # type: ignore[method-assign]
    return checked


def test_the_kept_tokens_are_bounded_and_the_least_recently_used_goes_first() -> None:
    check = TokenVerifier("engage", "engage-api", 0, SECRET, None, kept=2)
    checked = _counting_checks(check)
    a, b, c = (jwt.encode(claims(sub=name), SECRET, algorithm="HS256") for name in ("a", "b", "c"))
    for token in (a, b, a, c, a, b):
        check.verify(token)
    # The busy service's token (a) stays kept; the one least recently used (b) made room for c.
    assert checked == ["a", "b", "c", "b"]


def test_a_kept_token_is_checked_again_once_its_expiry_and_leeway_have_passed() -> None:
    now = [time.time()]
    check = TokenVerifier("engage", "engage-api", 30, SECRET, None, clock=lambda: now[0])
    checked = _counting_checks(check)
    token = jwt.encode(claims(exp=dt.timedelta(minutes=5)), SECRET, algorithm="HS256")
    check.verify(token)
    now[0] += 5 * 60 + 29
    check.verify(token)
    assert checked == ["u1"]
    now[0] += 2  # the kept answer ends with the token's life (as the verifier's clock tells it)
    check.verify(token)
    assert checked == ["u1", "u1"]
