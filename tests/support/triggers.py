"""A trigger rule for the tests that need one (tests/e2e/test_trigger_rules.py and the suites that call
every RPC)."""

from __future__ import annotations

from google.protobuf import duration_pb2

from engage.triggers.v1 import trigger_rules_service_pb2 as pb

CONDITION = "average_collected_balance(30d) < 100 AND balance < 50"
THREE_DAYS = duration_pb2.Duration(seconds=3 * 86_400)


def low_balance_rule(condition: str = CONDITION) -> pb.TriggerRule:
    """Everyone's accounts; a banner offering overdraft cover and a note to the bank."""
    return pb.TriggerRule(
        display_name="Low balance", description="Offer the overdraft cover",
        audience=pb.TriggerAudience(all_customers=True), condition=condition,
        actions=[pb.TriggerAction(banner=pb.BannerAction(
                     title="Running low?", body="Overdraft cover from 2 EUR a month", call_to_action_label="See",
                     call_to_action_url="https://bank.example/cover", lifetime=THREE_DAYS)),
                 pb.TriggerAction(bank_notification=pb.BankNotificationAction(note="call them"))])
