"""Write-behind buffering of task changes, committed to storage in batches."""

from __future__ import annotations

import asyncio
import logging
import threading

from fastapi_taskflow.domain.errors import StorageBacklogFull
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.storage import TaskRepository

_log = logging.getLogger("fastapi_taskflow.storage")

#: Longest pause between attempts while storage is failing.
MAX_RETRY_PAUSE = 5.0


class WriteBehind:
    """Collects record snapshots and commits them in batches (group commit).

    ``put()`` never does I/O, so enqueueing stays cheap on the request path. Several changes to
    one task before the next commit collapse into its latest snapshot. A background loop commits
    whatever has accumulated whenever something arrives; ``flush()`` lets a caller wait until
    everything put so far is stored (before an HTTP response that carries new task ids, at
    shutdown, before a query). While storage fails, snapshots stay buffered and are retried with
    a growing pause; nothing is dropped.

    The buffer is bounded by ``max_backlog`` through admission: :meth:`admit` (called before a
    new task is accepted) refuses once that many changes wait, with one clear log line, while
    changes of tasks already accepted are always taken. Since a task has at most one buffered
    snapshot, the buffer cannot outgrow the limit by more than the tasks already in flight.
    """

    def __init__(
        self,
        storage: TaskRepository,
        clock: Clock,
        *,
        batch_size: int = 500,
        max_backlog: int = 100_000,
    ) -> None:
        if max_backlog < 1:
            raise ValueError(f"max_backlog must be >= 1, got {max_backlog!r}")
        self._storage = storage
        self._clock = clock
        self._batch_size = batch_size
        self._max_backlog = max_backlog
        self._pending: dict[str, TaskRecord] = {}
        self._in_flight = 0
        self._lock = threading.Lock()
        self._commit_lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task[None] | None = None
        self._failing = False
        self._refusing = False

    @property
    def backlog(self) -> int:
        """Snapshots not yet committed: waiting, or in a commit still under way."""
        return len(self._pending) + self._in_flight

    @property
    def max_backlog(self) -> int:
        return self._max_backlog

    def admit(self) -> None:
        """Check there is room for a new task's changes. Safe from any thread.

        Raises:
            StorageBacklogFull: ``max_backlog`` changes are waiting for storage.
        """
        backlog = self.backlog
        if backlog < self._max_backlog:
            return
        if not self._refusing:
            self._refusing = True
            _log.error(
                "%d task changes are waiting to be written to storage (max_backlog=%d); new "
                "tasks are refused until storage catches up",
                backlog,
                self._max_backlog,
            )
        raise StorageBacklogFull(backlog, self._max_backlog)

    def put(self, record: TaskRecord) -> None:
        """Queue a snapshot of ``record`` for the next commit. Safe from any thread."""
        snapshot = record.copy()
        with self._lock:
            self._pending[record.task_id] = snapshot
        self._signal()

    def start(self) -> None:
        """Start committing in the background on the running loop."""
        if self._runner is not None and not self._runner.done():
            return
        self._loop = asyncio.get_running_loop()
        self._commit_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._runner = self._loop.create_task(self._run(), name="taskflow-write-behind")
        if self._pending:
            self._wake.set()

    async def stop(self) -> bool:
        """Stop the background loop after a last flush; True when everything was stored."""
        stored = await self.flush()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        self._loop = None
        return stored

    async def flush(self) -> bool:
        """Commit everything queued so far. False (after logging) if storage refused it."""
        if self._commit_lock is None:
            self._commit_lock = asyncio.Lock()
        async with self._commit_lock:
            while self._pending:
                if not await self._commit_batch():
                    return False
        return True

    async def _run(self) -> None:
        assert self._wake is not None
        pause = 0.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if await self.flush():
                pause = 0.0
                continue
            pause = min(MAX_RETRY_PAUSE, max(0.05, pause * 2))
            await self._clock.sleep(pause)
            self._wake.set()

    async def _commit_batch(self) -> bool:
        with self._lock:
            batch = dict(list(self._pending.items())[: self._batch_size])
            for task_id in batch:
                del self._pending[task_id]
            self._in_flight = len(batch)
        try:
            await self._storage.save(list(batch.values()))
        except Exception as exc:
            with self._lock:
                for task_id, snapshot in batch.items():
                    # A newer snapshot queued meanwhile supersedes the one that failed.
                    self._pending.setdefault(task_id, snapshot)
            if not self._failing:
                _log.error(
                    "could not write %d task changes to storage (%s); they stay buffered "
                    "and will be retried",
                    len(batch),
                    exc,
                )
            self._failing = True
            return False
        finally:
            self._in_flight = 0
        if self._failing:
            _log.warning("storage is reachable again; buffered task changes are being written")
            self._failing = False
        if self._refusing and self.backlog < self._max_backlog:
            self._refusing = False
            _log.warning("the storage backlog is below max_backlog again; accepting new tasks")
        return True

    def _signal(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)
