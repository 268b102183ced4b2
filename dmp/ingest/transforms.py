"""Pure DataFrame transforms of the ingest stage: classify parsed lines, shape the outputs."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dmp.ingest.reasons import QuarantineReason
from dmp.ingest.schema import EVENT_FIELDS, EVENT_PARTITION, QUARANTINE_SCHEMA

ACCEPTED = "accepted"
QUARANTINED = "quarantined"
DUPLICATE = "duplicate"


def repeated_lines(
    parsed: DataFrame, existing: DataFrame, quarantined_before: DataFrame
) -> DataFrame:
    """The lines whose outcome is not the parser's verdict: copies and re-read lines.

    Works on the narrow key columns only (the wide parsed rows are never shuffled): within
    the batch the first occurrence of a ``(source, message_id)`` (by landing date, file,
    line) wins; a later copy with the same body is a duplicate and one with a different
    body a ``duplicate_conflict``; the same against events already in bronze. Lines
    quarantined by an earlier run are duplicates, so a re-run adds nothing.

    Args:
        parsed: Output of the parsers (``PARSED_SCHEMA``), one row per input line.
        existing: ``source, message_id, message_hash`` of events already in bronze.
        quarantined_before: ``source_file, source_line`` already in the quarantine table.

    Returns:
        ``source_file, source_line, _outcome, _reason`` (``_reason`` is set for conflicts
        only; a re-read bad line keeps its parse reason). Usually small.
    """
    good = parsed.filter(F.col("reason").isNull()).select(
        "source", "message_id", "message_hash", "landing_date", "source_file", "source_line"
    )
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
    copies = matched.filter(F.col("_bronze_hash").isNotNull() | (F.col("_rank") > 1))
    same_body = F.col("message_hash") == F.coalesce(F.col("_bronze_hash"), F.col("_first_hash"))
    seen = quarantined_before.select("source_file", "source_line").distinct()
    # A conflicting copy quarantined by an earlier run (one killed after its quarantine
    # commit, before its events commit) is a duplicate now, like any re-read bad line.
    earlier = seen.withColumn("_quarantined_before", F.lit(True))
    copies = copies.join(earlier, ["source_file", "source_line"], "left")
    conflict = ~same_body & F.col("_quarantined_before").isNull()
    copies = copies.select(
        "source_file",
        "source_line",
        F.when(conflict, F.lit(QUARANTINED)).otherwise(F.lit(DUPLICATE)).alias("_outcome"),
        F.when(conflict, F.lit(QuarantineReason.DUPLICATE_CONFLICT.value)).alias("_reason"),
    )
    reread = (
        parsed.filter(F.col("reason").isNotNull())
        .select("source_file", "source_line")
        .join(seen, ["source_file", "source_line"])
        .select(
            "source_file",
            "source_line",
            F.lit(DUPLICATE).alias("_outcome"),
            F.lit(None).cast("string").alias("_reason"),
        )
    )
    return copies.unionByName(reread)


def classify(parsed: DataFrame, repeated: DataFrame, *, broadcast: bool = True) -> DataFrame:
    """Give every parsed line an ``outcome``: accepted, quarantined or duplicate.

    Args:
        parsed: Output of the parsers, one row per input line.
        repeated: :func:`repeated_lines` of the same batch.
        broadcast: Ship ``repeated`` to every task (it is usually small) instead of
            shuffling the wide parsed rows to join it.

    Returns:
        ``parsed`` plus ``outcome``; ``reason`` is set for every quarantined row.
    """
    verdicts = F.broadcast(repeated) if broadcast else repeated
    joined = parsed.join(verdicts, ["source_file", "source_line"], "left")
    parsed_outcome = F.when(F.col("reason").isNull(), F.lit(ACCEPTED)).otherwise(F.lit(QUARANTINED))
    return (
        joined.withColumn("outcome", F.coalesce(F.col("_outcome"), parsed_outcome))
        .withColumn("reason", F.coalesce(F.col("_reason"), F.col("reason")))
        .drop("_outcome", "_reason")
    )


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
