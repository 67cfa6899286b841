"""The channel fallback's rules (server.domain.engagement.fallback): how a trigger's deliveries are
planned into a chain, and what the chain does on receipts, failures and deadlines. The property test
plays random histories against the rules, applying their moves as the store does (each only from the
state it was decided from), and checks what a customer would notice: no message is sent twice, nothing
is sent after a delivery, a step is started only when the one before it timed out, failed or had
nowhere to send, and deciding again changes nothing."""

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.engagement.entities import (
    Channel,
    Delivery,
    DeliveryState,
    FallbackPolicy,
    FallbackState,
    FallbackStep,
)
from server.domain.engagement.fallback import NOT_NEEDED, Move, Verdict, next_moves, plan_chain, validate_policy
from server.domain.engagement.receipts import parse_receipt, push_receipt_applies
from server.domain.errors import InvalidArgument

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def delivery(delivery_id: str, channel: Channel, state: DeliveryState = DeliveryState.QUEUED) -> Delivery:
    return Delivery(delivery_id, "key", "event", "", "customer", channel, "", "", "address", "REGULAR", {}, state,
                    "NO_ADDRESS" if state is DeliveryState.SKIPPED else "", 0, T0, "", "", "", T0, T0)


PUSH_SMS_EMAIL = FallbackPolicy((FallbackStep(Channel.PUSH, 10 * MINUTE), FallbackStep(Channel.SMS, 30 * MINUTE),
                                 FallbackStep(Channel.EMAIL)))


def test_the_first_step_with_an_address_goes_and_the_later_ones_are_held():
    planned = plan_chain([delivery("p", Channel.PUSH, DeliveryState.SKIPPED), delivery("s", Channel.SMS),
                          delivery("e", Channel.EMAIL), delivery("w", Channel.PASS)], PUSH_SMS_EMAIL, T0)
    by_id = {d.delivery_id: d for d in planned}
    assert (by_id["p"].state, by_id["p"].fallback.state) == (DeliveryState.SKIPPED, FallbackState.SKIPPED)
    assert (by_id["s"].state, by_id["s"].fallback.state, by_id["s"].fallback.deadline) == \
        (DeliveryState.QUEUED, FallbackState.CURRENT, T0 + 30 * MINUTE)
    assert (by_id["e"].state, by_id["e"].fallback.state) == (DeliveryState.HELD, FallbackState.WAITING)
    assert by_id["w"].fallback is None and by_id["w"].state is DeliveryState.QUEUED


def test_the_last_step_that_can_go_has_no_deadline():
    planned = plan_chain([delivery("p", Channel.PUSH), delivery("e", Channel.EMAIL, DeliveryState.SKIPPED)],
                         PUSH_SMS_EMAIL, T0)
    assert planned[0].fallback.state is FallbackState.CURRENT and planned[0].fallback.deadline is None


def test_a_deadline_counts_from_the_end_of_quiet_hours():
    quiet = dataclasses.replace(delivery("p", Channel.PUSH), next_attempt_at=T0 + 60 * MINUTE)
    [push, _] = plan_chain([quiet, delivery("s", Channel.SMS)], PUSH_SMS_EMAIL, T0)
    assert push.fallback.deadline == T0 + 70 * MINUTE


@pytest.mark.parametrize("steps", [
    (FallbackStep(Channel.PUSH), FallbackStep(Channel.SMS)),  # a wait is required before the last step
    (FallbackStep(Channel.PUSH, MINUTE), FallbackStep(Channel.PUSH)),
    (FallbackStep(Channel.PASS, MINUTE), FallbackStep(Channel.SMS)),
    (FallbackStep(Channel.PUSH, dt.timedelta(days=8)), FallbackStep(Channel.SMS)),
    (FallbackStep(Channel.PUSH, dt.timedelta(seconds=1.5)), FallbackStep(Channel.SMS)),
    (FallbackStep(Channel.PUSH, MINUTE), FallbackStep(Channel.SMS, MINUTE), FallbackStep(Channel.EMAIL, MINUTE),
     FallbackStep(Channel.PASS)),
])
def test_invalid_policies_are_refused(steps):
    with pytest.raises(InvalidArgument) as refused:
        validate_policy(FallbackPolicy(steps), "p")
    assert refused.value.code == "FALLBACK_POLICY_INVALID"


