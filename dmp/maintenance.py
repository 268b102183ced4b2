"""``dmp optimize``: compact small files and vacuum old ones, table by table (delta-rs).

Every run of a stage appends a few files to the tables it writes; over weeks a partition
collects hundreds of small files and every read pays for opening them. Compaction rewrites
the small files of each partition into files of about ``lake.target_file_mb`` (readers see
the same rows); vacuum then deletes files that no version inside the retention window
(``lake.vacuum_retention_hours``, 7 days by default) still needs, so time travel keeps
working within the window. Tables stay standard Delta. The daily pipeline runs this last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dmp.config import Settings
from dmp.errors import UserError
from dmp.lake import Lake
from dmp.runlog import Run
from dmp.stages import Stage
from dmp.tables import TABLES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["OPTIMIZE", "OptimizeRequest", "OptimizeResult", "optimize_lake"]

_log = logging.getLogger(__name__)
# delta-rs refuses a shorter retention unless told the caller means it.
_DELTA_RS_MIN_RETENTION_HOURS = 168


@dataclass(frozen=True)
class OptimizeRequest:
    """What to maintain.

    Attributes:
        tables: Table names (``layer/name``); empty for every table of the lake.
        retention_hours: Vacuum retention; None for ``lake.vacuum_retention_hours``.
        vacuum: Also delete files no longer needed (after compaction).
    """

    tables: tuple[str, ...] = ()
    retention_hours: int | None = None
    vacuum: bool = True


@dataclass
class TableMaintenance:
    """What happened to one table."""

    name: str
    files_before: int
    files_after: int
    files_compacted: int
    files_vacuumed: int


@dataclass
class OptimizeResult:
    """Every table maintained."""

    tables: list[TableMaintenance] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """One line per table: live files before and after, files deleted."""
        shown: dict[str, Any] = {}
        for table in self.tables:
            shown[table.name] = (
                f"{table.files_before} -> {table.files_after} files "
                f"({table.files_compacted} compacted, {table.files_vacuumed} vacuumed)"
            )
        return shown or {"tables": "none yet"}


def optimize_lake(settings: Settings, run: Run, request: OptimizeRequest) -> OptimizeResult:
    """Compact and vacuum the requested tables (all of them by default).

    Raises:
        UserError: A named table does not exist.
    """
    lake = run.lake
    existing = [info.name for info in lake.tables()]
    names = list(request.tables) or existing
    unknown = sorted(set(names) - set(existing))
    if unknown:
        raise UserError(f"no such table: {', '.join(unknown)} (see `dmp tables`)")
    retention = (
        request.retention_hours
        if request.retention_hours is not None
        else settings.lake.vacuum_retention_hours
    )
    result = OptimizeResult()
    target = settings.lake.target_file_mb * 2**20
    for name in names:
        before = _live_files(lake, name)
        metrics = lake.optimize(name, target_size=target, metadata=_metadata(run))
        vacuumed: list[str] = []
        if request.vacuum:
            vacuumed = lake.vacuum(
                name,
                retention_hours=retention,
                enforce_retention=retention >= _DELTA_RS_MIN_RETENTION_HOURS,
            )
        maintained = TableMaintenance(
            name, before, _live_files(lake, name), metrics["files_removed"], len(vacuumed)
        )
        _log.info(
            "optimize %s: %d -> %d files, %d vacuumed",
            name,
            maintained.files_before,
            maintained.files_after,
            maintained.files_vacuumed,
        )
        result.tables.append(maintained)
    run.count("tables", len(result.tables))
    run.count("files_compacted", sum(t.files_compacted for t in result.tables))
    run.count("files_vacuumed", sum(t.files_vacuumed for t in result.tables))
    return result


def _live_files(lake: Lake, name: str) -> int:
    return lake.info(name).files


def _metadata(run: Run) -> dict[str, str]:
    return {"dmp.job": run.job, "dmp.run_id": run.run_id}


def _optimize(
    spark: SparkSession | None, settings: Settings, run: Run, request: OptimizeRequest
) -> OptimizeResult:
    return optimize_lake(settings, run, request)


OPTIMIZE: Stage[OptimizeRequest, OptimizeResult] = Stage(
    name="optimize",
    request=OptimizeRequest,
    run=_optimize,
    reads=tuple(TABLES),
    writes=tuple(TABLES),
    needs_spark=False,
)
"""``dmp optimize``: compact small files and vacuum old ones in any table (no Spark)."""
