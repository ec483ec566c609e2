"""The names of everything the Redis store keeps, all under one key prefix.

Every key starts with ``{prefix}:``, so several applications (or test runs) can share one Redis
database, and deleting ``{prefix}:*`` removes one store completely. Values that end a key name
(task ids, function names, tag pairs) are written as they are: each family of keys has its own
fixed stem, so two families never produce the same name.
"""

from __future__ import annotations

import json

from fastapi_taskflow.domain.status import TaskStatus


class RedisKeys:
    """Key names of one store.

    Indexes (``by:*`` and ``unfinished``) are sorted sets whose members all have score 0 and
    sort by name: ``"<created_at>|<task_id>"`` (see
    :mod:`~fastapi_taskflow.adapters.storage.redis_ordering`), which is the order of the pages.
    """

    def __init__(self, prefix: str) -> None:
        if not prefix:
            raise ValueError("the Redis key prefix must not be empty")
        self.prefix = prefix
        #: The version of the layout below, as an integer string.
        self.schema = f"{prefix}:schema"
        #: Stem of the per-task hashes (record and the plain fields scripts read).
        self.task_stem = f"{prefix}:task:"
        #: Stem of the per-task sets of idempotency keys the task holds.
        self.held_keys_stem = f"{prefix}:task-keys:"
        #: Stem of the idempotency keys (string: id of the task holding the key).
        self.idempotency_stem = f"{prefix}:idempotency:"
        #: Every task, in page order.
        self.everything = f"{prefix}:by:all"
        #: Pending and running tasks, in page order (oldest first for recovery).
        self.unfinished = f"{prefix}:unfinished"
        #: Finished tasks that have an end time, scored by it in microseconds since the epoch.
        self.ended = f"{prefix}:ended"
        #: Hash: function name -> number of its tasks (the functions metrics list).
        self.functions = f"{prefix}:stats:functions"
        #: Stem of the per-function hashes: status -> number of tasks.
        self.counts_stem = f"{prefix}:stats:counts:"
        #: Durations of all tasks that have one, scored in microseconds, member the task id.
        self.durations = f"{prefix}:stats:durations"
        #: Stem of the per-function duration sets (same shape as :attr:`durations`).
        self.durations_stem = f"{prefix}:stats:durations:"
        #: Hash: function name -> sum of its durations in microseconds.
        self.duration_sums = f"{prefix}:stats:duration-sums"
        #: Instance leases, scored by their expiry in microseconds since the epoch.
        self.leases = f"{prefix}:leases"
        #: Hash: schedule entry name -> its latest claimed slot, ``"<microseconds>|<task_id>"``.
        self.schedule_slots = f"{prefix}:schedule:slots"
        #: Stem of the per-run hashes of one-off runs (see ``redis_one_off_codec``).
        self.one_off_stem = f"{prefix}:once:"
        #: Stored one-off runs (member: run key) scored by run time in microseconds since the
        #: epoch, so equal times sort by key. Not under :attr:`one_off_stem`, where a run key
        #: could take its name.
        self.one_offs_due = f"{prefix}:once-due"
        #: Audit entries in page order: members ``"<at>|<entry_id>"``, all with score 0.
        self.audit_order = f"{prefix}:audit:order"
        #: Hash: audit entry id -> the entry as JSON.
        self.audit_entries = f"{prefix}:audit:entries"
        #: Hash: queue name -> its limits changed at run time, as JSON.
        self.queue_configs = f"{prefix}:queues"
        self._lock_stem = f"{prefix}:lock:"
        self._by = f"{prefix}:by:"

    def task(self, task_id: str) -> str:
        """The hash of one task."""
        return self.task_stem + task_id

    def idempotency(self, key: str) -> str:
        """The holder of one idempotency key."""
        return self.idempotency_stem + key

    def one_off(self, run_key: str) -> str:
        """The hash of one stored one-off run."""
        return self.one_off_stem + run_key

    def lock(self, name: str) -> str:
        """One expiring lock (value: its owner)."""
        return self._lock_stem + name

    def by_status(self, status: TaskStatus) -> str:
        """Index of the tasks in ``status``."""
        return f"{self._by}status:{status.value}"

    def by_function(self, func_name: str) -> str:
        """Index of the tasks of one function."""
        return f"{self._by}func:{func_name}"

    def by_queue(self, queue: str) -> str:
        """Index of the tasks waiting in (or run from) one queue."""
        return f"{self._by}queue:{queue}"

    def by_source(self, source: str) -> str:
        """Index of the tasks of one source (``manual`` or ``scheduled``)."""
        return f"{self._by}source:{source}"

    def by_origin(self, field: str, value: str) -> str:
        """Index of the tasks whose enqueuing request had ``value`` as its ``field``
        (``route``, ``method``, ``request_id`` or ``principal``)."""
        return f"{self._by}origin:{field}:{value}"

    def by_tag(self, key: str, value: str) -> str:
        """Index of the tasks carrying tag ``key`` with ``value``."""
        # JSON keeps the pair apart whatever characters the key and value hold.
        pair = json.dumps([key, value], ensure_ascii=False, separators=(",", ":"))
        return f"{self._by}tag:{pair}"
