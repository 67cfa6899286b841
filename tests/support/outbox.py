"""A delivery as the fan-out would plan it, for the store tests of the outbox."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from server.domain.engagement.entities import Channel, Delivery, DeliveryState
from server.domain.ids import new_id


def queued_delivery(trigger_key: str, now: dt.datetime, **changes: Any) -> Delivery:
    """A queued SMS of customer c1 through configuration 'cfg', due now; `changes` replace fields."""
    planned = Delivery(delivery_id=new_id(), trigger_key=trigger_key, event_id="e1", campaign_id="", customer_id="c1",
                       channel=Channel.SMS, provider="twilio", config_id="cfg", address="+420600000001",
                       message_class="REGULAR", content={}, state=DeliveryState.QUEUED, skip_reason="", attempts=0,
                       next_attempt_at=now, provider_message_id="", error_code="", error_message="",
                       created_at=now, updated_at=now)
    return dataclasses.replace(planned, **changes)
