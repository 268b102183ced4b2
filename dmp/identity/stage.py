"""The identity stage: bronze/events -> silver/identity_map and silver/identity_changes."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import Keep, kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.identity.gate import identity_gate
from dmp.identity.graph import (
    EVENT,
    IDENTIFIER_SOURCES,
    blocked,
    event_identifiers,
    event_nodes,
    identifier_stats,
    node_ids,
    star_edges,
    user_links,
    with_event_keys,
)
from dmp.identity.resolve import (
    CONTESTED,
    FREE,
    SHARED,
    attach_clusters,
    classify_nodes,
    free_graph,
    person_keys,
)
from dmp.identity.stable_ids import MERGE, SPLIT, assign_person_ids
from dmp.lake import OVERWRITE
from dmp.runlog import Run
from dmp.tables import EVENTS_TABLE, IDENTITY_CHANGES_TABLE, IDENTITY_MAP_TABLE

if TYPE_CHECKING:
    from dmp.evaluation.identity import PairwiseScores

_log = logging.getLogger(__name__)
_SIZE_BUCKETS = ((1, 1), (2, 3), (4, 10), (11, 50), (51, 10**12))


@dataclass
class IdentityResult:
    """What one identity run found."""

    identifiers: int = 0
    identifiers_in_bronze: int = 0
    persons: int = 0
    persons_with_user_id: int = 0
    free_clusters: int = 0
    largest_person: int = 0
    size_distribution: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    merges: int = 0
    splits: int = 0
    cc_rounds: int = 0
    map_version: int | None = None
    scores: PairwiseScores | None = None
    gate_report: str | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {
            "identifiers mapped": self.identifiers,
            "persons": self.persons,
            "persons with a user id": self.persons_with_user_id,
            "anonymous identifier clusters": self.free_clusters,
            "largest person (identifiers)": self.largest_person,
        }
        for bucket, count in self.size_distribution.items():
            shown[f"persons with {bucket} identifiers"] = count
        for rule, count in sorted(self.rejected.items()):
            shown[f"rejected: {rule}"] = count
        shown["merges since last run"] = self.merges
        shown["splits since last run"] = self.splits
        shown["connected-components rounds"] = self.cc_rounds
        if self.scores is not None:
            shown["pairwise precision (vs truth)"] = round(self.scores.precision, 4)
            shown["pairwise recall (vs truth)"] = round(self.scores.recall, 4)
        shown["silver/identity_map version"] = self.map_version
        shown["quality report"] = self.gate_report or "-"
        return shown


def resolve_identities(spark: SparkSession, settings: Settings, run: Run) -> IdentityResult:
    """Stitch every identifier in bronze into persons and publish the identity map.

    Raises:
        UserError: bronze/events does not exist yet.
        GateFailed: The identity gate failed; nothing was written.
    """
    from dmp.identity.components import connected_components

    rules = settings.identity
    if not run.lake.exists(EVENTS_TABLE):
        raise UserError("bronze/events does not exist yet: run `dmp ingest` first")
    result = IdentityResult()
    with ExitStack() as stack:
        events = run.read(spark, EVENTS_TABLE).select(
            "source", "event_time", *(column for column, _ in IDENTIFIER_SOURCES)
        )
        flagged = event_identifiers(with_event_keys(events)).withColumn(
            "blocked", blocked(F.col("id_value"), rules)
        )
        flagged = stack.enter_context(kept(flagged, Keep.DISK))
        _count_blocked(flagged, result)
        identifiers = flagged.filter(~F.col("blocked")).drop("blocked")
        nodes = node_ids(identifiers)
        result.identifiers_in_bronze = nodes.count()
        per_event = stack.enter_context(kept(event_nodes(identifiers, nodes)))
        classes = stack.enter_context(kept(classify_nodes(nodes, user_links(per_event), rules)))
        shared = classes.filter(F.col("link") == SHARED).select("node")
        edges = stack.enter_context(kept(star_edges(per_event, shared), Keep.DISK))
        free_nodes = classes.filter(F.col("link") == FREE).select("node")
        _log.info("identity: connected components of never-logged-in identifiers")
        components = connected_components(
            free_graph(edges, classes), free_nodes, max_rounds=rules.max_rounds
        )
        result.cc_rounds = components.rounds
        clusters = stack.enter_context(kept(components.frame))
        attachments = attach_clusters(edges, classes, clusters, rules)
        _count_rules(classes, attachments, result)
        # Kept: the identity map and the changes are both derived from the members.
        members = stack.enter_context(
            kept(
                person_keys(classes, clusters, attachments)
                .join(nodes, "node")
                .select("id_type", "id_value", "person_key", "resolved")
            )
        )
        stats = identifier_stats(per_event).join(nodes, "node").drop("node")
        identity_map, changes = _named_map(spark, run, members, stats)
        _publish(spark, settings, run, identity_map, changes, result)
    return result


CHANGES_TXN = "dmp.identity.changes"
"""Idempotency key of the identity_changes append (version: the map version it starts from, + 1)."""


def _named_map(
    spark: SparkSession, run: Run, members: DataFrame, stats: DataFrame
) -> tuple[DataFrame, DataFrame]:
    previous = run.read(spark, IDENTITY_MAP_TABLE) if run.lake.exists(IDENTITY_MAP_TABLE) else None
    salt = str(run.inputs.get(IDENTITY_MAP_TABLE, -1))
    named, changes = assign_person_ids(members, previous, salt)
    identity_map = named.join(stats, ["id_type", "id_value"]).select(
        "id_type",
        "id_value",
        "person_id",
        "first_seen_at",
        "last_seen_at",
        F.col("events").cast("long").alias("events"),
        F.col("resolved").alias("link"),
        F.lit(run.run_id).alias("run_id"),
    )
    return identity_map, changes


def _publish(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    identity_map: DataFrame,
    changes: DataFrame,
    result: IdentityResult,
) -> None:
    with kept(identity_map, Keep.DISK) as mapped, kept(changes) as changed:
        _describe(mapped, result)
        for row in changed.groupBy("change").count().collect():
            if row["change"] == MERGE:
                result.merges = int(row["count"])
            elif row["change"] == SPLIT:
                result.splits = int(row["count"])
        if settings.truth_dir is not None:
            result.scores = _score(spark, settings, mapped)
            run.count("precision_x10000", round(result.scores.precision * 10000))
            run.count("recall_x10000", round(result.scores.recall * 10000))
        result.gate_report = identity_gate(
            spark,
            settings,
            run,
            mapped,
            identifiers=result.identifiers,
            identifiers_in_bronze=result.identifiers_in_bronze,
            largest_person=result.largest_person,
        )
        stamped = changed.select(
            F.lit(run.run_id).alias("run_id"),
            F.lit(datetime.now(UTC).replace(tzinfo=None)).cast("timestamp").alias("changed_at"),
            "change",
            "from_person_id",
            "to_person_id",
            "identifiers",
        )
        # The changes land first, keyed by the map version they start from: a run killed
        # between the two commits recomputes the same changes from the same map and skips
        # them, where writing the map first would leave the re-run nothing to compare with.
        start = run.inputs.get(IDENTITY_MAP_TABLE, -1) + 1
        run.write(stamped, IDENTITY_CHANGES_TABLE, txn=(CHANGES_TXN, start))
        written = run.write(mapped, IDENTITY_MAP_TABLE, mode=OVERWRITE)
        result.map_version = written.version
    for key, value in (
        ("identifiers", result.identifiers),
        ("persons", result.persons),
        ("merges", result.merges),
        ("splits", result.splits),
        ("largest_person", result.largest_person),
    ):
        run.count(key, value)
    for rule, count in result.rejected.items():
        run.count(f"rejected.{rule}", count)


def _count_blocked(identifiers: DataFrame, result: IdentityResult) -> None:
    rows = (
        identifiers.filter(F.col("blocked"))
        .groupBy("id_type")
        .agg(F.countDistinct(EVENT).alias("events"))
        .collect()
    )
    for row in rows:  # one row per identifier type
        result.rejected[f"blocked value ({row['id_type']}), events"] = int(row["events"])


def _count_rules(classes: DataFrame, attachments: DataFrame, result: IdentityResult) -> None:
    for row in classes.groupBy("link").count().collect():  # a handful of classes
        if row["link"] == SHARED:
            result.rejected["shared identifier (too many user ids)"] = int(row["count"])
        elif row["link"] == CONTESTED:
            result.rejected["contested identifier (given to its main user)"] = int(row["count"])
    ambiguous = attachments.filter(
        F.col("owner").isNull() & F.col("evidence_share").isNotNull()
    ).count()
    result.rejected["cluster linked to several people (kept apart)"] = int(ambiguous)
    result.free_clusters = attachments.count()


def _describe(identity_map: DataFrame, result: IdentityResult) -> None:
    sizes = identity_map.groupBy("person_id").agg(
        F.count(F.lit(1)).alias("size"),
        F.max((F.col("id_type") == "user_id").cast("int")).alias("has_user"),
    )
    overall = sizes.agg(F.count(F.lit(1)), F.sum("size"), F.max("size"), F.sum("has_user")).first()
    assert overall is not None
    result.persons = int(overall[0] or 0)
    result.identifiers = int(overall[1] or 0)
    result.largest_person = int(overall[2] or 0)
    result.persons_with_user_id = int(overall[3] or 0)
    bucket = F.lit(None).cast("string")
    for low, high in _SIZE_BUCKETS:
        bucket = F.when(F.col("size").between(low, high), F.lit(_label(low, high))).otherwise(
            bucket
        )
    grouped = sizes.groupBy(bucket.alias("bucket")).count().collect()  # five buckets
    counts = {r["bucket"]: int(r["count"]) for r in grouped}
    for low, high in _SIZE_BUCKETS:
        result.size_distribution[_label(low, high)] = counts.get(_label(low, high), 0)


def _label(low: int, high: int) -> str:
    if low == high:
        return str(low)
    return f"{low}-{high}" if high < _SIZE_BUCKETS[-1][1] else f"more than {low - 1}"


def _score(spark: SparkSession, settings: Settings, identity_map: DataFrame) -> PairwiseScores:
    from dmp.evaluation.identity import pairwise_scores, truth_identifiers

    assert settings.truth_dir is not None
    truth = truth_identifiers(
        spark, settings.truth_dir, settings.ingest.default_country_code, id_key=settings.id_key()
    )
    return pairwise_scores(identity_map, truth)
