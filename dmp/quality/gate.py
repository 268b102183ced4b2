"""Run one gate on the DataFrame a stage is about to publish, and write its report."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dmp.errors import GateFailed
from dmp.quality.aggregates import DatasetProfile, SparkCheck, profile_for_drift, spark_outcomes
from dmp.quality.outcome import CheckOutcome, GateReport
from dmp.quality.report import plan_report_dir, safe_name, write_report
from dmp.quality.spec import GX_CHECKS, Check, GateSpec, Schema, ShareAtMost, Unique

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from dmp.quality.expectations import GxRun

__all__ = ["run_gate"]

_log = logging.getLogger(__name__)
_LISTED_FAILURES = 5


def run_gate(
    spark: SparkSession,
    df: DataFrame,
    spec: GateSpec,
    *,
    reports_dir: Path,
    run_id: str,
    previous: DataFrame | DatasetProfile | None = None,
    extra_outcomes: Sequence[CheckOutcome] = (),
    raise_on_failure: bool = True,
    data_docs: bool = False,
    persist: bool = True,
) -> GateReport:
    """Check a batch before it is published; write a report; raise if an error-level check fails.

    The GX-expressible checks run as one GX suite on the batch (persisted for the
    duration of the gate unless the caller already did); schema, share and drift rules
    are Spark aggregates. The report lands in
    ``reports_dir/quality/<gate>/<UTC timestamp>-<run_id>/`` with no sample of values.

    Args:
        spark: The session (used to label the gate's Spark jobs).
        df: The batch about to be published.
        spec: The gate's rules.
        reports_dir: Reports root (``settings.reports_dir``).
        run_id: The stage run, part of the report folder's name.
        previous: The previous published version (a DataFrame, or a profile of it made
            with :func:`profile_for_drift`); ``None`` when there is none, and drift rules
            then pass with a note.
        extra_outcomes: The stage's own checks, reported and judged with the others.
        raise_on_failure: Raise :class:`GateFailed` when the gate fails (default);
            otherwise return the failing report.
        data_docs: Also store the redacted GX result in a file-backed GX project and
            rebuild the GX Data Docs site under ``reports_dir/quality/gx-data-docs``.
        persist: Cache the batch while the gate reads it (a few passes) unless it is
            cached already; ``False`` when it is cheap to compute again (a projection of
            a cached frame).

    Returns:
        The gate's report.

    Raises:
        GateFailed: An error-level check failed (when ``raise_on_failure``); the message
            names the gate, the failed checks and the report, ``report_path`` is the folder.
    """
    started = time.perf_counter()
    created_at = datetime.now(UTC)
    _log.info(
        "quality gate %s: %d checks, %d drift rules, %d stage outcomes",
        spec.name,
        len(spec.checks),
        len(spec.drift),
        len(extra_outcomes),
    )
    with _labelled_jobs(spark, f"quality gate {spec.name}"), _persisted(df, persist) as batch:
        checked, drift_outcomes, gx_run = _evaluate(batch, spec, previous)
    outcomes = (*checked, *drift_outcomes, *extra_outcomes)
    report = GateReport.from_outcomes(
        spec.name,
        run_id,
        outcomes,
        report_dir=plan_report_dir(reports_dir, spec.name, run_id, created_at),
        seconds=time.perf_counter() - started,
        created_at=created_at,
    )
    write_report(report, gx_run.document if gx_run is not None else None)
    if data_docs and gx_run is not None:
        _data_docs(reports_dir, safe_name(spec.name), run_id, created_at, gx_run.result)
    _log_report(report)
    if not report.passed and raise_on_failure:
        raise GateFailed(failure_message(report), report_path=str(report.report_dir))
    return report


def failure_message(report: GateReport) -> str:
    """One line naming the gate, the failed error-level checks and the report."""
    names = [o.name for o in report.failures]
    shown = ", ".join(names[:_LISTED_FAILURES])
    if len(names) > _LISTED_FAILURES:
        shown += f" and {len(names) - _LISTED_FAILURES} more"
    plural = "check" if len(names) == 1 else "checks"
    return (
        f"quality gate {report.gate} failed: {len(names)} error-level {plural} failed "
        f"({shown}); report: {report.report_dir / 'report.html'}"
    )


def _evaluate(
    batch: DataFrame, spec: GateSpec, previous: DataFrame | DatasetProfile | None
) -> tuple[list[CheckOutcome], list[CheckOutcome], GxRun | None]:
    """Outcomes of the checks (spec order) and drift rules, and the GX run if there was one."""
    columns = set(batch.columns)
    by_position: dict[int, CheckOutcome] = {}
    gx_checks: list[tuple[int, Check]] = []
    spark_checks: list[tuple[int, SparkCheck]] = []
    for position, check in enumerate(spec.checks):
        missing = [c for c in _columns_of(check) if c not in columns]
        if missing:
            by_position[position] = _missing_columns(check, missing)
        elif isinstance(check, GX_CHECKS):
            gx_checks.append((position, check))
        elif isinstance(check, Schema | ShareAtMost):
            spark_checks.append((position, check))
    gx_run = None
    if gx_checks:
        from dmp.quality.expectations import run_expectations

        gx_run = run_expectations(batch, gx_checks, safe_name(spec.name))
        by_position.update(gx_run.outcomes)
    drift_outcomes: list[CheckOutcome] = []
    if spark_checks or spec.drift:
        profile: DatasetProfile | None = None
        if isinstance(previous, DatasetProfile):
            profile = previous
        elif previous is not None and spec.drift:
            profile = profile_for_drift(previous, spec.drift)
        checked, drift_outcomes = spark_outcomes(batch, spark_checks, spec.drift, profile)
        by_position.update(checked)
    return [by_position[p] for p in sorted(by_position)], drift_outcomes, gx_run


def _columns_of(check: Check) -> list[str]:
    if isinstance(check, Unique):
        return check.key
    column = getattr(check, "column", None)
    return [column] if isinstance(column, str) and not isinstance(check, ShareAtMost) else []


def _missing_columns(check: Check, missing: list[str]) -> CheckOutcome:
    return CheckOutcome(
        name=check.label,
        severity=check.severity,
        passed=False,
        observed={"missing": missing},
        details=f"column not found: {', '.join(missing)}",
        kind="gx" if isinstance(check, GX_CHECKS) else "spark",
    )


@contextmanager
def _persisted(df: DataFrame, persist: bool) -> Iterator[DataFrame]:
    """The batch, persisted for the gate unless the caller keeps it or says it is cheap."""
    from pyspark import StorageLevel

    from dmp.caching import kept

    if not persist or df.storageLevel != StorageLevel.NONE:
        yield df
        return
    with kept(df) as stored:
        yield stored


@contextmanager
def _labelled_jobs(spark: SparkSession, description: str) -> Iterator[None]:
    """Name the gate's jobs in the Spark UI, restoring the caller's description after."""
    context = spark.sparkContext
    before = context.getLocalProperty("spark.job.description")
    context.setJobDescription(description)
    try:
        yield
    finally:
        context.setJobDescription(before)  # type: ignore[arg-type]


def _data_docs(
    reports_dir: Path, suite_name: str, run_id: str, created_at: datetime, result: object
) -> None:
    from dmp.quality.data_docs import build_data_docs

    try:
        build_data_docs(reports_dir, suite_name, run_id, created_at, result)
    except Exception as error:  # Data Docs are a convenience; the JSON/HTML report stands.
        _log.warning("GX Data Docs were not built: %s: %s", type(error).__name__, error)


def _log_report(report: GateReport) -> None:
    for outcome in report.failures + report.warnings:
        _log.warning(
            "quality gate %s: %s %s: %s",
            report.gate,
            "FAILED" if outcome.severity == "error" else "warning",
            outcome.name,
            outcome.details or outcome.observed,
        )
    _log.info(
        "quality gate %s %s in %.1fs (%d checks, %d failed, %d warnings); report %s",
        report.gate,
        "passed" if report.passed else "failed",
        report.seconds,
        len(report.outcomes),
        len(report.failures),
        len(report.warnings),
        report.report_dir,
    )
