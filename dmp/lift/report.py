"""The campaign lift report: a self-contained HTML page, a chart and a JSON summary for marketers.

Files written to the report folder: ``report.html`` (inline CSS, the chart as a base64 PNG, no
JavaScript, nothing loaded from the network), ``lift.png`` and ``summary.json``. The statistics
come from :func:`dmp.evaluation.campaign.campaign_lift`; matplotlib is imported only when the
chart is drawn.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dmp.evaluation.campaign import LiftResult, sample_ratio_p_value
from dmp.reports import data_uri, png, publish_files, render

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["LiftReportInputs", "lift_chart", "write_lift_report"]

_TEST_COLOUR, _CONTROL_COLOUR = "#1f5fa8", "#8a939b"
_SAMPLE_RATIO_ALARM = 0.001  # below this the split is very unlikely to be the planned holdout


@dataclass(frozen=True, eq=False)
class LiftReportInputs:
    """Everything the lift report shows.

    Attributes:
        audience, run_id, created_at: The audience exported, the run that measured the lift, and
            when.
        results_file: File name of the uploaded outcomes (a name, not a path).
        result: The statistics.
        matched_rows, unmatched_rows: Rows of the results file matched to exported or held-out
            people, and rows that could not be matched (left out of the statistics).
        holdout_share: The planned control share of the export, if known (for the split check).
        audience_run_id: The run that built the audience, if known.
        mlflow_run_url: Link to the MLflow run; linked only if it is http(s).

    Raises:
        ValueError: If ``results_file`` contains a folder, a row count is negative or the
            holdout share is outside (0, 1).
    """

    audience: str
    run_id: str
    created_at: datetime
    results_file: str
    result: LiftResult
    matched_rows: int
    unmatched_rows: int
    holdout_share: float | None
    audience_run_id: str | None
    mlflow_run_url: str | None = None

    def __post_init__(self) -> None:
        name = self.results_file
        if not name or PurePosixPath(name).name != name or PureWindowsPath(name).name != name:
            raise ValueError(f"results_file must be a file name without folders, got {name!r}")
        if self.matched_rows < 0 or self.unmatched_rows < 0:
            raise ValueError("matched_rows and unmatched_rows cannot be negative")
        if self.holdout_share is not None and not 0 < self.holdout_share < 1:
            raise ValueError(f"holdout_share must be in (0, 1), got {self.holdout_share}")

    @property
    def sample_ratio_p_value(self) -> float | None:
        """p-value that the control group got the planned holdout share (None if not planned)."""
        if self.holdout_share is None:
            return None
        people = self.result.test.people + self.result.control.people
        return sample_ratio_p_value(self.result.control.people, people, self.holdout_share)


def lift_chart(inputs: LiftReportInputs) -> Figure:
    """Conversion rate per group with confidence bars (left) and the relative lift (right).

    The group bars are Wilson score intervals (:meth:`GroupOutcome.rate_interval`); the lift bar
    is the Katz interval of :class:`LiftResult`. Both at ``result.confidence``.

    Args:
        inputs: The report inputs.

    Returns:
        A matplotlib figure on an Agg canvas (not registered with pyplot).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    result, level = inputs.result, _level(inputs.result.confidence)
    # A bare Figure on an Agg canvas: no pyplot state to leak, no global backend switch.
    figure = Figure(figsize=(10.0, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    rates, lift = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})

    groups = [(result.test, _TEST_COLOUR), (result.control, _CONTROL_COLOUR)]
    for x, (group, colour) in enumerate(groups):
        low, high = group.rate_interval(result.confidence)
        rate = group.rate * 100
        below, above = max(0.0, rate - low * 100), max(0.0, high * 100 - rate)
        rates.bar(x, rate, 0.6, color=colour)
        rates.errorbar(x, rate, yerr=[[below], [above]], fmt="none", ecolor="#333", capsize=6,
                       linewidth=1.2)  # fmt: skip
        rates.text(x + 0.08, high * 100, f"{group.rate:.2%}", va="bottom", fontsize=9)
    rates.set_xticks([0, 1], [f"test\n{result.test.people:,} people",
                              f"control\n{result.control.people:,} people"])  # fmt: skip
    rates.yaxis.set_major_formatter(PercentFormatter(decimals=1))
    rates.set_ylim(bottom=0)
    rates.margins(y=0.15)
    rates.set_ylabel("conversion rate")
    rates.set_title(f"Conversion rate ({level} confidence bars)")

    low, high = result.relative_ci
    if math.isfinite(result.relative_lift) and math.isfinite(low) and math.isfinite(high):
        value = result.relative_lift * 100
        colour = _TEST_COLOUR if result.significant else _CONTROL_COLOUR
        below, above = max(0.0, value - low * 100), max(0.0, high * 100 - value)
        lift.errorbar([value], [0], xerr=[[below], [above]], fmt="o", color=colour,
                      ecolor=colour, capsize=8, markersize=9, linewidth=2.5)  # fmt: skip
        lift.text(value, 0.12, f"{result.relative_lift:+.1%}", ha="center", fontsize=10)
        lift.text(low * 100, -0.16, f"{low:+.1%}", ha="center", va="top", fontsize=8)
        lift.text(high * 100, -0.16, f"{high:+.1%}", ha="center", va="top", fontsize=8)
        lift.set_xlim(*_padded(low * 100, high * 100))
    else:
        message = (
            "The relative lift cannot be measured:\nnobody in the control group converted."
            if result.control.converters == 0
            else f"Relative lift {result.relative_lift:+.0%}; its interval cannot be\n"
            "measured: nobody in the test group converted."
        )
        lift.text(0.5, 0.5, message, ha="center", va="center", transform=lift.transAxes,
                  fontsize=10, bbox={"facecolor": "white", "edgecolor": "#ccc"})  # fmt: skip
        lift.set_xlim(-50, 50)
    lift.axvline(0, color="#555", linestyle="--", linewidth=1)
    lift.set_ylim(-0.5, 0.5)
    lift.set_yticks([])
    lift.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    lift.set_xlabel("relative lift: test rate ÷ control rate − 1 (dashed: no effect)")
    lift.set_title(f"Relative lift with its {level} confidence interval")
    for axis in (rates, lift):
        axis.spines[["top", "right"]].set_visible(False)
    lift.spines["left"].set_visible(False)
    figure.tight_layout()
    return figure


