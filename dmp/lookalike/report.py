"""The lookalike report: lift and gains charts and a self-contained HTML page for marketers.

Files written to the report folder: ``report.html`` (inline CSS, charts as base64 PNG, no
JavaScript, nothing loaded from the network), ``lift.png``, ``gains.png``, ``deciles.csv``,
``gains.csv`` and ``reach.csv``. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from dmp.evaluation.lift import metric_key
from dmp.faults import commit_point

if TYPE_CHECKING:
    from matplotlib.axes import Axes
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
    figure, (axis,) = _figure(9.0, 4.8, columns=1)
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
    figure, (whole, zoom) = _figure(11.0, 4.6, columns=2)
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
    """Write the report files into ``folder`` atomically.

    Everything is written to a temporary sibling folder first. A new folder is then renamed into
    place in one step; into an existing folder each file is moved with ``os.replace``, the HTML
    last, so a reader never sees a half-written file.

    Args:
        inputs: The report inputs.
        folder: The report folder; created if missing.

    Returns:
        File name (``report.html``, ``lift.png``, ``gains.png``, ``deciles.csv``,
        ``gains.csv``, ``reach.csv``) -> its path in ``folder``.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        charts = {"lift.png": _png(lift_chart(inputs)), "gains.png": _png(gains_chart(inputs))}
        for name, data in charts.items():
            (temporary / name).write_bytes(data)
        inputs.deciles.to_csv(temporary / "deciles.csv", index=False)
        gains = [inputs.gains[n].assign(name=n) for n in inputs.names(inputs.gains)]
        columns = ["name", "share_of_universe", "share_of_positives"]
        gains_table = pd.concat(gains)[columns] if gains else pd.DataFrame(columns=columns)
        gains_table.to_csv(temporary / "gains.csv", index=False)
        reach = pd.DataFrame(inputs.reach, columns=["tier_percent", "audience_size"])
        reach.to_csv(temporary / "reach.csv", index=False)
        for file_name, table in _explanation_tables(inputs).items():
            table.to_csv(temporary / file_name, index=False)
        (temporary / "report.html").write_text(_html(inputs, charts), encoding="utf-8")
        names = [*sorted(p.name for p in temporary.iterdir() if p.suffix != ".html"), "report.html"]
        commit_point("report.publish.before", folder.parent.name)
        if folder.exists():
            for name in names:
                os.replace(temporary / name, folder / name)
            temporary.rmdir()
        else:
            os.rename(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    commit_point("report.publish.after", folder.parent.name)
    return {name: folder / name for name in names}


# --- charts ------------------------------------------------------------------------------------


def _figure(width: float, height: float, columns: int) -> tuple[Figure, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A bare Figure on an Agg canvas: no pyplot state to leak, no global backend switch.
    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure, list(figure.subplots(1, columns, squeeze=False)[0])


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


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

_STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 62rem; padding: 0 1rem; color: #1d2733; }
h1 { font-size: 1.5rem; line-height: 1.3; margin: 0 0 .3rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .4rem; border-bottom: 1px solid #dde3ea; }
.meta, .note { color: #5b6876; font-size: .9em; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { border-bottom: 1px solid #dde3ea; padding: .35rem .7rem; text-align: right; }
th:first-child, td:first-child, table.explained td:last-child { text-align: left; }
th { background: #f3f6f9; } tr.chosen td { font-weight: 600; background: #eaf2fb; }
tr.baseline td { color: #5b6876; }
img { max-width: 100%; height: auto; border: 1px solid #eef1f4; margin: .5rem 0; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { color: #5b6876; } dd { margin: 0; }
"""

_GUARDRAIL_HELP = {
    "spearman": "How closely the score just follows activity (−1 to 1). Near 0: the audience is "
    "not simply the most active people. Above about 0.5: it largely is, and the model adds "
    "little beyond an activity ranking.",
    "jaccard": "How much the top tier stays the same when the model is rebuilt (0 to 1). "
    "1 means the same people every time; below about 0.7 the audience changes noticeably "
    "from run to run.",
}


def _left_out(inputs: ReportInputs) -> str:
    if not inputs.left_out:
        return ""
    columns = ", ".join(f"<code>{html.escape(c)}</code>" for c in inputs.left_out)
    return (
        f"<p>Left out of the model: {columns}. The seed's own rule names these columns; a "
        "model that used them would find the hidden seed people by definition, and the "
        "figures below would promise more than the audience can deliver.</p>"
    )


def _how_measured(inputs: ReportInputs) -> str:
    """What the headline figures measure, for the seed's kind, and any fallback note."""
    headline = inputs.headline
    note = f'<p class="note">{html.escape(headline.note)}</p>' if headline else ""
    if headline is not None and headline.kind == "time-split":
        return (
            f"<p>Headline: a <b>time split</b>. The model was built as it would have been "
            f"{headline.horizon_days} days earlier (seed and profiles as of "
            f"{headline.early_as_of}) and asked to find the people who joined the seed "
            "afterwards, among everyone eligible then. This is what an audience sent today "
            "can be expected to deliver.</p>" + note
        )
    text = (
        "<p>Headline: <b>held-out seeds</b>. Part of the seed was hidden, the rest used to "
        "build the audience, and the hidden seed people mixed into a random sample of the "
        "universe; this was repeated over several splits.</p>"
    )
    leaky = ""
    if inputs.leaky:
        leaky = "<p>Left out by the leakage guard (AUC of the feature alone): " + ", ".join(
            f"<code>{html.escape(n)}</code> {a:.3f}" for n, a in inputs.leaky.items()
        ) + ".</p>"  # fmt: skip
    return text + note + leaky


def _secondary(inputs: ReportInputs) -> str:
    """The held-out-seed figures as a secondary view, when the headline is a time split."""
    if not inputs.heldout:
        return ""
    secondary = ReportInputs(**{**inputs.__dict__, "methods": inputs.heldout, "headline": None})
    return (
        "<h3>Secondary view: held-out seeds</h3><p>Finding hidden seed people with the "
        "features that describe them is easier than finding future ones: these figures are "
        "higher and are not what the audience will deliver.</p>" + _lift_table(secondary)
    )


def _html(inputs: ReportInputs, charts: dict[str, bytes]) -> str:
    e = html.escape
    images = {n: base64.b64encode(data).decode("ascii") for n, data in charts.items()}
    baselines = "; ".join(
        f"<i>{b}</i> = {e(text)}" for b, text in BASELINES.items() if b in inputs.methods
    )
    truth = ""
    if inputs.truth_checks:
        truth = (
            "<h2>Checks against real outcomes</h2><p>Measured on outcomes the model never saw, "
            f"such as people who became buyers after the audience date.</p>"
            f"{_figures_table(inputs.truth_checks, {})}"
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{e(f"Lookalike audience {inputs.audience}")}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{e(_headline(inputs))}</h1>
<div class="meta">as of {e(inputs.as_of.isoformat())} &middot; built
{e(inputs.created_at.strftime("%Y-%m-%d %H:%M %Z").strip())} &middot;
run <code>{e(inputs.run_id)}</code></div>
<h2>The seed</h2>
{_seed(inputs)}
<h2>How people were scored</h2>
<p>Method: <b>{e(inputs.method)}</b>. {e(inputs.method_reason)}</p>
{_left_out(inputs)}
<h2>How much better than random</h2>
{_how_measured(inputs)}
<p><b>Lift</b> says how many times more of those people an audience of that size finds than
picking people at random: 10× at 1% means the top-scored 1% holds ten times as many of them as
a random 1%. Baselines: {baselines or "none"}.</p>
{_lift_table(inputs)}
{_secondary(inputs)}
<img alt="Lift per audience size" src="data:image/png;base64,{images["lift.png"]}">
<p>The gains curves show the share of hidden seed people found (up) as the audience grows
(right). The higher above the dotted diagonal, the better.</p>
<img alt="Cumulative gains" src="data:image/png;base64,{images["gains.png"]}">
<h2>Audience sizes</h2>
{_reach_table(inputs)}
<h2>Deciles of the {e(inputs.method)} score</h2>
<p>Everyone in the test (hidden seed people and the universe sample), split into ten equal
slices from best to worst score.</p>
{_deciles_table(inputs.deciles)}
<h2>Guardrails</h2>
{_figures_table(inputs.guardrails, _GUARDRAIL_HELP)}
{_explanations(inputs)}
{truth}
<p class="note">Run <code>{e(inputs.run_id)}</code>{_mlflow(inputs.mlflow_run_url)}. Files next
to this page: lift.png, gains.png, deciles.csv, gains.csv, reach.csv.</p>
</body>
</html>
"""


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


def _seed(inputs: ReportInputs) -> str:
    rows = [("Seed", html.escape(inputs.seed_description))]
    if inputs.seed_rows is not None:
        share = f" ({inputs.seed_matched / inputs.seed_rows:.0%})" if inputs.seed_rows else ""
        rows += [("Rows in the seed", f"{inputs.seed_rows:,}"),
                 ("Matched to people", f"{inputs.seed_matched:,}{share}")]  # fmt: skip
    else:
        rows.append(("Seed people", f"{inputs.seed_matched:,}"))
    rows.append(("Universe (eligible people)", f"{inputs.universe:,}"))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _table(
    head: list[str], rows: list[list[str]], classes: list[str] | None = None, kind: str = ""
) -> str:
    """An HTML table of already-escaped cells; ``classes`` per row, ``kind`` for the table."""
    css = [f' class="{c}"' for c in classes] if classes else [""] * len(rows)
    body = "".join(
        f"<tr{c}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
        for c, row in zip(css, rows, strict=True)
    )
    heading = "".join(f"<th>{h}</th>" for h in head)
    table = f'<table class="{kind}">' if kind else "<table>"
    return f"{table}<thead><tr>{heading}</tr></thead><tbody>{body}</tbody></table>"


def _lift_table(inputs: ReportInputs) -> str:
    tiers, names = _tiers(inputs), inputs.names()
    rows = [
        [html.escape(_label(inputs, name, chart=False))]
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
    return _table(["method", *(f"lift at {t:.0%}" for t in tiers), "AUC"], rows, classes) + (
        f'<p class="note">± one standard deviation over the splits. Per split: '
        f"{_fmt(chosen.get('positives', math.nan), '{:,.0f}')} {found} among "
        f"{_fmt(chosen.get('negatives', math.nan), '{:,.0f}')} universe people. AUC: the chance "
        f"that one of the {found} scores above a random person (0.5 = random, 1 = perfect).</p>"
    )


def _lift_cell(metrics: dict[str, float], key: str) -> str:
    lift, sd = metrics.get(key, math.nan), metrics.get(f"{key}_std", math.nan)
    return _fmt(lift, "{:.1f}×") + _fmt(sd, " ± {:.1f}").replace("–", "")


def _reach_table(inputs: ReportInputs) -> str:
    curve = inputs.gains.get(inputs.method)
    head = ["audience", "people reached"]
    rows = [[f"top {tier}%", f"{size:,}"] for tier, size in sorted(inputs.reach)]
    if curve is not None and not curve.empty:
        head.append("hidden seed people found")
        for row, (tier, _) in zip(rows, sorted(inputs.reach), strict=True):
            found = np.interp(tier / 100, curve["share_of_universe"], curve["share_of_positives"])
            row.append(f"{found:.0%}")
    return _table(head, rows)


def _deciles_table(deciles: pd.DataFrame) -> str:
    columns = ["decile", "people", "positives", "positive_rate", "lift", "cumulative_recall"]
    values = deciles[columns].to_numpy(dtype=float)
    # Expected counts are fractional only where a tie straddles a decile boundary.
    rows = [
        [f"{d:.0f}", f"{people:,.0f}", _fmt(pos, "{:,.0f}" if pos.is_integer() else "{:,.1f}"),
         _fmt(rate, "{:.2%}"), _fmt(lift, "{:.1f}×"), _fmt(cum, "{:.0%}")]
        for d, people, pos, rate, lift, cum in values.tolist()
    ]  # fmt: skip
    head = ["decile", "people", "hidden seed people", "rate", "lift", "found so far"]
    return _table(head, rows)


def _figures_table(figures: dict[str, float], help_by_word: dict[str, str]) -> str:
    if not figures:
        return "<p>None recorded.</p>"
    rows = [[html.escape(name), _fmt(value, "{:,.2f}")] for name, value in figures.items()]
    if not help_by_word:
        return _table(["check", "value"], rows)
    for row, name in zip(rows, figures, strict=True):
        row.append(html.escape(" ".join(t for w, t in help_by_word.items() if w in name.lower())))
    return _table(["check", "value", "what it means"], rows, kind="explained")


def _mlflow(url: str | None) -> str:
    if not url:
        return ""
    if urlparse(url).scheme not in ("http", "https"):  # never a javascript: or file: link
        return f" &middot; MLflow run: <code>{html.escape(url)}</code>"
    return f' &middot; <a href="{html.escape(url, quote=True)}">MLflow run</a>'


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


_VALUE_HEAD = [
    "audience", "value found", "value (unweighted)", "people found", "people (unweighted)"
]  # fmt: skip


def _explanations(inputs: ReportInputs) -> str:
    e = html.escape
    parts: list[str] = []
    if inputs.exclusions:
        rows = [[e(reason), f"{people:,}"] for reason, people in inputs.exclusions.items()]
        parts.append(
            "<h2>People left out as risky</h2><p>People the profiles flag as bots or coupon "
            "abusers are left out of the seed and of the universe. The last rows count the "
            "people left out who look like the seed: the model would have ranked them "
            "inside that tier.</p>" + _table(["who", "people"], rows)
        )
    if inputs.importance is not None and not inputs.importance.empty:
        rows = [
            [f"<code>{e(str(r['feature']))}</code>", _fmt(float(r['importance']), "{:+.3f}"),
             _fmt(float(r['importance_std']), "{:.3f}")]
            for r in inputs.importance.head(15).to_dict("records")
        ]  # fmt: skip
        parts.append(
            "<h2>What the model relies on</h2><p>Permutation importance on held-out seed "
            "people and a universe sample: how much the model's AUC drops when one profile "
            "column is shuffled across people (0: the model does not use it).</p>"
            + _table(["profile column", "AUC drop", "sd"], rows)
        )
    if inputs.insights is not None and not inputs.insights.empty:
        rows = [
            [e(str(r['trait'])), f"{int(r['top_people']):,}", f"{float(r['top_share']):.1%}",
             f"{float(r['universe_share']):.1%}", f"{float(r['index']):.0f}"]
            for r in inputs.insights.to_dict("records")
        ]  # fmt: skip
        parts.append(
            "<h2>Audience insights</h2><p>Traits that are more common in the top tier than in "
            "the eligible universe. Index = share in the top tier / share in the universe "
            "&times; 100: 100 is as common as anywhere, 300 three times as common.</p>"
            + _table(["trait", "people in top tier", "top tier", "universe", "index"], rows)
        )
    if inputs.value_capture is not None and not inputs.value_capture.empty:
        rows = [
            [f"top {int(r['tier_percent'])}%", f"{float(r['value_share']):.1%}",
             f"{float(r['value_share_unweighted']):.1%}", f"{float(r['people_share']):.1%}",
             f"{float(r['people_share_unweighted']):.1%}"]
            for r in inputs.value_capture.to_dict("records")
        ]  # fmt: skip
        parts.append(
            f"<h2>Value captured</h2><p>Seed people were weighted by "
            f"<code>{e(inputs.value or '')}</code>. On held-out seed people mixed into a "
            "universe sample: the share of their value, and of the people, found in each "
            "top tier, by this model and by the same model without value weights.</p>"
            + _table(_VALUE_HEAD, rows)
        )
    return "\n".join(parts)
