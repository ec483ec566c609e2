"""PickleSerializer: any picklable value reaches another process intact."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from fastapi_taskflow.adapters.serialization.pickle_serializer import PickleSerializer
from fastapi_taskflow.adapters.serialization.pickling import USES_CLOUDPICKLE

serializer = PickleSerializer()


def test_values_round_trip() -> None:
    value = ((1, b"x"), {"when": datetime(2026, 1, 1, tzinfo=timezone.utc)}, {3, 4})

    assert serializer.loads(serializer.dumps(value)) == value


@pytest.mark.skipif(not USES_CLOUDPICKLE, reason="plain pickle cannot carry lambdas")
def test_lambdas_travel_when_cloudpickle_is_installed() -> None:
    offset = 10
    restored = serializer.loads(serializer.dumps(lambda x: x + offset))

    assert restored(5) == 15


def test_an_unpicklable_value_raises_type_error_naming_its_type() -> None:
    with pytest.raises(TypeError, match="lock"):
        serializer.dumps(threading.Lock())
