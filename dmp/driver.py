"""The one driver every entry point uses to run a stage: session, timing, run log, outcome.

The command line, the pipeline, ``dmp demo``, the ``jobs/`` spark-submit scripts and the
notebooks all call :func:`run_stage` with a registered stage (:mod:`dmp.registry`) and its
request, which goes through :func:`execute`, so a stage behaves the same however it is
started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dmp.config import Settings
from dmp.errors import (
    DmpError,
    GateFailed,
    StageFailed,
    UserError,
    is_out_of_memory,
    root_cause,
)
from dmp.lake import Lake
from dmp.pipeline.lock import lake_lock
from dmp.progress import SparkProgress
from dmp.runlog import Run, RunStatus, params_of, record_run

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.stages import Stage

__all__ = ["StageResult", "execute", "run_stage", "session_for"]

_log = logging.getLogger("dmp")
Q = TypeVar("Q")
R = TypeVar("R")
_sessions: dict[int, SparkSession] = {}


class StageResult(Protocol):
    """What a stage returns: anything with a printable summary."""

    def summary(self) -> dict[str, Any]:
        """Key figures of the run, in display order."""
        ...


def session_for(settings: Settings, *, verbose: bool = False) -> SparkSession:
    """The process's Spark session, built once on first use."""
    key = id(settings)
    if key not in _sessions:
        from dmp.session import build_session

        started = time.perf_counter()
        _log.info("starting Spark (%s)", settings.spark.master)
        _sessions[key] = build_session(settings, verbose=verbose)
        _log.info("Spark ready in %.1fs", time.perf_counter() - started)
    return _sessions[key]


def run_stage(
    stage: Stage[Q, R],
    settings: Settings,
    request: Q,
    *,
    spark: SparkSession | None = None,
    verbose: bool = False,
    pipeline_run_id: str | None = None,
    extra_params: Mapping[str, Any] | None = None,
) -> R:
    """Run a registered stage on a request, recorded in ``ops/runs`` with the request as
    its parameters.

    Args:
        stage: The stage's declaration (``dmp.registry.stage(name)``, or its package's).
        settings: Validated configuration.
        request: What this run of the stage is asked to do (``stage.request``).
        spark: A session to use instead of building one (ignored by stages without Spark).
        verbose: Spark INFO logs and progress bars.
        pipeline_run_id: Groups the stages of one pipeline run.
        extra_params: Recorded beside the request's parameters (the pipeline's config
            digest and landed files).

    Returns:
        The stage's result.

    Raises:
        UserError: The request is wrong (checked before the lock is taken or Spark starts).
        LakeLocked, GateFailed, DmpError: As :func:`execute`.
    """
    bound = stage.bind(settings, request)
    params = {**stage.params(request), **(extra_params or {})}
    return execute(
        stage.name, bound, settings, params=params, needs_spark=stage.needs_spark,
        spark=spark if stage.needs_spark else None, verbose=verbose,
        pipeline_run_id=pipeline_run_id,
    )  # fmt: skip


def execute(
    job: str,
    stage: Callable[[SparkSession | None, Run], R],
    settings: Settings,
    *,
    params: Mapping[str, Any] | None = None,
    needs_spark: bool = True,
    spark: SparkSession | None = None,
    verbose: bool = False,
    pipeline_run_id: str | None = None,
) -> R:
    """Run one stage and record it in ``ops/runs``.

    Args:
        job: Stage name for the log.
        stage: ``stage(spark, run) -> result``; ``spark`` is None when not needed.
        settings: Validated configuration.
        params: Parameters to record.
        needs_spark: Build (or reuse) the Spark session for the stage.
        spark: A session to use instead of building one.
        verbose: Spark INFO logs and progress bars.
        pipeline_run_id: Groups the stages of one pipeline run.

    Returns:
        Whatever the stage returned.

    Every stage writes, so the stage runs holding the lake lock (re-entrant: the pipeline
    holds it around its stages); another process holding it means a one-line refusal before
    any work starts.

    Raises:
        LakeLocked: Another process is writing the lake (nothing recorded, nothing run).
        GateFailed: A data-quality gate failed (recorded as ``gate_failed``).
        DmpError: Any other failure (recorded as ``failed``).
    """
    with lake_lock(settings.work_dir, job=job, stale_hours=settings.pipeline.stale_lock_hours):
        return _execute_locked(
            job, stage, settings, params=params, needs_spark=needs_spark, spark=spark,
            verbose=verbose, pipeline_run_id=pipeline_run_id,
        )  # fmt: skip


def _execute_locked(
    job: str,
    stage: Callable[[SparkSession | None, Run], R],
    settings: Settings,
    *,
    params: Mapping[str, Any] | None,
    needs_spark: bool,
    spark: SparkSession | None,
    verbose: bool,
    pipeline_run_id: str | None,
) -> R:
    lake = Lake(settings.lake_dir)
    run = Run(job=job, lake=lake, params=params_of(params or {}), pipeline_run_id=pipeline_run_id)
    if needs_spark and spark is None:
        spark = session_for(settings, verbose=verbose)
    started = time.perf_counter()
    _log.info("%s: started (run %s)", job, run.run_id)
    watch = (
        SparkProgress(spark, job, settings.spark.progress_seconds)
        if spark is not None
        else nullcontext()
    )
    try:
        with watch:
            result = stage(spark, run)
    except GateFailed as error:
        _refresh_report_index(settings)
        record_run(run, RunStatus.GATE_FAILED, str(error))
        _log.error("%s: data-quality gate failed after %.1fs", job, time.perf_counter() - started)
        raise
    except UserError as error:
        record_run(run, RunStatus.FAILED, str(error))
        raise
    except Exception as error:
        if is_out_of_memory(error) or is_out_of_memory(error.__cause__ or error):
            message = _out_of_memory(job, settings)
            record_run(run, RunStatus.FAILED, message)
            raise StageFailed(message) from error
        if isinstance(error, DmpError):
            record_run(run, RunStatus.FAILED, f"{type(error).__name__}: {error}")
            raise
        message = f"{job} failed: {root_cause(error)}"
        record_run(run, RunStatus.FAILED, message)
        raise StageFailed(message) from error
    status = getattr(result, "status", RunStatus.SUCCEEDED)
    record_run(run, status if isinstance(status, str) else RunStatus.SUCCEEDED)
    _log.info("%s: %s in %.1fs", job, status, time.perf_counter() - started)
    _refresh_report_index(settings)
    return result


def _refresh_report_index(settings: Settings) -> None:
    """Rebuild ``reports/index.html`` once a stage that may have written a report ends."""
    if not settings.reports_dir.exists():
        return  # no stage wrote a report yet
    from dmp.report_index import write_index

    try:
        write_index(settings.reports_dir, settings.exports_dir)
    except OSError as error:  # the index is a convenience; the stage's own reports stand
        _log.warning("report index not rebuilt: %s", error)


def _out_of_memory(job: str, settings: Settings) -> str:
    """One line saying which setting to raise (no JVM stack trace)."""
    from dmp.session import driver_memory

    heap = driver_memory(settings.spark.driver_memory)
    return (
        f"{job} ran out of memory (Spark has {heap} in local mode): "
        "raise spark.driver_memory (DMP__SPARK__DRIVER_MEMORY=16g, or spark-submit "
        "--driver-memory) or, on a cluster, spark.executor.memory; `--verbose` shows Spark's log"
    )
