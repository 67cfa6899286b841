"""Links on feed items (the reference's basicAccount.link {entityName, url}): where the bank's own app
shows the entity. The URL comes from a template the bank sets per insight (its bank subscription's
accountLinkTemplate) with the account id as the token {accountId}; unset, it is the reference's
"/accounts?accountId={accountId}"."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

ACCOUNT_ID_TOKEN = "{accountId}"
DEFAULT_ACCOUNT_LINK_TEMPLATE = "/accounts?accountId={accountId}"
MAX_LINK_TEMPLATE_LENGTH = 500


def link_template_problem(template: object) -> str | None:
    """Why `template` cannot be an account link template, or None when it can: text of at most
    MAX_LINK_TEMPLATE_LENGTH characters, a path in the app ("/...") or an https URL, holding the token
    {accountId} and no other braces, without spaces or control characters."""
    if not isinstance(template, str) or not 0 < len(template) <= MAX_LINK_TEMPLATE_LENGTH:
        return f"must be text of 1-{MAX_LINK_TEMPLATE_LENGTH} characters"
    if not (template.startswith("/") and not template.startswith("//")) and not template.startswith("https://"):
        return "must be a path starting with / or an https:// URL"
    if ACCOUNT_ID_TOKEN not in template:
        return f"must hold the token {ACCOUNT_ID_TOKEN}"
    rest = template.replace(ACCOUNT_ID_TOKEN, "")
    if "{" in rest or "}" in rest:
        return f"braces only in the token {ACCOUNT_ID_TOKEN}"
    if any(unicodedata.category(char)[0] in "CZ" for char in template):
        return "no spaces or control characters"
    return None


def account_link(template: str, account_id: str) -> dict[str, str]:
    """The link of one account, its id percent-encoded into the template."""
    return {"entityName": "account", "url": template.replace(ACCOUNT_ID_TOKEN, quote(account_id, safe=""))}
