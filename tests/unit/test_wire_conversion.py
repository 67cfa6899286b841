import datetime as dt

import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.rpc.convert import timestamp_from_proto, update_mask_paths


@given(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799), st.integers(0, 999_999_999))
def test_timestamps_convert_as_protobuf_does(seconds: int, nanos: int) -> None:
    # The ingestion hot path's own conversion: the same aware UTC datetime as Timestamp.ToDatetime.
    stamp = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    converted = timestamp_from_proto(stamp, "post_time")
    expected = stamp.ToDatetime(tzinfo=dt.UTC)
    assert (converted, converted.tzinfo, converted.utcoffset()) == (expected, expected.tzinfo, expected.utcoffset())


@given(st.one_of(st.tuples(st.integers(min_value=-2**63, max_value=-62_135_596_801), st.integers(0, 999_999_999)),
                 st.tuples(st.integers(min_value=253_402_300_800, max_value=2**63 - 1), st.integers(0, 999_999_999)),
                 st.tuples(st.integers(-62_135_596_800, 253_402_300_799),
                           st.one_of(st.integers(max_value=-1, min_value=-2**31),
                                     st.integers(min_value=1_000_000_000, max_value=2**31 - 1)))))
def test_timestamps_protobuf_refuses_are_invalid_arguments_naming_the_field(seconds_and_nanos) -> None:
    seconds, nanos = seconds_and_nanos
    with pytest.raises(InvalidArgument) as raised:
        timestamp_from_proto(timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos), "campaign.send_time")
    assert raised.value.code == "TIMESTAMP_INVALID"
    assert [v.field for v in raised.value.violations] == ["campaign.send_time"]
    with pytest.raises(ValueError):
        timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos).ToDatetime()


PATHS = st.lists(st.sampled_from(["display_name", "description", "state", "settings.x", "name"]), max_size=6)


@given(PATHS, st.sets(st.sampled_from(["display_name", "description", "settings.x"])))
def test_an_update_mask_names_one_or_more_fields_the_update_may_change(paths: list[str], allowed: set[str]) -> None:
    mask = field_mask_pb2.FieldMask(paths=paths)
    if paths and set(paths) <= allowed:
        assert update_mask_paths(mask, allowed) == paths
        return
    with pytest.raises(InvalidArgument) as raised:
        update_mask_paths(mask, allowed)
    assert raised.value.code == ("UPDATE_MASK_INVALID" if paths else "UPDATE_MASK_REQUIRED")
    assert [v.field for v in raised.value.violations] == ["update_mask"]
    assert all(path in raised.value.message for path in set(paths) - allowed)
