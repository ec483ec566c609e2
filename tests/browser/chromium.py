"""How the browser tests and the screenshot script start Debian's Chromium."""

from __future__ import annotations

import os

#: Where Debian's package puts the browser (override with TASKFLOW_CHROMIUM).
CHROMIUM = os.environ.get("TASKFLOW_CHROMIUM", "/usr/bin/chromium")

#: Without these, Chromium tries to reach Google's services and hangs on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
