"""The campaign lift report: files, a self-contained and escaped HTML page, chart and summary."""

from __future__ import annotations

import base64
import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dmp.evaluation.campaign import GroupOutcome, LiftResult, campaign_lift
from dmp.lift import report as lift_report
from dmp.lift.report import LiftReportInputs, lift_chart, write_lift_report

MALICIOUS = "<img src=x onerror=alert(1)>"
MLFLOW = "http://mlflow.example:5000/#/experiments/1/runs/abc?x=1&y=2"
FILES = {"report.html", "lift.png", "summary.json"}


def _result(x_t: int = 1200, x_c: int = 100) -> LiftResult:
    return campaign_lift(
        GroupOutcome(18040, x_t, 61234.5, 4.1e6), GroupOutcome(1960, x_c, 5200.0, 3.6e5)
    )


def _inputs(**changes: object) -> LiftReportInputs:
    fields: dict[str, object] = {
        "audience": "bought_serum",
        "run_id": "20240615T090000Z-1b2c",
        "created_at": datetime(2024, 6, 15, 9, 0, tzinfo=UTC),
        "results_file": "serum_outcomes_june.csv",
        "result": _result(),
        "matched_rows": 20000,
        "unmatched_rows": 312,
        "holdout_share": 0.1,
        "audience_run_id": "20240601T101500Z-7f3a",
        "mlflow_run_url": MLFLOW,
    }
    fields.update(changes)
    return LiftReportInputs(**fields)  # type: ignore[arg-type]