@given(st.lists(st.tuples(st.sampled_from(list(Channel)),
                          st.one_of(st.none(), st.integers(-10, 8 * 86400).map(lambda s: dt.timedelta(seconds=s)))),
                max_size=5))
def test_a_policy_is_valid_exactly_when_its_rules_hold(raw):
    steps = tuple(FallbackStep(channel, wait) for channel, wait in raw)
    channels = [channel for channel, _ in raw]
    expected = (len(steps) <= 3 and all(c in (Channel.PUSH, Channel.SMS, Channel.EMAIL) for c in channels)
                and len(set(channels)) == len(channels)
                and all(w is not None and dt.timedelta(seconds=1) <= w <= dt.timedelta(days=7) for _, w in raw[:-1]))
    try:
        kept = validate_policy(FallbackPolicy(steps), "p")
    except InvalidArgument:
        assert not expected
    else:
        assert expected
        assert [s.channel for s in kept.steps] == channels and (not kept.steps or kept.steps[-1].wait is None)


def _apply(chain: dict[str, Delivery], moves, sent: list[str]) -> None:
    """The store's move_chain on an in-memory chain: each move only from the state it was decided from."""
    for move in moves:
        current = chain[move.delivery_id]
        if current.fallback.state is not move.expected:
            continue
        if move.move in (Move.RELEASE, Move.DROP) and current.state is not DeliveryState.HELD:
            continue
        state = {Move.RELEASE: DeliveryState.QUEUED, Move.DROP: DeliveryState.SKIPPED}.get(move.move, current.state)
        chain[move.delivery_id] = dataclasses.replace(current, state=state, fallback=move.mark,
                                                      skip_reason=NOT_NEEDED if move.move is Move.DROP
                                                      else current.skip_reason)
        if move.move is Move.RELEASE:
            sent.append(move.delivery_id)


CHANNELS = [Channel.PUSH, Channel.SMS, Channel.EMAIL]


@settings(max_examples=300, deadline=None)
@given(st.permutations(CHANNELS), st.lists(st.integers(1, 60), min_size=3, max_size=3),
       st.lists(st.tuples(st.sampled_from(CHANNELS), st.integers(0, 2)), min_size=1, max_size=5),
       st.lists(st.tuples(st.sampled_from(["DELIVERED", "FAILED", "DEAD", "TICK", "SENT"]), st.integers(0, 9),
                          st.integers(0, 90)), max_size=12),
       st.sets(st.integers(0, 4)))
