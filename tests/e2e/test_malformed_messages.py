"""Bytes on the wire that are not a valid protocol buffer message of the method's request type (a string
that is not UTF-8, a message cut short) are the caller's INVALID_ARGUMENT with reason MESSAGE_MALFORMED,
for a unary method and for each message of a request stream. Sent as raw bytes through a generic
channel call, as a broken client would. Before, gRPC's own reading answered UNKNOWN "Unexpected
DecodeError"."""

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from engage.ingest.v1 import ingest_service_pb2 as pb
from tests.support.builders import customer, error_info, seed_accounts, transaction

GET_CUSTOMER = "/engage.ingest.v1.IngestService/GetCustomer"
UPSERT_CUSTOMER = "/engage.ingest.v1.IngestService/UpsertCustomer"
INGEST_TRANSACTIONS = "/engage.ingest.v1.IngestService/IngestTransactions"

# GetCustomerRequest.name (field 1, a string) holding the bytes ff fe: not UTF-8.
NOT_UTF8 = b"\x0a\x02\xff\xfe"
# A length-delimited field 1 announcing 16 bytes and carrying 2.
CUT_SHORT = b"\x0a\x10ab"


def _metadata(server, tenant):
    return (("authorization", f"Bearer {server.token(tenant)}"),)


def _message_index(error: grpc.aio.AioRpcError) -> str | None:
    for detail in rpc_status.from_call(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.metadata.get("message_index")
    return None


@pytest.mark.parametrize(("method", "raw"), [
    (GET_CUSTOMER, NOT_UTF8),
    (GET_CUSTOMER, CUT_SHORT),
    # A real request cut short inside its customer.
    (UPSERT_CUSTOMER, pb.UpsertCustomerRequest(customer=customer("c1", notes="n" * 40)).SerializeToString()[:-5]),
], ids=["not-utf8", "cut-short", "real-request-cut-short"])
async def test_a_malformed_unary_request_is_invalid_argument(server, tenant, method, raw):
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.unary_unary(method)  # no serializers: bytes go out as they are
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(raw, metadata=_metadata(server, tenant), timeout=10)
    code, reason, _ = error_info(caught.value)
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MESSAGE_MALFORMED")
    assert _message_index(caught.value) is None
    assert "request id" not in caught.value.details()  # the caller's fault, not one to look up in our logs


async def test_well_formed_bytes_still_reach_the_method(server, tenant):
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.unary_unary(GET_CUSTOMER)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(pb.GetCustomerRequest(name="customers/nobody").SerializeToString(),
                       metadata=_metadata(server, tenant), timeout=10)
    assert error_info(caught.value)[:2] == (grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND")


async def test_an_unauthenticated_caller_learns_nothing_from_its_bytes(server):
    async with grpc.aio.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(GET_CUSTOMER)(NOT_UTF8, timeout=10)
    assert error_info(caught.value)[:2] == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")


@pytest.mark.parametrize("bad", [NOT_UTF8, CUT_SHORT], ids=["not-utf8", "cut-short"])
async def test_a_malformed_message_in_a_request_stream_is_invalid_argument(server, tenant, service_stubs, bad):
    await seed_accounts(service_stubs, "c1", "a1")
    good = pb.IngestTransactionsRequest(transactions=[transaction("t1", "a1", "1.00")]).SerializeToString()

    async def messages():
        yield good
        yield bad  # as an IngestTransactionsRequest: field 1 is a Transaction, and these bytes are not one
        yield good

    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.stream_unary(INGEST_TRANSACTIONS)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(messages(), metadata=_metadata(server, tenant), timeout=10)
    code, reason, _ = error_info(caught.value)
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MESSAGE_MALFORMED")
    assert _message_index(caught.value) == "1"
