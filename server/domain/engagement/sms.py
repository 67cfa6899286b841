"""SMS length: GSM-7 (160 septets, 153 per part when concatenated) or UCS-2 (70 UTF-16 units, 67 per
part). Characters of the GSM 03.38 extension table take two septets and never straddle two parts."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import FieldViolation

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
MAX_SMS_SEGMENTS = 10


@dataclass(frozen=True)
class SmsSegments:
    encoding: str  # "GSM_7" | "UCS_2"
    units: int  # septets or UTF-16 code units
    segments: int
    per_segment: int


def is_gsm7(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def sms_segments(text: str) -> SmsSegments:
    if is_gsm7(text):
        sizes = [2 if c in GSM_EXTENSION else 1 for c in text]
        return _count("GSM_7", sizes, 160, 153)
    # UTF-16: a character outside the basic plane is a surrogate pair that cannot be split.
    sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return _count("UCS_2", sizes, 70, 67)


def _count(encoding: str, sizes: list[int], single: int, multi: int) -> SmsSegments:
    total = sum(sizes)
    if total == 0:
        return SmsSegments(encoding, 0, 0, single)
    if total <= single:
        return SmsSegments(encoding, total, 1, single)
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return SmsSegments(encoding, total, segments, multi)


def check_sms_text(text: str, field: str = "text") -> list[FieldViolation]:
    if not text.strip():
        return [FieldViolation(field, "is required")]
    segments = sms_segments(text)
    if segments.segments > MAX_SMS_SEGMENTS:
        return [FieldViolation(field, f"takes {segments.segments} {segments.encoding} segments; at most "
                                      f"{MAX_SMS_SEGMENTS}")]
    return []
