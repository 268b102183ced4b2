"""Jinja2 rendering for reports: autoescaping on, strict undefined names, shared layout."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt name fails the report, not prints nothing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["shown"] = shown
    return environment


def shown(value: Any) -> str:
    """A figure as text for a report cell: floats to 6 significant digits, lists as JSON."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value)


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``; every value is HTML-escaped.

    Values that are already HTML must be wrapped in :class:`markupsafe.Markup` by the caller
    (only ever for markup the caller built from escaped parts).
    """
    return _environment().get_template(template).render(**context)


def data_uri(png_bytes: bytes) -> str:
    """A ``data:image/png;base64,...`` URI, to inline a chart in a self-contained page."""
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")
