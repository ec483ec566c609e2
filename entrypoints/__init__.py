"""Entrypoints: the FastAPI integration and the composition root that wires adapters in."""
