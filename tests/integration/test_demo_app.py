"""The demo that ``make demo`` serves (the README's first command) starts, takes orders and
finishes every task they enqueue, each in its queue."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_app.py"


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("taskflow_demo_app", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_demo_takes_orders_and_finishes_their_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo stores its tasks in ./demo-tasks.db
    demo = load_demo()
    async with serve(demo.app) as client:
        response = await client.post("/orders", params={"count": 3})
        assert response.status_code == 200
        task_ids = response.json()["task_ids"]
        assert len(task_ids) >= 9  # a charge, a receipt and an invoice per order

        finished = [
            await wait_for_status(client, task_id, ("success", "failed"), timeout=60)
            for task_id in task_ids
        ]
        queues = {task["func_name"]: task["queue"] for task in finished}
        assert queues["charge_card"] == "default"
        assert queues["send_receipt"] == "emails"
        assert queues["render_invoice"] == "invoices"
        assert {task["provenance"]["route"] for task in finished} == {"/orders"}

        listed = (await client.get("/tasks/queues")).json()
        assert [queue["name"] for queue in listed] == ["default", "emails", "invoices"]
        assert (await client.get("/tasks/dashboard")).status_code == 200
    assert (tmp_path / "demo-tasks.db").exists()
