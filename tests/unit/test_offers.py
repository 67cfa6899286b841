"""Recommended offers' domain (server.domain.triggers.offers): the checks a recommendation gets, and
the one decision a suggestion takes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.triggers.offers import (
    Decision,
    OfferBanner,
    SuggestedOffer,
    SuggestionStatus,
    banner_expiry,
    check_recommendation,
    check_rejection_reason,
    decide,
    rejected_before,
)

NOW = dt.datetime(2026, 12, 3, 5, tzinfo=dt.UTC)
BANNER = OfferBanner("Earn more", "Premium savings pays 3%.", "Open now", "https://bank.example/premium",
                     dt.timedelta(days=14))


def _field(error: InvalidArgument) -> str:
    return error.violations[0].field


def test_a_well_formed_recommendation_passes() -> None:
    check_recommendation("rich_savers", "Savers", BANNER)
    check_recommendation("a" + "b" * 39, "x" * 100, OfferBanner("t" * 100, "b" * 500, "l" * 40,
                                                                 "https://b.example/" + "p" * 1982,
                                                                 dt.timedelta(days=366)))


@pytest.mark.parametrize(("recommendation_id", "display_name", "banner", "field"), [
    ("Rich", "Savers", BANNER, "offer_recommendation_id"),
    ("1rich", "Savers", BANNER, "offer_recommendation_id"),
    ("a" * 41, "Savers", BANNER, "offer_recommendation_id"),
    ("rich", " ", BANNER, "offer_recommendation.display_name"),
    ("rich", "x" * 101, BANNER, "offer_recommendation.display_name"),
    ("rich", "Savers", OfferBanner("t" * 101, "b", "l", "https://b.example"), "offer_recommendation.banner.title"),
    ("rich", "Savers", OfferBanner("t", "b" * 501, "l", "https://b.example"), "offer_recommendation.banner.body"),
    ("rich", "Savers", OfferBanner("t", "b", "l" * 41, "https://b.example"),
     "offer_recommendation.banner.call_to_action_label"),
    ("rich", "Savers", OfferBanner("t", "b", "l", "http://b.example"),
     "offer_recommendation.banner.call_to_action_url"),
    ("rich", "Savers", OfferBanner("t", "b", "l", "https://"), "offer_recommendation.banner.call_to_action_url"),
    ("rich", "Savers", OfferBanner("t", "b", "l", "https://b.example/a b"),
     "offer_recommendation.banner.call_to_action_url"),
    ("rich", "Savers", OfferBanner("t", "b", "l", "https://b.example", dt.timedelta(minutes=59)),
     "offer_recommendation.banner.lifetime"),
    ("rich", "Savers", OfferBanner("t", "b", "l", "https://b.example", dt.timedelta(days=366, seconds=1)),
     "offer_recommendation.banner.lifetime"),
])
def test_each_bad_field_is_named(recommendation_id: str, display_name: str, banner: OfferBanner, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_recommendation(recommendation_id, display_name, banner)
    assert raised.value.code == "OFFER_RECOMMENDATION_INVALID" and _field(raised.value) == field


@given(st.text(max_size=300))
def test_only_https_urls_with_a_host_pass(url: str) -> None:
    banner = OfferBanner("t", "b", "l", url)
    try:
        check_recommendation("rich", "Savers", banner)
    except InvalidArgument as error:
        assert error.code == "OFFER_RECOMMENDATION_INVALID"
    else:
        assert url.startswith("https://") and not any(c.isspace() or ord(c) < 32 for c in url)


def _pending() -> SuggestedOffer:
    return SuggestedOffer("s1", "rich_savers", "c1", "premium", {"avg_collected_balance": "3000"},
                          SuggestionStatus.PENDING, NOW)


def test_a_pending_suggestion_is_decided_once() -> None:
    approved = decide(_pending(), Decision(SuggestionStatus.APPROVED, "ben", NOW))
    assert (approved.status, approved.decided_by, approved.decided_at) == (SuggestionStatus.APPROVED, "ben", NOW)
    assert approved.values == {"avg_collected_balance": "3000"}
    for decided in (approved, decide(_pending(), Decision(SuggestionStatus.REJECTED, "ben", NOW, "no"))):
        with pytest.raises(FailedPrecondition) as raised:
            decide(decided, Decision(SuggestionStatus.APPROVED, "ana", NOW))
        assert raised.value.code == "SUGGESTED_OFFER_DECIDED"


def test_expiry_and_the_quiet_period_after_a_rejection() -> None:
    assert banner_expiry(BANNER, NOW) == NOW + dt.timedelta(days=14)
    assert rejected_before(NOW) == NOW - dt.timedelta(days=90)
    check_rejection_reason("x" * 500)
    with pytest.raises(InvalidArgument):
        check_rejection_reason("x" * 501)
