"""The kinds of fault (server/faults.py) and the answers they get (server/rpc/errors.py). The database's
own exceptions are classified in tests/integration/test_store_faults.py, raised by the real libraries."""

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from server.faults import Fault, fault_of
from server.rpc.errors import fault_status


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def test_memory_running_out_is_its_own_kind():
    assert fault_of(_raised(MemoryError())) is Fault.OUT_OF_MEMORY


def test_a_memory_error_beneath_another_is_found():
    try:
        try:
            raise MemoryError()
        except MemoryError as inner:
            raise RuntimeError("while building the answer") from inner
    except RuntimeError as outer:
        assert fault_of(outer) is Fault.OUT_OF_MEMORY


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("x"), TimeoutError(), ConnectionRefusedError(111, "x"),
                                   OSError(2, "no such file")], ids=repr)
def test_errors_raised_outside_the_store_are_ours(error):
    """A timeout or a socket error of the server's own code is not the store's: INTERNAL, and logged."""
    assert fault_of(_raised(error)) is None


def test_redis_unreachable_is_the_queues_fault():
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    assert fault_of(_raised(RedisConnectionError("Error 111 connecting"))) is Fault.QUEUE_UNAVAILABLE
    assert fault_of(_raised(RedisTimeoutError("Timeout reading"))) is Fault.QUEUE_UNAVAILABLE


def test_a_chain_that_loops_ends():
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert fault_of(first) is None


@pytest.mark.parametrize(("fault", "code", "retry"), [
    (Fault.STORE_UNAVAILABLE, grpc.StatusCode.UNAVAILABLE, 1.0),
    (Fault.STORE_TIMEOUT, grpc.StatusCode.UNAVAILABLE, 2.0),
    (Fault.STORE_BUSY, grpc.StatusCode.UNAVAILABLE, 1.0),
    (Fault.STORE_CONFLICT, grpc.StatusCode.ABORTED, 0.1),
    (Fault.OUT_OF_MEMORY, grpc.StatusCode.RESOURCE_EXHAUSTED, None),
    (Fault.QUEUE_UNAVAILABLE, grpc.StatusCode.UNAVAILABLE, 1.0),
])
def test_each_kind_has_its_status_reason_and_retry_advice(fault, code, retry):
    status = fault_status(fault, "req-1")
    assert status.code == code
    assert "req-1" in status.details
    # What a client reads: the google.rpc.Status in the trailing metadata.
    parsed = status_pb2.Status.FromString(dict(status.trailing_metadata)["grpc-status-details-bin"])
    infos, retries = [], []
    for detail in parsed.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append((info.reason, info.domain))
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry_info = error_details_pb2.RetryInfo()
            detail.Unpack(retry_info)
            retries.append(retry_info.retry_delay.ToTimedelta().total_seconds())
    assert infos == [(fault.value, "engage")]
    assert retries == ([] if retry is None else [retry])
