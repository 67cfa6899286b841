"""Payment alerts on the wire <-> domain (docs/services/engagement.md#payment-alerts)."""

from __future__ import annotations

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.engagement.payment_alerts import PaymentAlert, PaymentAlertKind
from server.rpc.convert import enum_from_proto, enum_to_proto, timestamp_to_proto

_KINDS = dict(pb.PaymentAlertKind.items())
_KIND_NAMES: dict[int, str] = {int(number): name for name, number in _KINDS.items()}


def payment_alert_kind_from_proto(number: int) -> PaymentAlertKind:
    return enum_from_proto(PaymentAlertKind, "PAYMENT_ALERT_KIND_", number, _KIND_NAMES, "payment_alert.kind")


def payment_alert_to_proto(alert: PaymentAlert) -> pb.PaymentAlert:
    return pb.PaymentAlert(
        name=f"paymentAlerts/{alert.alert_id}", event=f"events/{alert.event_id}",
        kind=enum_to_proto(alert.kind, "PAYMENT_ALERT_KIND_", _KINDS),  # type: ignore[arg-type]
        days_before_due=alert.days_before_due, create_time=timestamp_to_proto(alert.created_at))
