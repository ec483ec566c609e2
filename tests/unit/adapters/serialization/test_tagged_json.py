"""TaggedJsonSerializer: readable JSON for plain data, exact round trips for everything else."""

from __future__ import annotations

import json
import threading
from collections import namedtuple
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.domain.status import TaskStatus

serializer = TaggedJsonSerializer()

Point = namedtuple("Point", "x y")


def roundtrip(value: Any) -> Any:
    return serializer.loads(serializer.dumps(value))


def test_plain_data_is_written_as_ordinary_json() -> None:
    value = {"name": "report", "ids": [1, 2, 3], "ratio": 0.5, "ok": True, "none": None}

    assert json.loads(serializer.dumps(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        (1, "two", 3.0),
        b"\x00\xffbinary",
        datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc),
        datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 3, 1, 12, 30),
        {1, 2, 3},
        frozenset({"a", "b"}),
        {1: "int key", (2, 3): "tuple key"},
        {"__tf__": "a user's own key", "other": 1},
        [(1, 2), {"nested": (b"x", {4})}],
    ],
)
def test_values_json_cannot_express_keep_their_type(value: Any) -> None:
    result = roundtrip(value)

    assert result == value
    assert type(result) is type(value)


def test_naive_and_aware_datetimes_stay_as_they_were() -> None:
    aware = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))

    assert roundtrip(aware).utcoffset() == timedelta(hours=2)
    assert roundtrip(datetime(2026, 1, 1)).tzinfo is None


@pytest.mark.parametrize(
    "value",
    [Decimal("1.10"), TaskStatus.FAILED, Point(1, 2), timedelta(seconds=3)],
)
def test_other_picklable_objects_round_trip_through_pickle(value: Any) -> None:
    result = roundtrip(value)

    assert result == value
    assert type(result) is type(value)


def test_a_value_that_cannot_be_encoded_raises_type_error_naming_its_type() -> None:
    with pytest.raises(TypeError, match="lock"):
        serializer.dumps({"args": [threading.Lock()]})


def test_unknown_tags_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown tagged JSON value"):
        serializer.loads(b'{"__tf__": "mystery", "v": 1}')


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.datetimes()
    | st.datetimes(timezones=st.timezones())
)
_hashables = st.recursive(_scalars, lambda inner: st.tuples(inner, inner), max_leaves=5)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.dictionaries(_hashables, inner, max_size=3)
        | st.frozensets(_hashables, max_size=4)
        | st.sets(_hashables, max_size=4)
    ),
    max_leaves=20,
)


@settings(database=None)
@given(_values)
def test_every_supported_value_round_trips(value: Any) -> None:
    assert roundtrip(value) == value
