"""The segments package's entries in the stage registry (``segments``, ``lists``) and the
read-only commands beside them (``dmp segments preview``, ``dmp lists show``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dmp.config import Settings
from dmp.errors import UserError
from dmp.runlog import Run
from dmp.stages import Stage, config_digest, needs
from dmp.tables import (
    CLUSTER_TRAITS_TABLE,
    CLUSTERS_TABLE,
    IDENTITY_MAP_TABLE,
    LISTS_TABLE,
    OVERLAPS_TABLE,
    PROFILES_TABLE,
    SCORES_TABLE,
    SEGMENT_SIZES_TABLE,
    SEGMENTS_TABLE,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dmp.segments.lists import ListChange
    from dmp.segments.spec import SegmentFile
    from dmp.segments.stage import SegmentPreview, SegmentResult

__all__ = [
    "LISTS",
    "SEGMENTS",
    "ListRequest",
    "SegmentsRequest",
    "list_sizes_now",
    "preview_segments_now",
]


@dataclass(frozen=True)
class SegmentsRequest:
    """Which segments to build on which profile snapshot.

    Attributes:
        as_of: Profile snapshot (default: the latest).
        file: Segments file (default: ``settings.segments_file``).
    """

    as_of: date | None = None
    file: Path | None = None


def _segment_file(settings: Settings, request: SegmentsRequest) -> SegmentFile:
    from dmp.segments.spec import load_segment_file

    return load_segment_file(request.file or settings.segments_file)


def _check_segments(settings: Settings, request: SegmentsRequest) -> None:
    """Load the file and check combined segments' references before Spark starts."""
    spec = _segment_file(settings, request)
    if spec.combined:
        from dmp.lake import Lake
        from dmp.segments.combined import evaluation_order
        from dmp.segments.lists import list_names

        names = list_names(Lake(settings.lake_dir))
        evaluation_order([s.name for s in spec.segments], spec.combined, names)


def _build_segments(
    spark: SparkSession | None, settings: Settings, run: Run, request: SegmentsRequest
) -> SegmentResult:
    from dmp.segments.stage import build_segments

    spec = _segment_file(settings, request)
    return build_segments(needs(spark), settings, run, spec, request.as_of)


def _segments_config(settings: Settings) -> str:
    return config_digest(settings.segments.model_dump(mode="json"), settings.segments_file)


SEGMENTS: Stage[SegmentsRequest, SegmentResult] = Stage(
    name="segments",
    request=SegmentsRequest,
    run=_build_segments,
    reads=(PROFILES_TABLE, IDENTITY_MAP_TABLE, LISTS_TABLE),
    writes=(
        SEGMENTS_TABLE,
        SEGMENT_SIZES_TABLE,
        OVERLAPS_TABLE,
        SCORES_TABLE,
        CLUSTERS_TABLE,
        CLUSTER_TRAITS_TABLE,
    ),
    check=_check_segments,
    config=_segments_config,
)
"""``dmp segments``: segments, scores and persona clusters of a profile snapshot."""


@dataclass(frozen=True)
class ListRequest:
    """A change to an uploaded identifier list.

    Attributes:
        action: ``add`` the file's identifiers (creates the list), or ``remove`` them (the
            whole list when there is no file).
        name: List name (snake_case).
        file: CSV of identifiers with a header row.
        id_type: Identifier type of the file (one of the seed id types).
    """

    action: Literal["add", "remove"]
    name: str
    file: Path | None = None
    id_type: str | None = None


def _check_list(settings: Settings, request: ListRequest) -> None:
    """Refuse a bad list name, id type, missing file or unknown list before Spark starts."""
    if request.action == "add":
        if request.file is None or request.id_type is None:
            raise UserError("adding to a list needs --file and --id-type")
        _check_list_file(request.name, request.file, request.id_type)
        return
    from dmp.lake import Lake
    from dmp.segments.lists import list_names

    if request.file is not None:
        _check_list_file(request.name, request.file, request.id_type or "")
    names = list_names(Lake(settings.lake_dir))
    if request.name not in names:
        raise UserError(f"no list named {request.name!r} (lists: {', '.join(names) or 'none'})")


def _check_list_file(name: str, file: Path, id_type: str) -> None:
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


def _change_list(
    spark: SparkSession | None, settings: Settings, run: Run, request: ListRequest
) -> ListChange:
    from dmp.segments.lists import add_to_list, remove_from_list

    country = settings.ingest.default_country_code
    key = settings.id_key()
    if request.action == "add":
        assert request.file is not None and request.id_type is not None  # checked
        return add_to_list(
            needs(spark), run, request.name, request.file, request.id_type, country, id_key=key
        )
    return remove_from_list(
        needs(spark), run, request.name, request.file, request.id_type, country, id_key=key
    )


LISTS: Stage[ListRequest, ListChange] = Stage(
    name="lists",
    request=ListRequest,
    run=_change_list,
    reads=(LISTS_TABLE,),
    writes=(LISTS_TABLE,),
    check=_check_list,
)
"""``dmp lists add|remove``: hashed identifiers into (or out of) ``gold/lists``."""


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
