"""The lookalike report: lift and gains charts and a self-contained HTML page for marketers.

Files written to the report folder: ``report.html`` (inline CSS, charts as base64 PNG, no
JavaScript, nothing loaded from the network), ``lift.png``, ``gains.png``, ``deciles.csv``,
``gains.csv`` and ``reach.csv`` (and the explanation CSVs when there are explanations). The
page is the report kit's ``lookalike.html`` template (:mod:`dmp.reports`, autoescaped), the
folder is published with ``publish_files``; matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from dmp.evaluation.lift import metric_key
from dmp.reports import data_uri, new_figure, publish_files, render
from dmp.reports import png as _png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dmp.lookalike.timesplit import Headline

__all__ = ["BASELINES", "ReportInputs", "gains_chart", "lift_chart", "write_report"]

BASELINES = {
    "random": "people picked at random (about 1× by definition)",
    "activity": "the most active people first",
    "centroid": "people most similar to the average seed person",
}
_TIERS = (0.01, 0.05, 0.10)
_CHOSEN_COLOUR = "#1f5fa8"
_METHOD_COLOURS = ("#e07b39", "#3a9e6f", "#8e5ea2", "#c9a227", "#d45087")
_BASELINE_COLOURS = ("#8a939b", "#b3bac1", "#d5dade")


@dataclass(frozen=True, eq=False)
class ReportInputs:
    """Everything the report shows, computed by the lookalike stage.

    Attributes:
        audience, run_id, created_at, as_of: The audience, the run that built it, when, and the
            data date.
        seed_description, seed_rows, seed_matched: The seed in words, its file rows (None for
            a segment seed) and the people it matched.
        universe: Eligible people the audience is drawn from.
        method, method_reason: The chosen scoring method (a key of ``methods``) and why.
        methods: Method or baseline name -> :func:`dmp.evaluation.lift.mean_metrics` output.
            Baselines are the names in ``BASELINES``; all other names are methods.
        gains: Name -> gains curve (``share_of_universe``, ``share_of_positives``).
        deciles: Decile table of the chosen method (see ``RankingMetrics.deciles``).
        reach: ``(tier percent, audience size)`` pairs.
        guardrails, truth_checks: Name -> value; truth checks are optional figures measured on
            outcomes the model never saw.
        mlflow_run_url: Link to the MLflow run; linked only if it is http(s).
        left_out: Profile columns left out of the model because the seed's rule names them.
        headline: What ``methods``, ``gains`` and ``deciles`` measure (time split or
            held-out, and why); None reads as held-out.
        heldout: The held-out-seed figures when they are not the headline (secondary view).
        leaky: Features dropped by the leakage guard of an uploaded list (name -> AUC).
        exclusions: Reason -> people the risk exclusions left out (seed, universe, and the
            seed-like people among them).
        importance: Permutation importance per profile column (``feature, importance,
            importance_std``), or None.
        insights: Traits over-indexing in the top tier (``trait, top_people, top_share,
            universe_share, index``), or None.
        value, value_capture: The ``--value`` column and the value captured per tier
            (``tier_percent, people_share, value_share, people_share_unweighted,
            value_share_unweighted``), or None.
    """

    audience: str
    run_id: str
    created_at: datetime
    as_of: date
    seed_description: str
    seed_rows: int | None
    seed_matched: int
    universe: int
    method: str
    method_reason: str
    methods: dict[str, dict[str, float]]
    gains: dict[str, pd.DataFrame]
    deciles: pd.DataFrame
    reach: list[tuple[int, int]]
    guardrails: dict[str, float]
    truth_checks: dict[str, float] = field(default_factory=dict)
    mlflow_run_url: str | None = None
    left_out: tuple[str, ...] = ()
    headline: Headline | None = None
    heldout: dict[str, dict[str, float]] = field(default_factory=dict)
    leaky: dict[str, float] = field(default_factory=dict)
    exclusions: dict[str, int] = field(default_factory=dict)
    importance: pd.DataFrame | None = None
    insights: pd.DataFrame | None = None
    value: str | None = None
    value_capture: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.method not in self.methods:
            raise ValueError(
                f"chosen method {self.method!r} has no metrics; methods has {sorted(self.methods)}"
            )

    def names(self, among: Iterable[str] | None = None) -> list[str]:
        """Chosen method first, then other methods, then baselines in ``BASELINES`` order."""
        pool = list(dict.fromkeys(self.methods if among is None else among))
        others = [n for n in pool if n != self.method and n not in BASELINES]
        chosen = [self.method] if self.method in pool else []
        return chosen + others + [b for b in BASELINES if b in pool]


def lift_chart(inputs: ReportInputs) -> Figure:
    """Bars of lift at 1/5/10% per method and baseline, with ±1 sd over the evaluation splits.

    Args:
        inputs: The report inputs.

    Returns:
        A matplotlib figure on an Agg canvas (not registered with pyplot).
    """
    figure, (axis,) = new_figure(9.0, 4.8)
    names, tiers = inputs.names(), _tiers(inputs)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        keys = [metric_key("lift", t) for t in tiers]
        values = [inputs.methods[name].get(key, math.nan) for key in keys]
        errors = np.nan_to_num([inputs.methods[name].get(f"{k}_std", math.nan) for k in keys])
        positions = np.arange(len(tiers)) + (i - (len(names) - 1) / 2) * width
        baseline = name in BASELINES
        axis.bar(positions, values, width * 0.92, label=_label(inputs, name),
                 color=_colour(inputs, name), hatch="//" if baseline else None,
                 edgecolor="white" if baseline else None)  # fmt: skip
        if errors.any():
            axis.errorbar(positions, values, yerr=errors, fmt="none", ecolor="#333", linewidth=1)
        for x, value, error in zip(positions, values, errors, strict=True):
            if math.isfinite(value):  # above the error bar, upright so neighbours never overlap
                axis.text(x, value + error, f" {value:.1f}×", rotation=90, ha="center",
                          va="bottom", fontsize=7)  # fmt: skip
    axis.axhline(1.0, color="#555", linestyle="--", linewidth=1, label="random = 1×")
    axis.margins(y=0.12)
    axis.set_ylim(bottom=0)  # an error bar may reach below 0; lift cannot
    axis.set_xticks(range(len(tiers)), [f"top {t:.0%}" for t in tiers])
    axis.set_ylabel("lift: × more seed-like people than random")
    axis.set_title("Lift: hidden seed people found, compared with a random audience of that size")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def gains_chart(inputs: ReportInputs) -> Figure:
    """Cumulative gains per method and baseline: whole universe left, the top 10% zoomed right.

    Args:
        inputs: The report inputs.

    Returns:
        A matplotlib figure on an Agg canvas (not registered with pyplot).
    """
    figure, (whole, zoom) = new_figure(11.0, 4.6, columns=2)
    tiers = _tiers(inputs)
    for axis, limit in ((whole, 1.0), (zoom, max(tiers))):
        top = limit
        for name in inputs.names(inputs.gains):
            curve = inputs.gains[name]
            shown = curve[curve["share_of_universe"] <= limit + 1e-9]
            chosen = name == inputs.method
            axis.plot(shown["share_of_universe"] * 100, shown["share_of_positives"] * 100,
                      label=_label(inputs, name), color=_colour(inputs, name),
                      linewidth=2.6 if chosen else 1.4, zorder=3 if chosen else 2,
                      linestyle="--" if name in BASELINES else "-")  # fmt: skip
            top = max(top, float(shown["share_of_positives"].max()))
        axis.plot([0, limit * 100], [0, limit * 100], color="#555", linestyle=":", linewidth=1)
        axis.set_xlim(0, limit * 100)
        axis.set_ylim(0, min(100.0, top * 110))
        axis.set_xlabel("audience size: % of the universe, best-scored first")
        axis.set_ylabel("% of hidden seed people found")
        axis.spines[["top", "right"]].set_visible(False)
        axis.grid(alpha=0.3)
    whole.set_title("Whole universe (dotted: random)")
    zoom.set_title(f"Audience tiers: top {max(tiers):.0%}")
    for t in tiers:
        zoom.axvline(t * 100, color="#bbb", linewidth=0.8)
    zoom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    return figure


def write_report(inputs: ReportInputs, folder: Path) -> dict[str, Path]:
    """Write the report files into ``folder`` atomically, with the report kit's
    :func:`~dmp.reports.publish_files`: into an existing folder each file is replaced, the
    HTML last, and other files there stay.

    Args:
        inputs: The report inputs.
        folder: The report folder; created if missing.

    Returns:
        File name (``report.html``, ``lift.png``, ``gains.png``, ``deciles.csv``,
        ``gains.csv``, ``reach.csv`` and any explanation CSVs) -> its path in ``folder``.
    """
    charts = {"lift.png": _png(lift_chart(inputs)), "gains.png": _png(gains_chart(inputs))}
    gains = [inputs.gains[n].assign(name=n) for n in inputs.names(inputs.gains)]
    columns = ["name", "share_of_universe", "share_of_positives"]
    gains_table = pd.concat(gains)[columns] if gains else pd.DataFrame(columns=columns)
    tables = {
        "deciles.csv": inputs.deciles,
        "gains.csv": gains_table,
        "reach.csv": pd.DataFrame(inputs.reach, columns=["tier_percent", "audience_size"]),
        **_explanation_tables(inputs),
    }
    files: dict[str, bytes | str] = {
        **charts,
        **{name: table.to_csv(index=False) for name, table in tables.items()},
        "report.html": _html(inputs, charts),
    }
    return publish_files(Path(folder), files)


# --- charts ------------------------------------------------------------------------------------


def _tiers(inputs: ReportInputs) -> list[float]:
    chosen = inputs.methods[inputs.method]
    return [t for t in _TIERS if metric_key("lift", t) in chosen] or list(_TIERS)


def _label(inputs: ReportInputs, name: str, chart: bool = True) -> str:
    text = f"{name} (chosen)" if name == inputs.method else name
    text = f"baseline: {text}" if name in BASELINES else text
    return text.replace("$", r"\$") if chart else text  # a $ would start matplotlib mathtext


def _colour(inputs: ReportInputs, name: str) -> str:
    if name == inputs.method:
        return _CHOSEN_COLOUR
    if name in BASELINES:
        return _BASELINE_COLOURS[list(BASELINES).index(name)]
    everyone = inputs.names([*inputs.methods, *inputs.gains])
    others = [n for n in everyone if n != inputs.method and n not in BASELINES]
    return _METHOD_COLOURS[others.index(name) % len(_METHOD_COLOURS)]


# --- HTML --------------------------------------------------------------------------------------

_GUARDRAIL_HELP = {
    "spearman": "How closely the score just follows activity (−1 to 1). Near 0: the audience is "
    "not simply the most active people. Above about 0.5: it largely is, and the model adds "
    "little beyond an activity ranking.",
    "jaccard": "How much the top tier stays the same when the model is rebuilt (0 to 1). "
    "1 means the same people every time; below about 0.7 the audience changes noticeably "
    "from run to run.",
}
_VALUE_HEAD = (
    "audience",
    "value found",
    "value (unweighted)",
    "people found",
    "people (unweighted)",
)


@dataclass(frozen=True)
class _Table:
    """A table of the page: text cells (the template escapes them), a CSS class per row, the
    last column as an explanation, the first as code."""

    head: Sequence[str]
    rows: list[list[str]]
    classes: Sequence[str] = ()
    explain: bool = False
    code: bool = False


@dataclass(frozen=True)
class _LiftView:
    """A lift table and the per-split counts of its note."""

    table: _Table
    positives: str
    negatives: str
    found: str


def _html(inputs: ReportInputs, charts: Mapping[str, bytes]) -> str:
    """The page: the report kit's ``lookalike.html`` with the figures as text."""
    headline = inputs.headline
    url = inputs.mlflow_run_url
    return render(
        "lookalike.html",
        title=f"Lookalike audience {inputs.audience}",
        headline=_headline(inputs),
        as_of=inputs.as_of.isoformat(),
        created=inputs.created_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
        run_id=inputs.run_id,
        seed=_seed(inputs),
        method=inputs.method,
        method_reason=inputs.method_reason,
        left_out=inputs.left_out,
        measured={
            "kind": headline.kind if headline else "held-out",
            "note": headline.note if headline else None,
            "horizon_days": headline.horizon_days if headline else None,
            "early_as_of": headline.early_as_of if headline else None,
        },
        leaky=[(name, f"{auc:.3f}") for name, auc in inputs.leaky.items()],
        baselines=[(b, text) for b, text in BASELINES.items() if b in inputs.methods],
        lift=_lift_view(inputs),
        secondary=_secondary(inputs),
        lift_chart=data_uri(charts["lift.png"]),
        gains_chart=data_uri(charts["gains.png"]),
        reach=_reach_table(inputs),
        deciles=_deciles_table(inputs.deciles),
        guardrails=_figures_table(inputs.guardrails, _GUARDRAIL_HELP),
        truth=_figures_table(inputs.truth_checks, {}) if inputs.truth_checks else None,
        **_explanations(inputs),
        mlflow_url=url,
        # never a javascript: or file: link
        mlflow_linkable=bool(url) and urlparse(url or "").scheme in ("http", "https"),
    )


