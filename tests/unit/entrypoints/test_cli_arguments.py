"""The command line's grammar: value parsers, shared options, usage errors as one line."""

from __future__ import annotations

import argparse
import io
from datetime import timedelta

import pytest

from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.entrypoints.cli.arguments import (
    json_object,
    older_than,
    option,
    parse,
    since,
    span,
    statuses,
    tag,
    window_statuses,
)
from fastapi_taskflow.entrypoints.cli.errors import UsageError
from fastapi_taskflow.entrypoints.cli.main import COMMANDS, main


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90min", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        (" 30d ", timedelta(days=30)),
        ("0d", timedelta(0)),
    ],
)
def test_spans_take_minutes_hours_and_days(text: str, expected: timedelta) -> None:
    assert span(text) == expected


@pytest.mark.parametrize("text", ["24", "h", "5x", "-1d", "1m", "1.5h", "2 d", "", "1w"])
def test_anything_else_is_not_a_span(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="90min, 24h or 7d"):
        span(text)


def test_a_span_reaching_back_past_a_century_is_refused() -> None:
    assert span("36600d") == timedelta(days=36600)
    with pytest.raises(argparse.ArgumentTypeError, match="more than 100 years"):
        span("36601d")
    with pytest.raises(argparse.ArgumentTypeError, match="more than 100 years"):
        older_than("99999999999h")


def test_since_is_a_span_of_at_least_one_unit_or_all() -> None:
    assert since("all") is None
    assert since("1h") == timedelta(hours=1)
    with pytest.raises(argparse.ArgumentTypeError, match="at least 1h"):
        since("0h")
    with pytest.raises(argparse.ArgumentTypeError, match="or all, got 'yesterday'"):
        since("yesterday")
    assert older_than("0min") == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shop:eu", ("shop", "eu")),
        ("shop=eu", ("shop", "eu")),
        ("url=http://x", ("url", "http://x")),
        ("time:12=30", ("time", "12=30")),
        ("empty:", ("empty", "")),
    ],
)
def test_a_tag_splits_at_the_first_colon_or_equals_sign(
    text: str, expected: tuple[str, str]
) -> None:
    assert tag(text) == expected


@pytest.mark.parametrize("text", ["shop", ":eu", "=eu", ""])
def test_a_tag_needs_a_key_and_a_separator(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="key:value or key=value"):
        tag(text)


def test_statuses_are_repeatable_or_comma_separated() -> None:
    assert statuses("failed, interrupted") == [TaskStatus.FAILED, TaskStatus.INTERRUPTED]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown status 'lost'"):
        statuses("failed,lost")
    args = parse(["list", "--status", "failed,success", "--status", "pending"])
    assert args.status == [TaskStatus.FAILED, TaskStatus.SUCCESS, TaskStatus.PENDING]


def test_kwargs_must_be_a_json_object() -> None:
    assert json_object('{"card": "4242", "n": 1}') == {"card": "4242", "n": 1}
    with pytest.raises(argparse.ArgumentTypeError, match="expected a JSON object, got list"):
        json_object("[1]")
    with pytest.raises(argparse.ArgumentTypeError, match="not valid JSON"):
        json_object("{card: 1}")


def test_common_options_go_before_or_after_the_command() -> None:
    before = parse(["--json", "--url", "sqlite:///a.db", "list"])
    after = parse(["list", "--json", "--url", "sqlite:///a.db"])
    neither = parse(["list"])
    for args in (before, after):
        assert (option(args, "json"), option(args, "url")) == (True, "sqlite:///a.db")
    assert (option(neither, "json"), option(neither, "url"), option(neither, "app")) == (
        False,
        None,
        None,
    )
    # A value given after the command wins over one given before it.
    both = parse(["--url", "sqlite:///a.db", "show", "x", "--url", "sqlite:///b.db"])
    assert option(both, "url") == "sqlite:///b.db"


def test_audit_filters_by_actor_while_other_commands_set_the_actor() -> None:
    audit = parse(["audit", "--actor", "alice", "--action", "retry", "--task", "t1"])
    assert (audit.by, audit.action, audit.task) == ("alice", AuditAction.RETRY, "t1")
    assert option(audit, "actor") is None
    retry = parse(["retry", "t1", "--actor", "alice", "--tag", "a=1", "--tag", "b:2"])
    assert (option(retry, "actor"), retry.tags) == ("alice", [("a", "1"), ("b", "2")])


def test_retry_failed_defaults_to_the_dead_letters_and_refuses_unretryable_statuses() -> None:
    default = parse(["retry-failed"])
    assert window_statuses(default) == [
        TaskStatus.FAILED,
        TaskStatus.INTERRUPTED,
        TaskStatus.REJECTED,
    ]
    chosen = parse(["retry-failed", "--status", "cancelled", "--since", "7d", "--yes"])
    assert (window_statuses(chosen), chosen.since, chosen.yes) == (
        [TaskStatus.CANCELLED],
        timedelta(days=7),
        True,
    )
    with pytest.raises(UsageError, match="'success' cannot be retried"):
        parse(["retry-failed", "--status", "success"])


def test_limits_are_bounded_like_the_api() -> None:
    assert parse(["list", "--limit", "1000"]).limit == 1000
    assert parse(["audit"]).limit == 50
    with pytest.raises(UsageError, match="expected 1 to 1000, got 1001"):
        parse(["list", "--limit", "1001"])
    with pytest.raises(UsageError, match="expected 1 to 500"):
        parse(["audit", "--limit", "501"])
    with pytest.raises(UsageError, match="whole number"):
        parse(["list", "--limit", "ten"])


def test_a_usage_error_is_one_line_pointing_at_the_commands_help() -> None:
    with pytest.raises(UsageError) as raised:
        parse(["prune"])
    assert raised.value.message == (
        "the following arguments are required: --older-than (see 'taskflow prune --help')"
    )


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(), environ={})
    return code, out.getvalue(), err.getvalue()


def test_main_reports_usage_errors_on_one_line_with_exit_code_2() -> None:
    code, out, err = run("list", "--since", "5x")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("taskflow: error: argument --since: ")


def test_retry_commands_refuse_without_app_before_touching_storage() -> None:
    for argv in (["retry", "t"], ["retry-failed", "--yes"], ["bulk-retry", "t"]):
        code, _out, err = run(*argv, "--url", "sqlite:///does-not-matter.db")
        assert code == 2
        assert "retrying needs the app's registered functions" in err
        assert "--app module:attribute" in err and "TASKFLOW_APP" in err


def test_help_goes_to_the_given_stdout_and_a_missing_command_is_a_usage_error() -> None:
    code, out, _err = run("--help")
    assert code == 0 and out.startswith("usage: taskflow")
    for name in COMMANDS:
        assert name in out
    code, out, err = run("retry", "--help")
    assert code == 0 and "--kwargs JSON" in out and "--show-args" in out
    code, out, err = run()
    assert (code, out) == (2, "") and err.startswith("usage: taskflow")
