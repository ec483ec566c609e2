"""The Jinja2 templates of the admin pages (dashboard, sign-in), shipped as package data."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

#: The folder the pages' CSS, JavaScript and icon are served from.
STATIC_DIR = Path(__file__).parent / "static"

#: Every value rendered into a page is HTML-escaped.
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
