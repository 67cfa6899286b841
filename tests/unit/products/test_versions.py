"""Product versions: DRAFT → APPROVED → RETIRED, immutable once approved, four eyes, validated terms."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from server.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from server.domain.products.conditions import InPersona, NumberIn, Rule, TermIn, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.pricing import Charge, ChargeBasis, Discount, InterestList
from server.domain.products.versions import VersionStatus, approve, edit, new_version, retire
from tests.unit.products.globetrotter import TERMS, loan

NOW = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
CHEAPER = dataclasses.replace(TERMS, interest_lists=(dataclasses.replace(TERMS.interest_lists[0],
                                                                         annual_rate=Decimal("4.9")),
                                                     *TERMS.interest_lists[1:]))


def approved():
    return approve(loan(), "bob", NOW).approved


def test_a_draft_is_edited_and_approved_by_a_second_admin():
    draft = edit(loan(), "alice", CHEAPER)
    assert draft.status is VersionStatus.DRAFT and draft.terms == CHEAPER
    approval = approve(draft, "bob", NOW)
    assert (approval.approved.status, approval.approved.approver, approval.approved.approved_at) == (
        VersionStatus.APPROVED, "bob", NOW)
    assert approval.retired is None


@pytest.mark.parametrize("approver", ["alice", "carol"])
def test_four_eyes_whoever_wrote_the_version_may_not_approve_it(approver):
    draft = edit(loan(), "carol", CHEAPER)  # alice created it, carol edited it
    with pytest.raises(PermissionDenied) as caught:
        approve(draft, approver, NOW)
    assert caught.value.code == "PRODUCT_SELF_APPROVAL"


def test_an_approved_version_is_immutable():
    with pytest.raises(FailedPrecondition) as caught:
        edit(approved(), "carol", CHEAPER)
    assert caught.value.code == "PRODUCT_VERSION_IMMUTABLE"


def test_a_new_version_is_a_draft_copy_of_an_approved_one_and_replaces_it_when_approved():
    live = approved()
    draft = new_version(live, 2, "carol")
    assert (draft.status, draft.number, draft.based_on, draft.terms, draft.authors) == (
        VersionStatus.DRAFT, 2, 1, live.terms, frozenset({"carol"}))
    approval = approve(edit(draft, "carol", CHEAPER), "alice", NOW, current=live)
    assert approval.approved.terms == CHEAPER and approval.approved.approver == "alice"
    assert approval.retired is not None and approval.retired.status is VersionStatus.RETIRED
    assert live.status is VersionStatus.APPROVED  # values, not objects changed in place


@pytest.mark.parametrize(("action", "state"), [
    ("approve", "approved"), ("approve", "retired"), ("retire", "draft"), ("retire", "retired"),
    ("new_version", "draft"), ("new_version", "retired"),
])
def test_transitions_not_allowed(action, state):
    version = {"draft": loan(), "approved": approved(), "retired": retire(approved(), NOW)}[state]
    call = {"approve": lambda v: approve(v, "dave", NOW), "retire": lambda v: retire(v, NOW),
            "new_version": lambda v: new_version(v, 2, "dave")}[action]
    with pytest.raises(FailedPrecondition) as caught:
        call(version)
    assert caught.value.code == "PRODUCT_VERSION_TRANSITION_NOT_ALLOWED"


def test_a_retired_version_cannot_be_edited():
    with pytest.raises(FailedPrecondition) as caught:
        edit(retire(approved(), NOW), "alice", CHEAPER)
    assert caught.value.code == "PRODUCT_VERSION_IMMUTABLE"


@pytest.mark.parametrize(("changes", "field"), [
    ({"currency": "euro"}, "currency"),
    ({"amount_limits": Interval.closed(10, 5)}, "amount_limits"),
    ({"amount_limits": Interval.at_most(5)}, "amount_limits"),
    ({"term_limits": Interval.open(6, 7)}, "term_limits"),
    ({"interest_lists": (InterestList("a", Decimal("-1")),)}, "interest_lists[0].annual_rate"),
    ({"interest_lists": (InterestList("a", Decimal(1)), InterestList("a", Decimal(2)))}, "interest_lists"),
    ({"interest_lists": (InterestList("a", Decimal(1), (Charge("fee", ChargeBasis.FIXED, Decimal(-5)),)),)},
     "interest_lists[0].commissions[0].value"),
    ({"interest_lists": (InterestList("a", Decimal(1), conditions=(InPersona(" "),)),)},
     "interest_lists[0].conditions[0]"),
    ({"interest_lists": (InterestList("a", Decimal(1), conditions=(TermIn(Interval.open(12, 13)),)),)},
     "interest_lists[0].conditions[0]"),
    ({"availability": (Rule("r", (ValueIn("x", frozenset({True, "yes"})),)),)}, "availability[0].conditions[0]"),
    ({"availability": (Rule("r", (ValueIn("age", frozenset({"30"})), NumberIn("age", Interval.above(1)))),)},
     "conditions"),
    ({"availability": (Rule("r", (ValueIn("x", frozenset({"yes"})),)),),
      "discounts": (Discount("d", (ValueIn("x", frozenset({True})),)),)}, "conditions"),
    ({"discounts": (Discount("d", commission_percent=Decimal(101)),)}, "discounts[0].commission_percent"),
    ({"availability": (Rule(""),)}, "availability[0].name"),
])
def test_invalid_terms_are_refused_naming_the_field(changes, field):
    with pytest.raises(InvalidArgument) as caught:
        edit(loan(), "alice", dataclasses.replace(TERMS, **changes))
    assert caught.value.code == "PRODUCT_INVALID"
    assert field in [v.field for v in caught.value.violations]
