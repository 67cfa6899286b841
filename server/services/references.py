"""The checks before a persona, an audience or an attribute definition is deleted: refused with
FAILED_PRECONDITION (PERSONA_IN_USE, AUDIENCE_IN_USE, ATTRIBUTE_IN_USE) while a live definition names
it, the metadata naming the users kind by kind (docs/personas.md, "What a delete checks").

Each check first holds the row it is about to delete, then reads the users, inside the delete's unit of
work: a save that holds the rows it names (hold_named) is then ordered with the delete, whichever comes
first. Audiences' saves hold every audience, and so does a persona's or an audience's delete."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from server.domain.engagement.audience import CampaignAudience
from server.domain.errors import not_found
from server.domain.journeys.model import PERSONA_PREFIX
from server.domain.reasons import Reason
from server.domain.references import (
    condition_attributes,
    expression_attributes,
    journey_names,
    message_personas,
    refuse_if_used,
    terms_names,
)
from server.domain.segments.attributes import AttributeCatalogue
from server.domain.triggers.offers import TargetKind
from server.domain.triggers.rules import AudienceKind
from server.store.uow import UnitOfWork


async def hold_named(uow: UnitOfWork, *, personas: Iterable[str] = (), audiences: Iterable[str] = (),
                     attributes: Iterable[str] = ()) -> None:
    """For a save naming these personas, audiences and custom attributes (checked to exist): holds their
    rows until the transaction ends, so a delete of one waits for the save and then sees it, or the
    save waits for the delete and answers NOT_FOUND for what it took away. Always in this order
    (personas, audiences, attributes; each sorted), so that two saves cannot wait for each other."""
    for persona_id in sorted(set(personas)):
        if not await uow.references.hold_persona(persona_id):
            raise not_found("persona", persona_id)
    for audience_id in sorted(set(audiences)):
        if not await uow.references.hold_audience(audience_id):
            raise not_found("audience", audience_id)
    for name in sorted(set(attributes)):
        if not await uow.references.hold_attribute(name):
            raise not_found("attribute_definition", name)


async def refuse_persona_delete(uow: UnitOfWork, persona_id: str) -> None:
    """PERSONA_IN_USE while an audience, a journey, a template or event message, an open campaign, a
    trigger rule not archived, an offer recommendation or a product version not retired names it."""
    await uow.audiences.hold_all()
    if not await uow.references.hold_persona(persona_id):
        return  # no such persona: the delete answers NOT_FOUND
    users: dict[str, list[str]] = defaultdict(list)
    users["audiences"] = [a for a, d in (await uow.audiences.definitions()).items()
                          if any(p.kind == "personas" and p.id == persona_id for p in d.parts())]
    custom = list(await uow.attribute_definitions.all())
    persona_ids = [p.persona_id for p in await uow.personas.all()]
    for version in await uow.references.journey_versions():
        if PERSONA_PREFIX + persona_id in journey_names(version.definition, custom, persona_ids):
            users["journeys"].append(version.journey_id)
    for template_id, content, variants in await uow.references.templates():
        if persona_id in message_personas(content, variants, persona_ids):
            users["templates"].append(template_id)
    for event_id, messages in await uow.references.event_messages():
        if any(persona_id in message_personas(m.content, m.variants, persona_ids) for m in messages):
            users["events"].append(event_id)
    users["campaigns"] = await _campaigns(uow, lambda a: a.persona_id == persona_id)
    users["trigger_rules"] = [rule_id for rule_id, audience, _ in await uow.references.trigger_rules()
                              if audience.kind is AudienceKind.PERSONA and audience.reference_id == persona_id]
    users["offer_recommendations"] = [
        r.recommendation_id for r in await uow.offer_recommendations.all()
        if r.target.kind is TargetKind.PERSONA and r.target.id == persona_id]
    users["products"] = [f"{product_id}/versions/{number}" for product_id, number, terms
                         in await uow.references.product_terms() if persona_id in terms_names(terms)[0]]
    refuse_if_used(Reason.PERSONA_IN_USE, "persona", persona_id, users)


async def refuse_audience_delete(uow: UnitOfWork, audience_id: str) -> None:
    """AUDIENCE_IN_USE while another audience, an open campaign, a trigger rule not archived or an offer
    recommendation names it (journeys and products name personas, never audiences)."""
    await uow.audiences.hold_all()
    users: dict[str, list[str]] = defaultdict(list)
    users["audiences"] = [a for a, d in (await uow.audiences.definitions()).items()
                          if any(p.kind == "audiences" and p.id == audience_id for p in d.parts())]
    users["campaigns"] = await _campaigns(uow, lambda a: a.audience_id == audience_id)
    users["trigger_rules"] = [rule_id for rule_id, audience, _ in await uow.references.trigger_rules()
                              if audience.kind is AudienceKind.AUDIENCE and audience.reference_id == audience_id]
    users["offer_recommendations"] = [
        r.recommendation_id for r in await uow.offer_recommendations.all()
        if r.target.kind is TargetKind.AUDIENCE and r.target.id == audience_id]
    refuse_if_used(Reason.AUDIENCE_IN_USE, "audience", audience_id, users)


async def refuse_attribute_delete(uow: UnitOfWork, name: str) -> None:
    """ATTRIBUTE_IN_USE while a persona's expression, a journey (its rules or what its steps capture), a
    trigger rule's condition not archived, an offer recommendation's criteria or a product version not
    retired names the attribute."""
    if not await uow.references.hold_attribute(name):
        return  # no such attribute: the delete answers NOT_FOUND
    custom = list(await uow.attribute_definitions.all())
    catalogue = AttributeCatalogue.of(custom)
    personas = await uow.personas.all()
    users: dict[str, list[str]] = defaultdict(list)
    users["personas"] = [p.persona_id for p in personas if name in expression_attributes(p.expression, catalogue)]
    persona_ids = [p.persona_id for p in personas]
    for version in await uow.references.journey_versions():
        if name in journey_names(version.definition, custom, persona_ids):
            users["journeys"].append(version.journey_id)
    users["trigger_rules"] = [rule_id for rule_id, _, condition in await uow.references.trigger_rules()
                              if name in condition_attributes(condition, catalogue)]
    users["offer_recommendations"] = [r.recommendation_id for r in await uow.offer_recommendations.all()
                                      if name in expression_attributes(r.criteria, catalogue)]
    users["products"] = [f"{product_id}/versions/{number}" for product_id, number, terms
                         in await uow.references.product_terms() if name in terms_names(terms)[1]]
    refuse_if_used(Reason.ATTRIBUTE_IN_USE, "attribute", name, users)


async def _campaigns(uow: UnitOfWork, targets: Callable[[CampaignAudience], bool]) -> list[str]:
    return [campaign_id for campaign_id, audience in await uow.references.open_campaigns() if targets(audience)]
