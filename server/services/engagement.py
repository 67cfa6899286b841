"""Sending use cases: TriggerEvent, transaction alerts (an ingestion consumer), insight notifications (a
feed listener), delivery status and re-drive, and the relay sweep of the outbox."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import structlog

from server.domain.auth import Caller, Role
from server.domain.engagement.alerts import matches
from server.domain.engagement.baseline import above_baseline
from server.domain.engagement.entities import Contact, Delivery, DeliveryState, Event, TransactionAlert
from server.domain.engagement.fallback import Gate, Move, Verdict, next_moves
from server.domain.engagement.preferences import MessageClass, decide
from server.domain.engagement.receipts import DeliveryReceipt, EarlyReceipt, could_name_a_message
from server.domain.errors import DomainError, FieldViolation, InvalidArgument, not_found
from server.domain.events import AuthorizationsRecorded, FeedItemsCreated, Posting, TransactionsPosted
from server.domain.ingest.model import Account, Customer
from server.domain.pagination import Page, PageRequest, paginate
from server.security.secret_box import SecretBox
from server.services.clock import Clock, utc_now
from server.services.events import AfterCommit, DeliveryQueue, hand_over
from server.services.fanout import (
    PARK_HORIZON,
    SendingSetup,
    Trigger,
    channel_preferences,
    load_sending_setup,
    record_trigger,
    record_triggers,
)
from server.store.db import Database
from server.store.repositories.trigger_reads import TriggerReads
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Triggers that alerts and notifications fire are recorded this many at a time; a chunk's rendered
# messages stay well below the batch bound (a rule firing for a whole batch of 5,000 postings stays
# within a few chunks' memory).
AUTOMATIC_TRIGGERS_PER_WRITE = 500
AUTOMATIC_CONTENT_LIMIT = 64 * 1024 * 1024

# A queued delivery not picked up this long after it was due is taken as lost by Redis and re-sent.
RELAY_GRACE = dt.timedelta(seconds=30)
# A delivery report that names no message is kept this long, in case its message is being recorded.
EARLY_RECEIPT_KEPT = dt.timedelta(hours=1)
# Triggers in one BatchTriggerEvents call: one transaction holds them all, so it stays short.
BATCH_TRIGGER_LIMIT = 1000
# Characters of rendered content one batch may hold in all (a message may have up to 256 Ki of each part).
BATCH_CONTENT_LIMIT = 64 * 1024 * 1024
# A batch's answer lists every delivery: it must fit what a gRPC client takes by default (4 MiB), or the
# caller would see an error for triggers that were recorded and sent. Its estimate may be at most this.
BATCH_ANSWER_LIMIT_BYTES = 4 * 1024 * 1024 - 256 * 1024
# A Delivery's fixed fields on the wire (name, event, times, masked address, ...) beyond its texts: 131
# bytes measured for a queued push; a little more, so that the estimate errs on the safe side.
_DELIVERY_ANSWER_BYTES = 140


@dataclass(frozen=True)
class TriggerRequest:
    """One trigger of BatchTriggerEvents, as TriggerEvent takes it."""

    event_id: str
    customer_id: str
    data: dict[str, str]
    request_id: str = ""


class EngagementService:
    def __init__(self, database: Database, box: SecretBox, queue: DeliveryQueue, clock: Clock = utc_now) -> None:
        self._database = database
        self._box = box
        self._queue = queue
        self._clock = clock

    # -- TriggerEvent ---------------------------------------------------------------------------

    async def trigger_event(self, caller: Caller, event_id: str, customer_id: str, data: dict[str, str],
                            request_id: str) -> list[Delivery]:
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN)
        _check_trigger_request(customer_id, request_id)
        now = self._clock()
        # Its one write (the trigger with its deliveries) is a single statement.
        async with UnitOfWork(self._database, caller.tenant_id, single_statement_write=True) as uow:
            reads = await uow.trigger_reads.read(event_id, customer_id)
            if reads.event is None:
                raise not_found("event", event_id)
            if reads.customer is None:
                raise not_found("customer", customer_id)
            key = f"req:{request_id}" if request_id else f"call:{now.timestamp():.6f}:{event_id}:{customer_id}"
            trigger = _called_trigger(reads.event, reads.customer, data, key)
            setup = _setup_of(reads, reads.event)
            deliveries, new = await record_trigger(uow, trigger, setup, reads.contact, self._box, now)
            await uow.commit()
        if new:
            await self.announce(caller.tenant_id, deliveries)
        return deliveries

    async def send_balance(self, caller: Caller, account_id: str, event_id: str, request_id: str) -> list[Delivery]:
        """Current balance on request: triggers the event now for the account's owner (for role `user`:
        the caller, who must own or be allowed to use the account), with the account's balances as
        tokens; the workers send it like any trigger. An account the caller may not see is NOT_FOUND."""
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN, Role.USER)
        _check_request_id(request_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id, single_statement_write=True) as uow:
            account = await uow.accounts.get(account_id)
            if account is None or (caller.is_user and not await uow.accounts.is_party(account_id, caller.subject)):
                raise not_found("account", account_id)
            recipient = caller.subject if caller.is_user else account.customer_id
            reads = await uow.trigger_reads.read(event_id, recipient)
            if reads.event is None:
                raise not_found("event", event_id)
            if reads.customer is None:
                raise not_found("customer", recipient)
            key = (f"balance:req:{request_id}" if request_id
                   else f"balance:call:{now.timestamp():.6f}:{event_id}:{account_id}:{recipient}")
            trigger = Trigger(reads.event, recipient, key, {
                "account": balance_tokens(account, now),
                "customer": {"attributes": dict(reads.customer.attributes)}})
            setup = _setup_of(reads, reads.event)
            deliveries, new = await record_trigger(uow, trigger, setup, reads.contact, self._box, now)
            await uow.commit()
        if new:
            await self.announce(caller.tenant_id, deliveries)
        return deliveries

    async def trigger_events(self, caller: Caller, requests: list[TriggerRequest]) -> list[list[Delivery]]:
        """BatchTriggerEvents: every request checked as TriggerEvent checks it, then all recorded in one
        transaction, or none; an error names the request at fault (`requests[i]`). The deliveries of
        each request, in their order."""
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN)
        if not requests:
            raise InvalidArgument("BATCH_REQUESTS_REQUIRED", "requests must hold at least one trigger",
                                  violations=[FieldViolation("requests", "is required")])
        if len(requests) > BATCH_TRIGGER_LIMIT:
            raise InvalidArgument("BATCH_TOO_LARGE", f"at most {BATCH_TRIGGER_LIMIT} triggers per call",
                                  violations=[FieldViolation("requests", f"at most {BATCH_TRIGGER_LIMIT}")])
        for index, request in enumerate(requests):
            with _naming_request(index):
                _check_trigger_request(request.customer_id, request.request_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            events = {e.event_id: e for e in await uow.events.get_many({r.event_id for r in requests})}
            customers = await uow.customers.get_many({r.customer_id for r in requests})
            triggers = []
            for index, request in enumerate(requests):
                with _naming_request(index):
                    event = events.get(request.event_id)
                    if event is None:
                        raise not_found("event", request.event_id)
                    customer = customers.get(request.customer_id)
                    if customer is None:
                        raise not_found("customer", request.customer_id)
                key = f"req:{request.request_id}" if request.request_id else \
                    f"call:{now.timestamp():.6f}:{index}:{request.event_id}:{request.customer_id}"
                triggers.append(_called_trigger(event, customer, request.data, key))
            setup = await load_sending_setup(uow, list(events.values()))
            contacts = await uow.contacts.get_many(list(customers))
            results = await record_triggers(uow, triggers, setup, contacts, self._box, now,
                                            content_limit=BATCH_CONTENT_LIMIT)
            recorded = []
            for index, result in enumerate(results):
                if isinstance(result, DomainError):
                    with _naming_request(index):
                        raise result  # nothing of the batch is committed
                recorded.append(result)
            if _answer_bytes(recorded) > BATCH_ANSWER_LIMIT_BYTES:
                raise InvalidArgument("BATCH_ANSWER_TOO_LARGE", "these triggers fan out to more deliveries than one "
                                      "answer can list: send them in smaller batches",
                                      violations=[FieldViolation("requests", "too many deliveries for one call")])
            await uow.commit()
        new = [d for deliveries, is_new in recorded if is_new for d in deliveries]
        if new:
            await self.announce(caller.tenant_id, new)
        return [deliveries for deliveries, _ in recorded]

    async def announce(self, tenant_id: str, deliveries: list[Delivery]) -> None:
        """Hands the recorded deliveries to the workers (the outbox already counts them as enqueued); if
        this fails the relay sweep re-sends them after its grace period."""
        now = self._clock()

        async def enqueue() -> None:
            if any(d.state is DeliveryState.QUEUED and d.next_attempt_at <= now for d in deliveries):
                await self._queue.enqueue_due_dispatch(tenant_id)
            parked = [d for d in deliveries if d.state is DeliveryState.QUEUED
                      and now < d.next_attempt_at <= now + PARK_HORIZON]
            for delivery in parked:
                await self._queue.enqueue_deliveries(
                    tenant_id, [delivery.delivery_id], tag="deferred",
                    defer_seconds=(delivery.next_attempt_at - now).total_seconds())

        await hand_over(enqueue(), "deliveries_not_enqueued", tenant=tenant_id, count=len(deliveries))

    # -- automatic triggers ---------------------------------------------------------------------

    def _announcing(self, tenant_id: str, created: list[Delivery]) -> AfterCommit | None:
        if not created:
            return None

        async def announce() -> None:
            await self.announce(tenant_id, created)

        return announce

    async def on_transactions_posted(self, uow: UnitOfWork, tenant_id: str, event: TransactionsPosted
                                     ) -> AfterCommit | None:
        """Bus handler: each posting matching a transaction alert triggers its event for the account's
        customer, with the posting's balance as committed. Keys make a re-run send nothing twice. History
        (backfill) alerts no one."""
        if not event.live:
            return None
        return await self._alert(uow, tenant_id, event.postings)

    async def on_authorizations_recorded(self, uow: UnitOfWork, tenant_id: str, event: AuthorizationsRecorded
                                         ) -> AfterCommit | None:
        """Bus handler: PENDING and DECLINED transactions trigger the alerts that ask for their status (a
        declined card payment, an authorization held). Only live ones are ever announced."""
        return await self._alert(uow, tenant_id, event.postings)

    async def _alert(self, uow: UnitOfWork, tenant_id: str, postings: tuple[Posting, ...]) -> AfterCommit | None:
        alerts = await uow.transaction_alerts.all()
        if not alerts or not postings:
            return None
        conditions = [(alert, alert.condition.effective()) for alert in alerts]
        matched: list[tuple[TransactionAlert, Posting]] = []
        for posting in postings:
            matched.extend((alert, posting) for alert, condition in conditions if matches(condition, posting))
        if any(alert.condition.baseline is not None for alert, _ in matched):
            matched = await self._above_baselines(uow, matched)
        if not matched:
            return None
        events = {e.event_id: e for e in await uow.events.get_many({alert.event_id for alert, _ in matched})}
        # Names and currencies of the matched accounts only: most postings match no alert.
        accounts = {a.account_id: a for a in await uow.accounts.get_many({p.account_id for _, p in matched})}
        triggers = []
        for alert, posting in matched:
            bound, account = events.get(alert.event_id), accounts.get(posting.account_id)
            if bound is None or account is None:
                continue
            tokens = {"transaction": transaction_tokens(posting),
                      "account": {"id": account.account_id, "name": account.account_name,
                                  "type": str(account.type), "currency": account.currency}}
            # A PENDING alert and the BOOKED one of the same transaction are two messages.
            key = f"txn:{alert.alert_id}:{posting.transaction_id}"
            if posting.status != "BOOKED":
                key += f":{posting.status}"
            triggers.append(Trigger(bound, posting.customer_id, key, tokens))
        created = await self._record_automatic(uow, tenant_id, triggers, "transaction_alert_not_sent")
        return self._announcing(tenant_id, created)

    async def _above_baselines(self, uow: UnitOfWork, matched: list[tuple[TransactionAlert, Posting]]
                               ) -> list[tuple[TransactionAlert, Posting]]:
        """Keeps the matches of alerts without a baseline, and those whose amount is above the customer's
        baseline (docs/services/engagement.md#unusual-activity): one history query per alert with a baseline, for all
        the customers its matches concern."""
        kept = [(alert, posting) for alert, posting in matched if alert.condition.baseline is None]
        by_alert: dict[str, list[Posting]] = {}
        alerts: dict[str, TransactionAlert] = {}
        for alert, posting in matched:
            if alert.condition.baseline is not None:
                by_alert.setdefault(alert.alert_id, []).append(posting)
                alerts[alert.alert_id] = alert
        for alert_id, postings in by_alert.items():
            alert = alerts[alert_id]
            condition, baseline = alert.condition.effective(), alert.condition.baseline
            assert baseline is not None
            window = dt.timedelta(days=baseline.days)
            history = await uow.transactions.customers_debits(
                {p.customer_id for p in postings}, min(p.posted_at for p in postings) - window,
                max(p.posted_at for p in postings), condition.categories, condition.directions,
                condition.account_types)
            # Each customer's history apart: a posting is judged by its own customer's rows only.
            of_customer: dict[str, list[tuple[str, dt.datetime, Decimal]]] = {}
            for customer_id, transaction_id, posted_at, amount, description in history:
                if not condition.description_contains or any(
                        p in description.lower() for p in condition.description_contains):
                    of_customer.setdefault(customer_id, []).append((transaction_id, posted_at, amount))
            for posting in postings:
                since = posting.posted_at - window
                amounts = [amount for transaction_id, posted_at, amount in of_customer.get(posting.customer_id, ())
                           if transaction_id != posting.transaction_id and since <= posted_at < posting.posted_at]
                judged = above_baseline(posting.magnitude, amounts, baseline)
                if judged or (judged is None and condition.min_amount is not None):
                    kept.append((alert, posting))
        return kept

    async def on_feed_items_created(self, uow: UnitOfWork, tenant_id: str, event: FeedItemsCreated
                                    ) -> AfterCommit | None:
        """Bus handler (insight notifications): each new item of a bound insight triggers the bound event
        with the item's figures as tokens. Keys make a re-run send nothing twice."""
        names = {i.insight_name for i in event.items}
        notifications = await uow.insight_notifications.for_insights(names)
        if not notifications:
            return None
        bound_names = {n.insight_name for n in notifications}
        items = await uow.feed.get_many([i.feed_item_id for i in event.items if i.insight_name in bound_names])
        events = {e.event_id: e for e in await uow.events.get_many({n.event_id for n in notifications})}
        triggers = []
        for notification in notifications:
            bound = events.get(notification.event_id)
            if bound is None:
                continue
            for item in items:
                if item.insight_name != notification.insight_name:
                    continue
                tokens = {"insight": {"name": item.insight_name, "title": str(item.payload.get("title", "")),
                                      "figures": _figures(item.payload)}}
                triggers.append(Trigger(bound, item.customer_id,
                                        f"insight:{notification.notification_id}:{item.feed_item_id}", tokens))
        created = await self._record_automatic(uow, tenant_id, triggers, "insight_notification_not_sent")
        return self._announcing(tenant_id, created)

    async def send_rule_messages(self, uow: UnitOfWork, tenant_id: str, triggers: list[Trigger]
                                 ) -> AfterCommit | None:
        """The messages real-time trigger rules fired, recorded in the caller's unit of work as the
        automatic ones are (keys make a re-run send nothing twice); announced once the caller commits."""
        created = await self._record_automatic(uow, tenant_id, triggers, "trigger_message_not_sent")
        return self._announcing(tenant_id, created)

    async def send_automatic(self, uow: UnitOfWork, tenant_id: str, triggers: list[Trigger], not_sent_event: str
                             ) -> AfterCommit | None:
        """Other rules' automatic triggers (payment alerts), recorded in the caller's unit of work as the
        alerts here are (keys make a re-run send nothing twice); announced once the caller commits."""
        created = await self._record_automatic(uow, tenant_id, triggers, not_sent_event)
        return self._announcing(tenant_id, created)

    async def _record_automatic(self, uow: UnitOfWork, tenant_id: str, triggers: list[Trigger],
                                not_sent_event: str) -> list[Delivery]:
        """Records the deliveries of triggers that rules fired, a few statements per chunk. One that cannot
        be sent (its app unpublished, its content not rendering) is logged and skipped: a broken alert or
        notification must not hold the others back. Returns the new deliveries."""
        if not triggers:
            return []
        now = self._clock()
        setup = await load_sending_setup(uow, list({t.event.event_id: t.event for t in triggers}.values()))
        contacts = await uow.contacts.get_many(list({t.customer_id for t in triggers}))
        created: list[Delivery] = []
        for start in range(0, len(triggers), AUTOMATIC_TRIGGERS_PER_WRITE):
            chunk = triggers[start:start + AUTOMATIC_TRIGGERS_PER_WRITE]
            results = await record_triggers(uow, chunk, setup, contacts, self._box, now,
                                            content_limit=AUTOMATIC_CONTENT_LIMIT)
            for trigger, result in zip(chunk, results, strict=True):
                if isinstance(result, DomainError):
                    log.warning(not_sent_event, tenant=tenant_id, trigger=trigger.trigger_key,
                                event_id=trigger.event.event_id, reason=result.code, error=str(result))
                elif result[1]:
                    created.extend(result[0])
        return created

    # -- deliveries -----------------------------------------------------------------------------

    async def get_delivery(self, caller: Caller, delivery_id: str) -> Delivery:
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            delivery = await uow.deliveries.get(delivery_id)
        if delivery is None:
            raise not_found("delivery", delivery_id)
        return delivery

    async def list_deliveries(self, caller: Caller, state: DeliveryState | None, customer_id: str, event_id: str,
                              campaign_id: str, page: PageRequest) -> Page[Delivery]:
        caller.require_role(Role.SERVICE, Role.BANK_ADMIN)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.deliveries.page(state=state, customer_id=customer_id, event_id=event_id,
                                              campaign_id=campaign_id, before=page.after, limit=page.size + 1)
        return paginate(found, page, "deliveries", lambda d: d.delivery_id)

    async def retry_deliveries(self, caller: Caller, delivery_ids: list[str]) -> int:
        """Re-drives dead-lettered deliveries (named ones may also be FAILED)."""
        caller.require_role(Role.BANK_ADMIN)
        now = self._clock()
        states = [DeliveryState.DEAD_LETTER, DeliveryState.FAILED] if delivery_ids else [DeliveryState.DEAD_LETTER]
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            for delivery_id in delivery_ids:
                if await uow.deliveries.get(delivery_id) is None:
                    raise not_found("delivery", delivery_id)
            requeued = await uow.deliveries.requeue(delivery_ids or None, states, now)
            await uow.commit()
        if requeued:
            await hand_over(self._queue.enqueue_deliveries(caller.tenant_id, requeued,
                                                           tag=f"redrive{int(now.timestamp())}"),
                            "deliveries_not_enqueued", tenant=caller.tenant_id, count=len(requeued))
        return len(requeued)

    async def record_receipt(self, tenant_id: str, receipt: DeliveryReceipt) -> str | None:
        """A provider's delivery report: SENT becomes DELIVERED or FAILED. A report that names no message
        yet is kept: a fast provider reports while the worker that sent the message still waits on
        other sends of its batch, before it records the provider's id (apply_early_receipts)."""
        now = self._clock()
        async with UnitOfWork(self._database, tenant_id) as uow:
            matched = await uow.deliveries.record_receipt(receipt, now)
            if matched is None and could_name_a_message(receipt.provider_message_id):
                await uow.early_receipts.keep(receipt, now)
            released = await _move_chains(uow, await _chains_of(uow, [matched]), now)
            await uow.commit()
        if released:
            await self.announce(tenant_id, released)
        return matched

    # -- channel fallback -----------------------------------------------------------------------

    async def advance_fallbacks(self, tenant_id: str, trigger_keys: list[str]) -> int:
        """The chains of these triggers, after their current step's sends were answered (a permanent
        failure, out of tries): moved on when the whole step failed. Returns the deliveries released."""
        now = self._clock()
        async with UnitOfWork(self._database, tenant_id) as uow:
            released = await _move_chains(uow, trigger_keys, now)
            await uow.commit()
        if released:
            await self.announce(tenant_id, released)
        return len(released)

    async def sweep_fallbacks(self, limit: int = 1000) -> int:
        """The fallback timer (a cron): chains whose current step was not delivered by its deadline move
        on to their next step. The deadlines are stored, so a chain's timer outlives any worker and Redis;
        a chain swept twice moves once. Returns the deliveries released."""
        now = self._clock()
        async with UnitOfWork(self._database) as uow:
            due = await uow.outbox.fallbacks_due(now, limit)
        by_tenant: dict[str, list[str]] = {}
        for tenant_id, trigger_key in due:
            by_tenant.setdefault(tenant_id, []).append(trigger_key)
        released = 0
        for tenant_id, keys in by_tenant.items():
            released += await self.advance_fallbacks(tenant_id, keys)
        if due:
            log.info("fallbacks_swept", chains=len(due), released=released)
        return released

    async def apply_early_receipts(self, limit: int = 1000) -> int:
        """The sweep of kept reports: each one whose message is now recorded as sent is applied as if it
        came now; reports older than EARLY_RECEIPT_KEPT name no message of ours and are dropped."""
        now = self._clock()
        async with UnitOfWork(self._database) as uow:
            found = await uow.early_receipts_sweep.with_their_message(limit)
            dropped = await uow.early_receipts_sweep.purge(now - EARLY_RECEIPT_KEPT)
            await uow.commit()
        by_tenant: dict[str, list[EarlyReceipt]] = {}
        for early in found:  # oldest first, within each tenant too
            by_tenant.setdefault(early.tenant_id, []).append(early)
        for tenant_id, kept in by_tenant.items():
            async with UnitOfWork(self._database, tenant_id) as uow:
                matched = [await uow.deliveries.record_receipt(early.receipt, now) for early in kept]
                released = await _move_chains(uow, await _chains_of(uow, matched), now)
                await uow.early_receipts.forget([early.receipt_id for early in kept])
                await uow.commit()
            if released:
                await self.announce(tenant_id, released)
        if found or dropped:
            log.info("early_receipts_swept", applied=len(found), dropped=dropped)
        return len(found)

    async def relay_lost(self, limit: int = 5000) -> int:
        """The relay sweep: Redis is lossy, the database is the truth. Hands deliveries that are due but
        were never enqueued, were not picked up in time, or whose worker died mid-send (queued again) to
        a dispatch job of their tenant, which claims them in batches: a killed worker leaves hundreds
        at once, and a job per delivery took seconds more to send them."""
        now = self._clock()
        async with UnitOfWork(self._database) as uow:
            lost = await uow.outbox.lost(now, RELAY_GRACE, limit)
            delivery_ids = [delivery_id for _, delivery_id, _ in lost]
            await uow.outbox.requeue_abandoned(delivery_ids, now)
            await uow.outbox.mark_enqueued(delivery_ids, now)
            await uow.commit()
        for tenant_id in dict.fromkeys(tenant_id for tenant_id, _, _ in lost):
            await self._queue.enqueue_due_dispatch(tenant_id)
        if lost:
            log.info("deliveries_relayed", count=len(lost))
        return len(lost)


async def _chains_of(uow: UnitOfWork, delivery_ids: list[str | None]) -> list[str]:
    """The trigger keys of the fallback chains of the deliveries receipts matched (None: matched none).
    The receipts loaded them: read from the session, not again from the database."""
    found = [await uow.deliveries.get(delivery_id) for delivery_id in delivery_ids if delivery_id is not None]
    return [d.trigger_key for d in found if d is not None and d.fallback is not None]


async def _move_chains(uow: UnitOfWork, trigger_keys: list[str], now: dt.datetime) -> list[Delivery]:
    """Decides and applies these triggers' fallback chains' next moves, however many: one read of the
    chains, and one of the customers' preferences for those that start a step. The deliveries released,
    as they are now (QUEUED), to announce once committed."""
    if not trigger_keys:
        return []
    chains = await uow.deliveries.chains(trigger_keys)
    decided = {key: next_moves(chain, now) for key, chain in chains.items()}
    starting = [chains[key] for key, moves in decided.items() if any(m.move is Move.RELEASE for m in moves)]
    for chain, gate in zip(starting, await _customer_gates(uow, starting), strict=True):
        decided[chain[0].trigger_key] = next_moves(chain, now, gate)
    moves = [move for chain_moves in decided.values() for move in chain_moves]
    if not moves:
        return []
    released = set(await uow.deliveries.move_chain(moves, now, now + PARK_HORIZON))
    by_id = {d.delivery_id: d for chain in chains.values() for d in chain}
    found: list[Delivery] = []
    for key, chain_moves in decided.items():
        if not chain_moves:
            continue
        going = [dataclasses.replace(by_id[m.delivery_id], state=DeliveryState.QUEUED, next_attempt_at=m.due,
                                     fallback=m.mark)
                 for m in chain_moves if m.delivery_id in released and m.due is not None]
        log.info("fallback_moved", trigger=key, moves=[f"{m.delivery_id}:{m.move}:{m.mark.state}" for m in chain_moves],
                 released=len(going))
        found += going
    return found


async def _customer_gates(uow: UnitOfWork, chains: list[list[Delivery]]) -> list[Gate]:
    """Each chain's customer's preferences as they are now, for the held deliveries of a step that
    starts: the chain may move on hours after the trigger, after the customer opted out of a channel,
    or into the night (quiet hours)."""
    if not chains:
        return []
    contacts = await uow.contacts.get_many(list({chain[0].customer_id for chain in chains}))
    events = {e.event_id: e for e in await uow.events.get_many({chain[0].event_id for chain in chains})}
    return [_customer_gate(contacts.get(chain[0].customer_id), events.get(chain[0].event_id)) for chain in chains]


def _customer_gate(contact: Contact | None, event: Event | None) -> Gate:
    if contact is None:
        return lambda delivery, now: Verdict()
    preferences = channel_preferences(contact)

    def gate(delivery: Delivery, now: dt.datetime) -> Verdict:
        decision = decide(str(delivery.channel), event.event_type_id if event else None,
                          MessageClass(delivery.message_class), preferences, delivery.address or None, now)
        return Verdict(decision.skip_reason or "", decision.defer_until)

    return gate


def _setup_of(reads: TriggerReads, event: Event) -> SendingSetup:
    """What sending the event to one customer needs, from what trigger_reads read for it."""
    return SendingSetup({reads.app.app_id: reads.app} if reads.app else {}, reads.routes, reads.bank_name,
                        fallbacks={event.event_type_id: reads.fallback} if reads.fallback.steps else {})


def _called_trigger(event: Event, customer: Customer, data: dict[str, str], key: str) -> Trigger:
    """A trigger asked for by a caller (TriggerEvent, BatchTriggerEvents): its `data` and the customer's
    attributes are the tokens it offers."""
    return Trigger(event, customer.customer_id, key,
                   {"data": dict(data), "customer": {"attributes": dict(customer.attributes)}})


def _check_trigger_request(customer_id: str, request_id: str) -> None:
    if not customer_id:
        raise InvalidArgument("MISSING_CUSTOMER_ID", "customer_id is required",
                              violations=[FieldViolation("customer_id", "is required")])
    _check_request_id(request_id)


def _check_request_id(request_id: str) -> None:
    if len(request_id) > 120:
        raise InvalidArgument("REQUEST_ID_TOO_LONG", "request_id must be at most 120 characters",
                              violations=[FieldViolation("request_id", "at most 120 characters")])


def _answer_bytes(recorded: list[tuple[list[Delivery], bool]]) -> int:
    return sum(_DELIVERY_ANSWER_BYTES + len(d.customer_id) + len(d.campaign_id) + len(d.skip_reason)
               + len(d.provider_message_id) + len(d.error_code) + len(d.error_message)
               for deliveries, _ in recorded for d in deliveries)


@contextlib.contextmanager
def _naming_request(index: int) -> Iterator[None]:
    """A trigger's error, as the batch reports it: its fields under `requests[index]`, and the index in
    the metadata."""
    try:
        yield
    except DomainError as error:
        prefix = f"requests[{index}]"
        raise dataclasses.replace(
            error, message=f"{prefix}: {error.message}",
            violations=[FieldViolation(f"{prefix}.{v.field}", v.description) for v in error.violations],
            metadata={**error.metadata, "request_index": str(index)}) from error


def transaction_tokens(posting: Posting) -> dict[str, str]:
    return {"id": posting.transaction_id, "amount": f"{posting.magnitude:,.2f}", "currency": posting.currency,
            "balance": f"{posting.balance_after.amount:,.2f}",
            "time": posting.posted_at.strftime("%Y-%m-%d %H:%M UTC"), "description": posting.description,
            "direction": posting.direction.value, "category": posting.category, "status": posting.status}


def account_tokens(account: Account) -> dict[str, str]:
    """An account as the `{{ account.* }}` tokens name it."""
    return {"id": account.account_id, "name": account.account_name, "type": str(account.type),
            "currency": account.currency}


def balance_tokens(account: Account, now: dt.datetime) -> dict[str, str]:
    """An account's balances as SendBalance's tokens offer them (money as transaction alerts show it)."""
    return account_tokens(account) | {
        "current_balance": f"{account.current_balance or 0:,.2f}",
        "available_balance": f"{account.available_balance or 0:,.2f}",
        "as_of": now.strftime("%Y-%m-%d %H:%M UTC")}


def _figures(payload: dict[str, object]) -> dict[str, str]:
    """An insight item's figures as strings for the message tokens: every number in accountDerived,
    changeValue, transaction and suggestedActions under its path (e.g. changeValue_changePercent), plus
    short names for the usual ones (total, average, change_amount, change_percent, amount, currency,
    and the suggested move's suggested_amount, suggested_from, suggested_to)."""
    figures: dict[str, str] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}_{key}", inner)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(prefix if len(value) == 1 else f"{prefix}_{index}", inner)
        elif isinstance(value, str | int | Decimal) and not isinstance(value, bool):
            figures[prefix] = str(value)

    for key in ("accountDerived", "changeValue", "transaction", "suggestedActions"):
        if key in payload:
            walk(key, payload[key])
    aliases = {"total": "accountDerived_totalAvailableBalance_amount",
               "average": "accountDerived_averageAvailableBalance_amount",
               "currency": "accountDerived_totalAvailableBalance_currency",
               "change_amount": "changeValue_changeAmount_amount", "change_percent": "changeValue_changePercent",
               "amount": "transaction_amount_amount", "balance": "transaction_balance_amount",
               "suggested_amount": "suggestedActions_amount_amount",
               "suggested_from": "suggestedActions_fromAccountId", "suggested_to": "suggestedActions_toAccountId"}
    figures.update({short: figures[long] for short, long in aliases.items() if long in figures})
    if "currency" not in figures and "transaction_amount_currency" in figures:
        figures["currency"] = figures["transaction_amount_currency"]
    return figures
