"""Channel fallback: an event type's ordered channels (push, then SMS if push is not delivered within N
minutes, then email), tried one after another for each trigger. Pure rules: which of a trigger's planned
deliveries go at once and which are held (`plan_chain`), and what a chain does next given its
deliveries' states and the time (`next_moves`). The chain's state lives on its deliveries (each one's
FallbackMark), so that it is recorded with the trigger in the same statement and read back with them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from server.domain.engagement.entities import (
    Channel,
    Delivery,
    DeliveryState,
    FallbackMark,
    FallbackPolicy,
    FallbackState,
    FallbackStep,
)
from server.domain.errors import FieldViolation, InvalidArgument

MAX_STEPS = 3
MIN_WAIT = dt.timedelta(seconds=1)
MAX_WAIT = dt.timedelta(days=7)
FALLBACK_CHANNELS = (Channel.PUSH, Channel.SMS, Channel.EMAIL)
# The skip reason of a held delivery that was never needed: an earlier step was delivered.
NOT_NEEDED = "FALLBACK_NOT_NEEDED"
# A step's deliveries that no longer wait for anything: failed, dead-lettered or never sent.
_GIVEN_UP = frozenset({DeliveryState.FAILED, DeliveryState.DEAD_LETTER, DeliveryState.SKIPPED})


def validate_policy(policy: FallbackPolicy, path: str) -> FallbackPolicy:
    """The policy as stored (the last step's wait dropped), or INVALID_ARGUMENT FALLBACK_POLICY_INVALID
    naming each bad field."""
    violations: list[FieldViolation] = []
    if len(policy.steps) > MAX_STEPS:
        violations.append(FieldViolation(f"{path}.steps", f"at most {MAX_STEPS} steps"))
    seen: set[Channel] = set()
    for index, step in enumerate(policy.steps):
        where = f"{path}.steps[{index}]"
        if step.channel not in FALLBACK_CHANNELS:
            violations.append(FieldViolation(f"{where}.channel", "CHANNEL_PUSH, CHANNEL_SMS or CHANNEL_EMAIL"))
        elif step.channel in seen:
            violations.append(FieldViolation(f"{where}.channel", "each channel at most once"))
        seen.add(step.channel)
        is_last = index == len(policy.steps) - 1
        if not is_last and (step.wait is None or not MIN_WAIT <= step.wait <= MAX_WAIT):
            violations.append(FieldViolation(f"{where}.wait", "1 second to 7 days, whole seconds (required for "
                                                              "every step but the last)"))
        elif not is_last and step.wait is not None and step.wait.microseconds:
            violations.append(FieldViolation(f"{where}.wait", "whole seconds"))
    if violations:
        raise InvalidArgument("FALLBACK_POLICY_INVALID", "the fallback policy is not valid", violations=violations)
    if not policy.steps:
        return policy
    return FallbackPolicy((*policy.steps[:-1], FallbackStep(policy.steps[-1].channel, None)))


def plan_chain(deliveries: list[Delivery], policy: FallbackPolicy, now: dt.datetime) -> list[Delivery]:
    """A trigger's planned deliveries with the policy applied: those of the policy's channels marked with
    their step; the first step that has somewhere to send goes at once (CURRENT), the later ones are
    HELD (WAITING); steps with nowhere to send (every delivery SKIPPED) are passed over (SKIPPED).
    Deliveries of channels the policy does not list are left as they are."""
    if not policy.steps:
        return deliveries
    by_step: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        number = policy.step_of(delivery.channel)
        if number:
            by_step.setdefault(number, []).append(delivery)
    if not by_step:
        return deliveries
    numbers = sorted(by_step)
    sendable = [n for n in numbers if any(d.state is DeliveryState.QUEUED for d in by_step[n])]
    current = sendable[0] if sendable else None
    later = [n for n in sendable if current is not None and n > current]
    marked: dict[str, Delivery] = {}
    for number in numbers:
        wait = policy.steps[number - 1].wait
        wait_seconds = int(wait.total_seconds()) if wait else 0
        for delivery in by_step[number]:
            if delivery.state is not DeliveryState.QUEUED:
                mark = FallbackMark(number, FallbackState.SKIPPED, wait_seconds, ended_at=now)
                marked[delivery.delivery_id] = dataclasses.replace(delivery, fallback=mark)
            elif number == current:
                deadline = _deadline(delivery.next_attempt_at, now, wait_seconds) if later else None
                mark = FallbackMark(number, FallbackState.CURRENT, wait_seconds, started_at=now, deadline=deadline)
                marked[delivery.delivery_id] = dataclasses.replace(delivery, fallback=mark)
            else:
                mark = FallbackMark(number, FallbackState.WAITING, wait_seconds)
                marked[delivery.delivery_id] = dataclasses.replace(delivery, state=DeliveryState.HELD, fallback=mark)
    return [marked.get(d.delivery_id, d) for d in deliveries]


def _deadline(due: dt.datetime, now: dt.datetime, wait_seconds: int) -> dt.datetime:
    # Counted from when the message may go: one deferred by quiet hours waits from their end.
    return max(due, now) + dt.timedelta(seconds=wait_seconds)


class Move(StrEnum):
    CLOSE = "CLOSE"  # the step's outcome is decided (fallback state and end time)
    RELEASE = "RELEASE"  # a held delivery goes: QUEUED, its step CURRENT
    DROP = "DROP"  # a held delivery is never sent: SKIPPED (FALLBACK_NOT_NEEDED, or the gate's reason)
    KEEP_UNTIL_DONE = "KEEP_UNTIL_DONE"  # the current step no longer times out (an earlier one was delivered)


@dataclass(frozen=True)
class ChainMove:
    """One change to one delivery of a chain. `expected` is the fallback state it must still be in: two
    processes deciding at once (a receipt and the sweep) then change each delivery once."""

    delivery_id: str
    move: Move
    expected: FallbackState
    mark: FallbackMark
    due: dt.datetime | None = None  # RELEASE: when it may be sent
    skip_reason: str = NOT_NEEDED  # DROP: why it is not sent


@dataclass(frozen=True)
class Verdict:
    """What the customer's preferences, as they are when a held delivery's step starts, say of it."""

    skip_reason: str = ""  # not sent after all (OPTED_OUT_CHANNEL, ...): its step is passed over
    due: dt.datetime | None = None  # not before (quiet hours)


Gate = Callable[[Delivery, dt.datetime], Verdict]


def _open_gate(delivery: Delivery, now: dt.datetime) -> Verdict:
    return Verdict()


def next_moves(chain: list[Delivery], now: dt.datetime, gate: Gate = _open_gate) -> list[ChainMove]:
    """What a trigger's chain does now, given its deliveries (those with a fallback mark): nothing, or
    the moves that end it (a DELIVERED receipt) or take it to its next step (the current step timed
    out or failed): the next step with a held delivery that `gate` lets go, the held deliveries it
    stops passed over as SKIPPED; a released step waits until the gate's `due`, its deadline with it.
    Deciding again after the moves are applied gives nothing: a late receipt or a repeated sweep sends
    nothing twice."""
    marked = [(d, d.fallback) for d in chain if d.fallback is not None]
    delivered_steps = {mark.step for d, mark in marked if d.state is DeliveryState.DELIVERED}
    moves: list[ChainMove] = []
    if delivered_steps:
        for d, mark in marked:
            if mark.state is FallbackState.WAITING:
                moves.append(ChainMove(d.delivery_id, Move.DROP, mark.state, dataclasses.replace(
                    mark, state=FallbackState.NOT_NEEDED, ended_at=now)))
            elif mark.state is FallbackState.CURRENT and mark.step in delivered_steps:
                moves.append(ChainMove(d.delivery_id, Move.CLOSE, mark.state, dataclasses.replace(
                    mark, state=FallbackState.DELIVERED, deadline=None, ended_at=now)))
            elif mark.state is FallbackState.CURRENT and mark.deadline is not None:
                moves.append(ChainMove(d.delivery_id, Move.KEEP_UNTIL_DONE, mark.state,
                                       dataclasses.replace(mark, deadline=None)))
        return moves
    current = [(d, mark) for d, mark in marked if mark.state is FallbackState.CURRENT]
    if not current:
        return []
    if all(d.state in _GIVEN_UP for d, _ in current):
        outcome = FallbackState.FAILED
    elif any(mark.deadline is not None and mark.deadline <= now for _, mark in current):
        outcome = FallbackState.TIMED_OUT
    else:
        return []
    for d, mark in current:
        moves.append(ChainMove(d.delivery_id, Move.CLOSE, mark.state, dataclasses.replace(
            mark, state=outcome, deadline=None, ended_at=now)))
    step = max(mark.step for _, mark in current)
    waiting = sorted({mark.step for _, mark in marked if mark.state is FallbackState.WAITING and mark.step > step})
    for index, number in enumerate(waiting):
        going: list[tuple[Delivery, FallbackMark, dt.datetime]] = []
        for d, mark in marked:
            if mark.step != number or mark.state is not FallbackState.WAITING:
                continue
            verdict = gate(d, now)
            if verdict.skip_reason:  # e.g. the customer opted out of the channel since the trigger
                moves.append(ChainMove(d.delivery_id, Move.DROP, mark.state, dataclasses.replace(
                    mark, state=FallbackState.SKIPPED, ended_at=now), skip_reason=verdict.skip_reason))
            else:
                going.append((d, mark, max(d.next_attempt_at, now, verdict.due or now)))
        if not going:
            continue  # nowhere to send at this step now: on to the next one
        further = index + 1 < len(waiting)
        for d, mark, due in going:
            deadline = due + dt.timedelta(seconds=mark.wait_seconds) if further else None
            moves.append(ChainMove(d.delivery_id, Move.RELEASE, mark.state, dataclasses.replace(
                mark, state=FallbackState.CURRENT, started_at=now, deadline=deadline), due))
        break
    return moves
