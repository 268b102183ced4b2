"""The segments stage: segments, scores and persona clusters of one profile snapshot."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.expressions import validate_expressions
from dmp.lake import ReplacePartition
from dmp.runlog import Run
from dmp.segments.clusters import cluster_features, cluster_traits, fit_clusters
from dmp.segments.combined import LIST_PREFIX, CombinedSegment, combine, evaluation_order
from dmp.segments.gate import segment_gate
from dmp.segments.lists import list_members, list_names
from dmp.segments.spec import SegmentFile
from dmp.tables import (
    CLUSTER_TRAITS_TABLE,
    CLUSTERS_TABLE,
    OVERLAPS_TABLE,
    PROFILES_TABLE,
    SCORES_TABLE,
    SEGMENT_SIZES_TABLE,
    SEGMENTS_TABLE,
)

_log = logging.getLogger(__name__)


@dataclass
class SegmentResult:
    """What one segments run produced."""

    as_of: date
    persons: int = 0
    sizes: dict[str, int] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    clusters: dict[int, str] = field(default_factory=dict)
    silhouette: float | None = None
    overlap_plot: str | None = None
    gate_report: str | None = None
    persona_note: str | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {"as of": self.as_of.isoformat(), "persons": self.persons}
        for name, size in self.sizes.items():
            shown[f"segment {name}"] = size
        for plan, stats in self.scores.items():
            shown[f"score {plan} (mean / max)"] = f"{stats['mean']:.1f} / {stats['max']:.0f}"
        if self.silhouette is not None:
            shown["persona clusters (silhouette)"] = round(self.silhouette, 3)
        if self.persona_note is not None:
            shown["persona clusters"] = self.persona_note
        for cluster, traits in sorted(self.clusters.items()):
            shown[f"cluster {cluster}"] = traits
        shown["overlap heatmap"] = self.overlap_plot or "-"
        shown["quality report"] = self.gate_report or "-"
        return shown


def build_segments(
    spark: SparkSession, settings: Settings, run: Run, spec: SegmentFile, as_of: date | None
) -> SegmentResult:
    """Materialise every segment, scoring plan and persona cluster of a profile snapshot.

    Expressions are validated against the profile schema before any data is read.

    Raises:
        UserError: No profiles yet, no snapshot for ``as_of``, or an invalid expression.
        GateFailed: The segment gate failed; nothing was written.
    """
    day = _snapshot_day(run, as_of)
    schema = run.lake.read(spark, PROFILES_TABLE).schema
    validate_expressions(spark, schema, [(s.name, s.where) for s in spec.segments], "segment")
    for plan in spec.scoring:
        rules = [(f"{plan.name} rule {i + 1}", r.when) for i, r in enumerate(plan.rules)]
        validate_expressions(spark, schema, rules, "scoring")

    order = evaluation_order(
        [s.name for s in spec.segments], spec.combined, list_names(run.lake)
    )  # refuses unknown references and cycles before any data is read

    result = SegmentResult(as_of=day)
    profiles = run.read(spark, PROFILES_TABLE).filter(F.col("as_of") == F.lit(day))
    with kept(profiles) as snapshot, ExitStack() as held:
        result.persons = snapshot.count()
        members = _memberships(snapshot, spec, day)
        if order:
            members = _with_combined(spark, run, members, order, day)
        segment_rows = held.enter_context(kept(members))
        result.sizes = _sizes(segment_rows, spec)
        result.gate_report = segment_gate(spark, settings, run, segment_rows, result.sizes)
        # Everything that can fail on the data (persona clustering, scores) runs before the
        # first write, so a failure leaves no table of this snapshot half-updated.
        personas = held.enter_context(_personas(settings, snapshot, day, result))
        scored = held.enter_context(kept(_scores(snapshot, spec, day))) if spec.scoring else None
        if scored is not None:
            result.scores = _score_stats(scored)
        run.write(
            segment_rows, SEGMENTS_TABLE, mode=ReplacePartition({"as_of": day}),
            partition_by=["as_of"],
        )  # fmt: skip
        run.write(
            spark.createDataFrame(_sizes_table(spec, result, day).to_pylist()),
            SEGMENT_SIZES_TABLE, mode=ReplacePartition({"as_of": day}),
            partition_by=["as_of"],
        )  # fmt: skip
        overlaps = _overlaps(segment_rows, day)
        run.write(
            overlaps, OVERLAPS_TABLE, mode=ReplacePartition({"as_of": day}),
            partition_by=["as_of"],
        )  # fmt: skip
        result.overlap_plot = _plot_overlaps(overlaps, result, settings.reports_dir)
        if scored is not None:
            run.write(
                scored, SCORES_TABLE, mode=ReplacePartition({"as_of": day}),
                partition_by=["as_of"],
            )  # fmt: skip
        if personas is not None:
            clustered, described = personas
            run.write(
                described.withColumn("as_of", F.lit(day)), CLUSTER_TRAITS_TABLE,
                mode=ReplacePartition({"as_of": day}), partition_by=["as_of"],
            )  # fmt: skip
            run.write(
                clustered.select("person_id", "cluster", F.lit(day).alias("as_of")),
                CLUSTERS_TABLE, mode=ReplacePartition({"as_of": day}),
                partition_by=["as_of"],
            )  # fmt: skip
    for name, size in result.sizes.items():
        run.count(f"segment.{name}", size)
    return result


@dataclass
class SegmentPreview:
    """Sizes ``dmp segments preview`` counted (nothing written)."""

    as_of: date
    persons: int = 0
    sizes: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {"as of": self.as_of.isoformat(), "persons": self.persons}
        for name, size in self.sizes.items():
            share = f" ({size / self.persons:.1%})" if self.persons else ""
            shown[f"segment {name}"] = f"{size}{share}"
        return shown


def preview_segments(
    spark: SparkSession, run: Run, spec: SegmentFile, as_of: date | None
) -> SegmentPreview:
    """Count each segment of ``spec`` on a profile snapshot without writing anything.

    Raises:
        UserError: No profiles, no snapshot for ``as_of``, an invalid expression, an unknown
            reference or a cycle.
    """
    day = _snapshot_day(run, as_of)
    schema = run.lake.read(spark, PROFILES_TABLE).schema
    validate_expressions(spark, schema, [(s.name, s.where) for s in spec.segments], "segment")
    order = evaluation_order([s.name for s in spec.segments], spec.combined, list_names(run.lake))
    preview = SegmentPreview(as_of=day)
    profiles = run.read(spark, PROFILES_TABLE).filter(F.col("as_of") == F.lit(day))
    with kept(profiles) as snapshot:
        preview.persons = snapshot.count()
        members = _memberships(snapshot, spec, day)
        if order:
            members = _with_combined(spark, run, members, order, day)
        preview.sizes = _sizes(members, spec)
    return preview


def _snapshot_day(run: Run, as_of: date | None) -> date:
    if not run.lake.exists(PROFILES_TABLE):
        raise UserError("silver/profiles does not exist yet: run `dmp profiles` first")
    snapshots = run.lake.partition_values(PROFILES_TABLE, "as_of")
    if not snapshots:
        raise UserError("silver/profiles has no snapshot yet: run `dmp profiles` first")
    day = as_of or date.fromisoformat(max(snapshots))
    if day.isoformat() not in snapshots:
        raise UserError(f"no profile snapshot as of {day}; available: {', '.join(snapshots[-5:])}")
    return day


def _memberships(profiles: DataFrame, spec: SegmentFile, day: date) -> DataFrame:
    """``segment, person_id, as_of``: one pass over the snapshot for every segment."""
    matched = F.array(
        *[F.when(F.coalesce(F.expr(s.where), F.lit(False)), F.lit(s.name)) for s in spec.segments]
    )
    return (
        profiles.select("person_id", F.explode(matched).alias("segment"))
        .filter(F.col("segment").isNotNull())
        .select("segment", "person_id", F.lit(day).alias("as_of"))
    )


def _with_combined(
    spark: SparkSession, run: Run, members: DataFrame, order: list[CombinedSegment], day: date
) -> DataFrame:
    """``members`` plus the combined segments' rows."""
    names = sorted(
        {ref[len(LIST_PREFIX) :] for c in order for ref in c.references()
         if ref.startswith(LIST_PREFIX)}
    )  # fmt: skip
    lists = {}
    if names:
        from dmp.tables import IDENTITY_MAP_TABLE

        identity_map = run.read(spark, IDENTITY_MAP_TABLE)
        lists = {name: list_members(spark, run, name, identity_map) for name in names}
    combined = combine(members.select("segment", "person_id"), order, lists)
    return members.unionByName(combined.withColumn("as_of", F.lit(day)))


