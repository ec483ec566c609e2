"""How a command ends when it cannot do what it was asked, and the exit codes."""

from __future__ import annotations

#: The command did what it was asked.
OK = 0
#: The action was refused or failed (an unknown task, a task that cannot be retried, ...).
REFUSED = 1
#: The command line itself is wrong (a bad option value, a missing ``--app``, ...).
USAGE = 2


class CliError(Exception):
    """Ends the command with :attr:`exit_code` and a one-line message on stderr."""

    exit_code = REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(CliError):
    """The store or a use case refused the action."""

    exit_code = REFUSED


class UsageError(CliError):
    """The command line cannot be carried out as given."""

    exit_code = USAGE
