import uuid

from server.domain.ids import uuid4_hexes


def test_uuid4_hexes_are_random_version_4_uuids_as_uuid4_writes_them() -> None:
    ids = uuid4_hexes(300)
    assert len(set(ids)) == 300
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, text)


def test_uuid4_hexes_of_none_is_empty() -> None:
    assert uuid4_hexes(0) == []
