"""The ingest stage: landing files -> ``bronze/events`` + ``bronze/quarantine``, gated."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dmp.caching import kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.ingest.gate import bronze_gate
from dmp.ingest.landing import (
    LandingFile,
    ParseSettings,
    discover,
    ingested_files_table,
    parse_files,
    pending,
)
from dmp.ingest.partners import load_partner_specs
from dmp.ingest.schema import EVENT_PARTITION, PARSED_SCHEMA
from dmp.ingest.transforms import (
    ACCEPTED,
    DUPLICATE,
    QUARANTINED,
    classify,
    events_rows,
    outcome_counts,
    quarantine_rows,
    repeated_lines,
)
from dmp.runlog import Run
from dmp.tables import EVENTS_TABLE, INGESTED_FILES_TABLE, QUARANTINE_TABLE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_log = logging.getLogger(__name__)
# Repeated lines (duplicates, re-read files) up to this many are shipped to every task.
_BROADCAST_ROWS = 2_000_000
_LANDING_BYTES_PER_FILE = 64 * 2**20


@dataclass
class IngestResult:
    """What one ingest run did; ``read == accepted + quarantined + duplicates``."""

    files: int = 0
    dates: list[date] = field(default_factory=list)
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    events_version: int | None = None
    quarantine_version: int | None = None
    gate_report: str | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {
            "files ingested": self.files,
            "landing dates": ", ".join(d.isoformat() for d in self.dates) or "-",
            "records read": self.read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "accounting": "read = accepted + quarantined + duplicates"
            if self.read == self.accepted + self.quarantined + self.duplicates
            else "MISMATCH",
        }
        for source, count in sorted(self.by_source.items()):
            shown[f"accepted from {source}"] = count
        for reason, count in sorted(self.by_reason.items()):
            shown[f"quarantined: {reason}"] = count
        shown["bronze/events version"] = self.events_version
        shown["quality report"] = self.gate_report or "-"
        return shown


def ingest(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    *,
    landing_date: date | None = None,
    up_to: date | None = None,
) -> IngestResult:
    """Ingest every landing file not ingested yet (only those of ``landing_date``, or of
    landing dates up to ``up_to``, when given).

    First-party JSON lines and partner CSV files are parsed in Spark tasks; each line is
    accepted, quarantined with a reason, or dropped as a duplicate of an earlier
    ``(source, messageId)``. The accepted batch passes the bronze gate before anything is
    written; then quarantine, events and the ingested-file log are committed in that order,
    so a re-run after a crash between commits completes without double counting.

    Raises:
        GateFailed: The bronze gate failed; nothing was written.
        UserError: ``landing_date`` has no landing files.
    """
    options = settings.ingest
    partners = load_partner_specs(settings.partners_conf_dir)
    everything = discover(
        settings.landing_dir, options.first_party_dir, options.partners_dir, sorted(partners)
    )
    if landing_date is not None:
        everything = [f for f in everything if f.landing_date == landing_date]
        if not everything:
            raise UserError(
                f"no landing files for {landing_date} under {settings.landing_dir} "
                f"({options.first_party_dir}/dt={landing_date} or partner folders)"
            )
    if up_to is not None:
        everything = [f for f in everything if f.landing_date <= up_to]
    todo = pending(run.lake, everything)
    result = IngestResult()
    if not todo:
        _log.info("ingest: nothing new among %d landing files", len(everything))
        return result
    result.files = len(todo)
    result.dates = sorted({f.landing_date for f in todo})
    _log.info(
        "ingest: %d new files over %d landing dates (%s .. %s)",
        len(todo),
        len(result.dates),
        result.dates[0],
        result.dates[-1],
    )
    ingested_at = datetime.now(UTC)
    parse_settings = ParseSettings.build(
        ingested_at=ingested_at,
        min_event_time=options.min_event_time,
        max_future_hours=options.max_future_hours,
        max_record_bytes=options.max_record_bytes,
        consent_purposes=options.consent_purposes,
        default_country_code=options.default_country_code,
        partners=partners,
        id_key=settings.id_key(),
        max_amount=options.max_amount,
        max_quantity=options.max_quantity,
    )
    parsed = _parse(spark, todo, parse_settings)
    # One copy of the parsed batch (Spark's compressed columnar cache, spilling to disk):
    # the duplicate check, the counts, the gate and both writes read it.
    with kept(parsed) as parsed_kept:
        existing = _existing_events(spark, run, parsed_kept, options.dedupe_window_days)
        quarantined_before = _existing_quarantine(spark, run)
        repeated = repeated_lines(parsed_kept, existing, quarantined_before)
        with kept(repeated) as repeated_kept:
            small = repeated_kept.count() <= _BROADCAST_ROWS
            classified = classify(parsed_kept, repeated_kept, broadcast=small)
            _count(classified, result)
            run.count("files", result.files)
            for key in ("read", "accepted", "quarantined", "duplicates"):
                run.count(key, getattr(result, key))
            _log.info(
                "ingest: read %d, accepted %d, quarantined %d, duplicates %d",
                result.read,
                result.accepted,
                result.quarantined,
                result.duplicates,
            )
            stamp = _timestamp_literal(ingested_at)
            events = events_rows(classified, stamp, run.run_id)
            result.gate_report = _gate(spark, settings, run, events, result)
            # Files sized for reading: a task per ~64 MB of landing data writes one file per
            # date it holds, not one task per landing file (hundreds of small files).
            quarantine = quarantine_rows(classified, stamp, run.run_id).coalesce(1)
            written = run.write(quarantine, QUARANTINE_TABLE, partition_by=["landing_date"])
            result.quarantine_version = written.version
            tasks = max(1, math.ceil(sum(f.size for f in todo) / _LANDING_BYTES_PER_FILE))
            events = events.coalesce(tasks)
            written = run.write(events, EVENTS_TABLE, partition_by=[EVENT_PARTITION])
            result.events_version = written.version
    run.write_arrow(ingested_files_table(todo, run.run_id), INGESTED_FILES_TABLE)
    return result


def _parse(spark: SparkSession, files: list[LandingFile], settings: ParseSettings) -> DataFrame:
    from dmp.lake._schema import arrow_to_spark

    listing = spark.createDataFrame(
        [(f.source, f.landing_date, f.path, f.relative, f.size) for f in files],
        "source string, landing_date date, path string, relative string, size long",
    )
    # One task per file: gzip files cannot be split, and line numbers are per file.
    listing = listing.repartition(max(1, len(files)))
    return listing.mapInArrow(
        lambda batches: parse_files(batches, settings), arrow_to_spark(PARSED_SCHEMA)
    )


def _existing_events(
    spark: SparkSession, run: Run, parsed: DataFrame, window_days: int | None
) -> DataFrame:
    from pyspark.sql import functions as F

    if not run.lake.exists(EVENTS_TABLE):
        return spark.createDataFrame([], "source string, message_id string, message_hash string")
    events = run.read(spark, EVENTS_TABLE)
    if window_days is not None:
        earliest = parsed.agg(F.min(EVENT_PARTITION)).first()
        if earliest is not None and earliest[0] is not None:
            start = earliest[0] - timedelta(days=window_days)
            events = events.filter(F.col(EVENT_PARTITION) >= F.lit(start))
    return events.select("source", "message_id", "message_hash")


def _existing_quarantine(spark: SparkSession, run: Run) -> DataFrame:
    if not run.lake.exists(QUARANTINE_TABLE):
        return spark.createDataFrame([], "source_file string, source_line long")
    return run.read(spark, QUARANTINE_TABLE).select("source_file", "source_line")


def _count(classified: DataFrame, result: IngestResult) -> None:
    for row in outcome_counts(classified).collect():  # a few dozen rows at most
        count = int(row["count"])
        result.read += count
        if row["outcome"] == ACCEPTED:
            result.accepted += count
            result.by_source[row["source"]] = result.by_source.get(row["source"], 0) + count
        elif row["outcome"] == QUARANTINED:
            result.quarantined += count
            result.by_reason[row["reason"]] = result.by_reason.get(row["reason"], 0) + count
        elif row["outcome"] == DUPLICATE:
            result.duplicates += count


def _timestamp_literal(moment: datetime) -> Any:
    from pyspark.sql import functions as F

    return F.lit(moment.replace(tzinfo=None)).cast("timestamp")


def _gate(
    spark: SparkSession, settings: Settings, run: Run, events: DataFrame, result: IngestResult
) -> str | None:
    return bronze_gate(
        spark,
        settings,
        run,
        events,
        read=result.read,
        quarantined=result.quarantined,
        accepted=result.accepted,
    )
