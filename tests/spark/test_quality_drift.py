"""Drift rules on Spark: volume and category-share shifts against the previous version,
from a DataFrame or a precomputed profile, with hand-computed numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.errors import GateFailed
from dmp.quality import DatasetProfile, GateSpec, profile_for_drift, run_gate


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


VOLUME = GateSpec.model_validate(
    {"name": "test/volume", "drift": [{"type": "volume", "band": [0.5, 2.0], "severity": "error"}]}
)


def test_volume_drift_fails_the_gate_with_the_report_path(
    spark: SparkSession, reports: Path
) -> None:
    with pytest.raises(GateFailed) as caught:
        run_gate(
            spark,
            spark.range(1000),
            VOLUME,
            reports_dir=reports,
            run_id="v1",
            previous=spark.range(100),
        )
    error = caught.value
    assert error.exit_code == 3
    assert error.report_path is not None and Path(error.report_path).is_dir()
    message = str(error)
    assert message.startswith("quality gate test/volume failed: 1 error-level check failed")
    assert "volume within 0.5x..2x of previous" in message and error.report_path in message
    document = json.loads((Path(error.report_path) / "validation.json").read_text())
    assert document["outcomes"][0]["observed"] == {
        "rows": 1000,
        "previous_rows": 100,
        "band": [0.5, 2.0],
        "ratio": 10.0,
    }


def test_volume_drift_within_band_and_without_a_previous_version(
    spark: SparkSession, reports: Path
) -> None:
    within = run_gate(
        spark,
        spark.range(1000),
        VOLUME,
        reports_dir=reports,
        run_id="v2",
        previous=DatasetProfile(row_count=800),
    )
    assert within.passed and within.outcomes[0].observed["ratio"] == 1.25
    first = run_gate(spark, spark.range(1000), VOLUME, reports_dir=reports, run_id="v3")
    assert first.passed and first.outcomes[0].details.startswith("skipped")


def categories(spark: SparkSession, counts: dict[str | None, int]) -> DataFrame:
    """A ``stage`` column holding each value ``counts[value]`` times (no Python workers)."""
    stage = F.lit(None).cast("string")
    start = 0
    for value, n in counts.items():  # the last value wrapped is the first tested
        stage = F.when(F.col("id") >= start, F.lit(value)).otherwise(stage)
        start += n
    return spark.range(start).select(stage.alias("stage"))


def test_distribution_drift(spark: SparkSession, reports: Path) -> None:
    previous = categories(spark, {"a": 50, "b": 30, "c": 20})
    current = categories(spark, {"a": 30, "b": 30, "c": 20, "d": 20})
    spec = GateSpec.model_validate(
        {
            "name": "test/distribution",
            "drift": [
                {"type": "distribution", "column": "stage", "max_shift": 0.1, "name": "tight"},
                {"type": "distribution", "column": "stage", "max_shift": 0.25, "name": "loose"},
                {
                    "type": "distribution",
                    "column": "stage",
                    "max_shift": 0.1,
                    "top_k": 2,
                    "name": "top 2",
                },
            ],
        }
    )
    report = run_gate(
        spark,
        current,
        spec,
        reports_dir=reports,
        run_id="d1",
        previous=previous,
        raise_on_failure=False,
    )
    tight, loose, top2 = report.outcomes
    # a: .5 -> .3, new d lands in "other": 0 -> .2; total variation = (.2 + .2) / 2
    assert tight.observed["shift"] == pytest.approx(0.2)
    assert not tight.passed and tight.severity == "warning" and report.passed
    assert loose.passed
    # top 2 (a, b): other holds c (+ d): .2 -> .4; (.2 + 0 + .2) / 2
    assert top2.observed["shift"] == pytest.approx(0.2) and top2.observed["categories"] == 2
    assert tight.observed["largest_moves"][0] == {"value": "a", "previous": 0.5, "current": 0.3}
    assert tight.observed["other"] == {"previous": 0.0, "current": 0.2}

    profile = profile_for_drift(previous, spec.drift)
    assert profile.row_count == 100 and profile.top_values["stage"][0] == ("a", 50)
    again = run_gate(
        spark,
        current,
        spec,
        reports_dir=reports,
        run_id="d2",
        previous=profile,
        raise_on_failure=False,
    )
    assert [o.observed["shift"] for o in again.outcomes] == [
        o.observed["shift"] for o in report.outcomes
    ]


def test_distribution_counts_nulls_as_a_category(spark: SparkSession, reports: Path) -> None:
    previous = categories(spark, {"a": 40, "b": 30, "c": 20, None: 10})
    current = categories(spark, {"a": 40, "b": 30, "c": 20, "d": 10})
    spec = GateSpec.model_validate(
        {
            "name": "test/nulls",
            "drift": [{"type": "distribution", "column": "stage", "max_shift": 0.05}],
        }
    )
    report = run_gate(
        spark,
        current,
        spec,
        reports_dir=reports,
        run_id="n",
        previous=previous,
        raise_on_failure=False,
    )
    (outcome,) = report.outcomes
    assert outcome.observed["shift"] == pytest.approx(0.1) and not outcome.passed
    assert outcome.observed["largest_moves"][0]["value"] in {"(null)"}
