"""Signed .pkpass bundles (server.domain.engagement.wallet_passes): built with a throwaway Apple-like chain
(a root, a WWDR intermediate, a pass certificate it issued), unzipped, their manifest digests checked
and their detached PKCS #7 signature verified with the pass certificate's public key."""

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
import trustme
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.engagement import wallet_passes
from server.domain.engagement.setup_validation import validate_channel_config
from server.domain.engagement.wallet_passes import PassContent, PassSigner, PassSigningError
from server.domain.errors import InvalidArgument
from tests.support.pkpass import open_pkpass

PASS_TYPE = "pass.com.yesbank.store"


def chain(key_type: trustme.KeyType) -> tuple[trustme.CA, trustme.LeafCert]:
    wwdr = trustme.CA(key_type=key_type).create_child_ca()
    leaf = wwdr.issue_cert(PASS_TYPE, organization_unit_name="A1B2C3D4E5")
    return wwdr, leaf


def signer_of(wwdr: trustme.CA, leaf: trustme.LeafCert, team: str = "") -> PassSigner:
    certificate = leaf.cert_chain_pems[0].bytes().decode()
    return PassSigner(certificate, leaf.private_key_pem.bytes().decode(), wwdr.cert_pem.bytes().decode(),
                      wallet_passes.team_identifier(certificate, team))


def content(message: str = "Balance 120 CZK") -> PassContent:
    return PassContent(PASS_TYPE, "card-1", "t" * 32, "https://wallet.yesbank.example/passes/bank-1",
                       {"message": message, "organization_name": "Yes Bank", "description": "Store card"})


@pytest.mark.parametrize("key_type", [trustme.KeyType.RSA, trustme.KeyType.ECDSA])
def test_a_bundle_is_signed_by_the_pass_certificate_and_carries_the_wwdr_certificate(key_type):
    wwdr, leaf = chain(key_type)
    data = wallet_passes.bundle(content(), signer_of(wwdr, leaf))
    certificate = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    opened = open_pkpass(data, certificate)  # digests and signature checked
    assert set(opened.files) == {"pass.json", "icon.png", "manifest.json", "signature"}
    intermediate = x509.load_pem_x509_certificate(wwdr.cert_pem.bytes())
    assert set(opened.signer_certificates) == {certificate, intermediate}
    fields = opened.pass_json
    assert (fields["formatVersion"], fields["passTypeIdentifier"], fields["serialNumber"]) == (1, PASS_TYPE, "card-1")
    assert fields["teamIdentifier"] == "A1B2C3D4E5"  # the certificate's OU, as Apple's carry it
    assert fields["authenticationToken"] == "t" * 32
    assert fields["webServiceURL"] == "https://wallet.yesbank.example/passes/bank-1"
    assert fields["organizationName"] == "Yes Bank" and fields["description"] == "Store card"
    [field] = fields["storeCard"]["primaryFields"]
    assert field["value"] == "Balance 120 CZK" and field["changeMessage"] == "%@"
    assert opened.files["icon.png"].startswith(b"\x89PNG\r\n\x1a\n")


def test_a_tampered_file_or_another_certificate_does_not_verify():
    wwdr, leaf = chain(trustme.KeyType.ECDSA)
    data = wallet_passes.bundle(content(), signer_of(wwdr, leaf))
    other = x509.load_pem_x509_certificate(chain(trustme.KeyType.ECDSA)[1].cert_chain_pems[0].bytes())
    with pytest.raises(InvalidSignature):
        open_pkpass(data, other)
    changed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(changed, "w") as target:
        for name in source.namelist():
            body = source.read(name)
            target.writestr(name, body.replace(b"120 CZK", b"999 CZK") if name == "pass.json" else body)
    own = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    with pytest.raises(AssertionError, match=r"pass\.json"):
        open_pkpass(changed.getvalue(), own)


def test_a_configured_team_wins_and_keys_that_cannot_sign_are_refused():
    wwdr, leaf = chain(trustme.KeyType.RSA)
    assert signer_of(wwdr, leaf, team="ZZZZZZZZZZ").team_identifier == "ZZZZZZZZZZ"
    _, other = chain(trustme.KeyType.RSA)
    mismatched = PassSigner(leaf.cert_chain_pems[0].bytes().decode(), other.private_key_pem.bytes().decode(),
                            None, "T")
    with pytest.raises(PassSigningError, match="not the pass certificate's"):
        wallet_passes.bundle(content(), mismatched)
    with pytest.raises(PassSigningError, match="WWDR"):
        wallet_passes.bundle(content(), PassSigner(leaf.cert_chain_pems[0].bytes().decode(),
                                                   leaf.private_key_pem.bytes().decode(), "junk", "T"))


@given(st.dictionaries(st.text(st.characters(codec="utf-8", exclude_characters="/\\\x00"), min_size=1,
                               max_size=20), st.binary(max_size=200), max_size=6))
@settings(max_examples=50)
def test_the_manifest_names_every_file_with_its_sha1(files):
    manifest = json.loads(wallet_passes.manifest(files))
    assert manifest == {name: hashlib.sha1(data).hexdigest() for name, data in files.items()}


@given(st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(9999, 1, 1),
                    timezones=st.just(dt.UTC)))
def test_an_updated_tag_stands_for_its_moment_to_the_microsecond(moment):
    assert wallet_passes.since_tag(wallet_passes.updated_tag(moment)) == moment


@pytest.mark.parametrize("tag", ["", "abc", "-5", "1" * 21, "12.5"])
def test_a_tag_that_is_not_ours_means_every_pass(tag):
    assert wallet_passes.since_tag(tag) is None


def test_an_apple_pass_configuration_checks_its_web_service_url_team_and_wwdr_certificate():
    wwdr, leaf = chain(trustme.KeyType.RSA)
    secrets = {"certificate_pem": leaf.cert_chain_pems[0].bytes().decode(),
               "private_key_pem": leaf.private_key_pem.bytes().decode()}
    settings = {"pass_type_identifier": PASS_TYPE, "web_service_url": "https://wallet.yesbank.example",
                "team_identifier": "A1B2C3D4E5"}
    with_wwdr = {**secrets, "wwdr_certificate_pem": wwdr.cert_pem.bytes().decode()}
    validate_channel_config("PASS", "apple_pass", settings, with_wwdr, creating=True)
    with pytest.raises(InvalidArgument) as refused:
        validate_channel_config("PASS", "apple_pass",
                                {**settings, "web_service_url": "wallet", "team_identifier": "A1"},
                                {**secrets, "wwdr_certificate_pem": "not a certificate"}, creating=True)
    assert sorted(v.field for v in refused.value.violations) == [
        "channel_config.secrets.wwdr_certificate_pem", "channel_config.settings.team_identifier",
        "channel_config.settings.web_service_url"]

