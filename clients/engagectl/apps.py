"""engagectl apps: the bank's apps (only published apps send)."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name
from clients.engagectl.output import Column, Id, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Apps: create, list, get, update, publish.")
COLUMNS: list[str | Column] = [Id("application id"), "name", "category", "platforms", "state"]


def _row(a: pb.App) -> list[str]:
    return [a.application_id, a.display_name, a.category, ", ".join(label(pb.Platform, p) for p in a.platforms),
            label(pb.App.State, a.state)]


def _platforms(values: list[str]) -> list[pb.Platform.ValueType]:
    try:
        return [pb.Platform.Value(f"PLATFORM_{v.upper().removeprefix('PLATFORM_')}") for v in values]
    except ValueError as exc:
        raise typer.BadParameter("platforms are APPLE, ANDROID, WINDOWS, WEB", param_hint="--platform") from exc


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option(..., "--name", metavar="NAME", help="The app's name."),
           category: str = typer.Option("BANKING", metavar="CATEGORY"),
           platform: list[str] = typer.Option([], metavar="PLATFORM", help="APPLE, ANDROID, WINDOWS or WEB; repeat.")
           ) -> None:
    """Creates an app (unpublished) and prints it, with its generated application id.

    Examples:
      engagectl apps create --name "Yes Bank" --platform ANDROID --platform WEB
    """
    cli = cli_context(ctx)
    created = cli.call(lambda s: s.engagement.CreateApp(pb.CreateAppRequest(app=pb.App(
        display_name=name_, category=category, platforms=_platforms(platform)))))
    emit_record("app", created)


@app.command("list")
def list_apps(ctx: typer.Context, limit: int = limit_option(100, "apps"), page_token: str = page_token_option(),
              every_page: bool = all_option()) -> None:
    """Lists the bank's apps.

    Examples:
      engagectl apps list
      engagectl apps list --json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.App], str]:
        response = await stubs.engagement.ListApps(pb.ListAppsRequest(page_size=size, page_token=token))
        return list(response.apps), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("apps", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("get")
def get(ctx: typer.Context, app_id: str = typer.Argument(..., metavar="APP_ID", help="Id or apps/ID.")) -> None:
    """Shows one app, every field.

    Examples:
      engagectl apps get 7f3c2a
    """
    cli = cli_context(ctx)
    emit_record("app", cli.call(lambda s: s.engagement.GetApp(pb.GetAppRequest(name=name("apps", app_id)))))


@app.command("publish")
def publish(ctx: typer.Context, app_id: str = typer.Argument(..., metavar="APP_ID", help="Id or apps/ID.")) -> None:
    """Publishes an app so that it can send.

    Examples:
      engagectl apps publish 7f3c2a
    """
    cli = cli_context(ctx)
    emit_record("app", cli.call(lambda s: s.engagement.PublishApp(pb.PublishAppRequest(name=name("apps", app_id)))))


@app.command("update")
def update(ctx: typer.Context, app_id: str = typer.Argument(..., metavar="APP_ID", help="Id or apps/ID."),
           name_: str | None = typer.Option(None, "--name", metavar="NAME"),
           category: str | None = typer.Option(None, metavar="CATEGORY"),
           platform: list[str] = typer.Option([], metavar="PLATFORM", help="Replaces the platforms; repeat.")
           ) -> None:
    """Changes what is given of an app's name, category and platforms.

    Examples:
      engagectl apps update 7f3c2a --name "Yes Bank Mobile"
      engagectl apps update 7f3c2a --platform APPLE --platform ANDROID
    """
    cli = cli_context(ctx)
    paths = [p for p, v in (("display_name", name_), ("category", category), ("platforms", platform)) if v]
    request = pb.UpdateAppRequest(app=pb.App(name=name("apps", app_id), display_name=name_ or "",
                                             category=category or "", platforms=_platforms(platform)))
    request.update_mask.paths.extend(paths)
    emit_record("app", cli.call(lambda s: s.engagement.UpdateApp(request)))
