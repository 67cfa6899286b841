"""engagectl channels: channel configurations (secrets are write-only and never shown)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, pairs, short
from clients.engagectl.money import money, show_money
from clients.engagectl.output import Column, Id, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.type.v1 import money_pb2

app = typer.Typer(no_args_is_help=True, help="Channel configurations: create, list, get, update.")
COLUMNS: list[str | Column] = [Id("id"), "name", "channel", "provider", "app", "rate/s", "cost/message", "secrets set",
                               "settings"]
APP_HELP = "Push only: the app (id or apps/ID) whose pushes these credentials send; unset = every app without its own."
COST_HELP = "What one message sent through it costs, e.g. '0.05 EUR' (up to 4 decimal places): the reports' cost."


def _cost(text: str) -> money_pb2.Money | None:
    """'AMOUNT CURRENCY' as Money; None for ""."""
    if not text.strip():
        return None
    amount, _, currency = text.strip().partition(" ")
    try:
        return money(Decimal(amount), currency.strip().upper())
    except (InvalidOperation, ValueError) as exc:
        raise typer.BadParameter(f"{text!r} is not AMOUNT CURRENCY, e.g. '0.05 EUR'",
                                 param_hint="--cost-per-message") from exc


def _row(c: pb.ChannelConfig) -> list[str]:
    return [short(c.name), c.display_name, channel_name(c.channel), c.provider, short(c.app) if c.app else "",
            str(c.rate_limit_per_second or "default"),
            # Costs run to fractions of a cent: four places, as stored.
            show_money(c.cost_per_message, places=4) if c.HasField("cost_per_message") else "",
            ", ".join(c.secret_keys),
            ", ".join(f"{k}={v}" for k, v in sorted(c.settings.items()))]


def _secrets(secret: list[str], secret_file: list[str]) -> dict[str, str]:
    values = pairs(secret, "--secret")
    for key, path in pairs(secret_file, "--secret-file").items():
        try:
            values[key] = Path(path).read_text()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--secret-file") from exc
    return values


@app.command("create")
def create(ctx: typer.Context,
           channel_: str = typer.Option(..., "--channel", metavar="CHANNEL", help="EMAIL, SMS, PUSH or PASS."),
           provider: str = typer.Option(..., metavar="PROVIDER",
                                        help="smtp, twilio, vonage, clickatell, fcm, apns, apple_pass."),
           name_: str = typer.Option("", "--name", metavar="NAME"),
           setting: list[str] = typer.Option([], metavar="KEY=VALUE", help="A provider setting; repeat."),
           secret: list[str] = typer.Option([], metavar="KEY=VALUE", help="Repeat. Stored sealed, never shown."),
           secret_file: list[str] = typer.Option([], metavar="KEY=PATH", help="The secret is the file's text."),
           rate_limit: int = typer.Option(0, metavar="N", help="Messages per second (0 = default)."),
           app_: str = typer.Option("", "--app", metavar="APP_ID", help=APP_HELP),
           cost_per_message: str = typer.Option("", metavar="'AMOUNT CURRENCY'", help=COST_HELP)) -> None:
    """Creates a channel configuration: how messages of one channel reach a provider.

    Examples:
      engagectl channels create --channel EMAIL --provider smtp --setting host=127.0.0.1 --setting port=1025 \\
          --setting security=NONE --setting from_address=alerts@bank.example
      engagectl channels create --channel SMS --provider twilio \\
          --setting account_sid=AC0123456789abcdef0123456789abcdef --secret auth_token=xyz --cost-per-message "0.05 EUR"
      engagectl channels create --channel PUSH --provider fcm --app 7d1e --setting project_id=wallet-app \
          --secret-file service_account_json=wallet-app.json
    """
    cli = cli_context(ctx)
    config = pb.ChannelConfig(display_name=name_, channel=channel(channel_), provider=provider,
                              settings=pairs(setting, "--setting"), secrets=_secrets(secret, secret_file),
                              rate_limit_per_second=rate_limit, app=name("apps", app_) if app_ else "",
                              cost_per_message=_cost(cost_per_message))
    emit_record("channel configuration", cli.call(lambda s: s.engagement.CreateChannelConfig(
        pb.CreateChannelConfigRequest(channel_config=config))))


@app.command("list")
def list_configs(ctx: typer.Context, limit: int = limit_option(100, "configurations"),
                 page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists channel configurations (secrets by name only).

    Examples:
      engagectl channels list
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.ChannelConfig], str]:
        response = await stubs.engagement.ListChannelConfigs(pb.ListChannelConfigsRequest(
            page_size=size, page_token=token))
        return list(response.channel_configs), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("channel configurations", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("get")
def get(ctx: typer.Context, config_id: str = typer.Argument(..., metavar="CONFIG_ID",
                                                            help="Id or channelConfigs/ID.")) -> None:
    """Shows one channel configuration, every field (secrets by name only).

    Examples:
      engagectl channels get 41c0
    """
    cli = cli_context(ctx)
    emit_record("channel configuration", cli.call(lambda s: s.engagement.GetChannelConfig(
        pb.GetChannelConfigRequest(name=name("channelConfigs", config_id)))))


@app.command("update")
def update(ctx: typer.Context,
           config_id: str = typer.Argument(..., metavar="CONFIG_ID", help="Id or channelConfigs/ID."),
           name_: str | None = typer.Option(None, "--name", metavar="NAME"),
           setting: list[str] = typer.Option([], metavar="KEY=VALUE", help="Replaces all settings; repeat."),
           secret: list[str] = typer.Option([], metavar="KEY=VALUE",
                                            help="Replaces these secrets, keeps the others; repeat."),
           secret_file: list[str] = typer.Option([], metavar="KEY=PATH", help="The secret is the file's text."),
           rate_limit: int | None = typer.Option(None, metavar="N", help="Messages per second (0 = default)."),
           app_: str | None = typer.Option(None, "--app", metavar="APP_ID",
                                           help=APP_HELP + " An empty value makes it tenant-wide."),
           cost_per_message: str | None = typer.Option(None, metavar="'AMOUNT CURRENCY'",
                                                       help=COST_HELP + " An empty value removes it.")) -> None:
    """Changes what is given of a channel configuration.

    Examples:
      engagectl channels update 41c0 --secret password=new-secret
      engagectl channels update 41c0 --rate-limit 20
      engagectl channels update 41c0 --app 7d1e
      engagectl channels update 41c0 --cost-per-message "0.0400 EUR"
    """
    cli = cli_context(ctx)
    secrets = _secrets(secret, secret_file)
    paths = [p for p, v in (("display_name", name_), ("settings", setting), ("secrets", secrets),
                            ("rate_limit_per_second", rate_limit is not None), ("app", app_ is not None),
                            ("cost_per_message", cost_per_message is not None)) if v]
    request = pb.UpdateChannelConfigRequest(channel_config=pb.ChannelConfig(
        name=name("channelConfigs", config_id), display_name=name_ or "", settings=pairs(setting, "--setting"),
        secrets=secrets, rate_limit_per_second=rate_limit or 0, app=name("apps", app_) if app_ else "",
        cost_per_message=_cost(cost_per_message or "")))
    request.update_mask.paths.extend(paths)
    emit_record("channel configuration", cli.call(lambda s: s.engagement.UpdateChannelConfig(request)))
