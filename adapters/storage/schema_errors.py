"""Errors about the version of what a store holds, shared by the storage adapters."""

from __future__ import annotations


class SchemaTooNew(RuntimeError):
    """The store was written by a newer version of fastapi-taskflow."""
