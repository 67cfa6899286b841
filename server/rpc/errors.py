"""Domain errors and faults -> gRPC status with google.rpc.Status details (ErrorInfo + BadRequest or
RetryInfo)."""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.domain import errors
from server.faults import Fault

ERROR_DOMAIN = "engage"

_CODES: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (errors.NotFound, code_pb2.NOT_FOUND),
    (errors.AlreadyExists, code_pb2.ALREADY_EXISTS),
    (errors.FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (errors.PermissionDenied, code_pb2.PERMISSION_DENIED),
    (errors.Unauthenticated, code_pb2.UNAUTHENTICATED),
    (errors.ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
]


def _packed(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_grpc_status(error: errors.DomainError) -> grpc.Status:
    code = next((c for kind, c in _CODES if isinstance(error, kind)), code_pb2.INTERNAL)
    details = [_packed(error_details_pb2.ErrorInfo(reason=error.code, domain=ERROR_DOMAIN,
                                                   metadata=error.metadata))]
    if error.violations:
        details.append(_packed(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations])))
    return rpc_status.to_status(status_pb2.Status(code=code, message=error.message, details=details))


def status_for(code: int, reason: str, message: str, *, retry_after_seconds: float | None = None) -> grpc.Status:
    """A status that does not come from a domain error (internal faults, overload); with a RetryInfo
    detail when the caller may try again after a while."""
    details = [_packed(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN))]
    if retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(dt.timedelta(seconds=retry_after_seconds))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=details))


_FAULT_CODES = {
    Fault.STORE_UNAVAILABLE: code_pb2.UNAVAILABLE,
    Fault.STORE_TIMEOUT: code_pb2.UNAVAILABLE,
    Fault.STORE_BUSY: code_pb2.UNAVAILABLE,
    Fault.STORE_CONFLICT: code_pb2.ABORTED,
    Fault.OUT_OF_MEMORY: code_pb2.RESOURCE_EXHAUSTED,
    Fault.QUEUE_UNAVAILABLE: code_pb2.UNAVAILABLE,
}
_FAULT_MESSAGES = {
    Fault.STORE_UNAVAILABLE: "the database is unavailable",
    Fault.STORE_TIMEOUT: "the database did not answer in time",
    Fault.STORE_BUSY: "the database is busy (a lock was not granted in time)",
    Fault.STORE_CONFLICT: "the transaction conflicted with another and was rolled back",
    Fault.OUT_OF_MEMORY: "the server ran out of memory for this request",
    Fault.QUEUE_UNAVAILABLE: "the job queue (Redis) is unavailable",
}


def fault_status(fault: Fault, request_id: str) -> grpc.Status:
    """The answer to a call that failed for a fault of the kind given (server/faults.py). Nothing the
    call wrote was kept (its unit of work rolled back), unless the fault came while committing."""
    retry = fault.retry_after_seconds
    advice = f"; retry after {retry:g} s" if retry is not None else ""
    return status_for(_FAULT_CODES[fault], fault.value, f"{_FAULT_MESSAGES[fault]}{advice} (request id {request_id})",
                      retry_after_seconds=retry)
