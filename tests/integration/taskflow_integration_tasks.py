"""Task functions for the process-executor integration tests.

Worker processes import this module by name, so the tests put this folder on ``sys.path``
(workers inherit it) instead of relying on pytest's own import of test modules.
"""

from __future__ import annotations

import math
import os
from typing import Any

from fastapi_taskflow import task_log


def count_primes(limit: int) -> int:
    """CPU-bound work that reports, through ``task_log``, where and what it computed."""
    task_log(f"counting primes below {limit} in process {os.getpid()}")
    count = sum(1 for n in range(2, limit) if all(n % d for d in range(2, math.isqrt(n) + 1)))
    task_log(f"found {count} primes", level="warning", count=count)
    return count


def describe(value: Any) -> str:
    """Accepts anything; used to show what cannot be sent to a worker process."""
    return repr(value)


def refuse(reason: str) -> None:
    """Fails in the worker, so the parent must report the worker's error and stack."""
    raise PermissionError(f"refused: {reason}")


def match_digest(value: Any, *, digest: str) -> None:
    """Succeeds only when ``value`` is what the test sent: its SHA-256 is ``digest``.

    The value itself is never logged or returned, so a test can prove a worker received a
    secret without the secret leaving the worker.
    """
    import hashlib
    import json

    seen = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    if seen != digest:
        raise ValueError("the worker received other arguments than were sent")


def spin_forever(pid_file: str) -> None:
    """A runaway CPU loop: writes its process id, then never returns."""
    with open(pid_file, "w") as out:
        out.write(str(os.getpid()))
    while True:
        pass


def wait_for_file(path: str, patience: float) -> str:
    """Returns once ``path`` exists (polling), so a test decides when this call ends."""
    import time

    deadline = time.monotonic() + patience
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.01)
    return f"saw {os.path.basename(path)} in process {os.getpid()}"
