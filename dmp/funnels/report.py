"""Funnel reports: one chart per funnel and a small HTML page, published atomically.

Layout: ``reports/funnels/<as_of>/index.html`` + ``<funnel>.png``, written with the report kit
(:mod:`dmp.reports`): a re-run swaps the whole folder, so a reader never sees half a report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmp.funnels.settings import FunnelSpec
from dmp.reports import new_figure, png, publish_files, render

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["funnel_chart", "render_html", "write_funnel_report"]

_HEAD = ["step", "event", "people", "dropped", "step conv.", "overall conv.", "median time"]


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
    files: dict[str, bytes | str] = {
        f"{spec.name}.png": png(funnel_chart(spec, _split(rows, spec.name, "all", "all"), as_of))
        for spec in specs
    }
    files["index.html"] = render_html(specs, rows, as_of, since)
    folder = reports_dir / "funnels" / as_of.isoformat()
    return publish_files(folder, files, replace="folder")["index.html"]


def funnel_chart(spec: FunnelSpec, steps: Sequence[Mapping[str, Any]], as_of: date) -> Figure:
    """Horizontal bars of people per step, labelled with the step and overall conversion."""
    figure, (axis,) = new_figure(7.5, 0.7 + 0.55 * len(spec.steps))
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
    """One page: per funnel, its chart and a table per split (everyone, channel, segment)."""
    funnels = []
    for spec in specs:
        splits = []
        for dimension in ("all", "channel", "segment"):
            values = sorted(
                {str(r["dimension_value"]) for r in rows
                 if r["funnel"] == spec.name and r["dimension"] == dimension}
            )  # fmt: skip
            for value in values:
                title = "everyone" if dimension == "all" else f"{dimension} {value}"
                steps = _split(rows, spec.name, dimension, value)
                splits.append({"title": title, "rows": [_cells(r) for r in steps]})
        funnels.append(
            {
                "name": spec.name,
                "description": spec.description,
                "window": f"{spec.window_hours:g}",
                "image": f"{spec.name}.png",
                "splits": splits,
            }
        )
    return render(
        "funnels.html",
        title=f"Funnels as of {as_of.isoformat()}",
        as_of=as_of.isoformat(),
        since=since.isoformat(),
        head=_HEAD,
        funnels=funnels,
    )


def _split(
    rows: Sequence[Mapping[str, Any]], funnel: str, dimension: str, value: str
) -> list[Mapping[str, Any]]:
    chosen = [
        r for r in rows
        if r["funnel"] == funnel and r["dimension"] == dimension and r["dimension_value"] == value
    ]  # fmt: skip
    return sorted(chosen, key=lambda r: int(r["step"]))


def _cells(r: Mapping[str, Any]) -> list[str]:
    return [
        f"{r['step']}. {r['step_name']}",
        str(r["event"]),
        f"{int(r['people']):,}",
        "" if r["dropped"] is None else f"{int(r['dropped']):,}",
        _percent(r["step_conversion"]),
        _percent(r["overall_conversion"]),
        _duration(r["median_seconds_from_previous"]),
    ]


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
