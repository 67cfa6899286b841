"""engage.triggers.v1.TriggerRulesService: proto <-> domain translation only."""

from __future__ import annotations

import dataclasses

import grpc
from google.protobuf import json_format

from engage.triggers.v1 import trigger_rules_service_pb2 as pb
from engage.triggers.v1 import trigger_rules_service_pb2_grpc
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import page_request
from server.domain.reasons import Reason
from server.domain.resource_names import FIRING, TRIGGER_RULE
from server.domain.triggers.backtest import UnitCost
from server.domain.triggers.rules import RuleDefinition
from server.rpc.context import current_caller
from server.rpc.convert import date_field, money_field, update_mask_paths
from server.rpc.triggers_convert import (
    PARTS,
    definition_from_proto,
    firing_action_to_proto,
    firing_to_proto,
    rule_to_proto,
)
from server.services.triggers.backtest import TriggerBacktestService
from server.services.triggers.rules import FIRINGS_LIST, RULES_LIST, TriggerRulesService

Context = grpc.aio.ServicerContext


def _unit_cost(message: pb.ChannelUnitCost, path: str) -> UnitCost:
    amount, currency = money_field(message, "unit_cost", f"{path}.unit_cost")
    if amount is None or currency is None:
        raise InvalidArgument(Reason.TRIGGER_BACKTEST_INVALID, f"{path}.unit_cost is required",
                              violations=[FieldViolation(f"{path}.unit_cost", "is required")])
    return UnitCost(message.channel, amount, currency)


class TriggerRulesServicer(trigger_rules_service_pb2_grpc.TriggerRulesServiceServicer):
    def __init__(self, rules: TriggerRulesService, backtests: TriggerBacktestService) -> None:
        self.rules = rules
        self.backtests = backtests

    async def CreateTriggerRule(self, request: pb.CreateTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        definition = definition_from_proto(request.trigger_rule)
        return rule_to_proto(await self.rules.create_rule(current_caller(), request.trigger_rule_id, definition))

    async def GetTriggerRule(self, request: pb.GetTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        return rule_to_proto(await self.rules.get_rule(current_caller(), TRIGGER_RULE.id(request.name, "name")))

    async def ListTriggerRules(self, request: pb.ListTriggerRulesRequest, context: Context
                               ) -> pb.ListTriggerRulesResponse:
        page = await self.rules.list_rules(current_caller(),
                                           page_request(request.page_size, request.page_token, RULES_LIST))
        return pb.ListTriggerRulesResponse(trigger_rules=[rule_to_proto(r) for r in page.items],
                                           next_page_token=page.next_page_token)

    async def UpdateTriggerRule(self, request: pb.UpdateTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        rule_id = TRIGGER_RULE.id(request.trigger_rule.name, "trigger_rule.name")
        paths = update_mask_paths(request.update_mask, PARTS)
        changes = {path: PARTS[path](request.trigger_rule) for path in paths}

        def change(current: RuleDefinition) -> RuleDefinition:
            return dataclasses.replace(current, **changes)

        return rule_to_proto(await self.rules.update_rule(current_caller(), rule_id, change))

    async def SubmitTriggerRule(self, request: pb.SubmitTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        return rule_to_proto(await self.rules.submit(current_caller(), TRIGGER_RULE.id(request.name, "name")))

    async def ApproveTriggerRule(self, request: pb.ApproveTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        if request.version < 0:
            raise InvalidArgument(Reason.TRIGGER_RULE_INVALID, "version must not be negative",
                                  violations=[FieldViolation("version", "the version reviewed, or 0")])
        return rule_to_proto(await self.rules.approve(current_caller(), TRIGGER_RULE.id(request.name, "name"),
                                                      request.version))

    async def RejectTriggerRule(self, request: pb.RejectTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        return rule_to_proto(await self.rules.reject(current_caller(), TRIGGER_RULE.id(request.name, "name"),
                                                     request.reason))

    async def PauseTriggerRule(self, request: pb.PauseTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        return rule_to_proto(await self.rules.pause(current_caller(), TRIGGER_RULE.id(request.name, "name")))

    async def ResumeTriggerRule(self, request: pb.ResumeTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        return rule_to_proto(await self.rules.resume(current_caller(), TRIGGER_RULE.id(request.name, "name")))

    async def ArchiveTriggerRule(self, request: pb.ArchiveTriggerRuleRequest, context: Context) -> pb.TriggerRule:
        return rule_to_proto(await self.rules.archive(current_caller(), TRIGGER_RULE.id(request.name, "name")))

    async def BacktestTriggerRule(self, request: pb.BacktestTriggerRuleRequest, context: Context
                                  ) -> pb.TriggerRuleBacktest:
        rule_id = TRIGGER_RULE.id(request.name, "name")
        start, end = date_field(request, "start_date", "start_date"), date_field(request, "end_date", "end_date")
        costs = [_unit_cost(cost, f"unit_costs[{i}]") for i, cost in enumerate(request.unit_costs)]
        kept = await self.backtests.backtest(current_caller(), rule_id, start, end, costs)
        return json_format.ParseDict(kept, pb.TriggerRuleBacktest(), ignore_unknown_fields=True)

    async def ListFirings(self, request: pb.ListFiringsRequest, context: Context) -> pb.ListFiringsResponse:
        rule_id = TRIGGER_RULE.id(request.parent, "parent")
        customer_id = resource_names.CUSTOMER.id(request.customer, "customer") if request.customer else None
        page = await self.rules.list_firings(current_caller(), rule_id, customer_id,
                                             page_request(request.page_size, request.page_token, FIRINGS_LIST))
        return pb.ListFiringsResponse(firings=[firing_to_proto(f) for f in page.items],
                                      next_page_token=page.next_page_token)

    async def ExplainFiring(self, request: pb.ExplainFiringRequest, context: Context) -> pb.FiringExplanation:
        rule_id, firing_id = FIRING.parse(request.name, "name")
        explanation = await self.rules.explain_firing(current_caller(), rule_id, firing_id)
        firing = explanation.firing
        return pb.FiringExplanation(firing=firing_to_proto(firing), condition=explanation.condition,
                                    values=dict(firing.values),
                                    actions=[firing_action_to_proto(a) for a in firing.actions])
