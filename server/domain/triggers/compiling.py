"""What both evaluations of a condition at a posting share (evaluate's in Decimals, scaled_evaluate's in
whole ten-thousandths): AND / OR / NOT and the customer's segment leaves composed into closures, with the
metric, change and posting leaves compiled by the caller; and the cache that compiles each condition
object once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from server.domain.segments.evaluate import CustomerFacts
from server.domain.segments.evaluate import evaluate as holds_for_customer
from server.domain.segments.expression import Holds
from server.domain.triggers.condition import AllOf, AnyOf, Condition, Negation, SegmentLeaf

MOST_PROGRAMS = 10_000  # many more live rule versions than any tenant set holds: start afresh


class WithFacts(Protocol):
    """What a compiled condition runs on: one account at one posting, with its customer's facts."""

    @property
    def facts(self) -> CustomerFacts: ...


Subject = TypeVar("Subject", bound=WithFacts)


def composed(condition: Condition, leaf: Callable[[Condition], Callable[[Subject], bool]]
             ) -> Callable[[Subject], bool]:
    """The condition as one closure: AND and OR stop at the first part that decides; `leaf` compiles the
    metric, change and posting comparisons."""
    if isinstance(condition, AllOf):
        parts = tuple(composed(part, leaf) for part in condition.parts)
        if len(parts) == 2:  # the usual AND, without the loop (every rule runs at every posting)
            first, second = parts
            return lambda subject: first(subject) and second(subject)

        def all_of(subject: Subject) -> bool:
            for part in parts:
                if not part(subject):
                    return False
            return True
        return all_of
    if isinstance(condition, AnyOf):
        options = tuple(composed(part, leaf) for part in condition.parts)

        def any_of(subject: Subject) -> bool:
            for option in options:
                if option(subject):
                    return True
            return False
        return any_of
    if isinstance(condition, Negation):
        part = condition.part
        if isinstance(part, SegmentLeaf) and isinstance(part.expression, Holds):  # NOT holds(...), in one call
            kind = part.expression.kind
            return lambda subject: kind not in subject.facts.holdings
        inner = composed(part, leaf)
        return lambda subject: not inner(subject)
    if isinstance(condition, SegmentLeaf):
        expression = condition.expression
        if isinstance(expression, Holds):  # what holds_for_customer does for it, without its dispatch
            kind = expression.kind
            return lambda subject: kind in subject.facts.holdings
        return lambda subject: holds_for_customer(expression, subject.facts)
    return leaf(condition)


Program = TypeVar("Program")


class Programs(Generic[Program]):
    """Each condition object compiled once and kept (by its id; the entry keeps the object, so the id
    stays its own), started afresh past MOST_PROGRAMS."""

    def __init__(self, compile_condition: Callable[[Condition], Program]) -> None:
        self._compile = compile_condition
        self._known: dict[int, tuple[Condition, Program]] = {}

    def __call__(self, condition: Condition) -> Program:
        known = self._known.get(id(condition))
        if known is not None and known[0] is condition:
            return known[1]
        if len(self._known) >= MOST_PROGRAMS:
            self._known.clear()
        program = self._compile(condition)
        self._known[id(condition)] = (condition, program)
        return program
