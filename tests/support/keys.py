"""Private keys as banks upload them: PKCS #8 PEM text."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def pkcs8_pem(key: PrivateKeyTypes) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def apns_key_pem() -> str:
    """A new P-256 key, the kind Apple issues for APNs provider tokens (.p8)."""
    return pkcs8_pem(ec.generate_private_key(ec.SECP256R1()))
