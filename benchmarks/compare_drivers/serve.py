"""The benchmark application for uvicorn, configured by environment variables.

``BENCH_STORAGE``, ``BENCH_PER_REQUEST``, ``BENCH_TASK_KIND``, ``BENCH_WORK_MS``,
``BENCH_DONE_LOG``, ``BENCH_CRASH_SAFE``, ``BENCH_MAX_CONCURRENT`` and ``BENCH_LEASE_TTL`` are
passed to
:func:`subject_app.build`.

    BENCH_SUBJECT_KIND=current python -m uvicorn serve:app --app-dir benchmarks/compare_drivers
"""

from __future__ import annotations

import os

from subject_app import build

_concurrency = os.environ.get("BENCH_MAX_CONCURRENT")
_lease = os.environ.get("BENCH_LEASE_TTL")

app = build(
    os.environ.get("BENCH_STORAGE", "memory"),
    per_request=int(os.environ.get("BENCH_PER_REQUEST", "1")),
    task_kind=os.environ.get("BENCH_TASK_KIND", "async"),
    work_ms=float(os.environ.get("BENCH_WORK_MS", "0")),
    done_log=os.environ.get("BENCH_DONE_LOG") or None,
    crash_safe=os.environ.get("BENCH_CRASH_SAFE") == "1",
    max_concurrent=int(_concurrency) if _concurrency else None,
    lease_ttl=float(_lease) if _lease else None,
).app
