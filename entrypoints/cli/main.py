"""``taskflow``: parse the command line, open the store, run one command, exit with its code.

Exit codes: 0 done, 1 refused (see :mod:`~fastapi_taskflow.entrypoints.cli.errors`), 2 a bad
command line. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import redirect_stdout
from typing import TextIO

import attrs

from fastapi_taskflow.entrypoints.cli import (
    operator_commands,
    retry_commands,
    schedule_commands,
    task_commands,
)
from fastapi_taskflow.entrypoints.cli.arguments import build_parser, option
from fastapi_taskflow.entrypoints.cli.console import Console
from fastapi_taskflow.entrypoints.cli.errors import REFUSED, USAGE, CliError, UsageError
from fastapi_taskflow.entrypoints.cli.session import (
    Session,
    Settings,
    app_spec,
    open_session,
    resolve,
)

Handler = Callable[[argparse.Namespace, Session, Console], Awaitable[int]]


@attrs.frozen
class Command:
    run: Handler
    #: Why the command cannot work without ``--app`` (``None``: it can).
    needs_app: str | None = None


COMMANDS: Mapping[str, Command] = {
    "list": Command(task_commands.list_tasks),
    "show": Command(task_commands.show_task),
    "metrics": Command(task_commands.metrics),
    "retry": Command(retry_commands.retry, retry_commands.NEEDS_APP),
    "retry-failed": Command(retry_commands.retry_failed, retry_commands.NEEDS_APP),
    "bulk-retry": Command(retry_commands.bulk_retry, retry_commands.NEEDS_APP),
    "cancel": Command(operator_commands.cancel),
    "prune": Command(operator_commands.prune),
    "audit": Command(operator_commands.audit),
    "schedules": Command(schedule_commands.schedules),
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``taskflow`` with ``argv`` (default: the process's arguments) and return the exit
    code. The streams and environment default to the process's own."""
    out = stdout or sys.stdout
    console = Console(stdout=out, stderr=stderr or sys.stderr, stdin=stdin or sys.stdin)
    env = os.environ if environ is None else environ
    parser = build_parser()
    try:
        with redirect_stdout(out):  # --help writes to sys.stdout
            args = parser.parse_args(argv)
    except UsageError as exc:
        console.error(exc.message)
        return USAGE
    except SystemExit as exc:  # after --help
        return exc.code if isinstance(exc.code, int) else USAGE
    if args.command is None:
        parser.print_help(console.stderr)
        return USAGE
    console.json_mode = option(args, "json")
    command = COMMANDS[args.command]
    try:
        if command.needs_app is not None and app_spec(args, env) is None:
            raise UsageError(command.needs_app)
        settings = resolve(args, env)
        return asyncio.run(_run(command, args, settings, console))
    except CliError as exc:
        console.error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except Exception as exc:
        console.error(f"unexpected {type(exc).__name__}: {_first_line(exc)}")
        return REFUSED


async def _run(
    command: Command, args: argparse.Namespace, settings: Settings, console: Console
) -> int:
    async with open_session(settings) as session:
        return await command.run(args, session, console)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else "(no message)"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