def write_lift_report(inputs: LiftReportInputs, folder: Path) -> dict[str, Path]:
    """Write ``report.html``, ``lift.png`` and ``summary.json`` into ``folder`` atomically.

    Everything is written to a temporary sibling folder first. A new folder is then renamed into
    place in one step; into an existing folder each file is moved with ``os.replace``, the HTML
    last, so a reader never sees a half-written file.

    ``summary.json`` holds the report's identifiers, the data notes, the verdict and
    ``metrics`` (:meth:`LiftResult.summary`). JSON has no NaN or infinity: undefined figures are
    ``null`` (an infinite relative lift only happens with ``control_converters == 0``).

    Args:
        inputs: The report inputs.
        folder: The report folder; created if missing.

    Returns:
        File name (``report.html``, ``lift.png``, ``summary.json``) -> its path in ``folder``.
    """
    chart = png(lift_chart(inputs))
    summary = json.dumps(_summary(inputs), indent=2, allow_nan=False) + "\n"
    return publish_files(
        Path(folder),
        {"lift.png": chart, "summary.json": summary, "report.html": _html(inputs, chart)},
    )


def _padded(low: float, high: float) -> tuple[float, float]:
    """x limits around an interval that always include 0, the no-effect line."""
    low, high = min(low, 0.0), max(high, 0.0)
    pad = max(high - low, 1.0) * 0.15
    return low - pad, high + pad


def _summary(inputs: LiftReportInputs) -> dict[str, Any]:
    ratio = inputs.sample_ratio_p_value
    return {
        "audience": inputs.audience,
        "run_id": inputs.run_id,
        "created_at": inputs.created_at.isoformat(),
        "results_file": inputs.results_file,
        "matched_rows": inputs.matched_rows,
        "unmatched_rows": inputs.unmatched_rows,
        "holdout_share": inputs.holdout_share,
        "sample_ratio_p_value": ratio,
        "audience_run_id": inputs.audience_run_id,
        "mlflow_run_url": inputs.mlflow_run_url,
        "verdict": inputs.result.verdict(),
        "metrics": {k: v if math.isfinite(v) else None for k, v in inputs.result.summary().items()},
    }


# --- HTML --------------------------------------------------------------------------------------


def _html(inputs: LiftReportInputs, chart: bytes) -> str:
    result = inputs.result
    mood = "up" if result.significant and result.absolute_lift > 0 else "neutral"
    mood = "down" if result.significant and result.absolute_lift < 0 else mood
    url = inputs.mlflow_run_url
    level = _level(result.confidence)
    return render(
        "lift.html",
        title=f"Campaign lift: {inputs.audience}",
        audience=inputs.audience,
        results_file=inputs.results_file,
        created=inputs.created_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
        run_id=inputs.run_id,
        mood=mood,
        verdict=result.verdict(),
        groups_head=["group", "people", "converters", "conversion rate",
                     f"rate, {level} interval", "revenue", "revenue per person"],
        groups=_groups(result),
        lift_head=["figure", "estimate", f"{level} confidence interval", "meaning"],
        lift_rows=_lift_rows(result),
        chart=data_uri(chart),
        level=level,
        alpha=_number(1 - result.confidence, "{:.3g}"),
        detectable=_detectable(result),
        notes=_notes(inputs),
        split_warning=_split_alarm(inputs),
        mlflow_url=url,
        # never a javascript: or file: link
        mlflow_linkable=bool(url) and urlparse(url or "").scheme in ("http", "https"),
        audience_run_id=inputs.audience_run_id,
    )  # fmt: skip


