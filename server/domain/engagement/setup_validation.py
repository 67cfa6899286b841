"""Checks of the engagement set-up objects. Each failure is INVALID_ARGUMENT with a stable code and the
offending fields:

| code | when |
| --- | --- |
| APP_NAME_REQUIRED / APP_NAME_INVALID | no app name / longer than 100 characters |
| APP_CATEGORY_INVALID | category not one of APP_CATEGORIES |
| APP_PLATFORM_REQUIRED | no platform, an unknown one, or one given twice |
| EVENT_TYPE_NAME_REQUIRED | an event type without a name (1-100 characters) |
| EVENT_NAME_REQUIRED / EVENT_DESCRIPTION_REQUIRED / EVENT_TYPE_REQUIRED | an event without them |
| TEMPLATE_INVALID | a message's parts are missing, too long, nested too deeply or use unknown tokens |
| CHANNEL_CONFIG_INVALID | a provider's settings or secrets are missing or malformed |
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from cryptography.hazmat.primitives.asymmetric import rsa

from server.domain.bounded_json import JsonTooDeep, loads_bounded
from server.domain.engagement import pem_keys
from server.domain.engagement.addresses import email_violations, phone_violations
from server.domain.engagement.entities import PROVIDERS_BY_CHANNEL, Channel, ContentVariant
from server.domain.engagement.persona_content import variant_violations
from server.domain.engagement.sms import check_sms_text
from server.domain.engagement.templates import validate_parts
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.events import Money
from server.domain.money import AmountError, is_currency_code, to_scaled

APP_CATEGORIES = frozenset({"BANKING", "FINANCE", "PAYMENTS", "INSURANCE", "LIFESTYLE", "OTHER"})
PLATFORMS = frozenset({"APPLE", "ANDROID", "WINDOWS", "WEB"})
_HTTPS_URL = re.compile(r"^https://[^\s/$.?#].[^\s]*$")
_HTTP_URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$")


def _fail(code: str, message: str, violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(code, message, violations=violations)


def validate_display_name(display_name: str, field: str, code: str) -> None:
    """An optional name (a default stands in for an empty one) of at most 100 characters, the column's
    width: a longer one reached the database unchecked."""
    if len(display_name.strip()) > 100:
        _fail(code, "the name is too long", [FieldViolation(field, "at most 100 characters")])


def validate_app(display_name: str, category: str, platforms: list[str]) -> None:
    if not display_name.strip():
        _fail("APP_NAME_REQUIRED", "an app needs a name", [FieldViolation("app.display_name", "is required")])
    if len(display_name) > 100:
        _fail("APP_NAME_INVALID", "an app name has at most 100 characters",
              [FieldViolation("app.display_name", "at most 100 characters")])
    if category not in APP_CATEGORIES:
        _fail("APP_CATEGORY_INVALID", f"category must be one of {', '.join(sorted(APP_CATEGORIES))}",
              [FieldViolation("app.category", f"one of {sorted(APP_CATEGORIES)}")])
    if not platforms or len(set(platforms)) != len(platforms) or not set(platforms) <= PLATFORMS:
        _fail("APP_PLATFORM_REQUIRED", "choose at least one platform (APPLE, ANDROID, WINDOWS, WEB), each once",
              [FieldViolation("app.platforms", "one or more of APPLE, ANDROID, WINDOWS, WEB, each once")])


def validate_event_type(display_name: str) -> None:
    if not display_name.strip() or len(display_name) > 100:
        _fail("EVENT_TYPE_NAME_REQUIRED", "an event type needs a name of 1-100 characters",
              [FieldViolation("event_type.display_name", "1-100 characters")])


def validate_event(display_name: str, description: str, event_type_id: str) -> None:
    if not display_name.strip() or len(display_name) > 100:
        _fail("EVENT_NAME_REQUIRED", "enter a name for the event (1-100 characters)",
              [FieldViolation("event.display_name", "1-100 characters")])
    if not description.strip() or len(description) > 2000:
        _fail("EVENT_DESCRIPTION_REQUIRED", "enter a description of the event (1-2000 characters)",
              [FieldViolation("event.description", "1-2000 characters")])
    if not event_type_id:
        _fail("EVENT_TYPE_REQUIRED", "select the event type", [FieldViolation("event.event_type", "is required")])


def template_violations(channel: str, content: Mapping[str, str], prefix: str,
                        persona_tokens: Mapping[str, Collection[str]] | None = None) -> list[FieldViolation]:
    """`prefix`: the request's path to the MessageContent; each part is named as the request names it
    (`template.content.sms.text`)."""
    violations: list[FieldViolation] = []
    prefix = f"{prefix}.{channel.lower()}"

    def required(*names: str) -> None:
        for name in names:
            if not content.get(name, "").strip():
                violations.append(FieldViolation(f"{prefix}.{name}", "is required"))

    if channel == Channel.PUSH:
        required("title", "body")
        if bool(content.get("image_url")) != bool(content.get("rich_text")):
            violations.append(FieldViolation(f"{prefix}.image_url", "a rich push needs both image_url and rich_text"))
        if content.get("image_url") and not _HTTPS_URL.match(content["image_url"]):
            violations.append(FieldViolation(f"{prefix}.image_url", "an https URL"))
        if len(content.get("title", "")) > 200 or len(content.get("body", "")) > 2000:
            violations.append(FieldViolation(f"{prefix}.body", "title at most 200, body at most 2000 characters"))
    elif channel == Channel.SMS:
        violations += check_sms_text(content.get("text", ""), f"{prefix}.text")
    elif channel == Channel.EMAIL:
        required("subject")
        if not (content.get("html", "").strip() or content.get("text", "").strip()):
            violations.append(FieldViolation(f"{prefix}.text", "an email needs an html or a text part"))
        if len(content.get("subject", "")) > 500:
            violations.append(FieldViolation(f"{prefix}.subject", "at most 500 characters"))
    elif channel == Channel.PASS:
        required("pass_type_identifier", "message")
        if content.get("pass_type_identifier") and not content["pass_type_identifier"].startswith("pass."):
            violations.append(FieldViolation(f"{prefix}.pass_type_identifier", "starts with 'pass.'"))
    token_parts = {k: v for k, v in content.items() if k not in ("image_url", "pass_type_identifier")}
    violations += [FieldViolation(f"{prefix}.{v.field}", v.description)
                   for v in validate_parts(token_parts, persona_tokens)]
    return violations


def validate_template(channel: str, content: Mapping[str, str], prefix: str,
                      persona_tokens: Mapping[str, Collection[str]] | None = None,
                      variants: tuple[ContentVariant, ...] = (), variants_prefix: str = "") -> None:
    """The content, and each persona variant's (`variants_prefix`: the request's path to the variants),
    reading only known tokens; persona tokens only of `persona_tokens` (persona id -> token names)."""
    violations = template_violations(channel, content, prefix, persona_tokens)
    violations += variant_violations(variants, set(persona_tokens or {}), variants_prefix)
    for index, variant in enumerate(variants):
        violations += template_violations(channel, variant.content, f"{variants_prefix}[{index}].content",
                                          persona_tokens)
    _fail("TEMPLATE_INVALID", f"the {channel.lower()} message is not valid", violations)


# SMTP sessions a worker process may hold open to one server (setting max_sessions): Postfix, for one,
# refuses a client more than 50 at once by default, and workers run side by side.
MAX_SMTP_SESSIONS = 20

_REQUIRED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # provider: (required settings, required secrets)
    "smtp": (("host", "port", "security", "from_address"), ()),
    "twilio": (("account_sid",), ("auth_token",)),
    "vonage": (("api_key", "from"), ("api_secret",)),
    "clickatell": ((), ("api_key",)),
    "fcm": (("project_id",), ()),
    "apns": (("topic", "team_id", "key_id"), ("private_key",)),
    "apple_pass": (("pass_type_identifier",), ("certificate_pem", "private_key_pem")),
}


def validate_channel_config(channel: str, provider: str, settings: Mapping[str, str], secrets: Mapping[str, str],
                            *, creating: bool) -> None:
    violations: list[FieldViolation] = []
    try:
        allowed = PROVIDERS_BY_CHANNEL[Channel(channel)]
    except ValueError:
        allowed = frozenset()
    if provider not in allowed:
        violations.append(FieldViolation("channel_config.provider",
                                         f"for {channel} one of {sorted(allowed) or 'EMAIL/SMS/PUSH/PASS providers'}"))
        _fail("CHANNEL_CONFIG_INVALID", "the channel configuration is not valid", violations)
    needed_settings, needed_secrets = _REQUIRED[provider]
    for name in needed_settings:
        if not settings.get(name, "").strip():
            violations.append(FieldViolation(f"channel_config.settings.{name}", "is required"))
    for name in needed_secrets if creating else ():
        if not secrets.get(name, "").strip():
            violations.append(FieldViolation(f"channel_config.secrets.{name}", "is required"))
    if settings.get("base_url") and not _HTTP_URL.match(settings["base_url"]):
        violations.append(FieldViolation("channel_config.settings.base_url", "an http(s) URL"))
    violations += _provider_rules(provider, settings, secrets)
    _fail("CHANNEL_CONFIG_INVALID", "the channel configuration is not valid", violations)


def _provider_rules(provider: str, settings: Mapping[str, str], secrets: Mapping[str, str]) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if provider == "smtp":
        if not settings.get("port", "").isdigit() or not 1 <= int(settings["port"]) <= 65535:
            found.append(FieldViolation("channel_config.settings.port", "1-65535"))
        if settings.get("security") not in ("NONE", "STARTTLS", "TLS"):
            found.append(FieldViolation("channel_config.settings.security", "NONE, STARTTLS or TLS"))
        if settings.get("from_address"):
            found += email_violations(settings["from_address"], "channel_config.settings.from_address")
        sessions = settings.get("max_sessions", "")
        if sessions and not (sessions.isdigit() and 1 <= int(sessions) <= MAX_SMTP_SESSIONS):
            found.append(FieldViolation("channel_config.settings.max_sessions", f"1-{MAX_SMTP_SESSIONS}"))
    elif provider == "twilio":
        if settings.get("account_sid") and not re.fullmatch(r"AC[0-9a-fA-F]{32}", settings["account_sid"]):
            found.append(FieldViolation("channel_config.settings.account_sid", "AC and 32 hexadecimal digits"))
        if settings.get("from_number"):
            found += phone_violations(settings["from_number"], "channel_config.settings.from_number")
        elif not settings.get("messaging_service_sid"):
            found.append(FieldViolation("channel_config.settings.from_number", "from_number or messaging_service_sid"))
    elif provider == "fcm":
        if not (secrets.get("access_token") or secrets.get("service_account_json")):
            found.append(FieldViolation("channel_config.secrets.access_token",
                                        "access_token or service_account_json is required"))
        if secrets.get("service_account_json"):
            try:
                account = loads_bounded(secrets["service_account_json"])
                missing = [k for k in ("client_email", "private_key", "token_uri") if not account.get(k)]
            except JsonTooDeep as exc:
                missing = [f"a JSON object, not one {exc}"]
            except (ValueError, AttributeError):
                missing = ["a JSON object"]
            if missing:
                found.append(FieldViolation("channel_config.secrets.service_account_json", f"needs {missing}"))
            elif not isinstance(pem_keys.private_key(str(account["private_key"])), rsa.RSAPrivateKey):
                found.append(FieldViolation("channel_config.secrets.service_account_json",
                                            "its private_key must be a PEM RSA key (tokens are signed RS256)"))
    elif provider == "apns":
        for name in ("team_id", "key_id"):
            if settings.get(name) and len(settings[name]) != 10:
                found.append(FieldViolation(f"channel_config.settings.{name}", "10 characters"))
        if secrets.get("private_key") and not pem_keys.is_p256_key(secrets["private_key"]):
            found.append(FieldViolation("channel_config.secrets.private_key",
                                        "a PEM P-256 private key (.p8): provider tokens are signed ES256"))
    elif provider == "apple_pass":
        if settings.get("pass_type_identifier") and not settings["pass_type_identifier"].startswith("pass."):
            found.append(FieldViolation("channel_config.settings.pass_type_identifier", "starts with 'pass.'"))
        if settings.get("web_service_url") and not _HTTP_URL.match(settings["web_service_url"]):
            found.append(FieldViolation("channel_config.settings.web_service_url",
                                        "the pass web service's public http(s) URL (Wallet takes https only)"))
        if settings.get("team_identifier") and len(settings["team_identifier"]) != 10:
            found.append(FieldViolation("channel_config.settings.team_identifier", "10 characters"))
        found += _pass_certificate_violations(secrets)
        if secrets.get("wwdr_certificate_pem") and pem_keys.certificate(secrets["wwdr_certificate_pem"]) is None:
            found.append(FieldViolation("channel_config.secrets.wwdr_certificate_pem",
                                        "Apple's WWDR intermediate certificate, PEM"))
    return found


def _pass_certificate_violations(secrets: Mapping[str, str]) -> list[FieldViolation]:
    certificate_pem, key_pem = secrets.get("certificate_pem", ""), secrets.get("private_key_pem", "")
    certificate = pem_keys.certificate(certificate_pem) if certificate_pem else None
    key = pem_keys.private_key(key_pem) if key_pem else None
    found: list[FieldViolation] = []
    if certificate_pem and certificate is None:
        found.append(FieldViolation("channel_config.secrets.certificate_pem", "a PEM X.509 certificate"))
    if key_pem and key is None:
        found.append(FieldViolation("channel_config.secrets.private_key_pem", "a PEM private key"))
    if certificate is not None and key is not None and not pem_keys.belong_together(certificate, key):
        found.append(FieldViolation("channel_config.secrets.private_key_pem", "the key of certificate_pem"))
    return found


def validate_message_cost(cost: Money | None) -> None:
    """A configuration's cost per message: not negative, in a currency code, storable (4 places)."""
    if cost is None:
        return
    path = "channel_config.cost_per_message"
    if not is_currency_code(cost.currency):
        raise InvalidArgument("CHANNEL_CONFIG_INVALID", "cost_per_message needs an ISO 4217 currency code",
                              violations=[FieldViolation(f"{path}.currency_code", "three capital letters")])
    if cost.amount < 0:
        raise InvalidArgument("CHANNEL_CONFIG_INVALID", "cost_per_message must not be negative",
                              violations=[FieldViolation(path, "zero or more")])
    try:
        to_scaled(cost.amount)
    except AmountError as exc:
        raise InvalidArgument("CHANNEL_CONFIG_INVALID", f"cost_per_message: {exc}",
                              violations=[FieldViolation(path, str(exc))]) from exc
