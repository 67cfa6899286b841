"""engagectl apps: the bank's apps (only published apps send)."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import name, show, show_one
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Apps: create, list, get, update, publish.")
COLUMNS = ["application id", "name", "category", "platforms", "state"]


def _row(a: pb.App) -> list[str]:
    return [a.application_id, a.display_name, a.category,
            ", ".join(pb.Platform.Name(p).removeprefix("PLATFORM_") for p in a.platforms), pb.App.State.Name(a.state)]


def _platforms(values: list[str]) -> list[int]:
    try:
        return [pb.Platform.Value(f"PLATFORM_{v.upper()}") for v in values]
    except ValueError as exc:
        raise typer.BadParameter("platforms are APPLE, ANDROID, WINDOWS, WEB", param_hint="--platform") from exc


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option(..., "--name"), category: str = typer.Option("BANKING"),
           platform: list[str] = typer.Option([], help="APPLE, ANDROID, WINDOWS or WEB; repeat.")) -> None:
    """Creates an app (unpublished) and prints its generated application id."""
    cli = cli_context(ctx)
    created = cli.call(lambda s: s.engagement.CreateApp(pb.CreateAppRequest(app=pb.App(
        display_name=name_, category=category, platforms=_platforms(platform)))))
    show_one(cli, "app", created, COLUMNS, _row)


@app.command("list")
def list_apps(ctx: typer.Context) -> None:
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.engagement.ListApps(pb.ListAppsRequest(page_size=1000)))
    show(cli, "apps", COLUMNS, list(response.apps), _row)


@app.command("get")
def get(ctx: typer.Context, app_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "app", cli.call(lambda s: s.engagement.GetApp(pb.GetAppRequest(name=name("apps", app_id)))),
             COLUMNS, _row)


@app.command("publish")
def publish(ctx: typer.Context, app_id: str) -> None:
    """Publishes an app so that it can send."""
    cli = cli_context(ctx)
    show_one(cli, "app", cli.call(lambda s: s.engagement.PublishApp(pb.PublishAppRequest(
        name=name("apps", app_id)))), COLUMNS, _row)


@app.command("update")
def update(ctx: typer.Context, app_id: str, name_: str | None = typer.Option(None, "--name"),
           category: str | None = typer.Option(None), platform: list[str] = typer.Option([])) -> None:
    cli = cli_context(ctx)
    paths = [p for p, v in (("display_name", name_), ("category", category), ("platforms", platform)) if v]
    request = pb.UpdateAppRequest(app=pb.App(name=name("apps", app_id), display_name=name_ or "",
                                             category=category or "", platforms=_platforms(platform)))
    request.update_mask.paths.extend(paths)
    show_one(cli, "app", cli.call(lambda s: s.engagement.UpdateApp(request)), COLUMNS, _row)



