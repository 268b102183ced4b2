"""Stage callables for the driver: bind a stage's options to ``(spark, run) -> result``.

The command line, ``dmp demo``, the pipeline and ``jobs/`` all go through these, so a
stage is wired the same way however it is started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmp.config import Settings
from dmp.naming import check_name
from dmp.runlog import Run

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.export.lift import LiftStageResult
    from dmp.export.stage import ExportRequest, ExportResult
    from dmp.generate import WorldSpec, WorldSummary
    from dmp.identity.stage import IdentityResult
    from dmp.ingest.stage import IngestResult
    from dmp.lookalike.stage import LookalikeResult, SeedRequest
    from dmp.maintenance import OptimizeRequest, OptimizeResult
    from dmp.privacy.erasure import ErasureRequest, ErasureResult
    from dmp.profiles.stage import ProfileResult
    from dmp.segments.stage import SegmentResult

_log = logging.getLogger("dmp")


@dataclass
class GenerateResult:
    """Outcome of ``dmp generate``."""

    world: WorldSummary

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        counts = self.world.counts
        shown: dict[str, Any] = {
            "landing folder": str(self.world.landing),
            "truth folder": str(self.world.truth),
            "people": counts.get("persons", 0),
            "good event lines": counts.get("good_lines", 0),
            "planted bad lines": counts.get("bad_lines", 0),
            "exact duplicate lines": counts.get("exact_duplicates", 0),
            "files": self.world.files,
            "seconds": round(self.world.seconds, 1),
            "events/s": round(self.world.events_per_second),
        }
        return shown


def generate_stage(
    settings: Settings, spec: WorldSpec
) -> Callable[[SparkSession | None, Run], GenerateResult]:
    """``dmp generate``: write a world's landing files and truth under the data root."""

    def stage(spark: SparkSession | None, run: Run) -> GenerateResult:
        from dmp.generate import generate_world

        def progress(done: int, total: int) -> None:
            _log.info("generate: %d/%d shards written", done, total)

        world = generate_world(spec, settings.home, progress=progress)
        for key, value in world.counts.items():
            run.count(key, int(value))
        return GenerateResult(world)

    return stage


def ingest_stage(
    settings: Settings, landing_date: date | None, up_to: date | None = None
) -> Callable[[SparkSession | None, Run], IngestResult]:
    """``dmp ingest``: landing files not ingested yet -> bronze."""

    def stage(spark: SparkSession | None, run: Run) -> IngestResult:
        from dmp.ingest.stage import ingest

        assert spark is not None
        return ingest(spark, settings, run, landing_date=landing_date, up_to=up_to)

    return stage


def identity_stage(settings: Settings) -> Callable[[SparkSession | None, Run], IdentityResult]:
    """``dmp identity``: bronze identifiers -> persons in ``silver/identity_map``."""

    def stage(spark: SparkSession | None, run: Run) -> IdentityResult:
        from dmp.identity.stage import resolve_identities

        assert spark is not None
        return resolve_identities(spark, settings, run)

    return stage


def latest_event_date(settings: Settings) -> date:
    """The latest ``event_date`` partition in bronze: the default as-of (never the clock)."""
    from dmp.errors import UserError
    from dmp.ingest.schema import EVENTS_TABLE
    from dmp.lake import Lake

    lake = Lake(settings.lake_dir)
    if not lake.exists(EVENTS_TABLE):
        raise UserError("bronze/events does not exist yet: run `dmp ingest` first")
    days = lake.partition_values(EVENTS_TABLE, "event_date")
    if not days:
        raise UserError("bronze/events is empty: nothing to build profiles from")
    return max(date.fromisoformat(d) for d in days)


def profiles_stage(
    settings: Settings, as_of: date
) -> Callable[[SparkSession | None, Run], ProfileResult]:
    """``dmp profiles``: one profile per person as of a date in ``silver/profiles``."""

    def stage(spark: SparkSession | None, run: Run) -> ProfileResult:
        from dmp.profiles.stage import build_profiles

        assert spark is not None
        return build_profiles(spark, settings, run, as_of)

    return stage


def segments_stage(
    settings: Settings, segment_file: Path | None, as_of: date | None
) -> Callable[[SparkSession | None, Run], SegmentResult]:
    """``dmp segments``: segments, scores and persona clusters of a profile snapshot."""
    from dmp.segments.spec import load_segment_file

    spec = load_segment_file(segment_file or settings.segments_file)  # fail before Spark

    def stage(spark: SparkSession | None, run: Run) -> SegmentResult:
        from dmp.segments.stage import build_segments

        assert spark is not None
        return build_segments(spark, settings, run, spec, as_of)

    return stage


def lookalike_stage(
    settings: Settings,
    *,
    name: str,
    seed: SeedRequest,
    method: str | None,
    as_of: date | None,
    truth_product: str | None = None,
) -> Callable[[SparkSession | None, Run], LookalikeResult]:
    """``dmp lookalike``: expand a seed into a tiered, evaluated, tracked audience."""
    check_name(name, "--name")

    def stage(spark: SparkSession | None, run: Run) -> LookalikeResult:
        from dmp.lookalike.stage import build_lookalike

        assert spark is not None
        return build_lookalike(
            spark, settings, run, name=name, seed=seed, method=method, as_of=as_of,
            truth_product=truth_product,
        )  # fmt: skip

    return stage


def export_stage(
    settings: Settings, request: ExportRequest
) -> Callable[[SparkSession | None, Run], ExportResult]:
    """``dmp export``: an audience tier or a segment -> channel files with a manifest."""
    if request.audience is not None:
        check_name(request.audience, "--audience")
    if request.segment is not None:
        check_name(request.segment, "--segment")

    def stage(spark: SparkSession | None, run: Run) -> ExportResult:
        from dmp.export.stage import export

        assert spark is not None
        return export(spark, settings, run, request)

    return stage


def erase_stage(
    settings: Settings, request: ErasureRequest
) -> Callable[[SparkSession | None, Run], ErasureResult]:
    """``dmp erase``: forget people everywhere, vacuum, suppress."""

    def stage(spark: SparkSession | None, run: Run) -> ErasureResult:
        from dmp.privacy.erasure import erase

        assert spark is not None
        return erase(spark, settings, run, request)

    return stage


def lift_stage(
    settings: Settings, *, audience: str, results: Path, export_id: str | None
) -> Callable[[SparkSession | None, Run], LiftStageResult]:
    """``dmp lift``: campaign outcomes -> lift, report, MLflow run, events back to landing."""
    check_name(audience, "--audience")

    def stage(spark: SparkSession | None, run: Run) -> LiftStageResult:
        from dmp.export.lift import measure_lift

        assert spark is not None
        return measure_lift(
            spark, settings, run, audience=audience, results=results, export_id=export_id
        )

    return stage


def optimize_stage(
    settings: Settings, request: OptimizeRequest
) -> Callable[[SparkSession | None, Run], OptimizeResult]:
    """``dmp optimize``: compact small files and vacuum old ones (delta-rs, no Spark)."""

    def stage(spark: SparkSession | None, run: Run) -> OptimizeResult:
        from dmp.maintenance import optimize_lake

        return optimize_lake(settings, run, request)

    return stage
