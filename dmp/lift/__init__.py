"""Campaign lift: outcomes of an exported audience against its holdout.

``measure_lift`` reads a campaign outcomes file, joins it to the exported and held-out
groups of ``gold/export_members``, and reports relative lift with bootstrap intervals and a
sample-ratio check (HTML report, MLflow run); outcomes flow back to landing as events.

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.lift.report import LiftReportInputs, lift_chart, write_lift_report
    from dmp.lift.stage import (
        LiftStageResult,
        group_outcomes,
        measure_lift,
        read_outcomes,
        recorded_groups,
    )

__all__ = [
    "LiftReportInputs",
    "LiftStageResult",
    "group_outcomes",
    "lift_chart",
    "measure_lift",
    "read_outcomes",
    "recorded_groups",
    "write_lift_report",
]
_LAZY = {
    "LiftReportInputs": "dmp.lift.report",
    "lift_chart": "dmp.lift.report",
    "write_lift_report": "dmp.lift.report",
    "LiftStageResult": "dmp.lift.stage",
    "group_outcomes": "dmp.lift.stage",
    "measure_lift": "dmp.lift.stage",
    "read_outcomes": "dmp.lift.stage",
    "recorded_groups": "dmp.lift.stage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.lift' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
