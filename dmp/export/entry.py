"""The ``export`` stage's entry in the stage registry: an audience or segment -> files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.export.stage import ExportRequest, ExportResult
from dmp.naming import check_name
from dmp.runlog import Run
from dmp.stages import Stage, config_digest, needs
from dmp.tables import (
    AUDIENCES_TABLE,
    EVENTS_TABLE,
    IDENTITY_MAP_TABLE,
    MEMBERS_TABLE,
    PROFILES_TABLE,
    SEGMENTS_TABLE,
    SUPPRESSION_TABLE,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["EXPORT", "ExportRequest"]


def _check(settings: Settings, request: ExportRequest) -> None:
    if request.audience is not None:
        check_name(request.audience, "--audience")
    if request.segment is not None:
        check_name(request.segment, "--segment")


def _export(
    spark: SparkSession | None, settings: Settings, run: Run, request: ExportRequest
) -> ExportResult:
    from dmp.export.stage import export

    return export(needs(spark), settings, run, request)


def _config(settings: Settings) -> str:
    return config_digest(None, settings.channels_file)


EXPORT: Stage[ExportRequest, ExportResult] = Stage(
    name="export",
    request=ExportRequest,
    run=_export,
    reads=(
        AUDIENCES_TABLE,
        SEGMENTS_TABLE,
        PROFILES_TABLE,
        EVENTS_TABLE,
        IDENTITY_MAP_TABLE,
        SUPPRESSION_TABLE,
        MEMBERS_TABLE,
    ),
    writes=(MEMBERS_TABLE,),
    check=_check,
    config=_config,
)
"""``dmp export``: an audience tier or a segment -> channel files with a manifest."""
