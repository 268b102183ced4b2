"""The segment gate: well-formed memberships, and no defined segment silently empty."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession

from dmp.config import Settings
from dmp.runlog import Run
from dmp.tables import SEGMENTS_TABLE

GATE = SEGMENTS_TABLE  # the gate of conf/gates.yaml named after its table


def segment_gate(
    spark: SparkSession, settings: Settings, run: Run, members: DataFrame, sizes: Mapping[str, int]
) -> str:
    """Run the segment gate (``conf/gates.yaml``) plus a warning per empty segment."""
    from dmp.quality import CheckOutcome, load_gate_specs, run_gate

    spec = load_gate_specs(settings.gates_file)[GATE]
    empty = [name for name, size in sizes.items() if size == 0]
    outcomes = [
        CheckOutcome(
            name="every segment has members",
            severity="warning",
            passed=not empty,
            observed={"empty_segments": empty},
            details="an empty segment usually means a condition that can never hold",
        )
    ]
    report = run_gate(
        spark,
        members,
        spec,
        reports_dir=settings.reports_dir,
        run_id=run.run_id,
        data_docs=settings.quality.data_docs,
        extra_outcomes=outcomes,
    )
    return str(report.report_dir)
