"""Shared pytest fixtures for the fastapi-taskflow test suite."""

from __future__ import annotations