def _definitions(spec: SegmentFile) -> list[tuple[str, str, str]]:
    """``(name, description, where)`` of every segment, plain then combined."""
    return [(s.name, s.description, s.where) for s in spec.segments] + [
        (c.name, c.description, c.formula()) for c in spec.combined
    ]


def _sizes(members: DataFrame, spec: SegmentFile) -> dict[str, int]:
    counts = {r["segment"]: int(r["count"]) for r in members.groupBy("segment").count().collect()}
    return {name: counts.get(name, 0) for name, _, _ in _definitions(spec)}


def _sizes_table(spec: SegmentFile, result: SegmentResult, day: date) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "as_of": day,
                "segment": name,
                "description": description,
                "where": where,
                "size": result.sizes[name],
                "share": result.sizes[name] / result.persons if result.persons else 0.0,
            }
            for name, description, where in _definitions(spec)
        ]
    )


def _overlaps(members: DataFrame, day: date) -> DataFrame:
    """People in both segments and the Jaccard index, for every pair of segments."""
    left = members.select(F.col("segment").alias("segment_a"), "person_id")
    right = members.select(F.col("segment").alias("segment_b"), "person_id")
    both = (
        left.join(right, "person_id")
        .groupBy("segment_a", "segment_b")
        .agg(F.count(F.lit(1)).alias("overlap"))
    )
    sizes = members.groupBy("segment").agg(F.count(F.lit(1)).alias("size"))
    a = sizes.select(F.col("segment").alias("segment_a"), F.col("size").alias("size_a"))
    b = sizes.select(F.col("segment").alias("segment_b"), F.col("size").alias("size_b"))
    return (
        both.join(a, "segment_a")
        .join(b, "segment_b")
        .select(
            "segment_a",
            "segment_b",
            "overlap",
            F.round(
                F.col("overlap") / (F.col("size_a") + F.col("size_b") - F.col("overlap")), 4
            ).alias("jaccard"),
            F.lit(day).alias("as_of"),
        )
    )


