"""Apple Wallet passes as files: pass.json from a pass message's rendered parts, manifest.json with the
SHA-1 digest of every file, `signature` (a detached PKCS #7 signature of the manifest, DER, by the
bank's pass certificate, carrying Apple's WWDR intermediate certificate) and the .pkpass zip of them
all. Pure: the keys come in as PEM text, the bytes go out.

A pass's content is what the store keeps of it (`PassContent`); every fetch of the pass builds and
signs the bundle again from it, so a rotated certificate signs the next fetch."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from server.domain.engagement import pem_keys

MEDIA_TYPE = "application/vnd.apple.pkpass"
# Content keys of an email delivery that carry a new pass (base64 of the .pkpass), "pkpass.1", ...
ATTACHMENT_PREFIX = "pkpass."
# Apple's field keys: the pass's one message, shown on its front; its changeMessage makes Wallet show
# the new text on the lock screen when an update changes it.
MESSAGE_FIELD_KEY = "message"
# Bytes of randomness in a pass's authentication token (Apple asks for at least 16 characters).
TOKEN_BYTES = 24
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class PassSigningError(ValueError):
    """The pass certificate, its key or the WWDR certificate cannot sign (not PEM, not a pair, an
    algorithm PKCS #7 signing does not take)."""


@dataclass(frozen=True)
class PassSigner:
    """What signs a pass type's passes: the bank's pass certificate and key, Apple's WWDR intermediate
    (None: left out, as Wallet then refuses the pass; tests and development only) and the team."""

    certificate_pem: str
    private_key_pem: str
    wwdr_certificate_pem: str | None
    team_identifier: str


@dataclass(frozen=True)
class PassContent:
    """One pass as kept: its identity, the token wallets authenticate with, and the rendered parts of
    the pass message that made it last (message, organization_name, description)."""

    pass_type_identifier: str
    serial_number: str
    authentication_token: str
    web_service_url: str  # Apple appends /v1/... to it
    parts: Mapping[str, str]


def new_authentication_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def team_identifier(certificate_pem: str, configured: str = "") -> str:
    """The team of a pass certificate: the configured one, else the certificate subject's OU (Apple's
    pass type ID certificates carry the team identifier there); "" when neither says."""
    if configured.strip():
        return configured.strip()
    certificate = pem_keys.certificate(certificate_pem)
    if certificate is None:
        return ""
    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(units[0].value) if units else ""


def pass_json(content: PassContent, team: str) -> dict[str, object]:
    parts = content.parts
    organization = parts.get("organization_name") or "Engage"
    return {
        "formatVersion": 1,
        "passTypeIdentifier": content.pass_type_identifier,
        "serialNumber": content.serial_number,
        "teamIdentifier": team,
        "organizationName": organization,
        "description": parts.get("description") or organization,
        "logoText": organization,
        "webServiceURL": content.web_service_url,
        "authenticationToken": content.authentication_token,
        "storeCard": {
            "primaryFields": [{"key": MESSAGE_FIELD_KEY, "label": parts.get("label", ""),
                               "value": parts.get("message", ""), "changeMessage": "%@"}],
        },
    }


def manifest(files: Mapping[str, bytes]) -> bytes:
    """manifest.json: each file's name and the hex SHA-1 of its bytes (Apple's manifest digest)."""
    digests = {name: hashlib.sha1(data, usedforsecurity=False).hexdigest() for name, data in sorted(files.items())}
    return json.dumps(digests, indent=2, sort_keys=True).encode()


def sign(data: bytes, signer: PassSigner) -> bytes:
    """The detached PKCS #7 signature (DER) of `data` by the pass certificate, with the signing time
    among its signed attributes and the WWDR certificate among its certificates."""
    certificate = pem_keys.certificate(signer.certificate_pem)
    key = pem_keys.private_key(signer.private_key_pem)
    if certificate is None or key is None:
        raise PassSigningError("the pass certificate or its private key is not PEM")
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise PassSigningError("the pass key must be RSA or EC to sign")
    if not pem_keys.belong_together(certificate, key):
        raise PassSigningError("the private key is not the pass certificate's")
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(certificate, key, hashes.SHA256())
    if signer.wwdr_certificate_pem:
        wwdr = pem_keys.certificate(signer.wwdr_certificate_pem)
        if wwdr is None:
            raise PassSigningError("the WWDR certificate is not PEM")
        builder = builder.add_certificate(wwdr)
    return builder.sign(serialization.Encoding.DER,
                        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])


def bundle(content: PassContent, signer: PassSigner, assets: Mapping[str, bytes] | None = None) -> bytes:
    """The .pkpass: pass.json, icon.png (a plain one unless `assets` has its own), any other assets,
    manifest.json and signature, zipped."""
    files = {"icon.png": default_icon(), **(assets or {}),
             "pass.json": json.dumps(pass_json(content, signer.team_identifier), indent=2).encode()}
    files["manifest.json"] = manifest(files)
    files["signature"] = sign(files["manifest.json"], signer)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def default_icon(size: int = 29, rgb: tuple[int, int, int] = (0, 82, 155)) -> bytes:
    """A plain square PNG: Wallet refuses a pass without icon.png, and a pass template names no image."""
    row = b"\x00" + bytes(rgb) * size  # filter byte 0, then the row's pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size))
            + chunk(b"IEND", b""))


@dataclass
class IssuedPass:
    """A pass as the store keeps it: the token sealed (SecretBox), the pass message's rendered parts,
    and its lastUpdated (`updated_at`)."""

    pass_type_identifier: str
    serial_number: str
    customer_id: str
    sealed_token: bytes
    parts: dict[str, str]
    created_at: dt.datetime
    updated_at: dt.datetime
    download_token_hash: str | None = None
    download_expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class PassSummary:
    """A pass as ListWalletPasses shows it."""

    issued: IssuedPass
    registered_devices: int


def download_token_hash(token: str) -> str:
    """What the store keeps of a download link's token: its SHA-256 (the token is 32 random bytes, so a
    plain hash cannot be searched back)."""
    return hashlib.sha256(token.encode()).hexdigest()


def updated_tag(moment: dt.datetime) -> str:
    """The `lastUpdated` tag of a device's listing: microseconds since the epoch (Apple treats it as
    opaque and sends it back as passesUpdatedSince)."""
    return str((moment - _EPOCH) // dt.timedelta(microseconds=1))


def since_tag(tag: str) -> dt.datetime | None:
    """The moment a passesUpdatedSince tag stands for; None for no tag or one that is not ours."""
    if not tag.isdigit() or len(tag) > 20:
        return None
    return _EPOCH + dt.timedelta(microseconds=int(tag))
