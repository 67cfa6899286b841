"""engagectl templates: message templates per channel."""

from __future__ import annotations

from pathlib import Path

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, short
from clients.engagectl.output import Column, Id, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.template_variants import CONTENT_FIELDS, option_spelling, variants
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Templates: create, list, get, update.")
COLUMNS: list[str | Column] = [Id("id"), "name", "channel", "content"]


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
                    html_file: Path | None, pass_type: str | None, message: str | None,
                    label: str | None = None) -> pb.MessageContent:
    if channel_number == pb.CHANNEL_PUSH:
        return pb.MessageContent(push=pb.PushContent(title=title or "", body=body or "", image_url=image_url or "",
                                                     rich_text=rich_text or ""))
    if channel_number == pb.CHANNEL_SMS:
        return pb.MessageContent(sms=pb.SmsContent(text=text or ""))
    if channel_number == pb.CHANNEL_EMAIL:
        html_text = html_file.read_text() if html_file else html or ""
        return pb.MessageContent(email=pb.EmailContent(subject=subject or "", html=html_text, text=text or ""))
    content = pb.MessageContent()
    getattr(content, "pass").CopyFrom(pb.PassContent(pass_type_identifier=pass_type or "", message=message or "",
                                                     label=label or ""))
    return content


# The content options of create and update: one declaration for both commands.
TITLE = typer.Option(None, "--title", metavar="TEXT", help="PUSH: the title.")
BODY = typer.Option(None, "--body", metavar="TEXT", help="PUSH: the body.")
IMAGE_URL = typer.Option(None, "--image-url", metavar="URL", help="PUSH: an image (a rich push).")
RICH_TEXT = typer.Option(None, "--rich-text", metavar="TEXT", help="PUSH: the rich push's text.")
TEXT = typer.Option(None, "--text", metavar="TEXT", help="SMS: the text; EMAIL: the plain-text part.")
SUBJECT = typer.Option(None, "--subject", metavar="TEXT", help="EMAIL: the subject.")
HTML = typer.Option(None, "--html", metavar="HTML", help="EMAIL: the HTML part.")
HTML_FILE = typer.Option(None, "--html-file", metavar="FILE", help="EMAIL: the HTML part from a file.")
PASS_TYPE = typer.Option(None, "--pass-type", metavar="PASS_TYPE_ID", help="PASS: the pass type identifier.")
MESSAGE = typer.Option(None, "--message", metavar="TEXT", help="PASS: the message.")
LABEL = typer.Option(None, "--label", metavar="TEXT", help="PASS: the label above the message, e.g. Balance.")
VARIANT = typer.Option([], "--variant", metavar="PERSONA=CONTENT",
                       help="Content for a persona's members: a JSON object of the content options above "
                            "without their dashes, e.g. {\"text\": \"...\"}, or @FILE holding one; repeat "
                            "(a member of several gets the first).")


@app.command("create")
def create(ctx: typer.Context,
           channel_: str = typer.Option(..., "--channel", metavar="CHANNEL", help="EMAIL, SMS, PUSH or PASS."),
           name_: str = typer.Option(..., "--name", metavar="NAME"),
           title: str | None = TITLE, body: str | None = BODY, image_url: str | None = IMAGE_URL,
           rich_text: str | None = RICH_TEXT, text: str | None = TEXT, subject: str | None = SUBJECT,
           html: str | None = HTML, html_file: Path | None = HTML_FILE, pass_type: str | None = PASS_TYPE,
           message: str | None = MESSAGE, label: str | None = LABEL, variant: list[str] = VARIANT) -> None:
    """Creates a template; text may use tokens such as {{ transaction.amount }} and {{ data.KEY }}, and
    {{ persona.PERSONA.TOKEN }}; --variant gives a persona's members other content.

    Examples:
      engagectl templates create --channel SMS --name "ATM SMS" --text "Withdrawal of {{ data.amount }}"
      engagectl templates create --channel EMAIL --name "ATM email" --subject "Withdrawal" --html-file atm.html
      engagectl templates create --channel SMS --name "Loan" --text "A loan" --variant 'globetrotter={"text": "4.5%"}'
    """
    cli = cli_context(ctx)
    number = channel(channel_)
    template = pb.Template(display_name=name_, channel=number, content=content_options(
        number, title, body, image_url, rich_text, text, subject, html, html_file, pass_type, message, label),
        variants=variants(variant, number))
    emit_record("template", cli.call(lambda s: s.engagement.CreateTemplate(pb.CreateTemplateRequest(
        template=template))))


