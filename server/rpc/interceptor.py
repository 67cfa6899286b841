"""One server interceptor for every service: request id and structured log line, authentication,
reading the request messages, and the mapping of errors to statuses with details. Servicers stay
translation only."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import structlog
from google.protobuf.message import DecodeError
from google.rpc import code_pb2

from server.domain.errors import DomainError, InvalidArgument, Unauthenticated
from server.faults import fault_of
from server.metrics import RPC_REQUESTS, RPC_SECONDS
from server.rpc.context import set_caller
from server.rpc.errors import fault_status, status_for, to_grpc_status
from server.security.tokens import TokenVerifier
from server.services.tenants import TenantService

log = structlog.get_logger("engage.rpc")

PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


class EngageInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, verifier: TokenVerifier, tenants: TenantService) -> None:
        self._verifier = verifier
        self._tenants = tenants
        # method -> the handler gRPC runs for it, wrapped: a method's handler never changes once the
        # server is built, so it is looked up and wrapped once, not on every call (a few percent of a
        # quote's CPU). Only registered methods are kept: an unknown name is looked up every time.
        self._wrapped: dict[str, Any] = {}
        self._counted: dict[tuple[str, grpc.StatusCode], Any] = {}
        self._timed: dict[str, Any] = {}

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
                                details: grpc.HandlerCallDetails) -> Any:
        method: str = details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = await continuation(details)
            if handler is None:
                return None
            wrapped = handler if method.startswith(PUBLIC_PREFIXES) else self._wrap(method, handler)
            self._wrapped[method] = wrapped
        return wrapped

    def _wrap(self, method: str, handler: Any) -> Any:
        # gRPC hands the request over as bytes (no deserializer) and the guard reads it: a message that is
        # not valid protobuf is then the caller's INVALID_ARGUMENT, where gRPC's own reading answered
        # UNKNOWN. So servicers get messages from their request iterators only (context.read() would
        # give bytes).
        read_one, read_each = _reader(handler.request_deserializer)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary, read_one), None, handler.response_serializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(method, handler.stream_unary, read_each), None, handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, handler.unary_stream, read_one), None, handler.response_serializer)
        return grpc.stream_stream_rpc_method_handler(
            self._streaming(method, handler.stream_stream, read_each), None, handler.response_serializer)

    def _guard(self, method: str, context: grpc.aio.ServicerContext) -> _Guard:
        """The call's own guard, with its metadata and request id."""
        metadata = {k: v for k, v in (context.invocation_metadata() or ())}
        return _Guard(self, method, metadata, str(metadata.get("x-request-id") or uuid.uuid4()))

    def _unary(self, method: str, behaviour: Callable[..., Awaitable[Any]],
               read: Callable[[Any], Any]) -> Callable[..., Awaitable[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await self._guard(method, context).unary(behaviour, read, request, context)

        return run

    def _streaming(self, method: str, behaviour: Callable[..., AsyncIterator[Any]],
                   read: Callable[[Any], Any]) -> Callable[..., AsyncIterator[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for item in self._guard(method, context).streaming(behaviour, read, request, context):
                yield item

        return run

    def measure(self, method: str, code: grpc.StatusCode, elapsed: float) -> None:
        """The call's count and duration; each label set's series looked up once (registered methods and
        status codes: a bounded set)."""
        counted = self._counted.get((method, code))
        if counted is None:
            counted = self._counted[(method, code)] = RPC_REQUESTS.labels(method, code.name)
        timed = self._timed.get(method)
        if timed is None:
            timed = self._timed[method] = RPC_SECONDS.labels(method)
        counted.inc()
        timed.observe(elapsed)

    async def authenticate(self, metadata: dict[str, Any]) -> Any:
        header = metadata.get("authorization")
        if not header:
            raise Unauthenticated("TOKEN_MISSING", "send metadata 'authorization: Bearer <JWT>'")
        scheme, _, token = str(header).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("TOKEN_MALFORMED", "the authorization metadata must be 'Bearer <JWT>'")
        caller = self._verifier.verify(token.strip())
        await self._tenants.require_known(caller.tenant_id)
        return caller


def _malformed(error: DecodeError, position: int | None) -> InvalidArgument:
    where = "the request" if position is None else f"message {position} of the request stream"
    return InvalidArgument("MESSAGE_MALFORMED", f"{where} is not a valid protocol buffer message of its type "
                                                f"(cut short, or a string that is not UTF-8, say): {error}",
                           metadata={} if position is None else {"message_index": str(position)})


def _reader(deserialize: Callable[[bytes], Any] | None) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Reading one request message, and each message of a request stream, with the method's deserializer;
    a DecodeError becomes MESSAGE_MALFORMED."""
    if deserialize is None:
        return (lambda request: request), (lambda requests: requests)

    def read_one(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except DecodeError as error:
            raise _malformed(error, None) from None

    async def read_each(raw_messages: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        position = 0
        async for raw in raw_messages:
            try:
                message = deserialize(raw)
            except DecodeError as error:
                raise _malformed(error, position) from None
            yield message
            position += 1

    return read_one, read_each


class _Guard:
    """Runs one call: authenticate, bind log context, map errors, log the outcome."""

    def __init__(self, interceptor: EngageInterceptor, method: str, metadata: dict[str, Any],
                 request_id: str) -> None:
        self._interceptor = interceptor
        self._method = method
        self._metadata = metadata
        self._request_id = request_id

    async def _begin(self, context: grpc.aio.ServicerContext) -> float:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=self._request_id, method=self._method)
        context.set_trailing_metadata((("x-request-id", self._request_id),))
        caller = await self._interceptor.authenticate(self._metadata)
        set_caller(caller)
        structlog.contextvars.bind_contextvars(tenant=caller.tenant_id, subject=caller.subject, role=caller.role.value)
        return time.perf_counter()

    def _measure(self, code: grpc.StatusCode, elapsed: float) -> None:
        self._interceptor.measure(self._method, code, elapsed)

    async def _fail(self, exc: BaseException, context: grpc.aio.ServicerContext, started: float) -> None:
        elapsed = time.perf_counter() - started
        elapsed_ms = round(elapsed * 1000, 2)
        if isinstance(exc, DomainError):
            log.info("rpc", outcome=exc.code, ms=elapsed_ms)
            status = to_grpc_status(exc)
            self._measure(status.code, elapsed)
            await context.abort_with_status(status)
        fault = fault_of(exc)
        if fault is not None:
            # The first line only: SQLAlchemy's next lines carry the statement's parameters (customer data).
            log.warning("rpc", outcome=fault.value, ms=elapsed_ms, error_type=type(exc).__name__,
                        error=str(exc).partition("\n")[0][:300])
            status = fault_status(fault, self._request_id)
            self._measure(status.code, elapsed)
            await context.abort_with_status(status)
        log.error("rpc", outcome="INTERNAL", ms=elapsed_ms, exc_info=exc)
        self._measure(grpc.StatusCode.INTERNAL, elapsed)
        await context.abort_with_status(status_for(code_pb2.INTERNAL, "INTERNAL",
                                                   f"internal error (request id {self._request_id})"))

    def _succeed(self, started: float) -> None:
        elapsed = time.perf_counter() - started
        log.info("rpc", outcome="OK", ms=round(elapsed * 1000, 2))
        self._measure(grpc.StatusCode.OK, elapsed)

    async def unary(self, behaviour: Callable[..., Awaitable[Any]], read: Callable[[Any], Any], request: Any,
                    context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        try:
            started = await self._begin(context)
            response = await behaviour(read(request), context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await self._fail(exc, context, started)
        self._succeed(started)
        return response

    async def streaming(self, behaviour: Callable[..., AsyncIterator[Any]], read: Callable[[Any], Any],
                        request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started = time.perf_counter()
        try:
            started = await self._begin(context)
            async for item in behaviour(read(request), context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await self._fail(exc, context, started)
        self._succeed(started)
