"""Whether an evaluation fires, and what a firing records (docs/triggers.md#firings).

An event condition (one naming deposit or withdrawal) fires on every posting that makes it true. A state
condition fires on the crossing: true now and not true at the rule version's last evaluation for that
account (the first evaluation that finds it true fires). Either way a rule fires at most once per
customer per cool-down: a crossing inside the cool-down is not fired later (the state still records it
as true, so it fires again only after it has been false). Live evaluation and the backtest's replay
both decide here."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConditionKind(enum.StrEnum):
    EVENT = "EVENT"  # names deposit or withdrawal: fires per posting that makes it true
    STATE = "STATE"  # fires when it becomes true

    @classmethod
    def of(cls, is_event: bool) -> ConditionKind:
        return cls.EVENT if is_event else cls.STATE


def cooled_down(last_fired_at: dt.datetime | None, cooldown: dt.timedelta, at: dt.datetime) -> bool:
    """Whether the rule may fire for the customer again at `at` (its last firing for them at least
    `cooldown` earlier; a zero cool-down never holds back)."""
    return last_fired_at is None or at - last_fired_at >= cooldown


def decide_fire(kind: ConditionKind, previously_true: bool, now_true: bool, last_fired_at: dt.datetime | None,
                cooldown: dt.timedelta, at: dt.datetime) -> bool:
    """Whether this evaluation fires. `previously_true`: the state condition held at the rule version's
    last evaluation for the account (ignored for an event condition); `last_fired_at`: the rule's last
    firing for the customer (any account, any version). The state to keep afterwards is `now_true`."""
    if not now_true:
        return False
    if kind is ConditionKind.STATE and previously_true:
        return False
    return cooled_down(last_fired_at, cooldown, at)


@dataclass(frozen=True)
class Firing:
    """One firing of a rule for a customer's account: when, on which day's evaluation, at which posting
    (None for a re-check without one: the daily cron or a fed balance), and the values that made it fire
    (Evaluation.values: metric text -> plain decimal, "" for a metric without a value)."""

    account_id: str
    customer_id: str
    day: dt.date  # the evaluation day
    fired_at: dt.datetime
    transaction_id: str | None
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """What makes a firing unique per rule and account: its posting, else its day."""
        return self.transaction_id if self.transaction_id is not None else f"day:{self.day.isoformat()}"
