"""Reading the keys and certificates banks upload for APNs, Wallet passes and FCM, so that one that
cannot sign or authenticate is refused when saved, not found out by every send until its dead letter."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def private_key(pem: str) -> PrivateKeyTypes | None:
    """The unencrypted private key in this PEM text, or None."""
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):  # not PEM, not a key, encrypted, an unsupported algorithm
        return None


def is_p256_key(pem: str) -> bool:
    key = private_key(pem)
    return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


def certificate(pem: str) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None


def belong_together(certificate: x509.Certificate, key: PrivateKeyTypes) -> bool:
    """Whether the key is the private half of the certificate's public key."""
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return certificate.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)
