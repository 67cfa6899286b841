"""How `engagectl rules` turns its options into a rule: the audience, and action options merged into
the rule's actions (each kind changed only where named, added, dropped, offered)."""

from __future__ import annotations

import pytest
import typer

from clients.engagectl.banner_options import BannerOptions
from clients.engagectl.rules import ActionOptions, audience_value
from engage.triggers.v1 import trigger_rules_service_pb2 as pb

BANNER = pb.TriggerAction(banner=pb.BannerAction(title="Running low?", body="Cover", call_to_action_label="See",
                                                 call_to_action_url="https://bank.example/cover"))
NOTE = pb.TriggerAction(bank_notification=pb.BankNotificationAction(note="call them"))


def options(banner: BannerOptions = BannerOptions(), note: str | None = None, event: str | None = None,
            attributes: tuple[str, ...] = (), product: str | None = None, drop: tuple[str, ...] = ()
            ) -> ActionOptions:
    return ActionOptions(banner, note, event, attributes, product, drop)


def test_audiences() -> None:
    assert audience_value("all") == pb.TriggerAudience(all_customers=True)
    assert audience_value("customers:a, b") == pb.TriggerAudience(
        customers=pb.TriggerAudience.CustomerList(customers=["customers/a", "customers/b"]))
    assert audience_value("personas/p").persona == "personas/p"
    assert audience_value("audiences/x").audience == "audiences/x"
    for wrong in ("everyone", "customers:", "p"):
        with pytest.raises(typer.BadParameter):
            audience_value(wrong)


def test_a_named_field_changes_and_the_rest_of_the_action_stays() -> None:
    [banner, note] = options(BannerOptions(title="Need a hand?", lifetime="3d")).merged([BANNER, NOTE])
    assert (banner.banner.title, banner.banner.body, banner.banner.lifetime.seconds) == ("Need a hand?", "Cover",
                                                                                         259_200)
    assert note == NOTE


def test_kinds_are_added_at_the_end_and_dropped() -> None:
    merged = options(event="welcome", attributes=("a=1", "b=2"), drop=("NOTIFICATION",)).merged([BANNER, NOTE])
    assert [a.WhichOneof("kind") for a in merged] == ["banner", "message"]
    assert (merged[1].message.event, dict(merged[1].message.attributes)) == ("events/welcome", {"a": "1", "b": "2"})
    with pytest.raises(typer.BadParameter):
        options(drop=("sms",)).merged([BANNER])


def test_the_product_goes_on_the_banner_and_the_message_only() -> None:
    merged = options(event="events/welcome", product="cover").merged([BANNER, NOTE])
    assert (merged[0].banner.product, merged[2].message.product) == ("products/cover", "products/cover")
    assert options(product="").merged(merged)[0].banner.product == ""
    with pytest.raises(typer.BadParameter):
        options(product="cover").merged([NOTE])
    with pytest.raises(typer.BadParameter):
        options(product="cover", drop=("banner",)).merged([BANNER, NOTE])
