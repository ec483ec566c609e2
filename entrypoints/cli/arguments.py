"""The command line's grammar: options shared by every command, each command's own, and the
parsers of their values (time spans, tags, statuses, JSON)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NoReturn

from fastapi_taskflow.application.audit_log import MAX_AUDIT_PAGE
from fastapi_taskflow.application.queries import MAX_PAGE_SIZE
from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.limits import MAX_NAME_LENGTH
from fastapi_taskflow.domain.status import DEAD_LETTER_STATUSES, RETRYABLE_STATUSES, TaskStatus
from fastapi_taskflow.entrypoints.cli.errors import UsageError

PROG = "taskflow"

#: The longest time span a command may name (as the admin API allows).
MAX_SPAN = timedelta(days=100 * 366)

_SPAN = re.compile(r"^(\d+)(min|h|d)$")
_UNITS = {"min": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}

DESCRIPTION = """\
Inspect and operate the tasks of a fastapi-taskflow app from outside it, over its storage
URL. The command line runs no tasks: a retried task is stored without an owner, and the next
recovery sweep of a running app instance (every lease_ttl/3 seconds, 10 s by default) starts it.
"""

EPILOG = """\
environment:
  TASKFLOW_STORAGE_URL  storage URL when --url is not given (and --app names none)
  TASKFLOW_APP          the --app value when the option is not given
  TASKFLOW_ENCRYPT_KEY  the --encrypt-key value when the option is not given

exit codes: 0 done, 1 refused (unknown task, not retryable, owned by a live instance, ...),
2 usage error (bad option value, missing --app, unusable storage URL)
"""


class Parser(argparse.ArgumentParser):
    """Reports a bad command line as one line (the error and where to find help) instead of
    argparse's usage block, and lets the caller decide how to exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# -- value parsers ----------------------------------------------------------------------------


def span(text: str, *, minimum: int = 0) -> timedelta:
    """``<N>min``, ``<N>h`` or ``<N>d`` as a time span."""
    match = _SPAN.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a span like 90min, 24h or 7d (units min, h, d), got {text!r}"
        )
    count, unit = int(match.group(1)), _UNITS[match.group(2)]
    if count < minimum:
        raise argparse.ArgumentTypeError(f"expected at least {minimum}{match.group(2)}")
    if count > MAX_SPAN / unit:
        raise argparse.ArgumentTypeError(f"{text} reaches back more than 100 years")
    return count * unit


def since(text: str) -> timedelta | None:
    """A span of at least one unit, or ``all`` (``None``: no time limit)."""
    if text.strip() == "all":
        return None
    if _SPAN.match(text.strip()) is None:
        raise argparse.ArgumentTypeError(
            f"expected a span like 24h, 7d or 90min (units min, h, d), or all, got {text!r}"
        )
    return span(text, minimum=1)


def older_than(text: str) -> timedelta:
    return span(text, minimum=0)


def statuses(text: str) -> list[TaskStatus]:
    """One status, or several separated by commas."""
    found = []
    for name in (part.strip() for part in text.split(",")):
        try:
            found.append(TaskStatus(name))
        except ValueError:
            known = ", ".join(status.value for status in TaskStatus)
            raise argparse.ArgumentTypeError(
                f"unknown status {name!r}; expected one of {known}"
            ) from None
    return found


def tag(text: str) -> tuple[str, str]:
    """``key:value`` or ``key=value``, split at the first ``:`` or ``=``."""
    cut = min((i for i in (text.find(":"), text.find("=")) if i >= 0), default=-1)
    if cut <= 0:
        raise argparse.ArgumentTypeError(f"expected key:value or key=value, got {text!r}")
    return text[:cut], text[cut + 1 :]


def short_text(text: str) -> str:
    """A value stores can index: at most :data:`MAX_NAME_LENGTH` characters."""
    if len(text) > MAX_NAME_LENGTH:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_NAME_LENGTH} characters, got {len(text)}"
        )
    return text


