"""Clocks: the real one and a fake one for tests."""

from __future__ import annotations

from fastapi_taskflow.adapters.clock.fake_clock import FakeClock
from fastapi_taskflow.adapters.clock.system_clock import SystemClock

__all__ = ["FakeClock", "SystemClock"]
