"""Trigger rules' field checks and lifecycle (server.domain.triggers.rules)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from server.domain.reasons import Reason
from server.domain.triggers import rules
from server.domain.triggers.rules import (
    Audience,
    AudienceKind,
    BankNotificationAction,
    BannerAction,
    MessageAction,
    RuleDefinition,
    RuleStatus,
)
from server.domain.triggers.rules_codec import definition_from_json, definition_to_json

AT = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
BANNER = BannerAction("Low balance?", "Try our overdraft cover", "See more", "https://bank.example/od",
                      dt.timedelta(days=7), "od_cover")
DEFINITION = RuleDefinition("Low balance", "", Audience.everyone(), "balance < 100",
                            (BANNER, BankNotificationAction("call them")))


def test_a_rule_goes_through_approval_by_another_admin() -> None:
    rule = rules.new_rule("low_balance", DEFINITION, by="alice", at=AT)
    assert (rule.status, rule.version) == (RuleStatus.DRAFT, 1)
    pending = rules.submit(rule, at=AT)
    with pytest.raises(PermissionDenied) as refused:
        rules.approve(pending, by="alice", at=AT)
    assert refused.value.code is Reason.TRIGGER_RULE_SELF_APPROVAL
    active = rules.approve(pending, by="bob", at=AT, version=1)
    assert active.status is RuleStatus.ACTIVE and active.is_live(AT)
    edited = rules.edit(active, dataclasses.replace(DEFINITION, display_name="Lower"), by="bob", at=AT)
    assert (edited.status, edited.version, edited.approved_by) == (RuleStatus.PENDING_APPROVAL, 2, None)
    assert not edited.is_live(AT)
    with pytest.raises(PermissionDenied):
        rules.approve(edited, by="bob", at=AT)
    with pytest.raises(FailedPrecondition):
        rules.approve(edited, by="alice", at=AT, version=1)
    paused = rules.pause(rules.approve(edited, by="alice", at=AT), at=AT)
    assert rules.resume(paused, at=AT).status is RuleStatus.ACTIVE
    archived = rules.archive(paused, at=AT)
    for step in (lambda: rules.edit(archived, DEFINITION, by="x", at=AT), lambda: rules.archive(archived, at=AT),
                 lambda: rules.resume(archived, at=AT), lambda: rules.submit(active, at=AT)):
        with pytest.raises(FailedPrecondition) as wrong:
            step()
        assert wrong.value.code is Reason.TRIGGER_RULE_STATE


def test_a_rejection_needs_a_reason_and_returns_the_rule_to_draft() -> None:
    pending = rules.submit(rules.new_rule("r", DEFINITION, by="alice", at=AT), at=AT)
    with pytest.raises(InvalidArgument):
        rules.reject(pending, reason=" ", at=AT)
    rejected = rules.reject(pending, reason="too broad", at=AT)
    assert (rejected.status, rejected.rejection_reason) == (RuleStatus.DRAFT, "too broad")


def test_every_bad_field_is_named() -> None:
    bad = RuleDefinition("", "x" * 1001, Audience(AudienceKind.CUSTOMERS, ()), "balance < 1",
                         (dataclasses.replace(BANNER, cta_url="http://insecure", lifetime=dt.timedelta(0)),
                          dataclasses.replace(BANNER)),
                         AT, AT, dt.timedelta(days=400))
    with pytest.raises(InvalidArgument) as refused:
        rules.new_rule("Bad-Id", bad, by="a", at=AT)
    assert refused.value.code is Reason.TRIGGER_RULE_INVALID
    assert [v.field for v in refused.value.violations] == ["trigger_rule_id"]
    fields = {v.field for v in rules.definition_violations(bad)}
    assert fields == {"trigger_rule.display_name", "trigger_rule.description", "trigger_rule.audience.customers",
                      "trigger_rule.actions", "trigger_rule.actions[0].banner.call_to_action_url",
                      "trigger_rule.actions[0].banner.lifetime", "trigger_rule.active_until",
                      "trigger_rule.cooldown"}


def test_a_definition_survives_its_json() -> None:
    assert definition_from_json(definition_to_json(DEFINITION)) == DEFINITION


_text = st.text(max_size=30)
_instant = st.none() | st.datetimes(timezones=st.just(dt.UTC))
_product = st.none() | st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True)
_actions = st.one_of(
    st.builds(BannerAction, _text, _text, _text, _text, st.timedeltas(dt.timedelta(0), dt.timedelta(days=400))
              .map(lambda d: dt.timedelta(seconds=int(d.total_seconds()))), _product),
    st.builds(BankNotificationAction, _text),
    st.builds(MessageAction, _text, st.dictionaries(_text, _text, max_size=3), _product))
_audiences = st.one_of(
    st.just(Audience.everyone()),
    st.builds(Audience, st.just(AudienceKind.CUSTOMERS), st.lists(_text, max_size=3).map(tuple)),
    st.builds(Audience, st.sampled_from([AudienceKind.PERSONA, AudienceKind.AUDIENCE]), st.just(()), _text))


@given(st.builds(RuleDefinition, _text, _text, _audiences, _text, st.lists(_actions, max_size=3).map(tuple),
                 _instant, _instant, st.integers(0, 10**8).map(lambda s: dt.timedelta(seconds=s))))
def test_any_definition_survives_its_json(definition: RuleDefinition) -> None:
    assert definition_from_json(json.loads(json.dumps(definition_to_json(definition)))) == definition
