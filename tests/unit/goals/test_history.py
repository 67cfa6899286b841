"""History entries: only what changed, as text."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from server.domain.events import Money
from server.domain.goals.enrolment import EnrolmentAction, GoalSettings
from server.domain.goals.history import Actor, HistoryEntry, HistoryKind, as_text, changes, kind_of_action
from server.domain.goals.model import EDITABLE_FIELDS, GoalCategory, GoalDraft, GoalStatus, new_goal

NOW = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC)
GOAL_FIELDS = EDITABLE_FIELDS


def a_goal():
    draft = GoalDraft(name="Car", category=GoalCategory.CAR, target=Money(Decimal("9000.00"), "EUR"), priority=3)
    return new_goal(draft, goal_id="g1", customer_id="c1", account_id="a1", at=NOW)


def test_every_enrolment_action_has_its_history_kind():
    assert {kind_of_action(a) for a in EnrolmentAction} == {
        HistoryKind.SIGNUP,
        HistoryKind.PAUSE,
        HistoryKind.RESUME,
        HistoryKind.MODIFY_SETTINGS,
        HistoryKind.CANCEL,
    }


def test_values_as_text():
    assert as_text(None) is None
    assert as_text(GoalStatus.PAUSED) == "PAUSED"
    assert as_text(True) == "true" and as_text(False) == "false"
    assert as_text(Decimal("1E+3")) == "1000" and as_text(Decimal("12.50")) == "12.50"
    assert as_text(Money(Decimal("1500.00"), "EUR")) == "1500.00 EUR"
    assert as_text(dt.date(2026, 8, 1)) == "2026-08-01"
    assert as_text(NOW) == "2026-03-10T09:30:00+00:00"
    assert as_text(7) == "7" and as_text("x") == "x"


def test_an_edit_lists_only_the_changed_fields():
    before = a_goal()
    after = replace(before, name="New car", target_date=dt.date(2027, 1, 1), priority=3)
    assert changes(before, after, GOAL_FIELDS) == (
        {"name": "Car", "target_date": None},
        {"name": "New car", "target_date": "2027-01-01"},
    )
    assert changes(before, before, GOAL_FIELDS) == ({}, {})


def test_a_new_object_has_every_field_with_a_value_in_after():
    before, after = changes(None, a_goal(), GOAL_FIELDS)
    assert before == {}
    assert after == {"name": "Car", "category": "CAR", "target": "9000.00 EUR", "priority": "3", "status": "ACTIVE"}


def test_settings_changes():
    before, after = changes(
        GoalSettings(),
        GoalSettings(tracker_insights=False),
        ("tracker_insights", "milestone_insights", "at_risk_insights"),
    )
    assert (before, after) == ({"tracker_insights": "true"}, {"tracker_insights": "false"})
    entry = HistoryEntry(HistoryKind.MODIFY_SETTINGS, Actor.CUSTOMER, "c1", NOW, before=before, after=after)
    assert entry.goal_id is None and entry.after["tracker_insights"] == "false"