def _headline(inputs: ReportInputs) -> str:
    if not inputs.reach:
        return f"Audience {inputs.audience}"
    tier, size = min(inputs.reach)
    text = f"Audience {inputs.audience}: top {tier}% reaches {size:,} people"
    lift = inputs.methods[inputs.method].get(metric_key("lift", tier / 100), math.nan)
    if math.isfinite(lift):
        kind = inputs.headline.kind if inputs.headline else "held-out"
        text += f" and finds {lift:.1f}× more seed-like people than random ({kind})"
    return text


def _seed(inputs: ReportInputs) -> list[tuple[str, str]]:
    rows = [("Seed", inputs.seed_description)]
    if inputs.seed_rows is not None:
        share = f" ({inputs.seed_matched / inputs.seed_rows:.0%})" if inputs.seed_rows else ""
        rows += [("Rows in the seed", f"{inputs.seed_rows:,}"),
                 ("Matched to people", f"{inputs.seed_matched:,}{share}")]  # fmt: skip
    else:
        rows.append(("Seed people", f"{inputs.seed_matched:,}"))
    rows.append(("Universe (eligible people)", f"{inputs.universe:,}"))
    return rows


def _secondary(inputs: ReportInputs) -> _LiftView | None:
    """The held-out-seed figures as a secondary view, when the headline is a time split."""
    if not inputs.heldout:
        return None
    secondary = ReportInputs(**{**inputs.__dict__, "methods": inputs.heldout, "headline": None})
    return _lift_view(secondary)


