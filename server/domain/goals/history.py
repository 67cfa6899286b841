"""The customer history: one entry per enrolment or management event, with who did it, when, and what
changed.

Every enrolment action (SIGNUP, PAUSE, RESUME, MODIFY_SETTINGS, CANCEL), every goal event (created,
edited, achieved, archived), every funding programme event (created, changed, cancelled) and every change of
a transfer instruction's status (requested, executed, failed, cancelled) is an entry.
An entry names its actor (the CUSTOMER through the app, a BANK_ADMIN through engagectl or the bank's
back office, or the SERVICE itself: the calculation marking a goal achieved, goals archived on CANCEL)
and the actor's id (the customer id, the admin's token subject, or the service's name).

`before` and `after` hold only the fields that changed, as text (`changes`): a created goal has every
field in `after` and nothing in `before`; an edit lists only what the customer changed. Text keeps the
history one shape for the store and the reporting views, whatever the object: an enumeration by its
value, an amount as a plain decimal (with its currency: `1500.00 EUR`), dates and times in ISO 8601,
booleans as `true`/`false`, and an absent value as None.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from server.domain.events import Money
from server.domain.goals.enrolment import EnrolmentAction


class HistoryKind(enum.StrEnum):
    SIGNUP = "SIGNUP"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    MODIFY_SETTINGS = "MODIFY_SETTINGS"
    CANCEL = "CANCEL"
    GOAL_CREATED = "GOAL_CREATED"
    GOAL_EDITED = "GOAL_EDITED"
    GOAL_ACHIEVED = "GOAL_ACHIEVED"
    GOAL_ARCHIVED = "GOAL_ARCHIVED"
    PROGRAMME_CREATED = "PROGRAMME_CREATED"
    PROGRAMME_CHANGED = "PROGRAMME_CHANGED"
    PROGRAMME_CANCELLED = "PROGRAMME_CANCELLED"
    TRANSFER_REQUESTED = "TRANSFER_REQUESTED"
    TRANSFER_EXECUTED = "TRANSFER_EXECUTED"
    TRANSFER_FAILED = "TRANSFER_FAILED"
    TRANSFER_CANCELLED = "TRANSFER_CANCELLED"


class Actor(enum.StrEnum):
    CUSTOMER = "CUSTOMER"
    BANK_ADMIN = "BANK_ADMIN"
    SERVICE = "SERVICE"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    kind: HistoryKind
    actor: Actor
    actor_id: str
    at: dt.datetime
    goal_id: str | None = None  # the goal an entry is about (goal and programme events)
    before: Mapping[str, str | None] = field(default_factory=dict)
    after: Mapping[str, str | None] = field(default_factory=dict)


def achieved_entry(goal_id: str, status_before: str, actor_id: str, at: dt.datetime) -> HistoryEntry:
    """GOAL_ACHIEVED: Engage's own calculation filled the goal (actor SERVICE)."""
    return HistoryEntry(HistoryKind.GOAL_ACHIEVED, Actor.SERVICE, actor_id, at, goal_id,
                        {"status": status_before}, {"status": "ACHIEVED"})


def kind_of_action(action: EnrolmentAction) -> HistoryKind:
    """The history kind of an enrolment action (the same name)."""
    return HistoryKind(action.value)


def as_text(value: object) -> str | None:
    """A field's value as the history stores it."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Money):
        return f"{format(value.amount, 'f')} {value.currency}"
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    return str(value)


def changes(
    before_obj: object | None, after_obj: object, fields: Iterable[str]
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The named fields whose text differs between two versions of an object: (before, after), each
    field's value as text. `before_obj` None: the object is new, and every field with a value is a change."""
    before: dict[str, str | None] = {}
    after: dict[str, str | None] = {}
    for name in fields:
        old = as_text(getattr(before_obj, name)) if before_obj is not None else None
        new = as_text(getattr(after_obj, name))
        if old != new:
            if before_obj is not None:
                before[name] = old
            after[name] = new
    return before, after
