"""The dashboard page (being written)."""

from __future__ import annotations

from typing import Any


def mount_dashboard(app: Any, manager: Any, *, path: str, title: str, poll_interval: float) -> None:
    return None
