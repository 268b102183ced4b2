"""The ``profiles`` stage's entry in the stage registry: one profile per person as of a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.runlog import Run
from dmp.stages import Stage, config_digest, needs
from dmp.tables import EVENTS_TABLE, IDENTITY_MAP_TABLE, PRODUCT_RULES_TABLE, PROFILES_TABLE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.profiles.stage import ProfileResult

__all__ = ["PROFILES", "ProfilesRequest"]


@dataclass(frozen=True)
class ProfilesRequest:
    """The snapshot to build.

    Attributes:
        as_of: Profiles use the data up to the end of this day (UTC).
    """

    as_of: date


def _build(
    spark: SparkSession | None, settings: Settings, run: Run, request: ProfilesRequest
) -> ProfileResult:
    from dmp.profiles.stage import build_profiles

    return build_profiles(needs(spark), settings, run, request.as_of)


def _config(settings: Settings) -> str:
    return config_digest(settings.profiles.model_dump(mode="json"), settings.tags_file)


PROFILES: Stage[ProfilesRequest, ProfileResult] = Stage(
    name="profiles",
    request=ProfilesRequest,
    run=_build,
    reads=(EVENTS_TABLE, IDENTITY_MAP_TABLE, PROFILES_TABLE),
    writes=(PROFILES_TABLE, PRODUCT_RULES_TABLE),
    config=_config,
)
"""``dmp profiles``: one profile per person as of a date in ``silver/profiles``."""
