"""What definitions name, for the deletes refused while they do (server.domain.references)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.domain.engagement.entities import ContentVariant
from server.domain.errors import FailedPrecondition
from server.domain.journeys.model import FlowRule, JourneyDefinition, Route, Step
from server.domain.products.conditions import InPersona, NumberIn, Rule, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.terms import ProductTerms
from server.domain.reasons import Reason
from server.domain.references import (
    condition_attributes,
    expression_attributes,
    journey_names,
    message_personas,
    refuse_if_used,
    terms_names,
)
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition, AttributeType

CUSTOM = [AttributeDefinition("IsSaver", AttributeType.BOOL), AttributeDefinition("income", AttributeType.DECIMAL)]
CATALOGUE = AttributeCatalogue.of(CUSTOM)


def test_a_message_reads_its_variants_personas_and_those_of_its_tokens():
    variants = (ContentVariant("saver", {"text": "{{ persona.student.rate }}"}),)
    content = {"subject": "Hi", "text": "{{ persona.globetrotter.offer_rate }} {{ customer.id }}"}
    assert message_personas(content, variants) == {"saver", "student", "globetrotter"}
    assert message_personas(content, variants, known={"globetrotter"}) == {"saver", "globetrotter"}
    assert message_personas({"text": "{% if %}"}, ()) == set()  # no longer parses: reads nothing


def test_nothing_named_is_no_refusal_and_a_refusal_names_users_kind_by_kind():
    refuse_if_used(Reason.PERSONA_IN_USE, "persona", "saver", {"audiences": [], "journeys": []})
    with pytest.raises(FailedPrecondition) as refused:
        refuse_if_used(Reason.PERSONA_IN_USE, "persona", "saver",
                       {"trigger_rules": ["r2", "r1", "r1"], "audiences": [f"a{i:02}" for i in range(12)]})
    assert refused.value.code == Reason.PERSONA_IN_USE
    assert refused.value.metadata == {"persona": "saver", "audiences": ",".join(f"a{i:02}" for i in range(10)),
                                      "trigger_rules": "r1,r2"}
    assert refused.value.message.startswith("persona saver is named by audiences a00, a01")
    assert refused.value.message.endswith("; trigger rules r1, r2")


def test_a_journey_names_what_its_steps_capture_and_its_rules_read():
    definition = JourneyDefinition("j", (
        Step("ask", captures=("IsSaver",), rules=(FlowRule("persona_saver AND income > 10", Route(step="done")),),
             default_route=Route(step="done")),
        Step("done", end=True)))
    assert journey_names(definition, CUSTOM, ["saver"]) == {"IsSaver", "persona_saver", "income"}
    # Stale (the persona gone): the rule reads nothing, the capture still counts.
    assert journey_names(definition, CUSTOM, []) == {"IsSaver"}


def test_conditions_criteria_and_terms_name_their_attributes():
    assert condition_attributes("balance < 50 AND (IsSaver OR income > 5)", CATALOGUE) == {"IsSaver", "income"}
    assert condition_attributes("balance <", CATALOGUE) == frozenset()
    assert expression_attributes("IsSaver AND NOT holds('LOAN')", CATALOGUE) == {"IsSaver"}
    terms = ProductTerms("EUR", Interval(Decimal(1), Decimal(2)), Interval(Decimal(6), Decimal(60)), availability=(
        Rule("a", (InPersona("saver", member=False), NumberIn("income", Interval(Decimal(5))),
                   ValueIn("IsSaver", frozenset({True})))),))
    assert terms_names(terms) == ({"saver"}, {"income", "IsSaver"})
