"""The ``ingest`` stage's entry in the stage registry: landing files -> bronze."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.runlog import Run
from dmp.stages import Stage, needs
from dmp.tables import EVENTS_TABLE, INGESTED_FILES_TABLE, QUARANTINE_TABLE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.ingest.stage import IngestResult

__all__ = ["INGEST", "IngestRequest"]


@dataclass(frozen=True)
class IngestRequest:
    """Which landing files to ingest (of those not ingested yet).

    Attributes:
        landing_date: Only the files of this landing date.
        up_to: Only the files landed up to this date (the pipeline's date).
    """

    landing_date: date | None = None
    up_to: date | None = None


def _ingest(
    spark: SparkSession | None, settings: Settings, run: Run, request: IngestRequest
) -> IngestResult:
    from dmp.ingest.stage import ingest

    return ingest(
        needs(spark), settings, run, landing_date=request.landing_date, up_to=request.up_to
    )


INGEST: Stage[IngestRequest, IngestResult] = Stage(
    name="ingest",
    request=IngestRequest,
    run=_ingest,
    reads=(INGESTED_FILES_TABLE, EVENTS_TABLE, QUARANTINE_TABLE),
    writes=(EVENTS_TABLE, QUARANTINE_TABLE, INGESTED_FILES_TABLE),
)
"""``dmp ingest``: landing files not ingested yet -> ``bronze/events`` and quarantine."""
