"""Campaigns and their progress through the audience."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select

from server.domain.engagement.audience import CampaignAudience
from server.domain.engagement.entities import Campaign, CampaignState
from server.domain.ids import new_id
from server.domain.personas.audiences import Selection
from server.store.audience_sql import selection_condition
from server.store.engagement_models import CampaignRow, CampaignStepRow
from server.store.engagement_policies import audience_from_json, audience_to_json
from server.store.keyset import keyset_page
from server.store.models import CustomerRow
from server.store.repositories.engagement_base import IdKeyedRepository
from server.store.repositories.tenants import disabled_tenant_ids


class CampaignsRepository(IdKeyedRepository):
    model = CampaignRow
    id_column = "campaign_id"

    async def get(self, campaign_id: str) -> Campaign | None:
        row = await self._row(campaign_id)
        return _campaign(row) if row else None

    async def get_held(self, campaign_id: str) -> Campaign | None:
        """The campaign, held until the transaction ends (hold_row): a change of state and a worker's
        page of fan-out each see the other's write, instead of writing the whole campaign back over it."""
        if not await self.hold_row(CampaignRow.campaign_id, campaign_id):
            return None
        return await self.get(campaign_id)

    async def page(self, after: str | None, limit: int) -> list[Campaign]:
        return [_campaign(r) for r in await self._page(after, limit)]

    async def save(self, campaign: Campaign) -> None:
        await self.session.merge(CampaignRow(
            tenant_id=self.tenant_id, campaign_id=campaign.campaign_id, display_name=campaign.display_name,
            event_id=campaign.event_id, audience=audience_to_json(campaign.audience), send_at=campaign.send_at,
            is_offer=campaign.is_offer, state=str(campaign.state), creator=campaign.creator,
            approver=campaign.approver, rejection_reason=campaign.rejection_reason, cursor=campaign.cursor,
            customers_targeted=campaign.customers_targeted, deliveries_created=campaign.deliveries_created,
            created_at=campaign.created_at, updated_at=campaign.updated_at))

    async def record_step(self, campaign: Campaign, previous_state: str, actor: str, at: dt.datetime) -> None:
        """The campaign's entry into its state (the event history's campaign steps), with the change."""
        self.session.add(CampaignStepRow(
            tenant_id=self.tenant_id, step_id=new_id(), campaign_id=campaign.campaign_id, state=str(campaign.state),
            previous_state=previous_state, actor=actor, reason=campaign.rejection_reason
            if campaign.state is CampaignState.REJECTED else "", occurred_at=at))

    async def audience_page(self, audience: CampaignAudience, selection: Selection | None, after: str, limit: int
                            ) -> list[tuple[str, dict]]:
        """(customer id, attributes) of the next customers of the audience, by id; a persona's or
        audience's `selection` is joined in SQL with the kept memberships."""
        query = select(CustomerRow.customer_id, CustomerRow.attributes).where(
            CustomerRow.tenant_id == self.tenant_id)
        if audience.is_listed:
            query = query.where(CustomerRow.customer_id.in_(audience.customer_ids))
        if selection is not None:
            query = query.where(selection_condition(self.tenant_id, selection, CustomerRow.customer_id))
        for name, value in audience.attributes:  # in SQL too: a page holds only the filter's customers
            query = query.where(CustomerRow.attributes[name].as_string() == value)
        rows = await self.session.execute(keyset_page(query, [CustomerRow.customer_id], (after,), limit))
        return [(r.customer_id, dict(r.attributes or {})) for r in rows]


class CampaignsSweep:
    """The campaign sweep's cross-tenant view."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def due(self, now: dt.datetime) -> list[tuple[str, str]]:
        """(tenant, campaign id) of every enabled tenant's campaigns that should be running now (a
        disabled tenant's wait until it is enabled again)."""
        rows = await self.session.execute(select(CampaignRow.tenant_id, CampaignRow.campaign_id).where(or_(
            and_(CampaignRow.state == CampaignState.SCHEDULED.value,
                 or_(CampaignRow.send_at.is_(None), CampaignRow.send_at <= now)),
            CampaignRow.state == CampaignState.RUNNING.value), CampaignRow.tenant_id.not_in(disabled_tenant_ids())))
        return [(r.tenant_id, r.campaign_id) for r in rows]


def _campaign(row: CampaignRow) -> Campaign:
    return Campaign(row.campaign_id, row.display_name, row.event_id, audience_from_json(row.audience), row.send_at,
                    row.is_offer, CampaignState(row.state), row.creator, row.approver, row.rejection_reason,
                    row.cursor, row.customers_targeted, row.deliveries_created, row.created_at, row.updated_at)
