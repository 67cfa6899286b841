import re
import time
import uuid

from server.domain.ids import time_ordered_hexes, uuid4_hexes


def test_uuid4_hexes_are_random_version_4_uuids_as_uuid4_writes_them() -> None:
    ids = uuid4_hexes(300)
    assert len(set(ids)) == 300
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, text)


def test_uuid4_hexes_of_none_is_empty() -> None:
    assert uuid4_hexes(0) == []


def test_time_ordered_hexes_are_32_hex_digits_that_sort_by_time() -> None:
    before = time_ordered_hexes(200)
    time.sleep(0.002)  # a later millisecond
    after = time_ordered_hexes(200)
    assert len(set(before + after)) == 400
    assert all(re.fullmatch("[0-9a-f]{32}", text) for text in before + after)
    assert max(before) < min(after)


def test_time_ordered_hexes_of_none_is_empty() -> None:
    assert time_ordered_hexes(0) == []
