"""The testing kit users import as ``fastapi_taskflow.testing``: run a ``TaskManager`` on
in-memory adapters and a fake clock, and drive it without sleeping."""
