"""The funnels stage: funnels as of a date into ``gold/funnels``, plus drop-off segments."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.funnels.settings import FunnelSpec
from dmp.funnels.transforms import (
    dropoff_segments,
    funnel_events,
    funnel_progress,
    funnel_stats,
)
from dmp.ingest.schema import EVENTS_SCHEMA
from dmp.lake import ReplacePartition
from dmp.profiles.attribution import IDENTIFIER_COLUMNS, attribute_events, until
from dmp.runlog import Run
from dmp.tables import EVENTS_TABLE, FUNNEL_SEGMENTS_TABLE, FUNNELS_TABLE, IDENTITY_MAP_TABLE

"""Drop-off audiences: ``segment, person_id, as_of``, the shape of ``gold/segments``."""
_log = logging.getLogger(__name__)


@dataclass
class FunnelResult:
    """What one funnels run produced."""

    as_of: date
    since: date
    steps: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    dropoffs: dict[str, int] = field(default_factory=dict)
    report: str | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {
            "as of": self.as_of.isoformat(),
            "step 1 events since": self.since.isoformat(),
        }
        for funnel, steps in self.steps.items():
            first = steps[0][1] if steps else 0
            for label, people in steps:
                share = f" ({people / first:.1%})" if first else ""
                shown[f"{funnel}: {label}"] = f"{people}{share}"
        for segment, size in self.dropoffs.items():
            shown[f"segment {segment}"] = size
        shown["report"] = self.report or "-"
        return shown


def build_funnels(spark: SparkSession, settings: Settings, run: Run, as_of: date) -> FunnelResult:
    """Compute every configured funnel as of a date (data up to the end of ``as_of``, UTC).

    Step-1 events of the last ``funnels.lookback_days`` days start a funnel; statistics go
    to ``gold/funnels`` and drop-off audiences to ``gold/funnel_segments``, both replacing
    only the ``as_of`` partition; a chart and an HTML page go to ``reports/funnels/``.

    Raises:
        UserError: No funnel is configured, or bronze events or the identity map are missing.
    """
    specs = settings.funnels.definitions
    if not specs:
        raise UserError("no funnels configured: add some under `funnels.definitions`")
    for table in (EVENTS_TABLE, IDENTITY_MAP_TABLE):
        if not run.lake.exists(table):
            raise UserError(f"{table} does not exist yet: run ingest and identity first")
    since = as_of - timedelta(days=settings.funnels.lookback_days - 1)
    result = FunnelResult(as_of=as_of, since=since)

    events = _attributed(spark, settings, run, specs, as_of, since)
    segments = _segment_members(spark, run, as_of)
    with kept(events) as attributed:
        stats_frames: list[DataFrame] = []
        dropoff_frames: list[DataFrame] = []
        for spec in specs:
            progress = funnel_progress(funnel_events(attributed, spec), spec)
            with kept(progress) as people:
                stats = funnel_stats(spark, people, spec, as_of, segments)
                stats_frames.append(stats.localCheckpoint(eager=True))  # small: steps x splits
                if spec.dropoff_segments:
                    dropoff_frames.append(dropoff_segments(people, spec, as_of).localCheckpoint())
        all_stats = stats_frames[0]
        for frame in stats_frames[1:]:
            all_stats = all_stats.unionByName(frame)
        rows = [r.asDict() for r in all_stats.collect()]  # funnels x splits x steps
        _check(rows)
        run.write(
            all_stats, FUNNELS_TABLE, mode=ReplacePartition({"as_of": as_of}),
            partition_by=["as_of"],
        )  # fmt: skip
        if dropoff_frames:
            members = dropoff_frames[0]
            for frame in dropoff_frames[1:]:
                members = members.unionByName(frame)
            run.write(
                members, FUNNEL_SEGMENTS_TABLE, mode=ReplacePartition({"as_of": as_of}),
                partition_by=["as_of"],
            )  # fmt: skip
    for spec in specs:
        overall = sorted(
            (r for r in rows if r["funnel"] == spec.name and r["dimension"] == "all"),
            key=lambda r: r["step"],
        )
        result.steps[spec.name] = [(r["step_name"], int(r["people"])) for r in overall]
        if spec.dropoff_segments:
            for r in overall[:-1]:
                result.dropoffs[spec.segment_name(r["step"])] = int(r["dropped"])
    from dmp.funnels.report import write_funnel_report

    result.report = str(write_funnel_report(settings.reports_dir, specs, rows, as_of, since))
    for name, size in result.dropoffs.items():
        run.count(f"segment.{name}", size)
    return result


def _attributed(
    spark: SparkSession, settings: Settings, run: Run, specs: list[FunnelSpec], as_of: date,
    since: date,
) -> DataFrame:  # fmt: skip
    """Events of the funnels' event names in the lookback period, with ``person_id``."""
    names = sorted({step.event for spec in specs for step in spec.steps})
    used = {key for spec in specs for step in spec.steps for key in step.properties}
    columns = {"event_time", "event_name", "message_id", "source", "channel", *IDENTIFIER_COLUMNS}
    columns |= {key for key in used if key in EVENTS_SCHEMA.names}
    if any(key not in EVENTS_SCHEMA.names for key in used):
        columns.add("properties_json")
    start = datetime.combine(since, time.min)
    bronze = (
        run.read(spark, EVENTS_TABLE)
        .filter(F.col("event_date").between(F.lit(since - timedelta(days=1)), F.lit(as_of)))
        .filter(until(as_of) & (F.col("event_time") >= F.lit(start)))
        .filter(F.col("event_name").isin(names))
        .select(*sorted(columns))
    )
    identity_map = run.read(spark, IDENTITY_MAP_TABLE)
    return attribute_events(bronze, identity_map, settings.identity)


def _segment_members(spark: SparkSession, run: Run, as_of: date) -> DataFrame | None:
    """``segment, person_id`` of the ``as_of`` segments, if that snapshot was segmented."""
    from dmp.tables import SEGMENTS_TABLE

    if not run.lake.exists(SEGMENTS_TABLE):
        return None
    if as_of.isoformat() not in run.lake.partition_values(SEGMENTS_TABLE, "as_of"):
        _log.info("funnels: no segments as of %s, no per-segment split", as_of)
        return None
    return (
        run.read(spark, SEGMENTS_TABLE)
        .filter(F.col("as_of") == F.lit(as_of))
        .select("segment", "person_id")
    )


def _check(rows: list[dict[str, Any]]) -> None:
    """Invariants of funnel statistics: counts never grow along the steps of a split."""
    last: dict[tuple[str, str, str], tuple[int, int]] = {}
    for row in sorted(rows, key=lambda r: (r["funnel"], r["dimension"], r["dimension_value"],
                                            r["step"])):  # fmt: skip
        key = (row["funnel"], row["dimension"], row["dimension_value"])
        if key in last and row["people"] > last[key][1]:
            raise RuntimeError(f"funnel {key}: step {row['step']} has more people than the last")
        last[key] = (row["step"], row["people"])
