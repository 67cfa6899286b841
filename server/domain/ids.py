"""Resource ids: new_id sorts by creation time (millisecond clock, then randomness), so lists page by id;
uuid4_hexes makes many random ones at once."""

from __future__ import annotations

import os
import secrets
import time


def new_id() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


def uuid4_hexes(count: int) -> list[str]:
    """`count` random UUIDs as uuid.uuid4().hex writes them (32 hex digits, version 4, RFC 4122 variant),
    from one read of the system's random source rather than one per id."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])
    text = raw.hex()
    return [text[start:start + 32] for start in range(0, 32 * count, 32)]
