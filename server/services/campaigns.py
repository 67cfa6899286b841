"""Campaigns: an event sent to an audience on a schedule; offers wait for a bank admin's approval (not
the creator's own). A worker fans the audience out page by page, saving its place, so a crashed run
carries on where it stopped and never sends twice (each recipient has its own trigger key)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import TypedDict, Unpack

import structlog

from server.domain.auth import Caller, Role
from server.domain.engagement.audience import CampaignAudience
from server.domain.engagement.entities import Campaign, CampaignState, Delivery
from server.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    not_found,
)
from server.domain.ids import new_id
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.personas.audiences import AudienceMode, Selection
from server.security.secret_box import SecretBox
from server.services.audiences import audience_selection, persona_selection
from server.services.clock import Clock, utc_now
from server.services.engagement import EngagementService
from server.services.events import DeliveryQueue
from server.services.fanout import Trigger, load_sending_setup, record_trigger
from server.services.references import hold_named
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

AUDIENCE_PAGE = 500
# One job fans out for about this long, then hands the rest to a fresh job (jobs have short timeouts
# so that a dead worker's job is taken over quickly).
RUN_BUDGET_SECONDS = 15.0


class _Decision(TypedDict, total=False):
    """What an approval or a rejection records on the campaign besides its state."""

    approver: str
    rejection_reason: str


class CampaignService:
    def __init__(self, database: Database, box: SecretBox, queue: DeliveryQueue, engagement: EngagementService,
                 clock: Clock = utc_now) -> None:
        self._database = database
        self._box = box
        self._queue = queue
        self._engagement = engagement
        self._clock = clock

    async def create(self, caller: Caller, display_name: str, event_id: str, audience: CampaignAudience,
                     send_at: dt.datetime | None, is_offer: bool) -> Campaign:
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        _validate(display_name)
        now = self._clock()
        state = CampaignState.PENDING_APPROVAL if is_offer else CampaignState.SCHEDULED
        campaign = Campaign(new_id(), display_name.strip(), event_id, audience, send_at, is_offer, state,
                            caller.subject, "", "", "", 0, 0, now, now)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.events.get(event_id) is None:
                raise not_found("event", event_id)
            # Held until the save commits: a delete of the persona or audience waits, then sees this campaign.
            await hold_named(uow, personas=[audience.persona_id] if audience.persona_id else [],
                             audiences=[audience.audience_id] if audience.audience_id else [])
            await uow.campaigns.save(campaign)
            await uow.campaigns.record_step(campaign, "", caller.subject, now)
            await uow.commit()
        return campaign

    async def get(self, caller: Caller, campaign_id: str) -> Campaign:
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            campaign = await uow.campaigns.get(campaign_id)
        if campaign is None:
            raise not_found("campaign", campaign_id)
        return campaign

    async def list(self, caller: Caller, page: PageRequest) -> Page[Campaign]:
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.campaigns.page(page.after, page.size + 1)
        return paginate(found, page, "campaigns", lambda c: c.campaign_id)

    async def approve(self, caller: Caller, campaign_id: str) -> Campaign:
        caller.require_role(Role.BANK_ADMIN)
        campaign = await self._transition(caller, campaign_id, {CampaignState.PENDING_APPROVAL},
                                          CampaignState.SCHEDULED, approver=caller.subject)
        return campaign

    async def reject(self, caller: Caller, campaign_id: str, reason: str) -> Campaign:
        caller.require_role(Role.BANK_ADMIN)
        return await self._transition(caller, campaign_id, {CampaignState.PENDING_APPROVAL}, CampaignState.REJECTED,
                                      approver=caller.subject, rejection_reason=reason[:1000])

    async def cancel(self, caller: Caller, campaign_id: str) -> Campaign:
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        return await self._transition(caller, campaign_id, {CampaignState.PENDING_APPROVAL, CampaignState.SCHEDULED,
                                                            CampaignState.RUNNING}, CampaignState.CANCELLED)

    async def _transition(self, caller: Caller, campaign_id: str, allowed: set[CampaignState], to: CampaignState,
                          **changes: Unpack[_Decision]) -> Campaign:
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            campaign = await uow.campaigns.get_held(campaign_id)
            if campaign is None:
                raise not_found("campaign", campaign_id)
            if campaign.state not in allowed:
                raise FailedPrecondition("CAMPAIGN_STATE_INVALID",
                                         f"campaign '{campaign_id}' is {campaign.state}: cannot become {to}")
            if "approver" in changes and changes["approver"] == campaign.creator:
                raise PermissionDenied("CAMPAIGN_SELF_APPROVAL", "a campaign is approved by someone other than "
                                       "its creator")
            previous_state = str(campaign.state)
            campaign = dataclasses.replace(campaign, state=to, updated_at=self._clock(), **changes)
            await uow.campaigns.save(campaign)
            await uow.campaigns.record_step(campaign, previous_state, caller.subject, campaign.updated_at)
            await uow.commit()
        return campaign

    # -- running (worker side) ------------------------------------------------------------------

    async def start_due(self) -> int:
        """The campaign sweep: hands every due or unfinished campaign to a worker."""
        async with UnitOfWork(self._database) as uow:
            due = await uow.campaigns_sweep.due(self._clock())
        tag = str(int(self._clock().timestamp()) // 60)  # at most one job per campaign per minute
        for tenant_id, campaign_id in due:
            await self._queue.enqueue_campaign(tenant_id, campaign_id, tag)
        return len(due)

    async def run(self, tenant_id: str, campaign_id: str) -> int:
        """Fans the campaign out page by page, each page in one transaction with its cursor; returns the
        deliveries created by this run."""
        created_total = 0
        started = time.monotonic()
        cursor = ""
        while True:
            if time.monotonic() - started > RUN_BUDGET_SECONDS:
                await self._queue.enqueue_campaign(tenant_id, campaign_id, f"after-{cursor}")
                return created_total
            now = self._clock()
            created: list[Delivery] = []
            async with UnitOfWork(self._database, tenant_id) as uow:
                # Held while this page fans out: a cancel waits for it, and the next page sees the cancel.
                campaign = await uow.campaigns.get_held(campaign_id)
                if campaign is None or campaign.state not in (CampaignState.SCHEDULED, CampaignState.RUNNING):
                    return created_total
                tenant = await uow.tenants.get(tenant_id)
                if tenant is None or tenant.disabled:  # it goes on from its cursor once enabled again
                    return created_total
                if campaign.send_at is not None and campaign.send_at > now:
                    return created_total
                event = await uow.events.get(campaign.event_id)
                try:
                    selection = await _selection(uow, campaign.audience)
                except NotFound:  # its persona or audience was deleted since: no one is left to send to
                    selection = Selection((), AudienceMode.ANY)
                customers = await uow.campaigns.audience_page(campaign.audience, selection, campaign.cursor,
                                                              AUDIENCE_PAGE)
                setup = await load_sending_setup(uow, [event] if event else [])
                contacts = await uow.contacts.get_many([customer_id for customer_id, _ in customers])
                targeted = 0
                for customer_id, attributes in customers:
                    if not campaign.audience.includes(attributes) or event is None:
                        continue
                    targeted += 1
                    trigger = Trigger(event, customer_id, f"campaign:{campaign_id}:{customer_id}",
                                      {"customer": {"attributes": attributes}}, campaign_id=campaign_id)
                    try:
                        deliveries, new = await record_trigger(uow, trigger, setup, contacts.get(customer_id),
                                                               self._box, now)
                    except (InvalidArgument, FailedPrecondition) as exc:
                        log.warning("campaign_recipient_skipped", campaign=campaign_id, customer=customer_id,
                                    error=str(exc))
                        continue
                    if new:
                        created.extend(deliveries)
                done = len(customers) < AUDIENCE_PAGE
                previous_state = campaign.state
                campaign = dataclasses.replace(
                    campaign, state=CampaignState.COMPLETED if done else CampaignState.RUNNING,
                    cursor=customers[-1][0] if customers else campaign.cursor, updated_at=now,
                    customers_targeted=campaign.customers_targeted + targeted,
                    deliveries_created=campaign.deliveries_created + len(created))
                await uow.campaigns.save(campaign)
                if campaign.state is not previous_state:  # started, or finished: not each page
                    await uow.campaigns.record_step(campaign, str(previous_state), "", now)
                await uow.commit()
            cursor = campaign.cursor
            await self._engagement.announce(tenant_id, created)
            created_total += len(created)
            if done:
                log.info("campaign_completed", tenant=tenant_id, campaign=campaign_id,
                         deliveries=campaign.deliveries_created)
                return created_total


async def _selection(uow: UnitOfWork, audience: CampaignAudience) -> Selection | None:
    """The persona or audience a campaign targets, down to personas (None for the other kinds of
    audience); NOT_FOUND when it does not exist."""
    if audience.persona_id:
        selection = await persona_selection(uow, audience.persona_id)
        if selection is None:
            raise not_found("persona", audience.persona_id)
        return selection
    if audience.audience_id:
        selection = await audience_selection(uow, audience.audience_id)
        if selection is None:
            raise not_found("audience", audience.audience_id)
        return selection
    return None


def _validate(display_name: str) -> None:
    """The audience was checked when it was built (campaign_audience)."""
    if not display_name.strip() or len(display_name) > 100:
        raise InvalidArgument("CAMPAIGN_INVALID", "the campaign is not valid",
                              violations=[FieldViolation("campaign.display_name", "1-100 characters")])