def _lift_view(inputs: ReportInputs) -> _LiftView:
    tiers, names = _tiers(inputs), inputs.names()
    rows = [
        [_label(inputs, name, chart=False)]
        + [_lift_cell(inputs.methods[name], metric_key("lift", t)) for t in tiers]
        + [_fmt(inputs.methods[name].get("auc", math.nan), "{:.3f}")]
        for name in names
    ]
    classes = [
        "chosen" if n == inputs.method else "baseline" if n in BASELINES else "method"
        for n in names
    ]
    chosen = inputs.methods[inputs.method]
    found = "hidden seed people"
    if inputs.headline is not None and inputs.headline.kind == "time-split":
        found = "people who joined the seed later"
    return _LiftView(
        _Table(["method", *(f"lift at {t:.0%}" for t in tiers), "AUC"], rows, classes),
        positives=_fmt(chosen.get("positives", math.nan), "{:,.0f}"),
        negatives=_fmt(chosen.get("negatives", math.nan), "{:,.0f}"),
        found=found,
    )


def _lift_cell(metrics: dict[str, float], key: str) -> str:
    lift, sd = metrics.get(key, math.nan), metrics.get(f"{key}_std", math.nan)
    return _fmt(lift, "{:.1f}×") + _fmt(sd, " ± {:.1f}").replace("–", "")


