import datetime as dt

from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from server.rpc.convert import timestamp_from_proto


@given(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799), st.integers(0, 999_999_999))
def test_timestamps_convert_as_protobuf_does(seconds: int, nanos: int) -> None:
    # The ingestion hot path's own conversion: the same aware UTC datetime as Timestamp.ToDatetime.
    stamp = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    converted = timestamp_from_proto(stamp)
    expected = stamp.ToDatetime(tzinfo=dt.UTC)
    assert (converted, converted.tzinfo, converted.utcoffset()) == (expected, expected.tzinfo, expected.utcoffset())
