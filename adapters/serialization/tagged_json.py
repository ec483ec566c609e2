"""JSON serialization that also round-trips the Python values JSON has no word for."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi_taskflow.adapters.serialization.pickling import pickle_value, unpickle_value

#: The key that marks an encoded object as a tagged value rather than a plain dict.
TAG = "__tf__"
_VALUE = "v"

_PLAIN_SCALARS = (str, int, float, bool)


class TaggedJsonSerializer:
    """Encodes task arguments as readable JSON, tagging what JSON alone would lose.

    Plain data (``None``, ``bool``, ``int``, ``float``, ``str``, lists and dicts with string keys)
    is written as ordinary JSON. Tuples, bytes, datetimes, sets, frozensets and dicts with other
    keys become small tagged objects such as ``{"__tf__": "tuple", "v": [1, 2]}``, so that
    ``loads(dumps(value)) == value`` keeps their types. Anything else that can be pickled is
    pickled (with cloudpickle when installed) and embedded as base64; a plain dict that happens
    to use the tag key is escaped so it is never mistaken for a tagged value.

    Loading a pickled value can run arbitrary code: only load data this application wrote.
    """

    def dumps(self, value: Any) -> bytes:
        """Encode ``value`` as UTF-8 JSON.

        Raises:
            TypeError: a value (or a nested one) cannot be encoded; the message names its type.
        """
        return json.dumps(_encode(value), separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        """Decode bytes made by :meth:`dumps`."""
        return json.loads(data, object_hook=_decode_object)


def _encode(value: Any) -> Any:
    kind = type(value)
    # Exact type checks: subclasses (enums, named tuples, ...) must keep their class, so they
    # take the pickle path below instead of decaying into their JSON base type.
    if value is None or kind in _PLAIN_SCALARS:
        return value
    if kind is list:
        return [_encode(item) for item in value]
    if kind is dict:
        return _encode_dict(value)
    encoder = _TAGGED_ENCODERS.get(kind)
    if encoder is not None and not (kind is datetime and _has_named_zone(value)):
        return {TAG: kind.__name__, _VALUE: encoder(value)}
    return {TAG: "pickle", _VALUE: _b64(pickle_value(value))}


def _has_named_zone(value: datetime) -> bool:
    # An ISO string keeps only the UTC offset. For a zone like Europe/Paris that is not enough:
    # around DST changes Python never considers the fixed-offset copy equal to the original,
    # so such datetimes are pickled, which keeps the zone itself.
    return value.tzinfo is not None and type(value.tzinfo) is not timezone


def _encode_dict(value: dict[Any, Any]) -> Any:
    if TAG not in value and all(type(key) is str for key in value):
        return {key: _encode(item) for key, item in value.items()}
    pairs = [[_encode(key), _encode(item)] for key, item in value.items()]
    return {TAG: "dict", _VALUE: pairs}


def _encode_items(value: tuple[Any, ...] | set[Any] | frozenset[Any]) -> list[Any]:
    return [_encode(item) for item in value]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_TAGGED_ENCODERS: dict[type, Callable[[Any], Any]] = {
    tuple: _encode_items,
    set: _encode_items,
    frozenset: _encode_items,
    bytes: _b64,
    datetime: datetime.isoformat,
}

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "bytes": base64.b64decode,
    "datetime": datetime.fromisoformat,
    "dict": lambda pairs: {key: item for key, item in pairs},
    "pickle": lambda text: unpickle_value(base64.b64decode(text)),
}


def _decode_object(obj: dict[str, Any]) -> Any:
    # json calls this innermost first, so the payload of a tagged value is already decoded.
    tag = obj.get(TAG)
    if tag is None:
        return obj
    try:
        decoder = _DECODERS[tag]
    except KeyError:
        raise ValueError(f"unknown tagged JSON value {tag!r}") from None
    return decoder(obj[_VALUE])
