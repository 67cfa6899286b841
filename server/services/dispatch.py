"""Dispatch (worker side): claims deliveries, sends each through its channel, and records the answers.
Temporary errors come back later with exponential backoff and jitter until the tries run out
(dead letter); permanent errors fail at once; a sent delivery is never claimed again.

Two ways in, the same steps: `dispatch_due` drains a tenant's due deliveries in batches (one claim per
batch, the sends of a batch concurrent, their answers recorded as they come in small groups), which is
how fresh deliveries and those the relay sweep finds go; `dispatch` takes one named delivery, which is
how retries and deferred ones go."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from server.domain.engagement.delivery_outbox import FinishedSend
from server.domain.engagement.entities import ChannelConfig, Delivery, DeliveryState
from server.domain.engagement.retry_policy import RetryPolicy
from server.domain.engagement.sending import EGRESS_DENIED, SendOutcome, SendReport
from server.security.receipt_urls import ReceiptUrls
from server.security.secret_box import SecretBox, SecretBoxError
from server.services.clock import Clock, utc_now
from server.services.events import DeliveryQueue, hand_over
from server.services.fanout import PARK_HORIZON
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Deliveries claimed together: their sends run at once, so a batch takes about as long as its slowest.
DISPATCH_BATCH = 100
# A claimed delivery is sent (or given up on) this long before its lease runs out, so that no other
# worker takes it over mid-send.
LEASE_MARGIN_SECONDS = 5.0
# A batch's answers are recorded as they come, those within this long of the first one waiting
# together. SMTP answers trickle in a few at a time: a transaction for every few (no window) cost email
# 20-40% more worker CPU and 2-3 times the database's CPU per message; 5 ms takes back most of that. A
# worker killed mid-batch sends again the messages whose answers were in the window, besides those it
# had out: with 20 ms, two to three times as many in the kill test (tests/e2e/test_worker_kill.py).
GROUP_WINDOW_SECONDS = 0.005


@dataclass(frozen=True)
class _HeldBack:
    """Not sent: the provider's rate limit would have kept it waiting past its share of the lease."""

    seconds: float  # how long it would still have had to wait


@dataclass(frozen=True)
class _OpenConfig:
    """A channel configuration with its secrets opened for a batch's sends."""

    config: ChannelConfig
    secrets: dict[str, str]
    unreadable: SecretBoxError | None = None  # the secrets could not be opened (a rotated-away key)


def _secrets_unreadable(tenant_id: str, delivery: Delivery, error: SecretBoxError) -> SendReport:
    # A key that was rotated away or mistyped: retrying cannot help, an operator must look.
    log.error("delivery_secrets_unreadable", tenant=tenant_id, delivery=delivery.delivery_id, error=str(error))
    return SendReport(SendOutcome.PERMANENT_FAILURE, error_code="SECRETS_UNREADABLE", error_message=str(error))


@dataclass
class _Answer:
    """What became of one claimed delivery, to record."""

    delivery: Delivery
    report: SendReport
    state: DeliveryState
    retry_at: dt.datetime | None = None
    held_back: bool = False  # back to the queue without using up a try


class ChannelGateway(Protocol):
    async def send(self, delivery: Delivery, content: dict[str, str], config: ChannelConfig,
                   secrets: dict[str, str], callback_url: str | None) -> SendReport:
        """Sends through the provider; classifies every problem instead of raising."""


@dataclass(frozen=True)
class Reservation:
    """Send slots reserved under a rate limit."""

    delays: list[float]  # seconds from now until each granted send may go, in order
    retry_after: float  # seconds until the next slot, for the sends not granted one


class RateLimiter(Protocol):
    async def reserve(self, key: str, per_second: int, wanted: int, within: float) -> Reservation:
        """Reserves send slots under a limit of `per_second` in any one-second window: up to `wanted`
        of them, those that start within `within` seconds."""


