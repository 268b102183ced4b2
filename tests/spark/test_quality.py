"""Quality gates on Spark: every check type on planted data with hand-computed numbers, drift,
reports on disk, no personal data in them, and a bounded number of Spark jobs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.quality import (
    CheckOutcome,
    GateReport,
    GateSpec,
    run_gate,
)

_log = logging.getLogger(__name__)

ROWS = 200


def planted(spark: SparkSession) -> DataFrame:
    """200 rows, with bad values planted where the numbers are easy to count by hand.

    * ``dup_id``: ids 0-4 all hold 0 -> 5 rows share one value.
    * ``cat``: ``c0``..``c3`` in turn -> 50 rows each; (cat, dup_id) repeats for ids 0 and 4.
    * ``maybe``: null on every 10th id -> 20 nulls; the rest lie in 1..199.
    * ``amount``: ``id % 50``, except ids 197-199 hold -1 -> 3 negatives.
    * ``country``: ids 0-3 "XX", ids 4-5 null, the rest DE/FR/US -> 4 of 198 non-null wrong.
    * ``email``: ``user<id>@example.com``; ``email_sha256`` its hash.
    """
    country = (
        F.when(F.col("id") < 4, F.lit("XX"))
        .when(F.col("id") < 6, F.lit(None))
        .otherwise(
            F.element_at(
                F.array(F.lit("DE"), F.lit("FR"), F.lit("US")), (F.col("id") % 3 + 1).cast("int")
            )
        )
    )
    email = F.concat(F.lit("user"), F.col("id").cast("string"), F.lit("@example.com"))
    return spark.range(ROWS).select(
        F.col("id"),
        F.when(F.col("id") < 5, F.lit(0)).otherwise(F.col("id")).alias("dup_id"),
        F.concat(F.lit("c"), (F.col("id") % 4).cast("string")).alias("cat"),
        F.when(F.col("id") % 10 == 0, F.lit(None)).otherwise(F.col("id")).alias("maybe"),
        F.when(F.col("id") >= 197, F.lit(-1.0))
        .otherwise((F.col("id") % 50).cast("double"))
        .alias("amount"),
        country.alias("country"),
        email.alias("email"),
        F.sha2(email, 256).alias("email_sha256"),
        (
            F.lit("2024-01-01 00:00:00").cast("timestamp")
            + F.make_interval(hours=F.col("id").cast("int"))
        ).alias("seen_at"),
    )


# name -> (check, passes, observed values that must match exactly)
CASES: dict[str, tuple[dict[str, Any], bool, dict[str, Any]]] = {
    "id not null": ({"type": "not_null", "column": "id"}, True, {"unexpected_count": 0}),
    "maybe not null": (
        {"type": "not_null", "column": "maybe"},
        False,
        {"element_count": 200, "unexpected_count": 20, "unexpected_percent": 10.0},
    ),
    "maybe not null, mostly 0.9": (
        {"type": "not_null", "column": "maybe", "mostly": 0.9},
        True,
        {"unexpected_count": 20, "mostly": 0.9},
    ),
    "maybe not null, mostly 0.91": (
        {"type": "not_null", "column": "maybe", "mostly": 0.91},
        False,
        {"unexpected_count": 20},
    ),
    "id unique": ({"type": "unique", "column": "id"}, True, {"unexpected_count": 0}),
    "dup_id unique": ({"type": "unique", "column": "dup_id"}, False, {"unexpected_count": 5}),
    "cat+dup_id unique": (
        {"type": "unique", "columns": ["cat", "dup_id"]},
        False,
        {"unexpected_count": 2},
    ),
    "id+cat unique": ({"type": "unique", "columns": ["id", "cat"]}, True, {"unexpected_count": 0}),
    "amount in 0..100": (
        {"type": "between", "column": "amount", "min": 0, "max": 100},
        False,
        {"unexpected_count": 3, "unexpected_percent": 1.5},
    ),
    "amount in 0..100, mostly 0.98": (
        {"type": "between", "column": "amount", "min": 0, "max": 100, "mostly": 0.98},
        True,
        {"unexpected_count": 3},
    ),
    "maybe in 1..199, nulls ignored": (
        {"type": "between", "column": "maybe", "min": 1, "max": 199},
        True,
        {"unexpected_count": 0, "missing_count": 20},
    ),
    "seen_at after a date": (
        {"type": "between", "column": "seen_at", "min": "2024-01-01", "max": "2024-01-10"},
        True,
        {"unexpected_count": 0},
    ),
    "country in set": (
        {"type": "in_set", "column": "country", "values": ["DE", "FR", "US"]},
        False,
        {"unexpected_count": 4, "missing_count": 2},
    ),
    "country in set, mostly 0.97": (
        {"type": "in_set", "column": "country", "values": ["DE", "FR", "US"], "mostly": 0.97},
        True,
        {"unexpected_count": 4},
    ),
    "hash is hex": (
        {"type": "matches_regex", "column": "email_sha256", "regex": "^[0-9a-f]{64}$"},
        True,
        {"unexpected_count": 0},
    ),
    "email is hashed": (
        {
            "type": "matches_regex",
            "column": "email",
            "regex": "^[0-9a-f]{64}$",
            "severity": "warning",
        },
        False,
        {"unexpected_count": 200, "unexpected_percent": 100.0},
    ),
    "columns exist": ({"type": "columns_exist", "columns": ["id", "email"]}, True, {"missing": []}),
    "a column is missing": (
        {"type": "columns_exist", "columns": ["id", "nope"]},
        False,
        {"missing": ["nope"]},
    ),
    "schema": (
        {
            "type": "schema",
            "columns": {
                "id": "long",
                "email": "string",
                "amount": "double",
                "seen_at": "timestamp",
            },
        },
        True,
        {"missing": [], "mismatched": {}},
    ),
    "wrong schema": (
        {"type": "schema", "columns": {"amount": "int", "gone": "string"}},
        False,
        {"missing": ["gone"], "mismatched": {"amount": {"expected": "int", "actual": "double"}}},
    ),
    "exact schema": (
        {"type": "schema", "columns": {"id": "bigint"}, "exact": True},
        False,
        {
            "unexpected": [
                "dup_id",
                "cat",
                "maybe",
                "amount",
                "country",
                "email",
                "email_sha256",
                "seen_at",
            ]
        },
    ),
    "row count": ({"type": "row_count_between", "min": 100, "max": 1000}, True, {"row_count": 200}),
    "too few rows": ({"type": "row_count_between", "min": 500}, False, {"row_count": 200}),
    "negatives under 1%": (
        {"type": "share_at_most", "expr": "amount < 0", "max_share": 0.01},
        False,
        {"rows": 200, "matching": 3, "share": 0.015},
    ),
    "negatives under 2%": (
        {"type": "share_at_most", "expr": "amount < 0", "max_share": 0.02},
        True,
        {"matching": 3},
    ),
    "XX under 5%": (
        {"type": "share_at_most", "column": "country", "value": "XX", "max_share": 0.05},
        True,
        {"matching": 4, "share": 0.02},
    ),
    "no category above 20%": (
        {"type": "share_at_most", "column": "cat", "max_share": 0.2},
        False,
        {"matching": 50, "share": 0.25},
    ),
    "check on a missing column": (
        {"type": "not_null", "column": "nope"},
        False,
        {"missing": ["nope"]},
    ),
}


def spec_of(name: str, cases: dict[str, tuple[dict[str, Any], bool, dict[str, Any]]]) -> GateSpec:
    return GateSpec.model_validate(
        {"name": name, "checks": [{**check, "name": n} for n, (check, _, _) in cases.items()]}
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def planted_report(spark: SparkSession, reports: Path) -> GateReport:
    """One gate run with every case (one GX suite run), Data Docs included."""
    started = time.perf_counter()
    report = run_gate(
        spark,
        planted(spark),
        spec_of("test/planted", CASES),
        reports_dir=reports,
        run_id="run-1",
        raise_on_failure=False,
        data_docs=True,
    )
    _log.info("planted gate: %.1fs", time.perf_counter() - started)
    return report


def by_name(report: GateReport) -> dict[str, CheckOutcome]:
    return {o.name: o for o in report.outcomes}


@pytest.mark.parametrize("case", list(CASES))
def test_each_check_on_planted_data(planted_report: GateReport, case: str) -> None:
    _, passes, observed = CASES[case]
    outcome = by_name(planted_report)[case]
    assert outcome.passed is passes, outcome
    for key, value in observed.items():
        expected = pytest.approx(value) if isinstance(value, float) else value
        assert outcome.observed[key] == expected, (key, outcome)


def test_in_set_percent_is_of_non_null_values(planted_report: GateReport) -> None:
    outcome = by_name(planted_report)["country in set"]
    assert outcome.observed["unexpected_percent"] == pytest.approx(100 * 4 / 198, abs=1e-3)
    assert outcome.details == "4 unexpected of 198 non-null values"


def test_verdict_lists_error_failures_and_warnings(planted_report: GateReport) -> None:
    failing = {n for n, (check, passes, _) in CASES.items() if not passes}
    assert not planted_report.passed
    assert {o.name for o in planted_report.failures} == failing - {"email is hashed"}
    assert [o.name for o in planted_report.warnings] == ["email is hashed"]
    assert [o.name for o in planted_report.outcomes] == list(CASES)  # spec order


def test_report_files(planted_report: GateReport, reports: Path) -> None:
    folder = planted_report.report_dir
    assert folder.parent == reports / "quality" / "test_planted"
    assert folder.name.endswith("-run-1")
    document = json.loads((folder / "validation.json").read_text())
    assert document["passed"] is False and len(document["outcomes"]) == len(CASES)
    spark_side = {"schema", "wrong schema", "exact schema"} | {
        n for n, (c, _, _) in CASES.items() if c["type"] == "share_at_most"
    }
    gx_results = document["great_expectations"]["results"]
    assert len(gx_results) == len(CASES) - len(spark_side) - 1  # minus the missing column
    assert all("partial_unexpected_list" not in r["result"] for r in gx_results)
    page = (folder / "report.html").read_text()
    HTMLParser().feed(page)
    assert "<script" not in page and "FAILED" in page and "maybe not null, mostly 0.91" in page
    latest = json.loads((folder.parent / "latest.json").read_text())
    assert latest["report_dir"] == str(folder)
    assert (reports / "quality" / "gx-data-docs" / "index.html").is_file()


def test_no_email_reaches_any_report_file(planted_report: GateReport, reports: Path) -> None:
    assert not by_name(planted_report)["email is hashed"].passed
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert any(p.name == "validation.json" for p in files)
    assert any(p.suffix == ".html" and "gx-data-docs" in p.parts for p in files)
    leaking = [p for p in files if b"@example.com" in p.read_bytes()]
    assert leaking == []


def test_the_batch_is_left_as_it_was(spark: SparkSession, reports: Path) -> None:
    # GX's Spark data source persists every batch and never releases it; ours must not.
    df = spark.range(10)
    before = spark.sparkContext._jsc.getPersistentRDDs().size()
    spec = GateSpec.model_validate(
        {"name": "t/cache", "checks": [{"type": "not_null", "column": "id"}]}
    )
    assert run_gate(spark, df, spec, reports_dir=reports, run_id="c").passed
    assert not df.storageLevel.useMemory and not df.storageLevel.useDisk
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == before


def test_warnings_do_not_fail_the_gate_but_are_reported(spark: SparkSession, reports: Path) -> None:
    spec = GateSpec.model_validate(
        {
            "name": "test/warnings",
            "checks": [
                {
                    "type": "not_null",
                    "column": "maybe",
                    "severity": "warning",
                    "name": "gx warning",
                },
                {
                    "type": "share_at_most",
                    "column": "cat",
                    "max_share": 0.1,
                    "severity": "warning",
                    "name": "spark warning",
                },
                {"type": "not_null", "column": "id", "name": "ok"},
            ],
        }
    )
    stage = CheckOutcome(name="stage check", severity="error", passed=True, observed={"n": 1})
    report = run_gate(
        spark, planted(spark), spec, reports_dir=reports, run_id="w", extra_outcomes=[stage]
    )
    assert report.passed
    assert [o.name for o in report.warnings] == ["gx warning", "spark warning"]
    assert [o.name for o in report.outcomes] == ["gx warning", "spark warning", "ok", "stage check"]
    page = (report.report_dir / "report.html").read_text()
    assert "PASSED with 2 warning(s)" in page and "spark warning" in page and "stage check" in page
    document = json.loads((report.report_dir / "validation.json").read_text())
    assert document["warnings"] == ["gx warning", "spark warning"]


@pytest.fixture
def job_group(spark: SparkSession) -> Iterator[str]:
    context = spark.sparkContext
    context.setJobGroup("quality-job-bound", "count the gate's Spark jobs")
    yield "quality-job-bound"
    context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_gate_on_50k_rows_runs_a_bounded_number_of_jobs(
    spark: SparkSession, reports: Path, job_group: str
) -> None:
    n = 50_000
    df = spark.range(n).select(
        F.col("id"),
        F.sha2(F.col("id").cast("string"), 256).alias("person_id"),
        F.element_at(
            F.array(*(F.lit(s) for s in ("new", "active", "lapsing", "churned"))),
            (F.col("id") % 4 + 1).cast("int"),
        ).alias("stage"),
        (F.col("id") % 1000 / 10).alias("revenue"),
        F.when(F.col("id") % 100 == 0, None).otherwise(F.col("id")).alias("orders"),
    )
    spec = GateSpec.model_validate(
        {
            "name": "test/bounded",
            "checks": [
                {"type": "not_null", "column": "person_id"},
                {"type": "unique", "column": "person_id"},
                {"type": "not_null", "column": "orders", "mostly": 0.95},
                {"type": "between", "column": "revenue", "min": 0, "max": 100},
                {"type": "between", "column": "orders", "min": 0},
                {
                    "type": "in_set",
                    "column": "stage",
                    "values": ["new", "active", "lapsing", "churned"],
                },
                {"type": "matches_regex", "column": "person_id", "regex": "^[0-9a-f]{64}$"},
                {"type": "columns_exist", "columns": ["id", "person_id", "stage"]},
                {"type": "row_count_between", "min": 1000},
                {"type": "schema", "columns": {"id": "bigint", "person_id": "string"}},
                {"type": "share_at_most", "expr": "revenue = 0", "max_share": 0.05},
            ],
            "drift": [
                {"type": "volume", "band": [0.8, 1.5]},
                {"type": "distribution", "column": "stage", "max_shift": 0.1},
            ],
        }
    )
    started = time.perf_counter()
    report = run_gate(spark, df, spec, reports_dir=reports, run_id="big", previous=df.limit(45_000))
    seconds = time.perf_counter() - started
    jobs = len(spark.sparkContext.statusTracker().getJobIdsForGroup(job_group))
    _log.info(
        "gate of %d checks on %d rows: %.1fs, %d Spark jobs", len(spec.checks), n, seconds, jobs
    )
    assert report.passed, report.failures
    assert all(o.passed for o in report.outcomes)
    # GX resolves its metrics in a handful of bundled jobs, and our aggregates add one job
    # each for the batch and for every distribution column of the previous version.
    assert 3 <= jobs <= 25, jobs