def _reach_table(inputs: ReportInputs) -> _Table:
    curve = inputs.gains.get(inputs.method)
    head = ["audience", "people reached"]
    rows = [[f"top {tier}%", f"{size:,}"] for tier, size in sorted(inputs.reach)]
    if curve is not None and not curve.empty:
        head.append("hidden seed people found")
        for row, (tier, _) in zip(rows, sorted(inputs.reach), strict=True):
            found = np.interp(tier / 100, curve["share_of_universe"], curve["share_of_positives"])
            row.append(f"{found:.0%}")
    return _Table(head, rows)


def _deciles_table(deciles: pd.DataFrame) -> _Table:
    columns = ["decile", "people", "positives", "positive_rate", "lift", "cumulative_recall"]
    values = deciles[columns].to_numpy(dtype=float)
    # Expected counts are fractional only where a tie straddles a decile boundary.
    rows = [
        [f"{d:.0f}", f"{people:,.0f}", _fmt(pos, "{:,.0f}" if pos.is_integer() else "{:,.1f}"),
         _fmt(rate, "{:.2%}"), _fmt(lift, "{:.1f}×"), _fmt(cum, "{:.0%}")]
        for d, people, pos, rate, lift, cum in values.tolist()
    ]  # fmt: skip
    head = ["decile", "people", "hidden seed people", "rate", "lift", "found so far"]
    return _Table(head, rows)


