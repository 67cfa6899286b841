"""The enrolment lifecycle: every status (and none) against every action, legal and illegal."""

import datetime as dt
import itertools

import pytest

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.goals.enrolment import (
    ALLOWED_FROM,
    Enrolment,
    EnrolmentAction,
    EnrolmentStatus,
    GoalSettings,
    apply,
    check_target_account,
    require_enrolled,
)

SIGNED_UP = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
QUIET = GoalSettings(tracker_insights=False, milestone_insights=True, at_risk_insights=False)

# The documented table: (status before, action) -> status after; None: never enrolled.
LEGAL = {
    (None, EnrolmentAction.SIGNUP): EnrolmentStatus.ACTIVE,
    (EnrolmentStatus.CANCELLED, EnrolmentAction.SIGNUP): EnrolmentStatus.ACTIVE,
    (EnrolmentStatus.ACTIVE, EnrolmentAction.PAUSE): EnrolmentStatus.PAUSED,
    (EnrolmentStatus.PAUSED, EnrolmentAction.RESUME): EnrolmentStatus.ACTIVE,
    (EnrolmentStatus.ACTIVE, EnrolmentAction.MODIFY_SETTINGS): EnrolmentStatus.ACTIVE,
    (EnrolmentStatus.PAUSED, EnrolmentAction.MODIFY_SETTINGS): EnrolmentStatus.PAUSED,
    (EnrolmentStatus.ACTIVE, EnrolmentAction.CANCEL): EnrolmentStatus.CANCELLED,
    (EnrolmentStatus.PAUSED, EnrolmentAction.CANCEL): EnrolmentStatus.CANCELLED,
}
PAIRS = list(itertools.product([None, *EnrolmentStatus], EnrolmentAction))


def enrolment(status: EnrolmentStatus) -> Enrolment:
    return Enrolment(
        customer_id="c1",
        account_id="sav1",
        status=status,
        settings=GoalSettings(),
        enrolled_at=SIGNED_UP,
        updated_at=SIGNED_UP,
    )


def act(status: EnrolmentStatus | None, action: EnrolmentAction) -> Enrolment:
    current = enrolment(status) if status is not None else None
    return apply(
        current,
        action,
        at=LATER,
        customer_id="c1" if action == EnrolmentAction.SIGNUP else None,
        account_id="sav1" if action == EnrolmentAction.SIGNUP else None,
        settings=QUIET if action == EnrolmentAction.MODIFY_SETTINGS else None,
    )


def test_the_table_in_code_is_the_documented_one():
    assert {(s, a) for a, froms in ALLOWED_FROM.items() for s in froms} == set(LEGAL)


@pytest.mark.parametrize(("status", "action"), [p for p in PAIRS if p in LEGAL], ids=str)
def test_a_legal_transition(status, action):
    after = act(status, action)
    assert after.status == LEGAL[(status, action)]
    assert (after.customer_id, after.account_id, after.updated_at) == ("c1", "sav1", LATER)
    assert after.enrolled_at == (LATER if action == EnrolmentAction.SIGNUP else SIGNED_UP)
    assert after.settings == (QUIET if action == EnrolmentAction.MODIFY_SETTINGS else GoalSettings())
    assert after.receives_insights == (after.status == EnrolmentStatus.ACTIVE)


@pytest.mark.parametrize(("status", "action"), [p for p in PAIRS if p not in LEGAL], ids=str)
def test_an_illegal_transition_names_the_status_and_the_action(status, action):
    with pytest.raises(FailedPrecondition) as raised:
        act(status, action)
    assert raised.value.code == "ENROLMENT_TRANSITION_NOT_ALLOWED"
    assert str(action) in raised.value.message
    assert (status or "not enrolled") in raised.value.message
    assert raised.value.metadata == {"status": status or "NOT_ENROLLED", "action": action}


def test_there_are_as_many_illegal_pairs_as_the_table_leaves():
    assert len(PAIRS) == 4 * 5 and len([p for p in PAIRS if p not in LEGAL]) == 12


def test_a_signup_after_cancel_keeps_what_it_is_not_given():
    cancelled = Enrolment(
        customer_id="c1",
        account_id="sav1",
        status=EnrolmentStatus.CANCELLED,
        settings=QUIET,
        enrolled_at=SIGNED_UP,
        updated_at=SIGNED_UP,
    )
    again = apply(cancelled, EnrolmentAction.SIGNUP, at=LATER)
    assert (again.account_id, again.settings, again.status, again.enrolled_at) == (
        "sav1",
        QUIET,
        EnrolmentStatus.ACTIVE,
        LATER,
    )
    moved = apply(cancelled, EnrolmentAction.SIGNUP, at=LATER, account_id="chk2", settings=GoalSettings())
    assert (moved.account_id, moved.settings) == ("chk2", GoalSettings())


def test_a_first_signup_needs_the_customer_and_the_account():
    with pytest.raises(ValueError):
        apply(None, EnrolmentAction.SIGNUP, at=LATER, customer_id="c1")
    first = apply(None, EnrolmentAction.SIGNUP, at=LATER, customer_id="c1", account_id="sav1")
    assert first.settings == GoalSettings()


def test_modify_settings_does_not_move_the_account():
    active = enrolment(EnrolmentStatus.ACTIVE)
    same = apply(active, EnrolmentAction.MODIFY_SETTINGS, at=LATER, account_id="sav1", settings=QUIET)
    assert same.settings == QUIET
    with pytest.raises(InvalidArgument) as raised:
        apply(active, EnrolmentAction.MODIFY_SETTINGS, at=LATER, account_id="chk2", settings=QUIET)
    assert raised.value.code == "ENROLMENT_ACCOUNT_INVALID"
    with pytest.raises(ValueError):
        apply(active, EnrolmentAction.MODIFY_SETTINGS, at=LATER)
    with pytest.raises(ValueError):
        apply(active, EnrolmentAction.PAUSE, at=LATER, settings=QUIET)


@pytest.mark.parametrize(
    ("owner", "authorized", "account_type", "ok"),
    [
        ("c1", (), "SAVINGS", True),
        ("c1", (), "CHECKING", True),
        ("c2", ("c1",), "SAVINGS", True),
        ("c2", (), "SAVINGS", False),
        ("c1", (), "CREDIT", False),
        ("c1", (), "LOAN", False),
        ("c1", (), "INVESTMENT", False),
    ],
)
def test_the_target_account(owner, authorized, account_type, ok):
    def check():
        check_target_account("c1", owner_id=owner, account_type=account_type, authorized_customer_ids=authorized)

    if ok:
        check()
    else:
        with pytest.raises(InvalidArgument) as raised:
            check()
        assert raised.value.code == "ENROLMENT_ACCOUNT_INVALID"


def test_goal_calls_need_an_enrolment_that_is_not_cancelled():
    for status in (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED):
        assert require_enrolled(enrolment(status), "c1").status == status
    for missing in (None, enrolment(EnrolmentStatus.CANCELLED)):
        with pytest.raises(FailedPrecondition) as raised:
            require_enrolled(missing, "c1")
        assert raised.value.code == "NOT_ENROLLED"
