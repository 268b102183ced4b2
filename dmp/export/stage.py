"""The export stage: an audience tier or a segment -> channel files with a manifest.

Only people whose consent for the channel's purpose holds on the export date are exported
(evaluated from the latest consent statements in bronze up to the end of that day, not
from the audience's profile snapshot, so a withdrawal after the snapshot counts),
never anyone on the suppression list, never an audience's seed, and (by default,
``segments.exclude_risky_from_exports``) nobody flagged as a bot or coupon abuser in the
snapshot; a deterministic holdout can
be kept out and recorded; audiences under the channel's minimum are refused.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.export.channels import Channel, channel
from dmp.export.files import TEMP_PREFIX, FilePart, clean_stale, publish, write_parts
from dmp.export.layouts import channel_rows, contact_points
from dmp.export.suppression import suppressed_people
from dmp.faults import commit_point
from dmp.runlog import Run
from dmp.tables import EVENTS_TABLE, IDENTITY_MAP_TABLE, MEMBERS_TABLE, PROFILES_TABLE

EXPORTED, HOLDOUT = "exported", "holdout"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportRequest:
    """What to export where."""

    channel: str
    audience: str | None = None
    segment: str | None = None
    tier: int | None = None
    holdout: float = 0.0
    as_of: date | None = None
    on: date | None = None
    """Export date: consent is evaluated at its end (UTC); today when not given."""


@dataclass
class ExportResult:
    """One published export."""

    export_id: str
    folder: Path | None = None
    name: str = ""
    channel: str = ""
    as_of: date | None = None
    consent_on: date | None = None
    candidates: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    holdout: int = 0
    people: int = 0
    rows: int = 0
    parts: list[FilePart] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    previous_export: str | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {
            "export": self.export_id,
            "folder": str(self.folder),
            "source": self.name,
            "channel": self.channel,
            "as of": str(self.as_of),
            "consent evaluated on": str(self.consent_on),
            "candidates": self.candidates,
        }
        for reason, count in self.excluded.items():
            shown[f"left out: {reason}"] = count
        shown["held out (control group)"] = self.holdout
        shown["people exported"] = self.people
        shown["rows"] = self.rows
        shown["files"] = len(self.parts)
        shown["added since last export"] = self.added
        shown["removed since last export"] = self.removed
        return shown


def export(
    spark: SparkSession, settings: Settings, run: Run, request: ExportRequest
) -> ExportResult:
    """Build and publish one export; see the module docstring for the rules.

    Raises:
        UserError: Unknown channel or source, or fewer people than the channel's minimum.
    """
    spec = channel(settings.channels_file, request.channel)
    if (request.audience is None) == (request.segment is None):
        raise UserError("give exactly one of --audience or --segment")
    if not 0.0 <= request.holdout < 1.0:
        raise UserError("--holdout must be a share between 0 and 1 (e.g. 0.1 for 10%)")
    name = request.audience or request.segment or ""
    export_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    result = ExportResult(export_id=export_id, name=name, channel=request.channel)
    base = settings.exports_dir / name / request.channel
    _forget_unpublished(run, base, name, request.channel)
    clean_stale(base)
    members, day, model_run = _members(spark, run, request)
    result.as_of = day
    result.consent_on = request.on or datetime.now(UTC).date()
    with kept(members) as candidates:
        result.candidates = candidates.count()
        eligible = _eligible(spark, settings, run, spec, candidates, day, result)
        groups = eligible.withColumn("group", _holdout(name, request.holdout))
        with kept(groups) as grouped:
            exported = grouped.filter(F.col("group") == EXPORTED)
            result.holdout = grouped.filter(F.col("group") == HOLDOUT).count()
            contacts = _contacts(spark, settings, run, day)
            rows, columns = channel_rows(spec, exported, contacts)
            with kept(rows) as file_rows:
                result.people = file_rows.select("person_id").distinct().count()
                result.excluded["no identifier for this channel"] = exported.count() - result.people
                if result.people < spec.min_audience:
                    raise UserError(
                        f"{request.channel}: only {result.people} people can be exported "
                        f"(minimum {spec.min_audience}); not exporting"
                    )
                temporary = base / f"{TEMP_PREFIX}{export_id}"
                result.parts = write_parts(file_rows, columns, temporary, spec.part_rows)
                result.rows = sum(p.rows for p in result.parts)
                previous = _previous_export(spark, run, name, request.channel)
                diff = _diff(
                    spark,
                    run,
                    previous,
                    grouped,
                    spec,
                    contacts,
                    columns,
                    temporary,
                    spec.part_rows,
                )
                result.previous_export, result.added, result.removed = previous, *diff
                manifest = _manifest(
                    settings, run, request, spec, result, file_rows, columns, model_run
                )
                # Members are committed before the folder is published: a kill in between
                # leaves members of an export nobody received (erasure and lift still see
                # every person), never a published export that erasure and lift cannot see.
                stamped = grouped.select(
                    F.lit(export_id).alias("export_id"), F.lit(name).alias("name"),
                    F.lit(request.channel).alias("channel"), "person_id", "group",
                    F.lit(day).alias("as_of"),
                )  # fmt: skip
                run.write(stamped, MEMBERS_TABLE, partition_by=["name"])
                subject = f"{name}/{request.channel}"
                commit_point("export.publish.before", subject)
                result.folder = publish(temporary, base / export_id, manifest)
                commit_point("export.publish.after", subject)
    run.count("people_exported", result.people)
    run.count("holdout", result.holdout)
    return result


def _members(
    spark: SparkSession, run: Run, request: ExportRequest
) -> tuple[DataFrame, date, str | None]:
    """People of the audience tier (or segment), the snapshot date and the model run id."""
    if request.audience is not None:
        from dmp.tables import AUDIENCES_TABLE

        if not run.lake.exists(AUDIENCES_TABLE):
            raise UserError("gold/audiences does not exist yet: run `dmp lookalike` first")
        built = run.read(spark, AUDIENCES_TABLE).filter(F.col("audience") == request.audience)
        dates = [r["as_of"] for r in built.select("as_of").distinct().collect()]  # build dates
        if not dates:
            raise UserError(
                f"no audience named {request.audience!r}; build it with `dmp lookalike`"
            )
        day = request.as_of or max(dates)
        rows = run.read(spark, AUDIENCES_TABLE).filter(
            (F.col("audience") == request.audience) & (F.col("as_of") == F.lit(day))
        )
        if request.tier is not None:
            rows = rows.filter(F.col("tier") <= request.tier)
        first = rows.select("run_id").first()
        return rows.select("person_id"), day, (first["run_id"] if first else None)
    from dmp.segments.members import is_funnel_segment, segment_table

    table = segment_table(request.segment or "")
    if not run.lake.exists(table):
        stage = "funnels" if is_funnel_segment(request.segment or "") else "segments"
        raise UserError(f"{table} does not exist yet: run `dmp {stage}` first")
    dates = run.lake.partition_values(table, "as_of")
    day = request.as_of or date.fromisoformat(max(dates))
    rows = run.read(spark, table).filter(
        (F.col("segment") == request.segment) & (F.col("as_of") == F.lit(day))
    )
    return rows.select("person_id"), day, None


def _eligible(
    spark: SparkSession, settings: Settings, run: Run, spec: Channel, candidates: DataFrame,
    day: date, result: ExportResult,
) -> DataFrame:  # fmt: skip
    """Candidates whose consent holds on the export date and who are not suppressed."""
    profiles = run.read(spark, PROFILES_TABLE).filter(F.col("as_of") == F.lit(day))
    consent = f"consent_{spec.purpose}"
    assert result.consent_on is not None
    on_export_date = _consent_on(spark, settings, run, spec.purpose, result.consent_on)
    risky = F.col("bot_flag") | F.col("coupon_abuse_flag")
    flagged = candidates.join(
        profiles.select("person_id", "user_ids", risky.alias("_risky")), "person_id"
    ).join(on_export_date, "person_id", "left")
    default = _default_consent(settings, spec.purpose)
    flagged = flagged.withColumn(
        consent, F.coalesce(F.col(consent), default(F.col("_country")))
    ).drop("_country")
    flagged = flagged.join(
        suppressed_people(spark, run).withColumn("_suppressed", F.lit(True)), "person_id", "left"
    )
    keep_risky = not settings.segments.exclude_risky_from_exports
    counts = flagged.agg(
        F.count(F.lit(1)).alias("total"),
        F.sum((F.col("_risky") & F.col(consent) & F.col("_suppressed").isNull()).cast("int")).alias(
            "risky"
        ),
        F.sum((~F.col(consent)).cast("int")).alias("no_consent"),
        F.sum((F.col(consent) & F.coalesce("_suppressed", F.lit(False))).cast("int")).alias(
            "suppressed"
        ),
    ).first()
    assert counts is not None
    result.excluded["no profile on the export date"] = result.candidates - int(counts["total"])
    result.excluded[f"no {spec.purpose} consent"] = int(counts["no_consent"] or 0)
    result.excluded["on the suppression list"] = int(counts["suppressed"] or 0)
    if not keep_risky:
        result.excluded["flagged as bot or coupon abuser"] = int(counts["risky"] or 0)
    allowed = F.col(consent) & F.col("_suppressed").isNull()
    if not keep_risky:
        allowed = allowed & ~F.col("_risky")
    return flagged.filter(allowed).select("person_id", "user_ids")


def _consent_on(
    spark: SparkSession, settings: Settings, run: Run, purpose: str, on: date
) -> DataFrame:
    """``person_id``, ``consent_<purpose>`` (null: never stated) and ``_country`` on ``on``.

    Read from the statements in bronze (the same rule as profiles,
    :func:`dmp.privacy.consent.latest_consent`), so a withdrawal after the snapshot the
    audience was built from still keeps the person out.
    """
    from dmp.privacy.consent import stated_until, statement_order
    from dmp.profiles.attribution import attribute_events

    column = f"consent_{purpose}"
    events = run.read(spark, EVENTS_TABLE)
    events = stated_until(events, on).filter(
        F.col(column).isNotNull() | F.col("country").isNotNull()
    )
    identity_map = run.read(spark, IDENTITY_MAP_TABLE)
    attributed = attribute_events(events, identity_map, settings.identity)
    order = statement_order(attributed)
    return attributed.groupBy("person_id").agg(
        F.max_by(F.col(column), F.when(F.col(column).isNotNull(), order)).alias(column),
        F.max_by(F.col("country"), F.when(F.col("country").isNotNull(), order)).alias("_country"),
    )


def _default_consent(settings: Settings, purpose: str) -> Any:
    from dmp.privacy.consent import default_for

    ingest = settings.ingest
    default = (
        settings.profiles.consent_default
        if settings.profiles.consent_default is not None
        else ingest.consent_default
    )
    return lambda country: default_for(purpose, default, ingest.consent_defaults, country)


def _holdout(name: str, share: float) -> Any:
    """Deterministic control group: the same people for the same audience, every export."""
    if share <= 0:
        return F.lit(EXPORTED)
    bucket = F.pmod(
        F.xxhash64(F.lit(name), F.col("person_id"), F.lit("dmp-holdout")), F.lit(10_000)
    )
    return F.when(bucket < round(share * 10_000), F.lit(HOLDOUT)).otherwise(F.lit(EXPORTED))


def _contacts(spark: SparkSession, settings: Settings, run: Run, day: date) -> DataFrame:
    from dmp.profiles.attribution import attribute_events, until

    events = run.read(spark, EVENTS_TABLE).filter(until(day))
    identity_map = run.read(spark, IDENTITY_MAP_TABLE)
    return contact_points(attribute_events(events, identity_map, settings.identity))


def _forget_unpublished(run: Run, base: Path, name: str, channel_name: str) -> int:
    """Delete the members of exports killed between their members commit and their publish.

    Such an export left its hidden temporary folder behind and was delivered to nobody; its
    members would otherwise stay in ``gold/export_members`` beside the re-run's, doubling
    every person, and pass as the previous export the next diff is made against. Runs before
    :func:`clean_stale`, which removes the folders that identify them.
    """
    if not base.exists() or not run.lake.exists(MEMBERS_TABLE):
        return 0
    unpublished = sorted(
        child.name.removeprefix(TEMP_PREFIX)
        for child in base.iterdir()
        if child.is_dir() and child.name.startswith(TEMP_PREFIX)
    )
    if not unpublished:
        return 0
    ids = ", ".join(_sql_string(export_id) for export_id in unpublished)
    predicate = (
        f"name = {_sql_string(name)} AND channel = {_sql_string(channel_name)} "
        f"AND export_id IN ({ids})"
    )
    deleted = run.lake.delete(MEMBERS_TABLE, predicate, metadata={"dmp.job": run.job})
    if deleted:
        _log.warning(
            "export: forgot %d members of %d unpublished exports", deleted, len(unpublished)
        )
    return deleted


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _previous_export(spark: SparkSession, run: Run, name: str, channel_name: str) -> str | None:
    if not run.lake.exists(MEMBERS_TABLE):
        return None
    latest = (
        run.read(spark, MEMBERS_TABLE)
        .filter((F.col("name") == name) & (F.col("channel") == channel_name))
        .agg(F.max("export_id"))
        .first()
    )
    return latest[0] if latest else None


def _diff(
    spark: SparkSession, run: Run, previous: str | None, grouped: DataFrame, spec: Channel,
    contacts: DataFrame, columns: list[str], folder: Path, part_rows: int,
) -> tuple[int, int]:  # fmt: skip
    """Files of people added and removed since the previous export to the same channel."""
    if previous is None:
        return 0, 0
    before = (
        run.read(spark, MEMBERS_TABLE)
        .filter((F.col("export_id") == previous) & (F.col("group") == EXPORTED))
        .select("person_id")
    )
    now = grouped.filter(F.col("group") == EXPORTED).select("person_id", "user_ids")
    added = now.join(before, "person_id", "left_anti")
    removed = before.join(now.select("person_id"), "person_id", "left_anti").withColumn(
        "user_ids", F.array().cast("array<string>")
    )
    counts = []
    for label, people in (("added", added), ("removed", removed)):
        rows, _ = channel_rows(spec, people, contacts)
        write_parts(rows, columns, folder / "diff", part_rows, prefix=label)
        counts.append(people.count())
    return counts[0], counts[1]


def _manifest(
    settings: Settings, run: Run, request: ExportRequest, spec: Channel, result: ExportResult,
    rows: DataFrame, columns: list[str], model_run: str | None,
) -> dict[str, Any]:  # fmt: skip
    filled = rows.agg(
        *[F.sum((F.col(f"`{c}`") != "").cast("int")).alias(c) for c in columns]
    ).first()
    coverage = (
        {c: (int(filled[c] or 0) / result.rows if result.rows else 0.0) for c in columns}
        if filled
        else {}
    )
    return {
        "export_id": result.export_id,
        "source": {"audience": request.audience, "segment": request.segment, "tier": request.tier},
        "channel": {"name": request.channel, "type": spec.type, "purpose": spec.purpose},
        "as_of": result.as_of,
        "created_at": datetime.now(UTC).isoformat(),
        "model_run_id": model_run,
        "table_versions": dict(run.inputs),
        "people": result.people,
        "rows": result.rows,
        "columns": columns,
        "identifier_coverage": coverage,
        "files": [p.__dict__ for p in result.parts],
        "excluded": result.excluded,
        "holdout": {"share": request.holdout, "people": result.holdout,
                    "rule": "pmod(xxhash64(name, person_id, 'dmp-holdout'), 10000) < share*10000"},
        "diff": {"previous_export": result.previous_export, "added": result.added,
                 "removed": result.removed},
        "dmp_run_id": run.run_id,
    }  # fmt: skip