def _page(inputs: LiftReportInputs, folder: Path) -> str:
    return write_lift_report(inputs, folder)["report.html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[LiftReportInputs, dict[str, Path]]:
    inputs = _inputs()
    return inputs, write_lift_report(inputs, tmp_path_factory.mktemp("reports") / "lift-1")


def test_report_files_exist(written: tuple[LiftReportInputs, dict[str, Path]]) -> None:
    _, paths = written
    assert set(paths) == FILES
    folder = paths["report.html"].parent
    assert {p.name for p in folder.iterdir()} == FILES
    assert all(paths[n] == folder / n and paths[n].stat().st_size > 0 for n in FILES)
    assert [p.name for p in folder.parent.iterdir()] == ["lift-1"]  # no temporary folder left
    assert paths["lift.png"].read_bytes().startswith(b"\x89PNG")


def test_html_is_self_contained(written: tuple[LiftReportInputs, dict[str, Path]]) -> None:
    _, paths = written
    page = paths["report.html"].read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "javascript:" not in page.lower()
    assert not re.search(r"<link|@import|url\(|<iframe|<object|<embed", page, re.IGNORECASE)
    # The only web address is the MLflow link, as a plain <a href>.
    link = '<a href="http://mlflow.example:5000/#/experiments/1/runs/abc?x=1&amp;y=2">'
    assert page.count(link) == 1
    text_only = re.sub(r"base64,[A-Za-z0-9+/=]+", "", page.replace(link, ""))
    assert not re.search(r"https?://|//[a-z]", text_only, re.IGNORECASE)
    # The one src is the inline PNG, byte for byte the file next to the page.
    (source,) = re.findall(r'src="([^"]*)"', page)
    assert source.startswith("data:image/png;base64,")
    assert base64.b64decode(source.split(",", 1)[1]) == paths["lift.png"].read_bytes()


def test_html_reads_for_a_marketer(written: tuple[LiftReportInputs, dict[str, Path]]) -> None:
    _, paths = written
    page = paths["report.html"].read_text(encoding="utf-8")
    for text in [
        "<h1>Campaign lift for audience bought_serum</h1>",
        '<p class="verdict up">The campaign worked: 6.65% of the test group converted against '
        "5.10% of the control group, a lift of +30.4%",
        "<tr><td>Test (sent the campaign)</td><td>18,040</td><td>1,200</td><td>6.65%</td>",
        "<tr><td>Control (held out)</td><td>1,960</td><td>100</td><td>5.10%</td>",
        "<td>61,234.50</td><td>3.39</td>",
        "<tr><td>Absolute lift</td><td>+1.55 pts</td><td>+0.51 pts to +2.59 pts</td>",
        "<tr><td>Relative lift</td><td>+30.4%</td><td>+6.9% to +59.0%</td>",
        "<tr><td>p-value</td><td>0.008</td>",
        "<tr><td>Incremental conversions</td><td>+280</td><td>+92 to +467</td>",
        "<tr><td>Incremental revenue</td><td>+13,373.28</td>",
        "effects smaller than 1.47 percentage points (a relative lift of about 29%) could not "
        "be reliably detected",
        "<dt>Rows that could not be matched</dt><dd>312 (1.5% of the file, left out)</dd>",
        "<dd>consistent with the planned holdout (p = 0.352)</dd>",
        "<code>serum_outcomes_june.csv</code>",
        "Audience built by run <code>20240601T101500Z-7f3a</code>",
        "run <code>20240615T090000Z-1b2c</code>",
    ]:
        assert text in page, text
    assert 'class="warning"' not in page
    text_only = re.sub(r"base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"\bnan\b|\binf\b", text_only, re.IGNORECASE)


def test_text_is_escaped(tmp_path: Path) -> None:
    inputs = _inputs(
        audience=MALICIOUS,
        run_id='run"><script>alert(1)</script>',
        results_file=f"{MALICIOUS}.csv".replace("/", ""),
        audience_run_id=MALICIOUS.replace("img", "svg"),
    )
    page = _page(inputs, tmp_path / "r")
    assert MALICIOUS not in page and "<svg" not in page
    assert "<script" not in page.lower()
    assert "<h1>Campaign lift for audience &lt;img src=x onerror=alert(1)&gt;</h1>" in page
    assert "run <code>run&#34;&gt;&lt;script&gt;" in page  # Jinja2 autoescape


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>"]
)
def test_only_web_mlflow_links_become_links(tmp_path: Path, url: str) -> None:
    page = _page(_inputs(mlflow_run_url=url), tmp_path / "r")
    assert "<a href" not in page
    assert "<b>x</b>" not in page


def test_summary_json_round_trips_the_numbers(
    written: tuple[LiftReportInputs, dict[str, Path]],
) -> None:
    inputs, paths = written
    summary = json.loads(paths["summary.json"].read_text(encoding="utf-8"))
    assert summary["metrics"] == inputs.result.summary()  # every figure, exactly
    assert summary["verdict"] == inputs.result.verdict()
    assert datetime.fromisoformat(summary["created_at"]) == inputs.created_at
    for key in ["audience", "run_id", "results_file", "matched_rows", "unmatched_rows",
                "holdout_share", "audience_run_id", "mlflow_run_url"]:  # fmt: skip
        assert summary[key] == getattr(inputs, key), key
    assert summary["sample_ratio_p_value"] == pytest.approx(inputs.sample_ratio_p_value)


def test_undefined_figures_are_null_in_json_and_dashes_in_html(tmp_path: Path) -> None:
    inputs = _inputs(result=_result(x_c=0), holdout_share=None, audience_run_id=None,
                     mlflow_run_url=None)  # fmt: skip
    paths = write_lift_report(inputs, tmp_path / "r")
    raw = paths["summary.json"].read_text(encoding="utf-8")
    assert "NaN" not in raw and "Infinity" not in raw
    metrics = json.loads(raw)["metrics"]
    assert metrics["relative_lift"] is None and metrics["mde_abs"] is None
    assert metrics["control_converters"] == 0.0
    for key, value in inputs.result.summary().items():
        assert metrics[key] == (value if math.isfinite(value) else None), key
    page = paths["report.html"].read_text(encoding="utf-8")
    assert "Nobody in the control group converted, so the relative lift cannot be measured" in page
    assert "<tr><td>Relative lift</td><td>cannot be measured</td><td>–</td>" in page
    assert "the smallest detectable effect cannot be computed" in page
    assert "<a " not in page and "Audience built by run" not in page
    assert "Planned holdout share" not in page


def test_a_lopsided_split_is_flagged(tmp_path: Path) -> None:
    page = _page(_inputs(holdout_share=0.2), tmp_path / "r")
    assert '<p class="warning">' in page
    assert "does not match the planned holdout" in page


def test_rewriting_an_existing_folder_replaces_files(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_lift_report(_inputs(), folder)
    (folder / "notes.txt").write_text("kept")
    write_lift_report(_inputs(audience="second"), folder)
    assert "audience second</h1>" in (folder / "report.html").read_text()
    assert {p.name for p in folder.iterdir()} == {*FILES, "notes.txt"}
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(inputs: LiftReportInputs) -> None:
        raise RuntimeError("chart failed")

    monkeypatch.setattr(lift_report, "lift_chart", broken)
    with pytest.raises(RuntimeError, match="chart failed"):
        write_lift_report(_inputs(), tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("x_t", "x_c", "shown"),
    [(1200, 100, "+30.4%"), (1000, 150, "-27.6%"), (900, 98, "-0.2%"), (12, 0, "cannot"),
     (0, 4, "Relative lift -100%"), (0, 0, "cannot")],
)  # fmt: skip
def test_chart_shows_rates_and_lift(x_t: int, x_c: int, shown: str) -> None:
    inputs = _inputs(audience="$x_1$ & <b>", result=_result(x_t, x_c))
    figure = lift_chart(inputs)
    rates, lift = figure.axes
    assert len(rates.patches) == 2  # one bar per group
    assert [p.get_height() for p in rates.patches] == pytest.approx(
        [inputs.result.test.rate * 100, inputs.result.control.rate * 100]
    )
    assert any(shown in text.get_text() for text in lift.texts)
    figure.canvas.draw()  # renders every artist, so a bad label would raise here


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="file name without folders"):
        _inputs(results_file="/uploads/outcomes.csv")
    with pytest.raises(ValueError, match="file name without folders"):
        _inputs(results_file="C:\\uploads\\outcomes.csv")
    with pytest.raises(ValueError, match="negative"):
        _inputs(unmatched_rows=-1)
    with pytest.raises(ValueError, match="holdout_share"):
        _inputs(holdout_share=10)
    assert replace(_inputs(), holdout_share=None).sample_ratio_p_value is None


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, dmp.lift.report; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
