"""A customer's facts not read yet. The live evaluation (server.services.triggers.evaluation) reads attributes
and holdings only for the customers whose rules come to ask for them: a rule that names holds() usually has
a balance test beside it that fails at most postings, and reading every customer's holdings cost a batch more
than its rules did. A condition that reads UNREAD_FACTS raises FactsNotRead; the evaluation undoes that
account's work and evaluates the customer again once their facts are read."""

from __future__ import annotations

from collections.abc import Mapping

from server.domain.segments.attributes import AttributeValue
from server.domain.segments.evaluate import CustomerFacts


class FactsNotRead(Exception):
    """A condition read the facts of a customer whose facts were not read."""


class _UnreadFacts(CustomerFacts):
    """Holds nothing: reading either part raises."""

    def __init__(self) -> None:
        pass  # no fields to set: both are properties that raise

    @property  # a field of CustomerFacts (frozen: read-only there too)
    def attributes(self) -> Mapping[str, AttributeValue]:
        raise FactsNotRead

    @property
    def holdings(self) -> frozenset[str]:
        raise FactsNotRead

    def __repr__(self) -> str:
        return "UNREAD_FACTS"


UNREAD_FACTS: CustomerFacts = _UnreadFacts()
