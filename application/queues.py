"""The named queues of one process: their limits, live changes, backpressure and statistics."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping

import attrs

from fastapi_taskflow.application.queue_limiter import QueueLimiter
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.domain.queue import (
    DEFAULT_QUEUE,
    QueueConfig,
    check_queue_name,
    retry_after_seconds,
    unknown_queue,
)
from fastapi_taskflow.ports.queue_settings import QueueSettings

_log = logging.getLogger("fastapi_taskflow.queues")

#: Weight of the newest duration in a queue's moving average.
DURATION_SMOOTHING = 0.2


class Keep(enum.Enum):
    """Marks a setting left unchanged by :meth:`Queues.update`."""

    KEEP = "keep"


KEEP = Keep.KEEP


@attrs.frozen(kw_only=True)
class QueueStats:
    """One queue at the moment of asking, in this process."""

    name: str
    concurrency: int | None
    max_size: int | None
    fair_by: str | None
    #: Tasks waiting to start (including those due to start after their response).
    pending: int
    running: int
    #: Tasks refused since this process started.
    rejected: int
    #: Tasks finished since this process started.
    finished: int
    #: Moving average of recent task durations in seconds (``None`` before the first).
    avg_duration: float | None

    @property
    def full(self) -> bool:
        """Whether ``add_task()`` would refuse a task of this queue now."""
        return self.max_size is not None and self.pending >= self.max_size

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "max_size": self.max_size,
            "fair_by": self.fair_by,
            "pending": self.pending,
            "running": self.running,
            "rejected": self.rejected,
            "finished": self.finished,
            "avg_duration": self.avg_duration,
            "full": self.full,
        }


@attrs.frozen
class Refusal:
    """Why a queue cannot take one more task right now."""

    max_size: int
    waiting: int
    retry_after: int


class Queues:
    """Holds one :class:`QueueLimiter` per configured queue and the queues' current limits.

    ``"default"`` always exists. Limits changed with :meth:`update` are saved in storage;
    :meth:`load` applies the saved ones (at start-up and on each maintenance tick, which is
    how other instances pick a change up). The number of waiting tasks is read from the
    working set, so it counts tasks due to start after their response too.
    """

    def __init__(
        self,
        *,
        store: TaskStore,
        settings: QueueSettings,
        queues: Iterable[tuple[str, QueueConfig]] | Mapping[str, QueueConfig] | None = None,
        default_concurrency: int | None = None,
        default_max_size: int | None = None,
    ) -> None:
        pairs = list(queues.items() if isinstance(queues, Mapping) else queues or ())
        configs: dict[str, QueueConfig] = {}
        for name, config in pairs:
            check_queue_name(name)
            if not isinstance(config, QueueConfig):
                raise ValueError(
                    f"queues[{name!r}] must be a QueueConfig, got {type(config).__name__}"
                )
            configs[name] = config
        if DEFAULT_QUEUE not in configs:
            configs[DEFAULT_QUEUE] = QueueConfig(
                concurrency=default_concurrency, max_size=default_max_size
            )
        elif default_max_size is not None and configs[DEFAULT_QUEUE].max_size is None:
            configs[DEFAULT_QUEUE] = attrs.evolve(
                configs[DEFAULT_QUEUE], max_size=default_max_size
            )
        self._store = store
        self._settings = settings
        self._configs = configs
        self._limiters = {
            name: QueueLimiter(config.concurrency, config.fair_by)
            for name, config in configs.items()
        }
        self._rejected = dict.fromkeys(configs, 0)
        self._finished = dict.fromkeys(configs, 0)
        self._durations: dict[str, float] = {}
        self._warned: set[str] = set()

    # -- names and limits --------------------------------------------------------------

    def names(self) -> list[str]:
        """The configured queues, ``"default"`` first."""
        return [DEFAULT_QUEUE, *sorted(name for name in self._configs if name != DEFAULT_QUEUE)]

    def config(self, name: str) -> QueueConfig:
        """The current limits of ``name``; ``KeyError`` for an unknown queue."""
        try:
            return self._configs[name]
        except KeyError:
            raise KeyError(f"unknown queue {name!r}; configured queues: {self.names()}") from None

    def check(self, name: object) -> str:
        """``name`` when it is a configured queue; ``ValueError`` naming the known ones."""
        checked = check_queue_name(name)
        if checked not in self._configs:
            raise unknown_queue(checked, self.names())
        return checked

    def limiter(self, name: str) -> QueueLimiter:
        """The slots of queue ``name``.

        A task stored with a queue this process does not know (the configuration changed,
        or another release enqueued it) waits in ``"default"``; that is logged once per name.
        """
        limiter = self._limiters.get(name)
        if limiter is not None:
            return limiter
        if name not in self._warned:
            self._warned.add(name)
            _log.warning("tasks of unknown queue %r run in the default queue", name)
        return self._limiters[DEFAULT_QUEUE]

    # -- live changes ------------------------------------------------------------------

    async def update(
        self,
        name: str,
        *,
        concurrency: int | Keep | None = KEEP,
        max_size: int | Keep | None = KEEP,
        fair_by: str | Keep | None = KEEP,
    ) -> QueueConfig:
        """Change the limits of queue ``name`` now, and save them for restarts and other
        instances. Omitted settings keep their value.

        Raises:
            KeyError: ``name`` is not a configured queue.
            ValueError: A setting is invalid.
        """
        current = self.config(name)
        changed = QueueConfig(
            concurrency=current.concurrency if concurrency is KEEP else concurrency,
            max_size=current.max_size if max_size is KEEP else max_size,
            fair_by=current.fair_by if fair_by is KEEP else fair_by,
        )
        # Saved first: when storage refuses the change, this process does not diverge from
        # what the other instances (and the next start) will read.
        await self._settings.save_queue_config(name, changed)
        self.apply(name, changed)
        return changed

    def apply(self, name: str, config: QueueConfig) -> None:
        """Use ``config`` for queue ``name`` in this process (not saved)."""
        self.config(name)
        self._configs[name] = config
        limiter = self._limiters[name]
        limiter.regroup(config.fair_by)
        limiter.resize(config.concurrency)

    async def load(self) -> int:
        """Apply the limits saved in storage to the queues this process knows; returns how
        many queues changed. Saved limits of queues not configured here are ignored."""
        changed = 0
        for name, config in (await self._settings.queue_configs()).items():
            if name in self._configs and self._configs[name] != config:
                self.apply(name, config)
                changed += 1
        return changed

    # -- backpressure and statistics ---------------------------------------------------

    def refusal(self, name: str) -> Refusal | None:
        """Why queue ``name`` cannot take another task now, or ``None`` when it can."""
        config = self._configs.get(name)
        if config is None or config.max_size is None:
            return None
        waiting = self._store.pending_in(name)
        if waiting < config.max_size:
            return None
        return Refusal(config.max_size, waiting, self.retry_after(name, waiting))

    def retry_after(self, name: str, waiting: int | None = None) -> int:
        """Seconds a client refused by queue ``name`` should wait (see
        :func:`~fastapi_taskflow.domain.queue.retry_after_seconds`)."""
        return retry_after_seconds(
            waiting=self._store.pending_in(name) if waiting is None else waiting,
            concurrency=self.config(name).concurrency,
            mean_duration=self._durations.get(name),
        )

    def rejected(self, name: str) -> None:
        """Count a task refused by queue ``name``."""
        if name in self._rejected:
            self._rejected[name] += 1

    def finished(self, name: str, duration: float | None) -> None:
        """Count a finished run of queue ``name`` and fold its duration into the average."""
        if name not in self._finished:
            return
        self._finished[name] += 1
        if duration is None or duration < 0:
            return
        previous = self._durations.get(name)
        self._durations[name] = (
            duration if previous is None else previous + DURATION_SMOOTHING * (duration - previous)
        )

    def stats(self) -> list[QueueStats]:
        """Every configured queue, ``"default"`` first."""
        return [self._stats(name) for name in self.names()]

    def _stats(self, name: str) -> QueueStats:
        config = self._configs[name]
        return QueueStats(
            name=name,
            concurrency=config.concurrency,
            max_size=config.max_size,
            fair_by=config.fair_by,
            pending=self._store.pending_in(name),
            running=self._limiters[name].held,
            rejected=self._rejected[name],
            finished=self._finished[name],
            avg_duration=self._durations.get(name),
        )
