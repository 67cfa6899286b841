"""engagectl channels: channel configurations (secrets are write-only and never shown)."""

from __future__ import annotations

from pathlib import Path

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, pairs, short, show, show_one
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Channel configurations: create, list, get, update.")
COLUMNS = ["id", "name", "channel", "provider", "settings", "secrets set", "rate/s"]


def _row(c: pb.ChannelConfig) -> list[str]:
    return [short(c.name), c.display_name, channel_name(c.channel), c.provider,
            ", ".join(f"{k}={v}" for k, v in sorted(c.settings.items())), ", ".join(c.secret_keys),
            str(c.rate_limit_per_second or "default")]


def _secrets(secret: list[str], secret_file: list[str]) -> dict[str, str]:
    values = pairs(secret, "--secret")
    for key, path in pairs(secret_file, "--secret-file").items():
        try:
            values[key] = Path(path).read_text()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--secret-file") from exc
    return values


@app.command("create")
def create(ctx: typer.Context, channel_: str = typer.Option(..., "--channel", help="EMAIL, SMS, PUSH or PASS."),
           provider: str = typer.Option(..., help="smtp, twilio, vonage, clickatell, fcm, apns, apple_pass."),
           name_: str = typer.Option("", "--name"), setting: list[str] = typer.Option([], help="KEY=VALUE; repeat."),
           secret: list[str] = typer.Option([], help="KEY=VALUE; repeat. Stored sealed, never shown."),
           secret_file: list[str] = typer.Option([], help="KEY=PATH: the secret is the file's text."),
           rate_limit: int = typer.Option(0, help="Messages per second (0 = default).")) -> None:
    cli = cli_context(ctx)
    config = pb.ChannelConfig(display_name=name_, channel=channel(channel_), provider=provider,
                              settings=pairs(setting, "--setting"), secrets=_secrets(secret, secret_file),
                              rate_limit_per_second=rate_limit)
    show_one(cli, "channel configuration", cli.call(lambda s: s.engagement.CreateChannelConfig(
        pb.CreateChannelConfigRequest(channel_config=config))), COLUMNS, _row)


@app.command("list")
def list_configs(ctx: typer.Context) -> None:
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.engagement.ListChannelConfigs(pb.ListChannelConfigsRequest(page_size=1000)))
    show(cli, "channel configurations", COLUMNS, list(response.channel_configs), _row)


@app.command("get")
def get(ctx: typer.Context, config_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "channel configuration", cli.call(lambda s: s.engagement.GetChannelConfig(
        pb.GetChannelConfigRequest(name=name("channelConfigs", config_id)))), COLUMNS, _row)


@app.command("update")
def update(ctx: typer.Context, config_id: str, name_: str | None = typer.Option(None, "--name"),
           setting: list[str] = typer.Option([], help="KEY=VALUE: replaces all settings."),
           secret: list[str] = typer.Option([], help="KEY=VALUE: replaces these secrets, keeps the others."),
           secret_file: list[str] = typer.Option([]), rate_limit: int | None = typer.Option(None)) -> None:
    cli = cli_context(ctx)
    secrets = _secrets(secret, secret_file)
    paths = [p for p, v in (("display_name", name_), ("settings", setting), ("secrets", secrets),
                            ("rate_limit_per_second", rate_limit is not None)) if v]
    request = pb.UpdateChannelConfigRequest(channel_config=pb.ChannelConfig(
        name=name("channelConfigs", config_id), display_name=name_ or "", settings=pairs(setting, "--setting"),
        secrets=secrets, rate_limit_per_second=rate_limit or 0))
    request.update_mask.paths.extend(paths)
    show_one(cli, "channel configuration", cli.call(lambda s: s.engagement.UpdateChannelConfig(request)), COLUMNS,
             _row)
