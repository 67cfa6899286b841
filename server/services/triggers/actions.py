"""What a rule's firing does (docs/triggers.md#rules), in the unit of work that records the firing:
a banner for the customer, an item in the bank's inbox (and its signed webhook), an Engagement event
sent through the dispatch. Each firing is written with what its actions did, which ExplainFiring shows:
the actions are planned first (ids chosen), then the firings inserted with the banners of those inserted
(not fired before), then those firings' other actions done."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.domain import resource_names
from server.domain.events import Posting
from server.domain.ids import new_id
from server.domain.triggers.notifications import BankNotification, NewBankNotification
from server.domain.triggers.records import Banner, FiringAction, FiringRecord
from server.domain.triggers.rules import ActionKind, BankNotificationAction, BannerAction, MessageAction
from server.services.engagement import EngagementService, transaction_tokens
from server.services.events import AfterCommit
from server.services.fanout import Trigger
from server.services.triggers.live_rules import LiveRule
from server.services.triggers.notifications import BankNotificationsService
from server.store.uow import UnitOfWork


@dataclass(frozen=True)
class PlannedActions:
    """What a batch's firings' actions will make, made before the firings are written, so that each firing
    is inserted with what its actions did (no second write of it)."""

    done: Mapping[str, tuple[FiringAction, ...]]  # firing id -> what its actions do
    banners: Sequence[Banner]
    notifications: Sequence[BankNotification]
    messages: Sequence[tuple[str, Trigger]]  # (firing id, the message it sends)


class TriggerActions:
    def __init__(self, engagement: EngagementService, notifications: BankNotificationsService) -> None:
        self._engagement = engagement
        self._notifications = notifications

    async def plan(self, uow: UnitOfWork, fired: Sequence[tuple[LiveRule, FiringRecord]],
                   postings: Mapping[str, Posting]) -> PlannedActions:
        """Every action of these firings, and what each did, before anything is written (only the Engagement
        events their messages name are read). `postings`: by transaction id, those the firings were made at
        (their messages' `transaction` tokens)."""
        done: dict[str, list[FiringAction]] = {record.firing_id: [] for _, record in fired}
        banners: list[Banner] = []
        notices: list[NewBankNotification] = []
        messages: list[tuple[FiringRecord, MessageAction, LiveRule]] = []
        for live, record in fired:
            for action in live.rule.definition.actions:
                if isinstance(action, BannerAction):
                    banner = Banner(new_id(), record.customer_id, action.title, action.body, action.cta_label,
                                    action.cta_url, record.fired_at, record.fired_at + action.lifetime,
                                    action.product_id, record.rule_id, record.version, record.firing_id)
                    banners.append(banner)
                    done[record.firing_id].append(FiringAction(
                        ActionKind.BANNER, resource_names.BANNER.format(record.customer_id, banner.banner_id)))
                elif isinstance(action, BankNotificationAction):
                    notices.append(NewBankNotification(record.rule_id, record.version, record.firing_id,
                                                       record.customer_id, record.account_id, action.note,
                                                       dict(record.values)))
                else:
                    messages.append((record, action, live))
        notifications = self._notifications.new(notices)
        for notification in notifications:
            done[notification.firing_id].append(FiringAction(
                ActionKind.BANK_NOTIFICATION, f"bankNotifications/{notification.notification_id}"))
        triggers = await self._messages(uow, messages, done, postings)
        return PlannedActions({firing_id: tuple(actions) for firing_id, actions in done.items()}, banners,
                              notifications, triggers)

    async def perform(self, uow: UnitOfWork, planned: PlannedActions, inserted: Collection[str]
                      ) -> AfterCommit | None:
        """The planned actions of the firings written (`inserted`: their ids; the others were fired before),
        but their banners: those are written with the firings (TriggerFiringsRepository.add_firings)."""
        notified = await self._notifications.add(
            uow, [n for n in planned.notifications if n.firing_id in inserted])
        triggers = [trigger for firing_id, trigger in planned.messages if firing_id in inserted]
        announce_messages = (await self._engagement.send_rule_messages(uow, uow.tenant_id, triggers)
                             if triggers else None)

        async def after_commit() -> None:
            await self._notifications.hand_over(notified)
            if announce_messages is not None:
                await announce_messages()

        return after_commit

    @staticmethod
    async def _messages(uow: UnitOfWork, messages: list[tuple[FiringRecord, MessageAction, LiveRule]],
                        done: dict[str, list[FiringAction]], postings: Mapping[str, Posting]
                        ) -> list[tuple[str, Trigger]]:
        if not messages:
            return []
        events = {e.event_id: e for e in await uow.events.get_many({action.event_id for _, action, _ in messages})}
        triggers = []
        for record, action, live in messages:
            event = events.get(action.event_id)
            event_name = resource_names.ENGAGEMENT["events"].format(action.event_id)
            if event is None:  # deleted since the rule was approved
                done[record.firing_id].append(FiringAction(ActionKind.MESSAGE, event_name,
                                                           "skipped: the event no longer exists"))
                continue
            # The action's own attributes first: the firing's facts keep their names.
            tokens: dict[str, Any] = {**action.attributes,
                                      "rule": {"id": record.rule_id, "name": live.rule.definition.display_name},
                                      "account": {"id": record.account_id}, "values": dict(record.values)}
            posting = postings.get(record.transaction_id or "")
            if posting is not None:  # the same tokens as a transaction alert's
                tokens["transaction"] = transaction_tokens(posting)
            triggers.append((record.firing_id, Trigger(event, record.customer_id,
                                                       f"trigger:{record.rule_id}:{record.firing_id}", tokens)))
            done[record.firing_id].append(FiringAction(ActionKind.MESSAGE, event_name))
        return triggers
