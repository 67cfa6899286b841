"""Small builders for wire messages and for reading rich errors, shared by the e2e tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb


def customer(customer_id: str, **attributes: str) -> pb.Customer:
    return pb.Customer(customer_id=customer_id, attributes=attributes)


def account(account_id: str, customer_id: str, currency: str = "EUR", **fields: Any) -> pb.Account:
    return pb.Account(account_id=account_id, customer_id=customer_id, currency_code=currency,
                      type=fields.pop("type", pb.ACCOUNT_TYPE_CHECKING),
                      container=fields.pop("container", pb.CONTAINER_BANK), **fields)


def transaction(transaction_id: str, account_id: str, amount: str, direction: str = "CREDIT",
                day: dt.date = dt.date(2024, 1, 15), currency: str = "EUR", **fields: Any) -> pb.Transaction:
    posted = timestamp_pb2.Timestamp()
    posted.FromDatetime(dt.datetime.combine(day, dt.time(12), dt.UTC))
    return pb.Transaction(transaction_id=transaction_id, account_id=account_id, amount=money(amount, currency),
                          direction=pb.Direction.Value(f"DIRECTION_{direction}"), post_time=posted, **fields)


async def stream(*batches: Iterable[pb.Transaction]) -> AsyncIterator[pb.IngestTransactionsRequest]:
    for batch in batches:
        yield pb.IngestTransactionsRequest(transactions=list(batch))


async def seed_accounts(stubs: Any, customer_id: str, *account_ids: str, currency: str = "EUR") -> None:
    await stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer(customer_id)))
    for account_id in account_ids:
        await stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(account=account(account_id, customer_id, currency)))


def error_details(error: grpc.RpcError) -> dict[str, Any]:
    """The google.rpc.Status details of a failed call, by kind: ErrorInfo, BadRequest, RetryInfo."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    found: dict[str, Any] = {}
    for detail in status.details if status else []:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo):
            if detail.Is(kind.DESCRIPTOR):
                found[kind.__name__] = kind()
                detail.Unpack(found[kind.__name__])
    return found


def error_info(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, list[str]]:
    """(status code, ErrorInfo.reason, BadRequest field names) of a failed call."""
    details = error_details(error)
    reason = details["ErrorInfo"].reason if "ErrorInfo" in details else ""
    fields = [v.field for v in details["BadRequest"].field_violations] if "BadRequest" in details else []
    return error.code(), reason, fields  # type: ignore[attr-defined]


async def failure(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str, list[str]]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error_info(error)
    raise AssertionError("the call succeeded but should have failed")


def amount_of(value: Any) -> str:
    from server.domain.money import units_nanos_to_decimal

    return f"{units_nanos_to_decimal(value.units, value.nanos):.2f}"
