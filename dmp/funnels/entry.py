"""The ``funnels`` stage's entry in the stage registry: configured funnels as of a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.errors import UserError
from dmp.runlog import Run
from dmp.stages import Stage, config_digest, needs
from dmp.tables import (
    EVENTS_TABLE,
    FUNNEL_SEGMENTS_TABLE,
    FUNNELS_TABLE,
    IDENTITY_MAP_TABLE,
    SEGMENTS_TABLE,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.funnels.stage import FunnelResult

__all__ = ["FUNNELS", "FunnelsRequest"]


@dataclass(frozen=True)
class FunnelsRequest:
    """The date to compute the configured funnels for.

    Attributes:
        as_of: Funnels use the events up to the end of this day (UTC).
    """

    as_of: date


def _check(settings: Settings, request: FunnelsRequest) -> None:
    if not settings.funnels.definitions:
        raise UserError("no funnels configured: add some under `funnels.definitions`")


def _build(
    spark: SparkSession | None, settings: Settings, run: Run, request: FunnelsRequest
) -> FunnelResult:
    from dmp.funnels.stage import build_funnels

    return build_funnels(needs(spark), settings, run, request.as_of)


def _config(settings: Settings) -> str:
    return config_digest(settings.funnels.model_dump(mode="json"))


FUNNELS: Stage[FunnelsRequest, FunnelResult] = Stage(
    name="funnels",
    request=FunnelsRequest,
    run=_build,
    reads=(EVENTS_TABLE, IDENTITY_MAP_TABLE, SEGMENTS_TABLE),
    writes=(FUNNELS_TABLE, FUNNEL_SEGMENTS_TABLE),
    check=_check,
    config=_config,
)
"""``dmp funnels``: configured funnels as of a date, their report and drop-off segments."""
