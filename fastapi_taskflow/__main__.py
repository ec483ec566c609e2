"""``python -m fastapi_taskflow``: the ``taskflow`` command line."""

from __future__ import annotations

from fastapi_taskflow.entrypoints.cli.main import main

raise SystemExit(main())
