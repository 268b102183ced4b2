"""Funnel reports: one chart per funnel and a small HTML page, published atomically.

Layout: ``reports/funnels/<as_of>/index.html`` + ``<funnel>.png``. The folder is written
under a temporary name and renamed into place (a re-run swaps the whole folder), so a
reader never sees half a report.
"""

from __future__ import annotations

import html
import io
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmp.funnels.settings import FunnelSpec

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["funnel_chart", "render_html", "write_funnel_report"]

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
       color: #1d2733; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #5b6876; margin-bottom: 1rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; }
th, td { border-bottom: 1px solid #dde3ea; padding: .3rem .6rem; text-align: right; }
th { background: #f3f6f9; } td:first-child, th:first-child { text-align: left; }
"""


def write_funnel_report(
    reports_dir: Path,
    specs: Sequence[FunnelSpec],
    rows: Sequence[Mapping[str, Any]],
    as_of: date,
    since: date,
) -> Path:
    """Write ``index.html`` and one PNG per funnel under ``reports/funnels/<as_of>/``.

    Args:
        reports_dir: The data root's reports folder.
        specs: The funnels, in the order shown.
        rows: ``gold/funnels`` rows of this ``as_of`` (all funnels and splits).
        as_of: The snapshot date.
        since: The first day whose step-1 events count.

    Returns:
        The path of ``index.html``.
    """
    folder = reports_dir / "funnels" / as_of.isoformat()
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    retired = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
    try:
        for spec in specs:
            steps = _split(rows, spec.name, "all", "all")
            (temporary / f"{spec.name}.png").write_bytes(_png(funnel_chart(spec, steps, as_of)))
        (temporary / "index.html").write_text(render_html(specs, rows, as_of, since), "utf-8")
        if folder.exists():
            os.rename(folder, retired)
        os.rename(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        if retired.exists() and not folder.exists():
            os.rename(retired, folder)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return folder / "index.html"


def funnel_chart(spec: FunnelSpec, steps: Sequence[Mapping[str, Any]], as_of: date) -> Figure:
    """Horizontal bars of people per step, labelled with the step and overall conversion."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 0.7 + 0.55 * len(spec.steps)), dpi=110)
    FigureCanvasAgg(figure)
    axis = figure.subplots()
    labels = [str(r["step_name"]) for r in steps]
    people = [int(r["people"]) for r in steps]
    positions = list(range(len(steps)))[::-1]
    axis.barh(positions, people, color="#3b75af")
    axis.set_yticks(positions, labels)
    top = max(people, default=0) or 1
    for position, row in zip(positions, steps, strict=True):
        text = f"{int(row['people']):,}"
        if row["step"] > 1 and row["step_conversion"] is not None:
            text += f"  ({row['step_conversion']:.0%} of previous, {row['overall_conversion']:.0%})"
        axis.text(int(row["people"]) + top * 0.01, position, text, va="center", fontsize=8)
    axis.set_xlim(0, top * 1.6)
    axis.set_xlabel("people")
    axis.set_title(f"Funnel {spec.name} as of {as_of} ({spec.window_hours:g} h window)")
    figure.tight_layout()
    return figure


def render_html(
    specs: Sequence[FunnelSpec], rows: Sequence[Mapping[str, Any]], as_of: date, since: date
) -> str:
    """One self-contained page: per funnel, its chart and a table per split."""
    sections = []
    for spec in specs:
        parts = [
            f"<h2>{html.escape(spec.name)}</h2>",
            f'<p class="meta">{html.escape(spec.description)} &middot; window '
            f"{spec.window_hours:g} h</p>",
            f'<img src="{html.escape(spec.name)}.png" alt="funnel {html.escape(spec.name)}">',
        ]
        for dimension in ("all", "channel", "segment"):
            values = sorted(
                {str(r["dimension_value"]) for r in rows
                 if r["funnel"] == spec.name and r["dimension"] == dimension}
            )  # fmt: skip
            for value in values:
                title = "everyone" if dimension == "all" else f"{dimension} {value}"
                parts.append(f"<h3>{html.escape(title)}</h3>")
                parts.append(_table(_split(rows, spec.name, dimension, value)))
        sections.append("\n".join(parts))
    title = f"Funnels as of {as_of.isoformat()}"
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<div class="meta">step-1 events from {since.isoformat()} to {as_of.isoformat()} '
        f"(UTC); people only as counts</div>\n{body}\n</body>\n</html>\n"
    )


def _split(
    rows: Sequence[Mapping[str, Any]], funnel: str, dimension: str, value: str
) -> list[Mapping[str, Any]]:
    chosen = [
        r for r in rows
        if r["funnel"] == funnel and r["dimension"] == dimension and r["dimension_value"] == value
    ]  # fmt: skip
    return sorted(chosen, key=lambda r: int(r["step"]))


def _table(steps: Sequence[Mapping[str, Any]]) -> str:
    head = ["step", "event", "people", "dropped", "step conv.", "overall conv.", "median time"]
    body = []
    for r in steps:
        cells = [
            f"{r['step']}. {r['step_name']}",
            str(r["event"]),
            f"{int(r['people']):,}",
            "" if r["dropped"] is None else f"{int(r['dropped']):,}",
            _percent(r["step_conversion"]),
            _percent(r["overall_conversion"]),
            _duration(r["median_seconds_from_previous"]),
        ]
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    heading = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{heading}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
