"""The lift stage: campaign outcomes -> lift with confidence intervals, report, MLflow run,
and the outcomes written back to landing as events (the closed loop).

The outcomes file has one row per person: an identifier column (``person_id``, ``user_id``,
``email``, ``phone``, ``email_sha256`` or ``advertising_id``), ``converted`` (1/0, true/false)
and optionally ``revenue`` and ``group`` (test/control). Without ``group``, the holdout
recorded by the audience's export decides: held-out people are the control group.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.evaluation.campaign import GroupOutcome, LiftResult, campaign_lift
from dmp.runlog import Run

_ID_COLUMNS = ("person_id", "user_id", "email", "phone", "email_sha256", "advertising_id")
_log = logging.getLogger(__name__)


@dataclass
class LiftStageResult:
    """What one lift measurement found."""

    audience: str
    export_id: str | None = None
    rows: int = 0
    matched: int = 0
    lift: LiftResult | None = None
    report: str | None = None
    mlflow_run_id: str | None = None
    landed_events: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {
            "audience": self.audience,
            "export": self.export_id or "-",
            "outcome rows": self.rows,
            "matched people": self.matched,
        }
        if self.lift is not None:
            lift = self.lift
            shown["verdict"] = lift.verdict()
            shown["test rate"] = lift.test.rate
            shown["control rate"] = lift.control.rate
            low, high = lift.relative_ci
            shown["relative lift (95% CI)"] = (
                f"{lift.relative_lift:+.1%} ({low:+.1%} .. {high:+.1%})"
            )
            shown["p-value"] = lift.p_value
            shown["incremental conversions"] = round(lift.incremental_conversions, 1)
            shown["incremental revenue"] = round(lift.incremental_revenue, 2)
            shown["minimum detectable relative effect"] = lift.minimum_detectable_relative
        shown["report"] = self.report or "-"
        shown["MLflow run"] = self.mlflow_run_id or "-"
        shown["outcome events landed"] = self.landed_events or "-"
        return shown


def measure_lift(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    *,
    audience: str,
    results: Path,
    export_id: str | None = None,
) -> LiftStageResult:
    """Measure the lift of a campaign on ``audience`` from an outcomes file.

    Raises:
        UserError: Missing file or columns, no match, no control group.
        StageFailed: The MLflow tracking server does not answer; nothing was written.
    """
    from dmp.lookalike.tracking import check_tracking_server
    from dmp.tables import MEMBERS_TABLE

    # before any work: a server that is down must not leave a report or landed events
    # behind without the MLflow run they belong to
    check_tracking_server(settings)
    outcome, id_column, has_group = read_outcomes(spark, results)
    result = LiftStageResult(audience=audience)
    with kept(_with_person(spark, settings, run, outcome, id_column)) as matched:
        result.rows = outcome.count()
        if not has_group:
            export_id = export_id or _latest_export(spark, run, audience)
            if export_id is None:
                raise UserError(f"no export of {audience!r} recorded: add a 'group' column")
            groups = recorded_groups(run.read(spark, MEMBERS_TABLE), export_id)
            matched = matched.drop("group").join(groups, "person_id")
        result.export_id = export_id
        per_group = group_outcomes(matched)
        result.matched = sum(g.people for g in per_group.values())
        if not {"test", "control"} <= set(per_group):
            raise UserError(
                f"need people in both groups; found {sorted(per_group) or 'none'} "
                f"({result.matched} of {result.rows} rows matched a person)"
            )
        result.lift = campaign_lift(per_group["test"], per_group["control"])
        result.landed_events = _land_outcomes(settings, run, audience, matched)
    _report_and_track(spark, settings, run, result, results.name)
    for key, value in result.lift.summary().items():
        if math.isfinite(value):  # no conversions in control: the relative lift is infinite
            run.count(f"lift.{key}_x1e6", round(value * 1e6))
    return result


def read_outcomes(spark: SparkSession, results: Path) -> tuple[DataFrame, str, bool]:
    """Read a campaign outcomes CSV.

    Returns:
        ``(outcomes, id column, has group column)``; outcomes hold ``raw_id`` (the trimmed
        identifier of the id column found first among ``person_id, user_id, email, phone,
        email_sha256, advertising_id``), ``converted`` (boolean from 1/true/yes/y/t),
        ``revenue`` (double, 0 when absent) and ``group`` (lower case, null when absent).

    Raises:
        UserError: The file is missing, or has no ``converted`` or identifier column.
    """
    if not results.is_file():
        raise UserError(f"results file {results} does not exist")
    raw = spark.read.option("header", "true").csv(str(results.absolute()))
    columns = {c.strip().lower(): c for c in raw.columns}
    id_column = next((c for c in _ID_COLUMNS if c in columns), None)
    if id_column is None or "converted" not in columns:
        raise UserError(
            f"{results.name}: needs a 'converted' column and one of {', '.join(_ID_COLUMNS)}"
        )
    revenue = F.col(columns["revenue"]).cast("double") if "revenue" in columns else F.lit(0.0)
    group = (
        F.lower(F.trim(F.col(columns["group"])))
        if "group" in columns
        else F.lit(None).cast("string")
    )
    outcome = raw.select(
        F.trim(F.col(columns[id_column])).alias("raw_id"),
        _flag(F.col(columns["converted"])).alias("converted"),
        revenue.alias("revenue"),
        group.alias("group"),
    )
    return outcome, id_column, "group" in columns


def recorded_groups(members: DataFrame, export_id: str) -> DataFrame:
    """``person_id, group`` (test or control) of one export from ``gold/export_members``."""
    from dmp.export.stage import HOLDOUT

    return members.filter(F.col("export_id") == export_id).select(
        "person_id",
        F.when(F.col("group") == HOLDOUT, "control").otherwise("test").alias("group"),
    )


def group_outcomes(matched: DataFrame) -> dict[str, GroupOutcome]:
    """Sufficient statistics of the test and control groups.

    Args:
        matched: One row per outcome with ``person_id``, ``group`` (rows outside test and
            control are ignored), ``converted`` and ``revenue``.

    Returns:
        ``{"test": ..., "control": ...}`` for the groups present (two aggregate rows).
    """
    revenue = F.coalesce("revenue", F.lit(0.0))
    rows = (
        matched.filter(F.col("group").isin("test", "control"))
        .groupBy("group")
        .agg(
            F.countDistinct("person_id").alias("people"),
            F.sum(F.col("converted").cast("int")).alias("converters"),
            F.sum(revenue).alias("revenue"),
            F.sum(revenue**2).alias("revenue_sq"),
        )
        .collect()  # two rows
    )
    return {row["group"]: _group(row) for row in rows}


def _flag(column: Column) -> Column:
    text = F.lower(F.trim(column))
    return text.isin("1", "true", "yes", "y", "t")


def _group(row: Any) -> GroupOutcome:
    return GroupOutcome(
        people=int(row["people"]),
        converters=int(row["converters"] or 0),
        revenue=float(row["revenue"] or 0.0),
        revenue_sq=float(row["revenue_sq"] or 0.0),
    )


def _with_person(
    spark: SparkSession, settings: Settings, run: Run, outcome: DataFrame, id_column: str
) -> DataFrame:
    """Outcome rows joined to ``person_id`` (e-mails and phones hashed first)."""
    from dmp.privacy.columns import (
        email_normalized,
        phone_normalized,
        pseudonymous_id_col,
        sha256_hex_col,
    )
    from dmp.tables import IDENTITY_MAP_TABLE

    if id_column == "person_id":
        return outcome.withColumnRenamed("raw_id", "person_id")
    code = settings.ingest.default_country_code
    kind, value = {
        # a user id that is an e-mail or phone was pseudonymised at ingest
        "user_id": (
            "user_id",
            pseudonymous_id_col(F.trim(F.col("raw_id")), code, key=settings.id_key()),
        ),
        "email": ("email_sha256", sha256_hex_col(email_normalized(F.col("raw_id"), "basic"))),
        "phone": (
            "phone_sha256",
            sha256_hex_col(
                phone_normalized(F.col("raw_id"), "meta", settings.ingest.default_country_code)
            ),
        ),
        "email_sha256": ("email_sha256", F.lower(F.col("raw_id"))),
        "advertising_id": ("advertising_id", F.lower(F.col("raw_id"))),
    }[id_column]
    identity = run.read(spark, IDENTITY_MAP_TABLE).filter(F.col("id_type") == kind)
    keyed = outcome.withColumn("id_value", value)
    return keyed.join(identity.select("id_value", "person_id"), "id_value").drop(
        "id_value", "raw_id"
    )


def _latest_export(spark: SparkSession, run: Run, audience: str) -> str | None:
    from dmp.tables import MEMBERS_TABLE

    if not run.lake.exists(MEMBERS_TABLE):
        return None
    row = (
        run.read(spark, MEMBERS_TABLE)
        .filter(F.col("name") == audience)
        .agg(F.max("export_id"))
        .first()
    )
    return row[0] if row else None


def _land_outcomes(settings: Settings, run: Run, audience: str, matched: DataFrame) -> str | None:
    """Write conversions as Segment ``track`` events to landing, for the next ingest.

    Spark tasks write the JSON lines. Message ids are derived from (audience, person, run),
    so landing the same file twice cannot double count. Events name the person by user id
    when they have one, else by one of their anonymous ids.
    """
    import shutil

    from dmp.tables import IDENTITY_MAP_TABLE

    spark = matched.sparkSession
    ids = run.read(spark, IDENTITY_MAP_TABLE).filter(
        F.col("id_type").isin("user_id", "anonymous_id")
    )
    owners = ids.groupBy("person_id").agg(
        F.min(F.when(F.col("id_type") == "user_id", F.col("id_value"))).alias("userId"),
        F.min(F.when(F.col("id_type") == "anonymous_id", F.col("id_value"))).alias("anonymousId"),
    )
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    key = F.concat_ws("|", F.lit(audience), F.col("person_id"), F.lit(run.run_id))
    events = (
        matched.filter(F.col("converted"))
        .join(owners, "person_id")
        .select(
            F.to_json(
                F.struct(
                    F.lit("track").alias("type"),
                    F.lit("Campaign Converted").alias("event"),
                    F.concat(F.lit("campaign-"), F.substring(F.sha2(key, 256), 1, 32)).alias(
                        "messageId"
                    ),
                    F.lit(stamp).alias("timestamp"),
                    F.lit(stamp).alias("receivedAt"),
                    "userId",
                    F.when(F.col("userId").isNull(), F.col("anonymousId")).alias("anonymousId"),
                    F.struct(
                        F.lit(audience).alias("campaign"),
                        F.col("group"),
                        F.coalesce("revenue", F.lit(0.0)).alias("revenue"),
                    ).alias("properties"),
                    F.struct(F.struct(F.lit("dmp-lift").alias("name")).alias("library")).alias(
                        "context"
                    ),
                )
            ).alias("value")
        )
    )
    folder = settings.landing_dir / settings.ingest.first_party_dir / f"dt={now:%Y-%m-%d}"
    scratch = folder / f".tmp-campaign-{run.run_id}"
    events.write.mode("overwrite").text(str(scratch))
    parts = sorted(scratch.glob("part-*.txt"))
    written = []
    for index, part in enumerate(parts):
        if part.stat().st_size == 0:
            continue
        target = folder / f"campaign-{audience}-{run.run_id}-{index:03d}.jsonl"
        part.replace(target)
        written.append(target)
    shutil.rmtree(scratch, ignore_errors=True)
    return str(folder) if written else None


def _report_and_track(
    spark: SparkSession, settings: Settings, run: Run, result: LiftStageResult, file_name: str
) -> None:
    from dmp.lift.report import LiftReportInputs, write_lift_report
    from dmp.lookalike.tracking import _mlflow

    assert result.lift is not None
    now = datetime.now(UTC)
    audience_run = _audience_run(spark, run, result.audience)
    folder = settings.reports_dir / "lift" / result.audience / f"{now:%Y%m%dT%H%M%SZ}-{run.run_id}"
    inputs = LiftReportInputs(
        audience=result.audience,
        run_id=run.run_id,
        created_at=now,
        results_file=file_name,
        result=result.lift,
        matched_rows=result.matched,
        unmatched_rows=max(0, result.rows - result.matched),
        holdout_share=None,
        audience_run_id=audience_run,
    )
    files = write_lift_report(inputs, folder)
    result.report = str(files.get("report.html", folder))
    mlflow = _mlflow(settings)
    with mlflow.start_run(run_name=f"lift {result.audience}") as active:
        mlflow.set_tags(
            {
                "dmp.kind": "campaign_lift",
                "dmp.audience": result.audience,
                "dmp.audience_run_id": audience_run or "",
                "dmp.run_id": run.run_id,
            }
        )
        mlflow.log_params(
            {
                "audience": result.audience,
                "export_id": result.export_id or "",
                "results_file": file_name,
            }
        )
        mlflow.log_metrics(
            {k: v for k, v in result.lift.summary().items() if v == v and abs(v) != float("inf")}
        )
        mlflow.log_artifacts(str(folder), artifact_path="report")
        result.mlflow_run_id = active.info.run_id


def _audience_run(spark: SparkSession, run: Run, audience: str) -> str | None:
    """The MLflow run of the audience's latest build (kept on its rows)."""
    from dmp.tables import AUDIENCES_TABLE

    if not run.lake.exists(AUDIENCES_TABLE):
        return None
    latest = (
        run.read(spark, AUDIENCES_TABLE)
        .filter(F.col("audience") == audience)
        .orderBy(F.desc("as_of"))
        .select("run_id")
        .first()
    )
    return str(latest["run_id"]) if latest else None
