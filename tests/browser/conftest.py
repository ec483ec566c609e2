"""Headless Chromium against a real server (uvicorn in a thread) for the dashboard tests.

The browser is Debian's ``chromium`` package driven by Playwright; no browser is downloaded.
Without ``/usr/bin/chromium`` (or Playwright) the tests are skipped, or fail when
``TASKFLOW_REQUIRE_SERVICES=1`` (as in CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from ..conftest import _unavailable
from .chromium import CHROMIUM, CHROMIUM_ARGS

#: Milliseconds a page gets to show what a test waits for.
PATIENCE_MS = 10_000

#: Seconds uvicorn gets to start or stop.
SERVER_PATIENCE = 10.0


class ThreadServer:
    """uvicorn serving ``app`` on a free loopback port from a background thread."""

    def __init__(self, app: FastAPI) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + SERVER_PATIENCE
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(SERVER_PATIENCE)
        if self.thread.is_alive():
            pytest.fail(f"uvicorn did not stop within {SERVER_PATIENCE}s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module.

    Not per session: Playwright's synchronous API keeps an event loop marked as running in
    the main thread while it is started, which would break the asyncio tests collected after
    these modules.
    """
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def serve_app() -> Iterator[Callable[[FastAPI], ThreadServer]]:
    """Starts apps under uvicorn; each is stopped when the test ends."""
    servers: list[ThreadServer] = []

    def serve(app: FastAPI) -> ThreadServer:
        server = ThreadServer(app)
        server.start()
        servers.append(server)
        return server

    yield serve
    for server in reversed(servers):
        server.stop()


class PageProblems:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: Any) -> None:
        self.messages: list[str] = []
        page.on(
            "console",
            lambda message: (
                self.messages.append(f"console.{message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))


@pytest.fixture
def new_page(
    browser: Any, serve_app: Callable[[FastAPI], ThreadServer]
) -> Iterator[Callable[..., tuple[Any, PageProblems]]]:
    """Opens pages in fresh browser contexts (own cookies and storage); closed at the end,
    before the servers stop (an open stream would otherwise keep them waiting)."""
    contexts: list[Any] = []

    def open_page(**context_options: Any) -> tuple[Any, PageProblems]:
        context = browser.new_context(**context_options)
        context.set_default_timeout(PATIENCE_MS)
        contexts.append(context)
        page = context.new_page()
        return page, PageProblems(page)

    yield open_page
    for context in contexts:
        context.close()
