"""Serving a test app with uvicorn in a subprocess, as a deployment would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import PATIENCE, POLL

#: Seconds a fresh interpreter gets to import the app and start listening.
STARTUP_PATIENCE = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """A uvicorn subprocess serving ``app`` (``module:attribute`` in this folder) on a store.

    Storage comes from ``TASKFLOW_STORAGE_URL``; ``env`` adds variables the app reads.
    """

    def __init__(
        self,
        storage_url: str,
        log: Path,
        *,
        app: str = "taskflow_uvicorn_app:app",
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        variables = dict(os.environ, TASKFLOW_STORAGE_URL=storage_url, **(env or {}))
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    app,
                    "--app-dir",
                    str(Path(__file__).parent),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=variables,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_PATIENCE
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"uvicorn exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/tasks/metrics", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer in {STARTUP_PATIENCE}s:\n{self.output()}")
            time.sleep(POLL)

    def terminate(self) -> int:
        """SIGTERM, then wait for the exit; returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"uvicorn did not exit within {PATIENCE}s of SIGTERM:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in an OOM kill or a power cut."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
