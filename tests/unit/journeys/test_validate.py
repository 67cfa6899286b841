"""The checks a journey gets when saved. Random graphs: an accepted journey has every step reachable
from the first and an end reachable from every step; a refused one names exactly the steps at fault
(computed here by a closure independent of the validator's search)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.journeys.model import FlowRule, JourneyDefinition, Route, Step
from server.domain.journeys.validate import check_definition
from server.domain.segments.attributes import AttributeDefinition, AttributeType

INCOME = AttributeDefinition("income", AttributeType.DECIMAL)
GLOBETROTTER = AttributeDefinition("IsGlobetrotter", AttributeType.BOOL, default=False)
CUSTOM = [INCOME, GLOBETROTTER]
AMOUNT = AttributeDefinition("loan_amount", AttributeType.DECIMAL)


def refusal(definition: JourneyDefinition, journeys: tuple[str, ...] = ("other",),
            personas: tuple[str, ...] = ("globetrotter",)) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        check_definition("loans", definition, CUSTOM, personas, journeys)
    return raised.value


@st.composite
def journeys(draw: st.DrawFn) -> JourneyDefinition:
    count = draw(st.integers(1, 7))
    ids = [f"s{i}" for i in range(count)]
    targets = st.one_of(st.sampled_from(ids).map(lambda s: Route(step=s)), st.just(Route(journey="other")))
    steps = []
    for step_id in ids:
        if draw(st.integers(0, 4)) == 0:
            steps.append(Step(step_id, end=True))
            continue
        rules = draw(st.lists(targets, max_size=3))
        steps.append(Step(step_id, rules=tuple(FlowRule("income > 10", r) for r in rules),
                          default_route=draw(targets)))
    return JourneyDefinition("random", tuple(steps))


def closure(definition: JourneyDefinition) -> dict[str, set[str]]:
    """step -> every step reachable from it in one or more routes (repeated until nothing changes)."""
    reach = {s.step_id: {r.step for r in (*(x.route for x in s.rules), s.default_route)
                         if r is not None and r.step is not None} for s in definition.steps}
    changed = True
    while changed:
        changed = False
        for reached in reach.values():
            more = set().union(*(reach[r] for r in reached)) - reached
            if more:
                reached |= more
                changed = True
    return reach


def can_finish(step: Step) -> bool:
    return step.end or any(r is not None and r.journey is not None
                           for r in (*(x.route for x in step.rules), step.default_route))


@settings(max_examples=400)
@given(journeys())
def test_accepted_graphs_reach_an_end_from_every_step_and_refused_ones_name_the_culprits(
        definition: JourneyDefinition) -> None:
    by_id = {s.step_id: s for s in definition.steps}
    reach = closure(definition)
    stuck = [s.step_id for s in definition.steps
             if not can_finish(s) and not any(can_finish(by_id[r]) for r in reach[s.step_id])]
    first = definition.steps[0].step_id
    unreachable = [s for s in by_id if s != first and s not in reach[first]]
    try:
        check_definition("loans", definition, CUSTOM, [], ["other"])
    except InvalidArgument as error:
        problem, named = error.metadata["problem"], error.metadata["steps"].split(",")
        if stuck:
            assert (problem, named) == ("NO_END", stuck)
        else:
            assert (problem, named) == ("UNREACHABLE_STEP", unreachable)
        return
    assert not stuck and not unreachable


def test_a_loop_no_rule_leaves_is_refused_naming_its_steps() -> None:
    looping = JourneyDefinition("loops", (
        Step("ask", default_route=Route(step="check")),
        Step("check", rules=(FlowRule("income > 100", Route(step="ask")),), default_route=Route(step="ask")),
        Step("done", end=True)))
    error = refusal(looping)
    assert (error.metadata["problem"], error.metadata["steps"]) == ("NO_END", "ask,check")
    assert error.violations[0].field == "journey.steps"


def test_rules_read_attributes_personas_and_data_captured_on_the_way() -> None:
    definition = JourneyDefinition("loans", (
        Step("applicant", captures=("IsGlobetrotter",), default_route=Route(step="amount"),
             rules=(FlowRule("IsGlobetrotter", Route(journey="other")),)),
        Step("amount", captures=("loan_amount",), default_route=Route(step="done"), rules=(
            FlowRule("persona_globetrotter and income>5000 and loan_amount>10000", Route(step="done")),)),
        Step("done", end=True)), fields=(AMOUNT,))
    saved = check_definition("loans", definition, CUSTOM, ["globetrotter"], ["other"])
    assert [r.expression for r in saved.steps[1].rules] == [
        "persona_globetrotter = true AND income > 5000 AND loan_amount > 10000"]
    assert saved.steps[0].rules[0].expression == "IsGlobetrotter = true"

    # loan_amount is captured after the first step: its rules cannot read it.
    early = JourneyDefinition("loans", (
        Step("applicant", default_route=Route(step="amount"),
             rules=(FlowRule("loan_amount > 5", Route(step="done")),)),
        Step("amount", captures=("loan_amount",), default_route=Route(step="done")),
        Step("done", end=True)), fields=(AMOUNT,))
    error = refusal(early)
    assert error.code == "SEGMENT_EXPRESSION_INVALID"
    assert error.violations[0].field == "journey.steps[0].rules[0].expression"
    assert error.metadata["problem"] == "UNKNOWN_ATTRIBUTE" and error.metadata["column"] == "1"


@pytest.mark.parametrize(("steps", "fields", "problem", "field"), [
    ((Step("a", default_route=Route(step="zz")),), (), "UNKNOWN_STEP", "journey.steps[0].default_route"),
    ((Step("a", default_route=Route(journey="missing")),), (), "UNKNOWN_JOURNEY", "journey.steps[0].default_route"),
    ((Step("a", default_route=Route(journey="loans")),), (), "UNKNOWN_JOURNEY", "journey.steps[0].default_route"),
    ((Step("a"),), (), "NO_DEFAULT_ROUTE", "journey.steps[0].default_route"),
    ((Step("a", default_route=Route()),), (), "ROUTE_INVALID", "journey.steps[0].default_route"),
    ((Step("a", end=True, captures=("income",)),), (), "END_STEP", "journey.steps[0]"),
    ((Step("a", captures=("age",), default_route=Route(step="b")), Step("b", end=True)), (),
     "UNKNOWN_CAPTURE", "journey.steps[0].captures[0]"),
    ((Step("a", end=True), Step("a", end=True)), (), "DUPLICATE_STEP", "journey.steps[1].id"),
    ((Step("A", end=True),), (), "INVALID_ID", "journey.steps[0].id"),
    ((), (), "NO_STEPS", "journey.steps"),
    ((Step("a", end=True),), (AttributeDefinition("income", AttributeType.INT),), "FIELD_INVALID",
     "journey.fields[0].name"),
    ((Step("a", end=True),), (AttributeDefinition("persona_x", AttributeType.INT),), "FIELD_INVALID",
     "journey.fields[0].name"),
])
def test_refusals_name_the_field_at_fault(steps: tuple[Step, ...], fields: tuple[AttributeDefinition, ...],
                                          problem: str, field: str) -> None:
    error = refusal(JourneyDefinition("loans", steps, fields))
    assert (error.code, error.metadata["problem"], error.violations[0].field) == ("JOURNEY_INVALID", problem, field)
