"""Activation: audience and segment exports per channel, holdouts, and campaign lift.

``export`` writes consented, suppressed-aware files for Meta, Google, The Trade Desk and
owned channels with a holdout recorded in ``gold/export_members``; ``measure_lift`` reads
campaign outcomes and measures lift against that holdout.

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.export.channels import channel, load_channels
    from dmp.export.lift import (
        LiftStageResult,
        group_outcomes,
        measure_lift,
        read_outcomes,
        recorded_groups,
    )
    from dmp.export.lift_report import LiftReportInputs, lift_chart
    from dmp.export.stage import ExportRequest, ExportResult, export
    from dmp.export.suppression import add_to_suppression, suppressed_people

__all__ = [
    "ExportRequest",
    "ExportResult",
    "LiftReportInputs",
    "LiftStageResult",
    "add_to_suppression",
    "channel",
    "export",
    "group_outcomes",
    "lift_chart",
    "load_channels",
    "measure_lift",
    "read_outcomes",
    "recorded_groups",
    "suppressed_people",
]
_LAZY = {
    "channel": "dmp.export.channels",
    "load_channels": "dmp.export.channels",
    "LiftStageResult": "dmp.export.lift",
    "group_outcomes": "dmp.export.lift",
    "measure_lift": "dmp.export.lift",
    "read_outcomes": "dmp.export.lift",
    "recorded_groups": "dmp.export.lift",
    "LiftReportInputs": "dmp.export.lift_report",
    "lift_chart": "dmp.export.lift_report",
    "ExportRequest": "dmp.export.stage",
    "ExportResult": "dmp.export.stage",
    "export": "dmp.export.stage",
    "add_to_suppression": "dmp.export.suppression",
    "suppressed_people": "dmp.export.suppression",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
