"""The definitions that may name a persona, an audience or an attribute, read for the deletes refused
while one does (server.services.references). Only live ones: trigger rules not ARCHIVED, campaigns not
finished, product versions not RETIRED, and each journey at its latest version and at every version an
instance is still on."""

from __future__ import annotations

from sqlalchemy import func, select, tuple_

from server.domain.engagement.audience import CampaignAudience
from server.domain.engagement.entities import CampaignState, ContentVariant, EventMessage
from server.domain.journeys.model import InstanceState, JourneyVersion
from server.domain.products.codec import terms_from_json
from server.domain.products.terms import ProductTerms
from server.domain.products.versions import VersionStatus
from server.domain.triggers.rules import Audience, RuleStatus
from server.domain.triggers.rules_codec import audience_from_json
from server.store.audiences_models import AudienceRow
from server.store.engagement_models import CampaignRow, EventRow, TemplateRow
from server.store.engagement_policies import audience_from_json as campaign_audience_from_json
from server.store.journeys_models import JourneyInstanceRow, JourneyVersionRow
from server.store.personas_models import AttributeDefinitionRow, PersonaRow
from server.store.products_models import ProductVersionRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.engagement_setup import event_from_row, variants_from_json
from server.store.repositories.journeys import definition_from_json
from server.store.triggers_models import TriggerRuleRow

OPEN_CAMPAIGNS = (CampaignState.PENDING_APPROVAL, CampaignState.SCHEDULED, CampaignState.RUNNING)


class ReferencesRepository(TenantRepository):
    async def hold_persona(self, persona_id: str) -> bool:
        """Holds the persona's row until the transaction ends; False when there is none. A save that
        names the persona and holds it too (server.services.references.hold_named) then waits for the
        delete, and finds the persona gone; or the delete waits for the save, and sees its user."""
        return await self.hold_row(PersonaRow.persona_id, persona_id)

    async def hold_audience(self, audience_id: str) -> bool:
        return await self.hold_row(AudienceRow.audience_id, audience_id)

    async def hold_attribute(self, name: str) -> bool:
        return await self.hold_row(AttributeDefinitionRow.name, name)

    async def trigger_rules(self) -> list[tuple[str, Audience, str]]:
        """(rule id, audience, condition text) of every rule not ARCHIVED."""
        rows = await self.session.execute(
            select(TriggerRuleRow.rule_id, TriggerRuleRow.audience, TriggerRuleRow.condition).where(
                TriggerRuleRow.tenant_id == self.tenant_id, TriggerRuleRow.status != RuleStatus.ARCHIVED.value))
        return [(r.rule_id, audience_from_json(r.audience), r.condition) for r in rows]

    async def open_campaigns(self) -> list[tuple[str, CampaignAudience]]:
        """(campaign id, audience) of every campaign still waiting, scheduled or running."""
        rows = await self.session.execute(select(CampaignRow.campaign_id, CampaignRow.audience).where(
            CampaignRow.tenant_id == self.tenant_id, CampaignRow.state.in_([s.value for s in OPEN_CAMPAIGNS])))
        return [(r.campaign_id, campaign_audience_from_json(r.audience)) for r in rows]

    async def product_terms(self) -> list[tuple[str, int, ProductTerms]]:
        """(product id, version number, terms) of every version not RETIRED."""
        rows = await self.session.execute(
            select(ProductVersionRow.product_id, ProductVersionRow.number, ProductVersionRow.terms).where(
                ProductVersionRow.tenant_id == self.tenant_id,
                ProductVersionRow.status != VersionStatus.RETIRED.value))
        return [(r.product_id, r.number, terms_from_json(r.terms)) for r in rows]

    async def journey_versions(self) -> list[JourneyVersion]:
        """Each journey's latest version and every version an ACTIVE instance is on."""
        wanted = set(await self.session.execute(
            select(JourneyVersionRow.journey_id, func.max(JourneyVersionRow.version)).where(
                JourneyVersionRow.tenant_id == self.tenant_id).group_by(JourneyVersionRow.journey_id)))
        wanted |= set(await self.session.execute(
            select(JourneyInstanceRow.journey_id, JourneyInstanceRow.version).distinct().where(
                JourneyInstanceRow.tenant_id == self.tenant_id,
                JourneyInstanceRow.state == InstanceState.ACTIVE.value)))
        if not wanted:
            return []
        rows = await self.session.scalars(select(JourneyVersionRow).where(
            JourneyVersionRow.tenant_id == self.tenant_id,
            tuple_(JourneyVersionRow.journey_id, JourneyVersionRow.version).in_(sorted(wanted))))
        return [JourneyVersion(r.journey_id, r.version, definition_from_json(r.display_name, r.definition),
                               r.created_at) for r in rows]

    async def templates(self) -> list[tuple[str, dict[str, str], tuple[ContentVariant, ...]]]:
        """(template id, content, variants) of every template."""
        rows = await self.session.execute(select(TemplateRow.template_id, TemplateRow.content, TemplateRow.variants)
                                          .where(TemplateRow.tenant_id == self.tenant_id))
        return [(r.template_id, dict(r.content), variants_from_json(r.variants)) for r in rows]

    async def event_messages(self) -> list[tuple[str, list[EventMessage]]]:
        """(event id, messages) of every event: each message holds its own copy of its content."""
        rows = await self.session.scalars(select(EventRow).where(EventRow.tenant_id == self.tenant_id))
        return [(r.event_id, event_from_row(r).messages) for r in rows]
