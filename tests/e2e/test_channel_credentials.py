"""Keys and certificates a bank uploads are read when saved: one that cannot sign APNs or FCM tokens, or
a Wallet pass certificate with another certificate's key, is CHANNEL_CONFIG_INVALID naming the secret,
instead of failing every send until its dead letter."""

import json

import grpc
import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from tests.support.builders import failure
from tests.support.keys import apns_key_pem, pkcs8_pem

PEM_SHAPED_JUNK = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
RSA_KEY = pkcs8_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def apns(private_key: str) -> pb.ChannelConfig:
    return pb.ChannelConfig(channel=pb.CHANNEL_PUSH, provider="apns",
                            settings={"topic": "com.yesbank.app", "team_id": "TEAM123456", "key_id": "KEY1234567"},
                            secrets={"private_key": private_key})


def fcm(private_key: str) -> pb.ChannelConfig:
    account = {"client_email": "engage@yes-bank.iam.gserviceaccount.com", "private_key": private_key,
               "token_uri": "https://oauth2.googleapis.com/token"}
    return pb.ChannelConfig(channel=pb.CHANNEL_PUSH, provider="fcm", settings={"project_id": "yes-bank"},
                            secrets={"service_account_json": json.dumps(account)})


def wallet(certificate: trustme.LeafCert, key_pem: str) -> pb.ChannelConfig:
    return pb.ChannelConfig(channel=pb.CHANNEL_PASS, provider="apple_pass",
                            settings={"pass_type_identifier": "pass.com.yesbank.store"},
                            secrets={"certificate_pem": certificate.cert_chain_pems[0].bytes().decode(),
                                     "private_key_pem": key_pem})


PASS_CERTIFICATE = trustme.CA().issue_cert("pass.com.yesbank.store")
OTHER_CERTIFICATE = trustme.CA().issue_cert("pass.com.other.store")


@pytest.mark.parametrize(("config", "field"), [
    (apns(PEM_SHAPED_JUNK), "channel_config.secrets.private_key"),
    (apns(RSA_KEY), "channel_config.secrets.private_key"),
    (apns(pkcs8_pem(ec.generate_private_key(ec.SECP384R1()))), "channel_config.secrets.private_key"),
    (fcm(apns_key_pem()), "channel_config.secrets.service_account_json"),
    (fcm(PEM_SHAPED_JUNK), "channel_config.secrets.service_account_json"),
    (wallet(PASS_CERTIFICATE, OTHER_CERTIFICATE.private_key_pem.bytes().decode()),
     "channel_config.secrets.private_key_pem"),
    (wallet(PASS_CERTIFICATE, PEM_SHAPED_JUNK), "channel_config.secrets.private_key_pem"),
])
async def test_credentials_that_cannot_work_are_refused_when_saved(server, tenant, config, field):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        code, reason, fields = await failure(admin.engagement.CreateChannelConfig(
            pb.CreateChannelConfigRequest(channel_config=config)))
        assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_INVALID", [field])
        assert list((await admin.engagement.ListChannelConfigs(pb.ListChannelConfigsRequest())).channel_configs) == []


async def test_working_credentials_are_kept(server, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        for config in (apns(apns_key_pem()),
                       fcm(RSA_KEY),
                       wallet(PASS_CERTIFICATE, PASS_CERTIFICATE.private_key_pem.bytes().decode())):
            await admin.engagement.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=config))
        listed = await admin.engagement.ListChannelConfigs(pb.ListChannelConfigsRequest())
        assert sorted(c.provider for c in listed.channel_configs) == ["apns", "apple_pass", "fcm"]
