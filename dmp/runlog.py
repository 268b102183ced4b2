"""The run log: one row per stage run in ``ops/runs`` and the :class:`Run` handle stages use.

A stage reads its inputs and writes its outputs through its ``Run`` so the log records the
exact table versions it read and produced, with row counts, status and timing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dmp.errors import redact_secrets
from dmp.lake import Lake, WriteResult
from dmp.tables import RUNS_TABLE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["RUNS_TABLE", "Run", "RunStatus", "recent_runs", "record_run"]


class RunStatus:
    """Values of ``ops/runs.status``."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GATE_FAILED = "gate_failed"
    SKIPPED = "skipped"


_RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("job", pa.string()),
        ("status", pa.string()),
        ("params", pa.map_(pa.string(), pa.string())),
        ("inputs", pa.map_(pa.string(), pa.int64())),
        ("outputs", pa.map_(pa.string(), pa.int64())),
        ("counts", pa.map_(pa.string(), pa.int64())),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("duration_s", pa.float64()),
        ("message", pa.string()),
        ("pipeline_run_id", pa.string()),
    ]
)


@dataclass
class Run:
    """One execution of a stage: what it read, wrote and counted.

    Attributes:
        job: Stage name (``ingest``, ``identity``, ...).
        lake: The lake the stage works on.
        params: The stage's parameters, as strings, for the log.
        run_id: Unique id of this run.
        pipeline_run_id: Id of the pipeline run this stage belongs to, if any.
    """

    job: str
    lake: Lake
    params: dict[str, str] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    pipeline_run_id: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    inputs: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def read(self, spark: SparkSession, name: str, version: int | None = None) -> DataFrame:
        """Read a table at a pinned version and record it as an input of this run."""
        pinned = self.lake.version(name) if version is None else version
        frame = self.lake.read(spark, name, version=pinned)
        if pinned is not None:
            self.inputs[name] = pinned
        return frame

    def write(self, df: DataFrame, name: str, **options: Any) -> WriteResult:
        """Write through :meth:`dmp.lake.Lake.write`, recording the version produced."""
        metadata = {"dmp.job": self.job, "dmp.run_id": self.run_id}
        metadata.update(options.pop("metadata", None) or {})
        result = self.lake.write(df, name, metadata=metadata, **options)
        self._record_output(result)
        return result

    def write_arrow(self, data: pa.Table, name: str, **options: Any) -> WriteResult:
        """Write a small driver-side table, recording the version produced."""
        metadata = {"dmp.job": self.job, "dmp.run_id": self.run_id}
        result = self.lake.write_arrow(data, name, metadata=metadata, **options)
        self._record_output(result)
        return result

    def _record_output(self, result: WriteResult) -> None:
        if result.version is not None:
            self.outputs[result.table] = result.version
        self.counts[f"{result.table}.rows_written"] = (
            self.counts.get(f"{result.table}.rows_written", 0) + result.rows
        )

    def count(self, key: str, value: int) -> None:
        """Record a named count (rows read, quarantined, ...)."""
        self.counts[key] = int(value)


def record_run(run: Run, status: str, message: str = "") -> None:
    """Append the run's row to ``ops/runs``."""
    ended = datetime.now(UTC)
    row = {
        "run_id": run.run_id,
        "job": run.job,
        "status": status,
        "params": [(key, redact_secrets(value)) for key, value in run.params.items()],
        "inputs": list(run.inputs.items()),
        "outputs": list(run.outputs.items()),
        "counts": list(run.counts.items()),
        "started_at": run.started_at,
        "ended_at": ended,
        "duration_s": (ended - run.started_at).total_seconds(),
        "message": redact_secrets(message)[:2000],
        "pipeline_run_id": run.pipeline_run_id,
    }
    table = pa.Table.from_pylist([row], schema=_RUNS_SCHEMA)
    run.lake.write_arrow(table, RUNS_TABLE, metadata={"dmp.job": run.job})


def recent_runs(
    lake: Lake, limit: int = 20, jobs: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The latest runs, newest first, as plain dicts (maps become dicts)."""
    if not lake.exists(RUNS_TABLE):
        return []
    rows = lake.read_arrow(RUNS_TABLE).to_pylist()
    if jobs:
        rows = [r for r in rows if r["job"] in jobs]
    rows.sort(key=lambda r: r["started_at"], reverse=True)
    for row in rows:
        for key in ("params", "inputs", "outputs", "counts"):
            row[key] = dict(row[key] or [])
    return rows[:limit]


def params_of(values: Mapping[str, Any]) -> dict[str, str]:
    """Render stage parameters as strings for the log (None values are dropped)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    return out
