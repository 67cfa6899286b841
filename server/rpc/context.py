"""The authenticated caller of the RPC being served, set by the interceptor."""

from __future__ import annotations

from contextvars import ContextVar

from server.domain.auth import Caller

_caller: ContextVar[Caller | None] = ContextVar("engage_caller", default=None)


def set_caller(caller: Caller | None) -> None:
    _caller.set(caller)


def current_caller() -> Caller:
    caller = _caller.get()
    if caller is None:  # only reachable if a method was left out of authentication by mistake
        raise RuntimeError("no authenticated caller in this context")
    return caller