class DispatchService:
    def __init__(self, database: Database, box: SecretBox, queue: DeliveryQueue, gateway: ChannelGateway,
                 limiter: RateLimiter, policy: RetryPolicy, lease: dt.timedelta, default_rate_limit: int,
                 receipt_urls: ReceiptUrls | None = None, clock: Clock = utc_now,
                 on_recorded: Callable[[Delivery, DeliveryState], None] = lambda delivery, state: None, *,
                 tenant_active: Callable[[str], Awaitable[bool]],
                 fallback_step_failed: Callable[[str, list[str]], Awaitable[int]] | None = None) -> None:
        """`on_recorded` hears each recorded outcome (for metrics): the delivery as claimed and its new
        state (QUEUED again for a retry, or SENT / FAILED / DEAD_LETTER). `tenant_active` says whether a
        tenant's deliveries may go (TenantService.is_active): a disabled tenant's are not claimed.
        `fallback_step_failed` hears the trigger keys of fallback chains whose deliveries failed for good
        (EngagementService.advance_fallbacks), to move them on at once rather than at their deadline."""
        self._database = database
        self._box = box
        self._queue = queue
        self._gateway = gateway
        self._limiter = limiter
        self._policy = policy
        self._lease = lease
        self._default_rate_limit = default_rate_limit
        self._receipt_urls = receipt_urls  # None: no receipt endpoint, providers are not asked to report
        self._clock = clock
        self._on_recorded = on_recorded
        self._tenant_active = tenant_active
        self._fallback_step_failed = fallback_step_failed
        self._random = random.Random()
        # One claim at a time from this process; sends of claimed batches still overlap. Many jobs of
        # one tenant claiming at once (a busy queue, 50 jobs per worker) each ran the same due-rows scan
        # in its own transaction; on a loaded machine the database then spent its time in lock waits
        # and the backlog grew faster than it was sent (33 messages/s where 650 went through otherwise).
        self._claiming = asyncio.Lock()
        # Set when the worker is asked to stop: batches in flight finish, no new one is claimed.
        self._finishing_up = False

    def finish_up(self) -> None:
        """The worker is stopping: the batches being sent are finished and recorded, and the rest of each
        tenant's due deliveries is handed to a new job (another worker's) instead of claimed here."""
        self._finishing_up = True

    async def dispatch(self, tenant_id: str, delivery_id: str) -> str:
        """One named delivery. Returns what happened (for logs and tests): a state, or 'not-mine' when
        the delivery is done, not due yet or held by a live worker, or 'tenant-disabled'."""
        if not await self._tenant_active(tenant_id):
            return "tenant-disabled"
        deadline = self._send_deadline()
        async with UnitOfWork(self._database, tenant_id) as uow:
            delivery = await uow.deliveries.claim(delivery_id, self._clock(), self._lease)
            sealed = await uow.channel_configs.with_sealed_secrets({delivery.config_id}) if delivery else {}
            await uow.commit()
        if delivery is None:
            return "not-mine"
        configs = self._open_secrets(sealed)
        turns = await self._reserve_turns(tenant_id, [delivery], configs)
        report = await self._send_safely(tenant_id, delivery, configs, deadline, turns.get(delivery_id, 0.0))
        [answer] = await self._record(tenant_id, [(delivery, report)])
        return str(answer.state)

    async def dispatch_due(self, tenant_id: str) -> int:
        """Sends every delivery of the tenant that is due, a batch at a time, until none is left or half
        the lease has gone by (then a new job takes over the rest): with each batch done within its
        lease, the job ends within one and a half leases. Returns how many were claimed."""
        started = time.monotonic()
        claimed = 0
        while True:
            if not await self._tenant_active(tenant_id):
                # Disabled by an operator: its deliveries stay queued, left alone by the relay sweep, and
                # go once it is enabled again.
                log.info("dispatch_held_tenant_disabled", tenant=tenant_id)
                return claimed
            async with self._claiming:
                if self._finishing_up:
                    await self._queue.enqueue_due_dispatch(tenant_id)
                    return claimed
                async with UnitOfWork(self._database, tenant_id) as uow:
                    deadline = self._send_deadline()
                    batch = await uow.deliveries.claim_due(self._clock(), self._lease, DISPATCH_BATCH)
                    sealed = await uow.channel_configs.with_sealed_secrets({d.config_id for d in batch})
                    await uow.commit()
            if not batch:
                return claimed
            configs = self._open_secrets(sealed)
            claimed += len(batch)
            turns = await self._reserve_turns(tenant_id, batch, configs)
            await self._send_and_record(tenant_id, batch, configs, deadline, turns)
            if len(batch) < DISPATCH_BATCH:
                return claimed
            if time.monotonic() - started > self._lease.total_seconds() / 2:
                await self._queue.enqueue_due_dispatch(tenant_id)
                return claimed

    async def _send_and_record(self, tenant_id: str, batch: list[Delivery], configs: dict[str, _OpenConfig],
                               deadline: float, turns: dict[str, float | _HeldBack]) -> None:
        """Sends a claimed batch and records the answers as they come, while the other sends go on: the
        answers of GROUP_WINDOW_SECONDS from the first one waiting, and any that came meanwhile, in one
        transaction (a group commit). A worker killed mid-batch then leaves unrecorded, to be sent
        again once their lease runs out, only the sends it had out and the answers of one group, not
        every answer of the batch so far."""
        answers: asyncio.Queue[tuple[Delivery, SendReport | _HeldBack]] = asyncio.Queue()

        async def send(delivery: Delivery) -> None:
            answers.put_nowait((delivery, await self._send_safely(tenant_id, delivery, configs, deadline,
                                                                 turns.get(delivery.delivery_id, 0.0))))

        async with asyncio.TaskGroup() as sends:  # cancelled with the job, the sends are cancelled too
            for delivery in batch:
                sends.create_task(send(delivery))
            unrecorded = len(batch)
            while unrecorded:
                group = [await answers.get()]
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(GROUP_WINDOW_SECONDS):
                        while len(group) < unrecorded:
                            group.append(await answers.get())
                unrecorded -= len(group)
                try:
                    await self._record(tenant_id, group)
                except Exception as exc:  # left claimed: sent again once the lease runs out
                    log.error("delivery_answers_not_recorded", tenant=tenant_id, count=len(group), exc_info=exc)

    def _open_secrets(self, configs: dict[str, tuple[ChannelConfig, bytes | None]]) -> dict[str, _OpenConfig]:
        """Each configuration with its secrets opened, once for all the sends through it (opening is a
        decryption and a JSON parse); an unreadable one keeps its error, which fails its sends."""
        opened: dict[str, _OpenConfig] = {}
        for config_id, (config, sealed) in configs.items():
            try:
                opened[config_id] = _OpenConfig(config, self._box.open(sealed) if sealed else {})
            except SecretBoxError as exc:
                opened[config_id] = _OpenConfig(config, {}, exc)
        return opened

    async def _reserve_turns(self, tenant_id: str, batch: list[Delivery],
                             configs: dict[str, _OpenConfig]) -> dict[str, float | _HeldBack]:
        """Each send's turn under its configuration's rate limit, reserved once per configuration for
        all of the batch's sends through it: how long it waits before it goes, or held back when its
        turn is more than a third of the lease away (a batch of a hundred behind a limit of a few per
        second must not outlive its lease, or the relay would hand its deliveries to another worker)."""
        turns: dict[str, float | _HeldBack] = {}
        for config_id in dict.fromkeys(d.config_id for d in batch):
            opened = configs.get(config_id)
            if opened is None or opened.unreadable is not None:
                continue  # these fail without sending
            waiting = [d.delivery_id for d in batch if d.config_id == config_id]
            reservation = await self._limiter.reserve(self._rate_key(tenant_id, opened.config),
                                                      self._per_second(opened.config), len(waiting),
                                                      self._lease.total_seconds() / 3)
            turns.update(zip(waiting, reservation.delays, strict=False))  # the first ones get slots
            turns.update((delivery_id, _HeldBack(reservation.retry_after))
                         for delivery_id in waiting[len(reservation.delays):])
        return turns

    def _rate_key(self, tenant_id: str, config: ChannelConfig) -> str:
        return f"{tenant_id}:{config.config_id}"

    def _per_second(self, config: ChannelConfig) -> int:
        return config.rate_limit_per_second or self._default_rate_limit

    def _send_deadline(self) -> float:
        """When, on the monotonic clock, sends claimed from now on must be over."""
        return time.monotonic() + self._lease.total_seconds() - LEASE_MARGIN_SECONDS

    async def _send_safely(self, tenant_id: str, delivery: Delivery, configs: dict[str, _OpenConfig],
                           deadline: float, turn: float | _HeldBack) -> SendReport | _HeldBack:
        """_send, with a fault of our own sending code (a bug, not a provider's answer) turned into a
        temporary failure: logged with its traceback and retried with backoff like one, while the
        rest of the batch is recorded as it went. Left to raise, it would leave the whole batch
        claimed until the leases ran out, and the relay would then send the sent ones again."""
        try:
            return await self._send(tenant_id, delivery, configs, deadline, turn)
        except Exception as exc:
            log.error("delivery_send_crashed", tenant=tenant_id, delivery=delivery.delivery_id, exc_info=exc)
            return SendReport(SendOutcome.TEMPORARY_FAILURE, error_code="SEND_CRASHED", error_message=repr(exc)[:300])

    async def _send(self, tenant_id: str, delivery: Delivery, configs: dict[str, _OpenConfig],
                    deadline: float, turn: float | _HeldBack) -> SendReport | _HeldBack:
        """One send of a claimed delivery when its `turn` under the rate limit comes, over by
        `deadline`; every problem comes back as a report, none as an exception."""
        found = configs.get(delivery.config_id)
        if found is None:
            return SendReport(SendOutcome.PERMANENT_FAILURE, error_code="CHANNEL_CONFIG_MISSING",
                              error_message=f"channel configuration '{delivery.config_id}' no longer exists")
        config, secrets = found.config, found.secrets
        if found.unreadable is not None:
            return _secrets_unreadable(tenant_id, delivery, found.unreadable)
        try:
            content = self._box.open(delivery.sealed_content) if delivery.sealed_content else delivery.content
        except SecretBoxError as exc:
            return _secrets_unreadable(tenant_id, delivery, exc)
        if isinstance(turn, _HeldBack):
            return turn
        if turn > 0:
            await asyncio.sleep(turn)
        callback = self._receipt_urls.url(tenant_id, config.config_id) if self._receipt_urls else None
        try:
            return await asyncio.wait_for(self._gateway.send(delivery, content, config, secrets, callback),
                                          timeout=max(deadline - time.monotonic(), 1.0))
        except TimeoutError:
            return SendReport(SendOutcome.TEMPORARY_FAILURE, error_code="TIMEOUT",
                              error_message="the provider did not answer in time")

    def _answer(self, delivery: Delivery, report: SendReport | _HeldBack, now: dt.datetime) -> _Answer:
        if isinstance(report, _HeldBack):
            return _Answer(delivery, SendReport(SendOutcome.TEMPORARY_FAILURE, error_code="RATE_LIMITED"),
                           DeliveryState.QUEUED, now + dt.timedelta(seconds=report.seconds), held_back=True)
        if report.outcome is SendOutcome.SENT:
            return _Answer(delivery, report, DeliveryState.SENT)
        if report.outcome is SendOutcome.PERMANENT_FAILURE:
            return _Answer(delivery, report, DeliveryState.FAILED)
        if self._policy.is_exhausted(delivery.attempts):
            return _Answer(delivery, report, DeliveryState.DEAD_LETTER)
        delay = self._policy.delay_after_failure(delivery.attempts + 1, self._random, report.retry_after_seconds)
        return _Answer(delivery, report, DeliveryState.QUEUED, now + dt.timedelta(seconds=delay))

    async def _record(self, tenant_id: str, sent: list[tuple[Delivery, SendReport | _HeldBack]]) -> list[_Answer]:
        """Records the answers in one transaction, then hands retries due soon back to the queue. If the
        database refuses that transaction, each answer is recorded on its own: the sends are done, and an
        answer left unrecorded is a message sent again once its lease runs out, so one answer the
        database refuses must not take the others with it."""
        now = self._clock()
        answers = [self._answer(delivery, report, now) for delivery, report in sent]
        try:
            await self._store_answers(tenant_id, answers, now)
        except Exception as exc:
            if len(answers) == 1:
                raise
            log.error("delivery_answers_not_recorded_together", tenant=tenant_id, count=len(answers), exc_info=exc)
            recorded = []
            for answer in answers:
                try:
                    await self._store_answers(tenant_id, [answer], now)
                except Exception as single:  # this one is sent again when its lease runs out
                    log.error("delivery_answer_not_recorded", tenant=tenant_id, delivery=answer.delivery.delivery_id,
                              exc_info=single)
                else:
                    recorded.append(answer)
            answers = recorded
        await self._move_failed_chains(tenant_id, answers)
        for answer in answers:
            delivery, report = answer.delivery, answer.report
            if answer.retry_at is not None and answer.retry_at - now <= PARK_HORIZON:
                tag = f"held{delivery.attempts}-{now.timestamp():.3f}" if answer.held_back \
                    else f"try{delivery.attempts + 1}"
                await hand_over(self._queue.enqueue_deliveries(
                    tenant_id, [delivery.delivery_id], tag=tag, defer_seconds=(answer.retry_at - now).total_seconds()),
                    "delivery_retry_not_enqueued", tenant=tenant_id, delivery=delivery.delivery_id)
            self._on_recorded(delivery, answer.state)
            (log.warning if report.error_code == EGRESS_DENIED else log.info)(
                "delivery_dispatched", tenant=tenant_id, delivery=delivery.delivery_id,
                channel=str(delivery.channel), provider=delivery.provider, attempt=delivery.attempts,
                state=str(answer.state), error_code=report.error_code or None)
        return answers

    async def _move_failed_chains(self, tenant_id: str, answers: list[_Answer]) -> None:
        keys = [a.delivery.trigger_key for a in answers if a.delivery.fallback is not None
                and a.state in (DeliveryState.FAILED, DeliveryState.DEAD_LETTER)]
        if not keys or self._fallback_step_failed is None:
            return
        try:
            await self._fallback_step_failed(tenant_id, keys)
        except Exception as exc:  # the sweep moves the chain on at its deadline
            log.error("fallback_not_moved", tenant=tenant_id, count=len(keys), exc_info=exc)

    async def _store_answers(self, tenant_id: str, answers: list[_Answer], now: dt.datetime) -> None:
        # Final answers only (the usual group): one statement, which commits on its own on PostgreSQL,
        # without BEGIN and COMMIT: a batch's answers take several transactions now, not one.
        final_only = all(answer.retry_at is None for answer in answers)
        async with UnitOfWork(self._database, tenant_id, single_statement_write=final_only) as uow:
            finished: list[FinishedSend] = []
            for answer in answers:
                delivery_id, report = answer.delivery.delivery_id, answer.report
                if answer.held_back:
                    await uow.deliveries.release(delivery_id, answer.retry_at, now)  # type: ignore[arg-type]
                elif answer.retry_at is not None:
                    await uow.deliveries.reschedule(delivery_id, answer.retry_at, now, error_code=report.error_code,
                                                    error_message=report.error_message)
                else:
                    finished.append(FinishedSend(delivery_id, answer.state, report.provider_message_id,
                                                 report.error_code, report.error_message))
            await uow.deliveries.finish_many(finished, now)
            await uow.commit()
