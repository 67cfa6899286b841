"""Our error code for what a provider reported: its own code where that is a short token or number (as
documented ones are: Twilio's 21211, APNs' BadDeviceToken), else a fallback, so that error codes stay
stable and free text never becomes one."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def provider_code(prefix: str, code: object, fallback: int | str) -> str:
    """PREFIX_code, or PREFIX_fallback (usually the HTTP status) when the code is no token."""
    text = str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else ""
    return f"{prefix}_{text if _TOKEN.fullmatch(text) else fallback}"
