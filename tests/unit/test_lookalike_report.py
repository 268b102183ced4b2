"""The lookalike report: files, a self-contained and escaped HTML page, CSVs and charts."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dmp.evaluation.lift import mean_metrics, ranking_metrics
from dmp.lookalike import report
from dmp.lookalike.report import ReportInputs, gains_chart, lift_chart, write_report

MALICIOUS = "<img src=x onerror=alert(1)>"
MLFLOW = "http://mlflow.example:5000/#/experiments/1/runs/abc?x=1&y=2"
FILES = {"report.html", "lift.png", "gains.png", "deciles.csv", "gains.csv", "reach.csv"}


def _inputs(methods: int = 3, splits: int = 3, **changes: object) -> ReportInputs:
    """Simulated evaluation: stronger signal for earlier methods, three baselines."""
    rng = np.random.default_rng(methods)
    strengths = {f"method_{i}": 2.5 - 0.3 * i for i in range(methods)}
    strengths.update({"random": 0.0, "activity": 0.8, "centroid": 1.4})
    evaluated, gains = {}, {}
    deciles = pd.DataFrame()
    for name, strength in strengths.items():
        runs = []
        for _ in range(splits):
            labels = np.r_[np.zeros(2000, bool), np.ones(60, bool)]
            runs.append(ranking_metrics(rng.normal(size=2060) + strength * labels, labels))
        evaluated[name], gains[name] = mean_metrics(runs), runs[0].gains
        if name == "method_0":
            deciles = runs[0].deciles
    fields: dict[str, object] = {
        "audience": "bought_serum",
        "run_id": "20240601T101500Z-7f3a",
        "created_at": datetime(2024, 6, 1, 10, 15, tzinfo=UTC),
        "as_of": date(2024, 5, 31),
        "seed_description": "seed file buyers.csv, 980 rows, 801 matched people (user_id)",
        "seed_rows": 980,
        "seed_matched": 801,
        "universe": 1_184_220,
        "method": "method_0",
        "method_reason": "auto: best held-out lift@1%",
        "methods": evaluated,
        "gains": gains,
        "deciles": deciles,
        "reach": [(t, 11_842 * t) for t in range(1, 11)],
        "guardrails": {"score-activity spearman": 0.12, "top-tier jaccard across reruns": 0.91},
        "truth_checks": {"future converters lift@5%": 6.2},
        "mlflow_run_url": MLFLOW,
    }
    fields.update(changes)
    return ReportInputs(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportInputs, dict[str, Path]]:
    inputs = _inputs()
    return inputs, write_report(inputs, tmp_path_factory.mktemp("reports") / "run-1")


def test_report_files_exist(written: tuple[ReportInputs, dict[str, Path]]) -> None:
    _, paths = written
    assert set(paths) == FILES
    folder = paths["report.html"].parent
    assert {p.name for p in folder.iterdir()} == FILES
    assert all(paths[name] == folder / name and paths[name].stat().st_size > 0 for name in FILES)
    assert [p.name for p in folder.parent.iterdir()] == ["run-1"]  # no temporary folder left


def test_html_is_self_contained(written: tuple[ReportInputs, dict[str, Path]]) -> None:
    _, paths = written
    page = paths["report.html"].read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "javascript:" not in page.lower()
    assert not re.search(r"<link|@import|url\(", page, re.IGNORECASE)
    # The only web address is the MLflow link, as a plain <a href>.
    link = '<a href="http://mlflow.example:5000/#/experiments/1/runs/abc?x=1&amp;y=2">'
    assert page.count(link) == 1
    assert not re.search(r"https?://", page.replace(link, ""))
    # Every src is an inline PNG, and it is the same image as the file next to the page.
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 2
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    embedded = [base64.b64decode(s.split(",", 1)[1]) for s in sources]
    assert embedded == [paths["lift.png"].read_bytes(), paths["gains.png"].read_bytes()]


def test_html_reads_for_a_marketer(written: tuple[ReportInputs, dict[str, Path]]) -> None:
    inputs, paths = written
    page = paths["report.html"].read_text(encoding="utf-8")
    lift = inputs.methods["method_0"]["lift_at_1pct"]
    headline = (
        f"<h1>Audience bought_serum: top 1% reaches 11,842 people and finds {lift:.1f}× more "
        "seed-like people than random (held-out)</h1>"
    )
    assert headline in page
    for text in [
        "seed file buyers.csv, 980 rows, 801 matched people (user_id)",
        "<dd>801 (82%)</dd>",
        "<dd>1,184,220</dd>",
        "auto: best held-out lift@1%",
        "<th>lift at 1%</th><th>lift at 5%</th><th>lift at 10%</th>",
        '<tr class="chosen"><td>method_0 (chosen)</td>',
        '<tr class="baseline"><td>baseline: random</td>',
        "<td>top 10%</td><td>118,420</td>",
        "score-activity spearman</td><td>0.12</td>",
        "the audience is not simply the most active people",
        "future converters lift@5%</td><td>6.20</td>",
        "<code>20240601T101500Z-7f3a</code>",
    ]:
        assert text in page, text
    assert page.count("<tr><td>") >= 10 + 10  # reach and decile rows
    text_only = re.sub(r"base64,[A-Za-z0-9+/=]+", "", page)
    assert "nan" not in text_only.lower()  # missing figures show as a dash


def test_a_time_split_headline_says_what_it_measures_and_keeps_held_out_second(
    tmp_path: Path,
) -> None:
    from dmp.lookalike.timesplit import Headline

    heldout = _inputs(methods=1, splits=2).methods
    headline = Headline(
        "time-split", "seed as of 2024-05-24 (400 people); success = 37 people <new>",
        date(2024, 5, 24), 7, 400, 37,
    )  # fmt: skip
    inputs = _inputs(headline=headline, heldout=heldout, method_reason="auto: best time-split")
    page = write_report(inputs, tmp_path / "run")["report.html"].read_text(encoding="utf-8")
    assert "than random (time-split)</h1>" in page
    assert "a <b>time split</b>" in page and "7 days earlier" in page and "2024-05-24" in page
    assert "success = 37 people &lt;new&gt;" in page  # the note, escaped
    assert "people who joined the seed later among" in page
    assert "Secondary view: held-out seeds" in page
    first, second = page.index("How much better than random"), page.index("Secondary view")
    assert first < second
    assert f"{heldout['method_0']['lift_at_1pct']:.1f}" in page[second:]


def test_a_held_out_headline_names_the_features_the_leakage_guard_dropped(
    tmp_path: Path,
) -> None:
    from dmp.lookalike.timesplit import Headline

    inputs = _inputs(
        methods=1, splits=2, headline=Headline("held-out", "an uploaded list"),
        leaky={"aff_skincare": 0.981},
    )  # fmt: skip
    page = write_report(inputs, tmp_path / "run")["report.html"].read_text(encoding="utf-8")
    assert "<b>held-out seeds</b>" in page and "an uploaded list" in page
    assert "<code>aff_skincare</code> 0.981" in page
    assert "Secondary view" not in page


def test_text_is_escaped(tmp_path: Path) -> None:
    inputs = _inputs(
        audience=MALICIOUS,
        seed_description=f"segment {MALICIOUS}",
        method_reason=f"because {MALICIOUS}",
        guardrails={MALICIOUS: 0.5},
        run_id='run"><script>alert(1)</script>',
    )
    page = write_report(inputs, tmp_path / "r")["report.html"].read_text(encoding="utf-8")
    assert MALICIOUS not in page
    assert "<script" not in page.lower()
    assert "Audience &lt;img src=x onerror=alert(1)&gt;: top 1% reaches" in page
    assert "because &lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>"]
)
def test_only_web_mlflow_links_become_links(tmp_path: Path, url: str) -> None:
    page = write_report(_inputs(mlflow_run_url=url), tmp_path / "r")["report.html"].read_text()
    assert "<a href" not in page
    assert "<b>x</b>" not in page


def test_without_mlflow_link_or_truth_checks(tmp_path: Path) -> None:
    inputs = _inputs(mlflow_run_url=None, truth_checks={}, seed_rows=None)
    page = write_report(inputs, tmp_path / "r")["report.html"].read_text()
    assert "<a " not in page and "real outcomes" not in page
    assert "<dt>Seed people</dt><dd>801</dd>" in page


def test_csvs_round_trip(written: tuple[ReportInputs, dict[str, Path]]) -> None:
    inputs, paths = written
    pd.testing.assert_frame_equal(pd.read_csv(paths["deciles.csv"]), inputs.deciles)
    reach = pd.read_csv(paths["reach.csv"])
    assert list(reach.itertuples(index=False, name=None)) == inputs.reach
    assert list(reach.columns) == ["tier_percent", "audience_size"]
    gains = pd.read_csv(paths["gains.csv"])
    assert list(gains.columns) == ["name", "share_of_universe", "share_of_positives"]
    assert list(dict.fromkeys(gains["name"])) == [
        "method_0",
        "method_1",
        "method_2",
        *report.BASELINES,
    ]
    for name, curve in inputs.gains.items():
        back = gains[gains["name"] == name].drop(columns="name").reset_index(drop=True)
        pd.testing.assert_frame_equal(back, curve.reset_index(drop=True))


def test_rewriting_an_existing_folder_replaces_files(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_report(_inputs(), folder)
    (folder / "notes.txt").write_text("kept")
    write_report(_inputs(audience="second"), folder)
    assert "Audience second:" in (folder / "report.html").read_text()
    assert {p.name for p in folder.iterdir()} == {*FILES, "notes.txt"}
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(inputs: ReportInputs) -> None:
        raise RuntimeError("chart failed")

    monkeypatch.setattr(report, "gains_chart", broken)
    with pytest.raises(RuntimeError, match="chart failed"):
        write_report(_inputs(), tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("methods", [1, 2, 3, 4, 5])
def test_charts_render_with_one_to_five_methods(methods: int) -> None:
    inputs = _inputs(methods=methods, splits=2)
    lift, gains = lift_chart(inputs), gains_chart(inputs)
    (bars,) = lift.axes
    # methods + 3 baselines, one bar each per tier; legend adds the random = 1x line.
    assert len(bars.patches) == (methods + 3) * 3
    assert len(bars.get_legend().get_texts()) == methods + 3 + 1
    assert [a.get_title() for a in gains.axes] == [
        "Whole universe (dotted: random)",
        "Audience tiers: top 10%",
    ]
    assert len(gains.axes[1].get_legend().get_texts()) == methods + 3
    for figure in (lift, gains):
        figure.canvas.draw()  # renders every artist, so a bad label would raise here
        assert report._png(figure).startswith(b"\x89PNG")


def test_charts_survive_odd_names_and_a_single_split() -> None:
    inputs = _inputs(methods=2, splits=1)
    renamed = {"$x_1$ & <b>": inputs.methods["method_1"], **inputs.methods}
    odd = replace(
        inputs, methods=renamed, gains={**inputs.gains, "$x_1$ & <b>": inputs.gains["random"]}
    )
    for figure in (lift_chart(odd), gains_chart(odd)):
        figure.canvas.draw()
    page = report._html(odd, {"lift.png": b"", "gains.png": b""})
    assert "$x_1$ &amp; &lt;b&gt;" in page
    assert "±" not in page.split("<tbody>")[1].split("</tbody>")[0]  # one split: no spread


def test_chosen_method_must_have_metrics() -> None:
    with pytest.raises(ValueError, match="chosen method 'pu' has no metrics"):
        _inputs(method="pu")


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, dmp.lookalike.report; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_exclusions_explanations_and_value_sections(tmp_path: Path) -> None:
    importance = pd.DataFrame(
        {"feature": ["lifecycle_stage", "embedding"], "importance": [0.21, 0.02],
         "importance_std": [0.01, 0.005]}
    )  # fmt: skip
    insights = pd.DataFrame(
        {"trait": [f"interest={MALICIOUS}", "lifecycle_stage=active"], "top_people": [40, 80],
         "top_share": [0.4, 0.8], "universe_share": [0.1, 0.2], "index": [400.0, 400.0]}
    )  # fmt: skip
    capture = pd.DataFrame(
        {"tier_percent": [1, 5], "people_share": [0.1, 0.3], "value_share": [0.4, 0.7],
         "people_share_unweighted": [0.12, 0.33], "value_share_unweighted": [0.05, 0.2]}
    )  # fmt: skip
    inputs = _inputs(
        exclusions={"seed people flagged as risky": 7, "risky people who would rank in the "
                    "top 1%": 3},
        importance=importance, insights=insights, value="revenue_total", value_capture=capture,
    )  # fmt: skip
    files = write_report(inputs, tmp_path / "run")
    assert {"importance.csv", "insights.csv", "value_capture.csv"} <= set(files)
    page = files["report.html"].read_text()
    for heading in ("People left out as risky", "What the model relies on", "Audience insights",
                    "Value captured"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in page
    assert MALICIOUS not in page and "interest=&lt;img" in page
    assert "<td>40.0%</td><td>5.0%</td>" in page  # weighted vs unweighted value at 1%
    assert pd.read_csv(files["insights.csv"])["index"].tolist() == [400.0, 400.0]
    plain = write_report(_inputs(), tmp_path / "plain")["report.html"].read_text()
    assert "Audience insights" not in plain and "Value captured" not in plain
