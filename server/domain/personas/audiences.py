"""Audiences: personas and other audiences combined by union (ANY), intersection (ALL) and exclusion,
and the checks a definition gets before it is stored. What an audience selects is a tree whose leaves
are personas (`expand`), compiled to SQL over the kept memberships in the store."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from server.domain.personas.model import MAX_DESCRIPTION, MAX_DISPLAY_NAME, PERSONA_ID
from server.domain.reasons import Reason

MAX_PARTS = 50  # included, and excluded, personas and audiences of one audience
PART = re.compile(r"^(personas|audiences)/([a-z][a-z0-9_]{0,39})$")


class AudienceMode(StrEnum):
    ALL = "ALL"
    ANY = "ANY"


@dataclass(frozen=True)
class Part:
    """A persona or an audience an audience names."""

    kind: str  # "personas" or "audiences"
    id: str

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.id}"


@dataclass(frozen=True)
class AudienceDefinition:
    include: tuple[Part, ...]
    mode: AudienceMode
    exclude: tuple[Part, ...] = ()

    def parts(self) -> tuple[Part, ...]:
        return (*self.include, *self.exclude)


@dataclass(frozen=True)
class Audience:
    audience_id: str
    display_name: str
    description: str
    definition: AudienceDefinition
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class Selection:
    """What an audience selects, expanded down to personas: customers in ALL (or ANY) of `include` and
    in none of `exclude`. A leaf is a persona id."""

    include: tuple[Selection | str, ...]
    mode: AudienceMode
    exclude: tuple[Selection | str, ...] = ()


def _invalid(field: str, message: str) -> InvalidArgument:
    return InvalidArgument(Reason.AUDIENCE_INVALID, message, violations=[FieldViolation(field, message)])


def check_audience(audience_id: str | None, display_name: str | None, description: str | None) -> None:
    if audience_id is not None and not PERSONA_ID.match(audience_id):
        raise _invalid("audience_id", "an audience id is a lower-case letter, then up to 39 lower-case letters, "
                                      "digits or _")
    if display_name is not None and not (display_name.strip() and len(display_name) <= MAX_DISPLAY_NAME):
        raise _invalid("audience.display_name", f"a display name is required, at most {MAX_DISPLAY_NAME} characters")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise _invalid("audience.description", f"a description is at most {MAX_DESCRIPTION} characters")


def audience_definition(include: list[str], mode: AudienceMode | None, exclude: list[str]) -> AudienceDefinition:
    """The definition from a request's names, or AUDIENCE_INVALID saying which field is wrong."""
    field = "audience.definition"
    if mode is None:
        raise _invalid(f"{field}.mode", "ALL or ANY")
    if not include:
        raise _invalid(f"{field}.include", "at least one persona or audience")
    parts: dict[str, tuple[Part, ...]] = {}
    for name, names in (("include", include), ("exclude", exclude)):
        if len(names) > MAX_PARTS:
            raise _invalid(f"{field}.{name}", f"at most {MAX_PARTS}")
        found = []
        for index, text in enumerate(names):
            matched = PART.match(text)
            if matched is None:
                raise _invalid(f"{field}.{name}[{index}]", "personas/{persona} or audiences/{audience}")
            found.append(Part(matched.group(1), matched.group(2)))
        if len(set(found)) != len(found):
            raise _invalid(f"{field}.{name}", "a persona or audience is named twice")
        parts[name] = tuple(found)
    both = set(parts["include"]) & set(parts["exclude"])
    if both:
        raise _invalid(f"{field}.exclude", f"{min(p.name for p in both)} is included and excluded")
    return AudienceDefinition(parts["include"], mode, parts["exclude"])


def check_references(audience_id: str, definition: AudienceDefinition, personas: set[str],
                     audiences: Mapping[str, AudienceDefinition]) -> None:
    """Every named persona and audience exists (AUDIENCE_REFERENCE_UNKNOWN) and the audience does not
    reach itself through the audiences it names (AUDIENCE_CYCLE); `audiences` are the stored others."""
    known = {"personas": personas, "audiences": {*audiences, audience_id}}
    for part in definition.parts():
        if part.id not in known[part.kind]:
            raise FailedPrecondition(Reason.AUDIENCE_REFERENCE_UNKNOWN, f"{part.name} does not exist",
                                     metadata={"reference": part.name})
    path = _cycle(audience_id, {**audiences, audience_id: definition})
    if path:
        raise FailedPrecondition(Reason.AUDIENCE_CYCLE, "the audience names itself: " + " -> ".join(path),
                                 metadata={"cycle": ",".join(path)})


def _cycle(start: str, audiences: Mapping[str, AudienceDefinition]) -> list[str] | None:
    """The path of audience ids from `start` back to itself, if there is one (depth first)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        current, path = stack.pop()
        definition = audiences.get(current)
        if definition is None:
            continue
        for part in definition.parts():
            if part.kind != "audiences":
                continue
            if part.id == start:
                return [*path, start]
            if part.id not in seen:
                seen.add(part.id)
                stack.append((part.id, [*path, part.id]))
    return None


def expand(definition: AudienceDefinition, audiences: Mapping[str, AudienceDefinition]) -> Selection:
    """The definition with every named audience replaced by what it selects (stored definitions have no
    cycle; an audience no longer stored selects no one)."""
    def leaf(part: Part) -> Selection | str:
        if part.kind == "personas":
            return part.id
        named = audiences.get(part.id)
        return expand(named, audiences) if named is not None else Selection((), AudienceMode.ANY)

    return Selection(tuple(leaf(p) for p in definition.include), definition.mode,
                     tuple(leaf(p) for p in definition.exclude))


def of_persona(persona_id: str) -> Selection:
    return Selection((persona_id,), AudienceMode.ANY)