short_text.__name__ = "text"


def json_object(text: str) -> dict[str, Any]:
    """A JSON object, such as ``{"card": "4242"}``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def bounded(maximum: int) -> Any:
    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"expected 1 to {maximum}, got {value}")
        return value

    count.__name__ = "number"
    return count


def audit_action(text: str) -> AuditAction:
    try:
        return AuditAction(text)
    except ValueError:
        known = ", ".join(action.value for action in AuditAction)
        raise argparse.ArgumentTypeError(
            f"unknown action {text!r}; expected one of {known}"
        ) from None


# -- the parser -------------------------------------------------------------------------------


def _common_options(*, acting: bool = True) -> Parser:
    """Options every command takes, before or after its name. Their defaults are filled in
    later (see :func:`option`), so a value given before the command is not reset after it.

    ``acting=False`` leaves ``--actor`` out, for ``audit``, where it filters entries."""
    common = Parser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="storage URL, as TaskManager(storage_url=...) takes it: sqlite:///tasks.db, "
        "postgresql://..., mysql://..., redis://... (default: from --app, else "
        "$TASKFLOW_STORAGE_URL)",
    )
    group.add_argument(
        "--app",
        metavar="MODULE[:ATTRIBUTE]",
        default=argparse.SUPPRESS,
        help="the app's TaskManager (or a module holding one), imported with the current "
        "directory on sys.path: gives the registered functions (needed to retry), the "
        "storage URL, the encryption key and the schedules (default: $TASKFLOW_APP)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print exactly one JSON document (the admin API's shapes) on stdout",
    )
    if acting:
        group.add_argument(
            "--actor",
            default=argparse.SUPPRESS,
            help="who is acting, for the audit log (default: cli:<your OS user name>)",
        )
    group.add_argument(
        "--encrypt-key",
        metavar="KEY[,KEY...]",
        default=argparse.SUPPRESS,
        help="the app's encrypt_args_key, to show encrypted arguments with --show-args "
        "(default: from --app, else $TASKFLOW_ENCRYPT_KEY)",
    )
    group.add_argument(
        "--show-args",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show task arguments (hidden by default); also needed to edit them with "
        "retry --kwargs",
    )
    return common


#: Defaults of the common options (see :func:`_common_options`).
_COMMON_DEFAULTS: dict[str, Any] = {
    "url": None,
    "app": None,
    "json": False,
    "actor": None,
    "encrypt_key": None,
    "show_args": False,
}


def option(args: argparse.Namespace, name: str) -> Any:
    """A common option's value, or its default when it was given neither before nor after
    the command."""
    return getattr(args, name, _COMMON_DEFAULTS[name])


def build_parser() -> Parser:
    common = _common_options()
    parser = Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, summary: str, *, acting: bool = True) -> Parser:
        parents = [common if acting else _common_options(acting=False)]
        sub: Parser = commands.add_parser(name, help=summary, description=summary, parents=parents)
        return sub

    listing = command("list", "List tasks, newest first.")
    listing.add_argument(
        "--status",
        type=statuses,
        action="extend",
        metavar="STATUS",
        help="only these statuses (repeatable, or comma-separated)",
    )
    listing.add_argument("--func", metavar="NAME", help="only this function")
    listing.add_argument("--tag", type=tag, metavar="KEY:VALUE", help="only tasks with this tag")
    listing.add_argument("--queue", help="only tasks of this queue")
    listing.add_argument("--source", choices=["manual", "scheduled"], help="how they were started")
    listing.add_argument(
        "--route",
        type=short_text,
        metavar="TEMPLATE",
        help="only tasks enqueued by a request to this route (as /orders/{order_id})",
    )
    listing.add_argument(
        "--method", type=short_text, help="only tasks enqueued by requests with this HTTP method"
    )
    listing.add_argument(
        "--request-id", type=short_text, metavar="ID", help="only tasks enqueued by this request"
    )
    listing.add_argument(
        "--principal",
        type=short_text,
        metavar="USER",
        help="only tasks enqueued by requests of this authenticated user",
    )
    listing.add_argument(
        "--since",
        type=since,
        default=None,
        metavar="SPAN",
        help="created within 24h, 7d, ... or all",
    )
    listing.add_argument(
        "--limit", type=bounded(MAX_PAGE_SIZE), default=50, help="tasks per page (default 50)"
    )
    listing.add_argument("--cursor", help="the next-page cursor printed by the previous page")

    show = command("show", "Show one task: details, tags, retry links, error, stack trace, logs.")
    show.add_argument("task_id", metavar="ID")

    metrics = command("metrics", "Counts per status, success rate and durations, per function.")
    metrics.add_argument("--func", metavar="NAME", help="only this function")

    retry = command("retry", "Run a finished task again as a new task, optionally edited.")
    retry.add_argument("task_id", metavar="ID")
    retry.add_argument(
        "--kwargs",
        type=json_object,
        metavar="JSON",
        help="replace the keyword arguments with this JSON object (needs --show-args)",
    )
    retry.add_argument(
        "--tag",
        type=tag,
        action="append",
        dest="tags",
        metavar="KEY=VALUE",
        help="give the new task these tags instead of the original's (repeatable)",
    )

    window = command(
        "retry-failed",
        "Retry the dead letters of a time window (tasks retried before are left out).",
    )
    window.add_argument(
        "--since",
        type=since,
        default=None,
        metavar="SPAN",
        help="created within 24h, 7d, ... or all (default)",
    )
    window.add_argument("--func", metavar="NAME", help="only this function")
    window.add_argument(
        "--status",
        type=_retryable,
        action="extend",
        metavar="STATUS",
        help="statuses to retry (default: failed, interrupted, rejected; cancelled allowed)",
    )
    window.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    bulk = command("bulk-retry", "Retry the listed tasks; those that cannot be are reported.")
    bulk.add_argument("task_ids", nargs="+", metavar="ID")

    cancel = command(
        "cancel",
        "Cancel a task that no running app instance holds (pending without a live owner).",
    )
    cancel.add_argument("task_id", metavar="ID")

    prune = command("prune", "Delete finished tasks that ended longer ago than a time span.")
    prune.add_argument(
        "--older-than", type=older_than, required=True, metavar="SPAN", help="30d, 12h, 90min"
    )

    audit = command("audit", "Operator actions, newest first.", acting=False)
    audit.add_argument("--action", type=audit_action, help="only this action")
    audit.add_argument("--actor", dest="by", metavar="USER", help="only this user's actions")
    audit.add_argument("--task", metavar="ID", help="only entries naming this task")
    audit.add_argument(
        "--limit", type=bounded(MAX_AUDIT_PAGE), default=50, help="entries per page (default 50)"
    )
    audit.add_argument("--cursor", help="the next-page cursor printed by the previous page")

    schedules = command(
        "schedules",
        "Periodic entries with their next and last run (needs --app), and stored one-off runs.",
    )
    schedules.add_argument(
        "--limit",
        type=bounded(MAX_PAGE_SIZE),
        default=100,
        help="one-off runs shown (default 100)",
    )
    return parser


def _retryable(text: str) -> list[TaskStatus]:
    found = statuses(text)
    for status in found:
        if status not in RETRYABLE_STATUSES:
            allowed = ", ".join(sorted(s.value for s in RETRYABLE_STATUSES))
            raise argparse.ArgumentTypeError(
                f"{status.value!r} cannot be retried; expected {allowed}"
            )
    return found


def window_statuses(args: argparse.Namespace) -> list[TaskStatus]:
    """The statuses ``retry-failed`` replays."""
    chosen: Sequence[TaskStatus] | None = args.status
    return sorted(set(chosen or DEAD_LETTER_STATUSES), key=lambda status: status.value)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; :class:`UsageError` for a bad command line, ``SystemExit(0)`` after
    ``--help``."""
    return build_parser().parse_args(argv)
