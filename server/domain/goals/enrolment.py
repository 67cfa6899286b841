"""A customer's enrolment in the goals programme and its lifecycle.

The enrolment names the target account that hosts the customer's goals (a savings or checking account
of the customer's own) and the customer's few settings. Its status moves by these actions only:

| action | from | to |
| --- | --- | --- |
| SIGNUP | not enrolled, CANCELLED | ACTIVE (a new enrolled_at; account and settings given, or kept from before) |
| PAUSE | ACTIVE | PAUSED |
| RESUME | PAUSED | ACTIVE |
| MODIFY_SETTINGS | ACTIVE, PAUSED | the same status, new settings |
| CANCEL | ACTIVE, PAUSED | CANCELLED |

Any other pair is FAILED_PRECONDITION `ENROLMENT_TRANSITION_NOT_ALLOWED`, naming the status and the action
(SIGNUP when enrolled, PAUSE when paused, RESUME when active, anything but SIGNUP when cancelled or never
enrolled).

The target account is chosen at SIGNUP and not changed by MODIFY_SETTINGS (`ENROLMENT_ACCOUNT_INVALID`):
every goal's saved amount is its share of that account's balance, so moving to another account would
silently change what each goal holds. To move, the customer cancels and signs up again with the new
account. On CANCEL the service archives the customer's goals (history by SERVICE), so a new SIGNUP
starts without goals.

A PAUSED customer keeps the goals and their money (allocations go on after every posting) but receives
no tracker, milestone or at-risk insights (`receives_insights`); goal calls work while ACTIVE or PAUSED
and answer `NOT_ENROLLED` otherwise (`require_enrolled`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from dataclasses import dataclass, replace

from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument

# Accounts that may host goals (server.domain.ingest.model.AccountType values).
TARGET_ACCOUNT_TYPES = frozenset({"SAVINGS", "CHECKING"})


class EnrolmentStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"


class EnrolmentAction(enum.StrEnum):
    SIGNUP = "SIGNUP"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    MODIFY_SETTINGS = "MODIFY_SETTINGS"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class GoalSettings:
    """The customer's own choices. The milestone percentages and amount steps are the bank's
    (milestones.MilestonePolicy), not here."""

    tracker_insights: bool = True
    milestone_insights: bool = True
    at_risk_insights: bool = True


@dataclass(frozen=True, slots=True)
class Enrolment:
    customer_id: str
    account_id: str
    status: EnrolmentStatus
    settings: GoalSettings
    enrolled_at: dt.datetime  # the latest SIGNUP
    updated_at: dt.datetime

    @property
    def receives_insights(self) -> bool:
        return self.status == EnrolmentStatus.ACTIVE


# The statuses each action may start from; None: never enrolled.
ALLOWED_FROM: dict[EnrolmentAction, frozenset[EnrolmentStatus | None]] = {
    EnrolmentAction.SIGNUP: frozenset({None, EnrolmentStatus.CANCELLED}),
    EnrolmentAction.PAUSE: frozenset({EnrolmentStatus.ACTIVE}),
    EnrolmentAction.RESUME: frozenset({EnrolmentStatus.PAUSED}),
    EnrolmentAction.MODIFY_SETTINGS: frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED}),
    EnrolmentAction.CANCEL: frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED}),
}

_STATUS_AFTER = {
    EnrolmentAction.PAUSE: EnrolmentStatus.PAUSED,
    EnrolmentAction.RESUME: EnrolmentStatus.ACTIVE,
    EnrolmentAction.CANCEL: EnrolmentStatus.CANCELLED,
}


def apply(
    enrolment: Enrolment | None,
    action: EnrolmentAction,
    *,
    at: dt.datetime,
    customer_id: str | None = None,
    account_id: str | None = None,
    settings: GoalSettings | None = None,
) -> Enrolment:
    """The enrolment after `action` at `at`, by the table above. SIGNUP of a customer never enrolled needs
    `customer_id` and `account_id`; a SIGNUP after CANCEL keeps the account and settings not given.
    MODIFY_SETTINGS needs `settings`; an `account_id` with it must be the current one."""
    status = enrolment.status if enrolment is not None else None
    if status not in ALLOWED_FROM[action]:
        raise FailedPrecondition(
            "ENROLMENT_TRANSITION_NOT_ALLOWED",
            f"{action} is not allowed when the enrolment is {status or 'not enrolled'}",
            metadata={"status": status or "NOT_ENROLLED", "action": action},
        )
    if action == EnrolmentAction.SIGNUP:
        return _signup(enrolment, at=at, customer_id=customer_id, account_id=account_id, settings=settings)
    assert enrolment is not None  # only SIGNUP starts from none
    if action == EnrolmentAction.MODIFY_SETTINGS:
        if settings is None:
            raise ValueError("MODIFY_SETTINGS needs the settings")
        if account_id is not None and account_id != enrolment.account_id:
            raise InvalidArgument(
                "ENROLMENT_ACCOUNT_INVALID",
                "the target account is chosen at signup: cancel and sign up again to move the goals",
                violations=[FieldViolation("enrolment.account_id", f"must stay {enrolment.account_id}")],
            )
        return replace(enrolment, settings=settings, updated_at=at)
    if account_id is not None or settings is not None:
        raise ValueError(f"{action} takes no account or settings")
    return replace(enrolment, status=_STATUS_AFTER[action], updated_at=at)


def _signup(
    previous: Enrolment | None,
    *,
    at: dt.datetime,
    customer_id: str | None,
    account_id: str | None,
    settings: GoalSettings | None,
) -> Enrolment:
    if previous is None:
        if customer_id is None or account_id is None:
            raise ValueError("a first SIGNUP needs the customer and the target account")
        return Enrolment(
            customer_id=customer_id,
            account_id=account_id,
            status=EnrolmentStatus.ACTIVE,
            settings=settings if settings is not None else GoalSettings(),
            enrolled_at=at,
            updated_at=at,
        )
    if customer_id is not None and customer_id != previous.customer_id:
        raise ValueError("an enrolment belongs to one customer")
    return replace(
        previous,
        account_id=account_id if account_id is not None else previous.account_id,
        status=EnrolmentStatus.ACTIVE,
        settings=settings if settings is not None else previous.settings,
        enrolled_at=at,
        updated_at=at,
    )


def check_target_account(
    customer_id: str, *, owner_id: str, account_type: str, authorized_customer_ids: Collection[str] = ()
) -> None:
    """ENROLMENT_ACCOUNT_INVALID unless the account is the customer's (owned or authorized) savings or
    checking account."""
    if customer_id != owner_id and customer_id not in authorized_customer_ids:
        raise InvalidArgument(
            "ENROLMENT_ACCOUNT_INVALID",
            "the target account is not the customer's",
            violations=[FieldViolation("enrolment.account_id", "an account of the customer's")],
        )
    if account_type not in TARGET_ACCOUNT_TYPES:
        raise InvalidArgument(
            "ENROLMENT_ACCOUNT_INVALID",
            f"goals live in a savings or checking account, not {account_type}",
            violations=[FieldViolation("enrolment.account_id", "a SAVINGS or CHECKING account")],
        )


def require_enrolled(enrolment: Enrolment | None, customer_id: str) -> Enrolment:
    """The enrolment of a customer who may manage goals (ACTIVE or PAUSED); NOT_ENROLLED otherwise."""
    if enrolment is None or enrolment.status == EnrolmentStatus.CANCELLED:
        raise FailedPrecondition(
            "NOT_ENROLLED",
            f"customer '{customer_id}' is not enrolled in the goals programme",
            metadata={"customer_id": customer_id},
        )
    return enrolment
