"""Firing one-off runs at their time, holding only those due soon in memory."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.schedules import OneOffRuns

_log = logging.getLogger("fastapi_taskflow.scheduler")

#: Runs due within this window are held in memory, ready to fire.
HORIZON = timedelta(minutes=5)
#: How often the held runs are read again from storage, to see runs other instances stored,
#: moved or cancelled (and runs an instance that died had held).
REFILL_EVERY = timedelta(minutes=1)
#: Most runs held in memory at once; the rest wait in storage for a later refill.
MAX_ARMED = 1000
#: How soon a run whose claim failed (storage unreachable) is tried again.
CLAIM_RETRY = timedelta(seconds=1)

#: Builds the pending task a run starts; ``None`` when this process cannot run it.
RunFactory = Callable[[ScheduledOnce], "TaskRecord | None"]
Launch = Callable[[TaskRecord], None]


class OneOffSchedules:
    """Stored one-off runs, fired once across instances.

    Storage holds every run; this process holds only those due within :data:`HORIZON`, at
    most :data:`MAX_ARMED`, so memory stays bounded however many are stored. Every instance
    may hold the same run: the claim in storage (:meth:`OneOffRuns.claim_one_off`) lets one
    of them fire it, and refuses versions that were replaced or cancelled meanwhile.
    """

    def __init__(
        self,
        *,
        runs: OneOffRuns,
        new_run: RunFactory,
        launch: Launch,
        horizon: timedelta = HORIZON,
        refill_every: timedelta = REFILL_EVERY,
        max_armed: int = MAX_ARMED,
    ) -> None:
        self._runs = runs
        self._new_run = new_run
        self._launch = launch
        self._horizon = horizon
        self._refill_every = refill_every
        self._max_armed = max_armed
        # Held runs by key, and a heap of (when to fire, key, token); heap entries whose token
        # is no longer the held one are left behind by replacements and skipped.
        self._armed: dict[str, ScheduledOnce] = {}
        self._heap: list[tuple[datetime, str, str]] = []
        self._refill_at: datetime | None = None
        self._truncated = False
        self._unknown: set[str] = set()
        # Claims whose outcome storage never told, by run key, with the record they carry:
        # tried again until storage answers, even once the run has left storage (the
        # claim may have been the one that removed it).
        self._unsettled: dict[str, tuple[ScheduledOnce, TaskRecord]] = {}

    @property
    def armed(self) -> int:
        """Runs held in memory, ready to fire."""
        return len(self._armed)

    def next_wake(self) -> datetime | None:
        """When a held run is due, or the next refill, whichever comes first."""
        while self._heap and not self._current(self._heap[0]):
            heapq.heappop(self._heap)
        candidates = [moment for moment in (self._refill_at,) if moment is not None]
        if self._heap:
            candidates.append(self._heap[0][0])
        return min(candidates, default=None)

    async def start(self, now: datetime) -> None:
        """Hold the runs due soon; when storage cannot be read, try again shortly."""
        try:
            await self.refill(now)
        except Exception:
            _log.exception("could not read the stored one-off runs; will retry")
            self._refill_at = now + CLAIM_RETRY

    async def refill(self, now: datetime) -> None:
        """Hold the runs storage has due within the horizon (and forget all others)."""
        due = await self._runs.one_offs_due(now + self._horizon, limit=self._max_armed)
        self._armed = {run.run_key: run for run in due}
        self._heap = [(run.run_at, run.run_key, run.token) for run in due]
        for key, (run, _) in self._unsettled.items():
            if key not in self._armed:
                self._armed[key] = run
                self._heap.append((now, key, run.token))
        heapq.heapify(self._heap)
        self._truncated = len(due) >= self._max_armed
        self._refill_at = now + self._refill_every

    def arm(self, run: ScheduledOnce, now: datetime) -> None:
        """``run`` was just stored by this process: hold it if it is due soon."""
        if self._refill_at is None:
            return  # not started: the first refill will find it
        self._armed.pop(run.run_key, None)
        if run.run_at >= now + self._horizon:
            return
        if len(self._armed) >= self._max_armed:
            self._truncated = True
            return
        self._armed[run.run_key] = run
        heapq.heappush(self._heap, (run.run_at, run.run_key, run.token))

    def disarm(self, run_key: str) -> None:
        """``run_key`` was cancelled by this process."""
        self._armed.pop(run_key, None)

    def stop(self) -> None:
        self._armed.clear()
        self._heap.clear()
        self._unsettled.clear()
        self._refill_at = None

    async def fire_due(self, now: datetime) -> int:
        """Claim every held run due at ``now``, concurrently; returns how many this instance
        won."""
        return sum(await asyncio.gather(*(self.claim(run, now) for run in await self.due(now))))

    async def due(self, now: datetime) -> list[ScheduledOnce]:
        """The held runs due at ``now`` (refilling first when it is time), no longer held:
        each is claimed separately (see :meth:`claim`)."""
        if self._refill_at is not None and self._refill_at <= now:
            await self.refill(now)
        found = []
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)
            if self._current(entry):
                found.append(self._armed.pop(entry[1]))
        if self._truncated and not self._armed and self._refill_at is not None:
            self._refill_at = now  # more are waiting in storage: fetch them now
        return found

    async def claim(self, run: ScheduledOnce, now: datetime) -> bool:
        """Try to win ``run`` and start its task.

        When storage cannot be reached the outcome is unknown, so the same claim, with the
        same record, is tried again soon: a repeated claim that had won reports it (see
        :meth:`OneOffRuns.claim_one_off`), so the task is neither lost nor started twice.
        """
        kept = self._unsettled.pop(run.run_key, None)
        if kept is not None and kept[0].token != run.token:
            await self._settle_replaced(*kept)
            kept = None
        record = kept[1] if kept is not None else self._new_run(run)
        if record is None:
            if run.func_name not in self._unknown:
                self._unknown.add(run.func_name)
                _log.warning(
                    "one-off run %r calls %r, which this process has not registered; "
                    "leaving it to an instance that has",
                    run.run_key,
                    run.func_name,
                )
            return False
        try:
            won = await self._runs.claim_one_off(run.run_key, run.token, record)
        except Exception:
            _log.exception("one-off run %r: could not claim it; will retry", run.run_key)
            self._unsettled[run.run_key] = (run, record)
            if self._refill_at is not None and run.run_key not in self._armed:
                self._armed[run.run_key] = run
                heapq.heappush(self._heap, (now + CLAIM_RETRY, run.run_key, run.token))
            return False
        if won:
            self._launch(record)
        return won

    async def _settle_replaced(self, run: ScheduledOnce, record: TaskRecord) -> None:
        # The run was replaced after a claim of its older version went unanswered; that claim
        # may still have won, in which case its task is stored and must start.
        try:
            won = await self._runs.claim_one_off(run.run_key, run.token, record)
        except Exception:
            _log.exception("one-off run %r: could not settle an earlier claim", run.run_key)
            return
        if won:
            self._launch(record)

    def _current(self, entry: tuple[datetime, str, str]) -> bool:
        held = self._armed.get(entry[1])
        return held is not None and held.token == entry[2]
