"""What live definitions name, for the deletes refused while something names what they would delete
(server.services.references): the personas a message's content reads, and the refusal itself, naming
the users kind by kind (docs/personas.md, "What a delete checks")."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from jinja2 import TemplateSyntaxError

from server.domain.engagement.entities import ContentVariant
from server.domain.engagement.templates import find_tokens
from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.journeys.model import JourneyDefinition
from server.domain.journeys.validate import rule_catalogue
from server.domain.products.conditions import InPersona, NumberIn, ValueIn
from server.domain.products.terms import ProductTerms
from server.domain.reasons import Reason
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition
from server.domain.segments.expression import attributes_named
from server.domain.segments.parser import parse_expression
from server.domain.triggers.condition import SegmentLeaf, leaves
from server.domain.triggers.parser import parse_condition

MAX_NAMED = 10  # users listed per kind, in the message and in the metadata

# The kinds of users, as the refusal's metadata keys, in the order its message lists them.
USER_KINDS = ("personas", "audiences", "journeys", "templates", "events", "campaigns", "trigger_rules",
              "offer_recommendations", "products")


def message_personas(content: Mapping[str, str], variants: Iterable[ContentVariant],
                     known: Collection[str] | None = None) -> set[str]:
    """The personas a message reads: its variants' and those whose tokens (`{{ persona.<id>.<token> }}`)
    its default content or a variant's content reads; of the tokens, only `known` personas' when given
    (a loop variable may be called `persona` too)."""
    variants = tuple(variants)
    named = {v.persona_id for v in variants}
    for parts in (content, *(v.content for v in variants)):
        for source in parts.values():
            try:
                tokens = find_tokens(source)
            except TemplateSyntaxError:  # checked when saved; content that no longer parses reads nothing
                continue
            read = {t.split(".")[1] for t in tokens if t.startswith("persona.")}
            named |= read if known is None else read & set(known)
    return named


def refuse_if_used(reason: Reason, kind: str, key: str, users: Mapping[str, Collection[str]]) -> None:
    """FAILED_PRECONDITION `reason` when any user names `key`; metadata `kind` is `key` and, per kind of
    user (USER_KINDS), the first MAX_NAMED of them comma-separated."""
    named = {k: sorted(set(users[k]))[:MAX_NAMED] for k in USER_KINDS if users.get(k)}
    if not named:
        return
    listed = "; ".join(f"{k.replace('_', ' ')} {', '.join(ids)}" for k, ids in named.items())
    raise FailedPrecondition(reason, f"{kind} {key} is named by {listed}",
                             metadata={kind: key, **{k: ",".join(ids) for k, ids in named.items()}})


def journey_names(definition: JourneyDefinition, custom: Sequence[AttributeDefinition],
                  persona_ids: Collection[str]) -> frozenset[str]:
    """The names a journey version reads: what its steps capture, the attributes its rules read and, as
    `persona_<id>`, the personas. A rule that no longer parses (the version is stale) reads nothing."""
    named: set[str] = set()
    for step in definition.steps:
        named |= set(step.captures)
        catalogue = rule_catalogue(definition, step, custom, persona_ids)
        for rule in step.rules:
            try:
                named |= attributes_named(parse_expression(rule.expression, catalogue))
            except InvalidArgument:
                continue
    return frozenset(named)


def condition_attributes(condition: str, catalogue: AttributeCatalogue) -> frozenset[str]:
    """The attributes a trigger rule's condition reads in its segment conditions; nothing when the
    condition no longer parses."""
    try:
        parsed = parse_condition(condition, catalogue)
    except InvalidArgument:
        return frozenset()
    return frozenset().union(*(attributes_named(leaf.expression) for leaf in leaves(parsed)
                               if isinstance(leaf, SegmentLeaf)))


def expression_attributes(expression: str, catalogue: AttributeCatalogue) -> frozenset[str]:
    """The attributes a segment expression (a persona's, an offer's criteria) reads; nothing when it no
    longer parses."""
    try:
        return attributes_named(parse_expression(expression, catalogue))
    except InvalidArgument:
        return frozenset()


def terms_names(terms: ProductTerms) -> tuple[frozenset[str], frozenset[str]]:
    """(personas, attributes) a product version's conditions test."""
    personas: set[str] = set()
    attributes: set[str] = set()
    for condition in terms.all_conditions():
        if isinstance(condition, InPersona):
            personas.add(condition.persona_id)
        elif isinstance(condition, NumberIn | ValueIn):
            attributes.add(condition.attribute)
    return frozenset(personas), frozenset(attributes)
