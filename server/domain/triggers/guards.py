"""Rules that share a necessary test, so that the live evaluation (server.services.triggers.evaluation) asks
it once at a posting instead of asking each rule: a tenant's rules are often one comparison at several
thresholds (`balance < 100`, `balance < 150`, ... or `withdrawal > 3000`, `withdrawal > 5000`, ...), and at
most postings none of them holds.

A condition's guard is a leaf that must hold for the whole condition to hold (the condition itself, or a
part of a top-level AND) and whose comparison is monotone in its threshold: the measured value does not
depend on the threshold, and a looser threshold holds wherever a tighter one does. Guards of one family
measure the same value the same way up or down; the family's loosest leaf (the extreme threshold, compared
inclusively) then holds wherever any member's guard holds. Where it does not, no member's condition holds.

Not guards: `=` and `!=`; `deposit|withdrawal > P% OF balance` (the balance before the posting can be
negative, which turns the comparison round); segment leaves; OR and NOT."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

from server.domain.segments.expression import Comparator
from server.domain.triggers.condition import (
    ChangeCompare,
    Condition,
    MetricCompare,
    PostingCompare,
    RelativeTo,
    first_required,
)

GuardLeaf = MetricCompare | ChangeCompare | PostingCompare
_BELOW = (Comparator.LT, Comparator.LE)
_ABOVE = (Comparator.GT, Comparator.GE)


@dataclass(frozen=True)
class Guard:
    family: Hashable  # what the leaf measures, and whether it holds below or above its threshold
    leaf: GuardLeaf


def guard_of(condition: Condition) -> Guard | None:
    """The condition's guard: the condition when it is a guard leaf, else the first guard among the parts of
    a top-level AND (each of them must hold); None when it has none."""
    return first_required(condition, _leaf_guard)


def _leaf_guard(condition: Condition) -> Guard | None:
    if not isinstance(condition, MetricCompare | ChangeCompare | PostingCompare):
        return None
    if condition.comparator in _BELOW:
        below = True
    elif condition.comparator in _ABOVE:
        below = False
    else:
        return None
    if isinstance(condition, MetricCompare):
        return Guard(("metric", condition.metric, condition.months, below), condition)
    if isinstance(condition, ChangeCompare):
        return Guard(("change", condition.metric, condition.over, condition.percent, below), condition)
    if condition.relative_to is RelativeTo.BALANCE:
        return None
    return Guard(("posting", condition.direction, condition.relative_to, below), condition)


def loosest(leaves: Sequence[GuardLeaf]) -> GuardLeaf:
    """One family's leaves as one: the extreme threshold, compared inclusively (holds wherever any of them
    does)."""
    if leaves[0].comparator in _BELOW:
        return replace(leaves[0], comparator=Comparator.LE, amount=max(leaf.amount for leaf in leaves))
    return replace(leaves[0], comparator=Comparator.GE, amount=min(leaf.amount for leaf in leaves))


def families(conditions: Sequence[Condition]) -> list[tuple[GuardLeaf | None, list[int]]]:
    """The conditions' positions grouped: each family of two or more guards with its loosest leaf, and each
    other condition alone with None; in the order of each group's first position."""
    by_family: dict[Hashable, list[tuple[int, GuardLeaf]]] = {}
    family_of: list[Hashable | None] = []
    for position, condition in enumerate(conditions):
        guard = guard_of(condition)
        family_of.append(None if guard is None else guard.family)
        if guard is not None:
            by_family.setdefault(guard.family, []).append((position, guard.leaf))
    grouped: list[tuple[GuardLeaf | None, list[int]]] = []
    for position, family in enumerate(family_of):
        members = by_family.get(family, []) if family is not None else []
        if len(members) < 2:
            grouped.append((None, [position]))
        elif members[0][0] == position:
            grouped.append((loosest([leaf for _, leaf in members]), [member for member, _ in members]))
    return grouped
