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

    from dmp.erasure.stage import ErasureRequest, ErasureResult
    from dmp.export.stage import ExportRequest, ExportResult
    from dmp.funnels.stage import FunnelResult
    from dmp.generate import WorldSpec, WorldSummary
    from dmp.identity.stage import IdentityResult
    from dmp.ingest.stage import IngestResult
    from dmp.lift.stage import LiftStageResult
    from dmp.lookalike.stage import LookalikeResult, SeedRequest
    from dmp.maintenance import OptimizeRequest, OptimizeResult
    from dmp.profiles.stage import ProfileResult
    from dmp.segments.lists import ListChange
    from dmp.segments.stage import SegmentPreview, SegmentResult

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
    from dmp.lake import Lake
    from dmp.tables import EVENTS_TABLE

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
    if spec.combined:
        from dmp.lake import Lake
        from dmp.segments.combined import evaluation_order
        from dmp.segments.lists import list_names

        names = list_names(Lake(settings.lake_dir))
        evaluation_order([s.name for s in spec.segments], spec.combined, names)

    def stage(spark: SparkSession | None, run: Run) -> SegmentResult:
        from dmp.segments.stage import build_segments

        assert spark is not None
        return build_segments(spark, settings, run, spec, as_of)

    return stage


def funnels_stage(
    settings: Settings, as_of: date
) -> Callable[[SparkSession | None, Run], FunnelResult]:
    """``dmp funnels``: configured funnels as of a date, their report and drop-off segments."""
    if not settings.funnels.definitions:  # fail before Spark
        from dmp.errors import UserError

        raise UserError("no funnels configured: add some under `funnels.definitions`")

    def stage(spark: SparkSession | None, run: Run) -> FunnelResult:
        from dmp.funnels.stage import build_funnels

        assert spark is not None
        return build_funnels(spark, settings, run, as_of)

    return stage


def lookalike_stage(
    settings: Settings,
    *,
    name: str,
    seed: SeedRequest,
    method: str | None,
    as_of: date | None,
    truth_product: str | None = None,
    value: str | None = None,
) -> Callable[[SparkSession | None, Run], LookalikeResult]:
    """``dmp lookalike``: expand a seed into a tiered, evaluated, tracked audience
    (``value``: a numeric profile column that weights the seed people)."""
    check_name(name, "--name")
    if truth_product is not None and settings.truth_dir is None:  # fail before Spark
        from dmp.errors import UserError

        raise UserError(
            "--truth-product scores against a generated world's truth: set "
            "evaluation.truth_dir (e.g. DMP__EVALUATION__TRUTH_DIR=truth)"
        )

    def stage(spark: SparkSession | None, run: Run) -> LookalikeResult:
        from dmp.lookalike.stage import build_lookalike

        assert spark is not None
        return build_lookalike(
            spark, settings, run, name=name, seed=seed, method=method, as_of=as_of,
            truth_product=truth_product, value=value,
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
        from dmp.erasure.stage import erase

        assert spark is not None
        return erase(spark, settings, run, request)

    return stage


def lift_stage(
    settings: Settings, *, audience: str, results: Path, export_id: str | None
) -> Callable[[SparkSession | None, Run], LiftStageResult]:
    """``dmp lift``: campaign outcomes -> lift, report, MLflow run, events back to landing."""
    check_name(audience, "--audience")

    def stage(spark: SparkSession | None, run: Run) -> LiftStageResult:
        from dmp.lift.stage import measure_lift

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


# --- segment set operations: uploaded lists and previews ----------------------------------


def list_add_stage(
    settings: Settings, name: str, file: Path, id_type: str
) -> Callable[[SparkSession | None, Run], ListChange]:
    """``dmp lists add``: a CSV's identifiers, hashed, into ``gold/lists``."""
    _check_list_request(name, file, id_type)

    def stage(spark: SparkSession | None, run: Run) -> ListChange:
        from dmp.segments.lists import add_to_list

        assert spark is not None
        return add_to_list(spark, run, name, file, id_type, settings.ingest.default_country_code)

    return stage


def list_remove_stage(
    settings: Settings, name: str, file: Path | None, id_type: str | None
) -> Callable[[SparkSession | None, Run], ListChange]:
    """``dmp lists remove``: identifiers of a CSV (or the whole list) out of ``gold/lists``."""
    from dmp.errors import UserError
    from dmp.lake import Lake
    from dmp.segments.lists import list_names

    if file is not None:
        _check_list_request(name, file, id_type or "")
    names = list_names(Lake(settings.lake_dir))
    if name not in names:
        raise UserError(f"no list named {name!r} (lists: {', '.join(names) or 'none'})")

    def stage(spark: SparkSession | None, run: Run) -> ListChange:
        from dmp.segments.lists import remove_from_list

        assert spark is not None
        return remove_from_list(
            spark, run, name, file, id_type, settings.ingest.default_country_code
        )

    return stage


def _check_list_request(name: str, file: Path, id_type: str) -> None:
    """Refuse a bad list name, id type or missing file before Spark starts."""
    from dmp.errors import UserError
    from dmp.expressions import check_name
    from dmp.lookalike.seeds import SEED_ID_TYPES

    try:
        check_name(name, "list")
    except ValueError as error:
        raise UserError(str(error)) from None
    if id_type not in SEED_ID_TYPES:
        raise UserError(f"--id-type must be one of {', '.join(SEED_ID_TYPES)}, not {id_type!r}")
    if not file.is_file():
        raise UserError(f"identifier file {file} does not exist")


def list_sizes_now(settings: Settings, *, verbose: bool = False) -> dict[str, int]:
    """``dmp lists show``: identifiers per list (starts Spark only if there are lists)."""
    from dmp.lake import Lake
    from dmp.segments.lists import list_names, list_sizes

    lake = Lake(settings.lake_dir)
    if not list_names(lake):
        return {}
    from dmp.driver import session_for

    return list_sizes(session_for(settings, verbose=verbose), lake)


def preview_segments_now(
    settings: Settings,
    *,
    where: str | None,
    segment_file: Path | None,
    as_of: date | None,
    verbose: bool = False,
) -> SegmentPreview:
    """``dmp segments preview``: count a condition or a file's segments; nothing is written.

    References and cycles are checked before Spark starts; the run is not logged.
    """
    from dmp.errors import UserError
    from dmp.lake import Lake
    from dmp.segments.combined import evaluation_order
    from dmp.segments.lists import list_names
    from dmp.segments.spec import SegmentFile, SegmentSpec, load_segment_file

    if (where is None) == (segment_file is None):
        raise UserError("give exactly one of --where or --file")
    if where is not None:
        if not where.strip():
            raise UserError("--where is empty")
        spec = SegmentFile(segments=[SegmentSpec(name="preview", where=where)])
    else:
        assert segment_file is not None
        spec = load_segment_file(segment_file)
    lake = Lake(settings.lake_dir)
    evaluation_order([s.name for s in spec.segments], spec.combined, list_names(lake))
    from dmp.driver import session_for
    from dmp.segments.stage import preview_segments

    spark = session_for(settings, verbose=verbose)
    return preview_segments(spark, Run(job="segments preview", lake=lake), spec, as_of)
