"""A journey's definition as the bank saves it: steps, the data each captures, ordered flow-control
rules with a default route, end steps; and an instance of one version for one customer."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field

from server.domain.segments.attributes import AttributeDefinition, AttributeValue

JOURNEY_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_STEPS = 100
MAX_RULES_PER_STEP = 50
MAX_CAPTURES_PER_STEP = 50
MAX_FIELDS = 100
MAX_DISPLAY_NAME = 200
# A persona's membership reads in a rule as a BOOL named after it: `persona_globetrotter`.
PERSONA_PREFIX = "persona_"


@dataclass(frozen=True)
class Route:
    """Where a rule or a step's default leads: a step of the same journey, or another journey (its
    latest version, from its first step). Exactly one of the two."""

    step: str | None = None
    journey: str | None = None

    def __str__(self) -> str:
        return f"step {self.step}" if self.step is not None else f"journey {self.journey}"


@dataclass(frozen=True)
class FlowRule:
    expression: str  # canonical text once saved
    route: Route


@dataclass(frozen=True)
class Step:
    """`captures` names the data the customer gives on this step: the bank's custom attributes (written
    to the customer) or the journey's own fields (kept on the instance). An end step captures nothing
    and routes nowhere; every other step has a default route, taken when no rule holds."""

    step_id: str
    title: str = ""
    captures: tuple[str, ...] = ()
    rules: tuple[FlowRule, ...] = ()
    default_route: Route | None = None
    end: bool = False


@dataclass(frozen=True)
class JourneyDefinition:
    """What one version holds. The first step is where an instance starts. `fields` are the typed
    data the journey captures that are not customer attributes (e.g. the loan amount asked)."""

    display_name: str
    steps: tuple[Step, ...]
    fields: tuple[AttributeDefinition, ...] = ()

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.step_id == step_id)


@dataclass(frozen=True)
class JourneyVersion:
    journey_id: str
    version: int
    definition: JourneyDefinition
    created_at: dt.datetime


class InstanceState(enum.StrEnum):
    ACTIVE = "ACTIVE"  # waiting for the current step's answers
    COMPLETED = "COMPLETED"  # reached an end step
    HANDED_OFF = "HANDED_OFF"  # a route led to another journey; `handed_to` is that instance


@dataclass(frozen=True)
class JourneyInstance:
    instance_id: str
    customer_id: str
    journey_id: str
    version: int  # an instance stays on the version it started on
    current_step: str
    state: InstanceState
    captured: dict[str, AttributeValue] = field(default_factory=dict)
    handed_to: str | None = None
    started_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class RecordedRoute:
    """One route an instance took, for reporting: which rule chose it (None: the default route)."""

    sequence: int
    from_step: str
    rule_index: int | None
    rule_expression: str
    route: Route
    handed_to: str | None
    taken_at: dt.datetime
