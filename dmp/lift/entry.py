"""The ``lift`` stage's entry in the stage registry: campaign outcomes -> measured lift."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmp.config import Settings
from dmp.naming import check_name
from dmp.runlog import Run
from dmp.stages import Stage, needs
from dmp.tables import AUDIENCES_TABLE, IDENTITY_MAP_TABLE, MEMBERS_TABLE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.lift.stage import LiftStageResult

__all__ = ["LIFT", "LiftRequest"]


@dataclass(frozen=True)
class LiftRequest:
    """The campaign to measure.

    Attributes:
        audience: Audience (or segment) the campaign targeted.
        results: Outcomes CSV of the campaign.
        export_id: Export whose holdout is the control (default: the audience's latest).
    """

    audience: str
    results: Path
    export_id: str | None = None


def _check(settings: Settings, request: LiftRequest) -> None:
    check_name(request.audience, "--audience")


def _params(request: LiftRequest) -> Mapping[str, Any]:
    # The file's name, not its path: the folder says nothing about the run.
    return {"audience": request.audience, "results": request.results.name,
            "export_id": request.export_id}  # fmt: skip


def _measure(
    spark: SparkSession | None, settings: Settings, run: Run, request: LiftRequest
) -> LiftStageResult:
    from dmp.lift.stage import measure_lift

    return measure_lift(
        needs(spark), settings, run, audience=request.audience, results=request.results,
        export_id=request.export_id,
    )  # fmt: skip


LIFT: Stage[LiftRequest, LiftStageResult] = Stage(
    name="lift",
    request=LiftRequest,
    run=_measure,
    reads=(MEMBERS_TABLE, IDENTITY_MAP_TABLE, AUDIENCES_TABLE),
    writes=(),
    check=_check,
    params=_params,
)
"""``dmp lift``: campaign outcomes -> lift, report, MLflow run, events back to landing."""
