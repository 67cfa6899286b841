"""The arq job context as a task sees it: what worker_settings' ctx, the startup hook and arq put there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Concatenate, NotRequired, TypedDict, cast

from arq.connections import ArqRedis
from arq.typing import WorkerCoroutine

from server.bootstrap import Services
from server.config import Settings
from server.services.dispatch import DispatchService
from workers.gateway import ChannelSenders


class WorkerContext(TypedDict):
    """Every task finds all the required keys; startup is handed the dict before it has set its own."""

    # worker_settings(): the settings the worker was started with.
    settings: Settings
    # arq, before startup: its Redis pool.
    redis: ArqRedis
    # workers.settings.startup: the services the gRPC server uses too, the channel senders, dispatch.
    services: Services
    senders: ChannelSenders
    dispatch: DispatchService
    # arq, for each job (the startup and shutdown hooks see none of these).
    job_id: NotRequired[str]
    job_try: NotRequired[int]
    enqueue_time: NotRequired[dt.datetime]
    score: NotRequired[int]


def arq_job(function: Callable[Concatenate[WorkerContext, ...], Awaitable[object]]) -> WorkerCoroutine:
    """A task for arq's func() and cron(), which declare the context a plain dict: it is the same dict."""
    return cast(WorkerCoroutine, function)
