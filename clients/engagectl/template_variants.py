"""A template's content fields per channel, and its persona content variants as engagectl takes them:
`--variant PERSONA=CONTENT`, CONTENT a JSON object keyed by the template's content options without
their dashes (`{"text": "..."}` for SMS; `subject`, `html`, `text` for EMAIL; `title`, `body`,
`image-url`, `rich-text` for PUSH; `pass-type`, `message` for PASS), written inline or read from a
file as `@FILE`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import typer

from clients.engagectl.engagement_common import channel_name, name
from engage.engagement.v1 import engagement_service_pb2 as pb

# Per channel: the MessageContent part, and each content option's name (as the create options spell
# it, underscored) with the part's field it sets.
CONTENT_FIELDS: dict[int, tuple[str, dict[str, str]]] = {
    pb.CHANNEL_PUSH: ("push", {"title": "title", "body": "body", "image_url": "image_url",
                               "rich_text": "rich_text"}),
    pb.CHANNEL_SMS: ("sms", {"text": "text"}),
    pb.CHANNEL_EMAIL: ("email", {"subject": "subject", "html": "html", "text": "text"}),
    pb.CHANNEL_PASS: ("pass", {"pass_type": "pass_type_identifier", "message": "message", "label": "label"}),
}
OPTION = "--variant"


def option_spelling(option: str) -> str:
    return option.replace("_", "-")


def _document(text: str, persona: str) -> object:
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"{persona}: cannot read {path}: {exc.strerror}", param_hint=OPTION) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{persona}: not a JSON object ({exc.msg}, column {exc.colno})",
                                 param_hint=OPTION) from exc


def variant_content(persona: str, text: str, channel_number: int) -> pb.MessageContent:
    """One variant's content from its JSON object (inline, or `@FILE`), checked against the channel."""
    document = _document(text, persona)
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise typer.BadParameter(f"{persona}: give a JSON object of texts, e.g. {{\"text\": \"...\"}}",
                                 param_hint=OPTION)
    part_name, fields = CONTENT_FIELDS[channel_number]
    given = {key.replace("-", "_"): value for key, value in document.items()}
    wrong = sorted(option_spelling(key) for key in given if key not in fields)
    if wrong:
        allowed = ", ".join(option_spelling(key) for key in fields)
        raise typer.BadParameter(f"{persona}: {', '.join(wrong)}: not for this template's channel, "
                                 f"{channel_name(channel_number)} (it takes {allowed})", param_hint=OPTION)
    content = pb.MessageContent()
    part = getattr(content, part_name)
    part.SetInParent()  # an empty part still says which channel the content is for
    for key, value in given.items():
        setattr(part, fields[key], value)
    return content


def variants(values: Sequence[str], channel_number: int) -> list[pb.ContentVariant]:
    """`PERSONA=CONTENT` options, in the order given (the order a customer's persona is looked up in)."""
    found = []
    for value in values:
        persona, sep, text = value.partition("=")
        if not sep or not persona:
            raise typer.BadParameter(f"{value[:60]!r} is not PERSONA=CONTENT", param_hint=OPTION)
        found.append(pb.ContentVariant(persona=name("personas", persona),
                                       content=variant_content(persona, text, channel_number)))
    return found