def _groups(result: LiftResult) -> list[list[str]]:
    rows = []
    for label, group in (("Test (sent the campaign)", result.test),
                         ("Control (held out)", result.control)):  # fmt: skip
        low, high = group.rate_interval(result.confidence)
        rows.append([label, f"{group.people:,}", f"{group.converters:,}",
                     _number(group.rate, "{:.2%}"), f"{_number(low, '{:.2%}')} to "
                     f"{_number(high, '{:.2%}')}", _number(group.revenue, "{:,.2f}"),
                     _number(group.revenue_per_person, "{:,.2f}")])  # fmt: skip
    return rows


def _lift_rows(result: LiftResult) -> list[list[str]]:
    points, pct, count, money = "{:+.2f} pts", "{:+.1%}", "{:+,.0f}", "{:+,.2f}"
    d_low, d_high = (v * 100 for v in result.absolute_ci)
    p_value = "< 0.001" if result.p_value < 0.001 else _number(result.p_value, "{:.3f}")
    relative = _number(result.relative_lift, pct)
    if result.relative_lift == math.inf:
        relative = "cannot be measured"
    return [
        ["Absolute lift", _number(result.absolute_lift * 100, points),
         _range(d_low, d_high, points),
         "Test conversion rate minus control conversion rate, in percentage points."],
        ["Relative lift", relative, _range(*result.relative_ci, pct),
         "How much higher (or lower) the test group's conversion rate is than the control's."],
        ["p-value", p_value, "",
         "The chance of a difference at least this large if the campaign had no effect."],
        ["Incremental conversions", _number(result.incremental_conversions, count),
         _range(*result.incremental_conversions_ci, count),
         "Conversions in the test group that would not have happened without the campaign."],
        ["Incremental revenue", _number(result.incremental_revenue, money),
         _range(*result.incremental_revenue_ci, money),
         "Revenue in the test group that would not have come without the campaign."],
    ]  # fmt: skip


def _detectable(result: LiftResult) -> str:
    sizes = f"{result.test.people:,} test and {result.control.people:,} control people"
    if not math.isfinite(result.minimum_detectable_effect):
        return (
            f"With {sizes}, the smallest detectable effect cannot be computed: the control "
            f"group's conversion rate is {result.control.rate:.0%}, which leaves no variation "
            "to plan on."
        )
    return (
        f"With these group sizes ({sizes}) and a control conversion rate of "
        f"{result.control.rate:.2%}, effects smaller than "
        f"{result.minimum_detectable_effect * 100:.2f} percentage points (a relative lift of "
        f"about {result.minimum_detectable_relative:.0%}) could not be reliably detected "
        f"({result.power:.0%} power, {_level(result.confidence)} confidence). A bigger control "
        "group makes smaller effects detectable."
    )


def _notes(inputs: LiftReportInputs) -> list[tuple[str, str]]:
    result = inputs.result
    rows_total = inputs.matched_rows + inputs.unmatched_rows
    unmatched = f"{inputs.unmatched_rows:,}"
    if rows_total:
        unmatched += f" ({inputs.unmatched_rows / rows_total:.1%} of the file, left out)"
    people = result.test.people + result.control.people
    items = [
        ("Results file", inputs.results_file),
        ("Rows matched to people in the export", f"{inputs.matched_rows:,}"),
        ("Rows that could not be matched", unmatched),
        ("People analysed", f"{people:,}"),
        ("Control share of people", f"{result.control.people / people:.2%}"),
    ]
    ratio = inputs.sample_ratio_p_value
    if ratio is not None and inputs.holdout_share is not None:
        items.append(("Planned holdout share", f"{inputs.holdout_share:.2%}"))
        matches = "does not match" if ratio < _SAMPLE_RATIO_ALARM else "consistent with"
        items.append(("Split check", f"{matches} the planned holdout (p = {ratio:.3g})"))
    return items


def _split_alarm(inputs: LiftReportInputs) -> bool:
    ratio = inputs.sample_ratio_p_value
    return ratio is not None and inputs.holdout_share is not None and ratio < _SAMPLE_RATIO_ALARM


def _range(low: float, high: float, template: str) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{template.format(low)} to {template.format(high)}"


def _level(confidence: float) -> str:
    return f"{round(confidence * 100, 6):g}%"


def _number(value: float, template: str) -> str:
    """``template.format(value)``, or a dash for a missing (NaN) figure."""
    return template.format(value) if math.isfinite(value) else "–"
