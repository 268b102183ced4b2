"""Pure DataFrame transforms of the ingest stage: classify parsed lines, shape the outputs."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dmp.ingest.reasons import QuarantineReason
from dmp.ingest.schema import EVENT_FIELDS, EVENT_PARTITION, QUARANTINE_SCHEMA

ACCEPTED = "accepted"
QUARANTINED = "quarantined"
DUPLICATE = "duplicate"


def classify(parsed: DataFrame, existing: DataFrame, quarantined_before: DataFrame) -> DataFrame:
    """Give every parsed line an ``outcome``: accepted, quarantined or duplicate.

    Args:
        parsed: Output of the parsers (``PARSED_SCHEMA``), one row per input line.
        existing: ``source, message_id, message_hash`` of events already in bronze.
        quarantined_before: ``source_file, source_line`` already in the quarantine table.

    Returns:
        ``parsed`` plus ``outcome``; ``reason`` is set for every quarantined row. Within
        the batch the first occurrence of a ``(source, message_id)`` (by landing date,
        file, line) wins; a later copy with the same body is a duplicate and one with a
        different body a ``duplicate_conflict``; the same against events already in bronze.
        Lines quarantined by an earlier run count as duplicates so a re-run adds nothing.
    """
    good = parsed.filter(F.col("reason").isNull())
    bad = parsed.filter(F.col("reason").isNotNull())

    order = Window.partitionBy("source", "message_id").orderBy(
        "landing_date", "source_file", "source_line"
    )
    ranked = good.withColumn("_rank", F.row_number().over(order)).withColumn(
        "_first_hash", F.first("message_hash").over(order)
    )
    known = existing.select(
        "source", "message_id", F.col("message_hash").alias("_bronze_hash")
    ).dropDuplicates(["source", "message_id"])
    matched = ranked.join(known, ["source", "message_id"], "left")
    reference = F.coalesce(F.col("_bronze_hash"), F.col("_first_hash"))
    is_copy = F.col("_bronze_hash").isNotNull() | (F.col("_rank") > 1)
    good_outcomes = (
        matched.withColumn(
            "outcome",
            F.when(~is_copy, F.lit(ACCEPTED))
            .when(F.col("message_hash") == reference, F.lit(DUPLICATE))
            .otherwise(F.lit(QUARANTINED)),
        )
        .withColumn(
            "reason",
            F.when(
                F.col("outcome") == QUARANTINED, F.lit(QuarantineReason.DUPLICATE_CONFLICT.value)
            ),
        )
        .drop("_rank", "_first_hash", "_bronze_hash")
    )

    seen = quarantined_before.select("source_file", "source_line").distinct()
    seen = seen.withColumn("_seen", F.lit(True))
    bad_outcomes = (
        bad.join(seen, ["source_file", "source_line"], "left")
        .withColumn(
            "outcome",
            F.when(F.col("_seen"), F.lit(DUPLICATE)).otherwise(F.lit(QUARANTINED)),
        )
        .drop("_seen")
    )
    return good_outcomes.unionByName(bad_outcomes)


def events_rows(classified: DataFrame, ingested_at: Column, run_id: str) -> DataFrame:
    """Accepted lines shaped as ``bronze/events`` rows."""
    columns = [name for name, _ in EVENT_FIELDS]
    return classified.filter(F.col("outcome") == ACCEPTED).select(
        *columns,
        F.col(EVENT_PARTITION),
        ingested_at.alias("ingested_at"),
        F.lit(run_id).alias("run_id"),
    )


def quarantine_rows(classified: DataFrame, ingested_at: Column, run_id: str) -> DataFrame:
    """Quarantined lines shaped as ``bronze/quarantine`` rows (masked text only)."""
    rows = classified.filter(F.col("outcome") == QUARANTINED).withColumn("ingested_at", ingested_at)
    rows = rows.withColumn("run_id", F.lit(run_id))
    return rows.select(*QUARANTINE_SCHEMA.names)


def outcome_counts(classified: DataFrame) -> DataFrame:
    """Small summary: lines per source, outcome and reason."""
    return classified.groupBy("source", "outcome", "reason").count()