@app.command("list")
def list_templates(ctx: typer.Context,
                   channel_: str | None = typer.Option(None, "--channel", metavar="CHANNEL",
                                                       help="Only this channel's."),
                   limit: int = limit_option(100, "templates"), page_token: str = page_token_option(),
                   every_page: bool = all_option()) -> None:
    """Lists templates.

    Examples:
      engagectl templates list
      engagectl templates list --channel SMS
    """
    cli = cli_context(ctx)
    number = channel(channel_) if channel_ else pb.CHANNEL_UNSPECIFIED

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Template], str]:
        response = await stubs.engagement.ListTemplates(pb.ListTemplatesRequest(
            page_size=size, page_token=token, channel=number))
        return list(response.templates), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("templates", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("get")
def get(ctx: typer.Context, template_id: str = typer.Argument(..., metavar="TEMPLATE_ID",
                                                              help="Id or templates/ID.")) -> None:
    """Shows one template, every field.

    Examples:
      engagectl templates get 8e0b
    """
    cli = cli_context(ctx)
    emit_record("template", cli.call(lambda s: s.engagement.GetTemplate(pb.GetTemplateRequest(
        name=name("templates", template_id)))))


def _overlay(content: pb.MessageContent, channel_number: pb.Channel.ValueType, given: dict[str, str | None]) -> bool:
    """Sets the given fields of the channel's part of `content`, keeping the rest; True when any was given.
    `given` is keyed by the create options' names."""
    part_name, names = CONTENT_FIELDS[channel_number]
    wrong = sorted(option for option, value in given.items() if value is not None and option not in names)
    if wrong:
        options = ", ".join("--" + option_spelling(option) for option in wrong)
        raise typer.BadParameter(f"{options}: not for this template's channel, {channel_name(channel_number)}")
    part = getattr(content, part_name)
    changed = False
    for option, field in names.items():
        if given.get(option) is not None:
            setattr(part, field, given[option])
            changed = True
    return changed


@app.command("update")
def update(ctx: typer.Context,
           template_id: str = typer.Argument(..., metavar="TEMPLATE_ID", help="Id or templates/ID."),
           name_: str | None = typer.Option(None, "--name", metavar="NAME"),
           title: str | None = TITLE, body: str | None = BODY, image_url: str | None = IMAGE_URL,
           rich_text: str | None = RICH_TEXT, text: str | None = TEXT, subject: str | None = SUBJECT,
           html: str | None = HTML, html_file: Path | None = HTML_FILE, pass_type: str | None = PASS_TYPE,
           message: str | None = MESSAGE, label: str | None = LABEL,
           variant: list[str] = typer.Option([], "--variant", metavar="PERSONA=CONTENT",
                                             help="Replaces all the persona variants (as create takes them); "
                                                  "repeat."),
           clear_variants: bool = typer.Option(False, "--clear-variants",
                                               help="Removes the persona variants.")) -> None:
    """Changes what is given of a template's name, content and persona variants; the rest stays. Events
    made from it earlier keep their copy.

    Examples:
      engagectl templates update 8e0b --name "ATM SMS (short)"
      engagectl templates update 8e0b --text "Withdrawal: {{ data.amount }}"
      engagectl templates update 8e0b --variant globetrotter=@globetrotter.json --variant saver=@saver.json
      engagectl templates update 8e0b --clear-variants
    """
    cli = cli_context(ctx)
    given = {"title": title, "body": body, "image_url": image_url, "rich_text": rich_text, "text": text,
             "subject": subject, "html": html_file.read_text() if html_file else html, "pass_type": pass_type,
             "message": message, "label": label}
    if variant and clear_variants:
        raise typer.BadParameter("give --variant or --clear-variants, not both", param_hint="--clear-variants")
    content_given = any(value is not None for value in given.values())
    if name_ is None and not content_given and not variant and not clear_variants:
        raise typer.BadParameter("nothing to change: give --name, a content option, --variant or --clear-variants")
    template_name = name("templates", template_id)

    async def run(stubs: Stubs) -> pb.Template:
        request = pb.UpdateTemplateRequest(template=pb.Template(name=template_name, display_name=name_ or ""))
        if name_ is not None:
            request.update_mask.paths.append("display_name")
        if content_given or variant:
            existing = await stubs.engagement.GetTemplate(pb.GetTemplateRequest(name=template_name))
            if content_given:
                request.template.content.CopyFrom(existing.content)
                if _overlay(request.template.content, existing.channel, given):
                    request.update_mask.paths.append("content")
            request.template.variants.extend(variants(variant, existing.channel))
        if variant or clear_variants:
            request.update_mask.paths.append("variants")
        return await stubs.engagement.UpdateTemplate(request)

    emit_record("template", cli.call(run))
