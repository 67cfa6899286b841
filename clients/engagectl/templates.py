"""engagectl templates: message templates per channel."""

from __future__ import annotations

from pathlib import Path

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, short, show, show_one
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Templates: create, list, get, update.")
COLUMNS = ["id", "name", "channel", "content"]


def summary(content: pb.MessageContent) -> str:
    which = content.WhichOneof("content")
    if which == "sms":
        return f"{content.sms.text} [{content.sms.encoding}, {content.sms.segments} segment(s)]"
    if which == "push":
        rich = " (rich)" if content.push.image_url else ""
        return f"{content.push.title}: {content.push.body}{rich}"
    if which == "email":
        return f"subject: {content.email.subject}"
    if which == "pass":
        wallet = getattr(content, "pass")  # `pass` is a Python keyword
        return f"{wallet.pass_type_identifier}: {wallet.message}"
    return ""


def _row(t: pb.Template) -> list[str]:
    return [short(t.name), t.display_name, channel_name(t.channel), summary(t.content)]


def content_options(channel_number: int, title: str | None, body: str | None, image_url: str | None,
                    rich_text: str | None, text: str | None, subject: str | None, html: str | None,
                    html_file: Path | None, pass_type: str | None, message: str | None) -> pb.MessageContent:
    if channel_number == pb.CHANNEL_PUSH:
        return pb.MessageContent(push=pb.PushContent(title=title or "", body=body or "", image_url=image_url or "",
                                                     rich_text=rich_text or ""))
    if channel_number == pb.CHANNEL_SMS:
        return pb.MessageContent(sms=pb.SmsContent(text=text or ""))
    if channel_number == pb.CHANNEL_EMAIL:
        html_text = html_file.read_text() if html_file else html or ""
        return pb.MessageContent(email=pb.EmailContent(subject=subject or "", html=html_text, text=text or ""))
    content = pb.MessageContent()
    getattr(content, "pass").CopyFrom(pb.PassContent(pass_type_identifier=pass_type or "", message=message or ""))
    return content


@app.command("create")
def create(ctx: typer.Context, channel_: str = typer.Option(..., "--channel"), name_: str = typer.Option(..., "--name"),
           title: str | None = typer.Option(None), body: str | None = typer.Option(None),
           image_url: str | None = typer.Option(None), rich_text: str | None = typer.Option(None),
           text: str | None = typer.Option(None), subject: str | None = typer.Option(None),
           html: str | None = typer.Option(None), html_file: Path | None = typer.Option(None),
           pass_type: str | None = typer.Option(None), message: str | None = typer.Option(None)) -> None:
    """Creates a template; text may use tokens such as {{ transaction.amount }}."""
    cli = cli_context(ctx)
    number = channel(channel_)
    template = pb.Template(display_name=name_, channel=number, content=content_options(
        number, title, body, image_url, rich_text, text, subject, html, html_file, pass_type, message))
    show_one(cli, "template", cli.call(lambda s: s.engagement.CreateTemplate(pb.CreateTemplateRequest(
        template=template))), COLUMNS, _row)


@app.command("list")
def list_templates(ctx: typer.Context, channel_: str | None = typer.Option(None, "--channel")) -> None:
    cli = cli_context(ctx)
    request = pb.ListTemplatesRequest(page_size=1000, channel=channel(channel_) if channel_ else 0)
    show(cli, "templates", COLUMNS, list(cli.call(lambda s: s.engagement.ListTemplates(request)).templates), _row)


@app.command("get")
def get(ctx: typer.Context, template_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "template", cli.call(lambda s: s.engagement.GetTemplate(pb.GetTemplateRequest(
        name=name("templates", template_id)))), COLUMNS, _row)
