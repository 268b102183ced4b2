"""The profile stage: one row per person as of a date in ``silver/profiles``."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.caching import Keep, kept
from dmp.config import Settings
from dmp.errors import UserError
from dmp.lake import ReplacePartition
from dmp.profiles.attribution import IDENTIFIER_COLUMNS, attribute_events, until
from dmp.profiles.behaviour import dynamics, social
from dmp.profiles.btyd import BTYD_COLUMNS, BtydFit, btyd_columns, buyer_summary, fit_summary
from dmp.profiles.consumption import (
    consumption,
    lifecycle_stage,
    order_lines,
    orders,
    price_bands,
    purchase_cycles,
    purchased_products,
)
from dmp.profiles.gate import profile_gate
from dmp.profiles.interests import affinities, interest_signals
from dmp.profiles.personal import consent, declared, identity_columns, partner_dimensions
from dmp.profiles.product_rules import baskets, product_rules
from dmp.profiles.risk import risk
from dmp.profiles.tags import load_tag_rules, with_tags
from dmp.runlog import Run
from dmp.session import planned_statically
from dmp.tables import EVENTS_TABLE, IDENTITY_MAP_TABLE, PRODUCT_RULES_TABLE, PROFILES_TABLE

# Column order of silver/profiles: identity, consent, personal, interest, consumption,
# lifecycle, dynamics, social, partner, risk, tags.
PROFILE_COLUMNS: tuple[str, ...] = (
    "person_id", "as_of", "user_ids", "registered", "identifier_counts", "has_email",
    "has_phone", "has_advertising_id", "shared_identity", "first_seen_at", "last_seen_at",
    "events_total",
    "consent_advertising", "consent_advertising_stated", "consent_email",
    "consent_email_stated", "consent_push", "consent_push_stated", "consent_sms",
    "consent_sms_stated",
    "gender", "birth_year", "age_band", "city", "city_tier", "country", "gender_inferred",
    "gender_inferred_source", "age_band_inferred", "age_band_inferred_source",
    "category_affinity", "top_interests", "brand_affinity", "top_brands", "gift_orders",
    "orders_count", "revenue_total", "aov", "first_order_at", "last_order_at", "recency_days",
    "orders_trailing_year", "revenue_trailing_year", "coupon_orders", "coupon_events",
    "price_index", "price_band", "r_score", "f_score", "m_score", "rfm_score", "rfm_segment",
    "vip_level", "lifecycle_stage", "previous_lifecycle_stage", "purchase_cycles",
    "purchased_products", "p_alive", "expected_orders_90d", "expected_revenue_365d",
    "active_hours", "active_weekdays", "preferred_channel", "app_share", "events_30d",
    "active_days_30d",
    "shares", "brought_in", "brought_in_second_level", "referred_by", "influence_score",
    "partner_segments",
    "bot_score", "bot_flag", "coupon_abuse_score", "coupon_abuse_flag", "risk_signals",
    "peak_hourly_events", "max_accounts_on_device",
    "tags", "run_id",
)  # fmt: skip
_log = logging.getLogger(__name__)
_ZERO_COUNTS = (
    "orders_count",
    "orders_trailing_year",
    "coupon_orders",
    "coupon_events",
    "vip_level",
    "gift_orders",
    "shares",
    "brought_in",
    "brought_in_second_level",
    "events_30d",
    "active_days_30d",
)


@dataclass
class ProfileResult:
    """What one profile run produced."""

    as_of: date
    persons: int = 0
    buyers: int = 0
    lifecycle: dict[str, int] = field(default_factory=dict)
    flagged_bots: int = 0
    flagged_coupon_abuse: int = 0
    unattributed_events: int = 0
    version: int | None = None
    truth_checks: dict[str, float] = field(default_factory=dict)
    gate_report: str | None = None
    btyd: BtydFit | None = None
    btyd_run_id: str | None = None
    product_rules: int | None = None

    def summary(self) -> dict[str, Any]:
        """Key figures for the console."""
        shown: dict[str, Any] = {
            "as of": self.as_of.isoformat(),
            "persons": self.persons,
            "buyers": self.buyers,
        }
        for stage, count in sorted(self.lifecycle.items()):
            shown[f"lifecycle {stage}"] = count
        shown["flagged bots"] = self.flagged_bots
        shown["flagged coupon abusers"] = self.flagged_coupon_abuse
        shown["events without a person (blocked ids only)"] = self.unattributed_events
        for name, value in self.truth_checks.items():
            shown[f"{name} (vs truth)"] = round(value, 4)
        shown["silver/profiles version"] = self.version
        if self.btyd is not None:
            fit = self.btyd
            sampled = f" (sample of {fit.buyers})" if fit.fitted_on < fit.buyers else ""
            shown["BG/NBD fitted on buyers"] = f"{fit.fitted_on}{sampled}"
            shown["BG/NBD r, alpha, a, b"] = ", ".join(
                f"{v:.4g}" for v in (fit.bgnbd.r, fit.bgnbd.alpha, fit.bgnbd.a, fit.bgnbd.b)
            )
            if fit.gamma_gamma is not None:
                gg = fit.gamma_gamma
                shown["Gamma-Gamma p, q, gamma"] = f"{gg.p:.4g}, {gg.q:.4g}, {gg.gamma:.4g}"
        if self.product_rules is not None:
            shown["gold/product_rules rules"] = self.product_rules
        shown["quality report"] = self.gate_report or "-"
        return shown


def build_profiles(spark: SparkSession, settings: Settings, run: Run, as_of: date) -> ProfileResult:
    """Compute every person's profile from the data up to the end of ``as_of`` (UTC).

    The snapshot replaces only the ``as_of`` partition; earlier snapshots stay as they were.

    Raises:
        UserError: Bronze events or the identity map do not exist yet.
        GateFailed: The profile gate failed; nothing was written.
    """
    for table in (EVENTS_TABLE, IDENTITY_MAP_TABLE):
        if not run.lake.exists(table):
            raise UserError(f"{table} does not exist yet: run ingest and identity first")
    options = settings.profiles
    result = ProfileResult(as_of=as_of)
    rules = load_tag_rules(settings.tags_file)
    with ExitStack() as stack:
        bronze = run.read(spark, EVENTS_TABLE).filter(until(as_of))
        identity_map = stack.enter_context(kept(run.read(spark, IDENTITY_MAP_TABLE)))
        needed = sorted(set(_event_columns(settings)) | set(IDENTIFIER_COLUMNS))
        attributed = attribute_events(bronze.select(*needed), identity_map, settings.identity)
        # One shuffle puts each person's events in one partition; every per-person
        # aggregate, window and join below reuses that partitioning instead of shuffling.
        by_person = attributed.select(*_event_columns(settings), "person_id").repartition(
            "person_id"
        )
        events = stack.enter_context(kept(by_person))
        placed = events.count()
        result.unattributed_events = bronze.count() - placed
        _log.info("profiles: %d events up to %s attributed to persons", placed, as_of)
        all_orders = stack.enter_context(kept(orders(events)))
        lines = order_lines(all_orders)
        buyers = stack.enter_context(kept(consumption(all_orders, as_of, options)))
        summary = stack.enter_context(kept(buyer_summary(all_orders, as_of)))
        if options.btyd.enabled:
            result.btyd = fit_summary(summary, options.btyd)
        expected = btyd_columns(summary, result.btyd)
        profile = _assemble(
            spark, settings, run, as_of, events, bronze, identity_map, all_orders, lines, buyers
        )
        profile = _with_btyd(profile, expected, fitted=result.btyd is not None)
        profile = with_tags(spark, profile, rules).select(*PROFILE_COLUMNS)
        with planned_statically(spark):
            profile = stack.enter_context(kept(profile, Keep.DISK))
            _describe(profile, result)
        result.gate_report = profile_gate(spark, settings, run, profile, as_of)
        if settings.truth_dir is not None:
            from dmp.evaluation.profiles import profile_truth_checks

            result.truth_checks = profile_truth_checks(spark, settings, profile, identity_map)
        written = run.write(
            profile, PROFILES_TABLE, mode=ReplacePartition({"as_of": as_of}),
            partition_by=["as_of"],
        )  # fmt: skip
        result.version = written.version
        if settings.product_rules.enabled:
            cross_sell = stack.enter_context(
                kept(product_rules(baskets(lines), settings.product_rules, as_of))
            )
            result.product_rules = run.write(
                cross_sell, PRODUCT_RULES_TABLE, mode=ReplacePartition({"as_of": as_of}),
                partition_by=["as_of"],
            ).rows  # fmt: skip
        if result.btyd is not None and options.btyd.track:
            from dmp.profiles.btyd import holdout_check, log_fit

            holdout = holdout_check(all_orders, as_of, options.btyd)
            result.btyd_run_id = log_fit(settings, result.btyd, as_of, holdout)
    run.count("persons", result.persons)
    run.count("buyers", result.buyers)
    return result


# Columns of bronze/events the profile dimensions read (the rest is never shuffled).
_EVENT_COLUMNS: tuple[str, ...] = (
    "source", "message_id", "event_type", "event_name", "event_time", "channel", "timezone",
    "user_agent", "device_id", "category", "brand", "price", "product_id", "products",
    "order_id", "revenue", "total", "coupon", "referrer_user_id", "partner_segments",
    "partner_score", "gender", "birth_year", "city", "city_tier", "country", "received_at",
    "ingested_at",
)  # fmt: skip


def _event_columns(settings: Settings) -> list[str]:
    consent = [f"consent_{purpose}" for purpose in sorted(settings.ingest.consent_purposes)]
    return [*_EVENT_COLUMNS, *consent]


def _assemble(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    as_of: date,
    events: DataFrame,
    bronze: DataFrame,
    identity_map: DataFrame,
    all_orders: DataFrame,
    lines: DataFrame,
    buyers: DataFrame,
) -> DataFrame:
    options = settings.profiles
    default_consent = (
        options.consent_default
        if options.consent_default is not None
        else settings.ingest.consent_default
    )
    purposes = sorted(settings.ingest.consent_purposes)
    base = identity_columns(identity_map, events)
    parts = [
        consent(events, purposes, default_consent, settings.ingest.consent_defaults),
        declared(events, as_of),
        partner_dimensions(events),
        affinities(interest_signals(events, lines, as_of, options), options),
        buyers.withColumnRenamed("orders_window", "orders_trailing_year").withColumnRenamed(
            "revenue_window", "revenue_trailing_year"
        ),
        price_bands(events),
        purchase_cycles(lines, as_of, options),
        purchased_products(lines),
        dynamics(events, as_of),
        social(events, identity_map),
        risk(events, bronze, buyers, options),
    ]
    profile = base
    for part in parts:
        profile = profile.join(part, "person_id", "left")
    profile = (
        profile.fillna(0, list(_ZERO_COUNTS))
        .fillna(0.0, ["revenue_total", "revenue_trailing_year", "influence_score"])
        .withColumn("lifecycle_stage", lifecycle_stage(as_of, options))
        .withColumn("as_of", F.lit(as_of))
        .withColumn("run_id", F.lit(run.run_id))
        .withColumn(
            "partner_segments",
            F.coalesce(F.col("partner_segments"), F.array().cast(_segments_type(profile))),
        )
        .withColumn(
            "risk_signals", F.coalesce(F.col("risk_signals"), F.array().cast("array<string>"))
        )
        .withColumn(
            "purchased_products",
            F.coalesce(F.col("purchased_products"), F.array().cast("array<string>")),
        )
    )
    for flag in ("bot_flag", "coupon_abuse_flag"):
        profile = profile.withColumn(flag, F.coalesce(F.col(flag), F.lit(False)))
    for score in ("bot_score", "coupon_abuse_score"):
        profile = profile.withColumn(score, F.coalesce(F.col(score), F.lit(0.0)))
    return _with_previous_stage(spark, run, profile, as_of)


def _with_btyd(profile: DataFrame, expected: DataFrame, fitted: bool) -> DataFrame:
    """Join the buy-till-you-die columns; a non-buyer expects 0 orders (if a model was fitted).

    ``p_alive`` stays null for non-buyers: the models describe customers after their first
    purchase, and a non-buyer is not one yet.
    """
    profile = profile.join(expected, "person_id", "left")
    if not fitted:
        return profile
    for column in BTYD_COLUMNS[1:]:
        profile = profile.withColumn(
            column,
            F.when(F.col("orders_count") > 0, F.col(column)).otherwise(F.lit(0.0)),
        )
    return profile


def _segments_type(profile: DataFrame) -> str:
    return profile.schema["partner_segments"].dataType.simpleString()


def _with_previous_stage(
    spark: SparkSession, run: Run, profile: DataFrame, as_of: date
) -> DataFrame:
    """``previous_lifecycle_stage``: the stage in the latest snapshot before ``as_of``."""
    if not run.lake.exists(PROFILES_TABLE):
        return profile.withColumn("previous_lifecycle_stage", F.lit(None).cast("string"))
    snapshots = run.read(spark, PROFILES_TABLE)
    earlier = snapshots.filter(F.col("as_of") < F.lit(as_of))
    latest = earlier.agg(F.max("as_of")).first()
    if latest is None or latest[0] is None:
        return profile.withColumn("previous_lifecycle_stage", F.lit(None).cast("string"))
    previous = earlier.filter(F.col("as_of") == F.lit(latest[0])).select(
        "person_id", F.col("lifecycle_stage").alias("previous_lifecycle_stage")
    )
    return profile.join(previous, "person_id", "left")


def _describe(profile: DataFrame, result: ProfileResult) -> None:
    totals = profile.agg(
        F.count(F.lit(1)),
        F.sum((F.col("orders_count") > 0).cast("int")),
        F.sum(F.col("bot_flag").cast("int")),
        F.sum(F.col("coupon_abuse_flag").cast("int")),
    ).first()
    assert totals is not None
    result.persons = int(totals[0] or 0)
    result.buyers = int(totals[1] or 0)
    result.flagged_bots = int(totals[2] or 0)
    result.flagged_coupon_abuse = int(totals[3] or 0)
    stages = profile.groupBy("lifecycle_stage").count().collect()  # six stages
    result.lifecycle = {r["lifecycle_stage"]: int(r["count"]) for r in stages}
