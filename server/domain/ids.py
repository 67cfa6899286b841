"""Resource ids that sort by creation time (millisecond clock, then randomness): lists page by id."""

from __future__ import annotations

import secrets
import time


def new_id() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"
