"""JSON in a request nested past what Python's parser recurses through (100,000 `[`) is answered as the
bad input it is, through the calls that read JSON from a request: a page token of every list is
INVALID_PAGE_TOKEN, an FCM service account is CHANNEL_CONFIG_INVALID naming the secret. Both were
INTERNAL (a RecursionError in the server)."""

import base64
import json

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf import message_factory
from google.protobuf.field_mask_pb2 import FieldMask

from engage.engagement.v1 import engagement_service_pb2
from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.goals.v1 import goals_service_pb2
from engage.ingest.v1 import ingest_service_pb2
from engage.insights.v1 import insights_service_pb2
from engage.reporting.v1 import exports_pb2, reporting_service_pb2
from engage.subscriptions.v1 import subscriptions_service_pb2
from server.domain.auth import Role
from tests.support.builders import failure
from tests.support.keys import pkcs8_pem

DEEP = 100_000
# Nested near where the parser gives up: read or not, depending on how deep the stack already is.
NEAR_THE_LIMIT = 900


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


DEEP_TOKENS = {
    "100,000 [": token("[" * DEEP),
    "100,000 [ closed": token(nested(DEEP)),
    "an object 100,000 deep": token('{"a": ' * DEEP + "1" + "}" * DEEP),
    "after 100,000 deep": token('{"list": "apps", "after": ' + nested(DEEP) + "}"),
    "after 900 deep": token('{"list": "apps", "after": ' + nested(NEAR_THE_LIMIT) + "}"),
}
SERVICES = ((engagement_service_pb2, "engagement", Role.BANK_ADMIN), (ingest_service_pb2, "ingest", Role.SERVICE),
            (insights_service_pb2, "insights", Role.SERVICE),
            (subscriptions_service_pb2, "subscriptions", Role.SERVICE), (goals_service_pb2, "goals", Role.SERVICE))
LISTS = [(module, stub, role, method.name) for module, stub, role in SERVICES
         for service in module.DESCRIPTOR.services_by_name.values() for method in service.methods
         if "page_token" in method.input_type.fields_by_name]
# The reporting views: the history lists, and QueryMetrics (its page token is read before the rest).
LISTS += [(reporting_service_pb2, "reporting", Role.BANK_ADMIN, method)
          for method in ("ListInsightHistory", "ListEventHistory", "QueryMetrics")]


def list_request(module, method_name: str, page_token: str):
    method = next(m for s in module.DESCRIPTOR.services_by_name.values() for m in s.methods if m.name == method_name)
    request = message_factory.GetMessageClass(method.input_type)(page_token=page_token)
    fields = method.input_type.fields_by_name
    if "parent" in fields:
        request.parent = "customers/lisa-customer" if module is goals_service_pb2 else "accounts/lisa-customer-chk"
    if "customer_id" in fields:
        request.customer_id = "lisa-customer"
    if "dimension" in fields:  # QueryMetrics: a dimension and a date range are required
        request.dimension = 1
        for end in (request.date_range.start_date, request.date_range.end_date):
            end.year, end.month, end.day = 2026, 1, 1
    return request


def test_every_list_is_covered():
    assert len(LISTS) == 31


@pytest.mark.parametrize(("module", "stub", "role", "method"), LISTS, ids=[m for *_, m in LISTS])
async def test_a_page_token_nested_too_deeply_is_invalid(server, tenant, module, stub, role, method):
    async with server.stubs(server.token(tenant, role, "lisa")) as stubs:
        for name, page_token in DEEP_TOKENS.items():
            call = getattr(getattr(stubs, stub), method)
            code, reason, fields = await failure(call(list_request(module, method, page_token)))
            assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN",
                                              ["page_token"]), name


# ExportView's views (its oneof), each with its own resume tokens.
EXPORT_VIEWS = ["goals", "customer_history", "transfers", "insight_history", "event_history"]


@pytest.mark.parametrize("view", EXPORT_VIEWS)
async def test_a_resume_token_nested_too_deeply_is_invalid(server, tenant, view):
    async with server.stubs(server.token(tenant, Role.SERVICE, "lisa")) as stubs:
        for name, resume_token in DEEP_TOKENS.items():
            request = exports_pb2.ExportViewRequest(format=exports_pb2.EXPORT_FORMAT_CSV, resume_token=resume_token)
            getattr(request, view).SetInParent()

            async def export(request=request):
                return [chunk async for chunk in stubs.reporting.ExportView(request)]

            assert await failure(export()) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN",
                                               ["resume_token"]), name


RSA_KEY = pkcs8_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
ACCOUNT = {"client_email": "engage@yes-bank.iam.gserviceaccount.com", "private_key": RSA_KEY,
           "token_uri": "https://oauth2.googleapis.com/token"}
DEEP_ACCOUNTS = {
    "100,000 [": "[" * DEEP,
    "100,000 [ closed": nested(DEEP),
    "an object 100,000 deep": '{"a": ' * DEEP + "1" + "}" * DEEP,
    "client_email 100,000 deep": json.dumps(ACCOUNT)[:-1] + ', "client_email": ' + nested(DEEP) + "}",
    "client_email 900 deep": json.dumps(ACCOUNT)[:-1] + ', "client_email": ' + nested(NEAR_THE_LIMIT) + "}",
}


def fcm(service_account_json: str) -> pb.ChannelConfig:
    return pb.ChannelConfig(channel=pb.CHANNEL_PUSH, provider="fcm", settings={"project_id": "yes-bank"},
                            secrets={"service_account_json": service_account_json})


async def test_a_service_account_nested_too_deeply_is_refused_naming_the_secret(server, tenant):
    field = ["channel_config.secrets.service_account_json"]
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        kept = await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=fcm(json.dumps(ACCOUNT))))
        for name, text in DEEP_ACCOUNTS.items():
            created = await failure(e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=fcm(text))))
            assert created == (grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_INVALID", field), name
            config = fcm(text)
            config.name = kept.name
            updated = await failure(e.UpdateChannelConfig(pb.UpdateChannelConfigRequest(
                channel_config=config, update_mask=FieldMask(paths=["secrets"]))))
            assert updated == (grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_INVALID", field), name
        listed = await e.ListChannelConfigs(pb.ListChannelConfigsRequest())
        assert [(c.name, c.update_time) for c in listed.channel_configs] == [(kept.name, kept.update_time)]
