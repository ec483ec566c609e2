"""The error raised when tasks under the testing kit do not come to rest."""

from __future__ import annotations


class TasksDidNotSettle(AssertionError):
    """Tasks kept working (in a thread, a process, or awaiting something outside the kit's
    clock) past the kit's timeout, or time kept moving for ever.

    It is an ``AssertionError`` so pytest reports it as a test failure, with the message
    naming the tasks still in flight.
    """
