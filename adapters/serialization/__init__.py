"""Serializers for task arguments: tagged JSON for storage, pickle for other processes."""

from __future__ import annotations

from fastapi_taskflow.adapters.serialization.pickle_serializer import PickleSerializer
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer

__all__ = ["PickleSerializer", "TaggedJsonSerializer"]
