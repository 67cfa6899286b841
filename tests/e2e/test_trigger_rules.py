"""Trigger rules and banners through gRPC, on both databases: the approval lifecycle with four eyes,
edits that send an approved rule back to approval, bad conditions and fields named, another bank's
rules not found, and the banners a firing made listed and counted."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from engage.triggers.v1 import banners_service_pb2 as banners_pb
from engage.triggers.v1 import trigger_rules_service_pb2 as pb
from server.domain.auth import Role
from server.domain.triggers.records import Banner, FiringAction, FiringRecord
from server.store.uow import UnitOfWork
from tests.support.builders import failure
from tests.support.triggers import CONDITION, low_balance_rule

DAY = duration_pb2.Duration(seconds=86_400)


async def test_a_rule_is_approved_by_another_admin_and_edits_go_back_to_approval(server, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
        created = await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))
        assert (created.name, created.status, created.version) == \
            ("triggerRules/low_balance", pb.TRIGGER_RULE_STATUS_DRAFT, 1)
        assert created.cooldown.seconds == 7 * 86_400 and created.creator == "ana"
        assert await failure(ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))) == \
            (grpc.StatusCode.ALREADY_EXISTS, "TRIGGER_RULE_EXISTS", [])
        name = created.name
        # Approving a draft: not yet submitted.
        assert (await failure(ben.trigger_rules.ApproveTriggerRule(pb.ApproveTriggerRuleRequest(name=name))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "TRIGGER_RULE_STATE")
        submitted = await ana.trigger_rules.SubmitTriggerRule(pb.SubmitTriggerRuleRequest(name=name))
        assert submitted.status == pb.TRIGGER_RULE_STATUS_PENDING_APPROVAL
        assert (await failure(ana.trigger_rules.ApproveTriggerRule(pb.ApproveTriggerRuleRequest(name=name))))[:2] == \
            (grpc.StatusCode.PERMISSION_DENIED, "TRIGGER_RULE_SELF_APPROVAL")
        approved = await ben.trigger_rules.ApproveTriggerRule(pb.ApproveTriggerRuleRequest(name=name, version=1))
        assert (approved.status, approved.approver) == (pb.TRIGGER_RULE_STATUS_ACTIVE, "ben")

        # Ben edits the active rule: version 2, back to approval, and he may not approve his own edit.
        edited = await ben.trigger_rules.UpdateTriggerRule(pb.UpdateTriggerRuleRequest(
            trigger_rule=pb.TriggerRule(name=name, condition="balance < 20", cooldown=DAY),
            update_mask=field_mask_pb2.FieldMask(paths=["condition", "cooldown"])))
        assert (edited.status, edited.version, edited.condition, edited.cooldown.seconds, edited.approver) == \
            (pb.TRIGGER_RULE_STATUS_PENDING_APPROVAL, 2, "balance < 20", 86_400, "")
        assert edited.display_name == "Low balance" and len(edited.actions) == 2
        assert (await failure(ben.trigger_rules.ApproveTriggerRule(pb.ApproveTriggerRuleRequest(name=name))))[:2] == \
            (grpc.StatusCode.PERMISSION_DENIED, "TRIGGER_RULE_SELF_APPROVAL")
        # Ana reviewed version 1: approving it now is refused, the current version is approved.
        assert (await failure(ana.trigger_rules.ApproveTriggerRule(
            pb.ApproveTriggerRuleRequest(name=name, version=1))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "TRIGGER_RULE_STATE")
        rejected = await ana.trigger_rules.RejectTriggerRule(pb.RejectTriggerRuleRequest(name=name, reason="too low"))
        assert (rejected.status, rejected.rejection_reason) == (pb.TRIGGER_RULE_STATUS_DRAFT, "too low")
        await ben.trigger_rules.SubmitTriggerRule(pb.SubmitTriggerRuleRequest(name=name))
        active = await ana.trigger_rules.ApproveTriggerRule(pb.ApproveTriggerRuleRequest(name=name, version=2))
        assert active.status == pb.TRIGGER_RULE_STATUS_ACTIVE

        paused = await ana.trigger_rules.PauseTriggerRule(pb.PauseTriggerRuleRequest(name=name))
        assert paused.status == pb.TRIGGER_RULE_STATUS_PAUSED
        assert (await failure(ana.trigger_rules.PauseTriggerRule(pb.PauseTriggerRuleRequest(name=name))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "TRIGGER_RULE_STATE")
        resumed = await ana.trigger_rules.ResumeTriggerRule(pb.ResumeTriggerRuleRequest(name=name))
        assert resumed.status == pb.TRIGGER_RULE_STATUS_ACTIVE
        archived = await ana.trigger_rules.ArchiveTriggerRule(pb.ArchiveTriggerRuleRequest(name=name))
        assert archived.status == pb.TRIGGER_RULE_STATUS_ARCHIVED
        assert (await failure(ana.trigger_rules.UpdateTriggerRule(pb.UpdateTriggerRuleRequest(
            trigger_rule=pb.TriggerRule(name=name, display_name="x"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"])))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "TRIGGER_RULE_STATE")
        assert await ana.trigger_rules.GetTriggerRule(pb.GetTriggerRuleRequest(name=name)) == archived
        listed = await ana.trigger_rules.ListTriggerRules(pb.ListTriggerRulesRequest())
        assert [r.name for r in listed.trigger_rules] == [name]

        # A backtest needs its period (tests/e2e/test_trigger_backtest.py has the rest).
        assert await failure(ana.trigger_rules.BacktestTriggerRule(pb.BacktestTriggerRuleRequest(name=name))) == \
            (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_BACKTEST_INVALID", ["start_date"])


async def test_bad_conditions_and_fields_are_named(server, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        code, reason, fields = await failure(ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule("average_collected_balance(45x) < 100"), trigger_rule_id="bad")))
        assert (code, reason, fields) == \
            (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_CONDITION_INVALID", ["trigger_rule.condition"])
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
                trigger_rule=low_balance_rule("average_collected_balance(45x) < 100"), trigger_rule_id="bad"))
        assert "'45x'" in (refused.value.details() or "")

        rule = low_balance_rule()
        rule.display_name = ""
        rule.actions[0].banner.call_to_action_url = "http://bank.example"
        rule.actions.append(pb.TriggerAction(bank_notification=pb.BankNotificationAction(note="again")))
        code, reason, fields = await failure(ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=rule, trigger_rule_id="bad")))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_RULE_INVALID")
        assert fields == ["trigger_rule.display_name", "trigger_rule.actions",
                          "trigger_rule.actions[0].banner.call_to_action_url"]
        assert (await failure(ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="Bad Id")))) == \
            (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_RULE_INVALID", ["trigger_rule_id"])
        persona_rule = low_balance_rule()
        persona_rule.audience.persona = "personas/nobody"
        assert (await failure(ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=persona_rule, trigger_rule_id="ghosts"))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "TRIGGER_RULE_REFERENCE_UNKNOWN")


async def test_another_banks_rules_are_not_found_and_never_listed(server, services, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        name = "triggerRules/low_balance"
        for call in (eve.trigger_rules.GetTriggerRule(pb.GetTriggerRuleRequest(name=name)),
                     eve.trigger_rules.SubmitTriggerRule(pb.SubmitTriggerRuleRequest(name=name)),
                     eve.trigger_rules.ListFirings(pb.ListFiringsRequest(parent=name))):
            assert (await failure(call))[:2] == (grpc.StatusCode.NOT_FOUND, "TRIGGER_RULE_NOT_FOUND")
        assert (await eve.trigger_rules.ListTriggerRules(pb.ListTriggerRulesRequest())).trigger_rules == []
        # The id is free for the other bank.
        await eve.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))


async def test_a_firing_is_listed_and_explained_with_its_versions_condition(server, services, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))
        at = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
        firing = FiringRecord("0190000000001a2b3c4d5e6f", "low_balance", 1, "lisa", "lisa-chk", at, "tx-1", "tx-1",
                              {"average_collected_balance(30d)": "96.4000", "balance": "-3.00"},
                              (FiringAction("banner", "customers/lisa/banners/b1"),))
        async with UnitOfWork(services.database, tenant) as uow:
            assert await uow.trigger_firings.add_firings([firing, firing]) == [firing.firing_id]
            await uow.commit()
        # A later edit does not change what the firing is explained with.
        await ana.trigger_rules.UpdateTriggerRule(pb.UpdateTriggerRuleRequest(
            trigger_rule=pb.TriggerRule(name="triggerRules/low_balance", condition="balance < 0"),
            update_mask=field_mask_pb2.FieldMask(paths=["condition"])))
        listed = await ana.trigger_rules.ListFirings(pb.ListFiringsRequest(parent="triggerRules/low_balance"))
        assert [f.name for f in listed.firings] == [f"triggerRules/low_balance/firings/{firing.firing_id}"]
        assert (listed.firings[0].customer, listed.firings[0].transaction_id) == ("customers/lisa", "tx-1")
        assert (await ana.trigger_rules.ListFirings(pb.ListFiringsRequest(
            parent="triggerRules/low_balance", customer="customers/other"))).firings == []
        explained = await ana.trigger_rules.ExplainFiring(pb.ExplainFiringRequest(name=listed.firings[0].name))
        assert explained.condition == CONDITION and explained.firing.rule_version == 1
        assert dict(explained.values) == {"average_collected_balance(30d)": "96.4000", "balance": "-3.00"}
        assert [(a.kind, a.resource) for a in explained.actions] == \
            [(pb.ACTION_KIND_BANNER, "customers/lisa/banners/b1")]
        assert (await failure(ana.trigger_rules.ExplainFiring(pb.ExplainFiringRequest(
            name="triggerRules/low_balance/firings/nope"))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "TRIGGER_FIRING_NOT_FOUND")


async def test_banners_are_listed_while_unexpired_and_counted(server, services, tenant):
    now = dt.datetime.now(dt.UTC)

    def banner(banner_id: str, customer: str, created_ago: int, expires_in: int) -> Banner:
        return Banner(banner_id, customer, f"title {banner_id}", "body", "See", "https://bank.example/x",
                      now - dt.timedelta(hours=created_ago), now + dt.timedelta(hours=expires_in),
                      product_id="cover", rule_id="low_balance", version=1, firing_id="f1")

    async with UnitOfWork(services.database, tenant) as uow:
        await uow.banners.add_banners([banner("b1", "lisa", 3, 10), banner("b2", "lisa", 2, 10),
                                       banner("b3", "lisa", 1, -1), banner("b4", "tom", 1, 10)])
        await uow.commit()
    async with server.stubs(server.token(tenant, Role.USER, "lisa")) as lisa, \
            server.stubs(server.token(tenant, Role.SERVICE, "app")) as app, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        listed = await lisa.banners.ListBanners(banners_pb.ListBannersRequest(parent="customers/lisa"))
        assert [b.name for b in listed.banners] == ["customers/lisa/banners/b2", "customers/lisa/banners/b1"]
        first = listed.banners[0]
        assert (first.product, first.trigger_rule, first.rule_version, first.impressions) == \
            ("products/cover", "triggerRules/low_balance", 1, 0)
        paged = await ana.banners.ListBanners(banners_pb.ListBannersRequest(parent="customers/lisa", page_size=1))
        assert [b.name for b in paged.banners] == ["customers/lisa/banners/b2"] and paged.next_page_token
        rest = await ana.banners.ListBanners(banners_pb.ListBannersRequest(
            parent="customers/lisa", page_size=1, page_token=paged.next_page_token))
        assert [b.name for b in rest.banners] == ["customers/lisa/banners/b1"] and not rest.next_page_token

        seen = await lisa.banners.RecordBannerImpression(banners_pb.RecordBannerImpressionRequest(name=first.name))
        seen = await app.banners.RecordBannerImpression(banners_pb.RecordBannerImpressionRequest(name=first.name))
        clicked = await lisa.banners.RecordBannerClick(banners_pb.RecordBannerClickRequest(name=first.name))
        assert (seen.impressions, clicked.impressions, clicked.clicks) == (2, 2, 1)
        assert clicked.HasField("first_impression_time") and clicked.HasField("last_click_time")

        # A user touches only their own banners; a bank admin reads but does not count.
        assert (await failure(lisa.banners.ListBanners(banners_pb.ListBannersRequest(parent="customers/tom"))))[0] \
            == grpc.StatusCode.PERMISSION_DENIED
        assert (await failure(lisa.banners.RecordBannerClick(banners_pb.RecordBannerClickRequest(
            name="customers/tom/banners/b4"))))[0] == grpc.StatusCode.PERMISSION_DENIED
        assert (await failure(ana.banners.RecordBannerClick(banners_pb.RecordBannerClickRequest(
            name=first.name))))[0] == grpc.StatusCode.PERMISSION_DENIED
        # Another customer's banner under one's own name is not found.
        assert (await failure(lisa.banners.RecordBannerClick(banners_pb.RecordBannerClickRequest(
            name="customers/lisa/banners/b4"))))[:2] == (grpc.StatusCode.NOT_FOUND, "BANNER_NOT_FOUND")
