"""Pickle serialization, for carrying task arguments to another process."""

from __future__ import annotations

from typing import Any

from fastapi_taskflow.adapters.serialization.pickling import pickle_value, unpickle_value


class PickleSerializer:
    """Encodes any picklable value; uses cloudpickle when it is installed.

    Meant for process transport, where both ends are this application. Never load data from a
    source you do not trust: unpickling can run arbitrary code.
    """

    def dumps(self, value: Any) -> bytes:
        """Pickle ``value``.

        Raises:
            TypeError: ``value`` cannot be pickled; the message names its type.
        """
        return pickle_value(value)

    def loads(self, data: bytes) -> Any:
        """Unpickle bytes made by :meth:`dumps`."""
        return unpickle_value(data)
