"""The ``lookalike`` stage's entry in the stage registry: a seed -> a tiered audience."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from dmp.config import Settings
from dmp.errors import UserError
from dmp.naming import check_name
from dmp.runlog import Run
from dmp.stages import Stage, config_digest, needs
from dmp.tables import (
    AUDIENCES_TABLE,
    EMBEDDINGS_TABLE,
    EVENTS_TABLE,
    IDENTITY_MAP_TABLE,
    PROFILES_TABLE,
    REACH_TABLE,
    SEGMENT_SIZES_TABLE,
    SEGMENTS_TABLE,
    UNIVERSE_SCORES_TABLE,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.lookalike.stage import LookalikeResult

__all__ = ["LOOKALIKE", "LookalikeRequest"]


@dataclass(frozen=True)
class LookalikeRequest:
    """One audience to build.

    Attributes:
        name: Audience name.
        segment: Seed: the members of this segment (or give ``seed_file``).
        seed_file: Seed: a CSV of identifiers of type ``id_type``.
        id_type: Identifier type of ``seed_file``.
        method: ``similarity``, ``pu``, ``ensemble`` or ``auto`` (default: the config's).
        as_of: Profile snapshot (default: the latest).
        truth_product: Generated worlds only: report how future buyers of it rank.
        value: A numeric profile column that weights the seed people (``--value``).
    """

    name: str
    segment: str | None = None
    seed_file: Path | None = None
    id_type: str | None = None
    method: str | None = None
    as_of: date | None = None
    truth_product: str | None = None
    value: str | None = None


def _check(settings: Settings, request: LookalikeRequest) -> None:
    check_name(request.name, "--name")
    if request.truth_product is not None and settings.truth_dir is None:
        raise UserError(
            "--truth-product scores against a generated world's truth: set "
            "evaluation.truth_dir (e.g. DMP__EVALUATION__TRUTH_DIR=truth)"
        )


def _build(
    spark: SparkSession | None, settings: Settings, run: Run, request: LookalikeRequest
) -> LookalikeResult:
    from dmp.lookalike.stage import SeedRequest, build_lookalike

    seed = SeedRequest(segment=request.segment, file=request.seed_file, id_type=request.id_type)
    return build_lookalike(
        needs(spark), settings, run, name=request.name, seed=seed, method=request.method,
        as_of=request.as_of, truth_product=request.truth_product, value=request.value,
    )  # fmt: skip


def _config(settings: Settings) -> str:
    return config_digest(settings.lookalike.model_dump(mode="json"))


LOOKALIKE: Stage[LookalikeRequest, LookalikeResult] = Stage(
    name="lookalike",
    request=LookalikeRequest,
    run=_build,
    reads=(
        PROFILES_TABLE,
        SEGMENTS_TABLE,
        SEGMENT_SIZES_TABLE,
        IDENTITY_MAP_TABLE,
        EVENTS_TABLE,
        EMBEDDINGS_TABLE,
    ),
    writes=(EMBEDDINGS_TABLE, AUDIENCES_TABLE, UNIVERSE_SCORES_TABLE, REACH_TABLE),
    check=_check,
    config=_config,
)
"""``dmp lookalike``: expand a seed into a tiered, evaluated, tracked audience."""
