"""Pickling with cloudpickle when it is installed, and errors that name the culprit."""

from __future__ import annotations

import pickle
from typing import Any

try:
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover - depends on the optional "process" extra
    _pickler = pickle

#: True when cloudpickle is installed, so lambdas and locally defined functions can be pickled.
USES_CLOUDPICKLE = _pickler is not pickle


def pickle_value(value: Any) -> bytes:
    """Pickle ``value`` with the best available pickler.

    Raises:
        TypeError: ``value`` cannot be pickled; the message names its type.
    """
    try:
        data: bytes = _pickler.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
        kind = type(value)
        raise TypeError(
            f"cannot serialize a value of type {kind.__module__}.{kind.__qualname__}: {exc}"
        ) from exc
    return data


def unpickle_value(data: bytes) -> Any:
    """Read bytes made by :func:`pickle_value` (cloudpickle output is plain pickle data)."""
    return pickle.loads(data)
