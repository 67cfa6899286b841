"""Checking a .pkpass as Wallet does: the manifest's SHA-1 digests match the files, and the detached
PKCS #7 signature of manifest.json verifies with the pass certificate's public key. `cryptography`
signs PKCS #7 but does not verify it, so the SignedData is read here with a small DER reader: its
signed attributes' messageDigest must be the SHA-256 of the manifest, and the signature over those
attributes (re-tagged as the SET they are signed as) must verify."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

# 1.2.840.113549.1.9.4 (messageDigest) as DER object identifier contents.
MESSAGE_DIGEST_OID = bytes.fromhex("2a864886f70d010904")
SIGNING_TIME_OID = bytes.fromhex("2a864886f70d010905")


@dataclass
class Tlv:
    tag: int
    start: int  # of the whole element (tag byte)
    body: bytes
    raw: bytes


def read(data: bytes, offset: int = 0) -> Tlv:
    tag = data[offset]
    length = data[offset + 1]
    position = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[position:position + count], "big")
        position += count
    return Tlv(tag, offset, data[position:position + length], data[offset:position + length])


def children(element: Tlv) -> list[Tlv]:
    found, offset = [], 0
    while offset < len(element.body):
        child = read(element.body, offset)
        found.append(child)
        offset += len(child.raw)
    return found


@dataclass
class OpenedPass:
    files: dict[str, bytes]
    pass_json: dict
    signer_certificates: list[x509.Certificate]


def open_pkpass(data: bytes, certificate: x509.Certificate) -> OpenedPass:
    """The bundle's files, after checking its manifest and its signature by `certificate`."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name
    verify_detached(files["signature"], files["manifest.json"], certificate)
    return OpenedPass(files, json.loads(files["pass.json"]), pkcs7.load_der_pkcs7_certificates(files["signature"]))


def verify_detached(signature: bytes, content: bytes, certificate: x509.Certificate) -> None:
    content_info = read(signature)
    _oid, signed_data_wrapper = children(content_info)
    [signed_data] = children(signed_data_wrapper)
    parts = children(signed_data)
    encapsulated = parts[2]
    assert len(children(encapsulated)) == 1, "detached: the signed data carries no content"
    [signer_info] = children(parts[-1])
    info = children(signer_info)
    attributes = next(p for p in info if p.tag == 0xA0)
    signature_value = info[-1].body
    digests = {}
    for attribute in children(attributes):
        oid, values = children(attribute)
        digests[oid.body] = children(values)[0].body
    assert digests[MESSAGE_DIGEST_OID] == hashlib.sha256(content).digest(), "messageDigest"
    assert SIGNING_TIME_OID in digests, "Apple wants the signing time"
    signed = b"\x31" + attributes.raw[1:]  # signed as a SET OF, stored [0] IMPLICIT
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature_value, signed, ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(signature_value, signed, padding.PKCS1v15(), hashes.SHA256())
