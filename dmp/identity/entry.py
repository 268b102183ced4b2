"""The ``identity`` stage's entry in the stage registry: identifiers -> persons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.runlog import Run
from dmp.stages import Stage, config_digest, needs
from dmp.tables import EVENTS_TABLE, IDENTITY_CHANGES_TABLE, IDENTITY_MAP_TABLE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.identity.stage import IdentityResult

__all__ = ["IDENTITY", "IdentityRequest"]


@dataclass(frozen=True)
class IdentityRequest:
    """Identity resolution takes no options: it always resolves all of bronze."""


def _resolve(
    spark: SparkSession | None, settings: Settings, run: Run, request: IdentityRequest
) -> IdentityResult:
    from dmp.identity.stage import resolve_identities

    return resolve_identities(needs(spark), settings, run)


def _config(settings: Settings) -> str:
    return config_digest(settings.identity.model_dump(mode="json"))


IDENTITY: Stage[IdentityRequest, IdentityResult] = Stage(
    name="identity",
    request=IdentityRequest,
    run=_resolve,
    reads=(EVENTS_TABLE, IDENTITY_MAP_TABLE),
    writes=(IDENTITY_MAP_TABLE, IDENTITY_CHANGES_TABLE),
    config=_config,
)
"""``dmp identity``: bronze identifiers -> persons in ``silver/identity_map``."""
