"""The custom-observer example of the observers guide keeps working: run in-process and as the
script the guide tells readers to run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_observer.py"


def load_example() -> ModuleType:
    """A fresh copy of the example module (with its own task manager) for each test."""
    spec = importlib.util.spec_from_file_location("custom_observer_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_one_alert_for_the_task_that_failed_for_good(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = load_example()
    sent: list[str] = []

    async def collect(message: str) -> None:
        sent.append(message)

    example.alerts.send_alert = collect
    await example.main()

    [alert] = sent
    assert alert.startswith(
        "charge_card failed for good after 3 attempt(s): "
        "ConnectionError: payment gateway unreachable (task "
    )
    assert alert.endswith("tags {'customer': 'acme'})")
    assert dict(example.alerts.failed_attempts) == {"charge_card": 3, "send_receipt": 1}
    assert dict(example.alerts.failed_tasks) == {"charge_card": 1}
    assert dict(example.alerts.error_lines) == {"send_receipt": 1}
    assert "failed tasks:    {'charge_card': 1}" in capsys.readouterr().out


async def test_the_summary_is_logged_when_the_manager_shuts_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    example = load_example()

    with caplog.at_level("INFO", logger="examples.alerts"):
        await example.main()

    messages = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in messages] == ["ERROR", "WARNING"]
    assert messages[0][1].startswith("charge_card failed for good")
    assert messages[1][1] == "tasks that failed for good since start-up: charge_card=1"


@pytest.mark.slow
def test_the_example_runs_as_a_script() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "ERROR examples.alerts: charge_card failed for good after 3 attempt(s)" in (
        result.stderr
    )
    assert "failed attempts: {'charge_card': 3, 'send_receipt': 1}" in result.stdout