def _plot_overlaps(overlaps: DataFrame, result: SegmentResult, reports: Path) -> str | None:
    """A heatmap of segment overlaps (Jaccard), as a PNG under ``reports/segments/``."""
    names = [n for n, size in result.sizes.items() if size > 0]
    if len(names) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = {(r["segment_a"], r["segment_b"]): r["jaccard"] for r in overlaps.collect()}
    grid = [[cells.get((a, b), 0.0) for b in names] for a in names]
    figure, axis = plt.subplots(figsize=(1.0 + 0.6 * len(names), 0.8 + 0.5 * len(names)))
    image = axis.imshow(grid, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            axis.text(j, i, f"{grid[i][j]:.2f}", ha="center", va="center", fontsize=6)
    figure.colorbar(image, ax=axis, label="Jaccard overlap")
    axis.set_title(f"Segment overlaps as of {result.as_of}")
    figure.tight_layout()
    folder = reports / "segments" / result.as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "overlaps.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return str(path)


def _scores(profiles: DataFrame, spec: SegmentFile, day: date) -> DataFrame:
    frames = []
    for plan in spec.scoring:
        total = F.lit(0.0)
        for rule in plan.rules:
            hit = F.coalesce(F.expr(rule.when), F.lit(False))
            total = total + F.when(hit, F.lit(float(rule.points))).otherwise(F.lit(0.0))
        frames.append(
            profiles.select(
                F.lit(plan.name).alias("plan"),
                "person_id",
                total.alias("score"),
                F.lit(day).alias("as_of"),
            )
        )
    scores = frames[0]
    for frame in frames[1:]:
        scores = scores.unionByName(frame)
    return scores


def _score_stats(scores: DataFrame) -> dict[str, dict[str, float]]:
    rows = scores.groupBy("plan").agg(F.avg("score"), F.max("score")).collect()  # one per plan
    return {r["plan"]: {"mean": float(r[1]), "max": float(r[2])} for r in rows}


@contextmanager
def _personas(
    settings: Settings, profiles: DataFrame, day: date, result: SegmentResult
) -> Iterator[tuple[DataFrame, DataFrame] | None]:
    """Fit persona clusters; yield ``(clustered, traits)`` kept, or ``None`` with a note.

    Degenerate snapshots (too few people, everyone alike) give no persona tables and a
    one-line note in the result instead of an error.
    """
    options = settings.segments.clusters
    keys = profiles.select(F.explode(F.map_keys("category_affinity")).alias("c")).distinct()
    categories = sorted(r["c"] for r in keys.collect())  # the catalogue's categories
    features = cluster_features(profiles, categories)
    people = features.count()
    if people < options.k * 5:
        result.persona_note = (
            f"skipped: {people} people, fewer than {options.k * 5} for {options.k} clusters"
        )
        _log.info("segments: persona clusters %s", result.persona_note)
        yield None
        return
    assigned, result.silhouette, found = fit_clusters(features, options)
    if found < 2:
        result.persona_note = (
            f"skipped: the {people} people behave too alike to form two or more clusters"
        )
        _log.info("segments: persona clusters %s", result.persona_note)
        yield None
        return
    with kept(assigned) as clustered, kept(cluster_traits(clustered, options)) as described:
        for row in described.orderBy("cluster", F.desc("lift")).collect():  # k x traits
            shown = result.clusters.get(row["cluster"], "")
            label = f"{row['trait']} x{row['lift']:.1f}"
            result.clusters[row["cluster"]] = f"{shown}, {label}" if shown else label
        yield clustered, described
