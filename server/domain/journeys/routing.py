"""Answering a step and choosing where it leads: pure functions of the definition, the customer's facts
and the data captured so far."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.journeys.model import PERSONA_PREFIX, JourneyDefinition, Route, Step
from server.domain.personas.model import MAX_STRING_VALUE
from server.domain.reasons import Reason
from server.domain.segments.attributes import AttributeDefinition, AttributeType, AttributeValue, value_to_text
from server.domain.segments.evaluate import CustomerFacts, evaluate
from server.domain.segments.expression import Expression


@dataclass(frozen=True)
class Decision:
    """The route taken and the rule that chose it (`rule_index` None: no rule held, the default)."""

    route: Route
    rule_index: int | None
    rule_expression: str


def _answer_error(field: str, message: str) -> InvalidArgument:
    return InvalidArgument(Reason.JOURNEY_ANSWER_INVALID, f"{field}: {message}",
                           violations=[FieldViolation(f"values[{field}]", message)], metadata={"field": field})


def check_answers(step: Step, definitions: Mapping[str, AttributeDefinition],
                  values: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    """The step's answers: every value it captures, each of its definition's type (a journey field's
    or the customer attribute's), and nothing else. JOURNEY_ANSWER_INVALID names the field."""
    for name in values:
        if name not in step.captures:
            raise _answer_error(name[:64], f"step {step.step_id} does not capture {name[:64]!r} "
                                f"(it captures {', '.join(step.captures) or 'nothing'})")
    for name in step.captures:
        if name not in values:
            raise _answer_error(name, f"step {step.step_id} needs a value of {name}")
        definition = definitions[name]
        value = values[name]
        if not definition.accepts(value) or (isinstance(value, str) and len(value) > MAX_STRING_VALUE):
            expected = f"one of {', '.join(definition.values)}" if definition.type is AttributeType.ENUM \
                else f"a {definition.type} value"
            raise _answer_error(name, f"{name} is {definition.type}: {value_to_text(value)[:40]!r} is not {expected}")
    return {name: values[name] for name in step.captures}


def journey_facts(customer: CustomerFacts, captured: Mapping[str, AttributeValue],
                  memberships: Mapping[str, bool]) -> CustomerFacts:
    """What a rule reads: the customer's own values, overlaid by the data captured so far, and a
    `persona_<id>` BOOL per persona."""
    attributes = {**customer.attributes, **captured,
                  **{PERSONA_PREFIX + persona: member for persona, member in memberships.items()}}
    return CustomerFacts(attributes, customer.holdings)


def choose_route(step: Step, expressions: Sequence[Expression], facts: CustomerFacts) -> Decision:
    """The first rule, in order, whose expression holds; else the step's default route."""
    for index, (rule, expression) in enumerate(zip(step.rules, expressions, strict=True)):
        if evaluate(expression, facts):
            return Decision(rule.route, index, rule.expression)
    if step.default_route is None:
        raise ValueError(f"end step {step.step_id} routes nowhere")
    return Decision(step.default_route, None, "")


def field_definitions(definition: JourneyDefinition, custom: Sequence[AttributeDefinition]
                      ) -> dict[str, AttributeDefinition]:
    """The type of everything a step may capture: custom attributes and the journey's own fields."""
    return {**{d.name: d for d in custom}, **{f.name: f for f in definition.fields}}
