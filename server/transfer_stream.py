"""The goal-transfers Redis Stream: transfer instructions for the bank's payment system (docs/goals-funding.md).

One stream per deployment, `{queue_name}:goal-transfers`, every message naming its tenant. The bank reads
it with the consumer group PAYMENTS_GROUP, which Engage creates (from the stream's first entry) before its
first XADD, so a payment system that starts later still finds every instruction waiting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

STREAM_SUFFIX = "goal-transfers"
PAYMENTS_GROUP = "payments"


def stream_name(queue_name: str) -> str:
    return f"{queue_name}:{STREAM_SUFFIX}"


class RedisTransferStream:
    """XADDs transfer messages; failures propagate (the caller's outbox keeps the transfer unpublished)."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self._redis = redis
        self.name = stream_name(queue_name)

    async def publish(self, messages: Sequence[Mapping[str, str]]) -> None:
        if not messages:
            return
        # Every time, not once per process: a Redis restarted empty would otherwise get the stream back
        # (XADD makes it) without the group, and the bank's XREADGROUP would fail.
        try:
            await self._redis.xgroup_create(self.name, PAYMENTS_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        async with self._redis.pipeline(transaction=False) as pipe:
            for message in messages:
                # redis' stubs want a dict of its own value union; text fields are what it sends.
                pipe.xadd(self.name, cast(Any, dict(message)))
            await pipe.execute()

