"""The checks a journey's definition gets when saved: names and limits, routes that lead somewhere
known, every rule's expression parsed (with its position) against the attributes it may read, and the
graph: every step reachable from the first, and an end reachable from every step (a loop no rule can
leave is refused, naming its steps).

The graph check is structural: a route counts as leaving a loop whatever its condition. Whether a
condition can ever hold is not decided; an instance moves one step per answer, so a loop whose exits
never hold keeps asking the customer, it never spins on its own."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import replace

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.journeys.model import (
    JOURNEY_ID,
    MAX_CAPTURES_PER_STEP,
    MAX_DISPLAY_NAME,
    MAX_FIELDS,
    MAX_RULES_PER_STEP,
    MAX_STEPS,
    PERSONA_PREFIX,
    STEP_ID,
    FlowRule,
    JourneyDefinition,
    Route,
    Step,
)
from server.domain.reasons import Reason
from server.domain.segments.attributes import (
    BUILT_IN_ATTRIBUTES,
    AttributeCatalogue,
    AttributeDefinition,
    AttributeType,
)
from server.domain.segments.expression import Expression, render
from server.domain.segments.parser import parse_expression

MAX_NAMED_STEPS = 20  # in one error's message and metadata


class Problem(enum.StrEnum):
    """Why a definition was refused: `ErrorInfo.metadata["problem"]` of JOURNEY_INVALID."""

    INVALID_ID = "INVALID_ID"
    DISPLAY_NAME = "DISPLAY_NAME"
    TOO_MANY = "TOO_MANY"
    NO_STEPS = "NO_STEPS"
    DUPLICATE_STEP = "DUPLICATE_STEP"
    FIELD_INVALID = "FIELD_INVALID"
    UNKNOWN_CAPTURE = "UNKNOWN_CAPTURE"
    ROUTE_INVALID = "ROUTE_INVALID"
    UNKNOWN_STEP = "UNKNOWN_STEP"
    UNKNOWN_JOURNEY = "UNKNOWN_JOURNEY"
    END_STEP = "END_STEP"
    NO_DEFAULT_ROUTE = "NO_DEFAULT_ROUTE"
    NO_END = "NO_END"
    UNREACHABLE_STEP = "UNREACHABLE_STEP"


def journey_error(problem: Problem, field: str, message: str, steps: Iterable[str] = ()) -> InvalidArgument:
    named = list(steps)[:MAX_NAMED_STEPS]
    metadata = {"problem": problem.value}
    if named:
        metadata["steps"] = ",".join(named)
    return InvalidArgument(Reason.JOURNEY_INVALID, message, violations=[FieldViolation(field, message)],
                           metadata=metadata)


def persona_flags(persona_ids: Iterable[str], taken: Iterable[str]) -> list[AttributeDefinition]:
    """A BOOL per persona, `persona_<id>`, true for its members; an attribute of that name wins."""
    names = set(taken)
    return [AttributeDefinition(PERSONA_PREFIX + p, AttributeType.BOOL, default=False,
                                description=f"a member of persona {p}")
            for p in sorted(persona_ids) if PERSONA_PREFIX + p not in names]


def check_journey_id(journey_id: str) -> None:
    if not JOURNEY_ID.match(journey_id):
        raise journey_error(Problem.INVALID_ID, "journey_id",
                            "a journey id is a lower-case letter, then up to 39 lower-case letters, digits or _")


def check_definition(journey_id: str, definition: JourneyDefinition, custom: Iterable[AttributeDefinition],
                     persona_ids: Iterable[str], known_journeys: Iterable[str]) -> JourneyDefinition:
    """The definition with its expressions in canonical text, or JOURNEY_INVALID (or
    SEGMENT_EXPRESSION_INVALID at a rule) naming the field and, for the graph, the steps."""
    custom = list(custom)
    if not definition.display_name.strip() or len(definition.display_name) > MAX_DISPLAY_NAME:
        raise journey_error(Problem.DISPLAY_NAME, "journey.display_name",
                            f"a display name is required, at most {MAX_DISPLAY_NAME} characters")
    _check_fields(definition, custom)
    steps = definition.steps
    if not steps:
        raise journey_error(Problem.NO_STEPS, "journey.steps", "a journey needs at least one step")
    if len(steps) > MAX_STEPS:
        raise journey_error(Problem.TOO_MANY, "journey.steps", f"a journey has at most {MAX_STEPS} steps")
    ids = [s.step_id for s in steps]
    for index, step in enumerate(steps):
        if not STEP_ID.match(step.step_id):
            raise journey_error(Problem.INVALID_ID, f"journey.steps[{index}].id",
                                "a step id is a lower-case letter, then up to 39 lower-case letters, digits or _")
        if ids.index(step.step_id) != index:
            raise journey_error(Problem.DUPLICATE_STEP, f"journey.steps[{index}].id",
                                f"step {step.step_id} is defined twice", [step.step_id])
    capturable = {d.name for d in custom} | {f.name for f in definition.fields}
    others = set(known_journeys) - {journey_id}
    for index, step in enumerate(steps):
        _check_step(index, step, set(ids), capturable, others, journey_id)
    _check_graph(steps)
    return _canonical(definition, custom, persona_ids)


def _check_fields(definition: JourneyDefinition, custom: list[AttributeDefinition]) -> None:
    if len(definition.fields) > MAX_FIELDS:
        raise journey_error(Problem.TOO_MANY, "journey.fields", f"a journey has at most {MAX_FIELDS} fields")
    taken = {d.name for d in (*BUILT_IN_ATTRIBUTES, *custom)}
    seen: set[str] = set()
    for index, field in enumerate(definition.fields):
        if field.name in taken or field.name.startswith(PERSONA_PREFIX) or field.name in seen:
            raise journey_error(Problem.FIELD_INVALID, f"journey.fields[{index}].name",
                                f"field {field.name} is named twice, or as an attribute or a persona "
                                f"({PERSONA_PREFIX}…): a step captures an attribute by its own name")
        seen.add(field.name)


def _check_route(route: Route | None, field: str, step_ids: set[str], journeys: set[str], own: str) -> None:
    if route is None or (route.step is None) == (route.journey is None):
        raise journey_error(Problem.ROUTE_INVALID, field, "a route names either a step or a journey")
    if route.step is not None and route.step not in step_ids:
        raise journey_error(Problem.UNKNOWN_STEP, field, f"no step {route.step[:40]!r} in this journey")
    if route.journey is not None and route.journey not in journeys:
        why = " (route to a step of its own instead)" if route.journey == own else ""
        raise journey_error(Problem.UNKNOWN_JOURNEY, field, f"no journey {route.journey[:40]!r}{why}")


def _check_step(index: int, step: Step, step_ids: set[str], capturable: set[str], journeys: set[str],
                own: str) -> None:
    where = f"journey.steps[{index}]"
    if len(step.title) > MAX_DISPLAY_NAME:
        raise journey_error(Problem.DISPLAY_NAME, f"{where}.title", f"a title is at most {MAX_DISPLAY_NAME} characters")
    if step.end:
        if step.captures or step.rules or step.default_route is not None:
            raise journey_error(Problem.END_STEP, where, f"end step {step.step_id} captures nothing and routes "
                                "nowhere", [step.step_id])
        return
    if len(step.captures) > MAX_CAPTURES_PER_STEP or len(step.rules) > MAX_RULES_PER_STEP:
        raise journey_error(Problem.TOO_MANY, where, f"a step captures at most {MAX_CAPTURES_PER_STEP} values "
                            f"and has at most {MAX_RULES_PER_STEP} rules")
    for number, name in enumerate(step.captures):
        if name not in capturable or step.captures.index(name) != number:
            raise journey_error(Problem.UNKNOWN_CAPTURE, f"{where}.captures[{number}]",
                                f"{name[:64]!r} is named twice, or is neither a custom attribute of this bank "
                                "nor a field of the journey", [step.step_id])
    for number, rule in enumerate(step.rules):
        _check_route(rule.route, f"{where}.rules[{number}].route", step_ids, journeys, own)
    if step.default_route is None:
        raise journey_error(Problem.NO_DEFAULT_ROUTE, f"{where}.default_route",
                            f"step {step.step_id} is not an end step and needs a default route", [step.step_id])
    _check_route(step.default_route, f"{where}.default_route", step_ids, journeys, own)


def successors(step: Step) -> list[str]:
    routes = [*(r.route for r in step.rules), *([step.default_route] if step.default_route else [])]
    return [r.step for r in routes if r.step is not None]


def leaves_journey(step: Step) -> bool:
    """An end step, or one with a route to another journey: an instance can finish here."""
    return step.end or any(r.journey is not None for r in (*(x.route for x in step.rules), step.default_route)
                           if r is not None)


def finishing_steps(steps: tuple[Step, ...]) -> set[str]:
    """The steps from which some route leads to an end (or out to another journey)."""
    predecessors: dict[str, set[str]] = {s.step_id: set() for s in steps}
    for step in steps:
        for target in successors(step):
            predecessors[target].add(step.step_id)
    finishing = {s.step_id for s in steps if leaves_journey(s)}
    frontier = list(finishing)
    while frontier:
        for before in predecessors[frontier.pop()]:
            if before not in finishing:
                finishing.add(before)
                frontier.append(before)
    return finishing


def reachable_steps(steps: tuple[Step, ...], start: str) -> set[str]:
    by_id = {s.step_id: s for s in steps}
    reached = {start}
    frontier = [start]
    while frontier:
        for target in successors(by_id[frontier.pop()]):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    return reached


def _check_graph(steps: tuple[Step, ...]) -> None:
    finishing = finishing_steps(steps)
    stuck = [s.step_id for s in steps if s.step_id not in finishing]
    if stuck:
        raise journey_error(Problem.NO_END, "journey.steps",
                            f"no end can be reached from steps {', '.join(stuck[:MAX_NAMED_STEPS])}: a loop no "
                            "route leaves, or a path with no end step", stuck)
    reached = reachable_steps(steps, steps[0].step_id)
    unreachable = [s.step_id for s in steps if s.step_id not in reached]
    if unreachable:
        raise journey_error(Problem.UNREACHABLE_STEP, "journey.steps",
                            f"no route from the first step reaches steps {', '.join(unreachable[:MAX_NAMED_STEPS])}",
                            unreachable)


def rule_catalogue(definition: JourneyDefinition, step: Step, custom: Iterable[AttributeDefinition],
                   persona_ids: Iterable[str]) -> AttributeCatalogue:
    """What a step's rules may name: the bank's attributes (built-in and custom), the personas as
    `persona_<id>`, and the journey fields captured by this step or by any step that can lead to it."""
    custom = list(custom)
    ancestors = {s.step_id for s in definition.steps if step.step_id in reachable_steps(definition.steps, s.step_id)}
    captured = {name for s in definition.steps if s.step_id in ancestors for name in s.captures}
    fields = [f for f in definition.fields if f.name in captured]
    taken = [d.name for d in (*BUILT_IN_ATTRIBUTES, *custom, *fields)]
    return AttributeCatalogue.of([*custom, *fields, *persona_flags(persona_ids, taken)])


def parsed_rules(definition: JourneyDefinition, custom: Iterable[AttributeDefinition],
                 persona_ids: Iterable[str]) -> Mapping[str, tuple[Expression, ...]]:
    """Every step's rules parsed, SEGMENT_EXPRESSION_INVALID naming the first rule that does not fit."""
    custom = list(custom)
    persona_ids = list(persona_ids)
    parsed: dict[str, tuple[Expression, ...]] = {}
    for index, step in enumerate(definition.steps):
        catalogue = rule_catalogue(definition, step, custom, persona_ids)
        parsed[step.step_id] = tuple(
            parse_expression(rule.expression, catalogue, field=f"journey.steps[{index}].rules[{number}].expression")
            for number, rule in enumerate(step.rules))
    return parsed


def _canonical(definition: JourneyDefinition, custom: list[AttributeDefinition],
               persona_ids: Iterable[str]) -> JourneyDefinition:
    parsed = parsed_rules(definition, custom, persona_ids)
    steps = tuple(replace(step, rules=tuple(FlowRule(render(expression), rule.route)
                                            for rule, expression in zip(step.rules, parsed[step.step_id],
                                                                        strict=True)))
                  for step in definition.steps)
    return replace(definition, steps=steps)


def new_field(name: str, type_: AttributeType, values: tuple[str, ...], index: int) -> AttributeDefinition:
    """A journey field's definition, or JOURNEY_INVALID (FIELD_INVALID) at `journey.fields[index]`."""
    try:
        return AttributeDefinition(name, type_, values)
    except ValueError as error:
        raise journey_error(Problem.FIELD_INVALID, f"journey.fields[{index}]", str(error)) from None