def test_random_histories_never_send_twice_or_after_a_delivery(order, waits, addresses, history, opted_out):
    policy = FallbackPolicy(tuple(FallbackStep(c, dt.timedelta(minutes=w)) for c, w in zip(order, waits, strict=True)))
    planned_input = []
    for index, (channel, kind) in enumerate(addresses):  # kind 0: no address; 1-2: one address each
        planned_input.append(delivery(f"d{index}", channel, DeliveryState.SKIPPED if kind == 0
                                      else DeliveryState.QUEUED))
    planned = plan_chain(planned_input, policy, T0)
    chain = {d.delivery_id: d for d in planned}
    sent = [d.delivery_id for d in planned if d.state is DeliveryState.QUEUED]
    planned_sent = list(sent)

    def gate(d: Delivery, now: dt.datetime) -> Verdict:  # the customer opted out of these since the trigger
        return Verdict("OPTED_OUT_CHANNEL") if int(d.delivery_id[1:]) in opted_out else Verdict()

    assert len({chain[i].fallback.step for i in sent}) <= 1  # one step goes at once
    now, delivered_at = T0, None
    for event, pick, minutes in history:
        now += dt.timedelta(minutes=minutes)
        ids = sorted(chain)
        target = chain[ids[pick % len(ids)]]
        if event != "TICK" and target.state in (DeliveryState.QUEUED, DeliveryState.SENT, DeliveryState.FAILED):
            new = {"DELIVERED": DeliveryState.DELIVERED, "FAILED": DeliveryState.FAILED,
                   "DEAD": DeliveryState.DEAD_LETTER, "SENT": DeliveryState.SENT}[event]
            if not (target.state is DeliveryState.FAILED and new is not DeliveryState.DELIVERED):
                chain[target.delivery_id] = dataclasses.replace(target, state=new)
                if new is DeliveryState.DELIVERED and delivered_at is None:
                    delivered_at = len(sent)
        before = len(sent)
        moves = next_moves(list(chain.values()), now, gate)
        _apply(chain, moves, sent)
        if delivered_at is not None:
            assert len(sent) == before, "nothing is sent once a message of the chain was delivered"
        # Deciding again at once changes nothing.
        assert next_moves(list(chain.values()), now, gate) == []
        currents = {d.fallback.step for d in chain.values() if d.fallback.state is FallbackState.CURRENT}
        assert len(currents) <= 1
    assert len(sent) == len(set(sent)), "no delivery is released twice"
    assert not {f"d{i}" for i in opted_out} & set(sent[len(planned_sent):]), "the gate's refusals never go"
    # Steps start in the policy's order, each after the one before it ended.
    started = sorted({chain[i].fallback.step for i in sent})
    assert started == sorted(started)
    for earlier in (d for d in chain.values() if d.fallback and d.fallback.step < max(started, default=0)):
        assert earlier.fallback.state is not FallbackState.WAITING


@pytest.mark.parametrize(("current", "reported", "applies"), [
    (DeliveryState.SENDING, DeliveryState.DELIVERED, True),  # the app reports before the send is recorded
    (DeliveryState.SENDING, DeliveryState.FAILED, False),  # the provider's answer decides that
    (DeliveryState.SENT, DeliveryState.FAILED, True), (DeliveryState.FAILED, DeliveryState.DELIVERED, True),
    (DeliveryState.DELIVERED, DeliveryState.FAILED, False), (DeliveryState.QUEUED, DeliveryState.DELIVERED, False),
    (DeliveryState.HELD, DeliveryState.DELIVERED, False),
])
def test_which_app_reports_change_a_push(current, reported, applies):
    assert push_receipt_applies(current, reported) is applies


def test_an_apps_report_is_read_by_delivery_id():
    report = parse_receipt("fcm", {"delivery_id": "d1", "status": "delivered"})
    assert (report.delivery_id, report.status, report.provider_message_id) == ("d1", "DELIVERED", "")
    assert parse_receipt("apns", {"delivery_id": "d1", "status": "FAILED"}).status == "FAILED"
    assert parse_receipt("fcm", {"delivery_id": "d1", "status": "opened"}) is None
    assert parse_receipt("fcm", {"status": "DELIVERED"}) is None
    assert parse_receipt("fcm", {"delivery_id": "a\x00b", "status": "DELIVERED"}) is None


def test_a_step_the_customer_opted_out_of_since_the_trigger_is_passed_over():
    planned = plan_chain([delivery("p", Channel.PUSH), delivery("s", Channel.SMS), delivery("e", Channel.EMAIL)],
                         PUSH_SMS_EMAIL, T0)
    later = T0 + 11 * MINUTE
    quiet_until = later + 60 * MINUTE

    def gate(d: Delivery, now: dt.datetime) -> Verdict:
        return Verdict("OPTED_OUT_CHANNEL") if d.channel is Channel.SMS else Verdict(due=quiet_until)

    moves = {m.delivery_id: m for m in next_moves(planned, later, gate)}
    assert (moves["p"].move, moves["p"].mark.state) == (Move.CLOSE, FallbackState.TIMED_OUT)
    assert (moves["s"].move, moves["s"].mark.state, moves["s"].skip_reason) == \
        (Move.DROP, FallbackState.SKIPPED, "OPTED_OUT_CHANNEL")
    assert (moves["e"].move, moves["e"].due, moves["e"].mark.deadline) == (Move.RELEASE, quiet_until, None)

