"""The --banner-* options a trigger rule's banner action and an offer recommendation's banner share,
and how they fill either message (engage.triggers.v1 BannerAction and OfferBanner name their fields
alike)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer

from clients.engagectl.times import duration_value


def _default(required: bool) -> Any:
    """Required (an offer recommendation's banner has every field), or None, "not given" (a rule's banner
    action changes only the fields given)."""
    return ... if required else None


def title_option(required: bool = False) -> Any:
    return typer.Option(_default(required), "--banner-title", metavar="TEXT",
                        help="The banner's title (up to 100 characters).")


def body_option(required: bool = False) -> Any:
    return typer.Option(_default(required), "--banner-body", metavar="TEXT",
                        help="The banner's text (up to 500 characters).")


def cta_label_option(required: bool = False) -> Any:
    return typer.Option(_default(required), "--banner-cta-label", metavar="TEXT",
                        help="The call to action's label (up to 40 characters).")


def cta_url_option(required: bool = False) -> Any:
    return typer.Option(_default(required), "--banner-cta-url", metavar="URL",
                        help="Where the call to action leads (https://).")


def lifetime_option(default_text: str) -> Any:
    return typer.Option(None, "--banner-lifetime", metavar="DURATION",
                        help=f"How long the banner shows: 1h to 366d, e.g. 3d or 12h ({default_text}).")


@dataclass(frozen=True)
class BannerOptions:
    title: str | None = None
    body: str | None = None
    cta_label: str | None = None
    cta_url: str | None = None
    lifetime: str | None = None

    def given(self) -> bool:
        return any(value is not None for value in (self.title, self.body, self.cta_label, self.cta_url,
                                                   self.lifetime))

    def fill(self, banner: Any) -> None:
        """Sets the fields given on a BannerAction or an OfferBanner; leaves the others as they are."""
        for field, value in (("title", self.title), ("body", self.body), ("call_to_action_label", self.cta_label),
                             ("call_to_action_url", self.cta_url)):
            if value is not None:
                setattr(banner, field, value)
        if self.lifetime is not None:
            banner.lifetime.CopyFrom(duration_value(self.lifetime, "--banner-lifetime"))