def _figures_table(figures: dict[str, float], help_by_word: dict[str, str]) -> _Table:
    """Name and value per figure and, given ``help_by_word``, what the figure means."""
    rows = [[name, _fmt(value, "{:,.2f}")] for name, value in figures.items()]
    if not help_by_word:
        return _Table(["check", "value"], rows)
    for row, name in zip(rows, figures, strict=True):
        row.append(" ".join(t for w, t in help_by_word.items() if w in name.lower()))
    return _Table(["check", "value", "what it means"], rows, explain=True)


def _fmt(value: float, template: str) -> str:
    """``template.format(value)``, or a dash for a missing (NaN) figure."""
    return template.format(value) if math.isfinite(value) else "–"


# --- exclusions, explanations and value (issue 14) ---------------------------------------------


def _explanation_tables(inputs: ReportInputs) -> dict[str, pd.DataFrame]:
    """CSV files of the explanation section: importance, insights, value capture."""
    tables = {
        "importance.csv": inputs.importance,
        "insights.csv": inputs.insights,
        "value_capture.csv": inputs.value_capture,
    }
    return {name: table for name, table in tables.items() if table is not None}


def _explanations(inputs: ReportInputs) -> dict[str, _Table | str | None]:
    """The tables of the exclusions, importance, insights and value sections (None: no
    section) and the value column."""
    exclusions = importance = insights = value_capture = None
    if inputs.exclusions:
        rows = [[reason, f"{people:,}"] for reason, people in inputs.exclusions.items()]
        exclusions = _Table(["who", "people"], rows)
    if inputs.importance is not None and not inputs.importance.empty:
        rows = [
            [str(r["feature"]), _fmt(float(r["importance"]), "{:+.3f}"),
             _fmt(float(r["importance_std"]), "{:.3f}")]
            for r in inputs.importance.head(15).to_dict("records")
        ]  # fmt: skip
        importance = _Table(["profile column", "AUC drop", "sd"], rows, code=True)
    if inputs.insights is not None and not inputs.insights.empty:
        rows = [
            [str(r["trait"]), f"{int(r['top_people']):,}", f"{float(r['top_share']):.1%}",
             f"{float(r['universe_share']):.1%}", f"{float(r['index']):.0f}"]
            for r in inputs.insights.to_dict("records")
        ]  # fmt: skip
        head = ["trait", "people in top tier", "top tier", "universe", "index"]
        insights = _Table(head, rows)
    if inputs.value_capture is not None and not inputs.value_capture.empty:
        rows = [
            [f"top {int(r['tier_percent'])}%", f"{float(r['value_share']):.1%}",
             f"{float(r['value_share_unweighted']):.1%}", f"{float(r['people_share']):.1%}",
             f"{float(r['people_share_unweighted']):.1%}"]
            for r in inputs.value_capture.to_dict("records")
        ]  # fmt: skip
        value_capture = _Table(_VALUE_HEAD, rows)
    return {
        "exclusions": exclusions,
        "importance": importance,
        "insights": insights,
        "value_capture": value_capture,
        "value": inputs.value or "",
    }
