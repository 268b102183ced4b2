"""Data-quality gates every layer passes before it publishes.

A stage computes its output, calls :func:`run_gate` with the gate's :class:`GateSpec`
(from ``conf/gates.yaml`` via :func:`load_gate_specs`) and writes only if the gate
passes; a failing gate raises :class:`dmp.errors.GateFailed` and leaves a report under
``<home>/reports/quality/``. Batch checks run as one GX suite; schema, share and drift
rules are Spark aggregates. Importing this package does not import great_expectations
or PySpark.
"""

from __future__ import annotations

from dmp.quality.aggregates import DatasetProfile, profile_for_drift
from dmp.quality.gate import failure_message, run_gate
from dmp.quality.outcome import CheckOutcome, GateReport
from dmp.quality.report import gate_folder, render_html
from dmp.quality.spec import (
    Between,
    Check,
    ColumnsExist,
    DistributionDrift,
    DriftRule,
    GateSpec,
    InSet,
    MatchesRegex,
    NotNull,
    RowCountBetween,
    Schema,
    Severity,
    ShareAtMost,
    Unique,
    VolumeDrift,
    load_gate_specs,
)

__all__ = [
    "Between",
    "Check",
    "CheckOutcome",
    "ColumnsExist",
    "DatasetProfile",
    "DistributionDrift",
    "DriftRule",
    "GateReport",
    "GateSpec",
    "InSet",
    "MatchesRegex",
    "NotNull",
    "RowCountBetween",
    "Schema",
    "Severity",
    "ShareAtMost",
    "Unique",
    "VolumeDrift",
    "failure_message",
    "gate_folder",
    "load_gate_specs",
    "profile_for_drift",
    "render_html",
    "run_gate",
]
