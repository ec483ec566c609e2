"""Moving a testing kit's fake clock, and knowing when its tasks are at rest."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.application.run_task import DEADLINE_TASK_PREFIX
from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.testing.kit_service import RecordingChanges
from fastapi_taskflow.entrypoints.testing.settle_errors import TasksDidNotSettle

#: Loop turns without any change after which the loop counts as at rest.
_QUIET_TURNS = 3
#: Most loop turns spent waiting for one state to come to rest before giving up on it.
_MAX_TURNS = 100_000
#: Real seconds to wait between looks while work runs outside the loop (a thread, a process).
_POLL = 0.001
#: Later than any one-off run.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=timezone.utc)


class ClockDriver:
    """Runs a kit's service until it is at rest, moving the fake clock where needed.

    At rest means: every task in flight either sleeps on the fake clock (a retry wait) or
    waits for a slot, and the event loop has turned a few times with nothing changing. Work
    outside the loop (threads, processes, real I/O) is polled in real time, up to
    ``timeout`` seconds. Time then jumps to the next moment something is due: a retry, a
    periodic slot or a one-off run.
    """

    def __init__(
        self,
        service: TaskService,
        recorder: RecordingChanges,
        clock: FakeClock,
        *,
        timeout: float,
        max_steps: int,
    ) -> None:
        self._service = service
        self._recorder = recorder
        self._clock = clock
        self._timeout = timeout
        self._max_steps = max_steps

    def _created(self) -> list[TaskRecord]:
        return self._recorder.created_records()

    async def run(self, until: datetime | None) -> list[TaskRecord]:
        """Run until no task is in flight (``until=None``) or until the clock reads
        ``until``; returns the tasks that finished meanwhile, oldest first."""
        service = self._service
        before = {record.task_id for record in self._created() if not record.status.is_live}
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._timeout
        for _ in range(self._max_steps):
            if await self._settle(give_up):
                # Hung attempts were given the kit's timeout of real time; the clock now
                # moves on to their deadlines, and the next wait gets the full timeout again.
                give_up = loop.time() + self._timeout
            in_flight = service.dispatcher.in_flight_tasks()
            task_wakes = [
                moment
                for owner, moment in self._clock.wake_times().items()
                if owner is not None and owner in in_flight.values()
            ]
            task_wakes += self._deadlines(set(in_flight)).values()
            if until is None:
                if not in_flight:
                    break
                if not task_wakes:  # unreachable while _settle holds; kept as a guard
                    raise TasksDidNotSettle(self._stuck_message(in_flight))
                target = min(task_wakes)
            else:
                if self._clock.now() >= until:
                    break
                target = until
            wakes = [*task_wakes, *(await self._schedule_wakes())]
            step = min([moment for moment in wakes if moment > self._clock.now()], default=target)
            self._clock.advance_to(min(step, target))
        else:
            raise TasksDidNotSettle(
                f"time moved {self._max_steps} times and tasks were still in flight "
                f"(now {self._clock.now().isoformat()}): a task that retries for ever, or "
                f"schedules that keep tasks running? {self._in_flight_names()}"
            )
        await service.feed.drain(max(0.0, give_up - loop.time()))
        return [
            record
            for record in self._created()
            if not record.status.is_live and record.task_id not in before
        ]

    async def _settle(self, give_up: float) -> bool:
        """Let the loop run until every task in flight waits on the fake clock or on a slot
        held by one that does, and nothing else moves.

        Returns True when it stopped waiting for tasks still working after ``give_up``
        because each of them has an attempt deadline on the fake clock (a ``timeout``), which
        the clock can be moved to.
        """
        loop = asyncio.get_running_loop()
        last: object = None
        quiet = 0
        for _ in range(_MAX_TURNS):
            await asyncio.sleep(0)
            await self._service.scheduler.settle()
            state = self._state()
            if state != last:
                last, quiet = state, 0
                continue
            quiet += 1
            if quiet < _QUIET_TURNS:
                continue
            working = self._working()
            if not working:
                return False
            if loop.time() > give_up:
                if set(working) <= set(self._deadlines(set(working))):
                    return True
                raise TasksDidNotSettle(self._stuck_message(working))
            await asyncio.sleep(_POLL)
            quiet = 0
        raise TasksDidNotSettle(
            f"the event loop never came to rest after {_MAX_TURNS} turns "
            f"(now {self._clock.now().isoformat()}): {self._in_flight_names()}"
        )

    def _state(self) -> object:
        return (
            self._recorder.revision,
            tuple(self._service.dispatcher.in_flight_tasks()),
            self._clock.sleeping,
        )

    def _deadlines(self, task_ids: set[str]) -> dict[str, datetime]:
        """When the current attempt of each of ``task_ids`` that has a timeout times out."""
        found = {}
        for owner, moment in self._clock.wake_times().items():
            name = owner.get_name() if owner is not None else ""
            if name.startswith(DEADLINE_TASK_PREFIX):
                task_id = name[len(DEADLINE_TASK_PREFIX) :]
                if task_id in task_ids:
                    found[task_id] = moment
        return found

    def _working(self) -> dict[str, asyncio.Task[None]]:
        """Tasks in flight that neither sleep on the fake clock nor wait for a slot."""
        parked = set(self._clock.wake_times())
        working = {}
        for task_id, driver in self._service.dispatcher.in_flight_tasks().items():
            if driver in parked or driver.done():
                continue
            record = self._service.recorder.store.get(task_id)
            if record is not None and record.status is TaskStatus.PENDING:
                continue  # waiting for a slot (max_concurrent_tasks)
            working[task_id] = driver
        return working

    async def _schedule_wakes(self) -> list[datetime]:
        # The next periodic slot, and the next one-off run read from the kit's own memory
        # storage: the scheduler's periodic re-reads of storage (made for runs other
        # instances store) need no stop of their own, so a long jump stays a few steps.
        wakes = [self._service.scheduler.periodic.next_wake()]
        upcoming = await self._service.storage.one_offs_due(_END_OF_TIME, limit=1)
        wakes += [run.run_at for run in upcoming]
        return [moment for moment in wakes if moment is not None]

    def _stuck_message(self, working: dict[str, asyncio.Task[None]]) -> str:
        names = []
        for task_id in working:
            record = self._service.recorder.store.get(task_id)
            names.append(f"{record.func_name if record else '?'} ({task_id})")
        return (
            f"tasks still working after {self._timeout:g}s of real time: {', '.join(names)}. "
            "Under taskflow_test() only the fake clock moves for free; a task awaiting "
            "something else (a network call, an event nobody sets, time.sleep in a thread) "
            "must finish on its own within the kit's timeout"
        )

    def _in_flight_names(self) -> str:
        ids = list(self._service.dispatcher.in_flight_tasks())
        if not ids:
            return "no task in flight"
        records = [self._service.recorder.store.get(task_id) for task_id in ids]
        return "in flight: " + ", ".join(
            f"{record.func_name} ({record.task_id}, {record.status.value}, attempt "
            f"{record.attempt})"
            for record in records
            if record is not None
        )
